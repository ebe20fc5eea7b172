"""Which ruff, black and mypy ``lint`` runs, and whether it needs the project's environment.

Formatting and type rules are the project's: a project whose dependency groups list ruff
(or mypy) and whose ``uv.lock`` locks it gets that version, run from an environment
synced from the lock. Otherwise ``lint`` runs the CI environment's ruff and mypy (ci-tasks
depends on both); a tool the project pins in ``.pre-commit-config.yaml`` is locked into
the CI environment at that version (``ci-tasks lock``), and a drift between the two is a
finding. mypy needs the project installed to see its imports, except when pre-commit
pins it: then it runs as pre-commit runs it, in its own environment with the hook's
``additional_dependencies``. ruff alone needs nothing, so a project that does not lock
ruff and does not ask for mypy is linted with no environment at all. black, where the
project formats with it, is found the same way (ci-tasks does not depend on it, so a
pre-commit pin is added to the CI environment, not overridden). Where ``uv.lock`` and
pre-commit both pin a tool at different versions, :meth:`Toolchain.disagreement` says so.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tasks.core import pins

if TYPE_CHECKING:
    from ci_tasks.core.own_commands import OwnCommands

__all__ = ["Toolchain", "needs_env", "own_reader", "plan", "read"]


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
    black_groups: tuple[str, ...] = ()
    """The project's groups listing a locked black (empty: the CI environment's black)."""
    black: bool = False
    """Whether black runs (the project formats with black)."""
    disagreements: tuple[tuple[str, str, pins.Pin], ...] = ()
    """``(tool, locked version, pre-commit pin)`` where both pin the tool, differently."""

    def pin(self, tool: str) -> pins.Pin | None:
        """The pre-commit pin the CI environment's *tool* should match, if any."""
        return dict(self.pre_commit).get(tool)

    @property
    def needs_env(self) -> bool:
        """Whether lint needs an environment synced from the project's ``uv.lock``."""
        return bool(self.ruff_groups) or self.mypy_needs_project or self.black_needs_project

    @property
    def black_needs_project(self) -> bool:
        """Whether black runs from the project's synced environment (its ``uv.lock`` pin)."""
        return self.black and bool(self.black_groups)

    @property
    def mypy_isolated(self) -> bool:
        """Whether mypy runs as pre-commit runs it: pinned there, seeing only its own env.

        pre-commit's mypy hook has an environment of mypy and the hook's
        ``additional_dependencies``, without the project installed; lint makes the same
        one (``uv tool run``), since the CI environment holds ci_tasks' own dependencies
        too, which that mypy would see.
        """
        return self.mypy and not self.mypy_groups and self.pin("mypy") is not None

    @property
    def mypy_needs_project(self) -> bool:
        """Whether mypy runs against the project's synced environment."""
        return self.mypy and not self.mypy_isolated

    def sources(self) -> dict[str, str]:
        """Where each tool comes from, in words, for the report and the log."""
        found = {"ruff": self._source("ruff", self.ruff_groups)}
        if self.black:
            found["black"] = self._source("black", self.black_groups)
        if self.mypy:
            found["mypy"] = self._source("mypy", self.mypy_groups)
        return found

    def groups(self, tool: str) -> tuple[str, ...]:
        """The project's groups that lock *tool* (empty: not the project's)."""
        locked = {"ruff": self.ruff_groups, "mypy": self.mypy_groups, "black": self.black_groups}
        return locked.get(tool, ())

    def disagreement(self, tool: str) -> tuple[pins.Pin, str] | None:
        """Where ``uv.lock`` and pre-commit pin *tool* differently: the pin and one line."""
        for name, locked, pin in self.disagreements:
            if name == tool:
                line = (
                    f"{tool}: uv.lock locks {locked} but {pins.PRE_COMMIT} pins {pin.version}; "
                    f"lint runs uv.lock's {locked} (make them agree for one verdict)"
                )
                return pin, line
        return None

    def pinned_in(self, tool: str) -> str:
        """Where *tool*'s version is pinned: ``uv.lock``, the pre-commit file, the CI env.

        The CI environment's pin is ``noxfile.py.lock`` (from ci-tasks' own requirement).
        """
        if self.groups(tool):
            return "uv.lock"
        if self.pin(tool) is not None:
            return pins.PRE_COMMIT
        return "the CI environment"

    def _source(self, tool: str, groups: tuple[str, ...]) -> str:
        if groups:
            return f"the project's (uv.lock, group {', '.join(groups)})"
        pin = self.pin(tool)
        if tool == "mypy" and self.mypy_isolated and pin is not None:
            extras = " and its additional_dependencies" if pin.extras else ""
            return (
                f"its own environment of mypy{extras}, as pre-commit runs it, pinned in "
                f"{pins.PRE_COMMIT} ({pin.version})"
            )
        if pin is not None:
            return f"the CI environment's, pinned in {pins.PRE_COMMIT} ({pin.version})"
        return "the CI environment's"

    def sync_groups(self, test_groups: tuple[str, ...]) -> tuple[str, ...]:
        """The groups to sync: ruff's; with mypy, mypy's and the test groups too."""
        project = (*self.mypy_groups, *test_groups) if self.mypy_needs_project else ()
        black = self.black_groups if self.black else ()
        chosen = self.ruff_groups + black + project
        return tuple(dict.fromkeys(chosen))


