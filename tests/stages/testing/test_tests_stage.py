"""The tests session end to end: real nox, uv and pytest on one locked sample project."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from ci_tasks.stages.testing import scope as test_scope
from ci_tasks.stages.testing.environment import usable_cores
from tests.support import github_fake as gh
from tests.support.gitsupport import git
from tests.support.localserver import serve
from tests.support.sample import TEST_TOOLS, clean_env, make_project, pyproject

pytestmark = pytest.mark.slow

DEV = list(TEST_TOOLS)
# Fast and one process by default; one test turns xdist on to show reruns are seen there,
# another runs the suite as two processes.
BASE = "[tool.ci-tasks.tests]\nreruns-delay = 0\n"
PYTEST_INI = """
[tool.pytest.ini_options]
markers = ["integration: talks to a real service"]
"""
FLAKY = """\
from pathlib import Path

COUNTER = Path(__file__).with_name("{name}.count")


def test_flaky():
    attempt = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(attempt + 1))
    assert attempt >= 1, f"first attempt {{attempt}} fails"
"""
FILES = {
    "tests/test_flaky.py": FLAKY.format(name="flaky"),
    "tests/test_broken.py": "def test_broken():\n    assert 1 == 2, 'always broken'\n",
}
# In every process, whether rerunfailures' status socket sends at once (TCP_NODELAY).
CONFTEST = """\
import os
import socket
from pathlib import Path


def pytest_sessionfinish(session):
    sock = getattr(getattr(session.config, "failures_db", None), "sock", None)
    if sock is not None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
        value = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        Path(__file__).with_name(f"nodelay-{worker}.out").write_text(str(value))
"""
FLAKY_ID = "tests/test_flaky.py::test_flaky"
BROKEN_ID = "tests/test_broken.py::test_broken"
SESSION_DIR = ".ci-tasks/tests-3.11"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("tests-stage")
    files = {**FILES, "tests/test_integration.py": INTEGRATION, "tests/conftest.py": CONFTEST}
    return make_project(root, dev=DEV, ci_tasks=BASE, extra=PYTEST_INI, files=files)


INTEGRATION = """\
from pathlib import Path

import pytest

COUNTER = Path(__file__).with_name("integration.count")


@pytest.mark.integration
def test_integration():
    attempt = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(attempt + 1))
    assert attempt >= 1, "first attempt fails"
