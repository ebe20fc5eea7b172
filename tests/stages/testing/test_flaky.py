"""Flaky results, quarantine and the bounded flaky history, over plain data."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import pytest

from ci_tasks.core.actions import Output
from ci_tasks.core.config import Config, parse_config
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.testing import coverage, flaky, outputs, pytest_config
from ci_tasks.stages.testing import session as testsuite
from ci_tasks.stages.testing.command import pytest_command
from ci_tasks.stages.testing.config import QuarantineEntry, TestsConfig

PASS = [["setup", "passed", None], ["call", "passed", None], ["teardown", "passed", None]]
RERUN = [["setup", "passed", None], ["call", "rerun", "boom"], ["teardown", "passed", None]]
FAIL = [["setup", "passed", None], ["call", "failed", "still boom"], ["teardown", "passed", None]]


@pytest.mark.parametrize(
    ("reports", "attempts", "outcome", "failures", "is_flaky"),
    [
        (PASS, 1, "passed", (), False),
        (RERUN + PASS, 2, "passed", ("boom",), True),
        (RERUN + RERUN + FAIL, 3, "failed", ("boom", "boom", "still boom"), False),
        ([["setup", "skipped", None], ["teardown", "passed", None]], 1, "skipped", (), False),
        ([["setup", "rerun", "fixture"], *PASS], 2, "passed", ("fixture",), True),
        ([*PASS[:2], ["teardown", "failed", "td"]], 1, "failed", ("td",), False),
    ],
)
def test_summarise_attempts(reports, attempts, outcome, failures, is_flaky):
    """Attempts count reruns; the last attempt decides; failed attempts keep their message."""
    result = flaky.summarise("t::x", reports)
    assert (result.attempts, result.outcome, result.failures) == (attempts, outcome, failures)
    assert result.flaky is is_flaky


def test_parse_record_counts_tests_and_collection_errors():
    """Collection errors are failures; tests counts only tests that ran."""
    run = flaky.parse_record(
        {
            "tests": [{"nodeid": "a::x", "reports": PASS}, {"nodeid": "a::y", "reports": FAIL}],
            "collect_errors": [{"nodeid": "b.py", "message": "ImportError"}],
            "exitstatus": 1,
            "stopped": "stopping after 2 failures",
        }
    )
    assert run.tests == 2
    assert run.stopped == "stopping after 2 failures"
    assert [r.nodeid for r in run.failed] == ["b.py", "a::y"]
    with pytest.raises(ValueError, match="not a ci_tasks pytest record"):
        flaky.parse_record({"something": "else"})


@pytest.mark.parametrize(
    ("nodeid", "pattern", "hit"),
    [
        ("tests/t.py::test_a", "tests/t.py::test_a", True),
        ("tests/t.py::test_a[1]", "tests/t.py::test_a", True),
        ("tests/t.py::C::test_a", "tests/t.py::C", True),
        ("tests/t.py::test_ab", "tests/t.py::test_a", False),
        ("tests/net/t.py::test_a", "tests/net/*", True),
        ("tests/t.py::test_a", "tests/net/*", False),
    ],
)
def test_quarantine_matches(nodeid, pattern, hit):
    """A quarantine names a node id, its parametrisations and children, or a glob."""
    assert flaky.quarantine_matches(nodeid, pattern) is hit


def test_quarantine_excuses_failures_until_it_expires():
    """Live entries excuse their failures; expired ones excuse nothing and are listed."""
    run = flaky.parse_record(
        {"tests": [{"nodeid": "t.py::a", "reports": FAIL}, {"nodeid": "t.py::b", "reports": FAIL}]}
    )
    entries = [
        QuarantineEntry("t.py::a", "upstream bug", dt.date(2030, 1, 1)),
        QuarantineEntry("t.py::b", "forgotten", dt.date(2020, 1, 1)),
    ]
    result = flaky.apply_quarantine(run, entries, dt.date(2026, 6, 1))
    assert result.excused == ("t.py::a",)
    assert [e.test for e in result.expired] == ["t.py::b"]
    assert [(r["failed"], r["expired"]) for r in result.entries] == [
        (["t.py::a"], False),
        (["t.py::b"], True),
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('{ test = "t::a", until = 2030-01-01 }', "needs a 'reason'"),
        ('{ test = "t::a", reason = "  ", until = 2030-01-01 }', "needs a 'reason'"),
        ('{ test = "t::a", reason = "x" }', "needs 'until'"),
        ('{ test = "t::a", reason = "x", until = "soon" }', "expected a date"),
    ],
)
def test_bad_quarantine_entry_is_a_config_error(tmp_path, entry, problem):
    """A quarantine entry needs a reason and an expiry date; the error names the entry."""
    data = tomllib.loads(f"[tests]\nquarantine = [{entry}]\n")
    with pytest.raises(ConfigError, match=problem) as info:
        parse_config(data, tmp_path / "pyproject.toml")
    assert "quarantine[0]" in str(info.value)


def test_history_is_bounded():
    """Appending keeps only the last *limit* runs, oldest dropped first."""
    runs = [{"commit": str(i)} for i in range(5)]
    doc = flaky.append_history(runs, {"commit": "new"}, limit=3)
    assert doc["schema"] == "ci-tasks/flaky-history"
    assert [r["commit"] for r in doc["runs"]] == ["3", "4", "new"]


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"schema": "other", "runs": []}), json.dumps([1, 2])],
)
def test_unreadable_history_is_set_aside_and_restarted(tmp_path, content, capsys):
    """A history we cannot trust is renamed aside with a warning; a new one starts."""
    history = tmp_path / ".ci-tasks" / "tests" / "flaky-history.json"
    history.parent.mkdir(parents=True)
    history.write_text(content)
    ctx = StageContext("tests", Config(root=tmp_path), Runner(), output=Output(env={}))
    run = flaky.parse_record({"tests": [{"nodeid": "t::a", "reports": RERUN + PASS}]})
    entry = flaky.history_entry(run, None, "2026-11-30T09:00:00+00:00")
    testsuite._record_history(ctx, outputs.Outputs.of(ctx.section(TestsConfig), "tests"), entry)
    data = json.loads(history.read_text())
    assert [(r["tests"], r["rescued"], r["flaky"]) for r in data["runs"]] == [(1, 1, ["t::a"])]
    assert dt.datetime.fromisoformat(data["runs"][0]["date"]).tzinfo is not None
    aside = [p.name for p in history.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert Path(history.parent / aside[0]).read_text() == content
    assert "set aside" in capsys.readouterr().out


def test_posargs_fail_on_flaky_is_ours():
    """`--fail-on-flaky` is taken out of posargs; the rest go to pytest, after our defaults."""
    config = Config().section(TestsConfig)
    options = testsuite.parse_posargs(["-k", "x", "--fail-on-flaky"], config)
    assert options == testsuite.Options(fail_on_flaky=True, pytest_args=("-k", "x"))
    command = pytest_command(config, options.pytest_args, strict=("--strict-markers",))
    assert command[:3] == ["pytest", "-p", "ci_tasks_recorder"]
    assert command[-2:] == ["-k", "x"]
    for expected in ("--reruns", "--maxfail=5", "--strict-markers"):
        assert expected in command
    assert not [c for c in command if c.startswith("--cov")]  # no Measure: no coverage
    assert "-n" not in command  # parts are processes of our own, not xdist workers
    xdist = pytest_command(config, [], xdist=3, measure=coverage.Measure((".",), pytest_cov=True))
    assert xdist[xdist.index("-n") + 1] == "3"
    # Each process only measures; the session combines, reports and judges fail_under.
    assert xdist[-3:] == ["--cov=.", "--cov-report=", "--cov-fail-under=0"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, ["--source=."]),
        ({"pyproject.toml": '[tool.coverage.run]\nsource = ["pkg"]\n'}, []),
        ({"pyproject.toml": '[tool.coverage.run]\nsource_pkgs = ["pkg"]\n'}, []),
        ({".coveragerc": "[run]\nsource = pkg\n"}, []),
    ],
)
def test_coverage_runs_from_start_up_with_the_projects_own_source(tmp_path, files, expected):
    """Each pytest runs under `coverage run`; coverage's own `source` is respected, else `.`."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    measure = coverage.Measure.of(Config().section(TestsConfig), tmp_path, xdist=False)
    command = pytest_command(Config().section(TestsConfig), ["-k", "x"], measure=measure)
    head = ["python", "-m", "coverage", "run", *expected, "-m", "pytest"]
    assert command[: len(head)] == head
    assert not [c for c in command if c.startswith("--cov")]  # pytest-cov is not involved
    assert command[-2:] == ["-k", "x"]


