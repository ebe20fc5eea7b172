"""``[tool.ci-tasks]``: typed, frozen configuration with the seed's defaults.

Every section is a frozen dataclass (the stages' own live in :mod:`ci_tasks.sections`);
the loader walks the dataclass fields, so adding a section is writing its dataclass and
naming it as a field of :class:`Config`. Keys may
be spelt with ``-`` or ``_``. Validation errors name the file, the key and what is
expected, in one line (exit code 2).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from ci_tasks.errors import ConfigError
from ci_tasks.retry import RetryPolicy
from ci_tasks.sections import (
    HTTP_METHODS,
    READINESS_CHECKS,
    BuildConfig,
    HooksConfig,
    Level,
    LintConfig,
    PreflightConfig,
    QuarantineEntry,
    ReadinessCheckConfig,
    ReadinessChecksConfig,
    ReadinessConfig,
    ReadinessExemption,
    RerunRule,
    ScannerVersions,
    SecurityConfig,
    SecurityIgnore,
    SmokeConfig,
    SmokeEndpoint,
    TestsConfig,
    _min,
)

__all__ = [
    "HTTP_METHODS",
    "PYPROJECT",
    "READINESS_CHECKS",
    "TABLE",
    "BuildConfig",
    "Config",
    "HooksConfig",
    "Level",
    "LintConfig",
    "PreflightConfig",
    "QuarantineEntry",
    "ReadinessCheckConfig",
    "ReadinessChecksConfig",
    "ReadinessConfig",
    "ReadinessExemption",
    "RerunRule",
    "RetryConfig",
    "ScannerVersions",
    "SecurityConfig",
    "SecurityIgnore",
    "SmokeConfig",
    "SmokeEndpoint",
    "TestsConfig",
    "TimeoutsConfig",
    "find_pyproject",
    "load_config",
    "parse_config",
    "section_names",
]

PYPROJECT = "pyproject.toml"
TABLE = ("tool", "ci-tasks")

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryConfig:
    """``[tool.ci-tasks.retry]``: what is worth retrying is retried this way."""

    attempts: int = dataclasses.field(default=3, metadata=_min(1))
    initial_delay: float = dataclasses.field(default=5.0, metadata=_min(0))
    backoff: float = dataclasses.field(default=2.0, metadata=_min(1))
    max_delay: float = dataclasses.field(default=60.0, metadata=_min(0))
    jitter: float = dataclasses.field(default=1.0, metadata=_min(0))
    deadline: float | None = dataclasses.field(default=None, metadata=_min(0))

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


@dataclasses.dataclass(frozen=True)
class TimeoutsConfig:
    """``[tool.ci-tasks.timeouts]``: each session's whole budget, in seconds."""

    lint: float = dataclasses.field(default=900.0, metadata=_min(1))
    tests: float = dataclasses.field(default=1800.0, metadata=_min(1))
    security: float = dataclasses.field(default=900.0, metadata=_min(1))
    build: float = dataclasses.field(default=900.0, metadata=_min(1))
    readiness: float = dataclasses.field(default=600.0, metadata=_min(1))
    smoke: float = dataclasses.field(default=600.0, metadata=_min(1))

    def for_session(self, name: str) -> float:
        """The timeout of session *name* (the tests' budget for an unknown name)."""
        value = getattr(self, name, self.tests)
        return float(value)


@dataclasses.dataclass(frozen=True)
class Config:
    """The whole ``[tool.ci-tasks]`` table."""

    python: tuple[str, ...] = ("3.11",)
    """Python versions the test session runs on (one nox session each)."""
    dependency_groups: tuple[str, ...] = ("dev",)
    """Dependency groups installed from ``uv.lock`` into session environments."""
    secrets: tuple[str, ...] = ()
    """Extra environment variables whose values are masked in all output."""
    retry: RetryConfig = RetryConfig()
    timeouts: TimeoutsConfig = TimeoutsConfig()
    lint: LintConfig = dataclasses.field(default_factory=LintConfig)
    tests: TestsConfig = dataclasses.field(default_factory=TestsConfig)
    security: SecurityConfig = dataclasses.field(default_factory=SecurityConfig)
    readiness: ReadinessConfig = dataclasses.field(default_factory=ReadinessConfig)
    preflight: PreflightConfig = dataclasses.field(default_factory=PreflightConfig)
    hooks: HooksConfig = dataclasses.field(default_factory=HooksConfig)
    smoke: SmokeConfig = dataclasses.field(default_factory=SmokeConfig)
    build: BuildConfig = dataclasses.field(default_factory=BuildConfig)

    root: Path = dataclasses.field(default=Path(), metadata={"internal": True})
    """The project directory (where ``pyproject.toml`` is); not a key."""


def _type_name(hint: Any) -> str:  # noqa: C901, PLR0911
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
        return " or ".join(_type_name(a) for a in get_args(hint) if a is not type(None))
    if origin is tuple:
        inner = get_args(hint)[0]
        if dataclasses.is_dataclass(inner):
            return "an array of tables"
        return f"an array of {_type_name(inner).removeprefix('an ').removeprefix('a ')}s"
    if dataclasses.is_dataclass(hint):
        return "a table"
    return str(hint)


class _Loader:
    def __init__(self, source: Path) -> None:
        self.source = source

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
            self.fail(key, _type_name(hint), value)
        if hint is bool:
            if not isinstance(value, bool):
                self.fail(key, "true or false", value)
            return value
        if hint in (int, float):
            expected = _type_name(hint) + (f" >= {meta['min']:g}" if "min" in meta else "")
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
                self.fail(key, _type_name(hint), value)
            return value
        if origin is tuple:
            if not isinstance(value, list):
                self.fail(key, _type_name(hint), value)
            inner = get_args(hint)[0]
            return tuple(
                self.convert(inner, item, f"{key}[{i}]", meta) for i, item in enumerate(value)
            )
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                self.fail(key, "a table", value)
            return self.build(typing.cast("type[Any]", hint), value, key)
        msg = f"unsupported configuration type {hint!r} for {key}"  # a bug of ours
        raise TypeError(msg)

    def build(self, cls: type[T], data: Mapping[str, Any], prefix: str) -> T:
        hints = typing.get_type_hints(cls)
        fields = {
            f.name: f
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if not f.metadata.get("internal")
        }
        values: dict[str, Any] = {}
        for raw_key, value in data.items():
            name = raw_key.replace("-", "_")
            key = f"{prefix}.{raw_key}"
            if name not in fields:
                close = difflib.get_close_matches(name, list(fields), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                known = ", ".join(sorted(fields))
                msg = f"{self.source}: unknown key '{key}'{hint} (known keys: {known})"
                raise ConfigError(msg)
            values[name] = self.convert(hints[name], value, key, fields[name].metadata)
        for name, spec in fields.items():
            required = (
                spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            )
            if required and name not in values:
                msg = f"{self.source}: [{prefix}]: missing required key '{name}'"
                raise ConfigError(msg)
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
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{source}: no such file; ci_tasks reads its configuration from {PYPROJECT}"
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"{source}: cannot be read ({exc.strerror})"
        raise ConfigError(msg) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{source}: not valid TOML ({exc})"
        raise ConfigError(msg) from None
    table: Any = document
    for part in TABLE:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    if not isinstance(table, dict):
        msg = f"{source}: [tool.ci-tasks] must be a table"
        raise ConfigError(msg)
    return parse_config(table, source.resolve())


def section_names() -> list[str]:
    """The keys :class:`Config` accepts (for documentation and did-you-mean)."""
    return [f.name for f in dataclasses.fields(Config) if not f.metadata.get("internal")]
