"""``[tool.ci-tasks]``: typed, frozen configuration with the seed's defaults.

Every section is a frozen dataclass. The shared ones (``retry``, ``timeouts``, ``hooks``)
are fields of :class:`Config`; each stage's own section lives in its stage's folder and
reaches the loader through :func:`register_section`, which :mod:`ci_tasks.registry`
calls for every stage, so this module knows no stage. Keys may be spelt with ``-`` or
``_``. Validation errors name the file, the key and what is expected, in one line
(exit code 2).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from ci_tasks.core import groups, matrix, own_commands
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.retry import RetryPolicy

__all__ = [
    "PYPROJECT",
    "TABLE",
    "Config",
    "FieldSpec",
    "HooksConfig",
    "MatrixExclusion",
    "RetryConfig",
    "at_least",
    "fields_of",
    "find_pyproject",
    "load_config",
    "os_field",
    "parse_config",
    "read_pyproject",
    "read_pyproject_text",
    "register_section",
    "section_names",
    "timeout_field",
    "type_name",
]
PYPROJECT = "pyproject.toml"
TABLE = ("tool", "ci-tasks")

T = TypeVar("T")


def at_least(value: float) -> dict[str, Any]:
    """Field metadata: the loader refuses values below *value*."""
    return {"min": value}


@dataclasses.dataclass(frozen=True)
class HooksConfig:
    """``[tool.ci-tasks.hooks]``: what the pre-push hook runs."""

    command: str = dataclasses.field(default="nox -s preflight", metadata={"nonempty": True})

    def __post_init__(self) -> None:
        import shlex  # noqa: PLC0415 - only this check needs it

        try:
            shlex.split(self.command)
        except ValueError as exc:
            msg = f"command {self.command!r} cannot be split into words ({exc})"
            raise ValueError(msg) from None


@dataclasses.dataclass(frozen=True)
class RetryConfig:
    """``[tool.ci-tasks.retry]``: what is worth retrying is retried this way."""

    attempts: int = dataclasses.field(default=3, metadata=at_least(1))
    initial_delay: float = dataclasses.field(default=5.0, metadata=at_least(0))
    backoff: float = dataclasses.field(default=2.0, metadata=at_least(1))
    max_delay: float = dataclasses.field(default=60.0, metadata=at_least(0))
    jitter: float = dataclasses.field(default=1.0, metadata=at_least(0))
    deadline: float | None = dataclasses.field(default=None, metadata=at_least(0))

    def policy(self) -> RetryPolicy:
        """The :class:`RetryPolicy` this section describes."""
        return RetryPolicy(
            attempts=self.attempts,
            initial_delay=self.initial_delay,
            backoff=self.backoff,
            max_delay=self.max_delay,
            jitter=self.jitter,
            deadline=self.deadline,
        )


def timeout_field(default: float) -> Any:
    """A section's ``timeout`` key: its session's whole budget, in seconds (at least 1).

    Every stage's section has one; ``[tool.ci-tasks.timeouts]`` sets the same values by
    stage name (the older spelling, still read).
    """
    return dataclasses.field(default=default, metadata=at_least(1))


def os_field() -> Any:
    """A CI stage's ``os`` key: the runner labels its session's CI jobs run on.

    Unset (``None``), they are ``[tool.ci-tasks] os``; set, they replace it for that stage
    alone (``[tool.ci-tasks.build] os = ["ubuntu-latest"]``). Checked as ``os`` is.
    """
    return dataclasses.field(default=None)


@dataclasses.dataclass(frozen=True)
class MatrixExclusion:
    """``exclude = [{python = "pypy3.11", os = "windows-latest"}]``: a job CI does not run.

    Both keys are required: leaving an OS out for every Python is the stage's own ``os``,
    and a Python for every OS is ``python`` without it.
    """

    python: str
    """An entry of ``[tool.ci-tasks] python``."""
    os: str
    """An entry of the stage's ``os`` (else ``[tool.ci-tasks] os``)."""

    def __post_init__(self) -> None:
        for key, value, problem in (
            ("python", self.python, matrix.python_problem),
            ("os", self.os, matrix.os_problem),
        ):
            expected = problem(value)
            if expected is not None:
                msg = f"{key}: expected {expected}, got {value!r}"
                raise ValueError(msg)


