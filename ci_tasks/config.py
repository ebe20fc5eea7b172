"""``[tool.ci-tasks]``: typed, frozen configuration with the seed's defaults.

Every section is a frozen dataclass; the loader walks the dataclass fields, so adding a
section is writing its dataclass and naming it as a field of :class:`Config`. Keys may
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

from ci_tasks import conditions
from ci_tasks.errors import ConfigError
from ci_tasks.retry import RetryPolicy

PYPROJECT = "pyproject.toml"
TABLE = ("tool", "ci-tasks")

T = TypeVar("T")


def _min(value: float) -> dict[str, Any]:
    return {"min": value}


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


Level = Literal["low", "medium", "high"]


@dataclasses.dataclass(frozen=True)
class SecurityIgnore:
    """One ``[[tool.ci-tasks.security.ignore]]`` entry: an accepted finding, accounted for."""

    id: str = ""
    """A CVE/GHSA/PYSEC id, a bandit test id (B602), a zizmor rule or ``skipped:<package>``."""
    reason: str = ""
    until: dt.date | None = None
    """The last day the ignore holds; after it the finding counts again."""

    def __post_init__(self) -> None:
        if not self.id.strip():
            msg = "every ignore needs an 'id'"
            raise ValueError(msg)
        if not self.reason.strip():
            msg = f"ignore {self.id!r} has no 'reason'; say why it is accepted"
            raise ValueError(msg)
        if self.until is None:
            msg = f"ignore {self.id!r} has no 'until' date (YYYY-MM-DD); ignores must expire"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True)
class ScannerVersions:
    """``[tool.ci-tasks.security.versions]``: the scanner versions installed for the session."""

    bandit: str = "1.9.4"
    pip_audit: str = "2.10.1"
    zizmor: str = "1.32.0"


@dataclasses.dataclass(frozen=True)
class SecurityConfig:
    """``[tool.ci-tasks.security]``: what the ``security`` session scans and how strictly."""

    severity: Level = "medium"
    """bandit's minimum issue severity."""
    confidence: Level = "medium"
    """bandit's minimum issue confidence."""
    paths: tuple[str, ...] = ()
    """What bandit scans (default: the project's package directories)."""
    groups: tuple[str, ...] | None = None
    """Dependency groups exported for pip-audit besides the project's own (default:
    ``dependency_groups``)."""
    service: Literal["pypi", "osv"] = "pypi"
    osv_url: str | None = None
    """An OSV-compatible query endpoint (a mirror); implies ``service = "osv"``."""
    workflows: str = ".github/workflows"
    ignore: tuple[SecurityIgnore, ...] = ()
    unverified: Literal["fail", "warn"] | None = None
    """Whether an unverified result fails (default: fail when ``CI=true``, else warn)."""
    versions: ScannerVersions = ScannerVersions()


@dataclasses.dataclass(frozen=True)
class LintConfig:
    """``[tool.ci-tasks.lint]``: what the lint stage checks besides ruff."""

    mypy: bool = False
    """Run ``mypy`` (with the project's own mypy configuration) as part of lint."""
    mypy_targets: tuple[str, ...] = ()
    """What mypy checks (default: its own ``files`` setting if the project has one, else ``.``)."""
    lock_check: bool = True
    """``uv lock --check``: a stale ``uv.lock`` is a lint failure."""
    pinning: bool = True
    """Check the pinning policy (dependency groups, workflow actions, ``pip install``)."""
    exact_groups: tuple[str, ...] = ("dev",)
    """Dependency groups whose every entry must be pinned with ``==`` (``"*"``: all)."""