def test_coverage_run_silences_the_projects_own_pytest_cov(tmp_path):
    """`--cov` in the project's addopts would measure twice: `--no-cov` turns pytest-cov off."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --cov=pkg --cov-report=term\n")
    measure = coverage.Measure.of(Config().section(TestsConfig), tmp_path, xdist=False)
    assert "--no-cov" in pytest_command(Config().section(TestsConfig), [], measure=measure)
    under_xdist = coverage.Measure.of(Config().section(TestsConfig), tmp_path, xdist=True)
    assert "--no-cov" not in pytest_command(Config().section(TestsConfig), [], measure=under_xdist)


@pytest.mark.parametrize(
    ("section", "total", "combined_later", "expected"),
    [
        ("", (10.0, 0, 0.0), False, []),
        ("fail-under = 80", (85.0, 1, 0.0), False, []),
        (
            "fail-under = 80",
            (79.5, 1, 0.0),
            False,
            ["coverage 79.5 % is under [tool.ci-tasks.tests] fail-under 80 %"],
        ),
        ("fail-under = 80", None, False, ["no coverage total in .ci-tasks/tests/coverage.xml"]),
        ("fail-under = 80", (79.5, 1, 0.0), True, []),  # CI: judged on every job combined
        (
            "",
            (99.6, 0, 100.0),
            False,
            ["coverage 99 % is under the project's fail_under (coverage's configuration) 100 %"],
        ),
        ("", (100.0, 0, 100.0), False, []),
        ("", (79.6, 0, 80.0), False, []),  # rounded as coverage's report rounds it
    ],
)
def test_fail_under(tmp_path, section, total, combined_later, expected):
    """The floor (ours, else coverage's) fails the run under it, as coverage judges it."""
    data = tomllib.loads(f"[tests]\n{section}\n")
    config = parse_config(data, tmp_path / "pyproject.toml").section(TestsConfig)
    measured = coverage.CoverageTotal(*total) if total else None
    floor = coverage.coverage_floor(config, measured)
    xml = ".ci-tasks/tests/coverage.xml"
    problems = coverage.coverage_problems(floor, measured, xml, combined_later=combined_later)
    assert problems == expected


def test_exit_code_without_failures_is_not_a_pass():
    """An exit code of 1 with no recorded failure, or of 2, fails closed."""
    run = flaky.parse_record({"tests": [{"nodeid": "t::a", "reports": PASS}]})
    none = flaky.apply_quarantine(run, [], dt.date(2026, 1, 1))
    assert testsuite.verdict_problems(0, run, none, fail_on_flaky=False) == []
    for code in (1, 2):
        problems = testsuite.verdict_problems(code, run, none, fail_on_flaky=False)
        assert problems == [f"pytest exited with code {code}"]


@pytest.mark.parametrize(
    ("args", "found"),
    [
        (["-n", "auto"], "-n auto"),
        (["-n4"], "-n 4"),
        (["--numprocesses=3", "-x"], "-n 3"),
        (["--numprocesses", "logical"], "-n logical"),
        (["-n", "0"], None),  # xdist told not to start workers
        (["-x", "--no-header"], None),
    ],
)
def test_xdist_is_seen_among_pytest_arguments(args, found):
    """`-n` in any of its spellings asks for xdist workers; `-n 0` does not."""
    assert pytest_config.asks_for_xdist(args) == found


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = ["-ra", "-n", "auto"]\n'),
        ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-ra -n auto"\n'),
        ("pytest.ini", "[pytest]\naddopts = -ra -n auto\n"),
        ("tox.ini", "[pytest]\naddopts = -n auto\n"),
        ("setup.cfg", "[tool:pytest]\naddopts = -n auto\n"),
        ("pytest.ini", '[pytest]\naddopts = -n auto -k "unpaired\n'),  # read, not a crash
    ],
)
def test_xdist_in_the_projects_own_addopts_is_found(tmp_path, monkeypatch, name, text):
    """Wherever the project configures pytest, `-n auto` in its addopts is found."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    (tmp_path / name).write_text(text)
    assert pytest_config.xdist_in_addopts(tmp_path) == "-n auto"


def test_pytest_reads_only_its_first_configuration_file(tmp_path, monkeypatch):
    """A pytest.ini wins over the pyproject table, as in pytest; PYTEST_ADDOPTS counts too."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -ra\n")
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-n 2"\n')
    assert pytest_config.xdist_in_addopts(tmp_path) is None
    monkeypatch.setenv("PYTEST_ADDOPTS", "-n 3")
    assert pytest_config.xdist_in_addopts(tmp_path) == "-n 3"