def plan(
    document: Mapping[str, Any],
    lock_text: str | None,
    *,
    mypy: bool,
    pre_commit: Mapping[str, pins.Pin] | None = None,
    black: bool = False,
) -> Toolchain:
    """The toolchain for a parsed ``pyproject.toml``, ``uv.lock`` and pre-commit pins (pure).

    ``uv.lock`` comes first, then ``.pre-commit-config.yaml``; where both pin a tool at
    different versions, the disagreement is kept, to be said.
    """
    pinned = dict(pre_commit or {})
    locked = {tool: pins.locked_groups(document, lock_text, tool) for tool in _TOOLS}
    chosen = {tool: pin for tool, pin in pinned.items() if not locked.get(tool)}
    both = [tool for tool in pinned if locked.get(tool)]
    versions = _locked_versions(lock_text) if both else {}
    disagreements = tuple(
        (tool, versions[tool], pinned[tool])
        for tool in sorted(both)
        if tool in versions and versions[tool] != pinned[tool].version
    )
    return Toolchain(
        ruff_groups=locked["ruff"],
        mypy_groups=locked["mypy"],
        mypy=mypy,
        pre_commit=tuple(sorted(chosen.items())),
        black_groups=locked["black"],
        black=black,
        disagreements=disagreements,
    )


_TOOLS = ("ruff", "mypy", "black")


def _locked_versions(lock_text: str | None) -> dict[str, str]:
    """``{package: version}`` of a ``uv.lock`` (read only where pre-commit pins a locked tool)."""
    try:
        data = tomllib.loads(lock_text or "")
    except tomllib.TOMLDecodeError:
        return {}
    from packaging.utils import canonicalize_name  # noqa: PLC0415 - as pins reads names

    return {
        str(canonicalize_name(str(p["name"]))): str(p["version"])
        for p in data.get("package", [])
        if isinstance(p, dict) and "name" in p and "version" in p
    }


def read(root: Path, *, mypy: bool, black: bool = False) -> Toolchain:
    """The toolchain of the project in *root* (unreadable files count as absent)."""
    document, lock_text = pins.read_project(root)
    pre_commit = pins.read_pre_commit(root)
    return plan(document, lock_text, mypy=mypy, pre_commit=pre_commit, black=black)


def own_reader(root: Path) -> Callable[[], OwnCommands]:
    """The project's own commands in *root*, read when first asked for, then kept.

    Registration asks up to twice (whether mypy runs, whether black is the formatter);
    one reader passed to both reads the project's files once, and not at all where
    neither question needs them.
    """

    @functools.cache
    def read_once() -> OwnCommands:
        from ci_tasks.core import own_commands  # noqa: PLC0415 - read only where asked

        return own_commands.read(root)

    return read_once


def needs_env(
    root: Path,
    *,
    mypy: bool,
    formatter: str | None = None,
    own: Callable[[], OwnCommands] | None = None,
) -> bool:
    """:attr:`Toolchain.needs_env` for the project in *root*, as cheaply as it can be known.

    Every nox start asks it, to register lint's session. pre-commit's pins decide only
    where mypy runs from, so without mypy its configuration is not read; the project's
    own commands only where its ``uv.lock`` locks black (whether it formats with black),
    unless *formatter* (``[tool.ci-tasks.lint] formatter``) says. *own* reads them
    (:func:`own_reader`; by default, a reader of its own).
    """
    document, lock_text = pins.read_project(root)
    if pins.locked_groups(document, lock_text, "ruff"):
        return True
    black = bool(pins.locked_groups(document, lock_text, "black")) and (
        formatter == "black" if formatter is not None else formats_with_black(root, own)
    )
    if mypy:
        return read(root, mypy=True, black=black).needs_env
    return black


def runs_mypy(
    root: Path, *, setting: bool | str, own: Callable[[], OwnCommands] | None = None
) -> bool:
    """Whether lint runs mypy: *setting* (``[tool.ci-tasks.lint] mypy``), else the project's.

    ``auto`` reads the project's own commands (a mypy hook or command, through *own*);
    a bool is itself.
    """
    if isinstance(setting, bool):
        return setting
    from ci_tasks.core import own_commands  # noqa: PLC0415 - read only for "auto"

    return own_commands.gate((own or own_reader(root))(), "mypy") is not None


def formats_with_black(root: Path, own: Callable[[], OwnCommands] | None = None) -> bool:
    """Whether the project in *root* gates on black (:mod:`.scope`, from its own commands)."""
    from ci_tasks.stages.lint import scope  # noqa: PLC0415 - read only where black is locked

    return scope.choose((own or own_reader(root))()).black is not None