@dataclasses.dataclass(frozen=True)
class RerunRule:
    """``[[tool.ci-tasks.tests.rerun]]``: a rerun policy for tests with a marker or path."""

    marker: str | None = None
    path: str | None = None
    """A glob over the test file path (e.g. ``tests/integration/*``)."""
    reruns: int = dataclasses.field(default=2, metadata=_min(0))
    delay: float = dataclasses.field(default=1.0, metadata=_min(0))

    def __post_init__(self) -> None:
        if (self.marker is None) == (self.path is None):
            msg = "a rerun rule needs exactly one of 'marker' or 'path'"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined test: it still runs, but its failure cannot fail the session."""

    test: str = ""
    """A test node id or a glob over node ids."""
    reason: str = ""
    until: dt.date | None = None

    def __post_init__(self) -> None:
        if not self.test.strip():
            msg = "a quarantine entry needs 'test' (a node id or glob)"
            raise ValueError(msg)
        if not self.reason.strip():
            msg = f"quarantine entry {self.test!r} needs a 'reason'"
            raise ValueError(msg)
        if self.until is None:
            msg = f"quarantine entry {self.test!r} needs 'until' (YYYY-MM-DD)"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True)
class TestsConfig:
    """``[tool.ci-tasks.tests]``: how pytest runs, reruns and reports."""

    __test__ = False  # not a pytest test class, despite its name

    reruns: int = dataclasses.field(default=2, metadata=_min(0))
    reruns_delay: float = dataclasses.field(default=1.0, metadata=_min(0))
    maxfail: int = dataclasses.field(default=5, metadata=_min(0))
    """Stop after this many failures (0: never stop early)."""
    workers: int | Literal["auto"] = "auto"
    """pytest-xdist ``-n`` (0: no xdist)."""
    strict: bool = True
    """``--strict-markers --strict-config``."""
    junit_xml: str = "junit.xml"
    coverage: bool = True
    """Measure coverage with pytest-cov and write ``coverage_xml``."""
    cov_source: tuple[str, ...] = ()
    """What ``--cov`` measures (default: coverage's own ``source`` setting if the project
    has one, else the project directory)."""
    coverage_xml: str = "coverage.xml"
    fail_under: float | None = dataclasses.field(default=None, metadata=_min(0))
    """Fail below this total coverage percentage (unset: never)."""
    fail_on_flaky: bool = False
    history_size: int = dataclasses.field(default=200, metadata=_min(1))
    """How many runs the flaky history keeps."""
    rerun: tuple[RerunRule, ...] = ()
    quarantine: tuple[QuarantineEntry, ...] = ()


READINESS_CHECKS = (
    "ci_pass_rate",
    "ci_duration",
    "flaky_tests",
    "security",
    "dependencies",
    "workflows",
    "build",
    "smoke",
)


@dataclasses.dataclass(frozen=True)
class ReadinessCheckConfig:
    """One readiness check: whether it runs, its weight, and its pass threshold."""

    enabled: bool = True
    weight: float = dataclasses.field(default=1.0, metadata=_min(0))
    threshold: float | None = dataclasses.field(default=None, metadata=_min(0))
    """Pass rate in %, duration in minutes, flaky rate in %; ``None``: the default."""


@dataclasses.dataclass(frozen=True)
class ReadinessChecksConfig:
    """``[tool.ci-tasks.readiness.checks.<id>]``: one table per check."""

    ci_pass_rate: ReadinessCheckConfig = ReadinessCheckConfig(weight=3.0)
    ci_duration: ReadinessCheckConfig = ReadinessCheckConfig(weight=1.0)
    flaky_tests: ReadinessCheckConfig = ReadinessCheckConfig(weight=2.0)
    security: ReadinessCheckConfig = ReadinessCheckConfig(weight=3.0)
    dependencies: ReadinessCheckConfig = ReadinessCheckConfig(weight=2.0)
    workflows: ReadinessCheckConfig = ReadinessCheckConfig(weight=1.0)
    build: ReadinessCheckConfig = ReadinessCheckConfig(weight=2.0)
    smoke: ReadinessCheckConfig = ReadinessCheckConfig(weight=1.0)


@dataclasses.dataclass(frozen=True)
class ReadinessExemption:
    """An exempted check, with the reason shown beside it."""

    check: str
    reason: str = dataclasses.field(default="", metadata={"nonempty": True})


@dataclasses.dataclass(frozen=True)
class ReadinessConfig:
    """``[tool.ci-tasks.readiness]``: the release-readiness score and its gate."""

    threshold: float = dataclasses.field(default=90.0, metadata=_min(0))
    runs: int = dataclasses.field(default=10, metadata=_min(1))
    workflow: str = dataclasses.field(default="ci.yml", metadata={"nonempty": True})
    branch: str = ""
    """Empty: the repository's default branch."""
    repository: str = ""
    """``owner/name``; empty: ``GITHUB_REPOSITORY``, else the ``origin`` remote."""
    checklist: str = dataclasses.field(default="RELEASE_CHECKLIST.md", metadata={"nonempty": True})
    max_evidence_age_hours: float = dataclasses.field(default=24.0, metadata=_min(0))
    """Hours after which a report is stale; 0 turns the age limit off."""
    request_timeout: float = dataclasses.field(default=30.0, metadata=_min(0.001))
    checks: ReadinessChecksConfig = ReadinessChecksConfig()
    exemptions: tuple[ReadinessExemption, ...] = ()
    notify_on_recovery: bool = True
    """With ``--notify``, also tell Slack when readiness is back above the threshold."""

    def __post_init__(self) -> None:
        if self.threshold > 100:  # noqa: PLR2004 - a percentage
            msg = f"threshold: expected a percentage from 0 to 100, got {self.threshold:g}"
            raise ValueError(msg)
        known = {c.replace("_", "-") for c in READINESS_CHECKS}
        for exemption in self.exemptions:
            if exemption.check.replace("_", "-") not in known:
                msg = (
                    f"exemptions: unknown check {exemption.check!r} "
                    f"(known: {', '.join(sorted(known))})"
                )
                raise ValueError(msg)
            if not exemption.reason.strip():
                msg = f"exemptions: the exemption of {exemption.check!r} needs a reason"
                raise ValueError(msg)