"""


def run(project, *posargs, config="", env=None):
    """Configure the project, reset the counters, and run `nox -s tests -- posargs`."""
    if "workers" not in config:
        config = "workers = 0\n" + config
    project.write("pyproject.toml", pyproject(dev=DEV, ci_tasks=BASE + config, extra=PYTEST_INI))
    for counter in project.path.glob("tests/*.count"):
        counter.unlink()
    return project.nox("-r", "-s", "tests", "--", *posargs, env=env)


def flaky_report(project):
    return json.loads((project.path / SESSION_DIR / "flaky-report.json").read_text())


def test_flaky_test_is_reported_and_the_session_passes(project, tmp_path):
    """Fails once, passes on rerun: reported as flaky (under xdist); the session passes."""
    summary = tmp_path / "summary.md"
    result = run(
        project,
        "tests/test_flaky.py",
        "tests/test_sample.py",
        config='workers = 2\nparallel = "xdist"\n',
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 0, result.stdout
    report = flaky_report(project)
    assert report["schema"] == "ci-tasks/flaky-report"
    assert report["verdict"] == "passed"
    assert report["tests"] == 2
    [entry] = report["flaky"]
    assert entry["nodeid"] == FLAKY_ID
    assert entry["attempts"] == 2
    assert entry["outcome"] == "passed"
    assert "first attempt 0 fails" in entry["failures"][0]
    assert "flaky: 1 test(s) passed only on a rerun" in result.stdout
    history = json.loads((project.path / SESSION_DIR / "flaky-history.json").read_text())
    assert history["runs"][-1]["rescued"] == 1
    assert history["runs"][-1]["flaky"] == [FLAKY_ID]
    assert history["runs"][-1]["workers"] == 2
    for name in ("junit.xml", "coverage.xml", ".coverage"):
        assert (project.path / SESSION_DIR / name).is_file()
        assert not (project.path / name).exists()  # nothing lands in the project root
    # The stall is gone: every worker's socket to rerunfailures' server sends at once.
    nodelay = {p.name: p.read_text() for p in (project.path / "tests").glob("nodelay-*.out")}
    assert {"nodelay-gw0.out", "nodelay-gw1.out"} <= set(nodelay)
    assert set(nodelay.values()) == {"1"}
    assert "coverage: " in result.stdout
    text = summary.read_text()
    assert f"`{FLAKY_ID}`: 2 attempts; first failure: AssertionError: first attempt 0" in text
    assert "Coverage: **" in text


def test_fail_on_flaky_turns_the_flaky_pass_into_a_failure(project):
    """With --fail-on-flaky, the same rescued test fails the session."""
    result = run(project, "tests/test_flaky.py", "--fail-on-flaky")
    assert result.returncode == 1, result.stdout
    assert "flaky test(s) and --fail-on-flaky is set" in result.stdout
    assert flaky_report(project)["verdict"] == "failed"


def test_broken_test_fails_after_its_reruns(project):
    """A genuine failure is rerun (reruns = 2) inside pytest, then fails the session once."""
    result = run(project, "tests/test_broken.py", "tests/test_sample.py")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed, 2 rerun" in result.stdout
    assert f"1 test(s) failed: {BROKEN_ID}" in result.stdout
    assert result.stdout.count("test session starts") == 1  # the session was not retried
    assert flaky_report(project)["flaky"] == []


def test_quarantined_broken_test_is_listed_but_does_not_fail(project):
    """A quarantined failure is reported ("quarantined: 1 failed") and the session passes."""
    quarantine = (
        f'quarantine = [{{ test = "{BROKEN_ID}", reason = "bug 12", until = 2099-01-01 }}]\n'
    )
    result = run(project, "tests/test_broken.py", "tests/test_sample.py", config=quarantine)
    assert result.returncode == 0, result.stdout
    assert "quarantined: 1 failed" in result.stdout
    [entry] = flaky_report(project)["quarantined"]
    assert entry == {
        "test": BROKEN_ID,
        "reason": "bug 12",
        "until": "2099-01-01",
        "expired": False,
        "failed": [BROKEN_ID],
    }


def test_quarantined_failures_that_stop_the_run_fail_it(project):
    """Quarantined failures still count toward --maxfail; a run cut short cannot pass."""
    quarantine = (
        "maxfail = 1\n"
        f'quarantine = [{{ test = "{BROKEN_ID}", reason = "bug 12", until = 2099-01-01 }}]\n'
    )
    result = run(project, "tests/test_broken.py", "tests/test_sample.py", config=quarantine)
    assert result.returncode == 1, result.stdout
    assert "pytest stopped early (stopping after 1 failures); not every test ran" in result.stdout


def test_expired_quarantine_fails(project):
    """A quarantine past its `until` date fails the session even when the test passes."""
    quarantine = (
        'quarantine = [{ test = "tests/test_sample.py::*", reason = "x", until = 2020-01-01 }]\n'
    )
    result = run(project, "tests/test_sample.py", config=quarantine)
    assert result.returncode == 1, result.stdout
    assert "quarantine of 'tests/test_sample.py::*' expired on 2020-01-01" in result.stdout


def test_rerun_rule_by_marker(project):
    """With no global reruns, a marker rule still gives integration tests their reruns."""
    rule = (
        'reruns = 0\n[[tool.ci-tasks.tests.rerun]]\nmarker = "integration"\nreruns = 1\ndelay = 0\n'
    )
    result = run(project, "tests/test_integration.py", "tests/test_flaky.py", config=rule)
    assert result.returncode == 1, result.stdout  # test_flaky has no rerun: it fails
    report = flaky_report(project)
    assert [e["nodeid"] for e in report["flaky"]] == ["tests/test_integration.py::test_integration"]
    assert "1 test(s) failed: tests/test_flaky.py::test_flaky" in result.stdout


def test_users_bad_pytest_argument_gets_pytests_message(project):
    """`-- -n -n 0` is the user's mistake: pytest's own message, not a missing-plugin hint."""
    result = run(project, "-n", "-n", "0")
    assert result.returncode == 2, result.stdout
    assert "pytest rejected its command line: pytest: error: argument -n" in result.stdout
    assert "pytest-rerunfailures" not in result.stdout.split("pytest rejected")[-1]


def test_junit_xml_is_masked_before_it_is_kept(project):
    """A secret in a failure message never reaches the JUnit XML (an uploaded artifact)."""
    secret = "s3cr3t-value-4711"
    project.write(
        "tests/test_leak.py",
        "import os\n\ndef test_leak():\n    assert os.environ['MY_TOKEN'] == 'x'\n",
    )
    settings = 'secrets = ["MY_TOKEN"]\n' + BASE + "workers = 0\nreruns = 0\n"
    project.write("pyproject.toml", pyproject(dev=DEV, ci_tasks=settings, extra=PYTEST_INI))
    result = project.nox("-r", "-s", "tests", "--", "tests/test_leak.py", env={"MY_TOKEN": secret})
    (project.path / "tests/test_leak.py").unlink()
    assert result.returncode == 1, result.stdout
    junit = (project.path / SESSION_DIR / "junit.xml").read_text()
    assert "test_leak" in junit
    assert secret not in junit
    assert "assert '***' == 'x'" in result.stdout
    assert secret not in result.stdout


SHARDED = """\
import pytest


@pytest.mark.parametrize("n", range(25))
def test_many(n):
    assert n >= 0
