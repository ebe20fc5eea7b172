"""What lint checks, taken from the project's own gates (pure).

The project's own commands (:mod:`ci_tasks.core.own_commands`) say which formatter it
gates on and over which paths: a ``ruff-format`` pre-commit hook (its ``files`` and
``exclude``), a ``ruff format --check src tests`` recipe, a ``black`` hook or ``black
--check src`` command, or none at all. Lint format-checks with the project's formatter
only, over what the project's own check covers, and says where each choice came from. A
project whose commands show no lint tool at all keeps the defaults (``ruff check .``,
``ruff format --check .``), and says so.
"""

from __future__ import annotations

import dataclasses
import re

from ci_tasks.core import own_commands
from ci_tasks.core.own_commands import Command, Hook, OwnCommands

_LINT_TOOLS = ("ruff", "black", "mypy")
_LINT_HOOKS = ("ruff", "ruff-check", "ruff-format", "black", "mypy")
DEFAULT = "the default; no lint command of the project's own was found"


@dataclasses.dataclass(frozen=True)
class Check:
    """One ruff run: its paths, the hook's filters for its findings, and where it came from."""

    paths: tuple[str, ...] = (".",)
    files: str | None = None
    """A pre-commit ``files`` pattern: findings elsewhere are not the project's gate."""
    exclude: str | None = None
    source: str = DEFAULT
    suffixes: tuple[str, ...] | None = None
    """A hook's file types (``.py``, ``.pyi``): pre-commit passes it nothing else, so a
    finding in ``pyproject.toml`` is not the project's gate."""
    options: tuple[str, ...] = ()
    """The gate's own options that shape its verdict (black's ``-l 100``, ``--preview``)."""

    def covers(self, path: str) -> bool:
        """Whether a finding in *path* is inside what the project's own gate checks."""
        if self.suffixes is not None and not path.endswith(self.suffixes):
            return False
        if self.files is not None and not re.search(self.files, path):
            return False
        return not (self.exclude is not None and re.search(self.exclude, path))


@dataclasses.dataclass(frozen=True)
class Scope:
    """What lint's ruff runs check (``None``: the project gates on no such check)."""

    check: Check | None
    format: Check | None
    formatter: str | None = "ruff"
    """The formatter the project gates on (``black``: ruff's format check is not its gate)."""
    black: Check | None = None
    """``black --check``, where black is the project's formatter."""

    def said(self) -> list[str]:
        """One line each: what runs over what, and why."""
        lines = []
        checks = (
            ("ruff check", self.check),
            ("ruff format --check", self.format),
            ("black --check", self.black),
        )
        for name, check in checks:
            if check is None:
                continue
            shown = " ".join([*check.options, *check.paths])
            lines.append(f"{name}: {shown} ({check.source})")
        if self.format is None and self.black is None:
            why = (
                f"the project formats with {self.formatter}, not ruff"
                if self.formatter
                else "the project gates on no formatter"
            )
            lines.append(f"format check: none ({why})")
        if self.check is None:
            lines.append("ruff check: none (the project's own lint does not run ruff)")
        return lines


def _check(gate: Command | Hook) -> Check:
    if isinstance(gate, Hook):
        source = f"pre-commit hook {gate.id!r}"
        return Check(files=gate.files, exclude=gate.exclude, source=source, suffixes=gate.suffixes)
    return Check(paths=gate.paths or (".",), source=f"{gate.source}: {gate.shown()}")


# black's options that only change what it prints (lint asks for ``--check --diff`` itself).
_BLACK_OUTPUT = frozenset(
    {"--check", "--diff", "--color", "--no-color", "-q", "--quiet", "-v", "--verbose"}
)
_BLACK_VALUES = frozenset(
    {"-l", "--line-length", "-t", "--target-version", "--config", "--include", "--exclude",
     "--extend-exclude", "--force-exclude", "--required-version", "-W", "--workers",
     "--python-cell-magics", "--enable-unstable-feature"}
)  # fmt: skip


def black_args(args: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(options, paths)`` of a black command line; options that only shape output dropped."""
    options: list[str] = []
    paths: list[str] = []
    takes_value = False
    for arg in args:
        if takes_value:
            options.append(arg)
            takes_value = False
        elif arg.startswith("-"):
            if arg.split("=", 1)[0] not in _BLACK_OUTPUT:
                options.append(arg)
                takes_value = arg in _BLACK_VALUES
        else:
            paths.append(arg)
    return tuple(options), tuple(paths)


def _black(gate: Command | Hook) -> Check:
    """``black --check`` as the project's gate runs it: its options, its paths or filters."""
    options, paths = black_args(gate.args)
    if isinstance(gate, Hook):
        source = f"pre-commit hook {gate.id!r}"
        return Check(
            files=gate.files,
            exclude=gate.exclude,
            source=source,
            suffixes=gate.suffixes,
            options=options,
        )
    return Check(paths=paths or (".",), source=f"{gate.source}: {gate.shown()}", options=options)


def choose(own: OwnCommands) -> Scope:
    """Lint's scope from the project's own gates; the defaults where none is readable."""
    lints = [c for c in own.commands if c.tool in _LINT_TOOLS]
    hooks = [h for h in own.hooks if h.id in _LINT_HOOKS]
    if not lints and not hooks:
        return Scope(Check(), Check())
    ruff_format = own_commands.gate(own, "ruff", "format")
    ruff_check = own_commands.gate(own, "ruff", "check")
    black = own_commands.gate(own, "black")
    formatter = "ruff" if ruff_format else "black" if black else None
    return Scope(
        _check(ruff_check) if ruff_check else None,
        _check(ruff_format) if ruff_format else None,
        formatter,
        _black(black) if black and not ruff_format else None,
    )
