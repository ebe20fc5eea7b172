"""Searching everything a run left behind for secrets: its output and its files.

``::add-mask::<value>`` lines are left out: they are how a run tells the Actions runner
what to hide, and the runner never shows them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


def _visible(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


def leaks(
    secrets: Sequence[str], output: str, root: Path, files: Iterable[Path] = ()
) -> list[tuple[str, str]]:
    """``(where, secret)`` for each secret in *output*, under ``.ci-tasks/`` or in *files*."""
    places = {"output": _visible(output)}
    report_dir = root / ".ci-tasks"
    found_files = [*(sorted(report_dir.rglob("*")) if report_dir.is_dir() else []), *files]
    for path in found_files:
        if path.is_file():
            places[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return [(where, s) for where, text in places.items() for s in secrets if s in text]