class Section(typing.Protocol):
    """What the shared layer knows of every stage's section: it has a ``timeout``."""

    @property
    def timeout(self) -> float:
        """The stage session's whole budget, in seconds."""
        ...


# Each stage's section, by key, in the registry's order; filled by register_section().
_SECTIONS: dict[str, type[Any]] = {}
_SECTION_NAMES: dict[type[Any], str] = {}


def register_section(name: str, section: type[Any]) -> None:
    """Make ``[tool.ci-tasks.<name>]`` a section of :class:`Config`, parsed as *section*.

    *section* is a frozen dataclass whose fields all have defaults, a ``timeout`` among
    them (:func:`timeout_field`). :mod:`ci_tasks.registry` calls this once per stage;
    registering the same pair again changes nothing.
    """
    known = _SECTIONS.get(name)
    if known is not None and known is not section:
        msg = f"section {name!r} is already {known.__qualname__}"  # a bug of ours
        raise ValueError(msg)
    if "timeout" not in {f.name for f in dataclasses.fields(section)}:
        msg = f"section {name!r} ({section.__qualname__}) has no timeout field"  # ours too
        raise TypeError(msg)
    _SECTIONS[name] = section
    _SECTION_NAMES[section] = name


@dataclasses.dataclass(frozen=True)
class ReplacedStage:
    """One of ci_tasks' stages whose place a session of the project's noxfile takes."""

    stage: str
    """The stage's name (``tests``)."""
    sessions: tuple[str, ...]
    """The noxfile's sessions that run in its place (``nox -s`` expands parametrized ones:
    ``tests`` runs ``tests-3.11`` and ``tests-3.12``)."""
    noxfile: Path
    """The noxfile defining them."""

    @property
    def shown(self) -> str:
        """The sessions as named in messages: ``the project's own `tests` session``."""
        names = ", ".join(f"`{s}`" for s in self.sessions)
        return f"the project's own {names} session{'s' if len(self.sessions) > 1 else ''}"


