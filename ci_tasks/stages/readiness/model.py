"""The readiness model: checks with a status, and the weighted score over them (pure).

The score is the weighted share of passing checks over the applicable ones, as OpenSSF
Scorecard treats inconclusive checks: ``not-applicable`` and ``exempt`` checks leave
both numerator and denominator; ``unknown`` (no evidence, stale evidence, unreadable
evidence) counts as failing, so the gate fails closed.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping


class Status(enum.StrEnum):
    """What a check found."""

    # A status, not a password.
    PASS = "pass"  # noqa: S105  # nosec B105
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not-applicable"
    EXEMPT = "exempt"

    @property
    def applicable(self) -> bool:
        """Whether the check counts towards the score."""
        return self not in {Status.NOT_APPLICABLE, Status.EXEMPT}


@dataclasses.dataclass(frozen=True)
class Check:
    """One readiness check's outcome."""

    id: str
    title: str
    status: Status
    summary: str
    """One line: the numbers seen and the verdict, e.g. ``9/10 runs succeeded (90 %)``."""
    weight: float = 1.0
    evidence: tuple[str, ...] = ()
    """Details and where they came from (shown with ``--verbose`` and in the checklist)."""
    remediation: str = ""
    """What to do when the check does not pass."""
    source: str = ""
    """Which evidence it judged (a report path, the API)."""
    origin: str = ""
    """Where that report came from: ``local`` or ``CI run #1234``; empty for the API."""

    @property
    def provenance(self) -> str:
        """The source and its origin, as shown: ``.ci-tasks/build-report.json (local)``."""
        return f"{self.source} ({self.origin})" if self.origin else self.source

    def with_weight(self, weight: float) -> Check:
        """This check with the configured *weight*."""
        return dataclasses.replace(self, weight=weight)


def exempt(check: Check, reason: str) -> Check:
    """*check* exempted for *reason* (the reason replaces nothing: it is shown first)."""
    if not reason.strip():
        msg = f"the exemption of {check.id!r} needs a reason"
        raise ValueError(msg)
    return dataclasses.replace(
        check,
        status=Status.EXEMPT,
        summary=f"exempt: {reason.strip()} (would be: {check.status.value}, {check.summary})",
    )


def apply_exemptions(checks: Iterable[Check], reasons: Mapping[str, str]) -> tuple[Check, ...]:
    """*checks* with those named in *reasons* (check id → reason) exempted."""
    return tuple(exempt(c, reasons[c.id]) if c.id in reasons else c for c in checks)


def score(checks: Iterable[Check]) -> float:
    """The weighted share of passing checks over applicable ones, in % (0 to 100).

    With nothing applicable the score is 0: a gate over no evidence must not pass.
    """
    applicable = [c for c in checks if c.status.applicable and c.weight > 0]
    total = sum(c.weight for c in applicable)
    if total <= 0:
        return 0.0
    passed = sum(c.weight for c in applicable if c.status is Status.PASS)
    return 100.0 * passed / total


@dataclasses.dataclass(frozen=True)
class Accepted:
    """One ignore entry of a stage's section: accepted debt, listed until it is gone."""

    stage: str
    what: str
    """``E501 in src/x.py``."""
    reason: str
    until: str
    """The entry's last day (ISO date)."""
    expired: bool
    """Past ``until``: the finding counts again."""

    def as_dict(self) -> dict[str, object]:
        """The entry as the cache's ``last`` holds it."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Result:
    """A whole readiness computation: the checks, the score, and the gate's verdict."""

    checks: tuple[Check, ...]
    threshold: float
    commit: str | None
    as_of: str
    """The newest evidence's timestamp (ISO-8601 UTC), not the wall clock: unchanged
    evidence renders unchanged bytes."""
    accepted: tuple[Accepted, ...] = ()
    """Every ``ignore`` entry of ``[tool.ci-tasks.<stage>]``, with its expiry."""

    @property
    def score(self) -> float:
        """The readiness score in %."""
        return score(self.checks)

    @property
    def passed(self) -> bool:
        """Whether the score reaches the threshold (at or above passes)."""
        # Round away float noise (89.99999999 is 90 %), but never round 89.9 up.
        return round(self.score, 6) >= self.threshold


def format_score(value: float) -> str:
    """A score as shown to people: one decimal, no float noise (``89.9 %``)."""
    return f"{value:.1f} %"
