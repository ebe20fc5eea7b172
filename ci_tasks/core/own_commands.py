"""The project's own commands: what its maintainers already run, read once, in one home.

A project already says what it checks: its workflows' ``run:`` steps, tox (``tox.ini``,
``tox.toml``, ``[tool.tox]``), its noxfile's sessions (read from the AST, never run),
Justfile and Makefile recipes, hatch environment scripts and ``.pre-commit-config.yaml``
hooks. :func:`read` turns them into plain data: each :class:`Command` is one tool
invocation (``pytest tests``, ``ruff format --check src``) with where it came from and the
environment it runs in (extras, groups, variables); each :class:`Hook` a pre-commit hook.
Stages take their scope from it (:func:`test_command`, :func:`gate`) and say where each
choice came from. A shape it does not know is skipped and said (:attr:`OwnCommands.skipped`),
never fatal. Pure but for reading files: nothing here runs anything, and the one thing
written is the kept copy of a read (:mod:`~ci_tasks.core.own_commands_store`).
"""

from __future__ import annotations

import ast
import collections
import configparser
import contextvars
import copy
import dataclasses
import functools
import re
import shlex
import tomllib
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ci_tasks.core.workflow_files import generated, workflow_files

__all__ = [
    "HOOK_TOOLS",
    "TOOL_REPOS",
    "Command",
    "Hook",
    "HookTool",
    "Job",
    "OwnCommands",
    "gate",
    "hook_ids",
    "hooks",
    "ini",
    "parse_hooks",
    "parse_line",
    "pyproject",
    "read",
    "table",
    "test_command",
    "text",
    "workflow_jobs",
]

