"""``ci-tasks parity``: reading results, choosing what to compare, and real runs side by side."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ci_tasks.adopt import parity
from ci_tasks.adopt.parity import Counts, Outcome
from ci_tasks.core import own_commands
from ci_tasks.core.actions import Output
from ci_tasks.core.own_commands import Command, Hook
from ci_tasks.core.runner import Runner
from tests.support.gitsupport import git
from tests.support.sample import REPO, Project, clean_env, make_adopter

# -- a real pytest run, read both ways ------------------------------------------------------

SUITE = {
    "pytest.ini": "[pytest]\n",
    "tests/__init__.py": "",
    "tests/test_outcomes.py": """\
        import pytest


        def test_passes():
            assert True


        class TestGroup:
            @pytest.mark.parametrize("n", [1, 2])
            def test_even(self, n):
                assert n % 2 == 0


        @pytest.mark.parametrize("expr", ["1 - 1"])
        def test_evaluates(expr):
            assert eval(expr) == 1


        def test_skipped():
            pytest.skip("not here")


        @pytest.mark.xfail(reason="known")
        def test_expected_to_fail():
            assert False


        def test_flaky(pytestconfig):
            marker = pytestconfig.rootpath / "flaky-ran-once"
            first = not marker.exists()
            marker.touch()
            assert not first
        """,
    "tests/test_broken.py": "import not_a_module_anywhere\n",
}
# Each outcome once or more: 3 passed (one after a rerun), 2 failed, 1 of each other.
SUITE_COUNTS = Counts(passed=3, failed=2, skipped=1, xfailed=1, errors=1)
SUITE_FAILING = {  # the key both readers give, and the id as pytest prints it
    "tests.test_outcomes.TestGroup::test_even[1]": (
        "tests/test_outcomes.py::TestGroup::test_even[1]"
    ),
    "tests.test_outcomes::test_evaluates[1 - 1]": "tests/test_outcomes.py::test_evaluates[1 - 1]",
    "::tests.test_broken": "tests/test_broken.py",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The terminal output and JUnit XML of one real pytest run over :data:`SUITE`."""
    root = tmp_path_factory.mktemp("suite")
    _write(root, SUITE)
    junit = root / "junit.xml"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"),
            *("--continue-on-collection-errors", "--reruns", "1", f"--junitxml={junit}", "tests"),
        ],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout, junit


def test_pytest_results_reads_each_outcome_of_a_real_run(real_run: tuple[str, Path]) -> None:
    """Counts from pytest's summary line, failing ids from its FAILED/ERROR lines."""
    counts, failing = parity.pytest_results(real_run[0])
    assert counts == SUITE_COUNTS
    assert failing == SUITE_FAILING


def test_junit_results_reads_each_outcome_of_the_same_run(real_run: tuple[str, Path]) -> None:
    """The JUnit XML pytest wrote gives the same counts; a rerun test counts once."""
    counts, failing = parity.junit_results(real_run[1])
    assert counts == SUITE_COUNTS
    assert set(failing) == set(SUITE_FAILING)


def test_both_readers_agree_on_the_same_run(real_run: tuple[str, Path]) -> None:
    """Terminal and JUnit give one Counts and one set of keys, so nothing is said to differ."""
    text, junit = real_run
    own_counts, own_failing = parity.pytest_results(text)
    session_counts, session_failing = parity.junit_results(junit)
    assert own_counts == session_counts
    assert own_failing.keys() == session_failing.keys()
    own = Outcome("pytest", "here", 1, counts=own_counts, failing=own_failing)
    session = Outcome("nox", "ci_tasks", 1, counts=session_counts, failing=session_failing)
    assert parity.differing(own, session) == ()
    assert parity.Row("tests", own, session).agrees


def test_two_pytest_runs_in_one_output_are_summed(real_run: tuple[str, Path]) -> None:
    """A recipe that runs pytest twice: both summary lines count."""
    counts, _ = parity.pytest_results(real_run[0] + "\n" + real_run[0])
    assert counts == SUITE_COUNTS + SUITE_COUNTS


