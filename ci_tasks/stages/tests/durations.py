"""Recorded test durations, and what they decide: processes, shards, slow-test regressions.

Pure functions over plain data. The store (``.ci-tasks/test-durations.json``) keeps each
test's last ``slow_window`` durations; the tests stage reads it before a run and, after a
whole-suite run, writes it back. Shard runs only read it, so every shard of a suite run
splits the same way.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from ci_tasks.stages.tests.flaky import TestResult

SCHEMA = "ci-tasks/test-durations"
VERSION = 1
FILE = "test-durations.json"
MIN_SAMPLES = 3
"""A median over fewer recorded runs says too little to call a test slower."""
# What running the suite as several pytest processes adds: each starts and collects on
# its own core while the others do (no wall time), then the records, JUnit files and
# coverage data are merged, and the parts never end at quite the same moment.
PROCESS_OVERHEAD_SECONDS = 0.5
# pytest-xdist (parallel = "xdist"): the controller starts each worker (a new interpreter
# that imports pytest, the plugins and coverage) and every worker collects the suite.
# `pytest -n 2` against `pytest` on a one-test project, 2 cores: 1.2-2.5 s more.
XDIST_START_SECONDS = 1.0
XDIST_START_PER_WORKER = 0.4
# Under xdist every test's reports travel to the controller, which handles them one after
# another: a floor on the run however many workers there are. pypa/packaging's
# tests/test_specifiers.py (2,033 tests of ~2 ms) takes 4.1 s serially, 8.1 s with -n 2.
XDIST_SECONDS_PER_TEST = 0.0025

Store = dict[str, list[float]]


def parse_store(data: Any) -> Store | None:
    """The durations in a store document (``{}`` for none); ``None`` when it is not one."""
    if data is None:
        return {}
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return None
    tests = data.get("tests")
    if not isinstance(tests, dict):
        return None
    return {
        str(nodeid): [float(d) for d in values if isinstance(d, int | float)]
        for nodeid, values in tests.items()
        if isinstance(values, list)
    }


def updated_store(
    store: Mapping[str, list[float]],
    results: Iterable[TestResult],
    *,
    window: int,
    whole_suite: bool,
) -> dict[str, Any]:
    """The store document with this run's durations appended (the last *window* kept).

    A whole-suite run also forgets tests it did not run (they were deleted or renamed).
    """
    ran = {r.nodeid: r.duration for r in results if r.outcome != "skipped"}
    kept = {} if whole_suite else {n: list(v) for n, v in store.items()}
    for nodeid, seconds in ran.items():
        kept[nodeid] = [*store.get(nodeid, []), round(seconds, 3)][-window:]
    return {"schema": SCHEMA, "version": VERSION, "tests": dict(sorted(kept.items()))}


def latest(store: Mapping[str, list[float]]) -> dict[str, float]:
    """Each test's median recorded duration: the costs a shard split balances."""
    return {n: statistics.median(v) for n, v in store.items() if v}


def serial_seconds(store: Mapping[str, list[float]]) -> float | None:
    """What the suite's tests took one after another on their last recorded run."""
    values = [v[-1] for v in store.values() if v]
    return sum(values) if values else None


@dataclasses.dataclass(frozen=True)
class WorkerChoice:
    """How many pytest processes (or xdist workers) to use (1: one process), and why."""

    workers: int
    reason: str


def xdist_seconds(recorded: float, tests: int, cores: int) -> float:
    """Estimated wall time of a suite that took *recorded* seconds serially, under xdist.

    Start-up, then the larger of the work spread over *cores* and the controller's share.
    """
    start = XDIST_START_SECONDS + XDIST_START_PER_WORKER * cores
    return start + max(recorded / cores, XDIST_SECONDS_PER_TEST * tests)


def process_seconds(recorded: float, cores: int) -> float:
    """Estimated wall time of a suite that took *recorded* seconds serially, in *cores* parts."""
    return PROCESS_OVERHEAD_SECONDS + recorded / cores


def choose_workers(
    recorded: float | None, cores: int, tests: int = 0, *, xdist: bool = False
) -> WorkerChoice:
    """``workers = "auto"``: one process per core where that pays, else one process.

    *recorded* is the suite's serial test time and *tests* its size, from the last run;
    *xdist* prices pytest-xdist's workers instead of ci_tasks' processes. Parallel pays
    when its estimate beats the serial time. With nothing recorded yet, every core: a
    first run must not risk a long suite running serially.
    """
    what = "xdist workers" if xdist else "pytest processes"
    if cores < 2:  # noqa: PLR2004 - one core cannot run anything in parallel
        return WorkerChoice(1, f"one process: {cores} core available")
    if recorded is None:
        return WorkerChoice(cores, f"{cores} {what}: no recorded suite duration yet")
    count = min(cores, tests) if tests else cores
    parallel = xdist_seconds(recorded, tests, count) if xdist else process_seconds(recorded, count)
    said = f"recorded suite time {recorded:.1f} s ({tests} tests); ~{parallel:.1f} s as {count}"
    if parallel < recorded:
        return WorkerChoice(count, f"{count} {what}: {said}")
    return WorkerChoice(1, f"one process: {said} {what}, no faster")


@dataclasses.dataclass(frozen=True)
class SlowTest:
    """A test that took much longer than it used to."""

    nodeid: str
    seconds: float
    median: float
    runs: int
    """How many recorded durations the median is over."""

    def as_dict(self) -> dict[str, Any]:
        """The entry of the report."""
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One line: the test, now and before."""
        factor = self.seconds / self.median if self.median else float("inf")
        return (
            f"{self.nodeid}: {self.seconds:.2f} s, {factor:.1f}x its median "
            f"{self.median:.2f} s over {self.runs} runs"
        )


def slow_regressions(
    results: Iterable[TestResult],
    store: Mapping[str, list[float]],
    *,
    factor: float,
    min_seconds: float,
) -> list[SlowTest]:
    """Tests that took more than *factor* times their recorded median and *min_seconds*.

    Compared with the durations recorded before this run; a test with fewer than
    :data:`MIN_SAMPLES` recorded runs is not judged. Slowest first.
    """
    slow = []
    for result in results:
        past = store.get(result.nodeid, [])
        if result.outcome == "skipped" or len(past) < MIN_SAMPLES:
            continue
        median = statistics.median(past)
        if result.duration > min_seconds and result.duration > factor * median:
            slow.append(SlowTest(result.nodeid, result.duration, median, len(past)))
    return sorted(slow, key=lambda s: (-s.seconds, s.nodeid))


def render_markdown(slow: Iterable[SlowTest]) -> str:
    """The step-summary lines for slow-test regressions (empty when there are none)."""
    rows = list(slow)
    if not rows:
        return ""
    lines = ["", f"**Slower** ({len(rows)}: much slower than their recorded median):", ""]
    lines += [f"* `{s.nodeid}`: {s.describe().split(': ', 1)[1]}" for s in rows]
    return "\n".join(lines) + "\n"