# The tools a stage takes its scope from, by the names their commands start with.
_TOOL_NAMES = {
    "pytest": "pytest",
    "py.test": "pytest",
    "unittest": "unittest",
    "ruff": "ruff",
    "black": "black",
    "mypy": "mypy",
}
# Words that run the rest of the line in some environment: stripped, their flags read.
_WRAPPERS = frozenset({"uv", "uvx", "poetry", "pdm", "hatch", "pipenv", "rye", "exec", "env"})
_PLACEHOLDERS = re.compile(r"^(\{posargs.*\}|\{args.*\}|\$@|\"\$@\"|\$\*|\$\{@\}|\{\{.*\}\})$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PYTHON_PLACEHOLDER = "{python}"
"""In :attr:`Command.run`: the Python it is run on (``hatch test --python {python}``)."""
_POSARGS = re.compile(r"\{posargs(?::([^{}]*))?\}")
# tox's own interpreter of the env, as a command's first word.
_TOX_PYTHONS = frozenset(
    {"{envpython}", "{env_python}", "{envbindir}/python", "{env_bin_dir}/python"}
)
_SEPARATORS = frozenset({"&&", "||", ";", "|"})
# uv run's flags that take a value, and those among them that choose the environment.
_UV_VALUE_FLAGS = frozenset(
    {"--extra", "--group", "--only-group", "--with", "--python", "-p", "--package",
     "--directory", "--project", "--env-file", "--no-group", "--index", "--from"}
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Command:
    """One tool invocation of the project's own: ``pytest -m "not slow" tests``."""

    tool: str
    """``pytest``, ``ruff``, ``black`` or ``mypy``."""
    args: tuple[str, ...]
    """The tool's own arguments (for ruff, its subcommand first), placeholders dropped."""
    source: str
    """Where it came from: ``justfile recipe 'test'``, ``tox.ini [testenv]``."""
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    """Variables the command sets for the tool (``FOO=1 pytest``, tox's ``setenv``)."""
    run: tuple[str, ...] = ()
    """How a maintainer runs it: ``tox run -e 3.11-tests``, ``just test``, ``make check``,
    ``nox -s tests-3.11``, ``hatch run test:cov``, or a workflow's lines (``bash -ec ...``,
    with the job's installs before it); empty where it cannot be run on its own."""
    python: str | None = None
    """The Python its environment names (tox's ``py311`` factor, nox's ``python=``)."""
    deps: tuple[str, ...] = ()
    """What its environment installs besides the project: tox's ``deps`` (with the
    requirement files they name read), a nox session's ``session.install`` requirements."""
    editable: bool = False
    """Its environment installs the project in place on purpose, where the tool's default
    is the built package: tox's ``usedevelop = true`` or ``package = editable``."""

    @property
    def subcommand(self) -> str | None:
        """The subcommand of a ruff command (``check``, ``format``); ``None`` for another tool."""
        if self.tool != "ruff":
            return None
        first = next((a for a in self.args if not a.startswith("-")), "check")
        return first if first in _RUFF_SUBCOMMANDS else "check"  # `ruff .` is ruff check

    @property
    def paths(self) -> tuple[str, ...]:
        """The positional arguments: what the command checks or collects."""
        return tuple(positionals(self.tool, self.args))

    def shown(self) -> str:
        """``pytest tests -m 'not slow'``, as a maintainer would type it."""
        return shlex.join([self.tool, *self.args])


# pre-commit's (identify's) file types, as suffixes.
_TYPE_SUFFIXES = {"python": (".py",), "pyi": (".pyi",), "jupyter": (".ipynb",)}
_PYTHON = (".py", ".pyi")
_PYTHON_AND_NOTEBOOKS = (".py", ".pyi", ".ipynb")


@dataclasses.dataclass(frozen=True)
class HookTool:
    """What a pre-commit hook id runs, for the stages that take their scope from it."""

    tool: str
    """``ruff``, ``black`` or ``mypy``."""
    subcommand: str | None
    """ruff's subcommand (``check``, ``format``); ``None`` for another tool."""
    suffixes: tuple[str, ...]
    """The files the hook's own manifest passes it (its ``types``), as suffixes."""
    role: str
    """``linter``, ``formatter`` or ``type checker``."""


HOOK_TOOLS: Mapping[str, HookTool] = {
    "ruff": HookTool("ruff", "check", _PYTHON_AND_NOTEBOOKS, "linter"),
    "ruff-check": HookTool("ruff", "check", _PYTHON_AND_NOTEBOOKS, "linter"),
    "ruff-format": HookTool("ruff", "format", _PYTHON_AND_NOTEBOOKS, "formatter"),
    "black": HookTool("black", None, _PYTHON, "formatter"),
    # black-jupyter formats notebooks too; lint's black checks the .py/.pyi files it is given
    # (notebooks need black[jupyter], which the project's lock may not hold).
    "black-jupyter": HookTool("black", None, _PYTHON, "formatter"),
    "mypy": HookTool("mypy", None, _PYTHON, "type checker"),
}
"""The hook ids lint, parity and ``init`` know, by id: the one table of them."""
TOOL_REPOS: Mapping[str, tuple[str, ...]] = {
    "ruff": ("astral-sh/ruff-pre-commit", "charliermarsh/ruff-pre-commit"),
    "mypy": ("pre-commit/mirrors-mypy",),
    "black": ("psf/black-pre-commit-mirror", "psf/black"),
}
"""The hook repositories whose rev pins each tool (ruff's moved from charliermarsh)."""
_VERSION = re.compile(r"^v?(?P<version>\d+(?:\.\d+)*(?:[a-z]+\d+)?(?:\.post\d+)?)$")


def hook_ids(tool: str, subcommand: str | None = None) -> tuple[str, ...]:
    """The hook ids that run *tool* (and, for ruff, *subcommand*): ``("ruff", "ruff-check")``."""
    return tuple(
        hook_id
        for hook_id, runs in HOOK_TOOLS.items()
        if runs.tool == tool and subcommand in (None, runs.subcommand)
    )


def repo_name(url: str) -> str:
    """``owner/name`` of a hook repository URL (``https://github.com/owner/name(.git)``)."""
    parts = url.rstrip("/").removesuffix(".git").split("/")
    return "/".join(parts[-2:]).lower()


@dataclasses.dataclass(frozen=True)
class Hook:
    """One hook of ``.pre-commit-config.yaml``, with what it passes and selects."""

    id: str
    repo: str
    rev: str
    args: tuple[str, ...] = ()
    files: str | None = None
    exclude: str | None = None
    types: tuple[str, ...] = ()
    additional_dependencies: tuple[str, ...] = ()
    frozen: str | None = None
    """The version a commit ``rev`` stands for, from ``# frozen: v0.9.1`` beside it."""
    line: int | None = dataclasses.field(default=None, compare=False)
    """The 1-based line of its repository's ``rev:`` (where a finding about the pin points)."""

    @property
    def runs(self) -> HookTool | None:
        """What the hook runs, where :data:`HOOK_TOOLS` knows its id."""
        return HOOK_TOOLS.get(self.id)

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The file suffixes pre-commit passes the hook: its ``types`` or its manifest's."""
        chosen = [_TYPE_SUFFIXES[t] for t in self.types if t in _TYPE_SUFFIXES]
        if chosen:
            return tuple(s for group in chosen for s in group)
        return self.runs.suffixes if self.runs else _PYTHON

    @property
    def version(self) -> str | None:
        """The tool version the hook runs (``0.9.1``), from its rev or its frozen comment."""
        for candidate in (self.rev, self.frozen or ""):
            match = _VERSION.match(candidate.strip())
            if match:
                return match["version"]
        return None


@dataclasses.dataclass(frozen=True)
class OwnCommands:
    """Everything :func:`read` found: commands, hooks, and what it skipped (and why)."""

    commands: tuple[Command, ...] = ()
    hooks: tuple[Hook, ...] = ()
    sources: tuple[str, ...] = ()
    """The files it read a command or hook from."""
    skipped: tuple[str, ...] = ()
    """``tox.toml: not valid TOML``: what could not be read, said rather than fatal."""

    def of(self, tool: str) -> tuple[Command, ...]:
        """The commands running *tool*."""
        return tuple(c for c in self.commands if c.tool == tool)

    def hook(self, *ids: str) -> Hook | None:
        """The first hook with one of *ids*."""
        return next((h for h in self.hooks if h.id in ids), None)

    @property
    def empty(self) -> bool:
        """Nothing of the project's own was found: sessions use their defaults."""
        return not self.commands and not self.hooks


# -- the project's files, read tolerantly: one home for every reader of them ----------------


def text(root: Path, name: str) -> str | None:
    """The text of the project's file *name* (relative to *root*); ``None``: absent or unreadable.

    Unreadable is not this reader's error to raise: the check that owns the file (config
    loading, lint's workflow check) reports it; a reader of evidence takes it as absent.
    """
    return _looked("text", root / name)


def _file_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


_LOOKS: dict[str, Callable[[Path], object]] = {
    "text": _file_text,
    "dir": Path.is_dir,
    "exists": Path.exists,
}
"""What the readers ask of a path; :func:`read` asks again to know its answer still holds."""

_SEEN: contextvars.ContextVar[dict[tuple[str, Path], object] | None] = contextvars.ContextVar(
    "own_commands_seen", default=None
)
"""While :func:`read` reads: every question it asked of a path, with the answer."""


@typing.overload
def _looked(kind: Literal["text"], path: Path) -> str | None: ...
@typing.overload
def _looked(kind: Literal["dir", "exists"], path: Path) -> bool: ...
def _looked(kind: str, path: Path) -> object:
    """:data:`_LOOKS`' *kind* of *path*, noted for :func:`read` while it reads."""
    found = _LOOKS[kind](path)
    seen = _SEEN.get()
    if seen is not None:
        seen.setdefault((kind, path), found)
    return found


def parse_toml(source: str) -> dict[str, Any]:
    """``tomllib.loads(source)``, parsed once per text: a fresh copy for each caller.

    One nox start reads ``pyproject.toml`` a dozen times (the configuration, pytest's,
    coverage's, the own commands'); a copy costs a tenth of a parse. Not TOML: raises
    :class:`tomllib.TOMLDecodeError`, as ``tomllib.loads`` does.
    """
    return copy.deepcopy(_parsed(source))


@functools.lru_cache(maxsize=8)
def _parsed(source: str) -> dict[str, Any]:
    return tomllib.loads(source)


def toml(root: Path, name: str, skipped: list[str] | None = None) -> dict[str, Any]:
    """The project's TOML file *name*, parsed; ``{}`` if absent or not TOML (said in *skipped*)."""
    found = text(root, name)
    if found is None:
        return {}
    try:
        return parse_toml(found)
    except tomllib.TOMLDecodeError:
        if skipped is not None:
            skipped.append(f"{name}: not valid TOML")
        return {}


def ini(
    root: Path, name: str, skipped: list[str] | None = None
) -> configparser.ConfigParser | None:
    """The project's INI file *name* (``tox.ini``, ``setup.cfg``), without interpolation.

    As pytest, tox and coverage read one. ``None`` when it is absent, or not INI (said in
    *skipped*).
    """
    found = text(root, name)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(found or "", source=name)
    except configparser.Error:
        found = None
    if found is None:
        if skipped is not None and _looked("exists", root / name):
            skipped.append(f"{name}: not readable as INI")
        return None
    return parser


def pyproject(root: Path) -> dict[str, Any]:
    """The project's ``pyproject.toml``, parsed; ``{}`` when it is absent or not TOML."""
    return toml(root, "pyproject.toml")


def table(source: Path | Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The table at *keys* (``"tool", "coverage", "run"``) of the project's ``pyproject.toml``.

    *source* is the project's root, or a document already parsed. ``{}`` where any part
    of the path is absent or is not a table: a value of the wrong type is no table.
    """
    found: object = pyproject(source) if isinstance(source, Path) else source
    for key in keys:
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else {}


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def _segments(words: Sequence[str]) -> Iterator[list[str]]:
    current: list[str] = []
    for word in words:
        if word in _SEPARATORS:
            yield current
            current = []
        else:
            current.append(word)
    yield current


@dataclasses.dataclass
class _Env:
    extras: list[str] = dataclasses.field(default_factory=list)
    all_extras: bool = False
    groups: list[str] = dataclasses.field(default_factory=list)
    env: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    deps: list[str] = dataclasses.field(default_factory=list)
    editable: bool = False


_EDITABLE_PACKAGES = frozenset({"editable", "editable-legacy"})


def _unwrap(words: list[str], env: _Env) -> list[str]:
    """*words* without the runners before the tool (``uv run --extra x``, ``python -m``)."""
    rest = list(words)
    while rest:
        head = rest[0]
        if _ASSIGNMENT.match(head):
            name, _, value = head.partition("=")
            env.env.append((name, value))
            rest.pop(0)
        elif head == "hatch" and rest[1:2] == ["test"]:
            # hatch's own pytest env; what follows `--` is pytest's.
            cut = rest.index("--") + 1 if "--" in rest else len(rest)
            return ["pytest", *rest[cut:]]
        elif head in _WRAPPERS or head.endswith(("/uv", "/poetry")):
            rest.pop(0)
            if rest and rest[0] in ("run", "exec", "tool"):
                rest.pop(0)
                if rest and rest[0] == "run":  # uv tool run
                    rest.pop(0)
            rest = _uv_flags(rest, env)
        elif (
            head.startswith("python")
            or head.endswith(("/python", "/python3"))
            or (head in _TOX_PYTHONS)
        ):
            if len(rest) > 2 and rest[1] == "-m":  # noqa: PLR2004 - python -m tool
                rest = rest[2:]
            else:
                return []
        elif head == "coverage" and rest[1:2] == ["run"] and "-m" in rest:
            rest = rest[rest.index("-m") + 1 :]  # coverage run --append --source=x -m pytest
        else:
            return rest
    return rest


def _uv_flags(words: list[str], env: _Env) -> list[str]:
    """Read and drop uv run's (and its kind's) flags before the command."""
    rest = list(words)
    while rest and rest[0].startswith("-"):
        flag, _, inline = rest.pop(0).partition("=")
        value = inline or (rest.pop(0) if flag in _UV_VALUE_FLAGS and rest else "")
        if flag == "--all-extras":
            env.all_extras = True
        elif flag == "--extra" and value:
            env.extras.append(value)
        elif flag in ("--group", "--only-group") and value:
            env.groups.append(value)
    if rest and rest[0] == "--":
        rest.pop(0)
    return rest


def parse_line(
    line: str,
    source: str,
    base: _Env | None = None,
    run: Sequence[str] = (),
    python: str | None = None,
) -> list[Command]:
    """The tool commands one shell line runs (``cd docs && uv run pytest -x``).

    *run* is how a maintainer runs the line (its recipe, tox env, workflow step), *python*
    the interpreter that environment names. tox's ``{posargs:tests}`` is its default,
    ``tests``: what runs when nothing is passed.
    """
    found: list[Command] = []
    line = _POSARGS.sub(lambda m: m[1] or "", line)
    for segment in _segments(_words(line)):
        env = dataclasses.replace(base) if base else _Env()
        env.extras, env.groups, env.env = list(env.extras), list(env.groups), list(env.env)
        env.deps = list(env.deps)
        words = _unwrap(segment, env)
        if not words:
            continue
        if "hatch" in segment and segment[segment.index("hatch") + 1 :][:1] == ["test"]:
            run = ("hatch", "test", "--python", PYTHON_PLACEHOLDER)  # on the Python compared
        name = _TOOL_NAMES.get(Path(words[0]).name)
        if name is None:
            continue
        args = tuple(w for w in words[1:] if w and not _PLACEHOLDERS.match(w))
        found.append(
            Command(
                name, args, source, tuple(dict.fromkeys(env.extras)), env.all_extras,
                tuple(dict.fromkeys(env.groups)), tuple(env.env), tuple(run), python,
                tuple(dict.fromkeys(env.deps)), env.editable,
            )
        )  # fmt: skip
    return found


_RUFF_SUBCOMMANDS = frozenset({"check", "format", "rule", "config", "linter", "clean", "server"})
# Options of each tool that take a value, so a value is not taken for a path.
_VALUE_OPTIONS = {
    "pytest": frozenset(
        {"-m", "-k", "-p", "-c", "-o", "-n", "-W", "--ignore", "--ignore-glob", "--deselect",
         "--rootdir", "--confcutdir", "--maxfail", "--junitxml", "--cov", "--cov-report",
         "--cov-config", "--durations", "--tb", "-r", "--reruns", "--dist", "--basetemp",
         "--import-mode", "--log-level", "--timeout", "--numprocesses", "--cov-fail-under",
         "--cov-context", "--junit-prefix", "--log-file", "--log-cli-level", "--override-ini",
         "--capture", "--color", "--durations-min", "--maxprocesses", "--tx"}
    ),
    "ruff": frozenset(
        {"--config", "--select", "--ignore", "--extend-select", "--exclude", "--target-version",
         "--line-length", "--output-format", "--extend-exclude", "--stdin-filename"}
    ),
    "black": frozenset(
        {"--config", "-l", "--line-length", "-t", "--target-version", "--include",
         "--exclude", "--extend-exclude", "--force-exclude", "--required-version"}
    ),
    # `--config`: argparse's abbreviation of `--config-file`, as projects write it.
    "mypy": frozenset(
        {"--config-file", "--config", "-p", "--package", "-m", "--module", "--python-version"}
    ),
}  # fmt: skip


def positionals(tool: str, args: Sequence[str]) -> Iterator[str]:
    """The positional arguments of *tool*'s *args* (ruff's subcommand left out)."""
    takes_value = _VALUE_OPTIONS.get(tool, frozenset())
    skip = False
    subcommand_seen = tool != "ruff"
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in takes_value
        elif not subcommand_seen:
            subcommand_seen = True
            if arg not in _RUFF_SUBCOMMANDS:  # `ruff src`: ruff check's path
                yield arg
        else:
            yield arg


@dataclasses.dataclass(frozen=True)
class Job:
    """One job of one of the project's workflows, as its YAML says (every plain scalar a string).

    Strings because a workflow's values are strings to GitHub: ``python-version: 3.10`` is
    ``"3.10"``, not the float 3.1. ``null`` is ``None``; YAML's ``<<`` merge keys are merged.
    """

    workflow: str
    """``.github/workflows/tests.yml``."""
    id: str
    data: Mapping[str, Any]

    @property
    def steps(self) -> tuple[Mapping[str, Any], ...]:
        """The job's steps (those that are mappings)."""
        steps = self.data.get("steps")
        return tuple(s for s in steps if isinstance(s, dict)) if isinstance(steps, list) else ()

    @property
    def matrix(self) -> Mapping[str, Any]:
        """``strategy.matrix``; ``{}`` where there is none (or it is an expression)."""
        strategy = self.data.get("strategy")
        found = strategy.get("matrix") if isinstance(strategy, dict) else None
        return found if isinstance(found, dict) else {}


def _string_loader() -> type:
    """PyYAML's safe loader resolving no plain scalar but ``null`` and the ``<<`` merge key."""
    import yaml  # noqa: PLC0415 - read only where the project has workflows

    # libyaml's parser where PyYAML has it (its wheels do): the same documents, ~5x faster
    # on the workflows every nox start reads; resolving stays Python's, so the table holds.
    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag.endswith((":null", ":merge"))]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def workflow_jobs(
    root: Path, skipped: list[str] | None = None, *, generated_too: bool = True
) -> tuple[Job, ...]:
    """Every job of the project's workflows, in file order.

    A file that is not YAML, or has no ``jobs`` mapping, is said in *skipped*
    (``.github/workflows/x.yml: not readable YAML``) and left out, never fatal.
    ``generated_too=False`` leaves out the workflows ``ci-tasks init`` wrote (unparsed):
    their jobs run ci_tasks' sessions, never a command of the project's own.
    """
    import yaml  # noqa: PLC0415 - read only where the project has workflows

    loader = _string_loader()
    found: list[Job] = []
    for path in workflow_files(root):
        rel = path.relative_to(root).as_posix()
        source = text(root, rel)
        if not generated_too and source is not None and generated(source):
            continue
        try:
            data = yaml.load(source, Loader=loader) if source is not None else None  # noqa: S506  # nosec B506 - a SafeLoader
        except yaml.YAMLError:
            source = None
        if source is None:
            if skipped is not None:
                skipped.append(f"{rel}: not readable YAML")
            continue
        jobs = data.get("jobs") if isinstance(data, dict) else None
        if data is not None and not isinstance(jobs, dict):
            if skipped is not None:
                skipped.append(f"{rel}: no jobs mapping, not read")
            continue
        found += [Job(rel, str(k), v) for k, v in (jobs or {}).items() if isinstance(v, dict)]
    return tuple(found)