"""


def test_shards_split_the_suite_each_test_once(tmp_path):
    """`shards = 2`: two ci sessions per Python, each test in exactly one, records apart."""
    config = "[tool.ci-tasks.tests]\nreruns-delay = 0\nshards = 2\nworkers = 0\n"
    files = {"tests/test_many.py": SHARDED, "tests/test_more.py": SHARDED}
    sample = make_project(tmp_path, dev=DEV, ci_tasks=config, files=files)
    listed = json.loads(sample.nox("-l", "--json").stdout)
    ci = sorted(s["session"] for s in listed if "ci" in s["tags"] and s["name"] != "lint")
    assert [s for s in ci if s.startswith("tests")] == [
        "tests-shard1of2-3.11",
        "tests-shard2of2-3.11",
    ]
    result = sample.nox("-s", "tests-shard1of2", "tests-shard2of2")
    assert result.returncode == 0, result.stdout
    ran = []
    for k in (1, 2):
        folder = sample.path / f".ci-tasks/tests-shard{k}of2-3.11"
        junit = (folder / "junit.xml").read_text()
        ran.append(set(re.findall(r'classname="([^"]+)" name="([^"]+)"', junit)))
        report = json.loads((folder / "flaky-report.json").read_text())
        assert report["shard"] == [k, 2]
        assert (folder / "coverage.xml").is_file()
        # Its own tests' durations, uploaded with its folder for the next CI run's split.
        recorded = json.loads((folder / "test-durations.json").read_text())["tests"]
        assert len(recorded) == len(ran[-1])
    assert not ran[0] & ran[1]
    assert len(ran[0] | ran[1]) == 51
    assert abs(len(ran[0]) - len(ran[1])) <= 1  # nothing recorded yet: split by count
    assert "shards: split by count: no recorded durations yet" in result.stdout
    assert not [
        p.name for p in sample.path.iterdir() if p.name.startswith(("junit", "cov", ".cov"))
    ]


GROUPS_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample"
version = "0.1.0"
requires-python = ">=3.11"

[dependency-groups]
tests = [{tools}, "freezegun>=1.2"]
lint = ["ruff"]
typing = ["typing-extensions"]
pre-commit = ["identify"]

[tool.uv]
default-groups = ["typing", "pre-commit"]

[tool.ci-tasks.tests]
reruns-delay = 0
workers = 0
"""
FROZEN = """\
import datetime as dt

from freezegun import freeze_time


@freeze_time("2012-01-14")
def test_frozen():
    assert dt.date.today() == dt.date(2012, 1, 14)
"""


def test_tests_group_is_synced(tmp_path):
    """Pytest's `tests` group is synced, not uv's default groups; -R syncs nothing.

    -r alone runs no `uv sync` while its stamp matches; a uv.toml or UV_INDEX_URL defeats it.
    """
    tools = ", ".join(f'"{t}"' for t in DEV)
    sample = make_project(tmp_path, lock=False, files={"tests/test_frozen.py": FROZEN})
    sample.write("pyproject.toml", GROUPS_PYPROJECT.format(tools=tools))
    sample.lock()
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    assert "2 passed" in result.stdout
    assert "groups: tests (lists pytest)\n" in result.stdout
    installed = {p.name.split("-")[0] for p in tmp_path.glob(".nox/*/lib/*/site-packages/*")}
    assert "freezegun" in installed
    assert not installed & {"typing_extensions", "identify"}
    # nox's -R (reuse, no install) makes no sync, as nox makes no install; -r alone syncs.
    reused = sample.nox("-R", "-s", "tests")
    assert reused.returncode == 0, reused.stdout
    assert "sync: skipped (-R / --no-install" in reused.stdout
    assert "2 passed" in reused.stdout
    stamped = sample.nox("-r", "-s", "tests")
    assert stamped.returncode == 0, stamped.stdout
    assert "sync: skipped (nothing uv reads changed since the last sync)" in stamped.stdout
    assert "Resolved " not in stamped.stdout  # no uv sync ran: it always says it resolved
    sample.write("uv.toml", 'link-mode = "copy"\n')
    synced = sample.nox("-r", "-s", "tests")
    assert synced.returncode == 0, synced.stdout
    assert f"sync: {sample.path / 'uv.toml'} changed since the last sync" in synced.stdout
    assert "Resolved " in synced.stdout
    indexed = sample.nox("-r", "-s", "tests", env={"UV_INDEX_URL": "https://pypi.org/simple"})
    assert indexed.returncode == 0, indexed.stdout
    assert "sync: UV_* environment changed since the last sync" in indexed.stdout
    assert "Resolved " in indexed.stdout


VERSION_FILE_PYPROJECT = """\
[build-system]
requires = ["hatchling", "hatch-vcs"]
build-backend = "hatchling.build"

[project]
name = "sample"
dynamic = ["version"]
requires-python = ">=3.11"

[dependency-groups]
dev = [{tools}]

[tool.hatch.version]
source = "vcs"

[tool.hatch.build.hooks.vcs]
version-file = "sample/_version.py"
"""


