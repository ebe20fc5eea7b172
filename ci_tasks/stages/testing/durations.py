"""Recorded test durations, and what they decide: processes, shards, slow-test regressions.

Pure functions over plain data. The store (``.ci-tasks/test-durations.json``) keeps each
test's last ``slow_window`` durations; the tests stage reads it before a run and, after a
whole-suite run, writes it back. Shard runs only read it, so every shard of a suite run
splits the same way.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ci_tasks.core import reports
from ci_tasks.stages.testing.flaky import TestResult

SCHEMA = "ci-tasks/test-durations"
VERSION = 1
FILE = reports.DURATIONS_FILE
MIN_SAMPLES = 3
"""A median over fewer recorded runs says too little to call a test slower."""
# What running the suite as several pytest processes adds besides each one's own start:
# the records, JUnit files and coverage data are merged, and parts never end together.
PROCESS_OVERHEAD_SECONDS = 0.5
COVERAGE_SECONDS_PER_PART = 0.3
"""Coverage's cost per extra process: its data file written at the end, then combined."""
MIN_SAVING_SECONDS = 1.0
"""Parts must save this much on the estimate: below it, noise and a loaded machine decide,
and one process is the plain run (a suite of a couple of seconds runs in one)."""
MIN_SAVING_SHARE = 0.15
"""...and this share of the serial estimate."""
START_SECONDS = 1.0
"""A pytest process's own time (start-up, collection, the end) until one is measured."""
MAX_PROCESSES_PER_CORE = 2
"""A suite whose tests mostly wait runs in up to this many processes per core."""
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
    profile: Profile | None = None,
) -> dict[str, Any]:
    """The store document with this run's durations appended (the last *window* kept).

    A whole-suite run also forgets tests it did not run (they were deleted or renamed).
    *profile* is the suite's (from this run, else the one recorded before).
    """
    ran = {r.nodeid: r.duration for r in results if r.outcome != "skipped"}
    kept = {} if whole_suite else {n: list(v) for n, v in store.items()}
    for nodeid, seconds in ran.items():
        kept[nodeid] = [*store.get(nodeid, []), round(seconds, 3)][-window:]
    document = {"schema": SCHEMA, "version": VERSION, "tests": dict(sorted(kept.items()))}
    if profile is not None:
        document["profile"] = profile.as_dict()
    return document


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


@dataclasses.dataclass(frozen=True)
class Profile:
    """What the suite's last whole run said about running it in parts."""

    cpu_share: float = 1.0
    """CPU time over wall time while its tests ran (their child processes included)."""
    start_seconds: float = START_SECONDS
    """A pytest process's own time: start-up, collection and the end, tests left out."""
    split_only_failures: int = 0
    """How many tests failed in the last run in parts yet passed serially (0: none seen)."""

    def as_dict(self) -> dict[str, float]:
        """The store document's ``profile``."""
        document = {"cpu_share": self.cpu_share, "start_seconds": self.start_seconds}
        if self.split_only_failures:
            document["split_only_failures"] = self.split_only_failures
        return document


def parse_profile(data: Any) -> Profile:
    """The profile in a store document; the defaults where it has none we can trust."""
    profile = data.get("profile") if isinstance(data, dict) else None
    if not isinstance(profile, dict):
        return Profile()
    share, start = profile.get("cpu_share"), profile.get("start_seconds")
    if not isinstance(share, int | float) or not isinstance(start, int | float):
        return Profile()
    split = profile.get("split_only_failures", 0)
    split = int(split) if isinstance(split, int) and split > 0 else 0
    return Profile(min(max(float(share), 0.05), 1.0), max(float(start), 0.0), split)


def stored_profile(data: Any) -> Profile | None:
    """The profile a store document carries (``None``: the suite was never measured)."""
    return parse_profile(data) if isinstance(data, dict) and "profile" in data else None


@dataclasses.dataclass(frozen=True)
class PartTimes:
    """What one pytest process of a run took, in seconds."""

    wall: float
    """The whole process, start to end."""
    tests: float
    """Its tests, one after another (wall time)."""
    cpu: float
    """Its tests' CPU time, their child processes included."""
    waited: float | None
    """How long its tests waited for a core (``None``: the OS does not say)."""


SATURATED = 0.9
"""Parts that kept this share of the cores busy may have queued for them."""