def _workflows(root: Path, skipped: list[str]) -> Iterator[Command]:
    for job in workflow_jobs(root, skipped, generated_too=False):
        installs: list[str] = []  # what the job installed before a line runs
        installed = _Env()  # and what those installs put in the environment
        for step in job.steps:
            run = step.get("run")
            if isinstance(run, str) and _here(root, job.data, step):
                for line in _logical_lines(run):
                    for expanded in _with_matrix(line, job.data):
                        replay = ("bash", "-ec", "\n".join([*installs, expanded]))
                        where = f"{job.workflow} job {job.id!r}"
                        yield from _followed(root, expanded, where, replay, base=installed)
                    if _INSTALL.search(line) and "--system" not in line:
                        installs.append(line)
                        _read_install(root, line, installed)


def _here(root: Path, job: Mapping[str, Any], step: Mapping[str, Any]) -> bool:
    """Whether *step* runs in this project: not in another repository's checkout."""
    defaults = job.get("defaults")
    job_run = defaults.get("run") if isinstance(defaults, dict) else None
    folder = step.get("working-directory") or (
        job_run.get("working-directory") if isinstance(job_run, dict) else None
    )
    return not isinstance(folder, str) or "${{" in folder or _looked("dir", root / folder)


def _read_install(root: Path, line: str, env: _Env, depth: int = 0) -> None:
    """What an install line puts in the environment, into *env* (a script's, one level).

    ``pip install -r requirements.txt`` (its requirements, and the extras of its ``-e
    .[x,y]``), ``pip install -e .[test] pytest-cov``, ``uv sync --group test --extra x``.
    """
    for segment in _segments(_words(line)):
        script = _script(root, segment[0]) if segment and depth == 0 else None
        if script is not None:
            for inner in _script_lines(script):
                if _INSTALL.search(inner):
                    _read_install(root, inner, env, depth + 1)
        elif segment[:2] == ["poetry", "install"]:
            env.deps += _poetry_groups(pyproject(root))
        elif "sync" in segment:
            _uv_flags(segment[segment.index("sync") + 1 :], env)
        elif "install" in segment:
            _install_words(root, segment[segment.index("install") + 1 :], env)


