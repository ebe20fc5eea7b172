"""Durations decide workers, split shards and reveal slow tests; shard records merge."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import types
import xml.etree.ElementTree as ET

import pytest

from ci_tasks.stages.readiness import checks, evidence
from ci_tasks.stages.testing import durations, environment, exit_codes, flaky, junit
from ci_tasks.stages.testing.command import PART_ENV, PLUGIN, usage_problem
from ci_tasks.stages.testing.flaky import TestResult

sys.path.insert(0, str(environment.PLUGIN_DIR))
import ci_tasks_recorder
import ci_tasks_split


def ids(count: int) -> list[str]:
    return [f"tests/test_m{i % 7}.py::test_{i}" for i in range(count)]


@pytest.mark.parametrize("shards", [1, 2, 3, 5])
@pytest.mark.parametrize("recorded", [False, True])
def test_every_test_runs_in_exactly_one_shard(shards, recorded):
    """The shards partition the suite: each test once, none lost, none twice."""
    nodeids = ids(103)
    costs = {n: (i % 13) * 0.37 + 0.01 for i, n in enumerate(nodeids)} if recorded else {}
    groups = ci_tasks_split.split(nodeids, costs, shards)
    flat = [n for group in groups for n in group]
    assert sorted(flat) == sorted(nodeids)
    assert len(groups) == shards


def test_split_is_balanced_by_recorded_durations():
    """One 30 s test and many short ones: the long one gets a shard nearly to itself."""
    nodeids = ids(61)
    costs = dict.fromkeys(nodeids, 0.5)
    costs[nodeids[10]] = 30.0
    groups = ci_tasks_split.split(nodeids, costs, 2)
    loads = [sum(costs[n] for n in group) for group in groups]
    assert max(loads) - min(loads) <= 1.0
    assert [nodeids[10]] == [n for g in groups for n in g if costs[n] == 30.0]
    by_count = ci_tasks_split.split(nodeids, {}, 2)
    assert sorted(len(g) for g in by_count) == [30, 31]  # nothing recorded: by count


def test_split_is_deterministic_and_ignores_collection_order():
    """Every worker and every shard job computes the same split from the same tests."""
    nodeids = ids(40)
    costs = {n: float(len(n) % 5) for n in nodeids}
    first = ci_tasks_split.split(nodeids, costs, 3)
    again = ci_tasks_split.split(list(reversed(nodeids)), costs, 3)
    assert [sorted(g) for g in first] == [sorted(g) for g in again]


@pytest.mark.parametrize("text", ["0/2", "3/2", "x/2", "1"])
def test_bad_shard_label_is_refused(text):
    """A shard label must be k/n with 1 <= k <= n."""
    with pytest.raises(ValueError, match=r"."):
        ci_tasks_split.parse_shard(text)


def result(nodeid: str, seconds: float, outcome: str = "passed") -> TestResult:
    return TestResult(nodeid, 1, outcome, (), seconds)


def test_slow_test_found_on_a_made_up_history():
    """More than 2x its median and over 1 s is slow; fast, steady or unrecorded tests are not."""
    store = {
        "t::grew": [0.4, 0.5, 0.45, 0.5],
        "t::steady": [3.0, 3.1, 2.9],
        "t::tiny": [0.01, 0.01, 0.02],
        "t::new_history": [0.1, 0.1],
    }
    now = [
        result("t::grew", 1.6),
        result("t::steady", 3.5),
        result("t::tiny", 0.9),  # 45x slower but under 1 s
        result("t::new_history", 5.0),  # two samples say too little
        result("t::unknown", 9.0),
    ]
    slow = durations.slow_regressions(now, store, factor=2.0, min_seconds=1.0)
    assert [(s.nodeid, s.median, s.runs) for s in slow] == [("t::grew", 0.475, 4)]
    assert "3.4x its median 0.47 s over 4 runs" in slow[0].describe()
    assert "`t::grew`" in durations.render_markdown(slow)


def test_store_keeps_a_window_and_forgets_deleted_tests_on_whole_runs():
    """Each test keeps its last `window` durations; a whole-suite run drops tests now gone."""
    store = {"t::a": [1.0, 2.0, 3.0], "t::gone": [1.0]}
    doc = durations.updated_store(store, [result("t::a", 4.0)], window=3, whole_suite=True)
    assert doc["tests"] == {"t::a": [2.0, 3.0, 4.0]}
    partial = durations.updated_store(store, [result("t::b", 1.0)], window=3, whole_suite=False)
    assert set(partial["tests"]) == {"t::a", "t::gone", "t::b"}
    assert durations.parse_store(doc) == doc["tests"]
    assert durations.parse_store({"schema": "other"}) is None


@pytest.mark.parametrize(
    ("recorded", "tests", "cores", "xdist", "workers", "said"),
    [
        (0.4, 30, 2, False, 1, "one process: recorded suite time 0.4 s (30 tests, 100% CPU)"),
        (0.6, 297, 4, False, 1, "as 4 pytest processes, no faster"),
        (7.5, 1500, 2, False, 2, "2 pytest processes: recorded suite time 7.5 s"),
        (130.0, 62000, 2, False, 2, "~66.5 s as 2"),  # no controller: the cores pay
        (6.0, 3, 8, False, 3, "3 pytest processes"),  # never more parts than tests
        (2.0, 297, 2, False, 1, "one process: recorded suite time 2.0 s"),  # a couple of s
        (1.1, 297, 2, False, 1, "one process"),  # the 297-test suite
        (45.0, 400, 1, False, 1, "one process: 1 core"),
        (None, 0, 2, False, 2, "no recorded suite duration yet"),
        (2.0, 297, 4, True, 1, "one process"),  # xdist's start-up outweighs 2 s
        (45.0, 400, 2, True, 2, "2 xdist workers: recorded suite time 45.0 s (400 tests)"),
        (130.0, 62000, 2, True, 1, "one process"),  # 2 ms tests: the controller's floor
    ],
)
def test_auto_workers_one_process_for_a_tiny_suite_several_for_a_long_one(  # noqa: PLR0917
    recorded, tests, cores, xdist, workers, said
):
    """`workers = "auto"` weighs the recorded suite time against what parallel parts cost."""
    choice = durations.choose_workers(recorded, cores, tests, xdist=xdist)
    assert choice.workers == workers
    assert said in choice.reason


def test_auto_workers_run_a_waiting_suite_in_more_processes_than_cores():
    """Tests that spend 35 % of their time on CPU run in 4 processes on 2 cores; CPU-bound, 2."""
    waiting = durations.choose_workers(7.5, 2, 1500, profile=durations.Profile(0.35, 1.0))
    assert waiting.workers == 4
    assert "35% CPU" in waiting.reason
    busy = durations.choose_workers(7.5, 2, 1500, profile=durations.Profile(1.0, 1.0))
    assert busy.workers == 2


def part(wall, tests, cpu, waited=None):
    return durations.PartTimes(wall, tests, cpu, waited)


def test_profile_share_leaves_out_waiting_for_a_core():
    """Two parts on one core, CPU-bound: they waited half the time; the share reads 100 %."""
    profile = durations.measured_profile([part(6, 5, 2.5, 2.5), part(6, 5, 2.5, 2.5)], 1)
    assert profile == durations.Profile(1.0, 1.0)


def test_profile_of_a_busy_run_without_wait_figures_is_not_read_as_waiting():
    """Four CPU-bound parts on 2 cores, the OS silent on waits: not a suite that waits."""
    busy = [part(11, 10, 5) for _ in range(4)]  # each got half a core
    assert durations.measured_profile(busy, 2).cpu_share == 1.0
    # Parts that mostly slept left the cores idle: their share is taken as measured.
    idle = [part(11, 10, 3) for _ in range(4)]
    assert durations.measured_profile(idle, 2).cpu_share == 0.3
    # A busy run never lowers the share recorded before.
    before = durations.Profile(0.6, 1.0)
    assert durations.measured_profile([part(11, 10, 9), part(11, 10, 9)], 2, before) == (
        durations.Profile(0.9, 1.0)
    )
    assert durations.measured_profile([part(5, 0, 0)], 2) is None  # xdist's controller


def test_profile_round_trips_through_the_store():
    """The profile a run measured is what the next run reads; a bad one gives defaults."""
    profile = durations.Profile(0.42, 0.8)
    document = durations.updated_store({}, [], window=3, whole_suite=True, profile=profile)
    assert durations.parse_profile(document) == profile
    assert durations.parse_profile({"profile": {"cpu_share": "x"}}) == durations.Profile()
    assert durations.stored_profile(document) == profile
    # A store written before any run was measured has none: "never measured", not defaults.
    unmeasured = durations.updated_store({}, [], window=3, whole_suite=True)
    assert durations.stored_profile(unmeasured) is None
    assert durations.stored_profile(None) is None


class _FakeDB:
    def __init__(self, sock: object) -> None:
        self.sock = sock


@pytest.mark.parametrize("kind", ["client", "listener"])
def test_rerunfailures_sockets_get_tcp_nodelay(kind, monkeypatch):
    """The recorder sets TCP_NODELAY on rerunfailures' status socket (worker and server)."""
    monkeypatch.delenv(ci_tasks_recorder.RECORD_ENV, raising=False)
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    sock = client if kind == "client" else server
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        config = types.SimpleNamespace(failures_db=_FakeDB(sock))
        ci_tasks_recorder.pytest_configure(config)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        client.close()
        server.close()


