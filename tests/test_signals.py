"""SIGTERM and SIGHUP stop a run the way Ctrl-C does: nothing is left running, exit 128 + N.

Each run gets a marker in its environment; every process of its tree inherits it, in
whatever session, so the process table tells what is left. The processes say they are ready
through marker files; nothing here sleeps to synchronise.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ci_tasks.core.process import KILL_GRACE_SECONDS
from tests.support.gitsupport import init_repo
from tests.support.localserver import silent
from tests.support.processes import MARKER_VARIABLE, new_marker, survivors, wait_for_file
from tests.support.sample import TEST_TOOLS, clean_env, make_project

pytestmark = pytest.mark.skipif(
    sys.platform == "win32",
    reason="sends POSIX signals (SIGTERM, SIGHUP) to a process: Windows has no such signals",
)

# A command that leaves a grandchild in a session of its own (out of its process group),
# says both are ready through files, then sleeps: what a test starting a server does.
SLEEPER = """\
import pathlib, subprocess, sys, time
ready = pathlib.Path(sys.argv[1])
code = "import pathlib, sys, time; pathlib.Path(sys.argv[1]).touch(); time.sleep(60)"
child = subprocess.Popen(
    [sys.executable, "-c", code, str(ready) + ".grandchild"], start_new_session=True
)
while not pathlib.Path(str(ready) + ".grandchild").exists():
    time.sleep(0.01)
ready.touch()
time.sleep(60)
"""

SLEEPING_TEST = """\
import os, pathlib, time

import pytest


@pytest.mark.parametrize("n", [1, 2])
def test_sleeps(n):
    pathlib.Path(os.environ["READY_FILE"] + str(n)).touch()
    time.sleep(60)
"""


def _default_signals() -> None:
    """In the child: SIGHUP and SIGTERM at their defaults, whatever this run inherited.

    An ignored signal stays ignored across exec (``nohup`` ignores SIGHUP), and the code
    under test rightly keeps it ignored; the test must start from the usual state.
    """
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop(process: subprocess.Popen[str], signum: int, marker: str) -> tuple[int, list[int]]:
    """Send *signum*; the exit code and what of the tree outlived grace + 1 s."""
    sent = time.monotonic()
    process.send_signal(signum)
    code = process.wait(timeout=60)
    return code, survivors(marker, sent + KILL_GRACE_SECONDS + 1)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_sigterm_stops_nox_and_pytest_with_143(tmp_path: Path, workers: int) -> None:
    """SIGTERM to `nox -s tests` mid-test: every pytest tree is gone, the report says so.

    With `workers = 2` both pytest processes are mid-test when the signal arrives.
    """
    project = make_project(
        tmp_path,
        dev=TEST_TOOLS,
        ci_tasks=f"tests = {{ workers = {workers}, reruns = 0, coverage = false }}",
        files={"tests/test_sleep.py": SLEEPING_TEST},
    )
    marker, ready = new_marker(), tmp_path / "ready"
    env = clean_env({MARKER_VARIABLE: marker, "READY_FILE": str(ready)})
    nox = subprocess.Popen(
        [sys.executable, "-m", "nox", "-s", "tests"],
        cwd=project.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        expected = [Path(f"{ready}1"), Path(f"{ready}2")] if workers else [Path(f"{ready}1")]
        for started in expected:
            assert wait_for_file(started, 300), "pytest never started the sleeping test"
        code, left = _stop(nox, signal.SIGTERM, marker)
        output = nox.stdout.read() if nox.stdout else ""
    finally:
        if nox.poll() is None:
            nox.kill()
    assert left == [], output
    assert code == 143, output
    assert "tests: interrupted (SIGTERM)" in output
    report = json.loads((project.path / ".ci-tasks" / "flaky-report.json").read_text())
    assert report["verdict"] == "interrupted"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGHUP, 129), (signal.SIGTERM, 143)])
def test_pre_push_hook_stops_its_checks(tmp_path: Path, signum: int, code: int) -> None:
    """The pre-push hook, signalled while its command runs, stops the command's whole tree."""
    marker, ready = new_marker(), tmp_path / "ready"
    root = init_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": (
                "[project]\nname = 'x'\n\n[tool.ci-tasks.hooks]\n"
                f"command = 'python sleeper.py {ready}'\n"
            ),
            "sleeper.py": SLEEPER,
        },
    )
    update = f"refs/heads/main {'1' * 40} refs/heads/main {'0' * 40}\n"
    hook = subprocess.Popen(
        [sys.executable, "-m", "ci_tasks.adopt.hooks", "pre-push", str(root), "origin", "x"],
        preexec_fn=_default_signals,  # noqa: PLW1509 - two signal calls, no locks taken
        cwd=root,
        env=clean_env({MARKER_VARIABLE: marker}),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert hook.stdin is not None
        hook.stdin.write(update)
        hook.stdin.close()
        assert wait_for_file(ready, 60), "the hook's command never started"
        got, left = _stop(hook, signum, marker)
        output = hook.stdout.read() if hook.stdout else ""
    finally:
        if hook.poll() is None:
            hook.kill()
    assert left == [], output
    assert got == code, output
    assert "interrupted: push refused" in output


def test_cli_smoke_interrupted_while_waiting(tmp_path: Path) -> None:
    """`ci-tasks smoke` stuck on a silent server: SIGTERM ends it with 143 and an honest report."""
    project = make_project(tmp_path, lock=False)
    marker = new_marker()
    with silent() as server:
        cli = subprocess.Popen(
            [sys.executable, "-m", "ci_tasks.cli", "smoke", "--url", server.url, "--deadline=60"],
            cwd=project.path,
            env=clean_env({MARKER_VARIABLE: marker}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert server.accepted.wait(30), "the smoke check never connected"
            code, left = _stop(cli, signal.SIGTERM, marker)
            output = cli.stdout.read() if cli.stdout else ""
        finally:
            if cli.poll() is None:
                cli.kill()
    assert left == []
    assert code == 143, output
    assert "smoke: interrupted (SIGTERM)" in output
    report = json.loads((project.path / ".ci-tasks" / "smoke-report.json").read_text())
    assert report["verdict"] == "interrupted"


# A command that shrugs off SIGTERM (it notes it got one), so only SIGKILL ends it.
STUBBORN = """\
import pathlib, signal, sys, time
ready = pathlib.Path(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: pathlib.Path(str(ready) + ".term").touch())
ready.touch()
while True:
    time.sleep(0.1)
"""

RUNNER = """\
import sys
from ci_tasks.core.errors import exit_code_for
from ci_tasks.core.signals import handle_termination_signals
from ci_tasks.core.runner import Runner
handle_termination_signals()
try:
    Runner().run([sys.executable, "-c", sys.argv[1], sys.argv[2]])
except KeyboardInterrupt as exc:
    sys.exit(exit_code_for(exc))
"""


def test_a_second_signal_does_not_cut_the_cleanup_short(tmp_path: Path) -> None:
    """SIGTERM twice (as the Actions runner does): the first cleanup still ends in SIGKILL."""
    marker, ready = new_marker(), tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-c", RUNNER, STUBBORN, str(ready)],
        env=clean_env({MARKER_VARIABLE: marker}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for_file(ready, 30), "the command never started"
        process.send_signal(signal.SIGTERM)
        assert wait_for_file(Path(f"{ready}.term"), 30), "the command never got SIGTERM"
        code, left = _stop(process, signal.SIGTERM, marker)  # during the grace period
    finally:
        if process.poll() is None:
            process.kill()
    assert left == []
    assert code == 143