def test_a_version_file_the_build_writes_is_built_again_when_it_is_gone(tmp_path):
    """hatch-vcs' version file deleted since the last sync: the stamp does not skip it.

    uv would install its kept editable build again without building (pyproject.toml is
    unchanged), so the file stays gone and the package fails to import; tox, which
    builds every run, passes. The session rebuilds the project and says why.
    """
    tools = ", ".join(f'"{t}"' for t in DEV)
    files = {
        "pyproject.toml": VERSION_FILE_PYPROJECT.format(tools=tools),
        ".gitignore": ".nox/\nsample/_version.py\n",
        "sample/__init__.py": "from sample._version import __version__\n\n\n"
        "def add(a, b):\n    return a + b\n",
    }
    sample = make_project(tmp_path, lock=False, files=files)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "start"], ["tag", "v1.2.3"]):
        git(tmp_path, *args)
    sample.lock()
    first = sample.nox("-s", "tests")
    assert first.returncode == 0, first.stdout
    version_file = tmp_path / "sample" / "_version.py"
    assert version_file.is_file()
    version_file.unlink()  # as `git clean -fdX` would
    again = sample.nox("-r", "-s", "tests")
    assert again.returncode == 0, again.stdout
    assert "sync: sample/_version.py is gone (the project's build writes it): sample is built" in (
        again.stdout
    )
    assert version_file.is_file()
    stamped = sample.nox("-r", "-s", "tests")  # the file is back: the stamp holds again
    assert "sync: skipped (nothing uv reads changed since the last sync)" in stamped.stdout


PARTS = """\
import os

import pytest

from sample.halves import first, second


@pytest.mark.parametrize("n", range(20))
def test_part(n):
    with open("ran.txt", "a") as ran:
        part = os.environ.get("CI_TASKS_TEST_PART", "-") + "of"
        part += os.environ.get("CI_TASKS_TEST_PARTS", "-")
        ran.write(f"test_part[{n}] {part} {os.environ.get('PYTEST_XDIST_WORKER')}\\n")
    assert not (os.environ.get("FAIL") and n % 5 == 0), f"{n} fails on request"


def test_first():
    assert first() == 1


def test_second():
    assert second() == 2
"""
HALVES = "def first():\n    return 1\n\n\ndef second():\n    return 2\n"
PARTS_CONFIG = '[tool.ci-tasks.tests]\nreruns = 0\ncov-source = ["sample"]\nworkers = 2\n'
COVERAGE_FLOOR = "[tool.coverage.report]\nfail_under = 100\n"


def test_parts_run_each_test_once_and_merge_into_one_session(tmp_path):
    """Two pytest processes: each test once, one JUnit file, --lf keeps both parts' failures.

    Coverage is combined before the project's own fail_under is judged, on the whole run.
    """
    files = {"tests/test_parts.py": PARTS, "sample/halves.py": HALVES}
    sample = make_project(tmp_path, dev=DEV, ci_tasks=PARTS_CONFIG, files=files)
    result = sample.nox("-s", "tests", env={"FAIL": "1"})
    assert result.returncode == 1, result.stdout
    lines = [line.split() for line in (sample.path / "ran.txt").read_text().splitlines()]
    ran = [line for line in lines if line[1] != "-of-"]
    assert sorted(test for test, _, _ in ran) == sorted(f"test_part[{n}]" for n in range(20))
    # The split run's failures ran again in one process, and failed there too.
    serial = sorted(test for test, part, _ in lines if part == "-of-")
    assert serial == sorted(f"test_part[{n}]" for n in (0, 10, 15, 5))
    assert {xdist for _, _, xdist in ran} == {"None"}  # a part sees no xdist variable
    by_part = {part: {t for t, p, _ in ran if p == part} for _, part, _ in ran}
    assert set(by_part) == {"1of2", "2of2"}
    failing = {f"tests/test_parts.py::test_part[{n}]" for n in (0, 5, 10, 15)}
    assert {t.split("::")[1] for t in failing} & by_part["1of2"]
    assert {t.split("::")[1] for t in failing} & by_part["2of2"]  # failures in both parts
    assert "4 test(s) failed: " in result.stdout
    assert all(nodeid in result.stdout for nodeid in failing)
    report = json.loads((sample.path / SESSION_DIR / "flaky-report.json").read_text())
    assert report["tests"] == 23
    junit = (sample.path / SESSION_DIR / "junit.xml").read_text()
    assert junit.count("<testcase ") == 23
    assert 'tests="23"' in junit
    assert 'failures="4"' in junit
    assert not list((sample.path / SESSION_DIR).glob("junit.part*"))  # merged, then removed
    assert "[1/2] " in result.stdout
    assert "[2/2] " in result.stdout
    lastfailed = json.loads((sample.path / ".ci-tasks/cache/pytest/v/cache/lastfailed").read_text())
    assert set(lastfailed) == failing

    # Green, with the project's own floor of 100 % judged on the combined data.
    sample.write("pyproject.toml", pyproject(dev=DEV, ci_tasks=PARTS_CONFIG, extra=COVERAGE_FLOOR))
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    assert "coverage: auto: on, fail_under = 100 in pyproject.toml" in result.stdout
    assert "coverage total: 100 %; the project's fail_under" in result.stdout
    assert result.stdout.count("coverage total") == 1  # one total, the one judged
    assert "coverage: 100" not in result.stdout  # no second total, read from the XML
    folder = sample.path / SESSION_DIR
    assert (folder / ".coverage").is_file()
    assert not list(folder.glob(".coverage.part*"))  # combined, not left beside it

    # Without the test of the second half the floor is missed, and the session says so.
    result = sample.nox("-s", "tests", "--", "-k", "not test_second")
    assert result.returncode == 1
    assert "is under the project's fail_under (coverage's configuration) 100 %" in result.stdout

    # A project that chose xdist in pytest's own addopts keeps it: one pytest, its workers.
    extra = COVERAGE_FLOOR + '[tool.pytest.ini_options]\naddopts = ["-n", "2"]\n'
    sample.write("pyproject.toml", pyproject(dev=DEV, ci_tasks=PARTS_CONFIG, extra=extra))
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    assert "workers: one pytest, with the -n 2 of pytest's own addopts" in result.stdout
    assert "[1/2]" not in result.stdout
    assert "coverage total: 100 %" in result.stdout  # pytest-cov measured its workers


