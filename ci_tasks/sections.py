"""The stages' ``[tool.ci-tasks.<stage>]`` sections: frozen dataclasses with their defaults.

The generic loader in :mod:`ci_tasks.config` validates them by their type hints; a
section's ``__post_init__`` raises ``ValueError`` for what types cannot say, and the
loader reports it as a one-line configuration error naming the section.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from ci_tasks import conditions


def _min(value: float) -> dict[str, Any]:
    """Field metadata: the loader refuses values below *value*."""
    return {"min": value}


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