@dataclasses.dataclass(frozen=True)
class Config:
    """The whole ``[tool.ci-tasks]`` table.

    A stage's section is read typed, by its class: ``config.section(TestsConfig)`` (or
    ``ctx.section(TestsConfig)`` in a stage); a section the table leaves out has its
    defaults.
    """

    python: tuple[str, ...] = ("3.11",)
    """Python versions the test session runs on (one nox session each): CPython ``3.12``,
    free-threaded ``3.14t``, PyPy ``pypy3.11``, or ``3.15-dev``, a pre-release whose CI
    jobs may fail."""
    os: tuple[str, ...] = matrix.DEFAULT_OS
    """GitHub runner labels every CI session runs on (one job per session and OS), unless
    its stage's section sets an ``os`` of its own (``[tool.ci-tasks.build] os``)."""
    dependency_groups: tuple[str, ...] = ("dev",)
    """Dependency groups installed from ``uv.lock`` into session environments (default: the
    group that lists pytest and the groups it includes; without one, ``[tool.uv]
    default-groups``)."""
    secrets: tuple[str, ...] = ()
    """Extra environment variables whose values are masked in all output."""
    ci_sessions: tuple[str, ...] = ()
    """The noxfile's own sessions CI's matrix runs too (``["docs"]``), beside those that
    take the place of one of ci_tasks' (a ``tests`` of its own), which it always runs."""
    retry: RetryConfig = RetryConfig()
    timeouts: Mapping[str, float] = dataclasses.field(
        default_factory=dict, metadata={**at_least(1), "alias": True, "keys": lambda: _SECTIONS}
    )
    """Each stage's ``timeout`` by the stage's name (``tests = 3600``): the older spelling
    of ``[tool.ci-tasks.<stage>] timeout``, folded into the sections when loaded."""
    hooks: HooksConfig = dataclasses.field(default_factory=HooksConfig)

    sections: Mapping[str, Section] = dataclasses.field(
        default_factory=dict, metadata={"internal": True}
    )
    """Every stage's section by key: as parsed, else its defaults; not a key itself."""
    root: Path = dataclasses.field(default=Path(), metadata={"internal": True})
    """The project directory (where ``pyproject.toml`` is); not a key."""
    group_reasons: tuple[str, ...] = dataclasses.field(
        default=(), compare=False, metadata={"internal": True}
    )
    """Why each of ``dependency_groups`` is synced, when detected; not a key, and not part
    of equality (two configs syncing the same groups are the same)."""
    replaced: Mapping[str, ReplacedStage] = dataclasses.field(
        default_factory=dict, metadata={"internal": True}
    )
    """Stages the project's noxfile runs a session of its own in place of, by stage name;
    ``ci_tasks.register()`` fills it (its sessions get this configuration). Not a key."""

    def __post_init__(self) -> None:
        _check_matrix(self.python, self.os)
        # Sections the table leaves out get their defaults once, here, not at each lookup.
        missing = {n: cls() for n, cls in _SECTIONS.items() if n not in self.sections}
        if missing:
            object.__setattr__(self, "sections", {**self.sections, **missing})
        if self.timeouts:
            object.__setattr__(self, "sections", _fold_timeouts(self.sections, self.timeouts))
        for name in self.sections:
            self._check_stage_matrix(name)

    def runners(self, stage: str) -> tuple[str, ...]:
        """The runner labels stage *stage*'s CI jobs run on: its section's ``os``, else ``os``."""
        own = getattr(self.sections.get(stage), "os", None)
        return tuple(own) if own is not None else self.os

    def excluded(self, stage: str) -> tuple[MatrixExclusion, ...]:
        """The Python and OS pairs stage *stage*'s section leaves out of CI (``exclude``)."""
        return tuple(getattr(self.sections.get(stage), "exclude", ()))

    def _check_stage_matrix(self, stage: str) -> None:
        """A stage's ``os`` is checked as ``os`` is; its ``exclude`` names what the matrix has."""
        own = getattr(self.sections[stage], "os", None)
        if own is not None:
            _check_labels(f"{stage}.os", tuple(own))
        oses = self.runners(stage)
        pythons = {matrix.nox_python(p) for p in self.python}
        for index, pair in enumerate(self.excluded(stage)):
            where = f"{stage}.exclude[{index}]"
            if matrix.nox_python(pair.python) not in pythons:
                msg = (
                    f"{where}: python {pair.python!r} is not in python "
                    f"({', '.join(self.python)}); the matrix has no such job"
                )
                raise ValueError(msg)
            if pair.os not in oses:
                whose = f"{stage}.os" if own is not None else "os"
                msg = (
                    f"{where}: os {pair.os!r} is not in {whose} ({', '.join(oses)}); "
                    "the matrix has no such job"
                )
                raise ValueError(msg)

    def group_choice(self) -> groups.GroupChoice:
        """``dependency_groups`` and why each is synced (detected, or set in the table)."""
        if len(self.group_reasons) == len(self.dependency_groups):
            return groups.GroupChoice(self.dependency_groups, self.group_reasons)
        why = f"[{'.'.join(TABLE)}] dependency-groups"
        return groups.GroupChoice.configured(self.dependency_groups, why)

    def section(self, cls: type[T]) -> T:
        """The stage section parsed as *cls* (``config.section(TestsConfig)``), typed."""
        name = _SECTION_NAMES.get(cls)
        value = self.sections.get(name) if name is not None else None
        if not isinstance(value, cls):
            msg = f"no configuration section of type {cls.__qualname__}"
            raise TypeError(msg)  # a bug of ours: the registry names every section
        return value

    def timeout(self, stage: str) -> float:
        """The whole budget of stage *stage*'s session, in seconds (its section's)."""
        section = self.sections.get(stage)
        if section is None:
            msg = f"no stage {stage!r} has a timeout"  # a bug of ours: stages are registered
            raise KeyError(msg)
        return float(section.timeout)

    def with_section(self, value: Section) -> Config:
        """A copy with the stage section of *value*'s type replaced by *value*."""
        name = _SECTION_NAMES.get(type(value))
        if name is None:
            msg = f"no configuration section of type {type(value).__qualname__}"
            raise KeyError(msg)
        return dataclasses.replace(self, sections={**self.sections, name: value})