@pytest.mark.parametrize("db", [None, object(), _FakeDB(None), _FakeDB("not a socket")])
def test_rerunfailures_without_sockets_is_left_untouched(db, monkeypatch):
    """No xdist, or a rerunfailures without `failures_db.sock`: nothing is touched or raised."""
    monkeypatch.delenv(ci_tasks_recorder.RECORD_ENV, raising=False)
    config = types.SimpleNamespace(failures_db=db) if db is not None else types.SimpleNamespace()
    ci_tasks_recorder.pytest_configure(config)
    assert getattr(config, "failures_db", None) is db


@pytest.mark.parametrize(
    ("tail", "args", "expected"),
    [
        (
            (
                "ERROR: usage: pytest [options]\npytest: error: argument -n/--numprocesses: "
                "expected one argument"
            ),
            ["-n", "-n", "0"],
            "pytest rejected its command line: pytest: error: argument -n/--numprocesses:",
        ),
        (
            "pytest: error: unrecognized arguments: --frobnicate",
            ["--frobnicate"],
            "pytest rejected its command line: pytest: error: unrecognized arguments: --frob",
        ),
        (
            "pytest: error: unrecognized arguments: --reruns 2 --reruns-delay 1",
            [],
            "the tests stage needs pytest, pytest-rerunfailures",
        ),
    ],
)
def test_usage_error_shows_pytests_own_message(tail, args, expected):
    """The user's own bad argument gets pytest's message; a missing plugin gets the hint."""
    assert expected in usage_problem(tail, args)