def _install_words(root: Path, words: Sequence[str], env: _Env) -> None:
    """``pip install``'s arguments: requirement files, requirements, the project's extras."""
    for index, word in enumerate(words):
        if word in ("-r", "--requirement") and index + 1 < len(words):
            _requirement_file(root, words[index + 1], env)
        elif word.startswith("-r") and len(word) > 2:  # noqa: PLR2004 - `-rfile`
            _requirement_file(root, word[2:], env)
        elif _REQUIREMENT.match(word) and words[index - 1 : index] != ["-r"]:
            env.deps.append(word)
        else:
            _local_extras(word, env)


def _poetry_groups(pyproject: Mapping[str, Any]) -> list[str]:
    """What ``poetry install`` adds: every group not ``optional = true``, as requirements."""
    found: list[str] = []
    for group in table(pyproject, "tool", "poetry", "group").values():
        if not isinstance(group, dict) or group.get("optional") is True:
            continue
        for name, spec in (group.get("dependencies") or {}).items():
            requirement = _poetry_requirement(str(name), spec)
            if requirement is not None:
                found.append(requirement)
    return found


def _poetry_requirement(name: str, spec: object) -> str | None:
    """Poetry's ``pytest = "^7.0"`` (or a table with ``version``/``markers``) as PEP 508."""
    markers = ""
    if isinstance(spec, dict):
        if any(k in spec for k in ("path", "git", "url")):
            return None  # not a package from the index
        markers = f"; {spec['markers']}" if isinstance(spec.get("markers"), str) else ""
        spec = spec.get("version", "*")
    if not isinstance(spec, str):
        return None
    parts = [_poetry_constraint(p.strip()) for p in spec.split(",") if p.strip()]
    if any(p is None for p in parts):
        return None
    version = ",".join(p for p in parts if p)
    return f"{name}{version}{markers}"


def _poetry_constraint(part: str) -> str | None:
    """One of Poetry's constraints in PEP 440: ``^1.2`` is ``>=1.2,<2``, ``~1.2`` ``>=1.2,<1.3``."""
    if part == "*":
        return ""
    caret = re.fullmatch(r"\^(\d+(?:\.\d+)*)", part)
    tilde = re.fullmatch(r"~(\d+(?:\.\d+)*)", part)
    if caret or tilde:
        base = (caret or tilde)[1]  # type: ignore[index]
        numbers = [int(n) for n in base.split(".")]
        if caret:
            first = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
        else:
            first = min(1, len(numbers) - 1) if len(numbers) > 1 else 0
        upper = [*numbers[:first], numbers[first] + 1]
        return f">={base},<{'.'.join(map(str, upper))}"
    if re.fullmatch(r"(==|!=|<=|>=|<|>|~=)\s*\d[\w.*+!-]*", part):
        return part.replace(" ", "")
    if re.fullmatch(r"\d[\w.*+!-]*", part):
        return f"=={part}"
    return None


def _local_extras(word: str, env: _Env) -> None:
    """The extras of an install of the project itself: ``.[test,cli]``, ``-e .[x]``."""
    match = re.match(r"^\.\[([^\]]+)\]$", word.strip("'\""))
    if match:
        env.extras += [e.strip() for e in match[1].split(",") if e.strip()]


def _requirement_file(root: Path, name: str, env: _Env) -> None:
    """A requirements file's requirements (and its ``-e .[x]`` extras), into *env*.

    One level: a ``-r`` inside it is not followed. A name with a shell or tox substitution
    (``$REQUIREMENTS``, ``{toxinidir}``) is not read.
    """
    found = None if "$" in name or "{" in name else text(root, name)
    for raw in (found or "").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line.startswith(("-e ", "-e.")):
            _local_extras(line.removeprefix("-e").strip(), env)
        elif _REQUIREMENT.match(line) and "{" not in line:
            env.deps.append(line)


_MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}")
_MATRIX_LINES = 24


def _with_matrix(line: str, job: Mapping[str, Any]) -> list[str]:
    """*line* once per value of the matrix keys it names (``poe ${{ matrix.task }}``).

    A Python key's values become :data:`PYTHON_PLACEHOLDER`: which Python runs is the
    comparer's choice, not the line's.
    """
    names = list(dict.fromkeys(_MATRIX_REF.findall(line)))
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not names or not isinstance(matrix, dict):
        return [line]
    lines = [line]
    for name in names:
        values = matrix.get(name)
        includes = matrix.get("include")
        extra = (
            [i.get(name) for i in includes if isinstance(i, dict)]
            if isinstance(includes, list)
            else []
        )
        listed = [*(values if isinstance(values, list) else []), *extra]
        choices = [str(v) for v in listed if v not in (None, "")]
        choices = list(dict.fromkeys(choices))[:_MATRIX_LINES]
        if "python" in name and choices:
            choices = [PYTHON_PLACEHOLDER]
        if not choices:
            continue
        pattern = re.compile(r"\$\{\{\s*matrix\." + re.escape(name) + r"\s*\}\}")
        lines = [pattern.sub(choice, old) for old in lines for choice in choices][:_MATRIX_LINES]
    return lines


# A workflow line that builds the environment later lines run in.
_INSTALL = re.compile(
    r"^(?!sudo |apt|brew |choco )"  # the machine's packages are the runner image's business
    r".*(\b(pip3?[\"']?\s+install|uv (pip install|sync)|poetry install|pdm (install|sync))\b"
    r"|(^|/)install(\s|$))"  # the project's own install script: scripts/install
)


def _logical_lines(text: str) -> Iterator[str]:
    """*text*'s lines with backslash continuations joined."""
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


_SHELLS = frozenset({"sh", "bash", "zsh", "source", "."})
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_EXPORT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_MAX_DEPTH = 3


def _followed(
    root: Path,
    line: str,
    source: str,
    run: Sequence[str],
    *,
    depth: int = 0,
    base: _Env | None = None,
) -> Iterator[Command]:
    """The commands of *line*, and of what of the project's own it runs.

    The project's scripts (``scripts/check``), Makefile and Justfile recipes (``make
    check``) and poe tasks (``poe test``) are read in its place; a script's lines with its
    own variables expanded (``$SOURCE_FILES``). They are run as *line* is (the recipe or
    workflow step that runs them).
    """
    for segment in _segments(_words(line)):
        words = segment[1:] if segment[:1] and segment[0] in _SHELLS else segment
        if depth >= _MAX_DEPTH or not words:
            yield from parse_line(shlex.join(segment), source, base, run)
            continue
        delegated = list(_delegated(root, _unwrap(list(words), _Env())))
        script = _script(root, words[0])
        if delegated:
            for inner_where, inner_line in delegated:
                where = f"{inner_where} (run by {source})"
                yield from _followed(root, inner_line, where, run, depth=depth + 1, base=base)
        elif script is not None:
            where = f"{script.relative_to(root).as_posix()} (run by {source})"
            for inner_line in _script_lines(script):
                yield from _followed(root, inner_line, where, run, depth=depth + 1, base=base)
        else:
            yield from parse_line(shlex.join(segment), source, base, run)


