"""What the tests session runs, taken from the project's own test command (pure).

The project's test command (:func:`ci_tasks.core.own_commands.test_command`: a recipe's
``uv run --all-extras --group test pytest tests``, tox's ``extras = test`` and
``pytest {posargs:tests}``) says which paths pytest collects, which extras and groups its
environment holds, which options select tests (``-m``, ``-k``, ``-p``, ``--ignore``,
``--deselect``) and which variables it sets. The session takes exactly those; options that
are the session's own business (workers, coverage, ``--maxfail``, output) are not taken.
Posargs replace the scope, as tox's ``{posargs:tests}`` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core import own_commands
from ci_tasks.core.own_commands import OwnCommands

DEFAULT = "the default; no test command of the project's own was found"
# Options that choose which tests run (with a value), as pytest spells them.
_SHORT = frozenset({"-m", "-k", "-p"})
_SELECTING = _SHORT | {"--ignore", "--ignore-glob", "--deselect"}


@dataclasses.dataclass(frozen=True)
class TestScope:
    """The project's own test command as the session takes it."""

    __test__ = False  # not a pytest test class, despite its name

    args: tuple[str, ...] = ()
    """Paths and selecting options, in the command's order."""
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    source: str = DEFAULT

    def said(self) -> str:
        """``scope: pytest tests -m 'not slow', --all-extras (justfile recipe 'test')``."""
        shown = ["pytest", *self.args]
        if self.all_extras:
            shown.append("--all-extras")
        shown += [f"--extra {e}" for e in self.extras]
        shown += [f"--group {g}" for g in self.groups]
        shown += [f"{k}={v}" for k, v in self.env]
        return f"scope: {' '.join(shown)} ({self.source})"


def selected(args: Sequence[str], root: Path | None = None) -> tuple[str, ...]:
    """The paths and selecting options among a test command's *args*.

    Given the project's *root*, a positional that names nothing there is not a path: it
    is the value of an option we do not know (``--cov-context test``), or a tox
    substitution (``{toxinidir}/tests`` is read as it is), and pytest would refuse it.
    """
    keep: list[str] = []
    paths = {p for p in own_commands.positionals("pytest", args) if _exists(root, p)}
    pending = False
    for arg in args:
        short = arg[:2] in _SHORT and not arg.startswith("--")
        name = arg[:2] if short else arg.split("=", 1)[0]
        if pending:
            keep.append(arg)
            pending = False
        elif name in _SELECTING:
            keep.append(arg)
            pending = arg == name  # the value is the next word (`-m slow`, `--ignore x`)
        elif arg in paths:
            keep.append(arg)
    return tuple(keep)


def _exists(root: Path | None, path: str) -> bool:
    if root is None:
        return True
    return (root / path.split("::", 1)[0]).exists()


def choose(own: OwnCommands, root: Path | None = None, python: str | None = None) -> TestScope:
    """The session's scope: the project's test command's, or the defaults (said so).

    *python* is the session's: the project's command of that Python where it has one per
    Python (tox's ``3.11-tests``), as ``ci-tasks parity`` compares it.
    """
    command = own_commands.test_command(own, python)
    if command is None:
        return TestScope()
    return TestScope(
        selected(command.args, root),
        command.extras,
        command.all_extras,
        command.groups,
        command.env,
        f"{command.source}: {command.shown()}",
    )
