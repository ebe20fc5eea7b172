"""What lint checks, taken from the project's own gates (pure).

The project's own commands (:mod:`ci_tasks.core.own_commands`) say which formatter it
gates on and over which paths: a ``ruff-format`` pre-commit hook (its ``files`` and
``exclude``), a ``ruff format --check src tests`` recipe, a ``black`` hook or ``black
--check src`` command, or none at all. Lint format-checks with the project's formatter
only, over what the project's own check covers, and says where each choice came from. A
project whose commands show no lint tool at all keeps the defaults (``ruff check .``,
``ruff format --check .``), and says so. mypy runs where the project runs mypy (a hook or
a command, with its targets and options), unless ``[tool.ci-tasks.lint] mypy`` says.
"""

from __future__ import annotations

import dataclasses
import re

from ci_tasks.core import own_commands
from ci_tasks.core.own_commands import Command, Hook, OwnCommands
from ci_tasks.core.stage import Adopted
from ci_tasks.stages.lint.config import LintConfig

_LINT_TOOLS = ("ruff", "black", "mypy")
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
    extras: tuple[str, ...] = ()
    """The project's extras the gate's environment holds (a mypy run after ``pip install
    -e .[cli]``): mypy sees what that environment has, so the session's must hold it too."""
    all_extras: bool = False
    deps: tuple[str, ...] = ()
    """What the gate's environment installs beside the project (tox's ``deps =
    types-requests``): stubs change mypy's verdict, so the session's mypy sees them too."""
    listed: bool = False
    """pre-commit's way: the tool is given each tracked file the check covers, not paths
    (mypy checks what it is given; ``mypy .`` or its own ``files`` would check more)."""

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
    mypy: Check | None = None
    """mypy's run (``paths`` its targets; none: mypy's own ``files``, else ``.``)."""
    mypy_why: str = "auto: the project's own commands run no mypy"
    """Where the choice to run mypy, or not, came from."""
    check_why: str = "the project's own lint does not run ruff"
    """Why no ruff check runs, where none does."""
    format_why: str | None = None
    """Why no format check runs, where ``[tool.ci-tasks.lint]`` says so."""

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
            why = self.format_why or (
                f"the project formats with {self.formatter}, not ruff"
                if self.formatter
                else "the project gates on no formatter"
            )
            lines.append(f"format check: none ({why})")
        if self.check is None:
            lines.append(f"ruff check: none ({self.check_why})")
        lines.append(self.mypy_said())
        return lines

    def mypy_said(self) -> str:
        """``mypy: --strict src (auto: justfile recipe 'lint': mypy --strict src)``."""
        if self.mypy is None:
            return f"mypy: none ({self.mypy_why})"
        listed = "the tracked files the hook covers" if self.mypy.listed else ""
        paths = self.mypy.paths or ((listed,) if listed else ())
        shown = " ".join([*self.mypy.options, *paths]) or "its own `files`, else ."
        deps = f", with {', '.join(self.mypy.deps)} installed" if self.mypy.deps else ""
        return f"mypy: {shown} ({self.mypy_why}{deps})"


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


# mypy's options that only change what it prints or where it caches (lint sets its own),
# or that install anything; and those that take a value (``-p``/``-m`` name targets).
_MYPY_OUTPUT = frozenset(
    {
        "--pretty",
        "--no-pretty",
        "--hide-error-codes",
        "--show-error-codes",
        "--no-error-summary",
        "--error-summary",
        "--color-output",
        "--no-color-output",
        "--scroll-output",
        "-v",
        "--verbose",
        "--show-traceback",
        "--tb",
        "--show-absolute-path",
        "--show-error-end",
        "--show-error-context",
        "--hide-error-context",
        "--show-column-numbers",
        "--install-types",
        "--non-interactive",
        "--sqlite-cache",
        "--no-sqlite-cache",
    }
)
_MYPY_DROPPED_VALUES = frozenset(
    {
        "--cache-dir",
        "--junit-xml",
        "-O",
        "--output",
        "--html-report",
        "--txt-report",
        "--xml-report",
        "--cobertura-xml-report",
        "--linecount-report",
        "--linecoverage-report",
        "--lineprecision-report",
        "--any-exprs-report",
        "--memory-xml-report",
    }
)
_MYPY_VALUES = frozenset(
    {
        "--config-file",
        "--python-version",
        "--platform",
        "--exclude",
        "--always-true",
        "--always-false",
        "--enable-error-code",
        "--disable-error-code",
        "--follow-imports",
        "--python-executable",
        "--custom-typeshed-dir",
        "--untyped-calls-exclude",
        "--enable-incomplete-feature",
        "--soft-error-limit",
        "--shadow-file",
    }
)
_MYPY_TARGETS = frozenset({"-p", "--package", "-m", "--module"})  # fmt: skip


