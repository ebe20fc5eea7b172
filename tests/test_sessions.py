"""Registration and the nox glue: sessions appear, verdicts become exit codes, venvs are used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.sample import TEST_TOOLS, Project, clean_env, make_project

STAGES_NOXFILE = """\
import nox

from ci_tasks import CheckFailed, ConfigError, Runner
from ci_tasks.core.stage import nox_session
from ci_tasks.core.config import load_config

config = load_config()


def ok(ctx):
    \"\"\"Passes.\"\"\"
    ctx.output.line("ok stage ran")


def finds(ctx):
    \"\"\"Finds a problem.\"\"\"
    raise CheckFailed("found 2 problems")


def broken(ctx):
    \"\"\"Cannot run.\"\"\"
    raise ConfigError("pyproject.toml: tool.ci-tasks.x: expected a table, got 3")


def venv(ctx):
    \"\"\"Runs python from the session venv.\"\"\"
    ctx.runner.run(["python", "-c", "import sys; print('prefix=' + sys.prefix)"])


def slow(ctx):
    \"\"\"Runs past the session timeout.\"\"\"
    ctx.runner.run(["python", "-c", "import time; time.sleep(30)"])


for stage in (ok, finds, broken):
    nox_session(stage, name=stage.__name__, config=config, venv_backend="none", timeout=600)
nox_session(venv, name="venv", config=config, timeout=600)
nox_session(slow, name="slow", config=config, venv_backend="none", timeout_key="lint")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(
        tmp_path_factory.mktemp("sessions"),
        dev=TEST_TOOLS,
        ci_tasks="tests = { workers = 0 }",
    )


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    project = make_project(
        tmp_path_factory.mktemp("stages"), lock=False, ci_tasks="timeouts = { lint = 1 }"
    )
    project.write("noxfile.py", STAGES_NOXFILE)
    return project


def test_register_lists_sessions_tagged_ci(project):
    """ci_tasks.register() makes lint and tests (one per Python) visible to nox, tagged ci."""
    done = project.nox("-l", "--json")
    assert done.returncode == 0, done.stdout
    listing = json.loads(done.stdout.strip().splitlines()[-1])
    names = {s["session"]: s for s in listing}
    assert {"lint", "tests-3.11"} <= set(names)
    assert "ci" in names["lint"]["tags"]


def test_noxfile_run_as_a_script_sees_sessions(project):
    """A noxfile executed as a script (nox.main()) registers the same sessions."""
    project.write(
        "noxfile.py",
        project.path.joinpath("noxfile.py").read_text()
        + "\nif __name__ == '__main__':\n    nox.main()\n",
    )
    done = subprocess.run(
        [sys.executable, "noxfile.py", "-l"],
        cwd=project.path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "lint" in done.stdout
    assert "tests-3.11" in done.stdout


def test_invalid_config_stops_nox_with_exit_2(tmp_path):
    """A typo in [tool.ci-tasks] ends nox with one line naming file and key, exit 2."""
    bad = make_project(tmp_path, lock=False, ci_tasks="[tool.ci-tasks.retry]\natempts = 2")
    done = bad.nox("-l")
    assert done.returncode == 2
    assert "Traceback" not in done.stdout
    error = [line for line in done.stdout.splitlines() if "error" in line]
    assert len(error) == 1
    assert (
        "pyproject.toml: unknown key 'tool.ci-tasks.retry.atempts'; did you mean 'attempts'?"
        in error[0]
    )


def test_cli_config_error_is_exit_2(tmp_path):
    """`ci-tasks config` with a wrong type prints one line on stderr and exits 2."""
    bad = make_project(tmp_path, lock=False, ci_tasks="[tool.ci-tasks.timeouts]\ntests = -1")
    done = bad.ci_tasks("config")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "tool.ci-tasks.timeouts.tests: expected a number >= 1, got -1" in done.stderr


def test_cli_usage_error_is_exit_2(project):
    """An unknown subcommand is a usage error, exit 2."""
    done = project.ci_tasks("frobnicate")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


@pytest.mark.parametrize(
    ("session", "code", "expected"),
    [
        ("ok", 0, "ok: passed"),
        ("finds", 1, "finds: failed"),
        ("broken", 2, "broken: could not run"),
    ],
)
def test_stage_verdicts_become_exit_codes(stages, session, code, expected):
    """A passing stage exits 0, a finding 1, a stage that could not run 2."""
    done = stages.nox("-s", session)
    assert done.returncode == code, done.stdout
    assert expected in done.stdout
    assert "Traceback" not in done.stdout


def test_session_timeout_kills_the_stage(stages):
    """A stage running past its session's configured timeout fails, it does not hang."""
    done = stages.nox("-s", "slow", timeout=60)
    assert done.returncode == 1
    # lint's configured 1 s, all of it left when the command started: not what was left after.
    assert "timed out after 1.0 s, all that was left of the session's timeout" in done.stdout


def test_runner_uses_the_session_venv(stages):
    """Inside a session, commands run with the session's venv first on PATH."""
    done = stages.nox("-s", "venv")
    assert done.returncode == 0, done.stdout
    prefix = next(line for line in done.stdout.splitlines() if line.startswith("prefix="))
    assert ".nox" in prefix


def test_tests_session_runs_pytest_from_the_lock(project: Project):
    """The tests session installs the locked environment and runs the project's tests."""
    done = project.nox("-s", "tests")
    assert done.returncode == 0, done.stdout
    assert "1 passed" in done.stdout
    project.write("tests/test_broken.py", "def test_broken():\n    assert False\n")
    try:
        done = project.nox("-s", "tests")
        assert done.returncode == 1
        assert "tests: failed" in done.stdout
    finally:
        project.path.joinpath("tests/test_broken.py").unlink()


HELP = {
    "lint": "passed to `ruff check`",
    "tests-3.11": "everything else is passed to pytest",
    "security": "This session takes no arguments",
    "build": "--no-reproduce",
    "readiness": "--check-only",
    "smoke": "--deadline DEADLINE",
    "preflight": "--<stage>-args=ARGS",
}


@pytest.mark.slow
def test_every_session_prints_its_help_and_exits_0(project):
    """`nox -s <session> -- --help` shows the session's flags (or where posargs go), exit 0."""
    done = project.nox("-s", *HELP, "--", "--help")
    assert done.returncode == 0, done.stdout
    assert "unrecognized arguments" not in done.stdout
    for session, says in HELP.items():
        name = session.split("-3")[0]
        assert f"usage: nox -s {name}" in done.stdout, session
        assert says in done.stdout, session
    assert not (project.path / ".ci-tasks" / "lint-report.json").exists()  # nothing ran


def test_a_stage_without_flags_says_so(stages):
    """A session whose stage has no help of its own prints its summary and 'no arguments'."""
    done = stages.nox("-s", "ok", "--", "-h")
    assert done.returncode == 0, done.stdout
    assert "usage: nox -s ok\n\nPasses.\n\nThis session takes no arguments" in done.stdout
    assert "ok stage ran" not in done.stdout