def measured_profile(
    parts: Sequence[PartTimes], cores: int, previous: Profile | None = None
) -> Profile | None:
    """The suite's profile from its parts' times; ``None`` when no test time was measured.

    The share of CPU leaves out the time tests waited for a core, so a CPU-bound suite in
    more processes than cores still reads as CPU-bound. Where the OS does not say how long
    they waited, a run that kept the cores busy cannot tell waiting from blocking: its
    share is read as if each part had had a core of its own, and never below *previous*.
    """
    tests = sum(p.tests - (p.waited or 0.0) for p in parts)
    if tests <= 0 or not parts:
        return None
    cpu = sum(p.cpu for p in parts)
    share = cpu / tests
    busiest = max(p.tests for p in parts)
    if any(p.waited is None for p in parts) and cpu >= SATURATED * cores * busiest:
        floor = previous.cpu_share if previous else 0.0
        share = max(floor, share * max(1.0, len(parts) / cores))
    start = statistics.median(max(p.wall - p.tests, 0.0) for p in parts)
    return Profile(round(min(max(share, 0.05), 1.0), 3), round(start, 3))


def process_seconds(
    recorded: float, cores: int, processes: int, profile: Profile, *, coverage: bool = False
) -> float:
    """Estimated wall time of a suite that took *recorded* seconds serially, in parts.

    Each process starts and collects (sharing the cores when there are more processes
    than cores); then the tests take the larger of their CPU time spread over the cores
    and their wall time spread over the processes; then the parts are merged (with
    *coverage*, their data files too).
    """
    start = profile.start_seconds * max(1.0, processes / cores)
    work = max(recorded * profile.cpu_share / cores, recorded / processes)
    merge = PROCESS_OVERHEAD_SECONDS + (COVERAGE_SECONDS_PER_PART * processes if coverage else 0)
    return start + work + merge


def pays(parallel: float, serial: float) -> bool:
    """Whether parts estimated at *parallel* seconds beat one process at *serial* clearly."""
    saving = serial - parallel
    return saving >= MIN_SAVING_SECONDS and saving >= MIN_SAVING_SHARE * serial


def choose_workers(
    recorded: float | None,
    cores: int,
    tests: int = 0,
    *,
    xdist: bool = False,
    profile: Profile | None = None,
    coverage: bool = False,
) -> WorkerChoice:
    """``workers = "auto"``: as many processes as pay (at least one per core), else one.

    *recorded* is the suite's serial test time and *tests* its size, from the last run;
    *profile* how much of that was CPU and what a process costs to start. A suite that
    mostly waits (on sleeps, sockets) runs in more processes than cores, up to
    :data:`MAX_PROCESSES_PER_CORE` per core. *xdist* prices pytest-xdist's workers (one per
    core) instead. With nothing recorded yet, one per core: a first run must not risk a
    long suite running serially. Parts must save clearly (:func:`pays`); *coverage* adds
    each part's data file to combine. A suite whose last run in parts had failures that a
    serial run did not have (:attr:`Profile.split_only_failures`) runs in one process.
    """
    what = "xdist workers" if xdist else "pytest processes"
    if cores < 2:  # noqa: PLR2004 - one core cannot run anything in parallel
        return WorkerChoice(1, f"one process: {cores} core available")
    if recorded is None:
        return WorkerChoice(cores, f"{cores} {what}: no recorded suite duration yet")
    known = profile or Profile()
    if known.split_only_failures and not xdist:
        return WorkerChoice(
            1,
            f"one process: {known.split_only_failures} test(s) failed in the last run in "
            "parts and passed serially; the suite is not safe to split",
        )
    if xdist:
        count = min(cores, tests) if tests else cores
        parallel = xdist_seconds(recorded, tests, count)
        serial = recorded
    else:
        most = MAX_PROCESSES_PER_CORE * cores
        choices = range(cores, (min(most, tests) if tests else cores) + 1) or [tests]

        def estimate(n: int) -> float:
            return process_seconds(recorded, cores, n, known, coverage=coverage)

        count = min(choices, key=lambda n: (estimate(n), n))
        parallel = estimate(count)
        serial = recorded + known.start_seconds
    cpu = "" if xdist else f", {known.cpu_share:.0%} CPU"
    said = f"recorded suite time {recorded:.1f} s ({tests} tests{cpu})"
    said += f"; ~{parallel:.1f} s as {count}"
    if pays(parallel, serial):
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