def mypy_args(args: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(options, targets)`` of a mypy command line (``-p pkg`` is a target).

    Options that only shape its output or cache (lint reads ``file:line: error:`` and
    keeps its cache under ``.ci-tasks/``), or that install anything, are dropped.
    """
    options: list[str] = []
    targets: list[str] = []
    pending: list[str] | None = None
    for arg in args:
        if pending is not None:
            pending.append(arg)
            pending = None
            continue
        name = arg.split("=", 1)[0]
        inline = "=" in arg
        if not arg.startswith("-"):
            targets.append(arg)
        elif name in _MYPY_TARGETS:
            targets.append(arg)
            pending = None if inline else targets
        elif name in _MYPY_DROPPED_VALUES:
            pending = None if inline else []
        elif name not in _MYPY_OUTPUT:
            options.append(arg)
            pending = options if name in _MYPY_VALUES and not inline else None
    return tuple(options), tuple(targets)


def _mypy(own: OwnCommands, config: LintConfig) -> tuple[Check | None, str]:
    """Whether mypy runs, over what, and why: the setting, else the project's own mypy."""
    gate = own_commands.gate(own, "mypy")
    setting = config.mypy
    if setting is False:
        return None, f"{CONFIG} mypy = false"
    if gate is None and setting == "auto":
        return None, "auto: the project's own commands run no mypy"
    check = Check(paths=()) if gate is None else _mypy_check(gate)
    why = f"{CONFIG} mypy = true" if setting is True else f"auto: {check.source}"
    if config.mypy_targets:
        check = dataclasses.replace(check, paths=config.mypy_targets)
        why += f"; targets from {CONFIG} mypy-targets"
    return check, why


def _mypy_check(gate: Command | Hook) -> Check:
    options, targets = mypy_args(gate.args)
    if isinstance(gate, Hook):
        source = f"pre-commit hook {gate.id!r}"
        return Check(
            paths=(),
            files=gate.files,
            exclude=gate.exclude,
            source=source,
            suffixes=gate.suffixes,
            options=options,
            listed=True,
        )
    return Check(
        paths=targets,
        source=f"{gate.source}: {gate.shown()}",
        options=options,
        extras=gate.extras,
        all_extras=gate.all_extras,
        deps=tuple(d for d in gate.deps if _requirement_name(d) != "mypy"),
    )


def _requirement_name(requirement: str) -> str:
    """``types-requests`` of ``types_requests >= 2``, as pip compares names."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", name[1]).lower() if name else ""


CONFIG = "pyproject.toml [tool.ci-tasks.lint]"


def choose(own: OwnCommands, config: LintConfig | None = None) -> Scope:
    """Lint's scope: *config*'s keys where set, else the project's own gates, else defaults.

    *config* is ``[tool.ci-tasks.lint]``: ``check-paths``, ``formatter``, ``format-paths``,
    ``mypy`` and ``mypy-targets`` replace what the project's own commands say, key by key.
    """
    config = config or LintConfig()
    mypy, mypy_why = _mypy(own, config)
    found = from_own(own)
    if found.check == Check() and found.format == Check() and config.mypy == "auto":
        mypy_why = f"auto: {DEFAULT}" if mypy is None else mypy_why
    return dataclasses.replace(_configured(found, config), mypy=mypy, mypy_why=mypy_why)


def from_own(own: OwnCommands) -> Scope:
    """Lint's scope from the project's own gates alone (what ``ci-tasks init`` writes down)."""
    lints = [c for c in own.commands if c.tool in _LINT_TOOLS]
    hooks = [h for h in own.hooks if h.runs is not None]
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


def _configured(found: Scope, config: LintConfig) -> Scope:
    """*found* with what ``[tool.ci-tasks.lint]`` sets in its place."""
    scope = found
    if config.check_paths is not None:
        paths = config.check_paths
        check = Check(paths=paths, source=f"{CONFIG} check-paths") if paths else None
        if check is not None and found.check is not None and found.check.paths == paths:
            # The gate's own paths written down: its hook's filters still bound it.
            check = dataclasses.replace(found.check, source=f"{check.source}; {found.check.source}")
        scope = dataclasses.replace(scope, check=check, check_why=f"{CONFIG} check-paths = []")
    if config.formatter is None and config.format_paths is None:
        return scope
    keys = [k for k in ("formatter", "format_paths") if getattr(config, k) is not None]
    source = f"{CONFIG} {', '.join(k.replace('_', '-') for k in keys)}"
    formatter = config.formatter or scope.formatter or "ruff"
    if formatter == "none" or config.format_paths == ():
        why = (
            f"{CONFIG} format-paths = []"
            if config.format_paths == ()
            else f'{CONFIG} formatter = "none"'
        )
        return dataclasses.replace(scope, format=None, black=None, formatter=None, format_why=why)
    active = scope.format if formatter == "ruff" else scope.black
    if active is None or (config.formatter is not None and config.formatter != scope.formatter):
        active = Check(source=source)
    elif config.format_paths is None:  # the project's own gate, as the setting names it
        active = dataclasses.replace(active, source=f"{source}; {active.source}")
    if config.format_paths is not None and config.format_paths != active.paths:
        active = Check(paths=config.format_paths, source=source, options=active.options)
    if formatter == "ruff":
        return dataclasses.replace(scope, format=active, black=None, formatter="ruff")
    return dataclasses.replace(scope, format=None, black=active, formatter="black")


def adopted(own: OwnCommands) -> dict[str, Adopted]:
    """What ``ci-tasks init`` writes into ``[tool.ci-tasks.lint]``: the paths of its gates.

    A command's paths are written; a hook's ``.`` only where it has no ``files`` or
    ``exclude`` (with them, ``.`` would check more than the hook does: left as a comment).
    The formatter it gates on, and where mypy runs by default, are said. Nothing where the
    project's commands show no lint tool.
    """
    found = from_own(own)
    mypy, mypy_why = _mypy(own, LintConfig())
    said = mypy_why.removeprefix("auto: ")
    keys = {"mypy": Adopted("auto", f"auto: {'on' if mypy else 'off'}, {said}")}
    if found.check == Check() and found.format == Check():
        return keys
    if found.check is not None:
        keys["check_paths"] = _adopted_paths(found.check)
    active = found.format or found.black
    if active is not None and found.formatter is not None:
        keys["formatter"] = Adopted(found.formatter, f"from {active.source}")
        keys["format_paths"] = _adopted_paths(active)
    return keys


def _adopted_paths(check: Check) -> Adopted:
    if check.files is None and check.exclude is None and check.suffixes is None:
        return Adopted(check.paths, f"from {check.source}")
    if check.files is None and check.exclude is None:  # a hook: the files of its types
        types = ", ".join(check.suffixes or ())
        why = f"{check.source} checks tracked {types} files: unset, lint keeps to them"
        return Adopted(check.paths, why, commented=True)
    filters = ", ".join(
        f"{name} {value}"
        for name, value in (("files", check.files), ("exclude", check.exclude))
        if value
    )
    why = f"{check.source} checks its {filters}: unset, lint keeps to them"
    return Adopted(check.paths, why, commented=True)