def entry(session, shard, tests, rescued, date, ci_run="7-1", flaky=()):  # noqa: PLR0917
    return {
        "session": session,
        "shard": shard,
        "tests": tests,
        "rescued": rescued,
        "flaky": list(flaky),
        "date": date,
        "ci_run": ci_run,
        "commit": "abc",
    }


def history(*runs):
    return {"schema": "ci-tasks/flaky-history", "version": 1, "runs": list(runs)}


def test_shard_histories_merge_into_one_entry_per_suite_run():
    """Three shards of one CI run are one suite run; another Python's run stays apart."""
    merged = evidence.merge_histories(
        [
            history(entry("tests-shard1of3-3.11", [1, 3], 10, 1, "2026-11-30T09:01", flaky=["a"])),
            history(entry("tests-shard2of3-3.11", [2, 3], 11, 0, "2026-11-30T09:02")),
            history(entry("tests-shard3of3-3.11", [3, 3], 9, 2, "2026-11-30T09:03", flaky=["b"])),
            history(entry("tests-3.12", None, 30, 0, "2026-11-30T09:04")),
            history(entry("tests-shard1of3-3.11", [1, 3], 10, 0, "2026-11-30T10:00", "8-1")),
        ]
    )
    assert merged is not None
    rows = [(r["session"], r["tests"], r["rescued"], r["flaky"]) for r in merged["runs"]]
    assert rows == [
        ("tests-3.11", 30, 3, ["a", "b"]),
        ("tests-3.12", 30, 0, []),
        ("tests-3.11", 10, 0, []),
    ]
    assert evidence.merge_histories([None, {"x": 1}]) is None


COVERAGE = """<coverage line-rate="{rate}"><packages><package><classes>
<class filename="pkg/m.py"><lines>{lines}</lines></class>
</classes></package></packages></coverage>"""


def test_shard_coverage_is_combined_line_by_line():
    """Lines covered by any shard count once: two halves make the whole."""
    first = COVERAGE.format(
        rate=0.5, lines='<line number="1" hits="1"/><line number="2" hits="0"/>'
    )
    second = COVERAGE.format(
        rate=0.5, lines='<line number="1" hits="0"/><line number="2" hits="3"/>'
    )
    assert evidence.combined_coverage([first, second]) == 100.0
    assert evidence.combined_coverage([first]) == 50.0
    assert evidence.combined_coverage(["not xml"]) is None


