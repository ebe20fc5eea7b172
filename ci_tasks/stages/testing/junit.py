"""The JUnit XML of a run made of parts, merged into the session's one document."""

from __future__ import annotations

import re

# Our own pytest's output, not untrusted input: the stdlib parser is fine here.
import xml.etree.ElementTree as ET  # nosec B405
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


_COUNTED = (("failures", "failure"), ("errors", "error"), ("skipped", "skipped"))


def _key(case: ET.Element) -> tuple[str | None, str | None]:
    return case.get("classname"), case.get("name")


def take_passes(merged: str, serial: str) -> str:
    """*merged* with each test that passed in *serial* as *serial* ran it (pure).

    A split run's failure that passed when re-run alone takes the serial verdict
    (``split-only``): its cases from the parts (the failed attempt among them) are
    replaced by the serial one, so the document a CI test report reads says what the
    session's verdict says. The suite's counts are those of the cases it then holds.
    """
    passed = {
        _key(case): case
        for case in ET.fromstring(serial).iter("testcase")  # noqa: S314  # nosec B314
        if not any(child.tag in ("failure", "error") for child in case)
    }
    root = ET.fromstring(merged)  # noqa: S314  # nosec B314
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        cases = [c for c in suite if c.tag == "testcase"]
        for case in cases:
            if _key(case) in passed:
                suite.remove(case)
        for key in dict.fromkeys(_key(c) for c in cases if _key(c) in passed):
            suite.append(passed[key])
        kept = [c for c in suite if c.tag == "testcase"]
        suite.set("tests", str(len(kept)))
        for attribute, tag in _COUNTED:
            suite.set(attribute, str(sum(any(x.tag == tag for x in c) for c in kept)))
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")


def take_passes_file(merged: Path, serial: Path) -> None:
    """:func:`take_passes` on the session's JUnit file, in place (atomically)."""
    if merged.is_file() and serial.is_file():
        text = take_passes(merged.read_text(encoding="utf-8"), serial.read_text(encoding="utf-8"))
        reports.atomic_write(merged, text)