def _fold_timeouts(
    sections: Mapping[str, Section], timeouts: Mapping[str, float]
) -> dict[str, Section]:
    """*sections* with ``[tool.ci-tasks.timeouts]`` entries as their ``timeout``."""
    folded = dict(sections)
    for name, seconds in timeouts.items():
        section = folded.get(name)
        if section is None:
            known = ", ".join(sorted(sections))
            msg = f"timeouts: unknown stage {name!r} (known stages: {known})"
            raise ValueError(msg)
        default = _default(type(section), "timeout")
        if section.timeout not in (default, seconds):
            msg = (
                f"timeouts.{name} = {seconds:g} and [tool.ci-tasks.{name}] timeout = "
                f"{section.timeout:g} disagree; set it once"
            )
            raise ValueError(msg)
        # Every section is a frozen dataclass (register_section takes no other).
        folded[name] = dataclasses.replace(section, timeout=float(seconds))  # type: ignore[type-var]
    return folded


def _default(cls: type[Any], name: str) -> Any:
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def _check_matrix(pythons: tuple[str, ...], oses: tuple[str, ...]) -> None:
    """A value ``python`` or ``os`` cannot run is refused, naming it and what is expected."""
    _check_entries("python", pythons, matrix.python_problem)
    seen: dict[str, str] = {}
    for value in pythons:
        same = seen.setdefault(matrix.nox_python(value), value)
        if same != value or pythons.count(value) > 1:
            msg = f"python: {same!r} and {value!r} are the same interpreter; list it once"
            raise ValueError(msg)
    _check_labels("os", oses)


def _check_labels(key: str, oses: tuple[str, ...]) -> None:
    """Runner labels under *key* (``os``, ``build.os``): at least one, each once, each valid."""
    _check_entries(key, oses, matrix.os_problem)
    if len(set(oses)) != len(oses):
        msg = f"{key}: {min(o for o in oses if oses.count(o) > 1)!r} is listed twice"
        raise ValueError(msg)


def _check_entries(key: str, values: tuple[str, ...], problem: Callable[[str], str | None]) -> None:
    if not values:
        msg = f"{key}: expected at least one entry, got []"
        raise ValueError(msg)
    for index, value in enumerate(values):
        expected = problem(value)
        if expected is not None:
            msg = f"{key}[{index}]: expected {expected}, got {value!r}"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One key of a configuration table: its name, type hint, metadata and docstring owner."""

    name: str
    hint: Any
    metadata: Mapping[str, Any]
    required: bool = False
    section: bool = False
    """A stage's section, a key of :class:`Config` kept in :attr:`Config.sections`."""

    def value(self, instance: Any) -> Any:
        """This key's value in *instance* (a :class:`Config` or a section)."""
        if self.section:
            return instance.sections[self.name]
        return getattr(instance, self.name)


def fields_of(cls: type[Any]) -> list[FieldSpec]:
    """The keys of the table *cls* describes; for :class:`Config`, the stages' sections too."""
    hints = typing.get_type_hints(cls)
    specs = [
        FieldSpec(
            f.name,
            hints[f.name],
            f.metadata,
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
        if not f.metadata.get("internal")
    ]
    if cls is Config:
        specs += [FieldSpec(name, section, {}, section=True) for name, section in _SECTIONS.items()]
    return specs


def type_name(hint: Any) -> str:  # noqa: C901, PLR0911
    """What a value of type *hint* is, in words ("an integer"), for error messages."""
    origin = get_origin(hint)
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is str or hint is Path:
        return "a string"
    if hint is bool:
        return "true or false"
    if hint is dt.date:
        return "a date (YYYY-MM-DD)"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(hint))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(type_name(a) for a in get_args(hint) if a is not type(None))
    if origin is tuple:
        inner = get_args(hint)[0]
        if dataclasses.is_dataclass(inner):
            return "an array of tables"
        return f"an array of {type_name(inner).removeprefix('an ').removeprefix('a ')}s"
    if dataclasses.is_dataclass(hint) or origin is Mapping:
        return "a table"
    return str(hint)


