"""Retries with exponential backoff and jitter, bounded in attempts *and* total time.

What is retried must always be stated (:class:`RetryOn` for commands, a classifier
function for anything else): a genuine test or lint failure is never retried.
:func:`set_testing` turns every sleep off for test suites.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """What retries need of time; tests pass a fake one."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait *seconds*."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Seconds on the system's monotonic clock."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep, unless :func:`set_testing` turned sleeping off."""
        if not _testing:
            time.sleep(seconds)


_testing = False


def set_testing(*, testing: bool) -> None:
    """Turn every retry sleep of :class:`SystemClock` off (``True``) or back on."""
    global _testing  # noqa: PLW0603 - one process-wide switch, like stamina's
    _testing = testing


def is_testing() -> bool:
    """Whether retry sleeps are turned off."""
    return _testing


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    The delay before attempt ``n + 1`` is ``initial_delay * backoff ** (n - 1)``, capped
    at ``max_delay``, plus up to ``jitter`` seconds of random noise. No retry is started
    that would end past ``deadline`` seconds after the first attempt began.
    """

    attempts: int = 3
    initial_delay: float = 5.0
    backoff: float = 2.0
    max_delay: float = 60.0
    jitter: float = 1.0
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.attempts < 1:
            msg = f"attempts must be >= 1, got {self.attempts}"
            raise ValueError(msg)
        for name in ("initial_delay", "backoff", "max_delay", "jitter"):
            if getattr(self, name) < 0:
                msg = f"{name} must be >= 0, got {getattr(self, name)}"
                raise ValueError(msg)

    def delay(self, failed_attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after attempt number *failed_attempt* (1-based) failed."""
        base = min(self.initial_delay * self.backoff ** (failed_attempt - 1), self.max_delay)
        noise = (rng or random).uniform(0, self.jitter) if self.jitter else 0.0
        return base + noise

    def schedule(self, rng: random.Random | None = None) -> list[float]:
        """The delays between attempts, ignoring the deadline (for display and tests)."""
        return [self.delay(n, rng) for n in range(1, self.attempts)]


NO_RETRY = RetryPolicy(attempts=1, initial_delay=0, jitter=0)

# Output that means "the network let us down", not "the code is wrong".
NETWORK_ERROR_PATTERNS: tuple[str, ...] = (
    r"[Cc]onnection (?:reset|refused|aborted|timed out|closed)",
    r"[Tt]emporary failure in name resolution",
    r"[Nn]ame or service not known",
    r"[Nn]etwork is unreachable",
    r"[Rr]ead timed out",
    r"(?:HTTP|status)[^\n]{0,20}\b(?:429|500|502|503|504)\b",
    r"[Tt]oo [Mm]any [Rr]equests",
    r"[Ff]ailed to (?:download|fetch)",
    r"error sending request",
    r"[Cc]ould not resolve host",
    r"[Tt]he remote end hung up unexpectedly",
    r"RPC failed",
)


@dataclass(frozen=True)
class RetryOn:
    """What makes a failed command worth retrying: exit codes and/or output patterns."""

    exit_codes: frozenset[int] = frozenset()
    patterns: tuple[str, ...] = ()
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.exit_codes and not self.patterns:
            msg = "RetryOn needs exit codes or output patterns: say what is worth retrying"
            raise ValueError(msg)
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.patterns))

    def reason(self, returncode: int, output: str) -> str | None:
        """Why this failure is worth retrying, or ``None`` when it is not."""
        if returncode in self.exit_codes:
            return f"exit code {returncode}"
        for pattern in self._compiled:
            match = pattern.search(output)
            if match:
                return f"exit code {returncode}, output matched {match.group(0)!r}"
        return None


NETWORK_ERRORS = RetryOn(patterns=NETWORK_ERROR_PATTERNS)


def call_with_retries(
    func: Callable[[], T],
    *,
    policy: RetryPolicy,
    retryable: Callable[[Exception], str | None],
    log: Callable[[str], None],
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> T:
    """Call *func* until it returns, retrying only what *retryable* gives a reason for.

    *retryable* returns the reason (shown in the log) or ``None`` to fail at once. Each
    retry is logged as ``attempt 2/3 in 5.0 s: <reason>``. The last error is re-raised
    when attempts or the deadline run out.
    """
    clock = clock or SystemClock()
    start = clock.monotonic()
    attempt = 1
    while True:
        try:
            return func()
        except Exception as exc:
            reason = retryable(exc)
            if reason is None or attempt >= policy.attempts:
                raise
            delay = policy.delay(attempt, rng)
            if policy.deadline is not None:
                remaining = policy.deadline - (clock.monotonic() - start)
                if delay >= remaining:
                    log(
                        f"not retrying: the next attempt would start past the "
                        f"{policy.deadline:g} s deadline ({reason})"
                    )
                    raise
            attempt += 1
            log(f"attempt {attempt}/{policy.attempts} in {delay:.1f} s: {reason}")
            clock.sleep(delay)
