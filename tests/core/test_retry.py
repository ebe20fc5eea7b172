"""Retry policies: backoff schedule, jitter bounds, the deadline, and what is retried."""

from __future__ import annotations

import random

import pytest

from ci_tasks.core.retry import NETWORK_ERRORS, RetryOn, RetryPolicy, call_with_retries


class FakeClock:
    """Time that passes only when someone sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Flaky:
    def __init__(self, failures, exc=None):
        self.failures = failures
        self.calls = 0
        self.exc = exc or ConnectionError("reset")

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return "done"


def network(exc):
    return "connection error" if isinstance(exc, ConnectionError) else None


def test_no_error_no_retry():
    """No error, no problem: one call, no sleep."""
    clock = FakeClock()
    func = Flaky(0)
    assert (
        call_with_retries(func, policy=RetryPolicy(), retryable=network, log=print, clock=clock)
        == "done"
    )
    assert func.calls == 1
    assert clock.sleeps == []


def test_backoff_schedule_is_exponential_and_capped():
    """Delays double from the initial delay and stop growing at max_delay."""
    policy = RetryPolicy(attempts=6, initial_delay=5, backoff=2, max_delay=30, jitter=0)
    assert policy.schedule() == [5, 10, 20, 30, 30]


@pytest.mark.parametrize("seed", range(5))
def test_jitter_stays_within_bounds(seed):
    """Jitter adds between 0 and `jitter` seconds to each delay."""
    policy = RetryPolicy(attempts=4, initial_delay=1, backoff=2, max_delay=60, jitter=0.5)
    for base, delay in zip([1, 2, 4], policy.schedule(random.Random(seed)), strict=True):
        assert base <= delay <= base + 0.5


def test_retries_until_success_with_logged_attempts():
    """A retryable error is retried with `attempt n/N in s` lines, sleeping the schedule."""
    clock, lines = FakeClock(), []
    func = Flaky(2)
    policy = RetryPolicy(attempts=3, initial_delay=5, jitter=0)
    assert (
        call_with_retries(func, policy=policy, retryable=network, log=lines.append, clock=clock)
        == "done"
    )
    assert clock.sleeps == [5, 10]
    assert lines == [
        "attempt 2/3 in 5.0 s: connection error",
        "attempt 3/3 in 10.0 s: connection error",
    ]


def test_gives_up_after_attempts():
    """When attempts run out the last error is raised."""
    clock = FakeClock()
    func = Flaky(10)
    with pytest.raises(ConnectionError):
        call_with_retries(
            func,
            policy=RetryPolicy(attempts=3, jitter=0),
            retryable=network,
            log=lambda _: None,
            clock=clock,
        )
    assert func.calls == 3


def test_non_retryable_error_fails_at_once():
    """An error the classifier does not name is raised on the first attempt."""
    clock = FakeClock()
    func = Flaky(1, exc=AssertionError("real failure"))
    with pytest.raises(AssertionError):
        call_with_retries(
            func, policy=RetryPolicy(), retryable=network, log=lambda _: None, clock=clock
        )
    assert func.calls == 1
    assert clock.sleeps == []


def test_deadline_stops_retrying():
    """No retry starts that would end past the overall deadline."""
    clock, lines = FakeClock(), []
    func = Flaky(10)
    policy = RetryPolicy(attempts=10, initial_delay=5, backoff=2, jitter=0, deadline=20)
    with pytest.raises(ConnectionError):
        call_with_retries(func, policy=policy, retryable=network, log=lines.append, clock=clock)
    # 5 + 10 = 15 s slept; the next 20 s wait would pass the deadline.
    assert clock.sleeps == [5, 10]
    assert "deadline" in lines[-1]


def test_retry_on_requires_a_statement():
    """RetryOn without exit codes or patterns is refused: say what is worth retrying."""
    with pytest.raises(ValueError, match="what is worth retrying"):
        RetryOn()


@pytest.mark.parametrize(
    ("output", "retried"),
    [
        ("error: Connection reset by peer", True),
        ("Temporary failure in name resolution", True),
        ("HTTP status server error (503 Service Unavailable)", True),
        ("Read timed out.", True),
        ("FAILED tests/test_x.py::test_y - assert 1 == 2", False),
        ("E501 line too long", False),
    ],
)
def test_network_errors_pattern(output, retried):
    """Network failures are recognised; test and lint failures are not."""
    assert (NETWORK_ERRORS.reason(1, output) is not None) is retried


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"initial_delay": -1}, {"jitter": -0.1}])
def test_policy_rejects_nonsense(bad):
    """Zero attempts or negative delays are refused."""
    with pytest.raises(ValueError, match="must be >="):
        RetryPolicy(**bad)
