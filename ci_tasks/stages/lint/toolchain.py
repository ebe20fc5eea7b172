"""Which ruff and mypy ``lint`` runs, and whether it needs the project's environment.

Formatting and type rules are the project's: a project whose dependency groups list ruff
(or mypy) and whose ``uv.lock`` locks it gets that version, run from an environment
synced from the lock. Otherwise ``lint`` runs the CI environment's ruff and mypy (ci-tasks
depends on both); a tool the project pins in ``.pre-commit-config.yaml`` is locked into
the CI environment at that version (``ci-tasks lock``), and a drift between the two is a
finding. mypy needs the project installed to see its imports, except when pre-commit
pins it: then it runs as pre-commit runs it, in its own environment with the hook's
``additional_dependencies``. ruff alone needs nothing, so a project that does not lock
ruff and does not ask for mypy is linted with no environment at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import pins

__all__ = ["Toolchain", "needs_env", "plan", "read"]


@dataclasses.dataclass(frozen=True)
class Toolchain:
    """Where ``lint``'s tools come from (pure data)."""

    ruff_groups: tuple[str, ...] = ()
    """The project's groups listing a locked ruff (empty: the CI environment's ruff)."""
    mypy_groups: tuple[str, ...] = ()
    """The project's groups listing a locked mypy (empty: the CI environment's mypy)."""
    mypy: bool = False
    """Whether mypy runs at all (``[tool.ci-tasks.lint] mypy``)."""
    pre_commit: tuple[tuple[str, pins.Pin], ...] = ()
    """``(tool, pin)`` for each tool ``uv.lock`` does not pin and pre-commit does: the CI
    environment's copy of it should be that version (``ci-tasks lock`` puts it there)."""

    def pin(self, tool: str) -> pins.Pin | None:
        """The pre-commit pin the CI environment's *tool* should match, if any."""
        return dict(self.pre_commit).get(tool)

    @property
    def needs_env(self) -> bool:
        """Whether lint needs an environment synced from the project's ``uv.lock``."""
        return bool(self.ruff_groups) or self.mypy_needs_project

    @property
    def mypy_isolated(self) -> bool:
        """Whether mypy runs as pre-commit runs it: pinned there, seeing only its own env.

        pre-commit's mypy hook has an environment of mypy and the hook's
        ``additional_dependencies``, without the project installed; the CI environment
        has the same pins, so its mypy without ``--python-executable`` gives that verdict.
        """
        return self.mypy and not self.mypy_groups and self.pin("mypy") is not None

    @property
    def mypy_needs_project(self) -> bool:
        """Whether mypy runs against the project's synced environment."""
        return self.mypy and not self.mypy_isolated

    def sources(self) -> dict[str, str]:
        """Where each tool comes from, in words, for the report and the log."""
        found = {"ruff": self._source("ruff", self.ruff_groups)}
        if self.mypy:
            found["mypy"] = self._source("mypy", self.mypy_groups)
        return found

    def pinned_in(self, tool: str) -> str:
        """Where *tool*'s version is pinned: ``uv.lock``, the pre-commit file, the CI env.

        The CI environment's pin is ``noxfile.py.lock`` (from ci-tasks' own requirement).
        """
        if self.ruff_groups if tool == "ruff" else self.mypy_groups:
            return "uv.lock"
        if self.pin(tool) is not None:
            return pins.PRE_COMMIT
        return "the CI environment"

    def _source(self, tool: str, groups: tuple[str, ...]) -> str:
        if groups:
            return f"the project's (uv.lock, group {', '.join(groups)})"
        pin = self.pin(tool)
        if pin is not None:
            how = " with its additional_dependencies, as pre-commit runs it" if pin.extras else ""
            return f"the CI environment's, pinned in {pins.PRE_COMMIT} ({pin.version}){how}"
        return "the CI environment's"

    def sync_groups(self, test_groups: tuple[str, ...]) -> tuple[str, ...]:
        """The groups to sync: ruff's; with mypy, mypy's and the test groups too."""
        project = (*self.mypy_groups, *test_groups) if self.mypy_needs_project else ()
        chosen = self.ruff_groups + project
        return tuple(dict.fromkeys(chosen))


def plan(
    document: Mapping[str, Any],
    lock_text: str | None,
    *,
    mypy: bool,
    pre_commit: Mapping[str, pins.Pin] | None = None,
) -> Toolchain:
    """The toolchain for a parsed ``pyproject.toml``, ``uv.lock`` and pre-commit pins (pure).

    ``uv.lock`` comes first, then ``.pre-commit-config.yaml``.
    """
    ruff = pins.locked_groups(document, lock_text, "ruff")
    mypy_groups = pins.locked_groups(document, lock_text, "mypy")
    chosen = {
        tool: pin
        for tool, pin in (pre_commit or {}).items()
        if not (ruff if tool == "ruff" else mypy_groups)
    }
    return Toolchain(
        ruff_groups=ruff,
        mypy_groups=mypy_groups,
        mypy=mypy,
        pre_commit=tuple(sorted(chosen.items())),
    )


def read(root: Path, *, mypy: bool) -> Toolchain:
    """The toolchain of the project in *root* (unreadable files count as absent)."""
    document, lock_text = pins.read_project(root)
    return plan(document, lock_text, mypy=mypy, pre_commit=pins.read_pre_commit(root))


def needs_env(root: Path, *, mypy: bool) -> bool:
    """:attr:`Toolchain.needs_env` for the project in *root*, as cheaply as it can be known.

    Every nox start asks it, to register lint's session. pre-commit's pins decide only
    where mypy runs from, so without mypy its configuration is not read.
    """
    if mypy:
        return read(root, mypy=True).needs_env
    document, lock_text = pins.read_project(root)
    return bool(pins.locked_groups(document, lock_text, "ruff"))