def _delegated(root: Path, words: Sequence[str]) -> Iterator[tuple[str, str]]:
    """``(where, line)`` of the recipe or poe task *words* run (``make check``, ``poe test``)."""
    runner = Path(words[0]).name if words else ""
    if runner in _RECIPE_FILES and len(words) > 1:
        kind = _RECIPE_FILES[runner][1]
        targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        for name, recipe, recipe_line in _recipe_lines(root, runner):
            if recipe in targets:
                yield f"{name} {kind} {recipe!r}", recipe_line
    elif runner == "poe" and len(words) > 1:
        for task_line in _poe_lines(pyproject(root), words[1]):
            yield f"pyproject.toml poe task {words[1]!r}", task_line


def _script_lines(script: Path) -> Iterator[str]:
    """A shell script's lines, its own variables expanded (``$SOURCE_FILES``)."""
    lines = text(script.parent, script.name)
    if lines is None:
        return
    variables: dict[str, str] = {}
    for raw in _logical_lines(lines):
        assigned = _EXPORT.match(raw)
        if assigned and assigned[1] not in variables:
            variables[assigned[1]] = " ".join(_words(assigned[2]))
            continue
        yield _VARIABLE.sub(functools.partial(_expand, variables), raw).strip()


def _poe_lines(pyproject: Mapping[str, Any], name: str, depth: int = 0) -> list[str]:
    """The shell lines poethepoet's task *name* runs: its ``cmd``, or its sequence's."""
    tasks = table(pyproject, "tool", "poe", "tasks")
    task = tasks.get(name) if depth < _MAX_DEPTH else None
    if isinstance(task, str):
        return [task]
    if isinstance(task, dict):
        for key in ("cmd", "shell"):
            if isinstance(task.get(key), str):
                return [task[key]]
        task = task.get("sequence")
    lines: list[str] = []
    for step in task if isinstance(task, list) else ():
        if isinstance(step, str):  # a sequence of task names
            lines += _poe_lines(pyproject, step, depth + 1)
        elif isinstance(step, dict):
            lines += [step[k] for k in ("cmd", "shell") if isinstance(step.get(k), str)]
            ref = step.get("ref")
            lines += _poe_lines(pyproject, ref, depth + 1) if isinstance(ref, str) else []
    return lines


def _expand(variables: Mapping[str, str], match: re.Match[str]) -> str:
    return variables.get(match[1], match[0])


def _script(root: Path, word: str) -> Path | None:
    """The project's own script *word* names (``./scripts/test``), if it is one."""
    if "/" not in word or word.startswith(("/", "-")) or "$" in word:
        return None
    path = (root / word).resolve()
    if not path.is_relative_to(root.resolve()) or text(path.parent, path.name) is None:
        return None
    return None if path.suffix in (".py", ".toml", ".cfg", ".txt") else path


def _braces(text: str) -> list[str]:
    """Brace expansion as tox does it: ``py3{9,10}`` is ``py39``, ``py310``; ``{0-2}`` a range."""
    match = re.search(r"\{([^{}]*)\}", text)
    if match is None:
        return [text]
    head, tail = text[: match.start()], text[match.end() :]
    expanded: list[str] = []
    for part in match[1].split(","):
        span = re.fullmatch(r"\s*(\d+)-(\d+)\s*", part)
        items = [str(i) for i in range(int(span[1]), int(span[2]) + 1)] if span else [part.strip()]
        for item in items:
            expanded += _braces(head + item + tail)
    return expanded


_FACTOR_LINE = re.compile(r"^([A-Za-z0-9_.{},!-]+):(?:\s+(.*))?$")


def _applies(condition: str, factors: frozenset[str]) -> bool:
    """Whether tox's ``tests,py311-cov:`` condition holds for an env of *factors*."""
    for alternative in _braces(condition):
        for option in alternative.split(","):
            parts = [p for p in option.strip().split("-") if p]
            if parts and all(
                (p[1:] not in factors) if p[0] == "!" else (p in factors) for p in parts
            ):
                return True
    return False


def _for_env(text: str, factors: frozenset[str]) -> str:
    """A tox setting's lines for an env of *factors*: ``tests: pytest`` only where it applies."""
    kept = []
    for raw in _logical_lines(text):
        line = raw.strip()
        match = _FACTOR_LINE.match(line)
        if match is None or "://" in line:
            kept.append(line)
        elif _applies(match[1], factors):
            kept.append(match[2] or "")
    return "\n".join(kept)


def _python_of(name: str) -> str | None:
    """The interpreter a tox env name asks for: ``py311``, ``3.11-tests`` → ``3.11``."""
    for factor in name.split("-"):
        cpython = re.fullmatch(r"(?:py)?3\.?(\d{1,2})t?", factor)
        if cpython:
            return f"3.{cpython[1]}"
        pypy = re.fullmatch(r"pypy3\.?(\d*)", factor)
        if pypy:
            return f"pypy3.{pypy[1]}" if pypy[1] else "pypy3"
    return None


def _env_names(declared: Iterable[str], sections: Iterable[str]) -> list[str]:
    """Every tox env: those ``env_list`` declares, then those only a section names."""
    names: list[str] = []
    for item in [*declared, *sections]:
        names += [n for n in _braces(item.strip()) if n and n not in names]
    return names or ["py"]


def _tox_ini(root: Path, name: str, section_prefix: str, skipped: list[str]) -> Iterator[Command]:
    parser = ini(root, name, skipped)
    if parser is None:
        return
    testenv = f"{section_prefix}testenv"
    base = parser[testenv] if parser.has_section(testenv) else {}
    core = parser[f"{section_prefix}tox"] if parser.has_section(f"{section_prefix}tox") else {}
    declared = _env_list(str(core.get("env_list", core.get("envlist", ""))))
    named = {
        section: _braces(section.removeprefix(f"{testenv}:"))
        for section in parser.sections()
        if section.startswith(f"{testenv}:")
    }
    for env_name in _env_names(declared, [s.removeprefix(f"{testenv}:") for s in named]):
        section = next((s for s, names in named.items() if env_name in names), None)
        values = parser[section] if section else base
        factors = frozenset(env_name.split("-"))

        def value(key: str, values: Any = values, factors: frozenset[str] = factors) -> str:
            return _for_env(str(values.get(key, base.get(key, ""))), factors)

        env = _Env(extras=_list(value("extras")), groups=_list(value("dependency_groups")))
        env.deps = _requirements(root, value("deps").splitlines())
        env.editable = (
            value("usedevelop").strip().lower() in ("true", "1", "yes")
            or value("package").strip() in _EDITABLE_PACKAGES
        )
        setenv = value("set_env") or value("setenv")
        env.env = [tuple(line.split("=", 1)) for line in _list(setenv) if "=" in line]  # type: ignore[misc]
        source = f"{name} [{section or testenv}]"
        run = ("tox", "run", "-e", env_name)
        for line in value("commands").splitlines():
            yield from parse_line(line.strip().lstrip("-"), source, env, run, _python_of(env_name))


# A requirement as tox's deps and session.install name one: a name, extras, a version.
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._ -]+\])?\s*([<>=!~;].*)?$")


def _requirements(root: Path, lines: Iterable[str]) -> list[str]:
    """The requirements of tox's ``deps`` lines, a ``-r file`` read in place (one level).

    Paths, URLs, options and tox substitutions are not requirements of the tests' group.
    """
    found: list[str] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        included = re.match(r"^-r\s*(\S+)$", line)
        if included:
            read = _Env()
            _requirement_file(root, included[1], read)
            found += read.deps  # tox's deps install the file's requirements, not extras
        elif _REQUIREMENT.match(line) and "{" not in line:
            found.append(line)
    return found