def test_output_without_a_pytest_summary_has_no_counts() -> None:
    """A command that never got to pytest gives no counts, not zeros."""
    done = subprocess.run(
        ["bash", "-c", "not-a-program-anywhere tests"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 127  # the shell's "not found"
    assert parity.pytest_results(done.stdout + done.stderr) == (None, {})


def test_a_session_stopped_at_its_maxfail_is_compared_on_the_tests_it_ran(
    real_run: tuple[str, Path], tmp_path: Path
) -> None:
    """The project's failures a run cut short by --maxfail never reached are no difference.

    Those it did reach are still compared both ways: one it ran and passed where the
    project's command failed is named.
    """
    _write(tmp_path, SUITE)
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"),
            *("-p", "no:randomly", "--maxfail=1", f"--junitxml={junit}"),
            "tests/test_outcomes.py",
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert parity.stopped_early(done.stdout)
    assert not parity.stopped_early(real_run[0])
    counts, failing = parity.junit_results(junit)
    reached = parity.junit_keys(junit)
    assert set(failing) == {"tests.test_outcomes.TestGroup::test_even[1]"}
    assert "tests.test_outcomes::test_evaluates[1 - 1]" not in reached
    own_counts, own_failing = parity.pytest_results(real_run[0])
    own = Outcome("tox run", "tox.ini", 1, counts=own_counts, failing=own_failing)
    session = Outcome(
        "nox -s tests-3.11", "ci_tasks", 1, counts=counts, failing=failing, reached=reached
    )
    assert parity.differing(own, session) == ()
    assert parity.Row("tests", own, session).agrees
    unreached = dataclasses.replace(session, reached=None)  # as if it had run every test
    assert parity.differing(own, unreached) == (
        "tests/test_broken.py",
        "tests/test_outcomes.py::test_evaluates[1 - 1]",
    )
    ran_and_passed = dataclasses.replace(
        session, reached=reached | {"tests.test_outcomes::test_evaluates[1 - 1]"}
    )
    assert parity.differing(own, ran_and_passed) == (
        "tests/test_outcomes.py::test_evaluates[1 - 1]",
    )


def test_junit_results_of_a_missing_or_broken_file_is_none(tmp_path: Path) -> None:
    """No file, or half a file: no counts rather than a guess."""
    broken = tmp_path / "junit.xml"
    broken.write_text("<testsuites><testsuite><testcase", encoding="utf-8")
    assert parity.junit_results(tmp_path / "absent.xml") == (None, {})
    assert parity.junit_results(broken) == (None, {})


def test_differing_names_each_side_only_failure_as_that_side_shows_it(
    real_run: tuple[str, Path],
) -> None:
    """A test failing on one side only is named, in the form of the side it failed on."""
    own_failing = parity.pytest_results(real_run[0])[1]
    session_failing = dict(parity.junit_results(real_run[1])[1])
    del session_failing["tests.test_outcomes.TestGroup::test_even[1]"]
    session_failing["tests.test_other::test_new"] = "tests.test_other::test_new"
    own = Outcome("make test", "Makefile", 1, failing=own_failing)
    session = Outcome("nox -s tests-3.11", "ci_tasks", 1, failing=session_failing)
    assert parity.differing(own, session) == (
        "tests/test_outcomes.py::TestGroup::test_even[1]",
        "tests.test_other::test_new",
    )
    row = parity.Row("tests", own, session)
    assert not row.agrees
    assert row.first_difference() == (
        "tests: both failed, on different tests; outcome differs for "
        "tests/test_outcomes.py::TestGroup::test_even[1], tests.test_other::test_new"
    )


# -- a session nox skips is not run -----------------------------------------------------------

# 3.8 is no Python of this machine's (3.9 to 3.13 are): nox skips that session.
SKIPPED_NOXFILE = """\
import nox


@nox.session(python="3.8")
def tests(session):
    session.run("python", "-c", "pass")


@nox.session(python=["3.8", "3.11"])
def both(session):
    session.run("python", "-c", "pass")
"""


def _session_outcome(root: Path, session: str) -> Outcome:
    """What parity makes of a real nox running *session* of the project's noxfile."""
    (root / "noxfile.py").write_text(SKIPPED_NOXFILE, encoding="utf-8")
    out = Output(io.StringIO())
    runner = Runner(cwd=root, output=out, tail_lines=1_000_000)
    work = parity._Run(root, "3.11", runner, out, timeout=300)
    return work.session(parity.Pair("tests", session, ()), "uv")


@pytest.mark.parametrize("ci", ["", "true"], ids=["skipped-exit-0", "on-ci-failed"])
def test_a_nox_session_whose_python_is_missing_is_not_run_never_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    """A session whose Python is missing: nox skips it, exit 0 (fails it on CI). Not run.

    The note says why, so a row never claims an agreement nobody saw.
    """
    monkeypatch.delenv("CI", raising=False)
    if ci:
        monkeypatch.setenv("CI", ci)  # nox's own rule: then a missing Python is an error
    outcome = _session_outcome(tmp_path, "tests")
    assert (outcome.verdict, outcome.code) == ("not run", None), outcome.note
    assert outcome.note.startswith("not run: the Python it asks for is not installed here")
    assert "Python interpreter 3.8 not found" in outcome.note, outcome.note
    if not ci:
        assert "nox skipped tests: Python interpreter 3.8 not found" in outcome.note
    row = parity.Row("tests", Outcome("make test", "Makefile", 0), outcome)
    assert not row.compared
    assert "verdicts agree" not in parity.render([row])


def test_a_nox_run_with_one_session_skipped_keeps_the_verdict_of_those_that_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nox -s both` skips 3.8 and passes on 3.11: passed, and the skipped one is said."""
    monkeypatch.delenv("CI", raising=False)
    outcome = _session_outcome(tmp_path, "both")
    assert (outcome.verdict, outcome.code) == ("passed", 0), outcome.note
    assert "nox skipped both-3.8: Python interpreter 3.8 not found" in outcome.note


# -- what to compare, from real files -------------------------------------------------------

MAKEFILE = """\
.PHONY: test lint
test:
\tuv run --group tests pytest -m "not slow" tests
lint:
\truff check src
\truff format --check src
"""

PRE_COMMIT = """\
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: 3b5f4d8c0e9a1f2b6c7d8e9f0a1b2c3d4e5f6a7b  # frozen: v0.15.15
    hooks:
      - id: ruff-check
        args: [--fix]
      - id: ruff-format
  - repo: https://github.com/pre-commit/mirrors-mypy
    rev: v1.13.0
    hooks:
      - id: mypy
        additional_dependencies: [types-requests]
"""

TOX_INI = """\
[tox]
env_list = py3{10,11}-tests, lint

[testenv]
extras = test
commands =
    tests: pytest {posargs:tests}
    lint: ruff check src
"""


def test_pairs_of_a_makefile_are_its_test_and_lint_targets(tmp_path: Path) -> None:
    """`make test` is the tests row; `make lint`'s ruff check and format are lint's gates."""
    _write(tmp_path, {"Makefile": MAKEFILE})
    tests, lint = parity.pairs(own_commands.read(tmp_path), "3.11")
    assert (tests.stage, tests.session, tests.note) == ("tests", "tests-3.11", "")
    (test,) = tests.own
    assert isinstance(test, Command)
    assert (test.run, test.args, test.groups) == (
        ("make", "test"),
        ("-m", "not slow", "tests"),
        ("tests",),
    )
    assert (lint.stage, lint.session) == ("lint", "lint")
    assert [g.shown() for g in lint.own if isinstance(g, Command)] == [
        "ruff check src",
        "ruff format --check src",
    ]
    assert {g.run for g in lint.own if isinstance(g, Command)} == {("make", "lint")}


def test_pairs_of_pre_commit_hooks_are_lint_gates_at_their_frozen_versions(
    tmp_path: Path,
) -> None:
    """ruff-check, ruff-format and mypy hooks gate lint; a `# frozen:` rev is its version."""
    _write(tmp_path, {".pre-commit-config.yaml": PRE_COMMIT})
    (lint,) = parity.pairs(own_commands.read(tmp_path), "3.11")
    assert lint.stage == "lint"
    assert all(isinstance(g, Hook) for g in lint.own)
    hooks = [g for g in lint.own if isinstance(g, Hook)]
    assert [(h.id, h.version) for h in hooks] == [
        ("ruff-check", "0.15.15"),
        ("ruff-format", "0.15.15"),
        ("mypy", "1.13.0"),
    ]
    assert hooks[0].args == ("--fix",)
    assert hooks[2].additional_dependencies == ("types-requests",)


@pytest.mark.parametrize(
    ("python", "env", "note"),
    [
        ("3.11", "py311-tests", ""),
        ("3.10", "py310-tests", ""),
        ("3.12", "py310-tests", "the project's command runs Python 3.10; the session 3.12"),
    ],
)
def test_pairs_of_tox_factors_pick_the_env_of_the_asked_python(
    tmp_path: Path, python: str, env: str, note: str
) -> None:
    """A tox env_list `py3{10,11}-tests` gives that Python's env, else says which one it runs."""
    _write(tmp_path, {"tox.ini": TOX_INI})
    tests, lint = parity.pairs(own_commands.read(tmp_path), python)
    (test,) = tests.own
    assert isinstance(test, Command)
    assert (test.run, test.args, test.extras) == (("tox", "run", "-e", env), ("tests",), ("test",))
    assert (tests.session, tests.note) == (f"tests-{python}", note)
    (check,) = lint.own
    assert isinstance(check, Command)
    assert (check.shown(), check.run) == ("ruff check src", ("tox", "run", "-e", "lint"))


def test_pairs_of_a_project_without_commands_is_empty(tmp_path: Path) -> None:
    """No test or lint command of the project's own: nothing to compare."""
    _write(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\nversion = '0'\n"})
    assert parity.pairs(own_commands.read(tmp_path), "3.11") == []


# -- the project's files are only read ------------------------------------------------------

Snapshot = dict[str, tuple[int, int, str] | None]


def _snapshot(root: Path) -> Snapshot:
    """Every path outside ``.ci-tasks/``: files by mtime_ns, size and sha256; folders by name.

    git's ``index`` is left out: it is git's cache of file stats, which any ``git status``
    may refresh. Objects, refs and the rest of ``.git`` are in.
    """
    found: Snapshot = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if relative == ".ci-tasks" or relative.startswith(".ci-tasks/"):
            continue
        if relative == ".git/index":
            continue
        if path.is_dir() and not path.is_symlink():
            found[relative + "/"] = None
            continue
        stat = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "link"
        found[relative] = (stat.st_mtime_ns, stat.st_size, digest)
    return found


def _changes(before: Snapshot, after: Snapshot) -> list[str]:
    return [
        f"{name}: {before.get(name, 'absent')} -> {after.get(name, 'absent')}"
        for name in sorted(before.keys() | after.keys())
        if before.get(name, "absent") != after.get(name, "absent")
    ]


def test_reading_the_projects_own_commands_writes_nothing(tmp_path: Path) -> None:
    """The readers behind parity open the project's files and change none of them."""
    _write(
        tmp_path,
        {
            "Makefile": MAKEFILE,
            ".pre-commit-config.yaml": PRE_COMMIT,
            "tox.ini": TOX_INI,
            "justfile": "test:\n    uv run pytest tests\n",
            "noxfile.py": "import nox\n\n@nox.session(python=['3.11'])\n"
            "def tests(session):\n    session.install('.[test]')\n    session.run('pytest')\n",
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: pip install -e .[test]\n      - run: pytest -x tests\n",
            "pyproject.toml": "[project]\nname = 'x'\nversion = '0'\n"
            "[tool.hatch.envs.test.scripts]\nrun = 'pytest tests'\n",
        },
    )
    before = _snapshot(tmp_path)
    own = own_commands.read(tmp_path)
    for python in ("3.10", "3.11"):
        parity.pairs(own, python)
    assert own.commands
    assert _changes(before, _snapshot(tmp_path)) == []


# -- real runs: an adopted project whose Makefile runs its tests ----------------------------

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample"
version = "0.1.0"
requires-python = ">=3.11"

[dependency-groups]
tests = ["pytest>=8", "pytest-cov"]
"""

SAMPLE_TESTS = """\
import pytest

from sample import add


def test_add():
    assert add(1, 2) == 3


def test_not_here():
    pytest.skip("not on this machine")


@pytest.mark.xfail(reason="add is not string-safe", strict=True)
def test_strings():
    assert add("1", 2) == 3
"""

BROKEN_TEST = """\
from sample import add


def test_add_wrongly():
    assert add(1, 1) == 3
"""

QUARANTINE = """
[[tool.ci-tasks.tests.quarantine]]
test = "tests/test_broken.py::test_add_wrongly"
reason = "being fixed in #7"
until = 2099-12-31
"""


def _parity(project: Project) -> subprocess.CompletedProcess[str]:
    """``ci-tasks parity --stage tests`` as a maintainer runs it: bytecode written, no CI."""
    env = {k: v for k, v in clean_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(
        [sys.executable, "-m", "ci_tasks.cli", "parity", "--stage", "tests"],
        cwd=project.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _table(stdout: str) -> list[dict[str, str]]:
    """The rows of parity's table, cut at the header's columns."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("stage  command"))
    header = lines[start]
    names = header.split()
    offsets: list[int] = []
    for name in names:
        offsets.append(header.index(name, offsets[-1] + 1 if offsets else 0))
    rows = []
    for line in lines[start + 1 :]:
        if ": " in line[: offsets[1]]:  # the notes under the table
            break
        cells = [line[a:b].strip() for a, b in zip(offsets, [*offsets[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def _commit(project: Project, message: str) -> None:
    git(project.path, "add", "-A")
    git(project.path, "commit", "-qm", message)


@pytest.fixture
def adopted(tmp_path: Path) -> Project:
    """A project whose `make test` runs its tests, adopted with `init` and committed."""
    project = make_adopter(tmp_path, PYPROJECT)
    project.write("tests/test_sample.py", SAMPLE_TESTS)
    project.write(
        "Makefile",
        ".PHONY: test\ntest:\n\tuv run --group tests pytest --cov=sample tests\n",
    )
    _commit(project, "A Makefile that runs the tests")
    done = project.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    _commit(project, "Adopt ci-tasks")
    return project


@pytest.mark.slow
def test_parity_agrees_on_a_pass_and_a_shared_failure_and_names_a_difference(
    adopted: Project,
) -> None:
    """Green beside green, red beside red on one test: 0; a quarantine only ours has: 1."""
    root = adopted.path

    before = _snapshot(root)
    agreed = _parity(adopted)
    assert agreed.returncode == 0, agreed.stdout + agreed.stderr
    own, session = _table(agreed.stdout)
    assert (own["stage"], own["command"], own["from"]) == (
        "tests",
        "make test",
        "Makefile target 'test'",
    )
    assert (session["command"], session["from"]) == ("nox -s tests-3.11", "ci_tasks")
    for name in ("verdict", *parity._OUTCOMES):
        assert own[name] == session[name], (name, agreed.stdout)
    assert (own["verdict"], own["passed"], own["skipped"], own["xfailed"]) == (
        "passed",
        "1",
        "1",
        "1",
    )
    assert "tests: verdicts agree" in agreed.stdout
    assert _changes(before, _snapshot(root)) == [], agreed.stdout
    # What the project's own run left is kept, out of the tree.
    left = root / parity.LEFT / "1"
    assert (left / ".coverage").read_bytes().startswith(b"SQLite format 3"), agreed.stdout
    assert (left / ".pytest_cache").is_dir(), agreed.stdout
    assert ".coverage" in agreed.stdout, agreed.stdout
    assert ".pytest_cache/" in agreed.stdout, agreed.stdout

    adopted.write("tests/test_broken.py", BROKEN_TEST)
    _commit(adopted, "A genuinely failing test")
    before = _snapshot(root)
    both_red = _parity(adopted)
    assert both_red.returncode == 0, both_red.stdout + both_red.stderr
    own, session = _table(both_red.stdout)
    assert (
        (own["verdict"], own["failed"])
        == (session["verdict"], session["failed"])
        == ("failed", "1")
    )
    assert own["passed"] == session["passed"] == "1"
    assert "tests: verdicts agree" in both_red.stdout
    assert "outcome differs" not in both_red.stdout
    assert _changes(before, _snapshot(root)) == [], both_red.stdout

    adopted.write("pyproject.toml", (root / "pyproject.toml").read_text() + QUARANTINE)
    _commit(adopted, "Quarantine the failing test: only the session knows")
    before = _snapshot(root)
    differs = _parity(adopted)
    assert differs.returncode == 1, differs.stdout + differs.stderr
    own, session = _table(differs.stdout)
    assert (own["verdict"], session["verdict"]) == ("failed", "passed")
    assert "tests: verdicts DIFFER" in differs.stdout
    last = differs.stdout.strip().splitlines()[-1]
    assert last == "parity: tests: `make test` failed, `nox -s tests-3.11` passed", last
    assert _changes(before, _snapshot(root)) == [], differs.stdout
    assert git(root, "status", "--porcelain") == ""


@pytest.mark.slow
def test_parity_of_an_adopted_project_with_no_command_of_its_own_is_a_usage_error(
    tmp_path: Path,
) -> None:
    """The noxfile and workflows init wrote are no command of the project's: exit 2, one line."""
    project = make_adopter(tmp_path, PYPROJECT)
    done = project.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    _commit(project, "Adopt ci-tasks")
    before = _snapshot(tmp_path)
    refused = _parity(project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("ci-tasks: error: parity: no test or lint command of the project's own")
    assert "(read: " in line
    assert "Traceback" not in refused.stdout + refused.stderr
    assert _changes(before, _snapshot(tmp_path)) == []


def test_parity_before_init_says_to_run_init(tmp_path: Path) -> None:
    """A project with a test command but no noxfile: exit 2, naming the missing noxfile."""
    project = make_adopter(tmp_path, PYPROJECT)
    project.write("Makefile", "test:\n\tpytest tests\n")
    before = _snapshot(tmp_path)
    refused = _parity(project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert "noxfile.py does not exist; run `ci-tasks init` first" in line
    assert _changes(before, _snapshot(tmp_path)) == []
    assert not (tmp_path / ".ci-tasks").exists()
