"""The JUnit XML of a run made of parts, merged into the session's one document."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core import reports

_SUITE = re.compile(r"<testsuite\b[^>]*>")
_SUITE_END = "</testsuite>"


def _suite(text: str) -> tuple[str, dict[str, str], str, str]:
    """A pytest JUnit document split around its one testsuite.

    What comes before it, its attributes, its test cases (as text) and what comes after;
    ValueError when the document has no testsuite.
    """
    # Our own pytest's output, not untrusted input: the stdlib parser is fine here.
    import xml.etree.ElementTree as ET  # noqa: PLC0415  # nosec B405

    opening = _SUITE.search(text)
    if opening is None:
        msg = "a JUnit XML document without a testsuite"
        raise ValueError(msg)
    tag = opening.group(0)
    if tag.endswith("/>"):  # a part that ran no test
        cases, after = "", text[opening.end() :]
    else:
        end = text.rfind(_SUITE_END)
        cases, after = text[opening.end() : end], text[end + len(_SUITE_END) :]
    closed = tag if tag.endswith("/>") else f"{tag}{_SUITE_END}"
    suite = ET.fromstring(closed)  # noqa: S314  # nosec B314
    return text[: opening.start()], dict(suite.attrib), cases, after


def merge_junit(texts: Sequence[str]) -> str:
    """The parts' JUnit XML documents as one: every test case, the counts summed (pure).

    pytest writes one ``<testsuite>`` per document. Its test cases are copied as text,
    not parsed and written again: a 62,000-test suite merges in a tenth of a second.
    """
    import xml.etree.ElementTree as ET  # noqa: PLC0415  # nosec B405

    before, attributes, cases, after = _suite(texts[0])
    pieces = [cases]
    for text in texts[1:]:
        _, more, cases, _ = _suite(text)
        pieces.append(cases)
        for key in ("tests", "errors", "failures", "skipped"):
            attributes[key] = str(int(attributes.get(key, "0")) + int(more.get(key, "0")))
        wall = max(float(attributes.get("time", "0")), float(more.get("time", "0")))
        attributes["time"] = f"{wall:.3f}"  # the parts ran side by side
    tag = ET.tostring(ET.Element("testsuite", attributes), encoding="unicode")
    tag = tag.removesuffix(" />") + ">"
    return before + tag + "".join(pieces) + _SUITE_END + after


def merge_files(parts: Sequence[Path], into: Path) -> None:
    """The parts' JUnit files as one file, *into*; the parts' files removed."""
    written = [path.read_text(encoding="utf-8") for path in parts if path.is_file()]
    if written:  # a part that died wrote none: the rest still tell
        reports.atomic_write(into, merge_junit(written))
    for path in parts:
        path.unlink(missing_ok=True)