def _env_list(text: str) -> list[str]:
    """tox.ini's ``env_list``: names split at commas and lines, but not inside braces."""
    names, current, depth = [], "", 0
    for char in "\n".join(line.split("#", 1)[0] for line in text.splitlines()):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char in ",\n" and depth == 0:
            names.append(current.strip())
            current = ""
        else:
            current += char
    return [n for n in [*names, current.strip()] if n]


def _list(text: str) -> list[str]:
    return [
        w.strip() for w in re.split(r"[\n,]", text) if w.strip() and not w.strip().startswith("#")
    ]


def _tox_toml(root: Path, skipped: list[str]) -> Iterator[Command]:
    tables: list[tuple[str, Mapping[str, Any]]] = []
    own = toml(root, "tox.toml", skipped)
    if own:
        tables.append(("tox.toml", own))
    tox = table(root, "tool", "tox")
    if tox:
        if "legacy_tox_ini" in tox:
            skipped.append("pyproject.toml [tool.tox] legacy_tox_ini: read as tox.ini is not")
        tables.append(("pyproject.toml [tool.tox]", tox))
    for where, config in tables:
        base = config.get("env_run_base", {})
        own_envs = {k: v for k, v in (config.get("env") or {}).items() if isinstance(v, dict)}
        declared = [str(e) for e in config.get("env_list") or () if isinstance(e, str)]
        for env_name in _env_names(declared, own_envs):
            merged = {**base, **own_envs.get(env_name, {})}
            env = _Env(
                extras=[str(e) for e in merged.get("extras") or ()],
                groups=[str(g) for g in merged.get("dependency_groups") or ()],
                env=[
                    (str(k), v)
                    for k, v in (merged.get("set_env") or {}).items()
                    if isinstance(v, str)  # a {replace = "env", ...} is tox's to work out
                ],
                deps=_requirements(root, [str(d) for d in merged.get("deps") or ()]),
                editable=merged.get("use_develop") is True
                or merged.get("package") in _EDITABLE_PACKAGES,
            )
            source = f"{where} {'env.' + env_name if env_name in own_envs else 'env_run_base'}"
            run = ("tox", "run", "-e", env_name)
            for command in merged.get("commands") or ():
                if isinstance(command, list):
                    words = [w for item in command for w in _toml_words(item)]
                    yield from parse_line(shlex.join(words), source, env, run, _python_of(env_name))


def _toml_words(item: object) -> list[str]:
    """A word of a tox.toml command; ``{replace = "posargs", default = [...]}`` is its default."""
    if isinstance(item, str):
        return [item]
    if isinstance(item, dict) and item.get("replace") == "posargs":
        default = item.get("default")
        return [str(w) for w in default] if isinstance(default, list) else []
    return []


def _hatch(root: Path) -> Iterator[Command]:
    envs = table(root, "tool", "hatch", "envs")
    for name, env_table in envs.items():
        if not isinstance(env_table, dict):
            continue
        features = [str(f) for f in env_table.get("features") or ()]
        groups = [str(g) for g in env_table.get("dependency-groups") or ()]
        env = _Env(
            extras=features,
            groups=groups,
            env=[(str(k), str(v)) for k, v in (env_table.get("env-vars") or {}).items()],
        )
        for script, lines in (env_table.get("scripts") or {}).items():
            for line in [lines] if isinstance(lines, str) else lines or ():
                if isinstance(line, str):
                    where = f"pyproject.toml hatch env {name!r} script {script!r}"
                    yield from parse_line(line, where, env, ("hatch", "run", f"{name}:{script}"))


_RECIPE = re.compile(r"^(?:@?\[[^\]]*\]\s*)*@?([A-Za-z0-9_][A-Za-z0-9_.-]*)(?:\s+[^:=]*)?:(?!=)")


_RECIPE_FILES = {
    "just": (("justfile", "Justfile", ".justfile"), "recipe"),
    "make": (("Makefile", "makefile", "GNUmakefile"), "target"),
}


def _recipe_lines(root: Path, runner: str) -> Iterator[tuple[str, str, str]]:
    """``(file, recipe, line)`` for every line of every recipe of *runner*'s file."""
    for name in _RECIPE_FILES[runner][0]:
        found = text(root, name)
        if found is None:
            continue
        recipe = None
        for line in _logical_lines(found):
            if line[:1] in ("\t", " "):
                if recipe is not None:
                    yield name, recipe, line.strip().lstrip("@-")
                continue
            match = _RECIPE.match(line)
            recipe = match[1] if match else None


def _recipes(root: Path, runner: str) -> Iterator[Command]:
    """Justfile and Makefile recipes: indented lines under ``name:``."""
    kind = _RECIPE_FILES[runner][1]
    for name, recipe, line in _recipe_lines(root, runner):
        yield from _followed(root, line, f"{name} {kind} {recipe!r}", (runner, recipe))


def _nox(root: Path, skipped: list[str]) -> Iterator[Command]:
    """``session.run(...)`` calls, per session function, their arguments as they read.

    An argument is a literal or a module-level constant :func:`_nox_constants` resolves
    (``PACKAGE = ROOT / "src"``); any other argument is left out.
    """
    code = text(root, "noxfile.py")
    if code is None:
        if _looked("exists", root / "noxfile.py"):
            skipped.append("noxfile.py: not readable Python")
        return
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        skipped.append("noxfile.py: not readable Python")
        return
    constants = _nox_constants(tree)
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            env, runs = _session_calls(root, function, constants)
            source = f"noxfile.py session {function.name!r}"
            sessions = _nox_sessions(function)
            for words in runs:
                for run, python in sessions or [((), None)]:
                    yield from parse_line(shlex.join(words), source, env, run, python)


def _nox_sessions(function: ast.FunctionDef) -> list[tuple[tuple[str, ...], str | None]]:
    """How nox runs *function*'s session, per Python: ``nox -s tests-3.11``; none if no session.

    Any decorator named ``session`` counts (``@nox.session``, a project's own wrapper);
    its ``name=`` and ``python=`` are read where they are literals.
    """
    for decorator in function.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call else decorator
        named = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if named != "session":
            continue
        keywords = {k.arg: k.value for k in call.keywords} if call else {}
        name_node = keywords.get("name")
        name = str(name_node.value) if isinstance(name_node, ast.Constant) else function.name
        python = keywords.get("python")
        pythons: list[str] = []
        if isinstance(python, ast.Constant) and isinstance(python.value, str):
            pythons = [python.value]
        elif isinstance(python, ast.List | ast.Tuple):
            pythons = [
                e.value
                for e in python.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
        if not pythons:
            return [(("nox", "-s", str(name)), None)]
        return [(("nox", "-s", f"{name}-{p}"), str(p)) for p in pythons]
    return []


def _session_calls(
    root: Path, function: ast.FunctionDef, constants: Mapping[str, str | _NoxPath]
) -> tuple[_Env, list[list[str]]]:
    """What a session installs (its extras, ``uv sync`` flags) and the commands it runs."""
    env = _Env()
    runs: list[list[str]] = []
    for node in ast.walk(function):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        values = (_nox_value(a, constants) for a in node.args)
        words = [str(v) for v in values if v is not None]
        method = node.func.attr
        if method == "install":
            _install_words(root, words, env)
            _uv_flags([w for w in words if w.startswith("-")], env)
        elif method in ("run", "run_install") and words:
            if words[:2] == ["uv", "sync"]:
                _uv_flags(words[2:], env)
            else:
                runs.append(words)
    return env, runs


@dataclasses.dataclass(frozen=True)
class _NoxPath:
    """A path in the project, as a noxfile builds it: ``Path(__file__).parent / "src"``."""

    parts: tuple[str, ...]
    """Its parts from the project's root; ``()`` is the root."""

    def __str__(self) -> str:
        return "/".join(self.parts) or "."

    def joined(self, piece: object) -> _NoxPath | None:
        """``self / piece`` for a relative string *piece* that stays in the project."""
        if not isinstance(piece, str):
            return None
        path = PurePosixPath(piece)
        if path.is_absolute() or ".." in path.parts or "\\" in piece:
            return None
        return _NoxPath(self.parts + path.parts)


def _nox_bindings(tree: ast.Module) -> collections.Counter[str]:
    """How many times each name is bound anywhere in the noxfile.

    Assigned, imported, a parameter, a function, a loop's or a ``with``'s target.
    """
    bound: collections.Counter[str] = collections.Counter()
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            name = node.id
        elif isinstance(node, ast.arg):
            name = node.arg
        elif isinstance(node, ast.alias):
            name = (node.asname or node.name).split(".")[0]
        elif isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.ExceptHandler
        ):
            name = node.name
        if name:
            bound[name] += 1
    return bound