def key_separator(key: str, table: Mapping[str, Any]) -> str:
    """How the user joins words in keys: as in *key*, else as in its *table*, else ``-``.

    Keys may be written ``cov-source`` or ``cov_source``; errors name known keys the way
    the user writes them (``ci-tasks init`` and the documentation write ``-``).
    """
    for text in (key, *table):
        if "-" in text:
            return "-"
        if "_" in text:
            return "_"
    return "-"


def spelt(name: str, separator: str) -> str:
    """The field *name* (``cov_source``) as a key joined with *separator*."""
    return name.replace("_", separator)


class _Loader:
    def __init__(self, source: Path) -> None:
        self.source = source

    def unknown(
        self, key: str, raw: str, known: list[str], table: Mapping[str, Any]
    ) -> typing.NoReturn:
        sep = key_separator(raw, table)
        name = raw.replace("-", "_")
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{spelt(close[0], sep)}'?" if close else ""
        shown = ", ".join(sorted(spelt(f, sep) for f in known))
        msg = f"{self.source}: unknown key '{key}'{hint} (known keys: {shown})"
        raise ConfigError(msg)

    def fail(self, key: str, expected: str, value: Any) -> typing.NoReturn:
        shown = repr(value) if not isinstance(value, dict) else "a table"
        msg = f"{self.source}: {key}: expected {expected}, got {shown}"
        raise ConfigError(msg)

    def convert(self, hint: Any, value: Any, key: str, meta: Mapping[str, Any]) -> Any:  # noqa: C901, PLR0911, PLR0912
        origin = get_origin(hint)
        if origin in (types.UnionType, typing.Union):
            args = get_args(hint)
            if value is None and type(None) in args:
                return None
            for arg in (a for a in args if a is not type(None)):
                try:
                    return self.convert(arg, value, key, meta)
                except ConfigError:
                    continue
            self.fail(key, type_name(hint), value)
        if hint is bool:
            if not isinstance(value, bool):
                self.fail(key, "true or false", value)
            return value
        if hint in (int, float):
            expected = type_name(hint) + (f" >= {meta['min']:g}" if "min" in meta else "")
            ok = isinstance(value, int) if hint is int else isinstance(value, int | float)
            if isinstance(value, bool) or not ok or ("min" in meta and value < meta["min"]):
                self.fail(key, expected, value)
            return hint(value)
        if hint is str or hint is Path:
            if not isinstance(value, str):
                self.fail(key, "a string", value)
            if meta.get("nonempty") and not value.strip():
                self.fail(key, "a non-empty string", value)
            return value
        if hint is dt.date:
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value
            if isinstance(value, str):
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    pass
            self.fail(key, "a date (YYYY-MM-DD)", value)
        if origin is Literal:
            if value not in get_args(hint):
                self.fail(key, type_name(hint), value)
            return value
        if origin is tuple:
            if not isinstance(value, list):
                self.fail(key, type_name(hint), value)
            inner = get_args(hint)[0]
            return tuple(
                self.convert(inner, item, f"{key}[{i}]", meta) for i, item in enumerate(value)
            )
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                self.fail(key, "a table", value)
            return self.build(typing.cast("type[Any]", hint), value, key)
        if origin is Mapping:
            return self.mapping(get_args(hint)[1], value, key, meta)
        msg = f"unsupported configuration type {hint!r} for {key}"  # a bug of ours
        raise TypeError(msg)

    def mapping(self, inner: Any, value: Any, key: str, meta: Mapping[str, Any]) -> dict[str, Any]:
        """A table whose keys are those ``meta["keys"]()`` knows, each value an *inner*."""
        if not isinstance(value, dict):
            self.fail(key, "a table", value)
        known = list(meta["keys"]())
        for name in value:
            if name not in known:
                self.unknown(f"{key}.{name}", name, known, value)
        return {n: self.convert(inner, v, f"{key}.{n}", meta) for n, v in value.items()}

    def build(self, cls: type[T], data: Mapping[str, Any], prefix: str) -> T:
        fields = {spec.name: spec for spec in fields_of(cls)}
        values: dict[str, Any] = {}
        for raw_key, value in data.items():
            name = raw_key.replace("-", "_")
            key = f"{prefix}.{raw_key}"
            if name not in fields:
                self.unknown(key, raw_key, list(fields), data)
            spec = fields[name]
            values[name] = self.convert(spec.hint, value, key, spec.metadata)
        for name, spec in fields.items():
            if spec.required and name not in values:
                shown = spelt(name, key_separator("", data))
                msg = f"{self.source}: [{prefix}]: missing required key '{shown}'"
                raise ConfigError(msg)
        if cls is Config:
            values["sections"] = {n: values.pop(n) for n in list(values) if n in _SECTIONS}
        try:
            return cls(**values)
        except (ValueError, TypeError) as exc:
            # A section's own cross-field check (__post_init__) speaks through ConfigError.
            msg = f"{self.source}: [{prefix}]: {exc}"
            raise ConfigError(msg) from None


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above *start* (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PYPROJECT
        if candidate.is_file():
            return candidate
    return None


def parse_config(data: Mapping[str, Any], source: Path) -> Config:
    """Build a :class:`Config` from a parsed ``[tool.ci-tasks]`` table (pure)."""
    config = _Loader(source).build(Config, data, ".".join(TABLE))
    return dataclasses.replace(config, root=source.parent)


def read_pyproject(source: Path) -> dict[str, Any]:
    """*source* parsed as TOML; a one-line :class:`ConfigError` naming it when it cannot be."""
    return read_pyproject_text(source)[1]


def read_pyproject_text(source: Path) -> tuple[str, dict[str, Any]]:
    """*source*'s text and its TOML (for an edit that keeps the text as it was)."""
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{source}: no such file; ci_tasks reads its configuration from {PYPROJECT}"
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"{source}: cannot be read ({exc.strerror})"
        raise ConfigError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"{source}: cannot be read ({exc}); TOML is UTF-8"
        raise ConfigError(msg) from None
    try:
        return text, own_commands.parse_toml(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{source}: not valid TOML ({exc})"
        raise ConfigError(msg) from None


def load_config(path: str | Path | None = None) -> Config:
    """Load ``[tool.ci-tasks]`` from *path* (a ``pyproject.toml`` or its folder).

    Without *path*, the nearest ``pyproject.toml`` at or above the working directory;
    without any, the defaults. Raises :class:`ConfigError` on anything invalid.
    """
    if path is None:
        found = find_pyproject()
        if found is None:
            return Config(root=Path.cwd())
        source = found
    else:
        source = Path(path)
        if source.is_dir():
            source = source / PYPROJECT
    document = read_pyproject(source)
    table: Any = document
    for part in TABLE:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    if not isinstance(table, dict):
        msg = f"{source}: [tool.ci-tasks] must be a table"
        raise ConfigError(msg)
    config = parse_config(table, source.resolve())
    if "dependency_groups" not in {key.replace("-", "_") for key in table}:
        detected = groups.choose_test_groups(document)
        if detected.groups:
            config = dataclasses.replace(
                config, dependency_groups=detected.groups, group_reasons=detected.reasons
            )
        else:
            why = ("the default; no group lists pytest",) * len(config.dependency_groups)
            config = dataclasses.replace(config, group_reasons=why)
    return config


def section_names() -> list[str]:
    """The keys :class:`Config` accepts (for documentation and did-you-mean)."""
    return [spec.name for spec in fields_of(Config)]
