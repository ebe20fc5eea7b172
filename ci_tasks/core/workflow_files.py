"""Where a project's GitHub Actions workflows are, and which files there are workflows.

Lint's pinning policy checks them, ``ci-tasks init`` reads the matrix they test on,
readiness scores them and the coverage evidence looks for coverage in them;
all take the files from :func:`workflow_files`, so they agree on what a workflow is.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["WORKFLOWS_DIR", "workflow_files"]

WORKFLOWS_DIR = ".github/workflows"
"""Relative to the project, with ``/`` separators."""


def workflow_files(root: Path) -> list[Path]:
    """The ``*.yml`` and ``*.yaml`` files in *root*'s workflow folder, sorted (none without it)."""
    folder = root / WORKFLOWS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
