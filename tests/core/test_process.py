"""The process layer: each platform's way of stopping a tree, driven through the runner.

The POSIX branch runs for real here (and in test_runner.py, test_signals.py). The others
run on Linux with their platform's facts injected: a Python without ``os.killpg``,
``os.getpgid`` and ``signal.SIGHUP`` (what Windows' lacks), and a fake kernel32 that
records what the Windows branch asks of its Job Object. The processes are real.
"""

from __future__ import annotations

import _thread
import contextlib
import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from ci_tasks import CommandTimedOut, Runner
from ci_tasks.core.process import NATIVE, PosixProcesses, WalkedProcesses, WindowsProcesses
from ci_tasks.core.signals import TERMINATION_SIGNALS
from tests.support.processes import MARKER_VARIABLE, alive, new_marker, survivors, wait_for_file
from tests.support.sample import clean_env

POSIX = pytest.mark.skipif(
    sys.platform == "win32", reason="process groups and sessions are POSIX: not on Windows"
)

# A command whose grandchild leaves the group (setsid), holds the output pipe and, with
# "stubborn", shrugs off SIGTERM; both write their pids, then sleep.
HOLDER = textwrap.dedent("""\
    import os, pathlib, signal, subprocess, sys, time
    pids, stubborn = pathlib.Path(sys.argv[1]), sys.argv[2] == "stubborn"
    grandchild = f'''
    import os, pathlib, signal, time
    if {stubborn}:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pathlib.Path({str(pids)!r} + ".grandchild").write_text(str(os.getpid()))
    time.sleep(60)
    '''
    child = subprocess.Popen([sys.executable, "-c", grandchild], start_new_session=True)
    while not pathlib.Path(str(pids) + ".grandchild").exists():
        time.sleep(0.01)
    pids.write_text(f"{os.getpid()} {child.pid}")
    print("started", flush=True)
    time.sleep(60)
""")


# Long enough for two interpreters to start on a loaded machine; kill_grace is 0.3 s.
TIMEOUT = 2


def holder(pids: Path, *, stubborn: bool = False) -> list[str]:
    return [sys.executable, "-c", HOLDER, str(pids), "stubborn" if stubborn else "plain"]


def tree_pids(pids: Path) -> list[int]:
    return [int(pid) for pid in pids.read_text().split()]


# Run in a fresh interpreter that lacks what Windows lacks, before ci_tasks is imported.
WITHOUT_POSIX = textwrap.dedent("""\
    import importlib, json, os, pkgutil, signal, sys, time
    del signal.SIGHUP, os.killpg, os.getpgid
    import ci_tasks
    from ci_tasks import CommandTimedOut, Runner
    from ci_tasks.core import process, signals
    modules = [m.name for m in pkgutil.walk_packages(ci_tasks.__path__, "ci_tasks.")]
    for name in modules:
        importlib.import_module(name)
    signals.handle_termination_signals()
    found = {
        "modules": len(modules),
        "system": type(process.NATIVE).__name__,
        "signals": [s.name for s in signals.TERMINATION_SIGNALS],
        "handled": [s.name for s in signals.TERMINATION_SIGNALS
                    if signal.getsignal(s) is signals._on_termination],
    }
    start = time.monotonic()
    try:
        Runner().run(json.loads(sys.argv[1]), timeout=1, stream=False)
    except CommandTimedOut as exc:
        found["message"] = exc.message
    found["elapsed"] = time.monotonic() - start
    print(json.dumps(found))
""")