BY_FILE = """\
import os
from pathlib import Path

import pytest


@pytest.mark.parametrize("n", range(4))
def test_here(n):
    with open("ran.txt", "a") as ran:
        ran.write(f"{__name__} {n} {os.environ.get('CI_TASKS_TEST_PART', '-')}\\n")
    assert not (os.environ.get("FAIL") and n == 0), f"{n} fails on request"
"""


def test_parts_split_by_file_once_durations_are_recorded(tmp_path):
    """With durations recorded, each part's pytest collects its own files; new ones run once.

    The first run has no durations and splits by test; the second by file, with a file
    added since, which runs in one part; --lf keeps every part's failures.
    """
    config = "[tool.ci-tasks.tests]\nreruns = 0\ncoverage = false\nworkers = 2\n"
    files = {f"tests/test_{m}.py": BY_FILE for m in "abcd"}
    sample = make_project(tmp_path, dev=DEV, ci_tasks=config, files=files)
    first = sample.nox("-s", "tests")
    assert first.returncode == 0, first.stdout
    assert "split: by test: 0 recorded test file(s) for 2 parts" in first.stdout
    (sample.path / "ran.txt").unlink()
    sample.write("tests/test_new.py", BY_FILE)
    result = sample.nox("-R", "-s", "tests", env={"FAIL": "1"})
    assert result.returncode == 1, result.stdout
    assert "split: by file: part 1 " in result.stdout
    assert "; files not recorded yet: part " in result.stdout
    assert result.stdout.count("tests here, of its own files") == 2
    lines = [line.split() for line in (sample.path / "ran.txt").read_text().splitlines()]
    ran = Counter((module, n) for module, n, _ in lines if _ != "-")
    modules = {f"test_{m}" for m in ("a", "b", "c", "d", "new")}
    assert set(ran) == {(m, str(n)) for m in modules for n in range(4)}
    assert set(ran.values()) == {1}  # each test once, in one part
    by_part = {part: {m for m, _, p in lines if p == part} for _, _, part in lines if part != "-"}
    assert set(by_part) == {"1", "2"}
    assert not by_part["1"] & by_part["2"]  # a file's tests all in one part
    assert sum("test_new" in found for found in by_part.values()) == 1
    lastfailed = json.loads((sample.path / ".ci-tasks/cache/pytest/v/cache/lastfailed").read_text())
    assert set(lastfailed) == {f"tests/{m}.py::test_here[0]" for m in modules}


SPLIT_ONLY = """\
import os

import pytest


@pytest.mark.parametrize("n", range(6))
def test_shared(n):
    assert not (n == 3 and os.environ.get("CI_TASKS_TEST_PARTS")), "sees another part"
"""


def test_a_failure_only_a_split_run_sees_takes_the_serial_verdict(tmp_path):
    """A test failing only in parts passes serially: named, the session passes, then one process.

    The durations file records it, so `workers = "auto"` runs the suite serially next time.
    """
    config = "[tool.ci-tasks.tests]\nreruns = 0\ncoverage = false\nworkers = 2\n"
    sample = make_project(tmp_path, dev=DEV, ci_tasks=config, files={"tests/test_s.py": SPLIT_ONLY})
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    assert "split run: 1 failure(s); re-running them in one process" in result.stdout
    assert "split-only: 1 test(s) failed only in parts and passed serially" in result.stdout
    report = json.loads((sample.path / SESSION_DIR / "flaky-report.json").read_text())
    assert report["split_only"] == ["tests/test_s.py::test_shared[3]"]
    assert report["verdict"] == "passed"
    stored = json.loads((sample.path / ".ci-tasks/test-durations.json").read_text())
    assert stored["profile"]["split_only_failures"] == 1
    # The JUnit XML a CI test report reads says what the verdict says: one passed case.
    suite = ET.parse(sample.path / SESSION_DIR / "junit.xml").getroot()  # noqa: S314
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    cases = [c for c in suite.iter("testcase") if c.get("name") == "test_shared[3]"]
    assert [[child.tag for child in case] for case in cases] == [[]]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("7", "0", "0")
    sample.write("pyproject.toml", pyproject(dev=DEV, ci_tasks=config.replace("2", '"auto"')))
    again = sample.nox("-R", "-s", "tests")
    assert again.returncode == 0, again.stdout
    assert "workers: one process: 1 test(s) failed in the last run in parts" in again.stdout
    assert "[1/2]" not in again.stdout


