"""Whether two builds of a project are the same, judged as reproducible-builds judges them.

The wheel must be byte-identical: every backend can make it so. The sdist is judged by
its contents (member names and order, bytes, modes, link targets); archive metadata
(timestamps, owners, the gzip header) may differ, with a note naming the backend that
stamps it, unless ``[tool.ci-tasks.build] reproducible = "bytes"`` asks for bytes too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ci_tasks.stages.package.archives import (
    ENCODING_ONLY,
    Differences,
    differences,
    read_archive,
    sha256_file,
)
from ci_tasks.stages.package.model import MAX_FINDINGS, Artifacts, Check


def build_backend(pyproject: Mapping[str, Any]) -> str:
    """The build backend's distribution-like name: ``setuptools``, ``hatchling``, ``flit_core``.

    Without ``[build-system] build-backend``, PEP 517 front ends use setuptools.
    """
    system = pyproject.get("build-system", {})
    backend = system.get("build-backend") if isinstance(system, dict) else None
    if not isinstance(backend, str) or not backend.strip():
        return "setuptools"
    return backend.strip().split(".", 1)[0].split(":", 1)[0]


REPRODUCIBILITY_ISSUES = {"setuptools": "pypa/setuptools#2133"}
"""Known, open backend issues that make sdists differ in metadata only, named in the note."""


def _compare_one(a: Path, b: Path) -> Differences | None:
    """``None`` when byte-identical; otherwise what differs (never empty)."""
    if sha256_file(a) == sha256_file(b):
        return None
    found = differences(read_archive(a), read_archive(b))
    return found if found.all() else ENCODING_ONLY


def _listed(name: str, lines: Sequence[str]) -> list[str]:
    return [f"{name}: {line}" for line in lines[:MAX_FINDINGS]]


def compare_builds(
    first: Artifacts,
    second: Artifacts,
    *,
    mode: Literal["contents", "bytes"] = "contents",
    backend: str = "",
) -> Check:
    """Whether the two builds are the same, byte identity reported apart from contents.

    The wheel must be byte-identical (every backend can make it so). The sdist must be
    too with ``mode="bytes"``; with ``"contents"`` (the default) an sdist whose builds
    differ only in archive metadata (timestamps, owners, the gzip header) passes with a
    note naming *backend*, which stamps them; a difference in what it holds fails.
    """
    findings: list[str] = []
    facts: dict[str, str] = {}
    notes: list[str] = []
    for a, b in zip(first.all(), second.all(), strict=True):
        if a.name != b.name:
            findings.append(f"the second build made {b.name} instead of {a.name}")
            facts[a.name] = "differs"
            continue
        found = _compare_one(a, b)
        if found is None:
            facts[a.name] = "byte-identical"
        elif a is first.sdist and mode == "contents" and not found.content:
            facts[a.name] = "contents identical"
            who = backend or "the build backend"
            issue = REPRODUCIBILITY_ISSUES.get(backend)
            cause = ", ".join(found.causes) + (f"; {issue}" if issue else "")
            notes.append(
                f"{a.name}: {who} stamps sdists with build-time metadata ({cause}); "
                "contents identical"
            )
        else:
            facts[a.name] = "differs"
            findings += _listed(a.name, found.all())
    identical = [name for name, fact in facts.items() if fact == "byte-identical"]
    if findings:
        return Check("reproducible", "failed", "; ".join(findings), facts)
    if not notes:
        return Check("reproducible", "passed", "two builds are byte-identical", facts)
    said = [*(f"{name}: byte-identical" for name in identical), *notes]
    return Check("reproducible", "passed", "; ".join(said), facts)
