"""``[tool.ci-tasks.readiness]``: the readiness stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses

from ci_tasks.core.config import at_least, timeout_field

READINESS_CHECKS = (
    "ci_pass_rate",
    "ci_duration",
    "flaky_tests",
    "slow_tests",
    "coverage",
    "security",
    "dependencies",
    "workflows",
    "build",
    "smoke",
    "ci_environment",
)


@dataclasses.dataclass(frozen=True)
class ReadinessCheckConfig:
    """One readiness check: whether it runs, its weight, and its pass threshold."""

    enabled: bool = True
    weight: float = dataclasses.field(default=1.0, metadata=at_least(0))
    threshold: float | None = dataclasses.field(default=None, metadata=at_least(0))
    """Pass rate in %, duration in minutes, flaky rate in %; ``None``: the default."""


@dataclasses.dataclass(frozen=True)
class ReadinessChecksConfig:
    """``[tool.ci-tasks.readiness.checks.<id>]``: one table per check."""

    ci_pass_rate: ReadinessCheckConfig = ReadinessCheckConfig(weight=3.0)
    ci_duration: ReadinessCheckConfig = ReadinessCheckConfig(weight=1.0)
    flaky_tests: ReadinessCheckConfig = ReadinessCheckConfig(weight=2.0)
    slow_tests: ReadinessCheckConfig = ReadinessCheckConfig(weight=1.0)
    coverage: ReadinessCheckConfig = ReadinessCheckConfig(weight=2.0)
    """The coverage floor, judged on every tests job's data combined (``threshold``
    overrides the floor the tests sessions report)."""
    security: ReadinessCheckConfig = ReadinessCheckConfig(weight=3.0)
    dependencies: ReadinessCheckConfig = ReadinessCheckConfig(weight=2.0)
    workflows: ReadinessCheckConfig = ReadinessCheckConfig(weight=1.0)
    build: ReadinessCheckConfig = ReadinessCheckConfig(weight=2.0)
    smoke: ReadinessCheckConfig = ReadinessCheckConfig(weight=1.0)
    ci_environment: ReadinessCheckConfig = ReadinessCheckConfig(weight=1.0)

    def of(self, check: str) -> ReadinessCheckConfig:
        """The settings of the check named *check* (``ci_pass_rate``)."""
        value = getattr(self, check, None)
        if not isinstance(value, ReadinessCheckConfig):
            msg = f"no readiness check {check!r}"  # a bug of ours: READINESS_CHECKS names them
            raise KeyError(msg)
        return value


@dataclasses.dataclass(frozen=True)
class ReadinessExemption:
    """An exempted check, with the reason shown beside it."""

    check: str
    reason: str = dataclasses.field(default="", metadata={"nonempty": True})


@dataclasses.dataclass(frozen=True)
class ReadinessConfig:
    """``[tool.ci-tasks.readiness]``: the release-readiness score and its gate."""

    threshold: float = dataclasses.field(default=90.0, metadata=at_least(0))
    runs: int = dataclasses.field(default=10, metadata=at_least(1))
    workflow: str = dataclasses.field(default="ci.yml", metadata={"nonempty": True})
    branch: str = ""
    """Empty: the repository's default branch."""
    repository: str = ""
    """``owner/name``; empty: ``GITHUB_REPOSITORY``, else the ``origin`` remote."""
    checklist: str = dataclasses.field(default="RELEASE_CHECKLIST.md", metadata={"nonempty": True})
    max_evidence_age_hours: float = dataclasses.field(default=24.0, metadata=at_least(0))
    """Hours after which a report is stale; 0 turns the age limit off."""
    request_timeout: float = dataclasses.field(default=30.0, metadata=at_least(0.001))
    ci_evidence: bool = True
    """Judge the reports the newest CI run uploaded when ours are missing or older."""
    max_artifact_mb: float = dataclasses.field(default=50.0, metadata=at_least(0.001))
    """An artifact archive larger than this, packed or unpacked, is refused."""
    ci_lock_max_age_days: float = dataclasses.field(default=14.0, metadata=at_least(0))
    """Days the CI lock's update pull request may stay open; 0 turns the limit off."""
    checks: ReadinessChecksConfig = ReadinessChecksConfig()
    exemptions: tuple[ReadinessExemption, ...] = ()
    notify_on_recovery: bool = True
    """With ``--notify``, also tell Slack when readiness is back above the threshold."""
    timeout: float = timeout_field(600.0)
    """The session's whole budget, in seconds (also ``[tool.ci-tasks.timeouts] readiness``)."""

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
