"""What the tests session runs, taken from the project's own test command (pure).

The project's test command (:func:`ci_tasks.core.own_commands.test_command`: a recipe's
``uv run --all-extras --group test pytest tests``, tox's ``extras = test`` and
``pytest {posargs:tests}``) says which paths pytest collects, which extras and groups its
environment holds, which options select tests (``-m``, ``-k``, ``-p``, ``--ignore``,
``--deselect``) and which variables it sets. The session takes exactly those; options that
are the session's own business (workers, coverage, ``--maxfail``, output) are not taken.
Posargs replace the scope, as tox's ``{posargs:tests}`` does. ``[tool.ci-tasks.tests]``
``pytest-args``, ``extras``, ``all-extras`` and ``groups`` (``ci-tasks init`` writes what it
found) replace the command's, key by key.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_tasks.core import own_commands
from ci_tasks.core.own_commands import OwnCommands
from ci_tasks.core.stage import Adopted
from ci_tasks.stages.testing.config import TestsConfig

DEFAULT = "the default; no test command of the project's own was found"
CONFIG = "pyproject.toml [tool.ci-tasks.tests]"
_KEYS = ("pytest_args", "extras", "all_extras", "groups")
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
    env_source: str = ""
    """Where :attr:`env` came from (the test command's source), if not :attr:`source`."""

    def said(self) -> str:
        """``scope: pytest tests -m 'not slow', --all-extras (justfile recipe 'test')``."""
        shown = [shlex.join(["pytest", *self.args])]
        if self.all_extras:
            shown.append("--all-extras")
        shown += [f"--extra {e}" for e in self.extras]
        shown += [f"--group {g}" for g in self.groups]
        shown += [f"{k}={v}" for k, v in self.env]
        return f"scope: {' '.join(shown)} ({self.source})"


# Variables the session sets itself: a project's value would take its outputs elsewhere.
_OURS = ("CI_TASKS_", "COVERAGE_FILE")
_BRACED = re.compile(r"\{([^{}]*)\}")
_SHELL = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
# Each runner's names for the project's folder and the separators (tox, hatch, ours).
_ROOTS = frozenset({"toxinidir", "tox_root", "root"})
_SEPARATORS = {"/": os.sep, ":": os.pathsep, ";": os.pathsep}


@dataclasses.dataclass(frozen=True)
class Variables:
    """The test command's variables as pytest gets them, and those it cannot get, said."""

    env: dict[str, str] = dataclasses.field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    """``FOO={envtmpdir}/x: not set (tox's {envtmpdir} is tox's own environment's)``."""


def _syntax(source: str) -> str:
    """How the command's variables are written: ``braces`` (tox, hatch, ours) or ``shell``."""
    where = source.split(":", 1)[0]
    braced = ("tox.ini", "tox.toml", "[tool.tox]", "hatch env")
    return "braces" if any(b in where for b in braced) else "shell"


class _Unset(ValueError):
    """A value refers to something this environment does not have."""


def _braces(value: str, root: Path, environ: Mapping[str, str]) -> str:
    """Substitutions of tox and hatch: ``{toxinidir}``, ``{root}``, ``{env:X:default}``."""

    def one(match: re.Match[str]) -> str:
        inner = match[1]
        if inner in _ROOTS:
            return str(root)
        if inner in _SEPARATORS:
            return _SEPARATORS[inner]
        if inner in ("home", "homedir"):
            return str(Path.home())
        kind, _, rest = inner.partition(":")
        if kind == "env" and rest:
            name, has_default, default = rest.partition(":")
            if name in environ:
                return environ[name]
            if has_default:
                return default
            msg = f"{name} is not set here"
            raise _Unset(msg)
        msg = f"{{{inner}}} is the runner's own (its environment's folders, its arguments)"
        raise _Unset(msg)

    return _BRACED.sub(one, value)


def _shell(value: str, environ: Mapping[str, str]) -> str:
    """A shell's expansion of an assignment's value: ``$HOME``, ``${X:-default}``, ``~/x``."""
    if "$(" in value or "`" in value or "{{" in value:
        msg = "it runs a command or a task runner's expression to get its value"
        raise _Unset(msg)

    def one(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        if name in environ and (environ[name] or match["default"] is None):
            return environ[name]
        return match["default"] or ""  # as the shell does: unset is empty

    expanded = _SHELL.sub(one, value)
    if "${" in expanded:
        msg = "it uses a shell expansion other than $NAME, ${NAME} or ${NAME:-default}"
        raise _Unset(msg)
    return str(Path.home()) + expanded[1:] if expanded.startswith("~/") else expanded


def variables(scope: TestScope, root: Path, environ: Mapping[str, str]) -> Variables:
    """The scope's variables expanded as its runner would, in *environ*, for the project in *root*.

    A value that names what only its runner has (tox's ``{envtmpdir}``, a shell's
    ``$(...)``) is skipped and said, never passed raw; the session's own variables
    (``COVERAGE_FILE``, ``CI_TASKS_*``) stay the session's.
    """
    env: dict[str, str] = {}
    skipped: list[str] = []
    syntax = _syntax(scope.env_source or scope.source)
    for raw_name, raw_value in scope.env:
        name, value = raw_name.strip(), raw_value.strip()
        if name.startswith(_OURS):
            skipped.append(f"{name}={value}: not set (the session sets {name} itself)")
            continue
        try:
            if syntax == "braces":
                env[name] = _braces(value, root, environ)
            else:
                env[name] = _shell(value, environ)
        except _Unset as exc:
            skipped.append(f"{name}={value}: not set ({exc})")
    return Variables(env, tuple(skipped))


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


def choose(
    own: OwnCommands,
    root: Path | None = None,
    config: TestsConfig | None = None,
    python: str | None = None,
) -> TestScope:
    """The session's scope: *config*'s keys where set, else the project's test command's.

    Without either, the defaults (said so). The line names the keys taken from
    ``[tool.ci-tasks.tests]`` and the command that gave the rest. *root* is the project's
    folder, where the command's paths must be (:func:`selected`). *python* is the
    session's: the project's command of that Python where it has one per Python (tox's
    ``3.11-tests``), as ``ci-tasks parity`` compares it.
    """
    config = config or TestsConfig()
    command = own_commands.test_command(own, python)
    ours = [key for key in _KEYS if getattr(config, key) is not None]
    if command is None and not ours:
        return TestScope()
    found = TestScope() if command is None else from_command(command, root)
    chosen = {key: getattr(config, key) for key in ours}
    scope = dataclasses.replace(
        found,
        args=chosen.get("pytest_args", found.args),
        extras=chosen.get("extras", found.extras),
        all_extras=chosen.get("all_extras", found.all_extras),
        groups=chosen.get("groups", found.groups),
    )
    if not ours:
        return scope
    keys = ", ".join(key.replace("_", "-") for key in ours)
    partly = len(ours) < len(_KEYS) or bool(found.env)  # the command still gives something
    rest = f"; the rest: {found.source}" if command is not None and partly else ""
    return dataclasses.replace(scope, source=f"{CONFIG} {keys}{rest}", env_source=found.source)


def from_command(command: own_commands.Command, root: Path | None = None) -> TestScope:
    """The scope the project's test command gives (what ``ci-tasks init`` writes down)."""
    return TestScope(
        selected(command.args, root),
        command.extras,
        command.all_extras,
        command.groups,
        command.env,
        f"{command.source}: {command.shown()}",
    )


def adopted(own: OwnCommands, root: Path | None = None) -> dict[str, Adopted]:
    """What ``ci-tasks init`` writes into ``[tool.ci-tasks.tests]``: the test command's scope.

    Its paths and selecting options always, the extras and groups where it has them;
    nothing where the project has no test command.
    """
    command = own_commands.test_command(own)
    if command is None:
        return {}
    found = from_command(command, root)
    why = f"from {found.source}"
    keys = {"pytest_args": Adopted(found.args, why)}
    if found.all_extras:
        keys["all_extras"] = Adopted(value=True, why=why)
    if found.extras:
        keys["extras"] = Adopted(found.extras, why)
    if found.groups:
        keys["groups"] = Adopted(found.groups, why)
    needs_tree = needs_the_tree(command)
    if needs_tree:
        keys["install"] = Adopted("project", f"{why}: {needs_tree}")
    return keys


def needs_the_tree(command: own_commands.Command) -> str | None:
    """Why the project's test command shows its tests need the source tree, or ``None``.

    Two signs, each a choice the project made against testing a built package: tox's
    ``usedevelop = true`` / ``package = editable`` (tox's default builds and installs the
    package), and a ``PYTHONPATH`` the command sets (its tests import from folders of the
    tree). An editable ``pip install -e .`` or ``uv sync`` alone is no such sign: it is
    merely how those tools install, and the tests import the same names from the wheel.
    """
    if command.editable:
        return "its tox environment installs the project in place (usedevelop / editable)"
    if any(key.strip() == "PYTHONPATH" for key, _ in command.env):
        return "it sets PYTHONPATH: its tests import from the source tree"
    return None
