"""The command runner: timeouts kill the whole tree, retries only what was declared, live output."""

from __future__ import annotations

import dataclasses
import os
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from ci_tasks import CommandFailed, CommandTimedOut, RetryOn, RetryPolicy, Runner, ToolMissingError
from ci_tasks.core.runner import Job
from tests.conftest import Captured
from tests.support.processes import alive

PY = sys.executable
POSIX_SIGNALS = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX signals (SIGTERM ignored, SIGHUP): not on Windows"
)


def py(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def test_success_returns_exit_code_and_tail(out):
    """A command that succeeds returns its exit code and the tail of its output."""
    result = Runner(output=out).run(py("print('hello'); print('world')"))
    assert result.ok
    assert result.tail.splitlines() == ["hello", "world"]
    assert "hello\nworld\n" in out.text


def test_failure_raises_with_exit_code_and_tail(out):
    """A failing command raises CommandFailed with its exit code and last output."""
    with pytest.raises(CommandFailed) as info:
        Runner(output=out).run(py("import sys; print('boom'); sys.exit(3)"))
    assert info.value.returncode == 3
    assert "boom" in info.value.tail
    assert "exit code 3" in str(info.value)


def test_check_false_returns_failure(out):
    """With check=False a failing exit code is returned, not raised."""
    result = Runner(output=out).run(py("raise SystemExit(4)"), check=False)
    assert result.returncode == 4
    assert not result.ok


def test_ok_codes_accept_other_exit_codes(out):
    """An exit code listed in ok_codes is a success."""
    result = Runner(output=out).run(py("raise SystemExit(1)"), ok_codes=(0, 1))
    assert result.returncode == 1


def test_missing_program_is_tool_missing(out):
    """A program that does not exist is a one-line ToolMissingError, not a traceback."""
    with pytest.raises(ToolMissingError, match="not found"):
        Runner(output=out).run(["no-such-program-ci-tasks"])


def test_grandchild_holding_pipe_is_killed_promptly(out, tmp_path):
    """A 1 s timeout returns in under 3 s although a grandchild sleeping 60 s holds stdout."""
    pids = tmp_path / "pids"
    code = f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        print("started", flush=True)
        time.sleep(60)
    """
    start = time.monotonic()
    with pytest.raises(CommandTimedOut) as info:
        Runner(output=out).run(py(code), timeout=1)
    elapsed = time.monotonic() - start
    assert elapsed < 3, elapsed
    assert "started" in info.value.tail
    assert "timed out after 1.0 s;" in str(info.value)
    for pid in map(int, pids.read_text().split()):
        assert not alive(pid), f"process {pid} survived"


@POSIX_SIGNALS
def test_timeout_escalates_to_sigkill(out, tmp_path):
    """A process that ignores SIGTERM is killed with SIGKILL after the grace period."""
    marker = tmp_path / "ready"
    code = f"""
        import signal, time, pathlib
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pathlib.Path({str(marker)!r}).write_text("x")
        time.sleep(60)
    """
    runner = Runner(output=out, kill_grace=0.3)
    start = time.monotonic()
    with pytest.raises(CommandTimedOut):
        runner.run(py(code), timeout=1)
    assert time.monotonic() - start < 4
    assert marker.exists()


def test_leftover_background_process_is_cleaned_up(out, tmp_path):
    """A process a finished command left running in its group does not outlive it."""
    pid_file = tmp_path / "pid"
    code = f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open({str(pid_file)!r}, "w").write(str(child.pid))
    """
    start = time.monotonic()
    Runner(output=out).run(py(code), timeout=30)
    assert time.monotonic() - start < 5
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


def test_runner_deadline_caps_each_command(out):
    """A runner's overall deadline cuts a command's own, longer timeout."""
    runner = Runner(output=out, deadline=time.monotonic() + 0.5)
    start = time.monotonic()
    with pytest.raises(CommandTimedOut):
        runner.run(py("import time; time.sleep(30)"), timeout=60)
    assert time.monotonic() - start < 3


def test_deadline_timeout_names_what_the_deadline_allowed(out):
    """Cut by the deadline, the message names what was left when the command started."""
    runner = Runner(output=out, deadline=time.monotonic() + 1.5)
    with pytest.raises(CommandTimedOut) as info:
        runner.run(py("import time; time.sleep(10)"), timeout=60)
    assert info.value.timeout == pytest.approx(1.5, abs=0.05)
    assert info.value.by_deadline
    assert "timed out after 1.5 s, all that was left of the session's timeout;" in str(info.value)


def test_own_timeout_is_named_inside_a_deadline(out):
    """A command's own timeout, shorter than the deadline, is the one the message names."""
    runner = Runner(output=out, deadline=time.monotonic() + 60)
    with pytest.raises(CommandTimedOut) as info:
        runner.run(py("import time; time.sleep(10)"), timeout=0.5)
    assert not info.value.by_deadline
    assert "timed out after 0.5 s;" in str(info.value)


def test_parallel_timeout_names_the_deadline(out):
    """run_parallel cut by the deadline says so, with what the deadline allowed."""
    runner = Runner(output=out, deadline=time.monotonic() + 1)
    with pytest.raises(CommandTimedOut) as info:
        runner.run_parallel([Job(py("import time; time.sleep(10)"))], timeout=60)
    assert "timed out after 1.0 s, all that was left of the session's timeout;" in str(info.value)


def test_output_streams_live(tmp_path):
    """Output reaches the console while the command is still running, not at the end."""
    gate = tmp_path / "gate"
    seen: list[tuple[float, str]] = []

    class Recording(Captured):
        def write(self, text):
            seen.append((time.monotonic(), text))
            super().write(text)

    code = f"""
        import pathlib, time
        print("first", flush=True)
        while not pathlib.Path({str(gate)!r}).exists():
            time.sleep(0.02)
        print("second", flush=True)
    """

    def open_gate():
        deadline = time.monotonic() + 10
        while not any("first" in t for _, t in seen) and time.monotonic() < deadline:
            time.sleep(0.02)
        gate.write_text("go")

    opener = threading.Thread(target=open_gate)
    opener.start()
    Runner(output=Recording()).run(py(code), timeout=20)
    opener.join()
    texts = "".join(t for _, t in seen)
    assert texts.index("first") < texts.index("second")
    # "first" was seen before the gate opened, i.e. while the command was blocked.
    assert gate.exists()


def test_tail_is_bounded(out):
    """Only the last lines are kept for the error message, however much was printed."""
    with pytest.raises(CommandFailed) as info:
        Runner(output=out, tail_lines=5).run(
            py("import sys\nfor i in range(1000): print(i)\nsys.exit(1)")
        )
    assert info.value.tail.splitlines() == ["995", "996", "997", "998", "999"]


def test_capture_stdout_keeps_all_and_streams_stderr(out):
    """capture_stdout keeps standard output whole and still streams standard error."""
    code = "import sys\nprint('x' * 10, 'data')\nprint('warn', file=sys.stderr)"
    result = Runner(output=out).run(py(code), capture_stdout=True)
    assert result.stdout == "xxxxxxxxxx data\n"
    assert "warn" in out.text
    assert "data" not in out.text


def counter_command(tmp_path: Path, fail_times: int, message: str, code: int = 1) -> list[str]:
    counter = tmp_path / "count"
    return py(f"""
        import pathlib, sys
        p = pathlib.Path({str(counter)!r})
        n = int(p.read_text()) if p.exists() else 0
        p.write_text(str(n + 1))
        if n < {fail_times}:
            print({message!r})
            sys.exit({code})
        print("ok")
    """)


def test_retries_only_on_declared_pattern(out, tmp_path):
    """A failure whose output matches the declared pattern is retried until it passes."""
    runner = Runner(output=out, retry=RetryPolicy(attempts=3, initial_delay=5, jitter=0))
    result = runner.run(
        counter_command(tmp_path, 2, "Connection reset by peer"),
        retry_on=RetryOn(patterns=(r"Connection reset",)),
    )
    assert result.attempts == 3
    assert "attempt 2/3 in 5.0 s" in out.text
    assert "attempt 3/3 in 10.0 s" in out.text


def test_undeclared_failure_fails_at_once(out, tmp_path):
    """A failure that matches nothing declared is not retried: a real failure fails at once."""
    runner = Runner(output=out, retry=RetryPolicy(attempts=3, jitter=0))
    with pytest.raises(CommandFailed):
        runner.run(
            counter_command(tmp_path, 2, "AssertionError: 1 != 2"),
            retry_on=RetryOn(patterns=(r"Connection reset",)),
        )
    assert (tmp_path / "count").read_text() == "1"
    assert "attempt" not in out.text


def test_retry_on_exit_code(out, tmp_path):
    """A declared exit code is retried; the last failure is raised when attempts run out."""
    runner = Runner(output=out, retry=RetryPolicy(attempts=2, jitter=0))
    with pytest.raises(CommandFailed) as info:
        runner.run(
            counter_command(tmp_path, 5, "busy", code=75),
            retry_on=RetryOn(exit_codes=frozenset({75})),
        )
    assert info.value.returncode == 75
    assert (tmp_path / "count").read_text() == "2"


def test_no_retry_without_retry_on(out, tmp_path):
    """Without a statement of what to retry, nothing is retried."""
    with pytest.raises(CommandFailed):
        Runner(output=out).run(counter_command(tmp_path, 1, "Connection reset by peer"))
    assert (tmp_path / "count").read_text() == "1"


def test_secret_masked_in_stream_tail_and_exception(out, masker):
    """A secret printed by a command is masked live, in the tail and in the exception."""
    secret = "ghp_supersecrettoken123"
    masker.add(secret)
    with pytest.raises(CommandFailed) as info:
        Runner(output=out).run(py(f"import sys; print('token={secret}'); sys.exit(2)"))
    assert secret not in out.text
    assert "token=***" in out.text
    assert secret not in str(info.value)
    assert secret not in repr(info.value.args)
    assert "token=***" in info.value.tail


def test_secret_in_command_line_masked(out, masker):
    """A secret passed as an argument is masked in the failure message."""
    masker.add("hunter2hunter2")
    with pytest.raises(CommandFailed) as info:
        Runner(output=out).run([PY, "-c", "raise SystemExit(1)", "hunter2hunter2"])
    assert "hunter2hunter2" not in str(info.value)


def test_env_overrides_and_unsets(out):
    """Per-command env adds variables and None removes them."""
    runner = Runner(output=out, env={**os.environ, "KEEP": "1", "DROP": "1"})
    result = runner.run(
        py("import os; e = os.environ; print(e.get('KEEP'), e.get('DROP'), e.get('NEW'))"),
        env={"DROP": None, "NEW": "n"},
        capture_stdout=True,
    )
    assert result.stdout.split() == ["1", "None", "n"]


@POSIX_SIGNALS
def test_ignored_signals_stay_ignored():
    """Under nohup SIGHUP stays ignored; a handler someone else installed is kept."""
    import signal  # noqa: PLC0415

    from ci_tasks.core.signals import handle_termination_signals  # noqa: PLC0415

    def theirs(*_args: object) -> None:
        pass

    saved = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, theirs)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        handle_termination_signals()
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is theirs
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_parallel_jobs_run_side_by_side_with_labelled_lines(out, tmp_path):
    """Two jobs that each wait for the other's file both finish: they ran at once."""
    first, second = tmp_path / "first", tmp_path / "second"
    code = """
        import pathlib, sys, time
        mine, theirs = map(pathlib.Path, sys.argv[1:3])
        mine.write_text("x")
        while not theirs.exists():
            time.sleep(0.01)
        print("saw the other", flush=True)
        raise SystemExit(int(sys.argv[3]))
    """
    jobs = [
        Job([*py(code), str(first), str(second), "0"], label="[1/2]"),
        Job([*py(code), str(second), str(first), "3"], label="[2/2]"),
    ]
    done = Runner(output=out).run_parallel(jobs, timeout=30)
    assert [d.returncode for d in done] == [0, 3]  # exit codes returned, not raised
    assert [d.tail for d in done] == ["saw the other", "saw the other"]
    assert sorted(out.text.splitlines()) == ["[1/2] saw the other", "[2/2] saw the other"]