def test_slow_tests_readiness_check():
    """Slow tests in any session's report fail the check; none pass it; no report: n/a."""
    report = evidence.Report(
        "flaky",
        ".ci-tasks/tests-3.11/flaky-report.json",
        {"session": "tests-3.11", "slow": [{"nodeid": "t::x", "seconds": 3.0, "median": 1.0}]},
    )
    failed = checks.slow_tests([report], 87.5)
    assert failed.status is checks.Status.FAIL
    assert "slower: t::x: 3.00 s, median 1.00 s (tests-3.11)" in failed.evidence
    assert "coverage 87.5 % (all sessions combined)" in failed.evidence
    clean = evidence.Report("flaky", report.path, {"slow": []})
    assert checks.slow_tests([clean]).status is checks.Status.PASS
    assert checks.slow_tests([]).status is checks.Status.NOT_APPLICABLE


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite \
name="pytest" errors="0" failures="{failures}" skipped="0" tests="{tests}" time="{time}">\
{cases}</testsuite></testsuites>"""


def test_parts_junit_files_merge_into_one_suite():
    """Every part's test cases in one suite; counts summed, the time the slowest part's."""
    first = JUNIT.format(
        failures=1, tests=2, time="2.0", cases='<testcase name="a"/><testcase name="b"/>'
    )
    second = JUNIT.format(failures=0, tests=1, time="3.5", cases='<testcase name="c"/>')
    empty = '<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="0" /></testsuites>'
    merged = junit.merge_junit([first, empty, second])
    assert ET.fromstring(merged).tag == "testsuites"  # noqa: S314 - well-formed, like the parts
    assert merged.count("<testsuite ") == 1
    assert [m for m in ("a", "b", "c") if f'<testcase name="{m}"' in merged] == ["a", "b", "c"]
    assert 'tests="3"' in merged
    assert 'failures="1"' in merged
    assert 'time="3.500"' in merged


@pytest.mark.parametrize(
    ("codes", "combined"),
    [
        ([0, 0], 0),
        ([0, 1], 1),
        ([5, 0], 0),  # a part left with no tests is no failure of the run
        ([5, 5], 5),  # nothing ran anywhere
        ([1, 4], 4),  # a refused command line outweighs failed tests
        ([2, 1], 2),
        ([0, -9], -9),  # a part killed by a signal
    ],
)
def test_parts_exit_codes_combine_by_what_they_say(codes, combined):
    """The run's exit code is its most telling part's."""
    assert exit_codes.combined_exit_code(codes) == combined


def test_parts_records_merge_into_one_run():
    """Tests of every part, one entry per collection error (each part sees it), stop kept."""
    error = TestResult("tests/test_bad.py", 1, "failed", ("ImportError",))
    passed = TestResult("tests/test_a.py::test_a", 1, "passed", ())
    failed = TestResult("tests/test_b.py::test_b", 2, "failed", ("boom",))
    merged = flaky.merge_runs(
        [
            flaky.RunResult((passed,), (error,), 1, None),
            flaky.RunResult((failed,), (error,), 1, "stopping after 1 failures"),
        ]
    )
    assert merged.results == (passed, failed)
    assert merged.collect_errors == (error,)
    assert merged.stopped == "stopping after 1 failures"
    assert [r.nodeid for r in merged.failed] == ["tests/test_bad.py", "tests/test_b.py::test_b"]


def test_a_part_refuses_xdist_on_top(tmp_path):
    """A part of a suite the session splits itself, asked for xdist too, stops in one line."""
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(environment.PLUGIN_DIR),
        PART_ENV: "1/2",
        "PYTEST_ADDOPTS": "",
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        PLUGIN,
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
    ]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "ci_tasks runs the suite as 2 pytest processes itself" in done.stderr


def test_auto_workers_keep_a_suite_that_failed_only_in_parts_in_one_process():
    """A recorded split-only failure, or coverage's per-part cost on a small gain: one process."""
    split = durations.Profile(1.0, 1.0, split_only_failures=2)
    choice = durations.choose_workers(60.0, 2, 1000, profile=split)
    assert choice.workers == 1
    assert "2 test(s) failed in the last run in parts and passed serially" in choice.reason
    plain = durations.choose_workers(4.0, 2, 300, profile=durations.Profile(1.0, 1.0))
    measured = durations.choose_workers(
        4.0, 2, 300, profile=durations.Profile(1.0, 1.0), coverage=True
    )
    assert (plain.workers, measured.workers) == (2, 1)
    document = durations.updated_store({}, [], window=3, whole_suite=True, profile=split)
    assert durations.parse_profile(document) == split  # remembered across runs
