"""Which ruff and mypy ``lint`` runs, and whether it needs the project's environment.

Formatting and type rules are the project's: a project whose dependency groups list ruff
(or mypy) and whose ``uv.lock`` locks it gets that version, run from an environment
synced from the lock. Otherwise ``lint`` runs the CI environment's ruff and mypy (ci-tasks
depends on both). mypy always needs the project installed to see its imports; ruff alone
needs nothing, so a project that does not lock ruff and does not ask for mypy is linted
with no environment at all.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import groups as groups_mod

__all__ = ["Toolchain", "plan", "read"]


@dataclasses.dataclass(frozen=True)
class Toolchain:
    """Where ``lint``'s tools come from (pure data)."""

    ruff_groups: tuple[str, ...] = ()
    """The project's groups listing a locked ruff (empty: the CI environment's ruff)."""
    mypy_groups: tuple[str, ...] = ()
    """The project's groups listing a locked mypy (empty: the CI environment's mypy)."""
    mypy: bool = False
    """Whether mypy runs at all (``[tool.ci-tasks.lint] mypy``)."""

    @property
    def needs_env(self) -> bool:
        """Whether lint needs an environment synced from the project's ``uv.lock``."""
        return bool(self.ruff_groups) or self.mypy

    def sources(self) -> dict[str, str]:
        """Where each tool comes from, in words, for the report and the log."""
        found = {"ruff": self._source(self.ruff_groups)}
        if self.mypy:
            found["mypy"] = self._source(self.mypy_groups)
        return found

    @staticmethod
    def _source(groups: tuple[str, ...]) -> str:
        if groups:
            return f"the project's (uv.lock, group {', '.join(groups)})"
        return "the CI environment's"

    def sync_groups(self, test_groups: tuple[str, ...]) -> tuple[str, ...]:
        """The groups to sync: ruff's; with mypy, mypy's and the test groups too."""
        chosen = self.ruff_groups + ((*self.mypy_groups, *test_groups) if self.mypy else ())
        return tuple(dict.fromkeys(chosen))


def _locked_names(lock_text: str | None) -> set[str]:
    if not lock_text:
        return set()
    try:
        data = tomllib.loads(lock_text)
    except tomllib.TOMLDecodeError:
        return set()
    return {groups_mod.requirement_name(p.get("name")) or "" for p in data.get("package", [])} - {
        ""
    }


def _groups_listing(document: Mapping[str, Any], tool: str) -> tuple[str, ...]:
    table = document.get("dependency-groups", {})
    if not isinstance(table, dict):
        return ()
    return tuple(
        str(name)
        for name, entries in table.items()
        if isinstance(entries, list)
        and any(groups_mod.requirement_name(e) == tool for e in entries)
    )


def plan(document: Mapping[str, Any], lock_text: str | None, *, mypy: bool) -> Toolchain:
    """The toolchain for a parsed ``pyproject.toml`` and its ``uv.lock`` text (pure)."""
    locked = _locked_names(lock_text)
    ruff = _groups_listing(document, "ruff") if "ruff" in locked else ()
    mypy_groups = _groups_listing(document, "mypy") if "mypy" in locked else ()
    return Toolchain(ruff_groups=ruff, mypy_groups=mypy_groups, mypy=mypy)


def read(root: Path, *, mypy: bool) -> Toolchain:
    """The toolchain of the project in *root* (unreadable files count as absent)."""
    try:
        document = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        document = {}
    try:
        lock_text: str | None = (root / "uv.lock").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        lock_text = None
    return plan(document, lock_text, mypy=mypy)