def test_parallel_job_environments_are_their_own(out):
    """Each job sees the runner's environment with its own changes only."""
    code = "import os; print(os.environ.get('PART'), os.environ.get('KEEP'))"
    runner = Runner(output=out, env={**os.environ, "KEEP": "k"})
    jobs = [Job(py(code), env={"PART": "1"}), Job(py(code), env={"PART": "2", "KEEP": None})]
    assert [d.tail for d in runner.run_parallel(jobs)] == ["1 k", "2 None"]


def test_parallel_timeout_stops_every_tree(out, tmp_path):
    """A timeout kills the job still running and its child, and names the command."""
    pid_file = tmp_path / "pid"
    code = f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        time.sleep(60)
    """
    jobs = [Job(py("print('quick')")), Job(py(code), label="[slow]")]
    start = time.monotonic()
    with pytest.raises(CommandTimedOut) as info:
        Runner(output=out).run_parallel(jobs, timeout=1)
    assert time.monotonic() - start < 5
    assert "time.sleep(60)" in str(info.value)
    assert "print('quick')" not in str(info.value)
    for pid in map(int, pid_file.read_text().split()):
        assert not alive(pid), f"process {pid} survived"


def test_a_job_running_far_past_the_others_end_is_stopped_as_stalled(out, tmp_path):
    """Once one job ended, one still running past stall_after is stopped: no error, marked."""
    pid_file = tmp_path / "pid"
    code = f"""
        import os, time
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(60)
    """
    jobs = [Job(py("print('quick')")), Job(py(code), label="[slow]")]
    seen: list[float] = []

    def stall_after(longest: float) -> float:
        seen.append(longest)
        return longest + 0.5

    start = time.monotonic()
    quick, slow = Runner(output=out).run_parallel(jobs, stall_after=stall_after)
    assert time.monotonic() - start < 10
    assert (quick.stalled, quick.returncode, quick.tail) == (False, 0, "quick")
    assert slow.stalled
    assert slow.returncode != 0
    assert all(s == seen[0] for s in seen)  # the longest of those that ended: the quick one
    assert not alive(int(pid_file.read_text()))


def test_jobs_that_all_end_are_never_stalled(out):
    """Without a job left running, stall_after stops nothing."""
    jobs = [Job(py("import time; time.sleep(0.3)")), Job(py("print(1)"))]
    done = Runner(output=out).run_parallel(jobs, stall_after=lambda longest: longest + 5.0)
    assert [d.stalled for d in done] == [False, False]
    assert [d.returncode for d in done] == [0, 0]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(1, "1.0"), (0.9999, "1.0"), (1800, "1800.0"), (0.25, "0.25"), (0.001, "0.001")],
)
def test_timeout_message_shows_the_seconds_readably(seconds, shown):
    """A timeout reads as seconds with a decimal; a short one keeps its digits."""
    assert f"timed out after {shown} s;" in str(CommandTimedOut("x", seconds, ""))


def test_a_runner_is_a_value_and_with_options_gives_a_changed_copy(tmp_path):
    """Nothing changes a runner in place; a copy keeps the rest and refuses unknown options."""
    env = {"A": "1"}
    runner = Runner(env=env, cwd=str(tmp_path), timeout=5.0)
    env["A"] = "2"  # the runner kept its own copy
    assert (runner.env, runner.cwd) == ({"A": "1"}, tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        runner.timeout = 1.0  # type: ignore[misc]
    other = runner.with_options(timeout=1.0)
    assert (other.timeout, other.env, other.cwd, runner.timeout) == (1.0, {"A": "1"}, tmp_path, 5.0)
    with pytest.raises(TypeError):
        runner.with_options(bogus=1)