BENCHMARKED = """\
import pytest


@pytest.mark.parametrize("n", range(4))
def test_sum(benchmark, n):
    assert benchmark.pedantic(sum, args=(range(n * 10),), rounds=2, iterations=1) >= 0
"""
WARNINGS_ARE_ERRORS = '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n'


def test_pytest_benchmark_with_warnings_as_errors_passes_in_parts_as_under_plain_pytest(
    tmp_path,
):
    """Parts set no xdist variable, so pytest-benchmark does not warn "xdist is on"; both pass."""
    config = "[tool.ci-tasks.tests]\nreruns = 0\nworkers = 2\n"
    # pytest-benchmark 5.2/5.3 read Node._nodeid, which pytest 9.2 no longer has.
    dev = ["pytest==8.4.2", "pytest-cov==7.1.0", "pytest-rerunfailures==16.7"]
    dev.append("pytest-benchmark==5.2.3")
    files = {"tests/test_bench.py": BENCHMARKED}
    sample = make_project(
        tmp_path, dev=dev, ci_tasks=config, extra=WARNINGS_ARE_ERRORS, files=files
    )
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    assert "[1/2] " in result.stdout
    assert "[2/2] " in result.stdout
    assert "PytestBenchmarkWarning" not in result.stdout
    pytest_bin = sample.path / ".nox" / "tests-3-11" / "bin" / "pytest"
    plain = subprocess.run(
        [str(pytest_bin), "-q"], cwd=sample.path, env=clean_env(), capture_output=True, check=False
    )
    assert plain.returncode == 0, plain.stdout


def test_coverage_on_without_coverage_installed_names_the_fix(tmp_path):
    """A floor turns auto coverage on; with no coverage in the test group: exit 2, the fix named."""
    dev = ["pytest==9.2.0", "pytest-rerunfailures==16.7"]
    config = "[tool.ci-tasks.tests]\nreruns = 0\nworkers = 0\n"
    sample = make_project(tmp_path, dev=dev, ci_tasks=config, extra=COVERAGE_FLOOR)
    result = sample.nox("-s", "tests")
    assert result.returncode == 2, result.stdout
    assert "coverage is on (auto: on, fail_under = 100 in pyproject.toml" in result.stdout
    assert "add coverage to the project's test dependency group" in result.stdout
    assert "coverage = false" in result.stdout


@pytest.mark.skipif(usable_cores() < 2, reason="one core: one process whatever was recorded")
def test_a_fresh_ci_checkout_runs_a_small_suite_in_one_process_by_the_last_runs_durations(
    tmp_path,
):
    """No durations in the checkout; the last CI run's say 51 ms: one pytest, history kept on."""
    config = "[tool.ci-tasks.tests]\nreruns = 0\ncoverage = false\n"  # workers = "auto"
    files = {"tests/test_many.py": SHARDED, "tests/test_more.py": SHARDED}
    # The session reads GitHub with its own token; the project's tests never see it.
    files["tests/test_token.py"] = (
        "import os\n\n\ndef test_no_token():\n"
        "    assert 'CI_TASKS_GITHUB_TOKEN' not in os.environ\n"
    )
    sample = make_project(tmp_path, dev=DEV, ci_tasks=config, files=files)
    nodeids = [f"tests/test_{m}.py::test_many[{n}]" for m in ("many", "more") for n in range(25)]
    nodeids += ["tests/test_sample.py::test_add", "tests/test_token.py::test_no_token"]
    last = {"schema": "ci-tasks/test-durations", "version": 1}
    last["tests"] = {nodeid: [0.001] for nodeid in nodeids}
    # The last CI run (#1234) finished before this one (2000) began, and uploaded them.
    fake, storage = gh.FakeGitHub(runs=gh.make_runs(["success"])), gh.FakeStorage()
    fake.current = {**fake.runs[0], "id": 2000, "run_started_at": "2026-11-01T01:00:00Z"}
    with serve(fake) as api, serve(storage) as blob:
        fake.base, fake.storage = api.url, gh.other_host(blob.url)
        archive = gh.zip_archive({"test-durations.json": json.dumps(last)})
        fake.upload(fake.runs[0], "ci-tasks-tests-3.11-ubuntu-latest", archive, storage)
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": api.url,
            "CI_TASKS_GITHUB_TOKEN": "ghs_fake-token-for-workers",
            "GITHUB_REPOSITORY": gh.REPO,
            "GITHUB_RUN_ID": "2000",
            "GITHUB_REF_NAME": "main",
            "GITHUB_WORKFLOW_REF": f"{gh.REPO}/.github/workflows/ci.yml@refs/heads/main",
        }
        result = sample.nox("-s", "tests", env=env)
    assert result.returncode == 0, result.stdout
    assert "workers: one process: recorded suite time 0.1 s (52 tests" in result.stdout
    assert "; by the durations CI run #1234 recorded (52 tests)" in result.stdout
    assert "[1/2]" not in result.stdout
    # Only the runner is told it, to mask it (`::add-mask::`); no line of the run shows it.
    shown = result.stdout.replace("::add-mask::ghs_fake-token-for-workers", "")
    assert "ghs_fake-token-for-workers" not in shown
    written = json.loads((sample.path / ".ci-tasks/test-durations.json").read_text())
    assert sorted(written["tests"]) == sorted(nodeids)
    assert all(len(values) == 2 and values[0] == 0.001 for values in written["tests"].values())


