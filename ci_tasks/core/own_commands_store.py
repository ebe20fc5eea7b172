"""The project's own commands, as last read, kept in ``.ci-tasks/cache/`` between starts.

Every nox start asks what the project runs (lint's registration, the tests session's
scope); reading the files is cheap, parsing their YAML and TOML is not. The kept copy is
given again only while every question :func:`ci_tasks.core.own_commands.read` asked of a
path gets the same answer: each text by its digest (never the text), each folder and
file by whether it is there, and the workflow folder by its files. It is also tied to
the code that read it: a changed reader (another ci_tasks) reads again.

It is kept only where the project has a ``.ci-tasks/`` folder already (an adopted
project): reading never creates one. A file that cannot be read, or is not one of these,
is set aside and the project read afresh; a copy that would carry a masked value is not
written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core import masking, reports

SCHEMA = "ci-tasks/own-commands"
VERSION = 1
FILE = "cache/own-commands.json"
"""Relative to the project's :data:`~ci_tasks.core.reports.REPORT_DIR`."""

Seen = Mapping[tuple[str, Path], object]
"""Each question asked of a path (``text``, ``dir``, ``exists``), with its answer as
:func:`digest` keeps it."""


def digest(answer: object) -> object:
    """How an answer is kept: a text by its digest, anything else as it is."""
    if isinstance(answer, str):
        return "sha256:" + hashlib.sha256(answer.encode("utf-8", "surrogatepass")).hexdigest()
    return answer


def _readers() -> str:
    """The identity of the code that reads: each reader module's path, size and change time."""
    parts = []
    for name in ("ci_tasks.core.own_commands", "ci_tasks.core.workflow_files", __name__):
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None)
        if where is None:
            return ""
        stat = Path(where).stat()
        parts.append(f"{where} {stat.st_size} {stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _path(root: Path) -> Path:
    return root / reports.REPORT_DIR / FILE


def load(root: Path) -> tuple[dict[tuple[str, Path], object], list[Path], dict[str, Any]] | None:
    """The kept questions (answers as :func:`digest` keeps them), listing and result.

    ``None`` when there is none, it is another reader's, or it cannot be read (then it is
    set aside).
    """
    path = _path(root)
    data = reports.read_json(path) if path.is_file() else None
    if data is None:
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        reports.set_aside(path, f"not a {SCHEMA} file")
        return None
    if data.get("version") != VERSION or data.get("readers") != _readers():
        return None  # another ci_tasks read it: read again (and keep the new one)
    try:
        seen = {(str(kind), Path(where)): answer for kind, where, answer in data["seen"]}
        listing = [Path(p) for p in data["listing"]]
        found = dict(data["found"])
    except (KeyError, TypeError, ValueError) as exc:
        reports.set_aside(path, f"not a whole {SCHEMA} file: {exc!r}")
        return None
    return seen, listing, found


def save(root: Path, seen: Seen, listing: Sequence[Path], found: object) -> None:
    """Keep *found* (a dataclass of plain values) with the questions that made it."""
    folder = root / reports.REPORT_DIR
    readers = _readers()
    if not folder.is_dir() or not readers:
        return
    document = {
        "schema": SCHEMA,
        "version": VERSION,
        "readers": readers,
        "seen": [[kind, str(where), answer] for (kind, where), answer in seen.items()],
        "listing": [str(p) for p in listing],
        "found": dataclasses.asdict(found),  # type: ignore[call-overload]
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    if masking.mask(text) != text:
        return  # a masked copy would read back as other commands: keep none
    try:
        reports.report_dir(root)  # its .gitignore: git (and so build) never lists the copy
        reports.atomic_write(_path(root), text)
    except OSError:
        return  # a read-only checkout: read again next time


def tuples(value: Any) -> Any:
    """JSON's lists back as the tuples the dataclasses hold (nested too)."""
    if isinstance(value, list):
        return tuple(tuples(v) for v in value)
    return value