@dataclasses.dataclass(frozen=True)
class PreflightConfig:
    """``[tool.ci-tasks.preflight]``: the local gate and its result cache."""

    stages: tuple[str, ...] | None = None
    """Stages run in order; default: lint, tests and security (those this version has)."""
    fail_fast: bool = False
    """Stop at the first stage that does not pass (default: run all, show everything)."""
    cache: bool = True
    """Answer a stage from the cache when its inputs match its last green run."""
    cache_in_ci: bool = False
    """Use the cache under ``CI=true`` too (off by default: CI starts from nothing)."""

    def __post_init__(self) -> None:
        if self.stages is not None:
            if not self.stages:
                msg = "stages must name at least one stage"
                raise ValueError(msg)
            repeated = sorted({s for s in self.stages if self.stages.count(s) > 1})
            if repeated:
                msg = f"stages lists {repeated[0]!r} twice"
                raise ValueError(msg)


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


HTTP_METHODS = Literal["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


@dataclasses.dataclass(frozen=True)
class SmokeEndpoint:
    """``[[tool.ci-tasks.smoke.endpoint]]``: one path and the conditions its answer must meet."""

    path: str = dataclasses.field(default="/", metadata={"nonempty": True})
    conditions: tuple[str, ...] = ("status < 500",)
    method: HTTP_METHODS = "GET"

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            msg = f"endpoint path {self.path!r} must start with '/'"
            raise ValueError(msg)
        # Parsed here so an invalid condition is a config error before any request is sent.
        for text in self.conditions:
            conditions.parse(text)


@dataclasses.dataclass(frozen=True)
class SmokeConfig:
    """``[tool.ci-tasks.smoke]``: the deployed URL to check, how long to wait, what to assert."""

    url: str | None = None
    """Used when neither ``--url`` nor ``STAGING_URL`` is given."""
    deadline: float = dataclasses.field(default=300.0, metadata=_min(0))
    """Seconds to wait for the health endpoint to become ready."""
    interval: float = dataclasses.field(default=5.0, metadata=_min(0))
    attempt_timeout: float = dataclasses.field(default=10.0, metadata=_min(0.001))
    consecutive_successes: int = dataclasses.field(default=1, metadata=_min(1))
    health_paths: tuple[str, ...] = ("/health", "/healthz", "/api/health")
    ready_conditions: tuple[str, ...] = ("status == 200",)
    """What the health endpoint must answer for the service to count as ready."""
    docs_path: str = "/docs"
    """The API documentation; an empty string leaves it out."""
    endpoint: tuple[SmokeEndpoint, ...] = ()
    notify: bool = False
    """Send a Slack message (``SLACK_WEBHOOK_URL``) when the run fails, as ``--notify`` does."""

    def __post_init__(self) -> None:
        for path in (*self.health_paths, *([self.docs_path] if self.docs_path else [])):
            if not path.startswith("/"):
                msg = f"path {path!r} must start with '/'"
                raise ValueError(msg)
        for text in self.ready_conditions:
            conditions.parse(text)


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    """``[tool.ci-tasks.build]``: what the ``build`` session checks."""

    import_names: tuple[str, ...] = ()
    """Modules imported from the installed wheel (default: its top-level packages)."""
    command: str = ""
    """A command run from the installed wheel's venv, e.g. ``"sample --version"``."""
    reproducible: bool = True
    """Build twice with ``SOURCE_DATE_EPOCH`` and require identical bytes."""
    sbom: bool = True
    """Write a CycloneDX SBOM of the locked runtime dependencies beside the artifacts."""
    output_dir: str = dataclasses.field(default="dist", metadata={"nonempty": True})
    """Where the verified artifacts are copied, relative to the project."""


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
    lint: LintConfig = LintConfig()
    tests: TestsConfig = TestsConfig()
    security: SecurityConfig = SecurityConfig()
    readiness: ReadinessConfig = ReadinessConfig()
    preflight: PreflightConfig = PreflightConfig()
    hooks: HooksConfig = HooksConfig()
    smoke: SmokeConfig = SmokeConfig()
    build: BuildConfig = BuildConfig()

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