EXTRA_TEST = """\
from freezegun import freeze_time


@freeze_time("2012-01-14")
def test_needs_the_extra():
    import datetime as dt

    assert dt.date.today() == dt.date(2012, 1, 14)
"""
WITH_EXTRA = '\n[project.optional-dependencies]\ntime = ["freezegun"]\n'


def test_the_projects_own_test_command_gives_the_paths_and_extras(tmp_path):
    """`uv run --all-extras pytest tests`: bench/ uncollected, the extra in, a new failure fails."""
    files = {
        "justfile": "test:\n    uv run --all-extras pytest tests\n",
        "tests/test_extra.py": EXTRA_TEST,
        "bench/test_bench.py": "def test_bench():\n    assert False, 'not the suite'\n",
    }
    sample = make_project(tmp_path, dev=DEV, ci_tasks=BASE, extra=WITH_EXTRA, files=files)
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    assert "scope: pytest tests --all-extras (justfile recipe 'test'" in result.stdout
    report = json.loads((tmp_path / SESSION_DIR / "flaky-report.json").read_text())
    assert (report["tests"], report["verdict"]) == (2, "passed")
    assert "test_bench" not in result.stdout
    sample.write("tests/test_new.py", "def test_new():\n    assert False, 'new'\n")
    result = sample.nox("-r", "-s", "tests")
    assert result.returncode == 1, result.stdout
    assert "tests/test_new.py::test_new" in result.stdout


TOX_SETENV = """\
[testenv]
setenv =
    SAMPLE_FLAG=on
    SAMPLE_DATA={toxinidir}{/}data
    SAMPLE_TMP={envtmpdir}
commands = pytest {posargs:tests}
"""
ENV_TEST = """\
import os
from pathlib import Path


def test_the_command_sets_its_variables():
    assert os.environ.get("SAMPLE_FLAG") == "on"
    assert Path(os.environ["SAMPLE_DATA"]) == Path.cwd() / "data"
    assert "SAMPLE_TMP" not in os.environ
"""


def test_the_test_commands_variables_reach_pytest_expanded_or_said(tmp_path):
    """Setenv: a value and `{toxinidir}{/}` reach the tests; `{envtmpdir}` is said, never set."""
    files = {"tox.ini": TOX_SETENV, "tests/test_env.py": ENV_TEST}
    sample = make_project(tmp_path, dev=DEV, ci_tasks=BASE, files=files)
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    assert "scope: pytest tests SAMPLE_FLAG=on" in result.stdout
    assert "env: SAMPLE_TMP={envtmpdir}: not set ({envtmpdir} is the runner's own" in result.stdout
    report = json.loads((tmp_path / SESSION_DIR / "flaky-report.json").read_text())
    assert (report["tests"], report["verdict"]) == (2, "passed")
    # The same test without the variable fails: it is the command's setenv that passed it.
    sample.write("tox.ini", TOX_SETENV.replace("    SAMPLE_FLAG=on\n", ""))
    result = sample.nox("-r", "-s", "tests")
    assert result.returncode == 1, result.stdout
    assert "tests/test_env.py::test_the_command_sets_its_variables" in result.stdout


FLAKY_ONCE = """\
from pathlib import Path


def test_flaky_once(tmp_path_factory):
    mark = Path(__file__).with_name("ran-once")
    if not mark.exists():
        mark.write_text("1")
        assert False, "first attempt"
"""


def test_a_command_that_disables_plugin_autoload_still_gets_the_sessions_reruns(tmp_path):
    """Tox sets PYTEST_DISABLE_PLUGIN_AUTOLOAD=1: rerunfailures comes by -p; a new failure fails."""
    tox = "[testenv]\nsetenv =\n    PYTEST_DISABLE_PLUGIN_AUTOLOAD=1\ncommands = pytest tests\n"
    files = {"tox.ini": tox, "tests/test_flaky.py": FLAKY_ONCE}
    sample = make_project(tmp_path, dev=DEV, ci_tasks=BASE, files=files)
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    report = json.loads((tmp_path / SESSION_DIR / "flaky-report.json").read_text())
    assert (report["tests"], report["verdict"]) == (2, "passed")
    sample.write("tests/test_new.py", "def test_new():\n    assert False, 'new'\n")
    result = sample.nox("-r", "-s", "tests")
    assert result.returncode == 1, result.stdout
    assert "tests/test_new.py::test_new" in result.stdout