def _nox_constants(tree: ast.Module) -> dict[str, str | _NoxPath]:
    """The noxfile's module-level constants a session's arguments may name.

    Strings, and paths in the project (``ROOT = Path(__file__).parent``, ``SRC = ROOT /
    "src"``). Only a name bound once in the whole file counts: one assigned again, or
    also a local or a parameter somewhere, may hold another value when the session runs.
    """
    bound = _nox_bindings(tree)
    constants: dict[str, str | _NoxPath] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        names = [t.id for t in targets if isinstance(t, ast.Name) and bound[t.id] == 1]
        if len(names) != len(targets):  # `A, B = ...`, `x.y = ...`, a name bound again
            continue
        resolved = _nox_value(value, constants)
        if resolved is not None:
            constants.update(dict.fromkeys(names, resolved))
    return constants


def _nox_value(node: ast.expr, constants: Mapping[str, str | _NoxPath]) -> str | _NoxPath | None:
    """What *node* evaluates to when it is a string or a path in the project; else ``None``.

    Read: literals, *constants*, ``Path(__file__)`` (the noxfile, whose ``.parent`` is the
    root), ``Path("src")`` (nox runs sessions in the noxfile's folder), ``/``,
    ``.joinpath()``, ``.parent``, ``.resolve()``, ``.absolute()``, ``str()`` and f-strings
    of those. A path outside the project is not read: nothing is guessed.
    """
    value: str | _NoxPath | None = None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        value = node.value
    elif isinstance(node, ast.Name):
        value = constants.get(node.id)
    elif isinstance(node, ast.Attribute) and node.attr == "parent":
        base = _nox_value(node.value, constants)
        if isinstance(base, _NoxPath) and base.parts:
            value = _NoxPath(base.parts[:-1])
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left = _nox_value(node.left, constants)
        if isinstance(left, _NoxPath):
            value = left.joined(_nox_value(node.right, constants))
    elif isinstance(node, ast.JoinedStr):
        pieces = [
            # `{X}` as is; `{X!r}`, `{X:>8}` are not read (a FormattedValue reads as None).
            _nox_value(v.value if v.conversion == -1 and not v.format_spec else v, constants)
            if isinstance(v, ast.FormattedValue)
            else _nox_value(v, constants)
            for v in node.values
        ]
        value = None if None in pieces else "".join(str(p) for p in pieces)
    elif isinstance(node, ast.Call) and not node.keywords:
        value = _nox_call(node, constants)
    return value


def _nox_call(node: ast.Call, constants: Mapping[str, str | _NoxPath]) -> str | _NoxPath | None:
    """``Path(...)``, ``str(...)`` and a path's ``joinpath``/``resolve``/``absolute``."""
    func, args = node.func, node.args
    called = func.id if isinstance(func, ast.Name) else None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        called = "Path" if (func.value.id, func.attr) == ("pathlib", "Path") else None
    first = args[0] if len(args) == 1 else None
    if called == "str":
        value = _nox_value(first, constants) if first is not None else None
        return None if value is None else str(value)
    if called == "Path":
        if isinstance(first, ast.Name) and first.id == "__file__":
            return _NoxPath(("noxfile.py",))
        value = _nox_value(first, constants) if first is not None else None
        return _NoxPath(()).joined(value) if isinstance(value, str) else value
    base = _nox_value(func.value, constants) if isinstance(func, ast.Attribute) else None
    method = func.attr if isinstance(func, ast.Attribute) else ""
    if not isinstance(base, _NoxPath) or method not in ("resolve", "absolute", "joinpath"):
        return None
    joined: _NoxPath | None = base
    for arg in args:
        joined = joined.joined(_nox_value(arg, constants)) if joined is not None else None
    return joined if method == "joinpath" or not args else None


def frozen_versions(text: str) -> dict[str, str]:
    """``{commit: version}`` of a pre-commit config's ``rev: <sha>  # frozen: v0.9.1`` lines.

    ``pre-commit autoupdate --freeze`` writes a commit and, in a comment, its version.
    """
    found = re.findall(r"rev:\s*['\"]?([^\s'\"#]+)['\"]?\s*#\s*frozen:\s*(\S+)", text)
    return dict(found)


# What a hook runs with where the configuration gives it no ``args``: its manifest's (an
# ``args: []`` of the project's replaces them). By hook repository, then id.
_MANIFEST_ARGS = {("pre-commit/mirrors-mypy", "mypy"): ("--ignore-missing-imports",)}


def _hook_args(repo: str, hook: Mapping[str, Any]) -> tuple[str, ...]:
    if "args" not in hook:
        name = "/".join(repo.rstrip("/").removesuffix(".git").split("/")[-2:]).lower()
        return _MANIFEST_ARGS.get((name, str(hook["id"])), ())
    return tuple(str(a) for a in hook.get("args") or ())


def parse_hooks(text: str) -> tuple[Hook, ...]:
    """The hooks of a pre-commit configuration's *text*, in its order (pure).

    A repository or hook of another shape (not a mapping, no ``id``) is left out.
    Raises :class:`yaml.YAMLError` where *text* is not YAML.
    """
    import yaml  # noqa: PLC0415 - read only where a pre-commit configuration exists

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()  # one parse: its lines, and its data
        data = loader.construct_document(node) if node is not None else None  # type: ignore[no-untyped-call]
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]
    lines = _rev_lines(node)
    frozen = frozen_versions(text)
    found: list[Hook] = []
    top = data if isinstance(data, dict) else {}
    top_files, top_exclude = top.get("files") or None, top.get("exclude") or None
    repos = data.get("repos") if isinstance(data, dict) else None
    for index, repo in enumerate(repos if isinstance(repos, list) else ()):
        if not isinstance(repo, dict):
            continue
        rev = str(repo.get("rev", ""))
        for hook in repo.get("hooks") or ():
            if not isinstance(hook, dict) or not hook.get("id"):
                continue
            found.append(
                Hook(
                    str(hook["id"]),
                    str(repo.get("repo", "")),
                    rev,
                    _hook_args(str(repo.get("repo", "")), hook),
                    _both(top_files, hook.get("files")),
                    _either(top_exclude, hook.get("exclude")),
                    tuple(
                        str(t) for t in [*(hook.get("types") or ()), *(hook.get("types_or") or ())]
                    ),
                    tuple(str(d) for d in hook.get("additional_dependencies") or ()),
                    frozen.get(rev.strip()),
                    lines.get(index),
                )
            )
    return tuple(found)


_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def _scoped(pattern: str) -> str:
    """*pattern* as a group that keeps its leading flags (``(?x)`` becomes ``(?x:...)``)."""
    flags = _GLOBAL_FLAGS.match(pattern)
    body = pattern[flags.end() :] if flags else pattern
    return f"(?{flags[1]}:{body})" if flags else f"(?:{body})"


def _both(top: object, hook: object) -> str | None:
    """One pattern ``re.search`` finds where pre-commit's top-level ``files`` and the hook's do.

    pre-commit passes a hook a file both patterns find; with one of them unset, the other
    is kept as written.
    """
    given = [str(p) for p in (top, hook) if p]
    if len(given) < 2:  # noqa: PLR2004 - both
        return given[0] if given else None
    return "^" + "".join(rf"(?=[\s\S]*?{_scoped(p)})" for p in given)