@pytest.mark.skipif(
    sys.platform == "win32", reason="plays Windows on POSIX (names removed): not on Windows"
)
def test_without_posix_names_import_works_and_a_timeout_stops_the_tree(tmp_path):
    """Without SIGHUP, killpg, getpgid: every module imports; a 1 s timeout stops all in 2 s."""
    pids, marker = tmp_path / "pids", new_marker()
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_POSIX, json.dumps(holder(pids))],
        env=clean_env({MARKER_VARIABLE: marker}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["modules"] > 50  # every module of the package imported
    assert found["system"] == "WalkedProcesses"
    assert found["signals"] == ["SIGINT", "SIGTERM"]
    assert found["handled"] == ["SIGINT", "SIGTERM"]
    assert found["elapsed"] < 2, found
    assert "timed out after 1.0 s;" in found["message"]
    assert survivors(marker, time.monotonic() + 0.5) == []
    assert not any(alive(pid) for pid in tree_pids(pids))


def test_walk_alone_kills_a_stubborn_grandchild_that_left_the_group(out, tmp_path):
    """With no groups and no jobs, the walk still kills a setsid grandchild ignoring SIGTERM."""
    pids = tmp_path / "pids"
    runner = Runner(output=out, kill_grace=0.3, process_os=WalkedProcesses())
    start = time.monotonic()
    with pytest.raises(CommandTimedOut) as info:
        runner.run(holder(pids, stubborn=True), timeout=TIMEOUT)
    assert time.monotonic() - start < TIMEOUT + 1.5
    assert "started" in info.value.tail
    assert not any(alive(pid) for pid in tree_pids(pids))


@POSIX
def test_posix_groups_stop_a_grandchild_that_left_the_group(out, tmp_path):
    """POSIX: a setsid grandchild holding the pipe and ignoring SIGTERM dies with the tree."""
    pids = tmp_path / "pids"
    runner = Runner(output=out, kill_grace=0.3, process_os=PosixProcesses())
    start = time.monotonic()
    with pytest.raises(CommandTimedOut):
        runner.run(holder(pids, stubborn=True), timeout=TIMEOUT)
    assert time.monotonic() - start < TIMEOUT + 1.5
    assert not any(alive(pid) for pid in tree_pids(pids))


@POSIX
def test_posix_is_the_native_choice_here():
    """On a POSIX system the native layer is the groups one, with SIGHUP handled."""
    assert isinstance(NATIVE, PosixProcesses)
    assert signal.SIGHUP in TERMINATION_SIGNALS


class FakeKernel32:
    """kernel32 on Linux: a job is the set of pids assigned to it; calls are recorded.

    Only the command is assigned, so its grandchild is outside the job, as a process that
    started before the assignment or broke away would be: the tree walk must catch it.
    Ctrl-Break ends the command (Python's default for SIGBREAK is to exit).
    """

    new_process_group = 0  # Linux cannot start a console process group

    def __init__(self, *, refuse_job: bool = False, refuse_assign: bool = False) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.jobs: dict[int, set[int]] = {}
        self.refuse_job = refuse_job
        self.refuse_assign = refuse_assign

    def create_job(self) -> int | None:
        self.calls.append(("create_job",))
        if self.refuse_job:
            return None
        job = len(self.jobs) + 1
        self.jobs[job] = set()
        return job

    def assign(self, job: int, pid: int) -> bool:
        self.calls.append(("assign", job, pid))
        if self.refuse_assign:
            return False
        self.jobs[job].add(pid)
        return True

    def active_processes(self, job: int) -> int:
        return sum(alive(pid) for pid in self.jobs[job])

    def terminate_job(self, job: int) -> None:
        self.calls.append(("terminate_job", job))
        self._kill(job)

    def close(self, job: int) -> None:
        self.calls.append(("close", job))
        self._kill(job)  # kill-on-close

    def ctrl_break(self, pid: int) -> None:
        self.calls.append(("ctrl_break", pid))
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).terminate()

    def _kill(self, job: int) -> None:
        for pid in self.jobs[job]:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()


def test_windows_timeout_goes_ctrl_break_then_job_then_walk(out, tmp_path):
    """Windows: Ctrl-Break, the job terminated after the grace, the escaped grandchild killed."""
    pids, kernel = tmp_path / "pids", FakeKernel32()
    runner = Runner(output=out, kill_grace=0.3, process_os=WindowsProcesses(kernel))
    start = time.monotonic()
    with pytest.raises(CommandTimedOut) as info:
        runner.run(holder(pids), timeout=TIMEOUT)
    assert time.monotonic() - start < TIMEOUT + 1.5
    assert "timed out after 2.0 s;" in str(info.value)
    command, grandchild = tree_pids(pids)
    assert kernel.calls == [
        ("create_job",),
        ("assign", 1, command),
        ("ctrl_break", command),
        ("terminate_job", 1),  # the grandchild outlived the grace period
        ("close", 1),
    ]
    assert not alive(command)
    assert not alive(grandchild)


def test_windows_command_that_exits_is_only_released(out):
    """Windows: a command that exits on its own gets no Ctrl-Break; its job is closed."""
    kernel = FakeKernel32()
    runner = Runner(output=out, process_os=WindowsProcesses(kernel))
    runner.run([sys.executable, "-c", "print('done')"])
    assert [call[0] for call in kernel.calls] == ["create_job", "assign", "close"]


@pytest.mark.parametrize(
    ("refusal", "expected"),
    [
        ({"refuse_job": True}, ["create_job"]),
        ({"refuse_assign": True}, ["create_job", "assign", "close"]),
    ],
    ids=["no-job", "assignment-refused"],
)
def test_windows_without_a_job_the_walk_still_stops_the_tree(out, tmp_path, refusal, expected):
    """Windows refusing the job (or the assignment): the command runs, the walk stops it."""
    pids, kernel = tmp_path / "pids", FakeKernel32(**refusal)
    runner = Runner(output=out, kill_grace=0.3, process_os=WindowsProcesses(kernel))
    with pytest.raises(CommandTimedOut):
        runner.run(holder(pids), timeout=TIMEOUT)
    assert [call[0] for call in kernel.calls if call[0] != "ctrl_break"] == expected
    assert not any(alive(pid) for pid in tree_pids(pids))


def test_windows_interrupt_stops_the_tree_through_the_job(tmp_path):
    """Windows: Ctrl-C mid-command takes the timeout's stop path: break, job, walk."""
    pids, kernel = tmp_path / "pids", FakeKernel32()
    runner = Runner(kill_grace=0.3, process_os=WindowsProcesses(kernel))

    def interrupt_once_started() -> None:
        if wait_for_file(pids, 30):
            _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_once_started)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run(holder(pids), timeout=30, stream=False)
    finally:
        watcher.join()
    assert [call[0] for call in kernel.calls] == [
        "create_job",
        "assign",
        "ctrl_break",
        "terminate_job",
        "close",
    ]
    assert not any(alive(pid) for pid in tree_pids(pids))