def test_the_sections_pytest_args_replace_the_test_commands(tmp_path):
    """`pytest-args = ["tests/unit"]`: only those are collected, said as the section's."""
    files = {
        "justfile": "test:\n    uv run pytest tests\n",
        "tests/unit/test_unit.py": "def test_unit():\n    assert True\n",
        "tests/other/test_other.py": "def test_other():\n    assert False, 'not in scope'\n",
    }
    config = BASE + 'pytest-args = ["tests/unit"]\n'
    sample = make_project(tmp_path, dev=DEV, ci_tasks=config, files=files)
    result = sample.nox("-s", "tests")
    assert result.returncode == 0, result.stdout
    assert (
        "scope: pytest tests/unit (pyproject.toml [tool.ci-tasks.tests] pytest-args; "
        "the rest: justfile recipe 'test': pytest tests)"
    ) in result.stdout
    report = json.loads((tmp_path / SESSION_DIR / "flaky-report.json").read_text())
    assert (report["tests"], report["verdict"]) == (1, "passed")


def test_the_scope_keeps_paths_and_selecting_options_only():
    """`-m`, `-k`, `--ignore` and paths are the project's scope; `-x`, `-n`, `--cov` are ours."""
    args = ("-x", "-n", "4", "-m", "not slow", "--cov=src", "tests", "--ignore=tests/big", "-kfast")
    assert test_scope.selected(args) == ("-m", "not slow", "tests", "--ignore=tests/big", "-kfast")


NOT_STRICT_INI = """
[tool.pytest.ini_options]
asyncio_mode = "auto"  # pytest-asyncio registers it, on another Python only
{addopts}
"""
UNKNOWN_MARKER = """\
import os

import pytest


@pytest.mark.undeclared
def test_marked():
    assert not os.environ.get("FAIL"), "fails on request"
"""
STRICT_CONFIG = "[tool.ci-tasks.tests]\nreruns = 0\nworkers = 0\ncoverage = false\n"


@pytest.fixture(scope="module")
def lenient(tmp_path_factory):
    """A project whose own pytest is not strict: an unknown ini option, an unknown marker."""
    root = tmp_path_factory.mktemp("lenient")
    extra = NOT_STRICT_INI.format(addopts="")
    files = {"tests/test_marked.py": UNKNOWN_MARKER}
    return make_project(root, dev=DEV, ci_tasks=STRICT_CONFIG, extra=extra, files=files)


def _plain_pytest(sample, env=None):
    """The maintainer's own `pytest`, in the session's environment."""
    pytest_bin = sample.path / ".nox" / "tests-3-11" / "bin" / "pytest"
    return subprocess.run(
        [str(pytest_bin), "-q", "-p", "no:cacheprovider"],
        cwd=sample.path,
        env=clean_env(env),
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_project_whose_pytest_is_not_strict_passes_with_warning_annotations(lenient):
    """Unknown ini option and marker: its own pytest passes with warnings, so does the session."""
    result = lenient.nox("-r", "-s", "tests")
    assert result.returncode == 0, result.stdout
    assert "strict: off (the project's pytest is not strict: no --strict-markers" in result.stdout
    assert (
        "warning: pyproject.toml: pytest PytestConfigWarning: Unknown config option: asyncio_mode"
        in result.stdout
    )
    marker = "warning: tests/test_marked.py:6: pytest PytestUnknownMarkWarning: Unknown pytest.mark"
    assert marker in result.stdout
    assert "pytest warned about its configuration or markers: 2 warning(s)" in result.stdout
    assert _plain_pytest(lenient).returncode == 0


def test_a_project_whose_pytest_is_not_strict_still_fails_a_failing_test(lenient):
    """Lenient about config, never about tests: a failing test fails, as its own pytest does."""
    result = lenient.nox("-r", "-s", "tests", env={"FAIL": "1"})
    assert result.returncode == 1, result.stdout
    assert "1 test(s) failed: tests/test_marked.py::test_marked" in result.stdout
    assert _plain_pytest(lenient, {"FAIL": "1"}).returncode == 1


def test_a_strict_project_with_an_unknown_marker_fails_as_its_own_pytest_does(tmp_path):
    """`--strict-markers` in its addopts: the session adds it, and fails on the unknown marker."""
    extra = NOT_STRICT_INI.format(addopts='addopts = "--strict-markers"')
    files = {"tests/test_marked.py": UNKNOWN_MARKER}
    sample = make_project(tmp_path, dev=DEV, ci_tasks=STRICT_CONFIG, extra=extra, files=files)
    result = sample.nox("-s", "tests")
    assert result.returncode == 1, result.stdout
    assert "strict: --strict-markers (pyproject.toml addopts)\n" in result.stdout
    assert "1 test(s) failed: tests/test_marked.py" in result.stdout
    assert "'undeclared' not found in `markers` configuration option" in result.stdout
    assert _plain_pytest(sample).returncode == 2  # its own pytest: interrupted, collection error