def _either(top: object, hook: object) -> str | None:
    """One pattern ``re.search`` finds where the top-level ``exclude`` or the hook's does."""
    given = [str(p) for p in (top, hook) if p]
    if len(given) < 2:  # noqa: PLR2004 - both
        return given[0] if given else None
    return "|".join(_scoped(p) for p in given)


def _rev_lines(document: Any) -> dict[int, int]:
    """``{index of the repo: line of its rev}`` from the composed YAML node tree."""
    import yaml  # noqa: PLC0415

    lines: dict[int, int] = {}
    if not isinstance(document, yaml.MappingNode):
        return lines
    for key, value in document.value:
        if key.value != "repos" or not isinstance(value, yaml.SequenceNode):
            continue
        for index, item in enumerate(value.value):
            if not isinstance(item, yaml.MappingNode):
                continue
            for k, v in item.value:
                if k.value == "rev":
                    lines[index] = v.start_mark.line + 1
    return lines


PRE_COMMIT = ".pre-commit-config.yaml"


def hooks(root: Path, skipped: list[str] | None = None) -> tuple[Hook, ...]:
    """The hooks of the project's ``.pre-commit-config.yaml``; not YAML: said in *skipped*."""
    import yaml  # noqa: PLC0415

    skipped = [] if skipped is None else skipped

    found = text(root, PRE_COMMIT)
    if found is None:
        if _looked("exists", root / PRE_COMMIT):
            skipped.append(f"{PRE_COMMIT}: not readable YAML")
        return ()
    try:
        return parse_hooks(found)
    except yaml.YAMLError:
        skipped.append(f"{PRE_COMMIT}: not readable YAML")
        return ()


_MEMO_SIZE = 16
_Seen = dict[tuple[str, Path], object]
_memo: collections.OrderedDict[Path, tuple[_Seen, list[Path], OwnCommands]] = (
    collections.OrderedDict()
)
"""The last :func:`read` of each project: what it asked of each path (answers as
:func:`~ci_tasks.core.own_commands_store.digest` keeps them), and the workflows."""


def read(root: Path) -> OwnCommands:
    """Every command and hook the project in *root* runs itself, in a stable order.

    One nox start asks several times (lint's registration, the tests session's scope), and
    every start asks again, so a read is kept, in memory and in the project's
    ``.ci-tasks/`` (:mod:`~ci_tasks.core.own_commands_store`): it is given again only
    while every file it read holds the same text and the workflow folder the same files.
    Reading those is cheap; parsing them is not.
    """
    from ci_tasks.core import own_commands_store as store  # noqa: PLC0415 - it writes

    key = root.resolve()
    listing = workflow_files(root)
    kept = _memo.get(key)
    if kept is None or not _holds(kept[0], kept[1], listing):
        kept = _stored(store.load(key), listing)
    if kept is None:
        token = _SEEN.set({})
        try:
            found = _read(root)
            asked = _SEEN.get() or {}
        finally:
            _SEEN.reset(token)
        seen = {(kind, path.absolute()): store.digest(a) for (kind, path), a in asked.items()}
        store.save(key, seen, listing, found)
        kept = (seen, listing, found)
    _memo[key] = kept
    _memo.move_to_end(key)
    while len(_memo) > _MEMO_SIZE:
        _memo.popitem(last=False)
    return kept[2]


def _holds(seen: _Seen, kept: list[Path], listing: list[Path]) -> bool:
    """Whether every question of a kept read gets the same answer now."""
    from ci_tasks.core.own_commands_store import digest  # noqa: PLC0415

    return kept == listing and all(
        digest(_LOOKS[kind](path)) == answer for (kind, path), answer in seen.items()
    )


def _stored(
    stored: tuple[_Seen, list[Path], dict[str, Any]] | None, listing: list[Path]
) -> tuple[_Seen, list[Path], OwnCommands] | None:
    """The read kept in ``.ci-tasks/``, where it still holds (``None``: read again)."""
    if stored is None or not _holds(stored[0], stored[1], listing):
        return None
    from ci_tasks.core.own_commands_store import tuples  # noqa: PLC0415

    data = stored[2]
    try:
        found = OwnCommands(
            commands=tuple(
                Command(**{k: tuples(v) for k, v in c.items()}) for c in data["commands"]
            ),
            hooks=tuple(Hook(**{k: tuples(v) for k, v in h.items()}) for h in data["hooks"]),
            sources=tuple(data["sources"]),
            skipped=tuple(data["skipped"]),
        )
    except (KeyError, TypeError, AttributeError):
        return None
    return stored[0], stored[1], found


def _read(root: Path) -> OwnCommands:
    skipped: list[str] = []
    commands: list[Command] = []
    readers: Iterable[Iterator[Command]] = (
        _recipes(root, "just"),
        _recipes(root, "make"),
        _tox_ini(root, "tox.ini", "", skipped),
        _tox_toml(root, skipped),
        _hatch(root),
        _nox(root, skipped),
        _workflows(root, skipped),
    )
    for reader in readers:
        commands.extend(reader)
    commands = _run_as_ci_does(commands)
    found_hooks = hooks(root, skipped)
    sources = [c.source.split(" ", 1)[0] for c in commands]
    sources += [PRE_COMMIT] if found_hooks else []
    return OwnCommands(tuple(commands), found_hooks, tuple(dict.fromkeys(sources)), tuple(skipped))


def _run_as_ci_does(commands: Sequence[Command]) -> list[Command]:
    """A recipe's command, where a workflow runs that recipe, is run the workflow's way.

    ``make check`` alone finds whatever is on ``PATH``; the workflow that runs it installs
    what it needs first, and that is how the command's verdict is made.
    """
    by_ci: dict[tuple[str, str, tuple[str, ...]], tuple[str, ...]] = {}
    for command in commands:
        outer, _, by = command.source.partition(" (run by ")
        if by and command.run[:2] == ("bash", "-ec"):
            by_ci.setdefault((outer, command.tool, command.args), command.run)
    return [
        dataclasses.replace(c, run=by_ci[(c.source, c.tool, c.args)])
        if (c.source, c.tool, c.args) in by_ci
        else c
        for c in commands
    ]


def test_command(
    own: OwnCommands,
    python: str | None = None,  # noqa: PT028 - not a test: pytest never collects ci_tasks/
) -> Command | None:
    """The project's own test command: the first pytest command, in :func:`read`'s order.

    Task runners (Justfile, Makefile) first, then tox, hatch and nox, then the workflows:
    a workflow usually calls the runner, and the runner says what runs. Given *python*,
    the first whose environment is that Python (tox's ``3.11-tests``), else the first
    that names none.
    """
    found = own.of("pytest") or own.of("unittest")  # pytest runs unittest's tests too
    if python is not None:
        return next(
            (c for c in found if c.python == python),
            next((c for c in found if c.python is None), next(iter(found), None)),
        )
    return next(iter(found), None)


def gate(
    own: OwnCommands, tool: str, subcommand: str | None = None, python: str | None = None
) -> Command | Hook | None:
    """What the project gates on for *tool*: its pre-commit hook, else its own command.

    ``gate(own, "ruff", "format")`` is the ``ruff-format`` hook or a ``ruff format``
    command; ``gate(own, "black")`` the ``black`` hook or a ``black`` command. Given
    *python*, a command whose environment is that Python comes first (tox's ``3.11-mypy``
    before ``3.10-mypy``), then one that names none.
    """
    hook = own.hook(*hook_ids(tool, subcommand))
    if hook is not None:
        return hook
    found = [c for c in own.of(tool) if subcommand is None or c.subcommand == subcommand]
    preferred = [c for c in found if c.python == python] + [c for c in found if c.python is None]
    return next(iter(preferred if python is not None else ()), next(iter(found), None))