def test_a_failure_only_the_split_run_saw_takes_the_serial_verdict():
    """Failed in parts, passed serially: the serial outcome, named; a real failure stays."""
    split = flaky.parse_record(
        {"tests": [{"nodeid": "t::a", "reports": FAIL}, {"nodeid": "t::b", "reports": FAIL}]}
    )
    serial = flaky.parse_record(
        {"tests": [{"nodeid": "t::a", "reports": PASS}, {"nodeid": "t::b", "reports": FAIL}]}
    )
    confirmed, cleared = flaky.confirm_serially(split, serial)
    assert cleared == ("t::a",)
    assert [r.nodeid for r in confirmed.failed] == ["t::b"]
    assert confirmed.tests == 2


def test_a_rerun_only_the_split_run_needed_is_no_flaky_test():
    """Passed on a rerun in parts, first time serially: the split's, not flaky; else flaky."""
    split = flaky.parse_record(
        {
            "tests": [
                {"nodeid": "t::shared", "reports": RERUN + PASS},
                {"nodeid": "t::flaky", "reports": RERUN + PASS},
            ]
        }
    )
    serial = flaky.parse_record(
        {
            "tests": [
                {"nodeid": "t::shared", "reports": PASS},
                {"nodeid": "t::flaky", "reports": RERUN + PASS},
            ]
        }
    )
    assert [r.nodeid for r in split.flaky] == ["t::shared", "t::flaky"]
    confirmed, cleared = flaky.confirm_serially(split, serial)
    assert cleared == ("t::shared",)
    assert [r.nodeid for r in confirmed.flaky] == ["t::flaky"]
    assert not confirmed.failed
