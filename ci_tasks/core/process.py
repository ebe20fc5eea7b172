"""Starting, signalling and stopping a command's whole process tree, on every platform.

The mechanism under :mod:`ci_tasks.core.runner` (which keeps the policy: timeouts,
retries, output). ``subprocess``'s own timeout kills only the direct child, so a
grandchild (the server a test started, the build a ``uv`` spawned) keeps running and
keeps the output pipe open. Here each command starts in a container of its own and the
stop reaches all of it:

* POSIX: a new session (its own process group); the stop signals that group and the
  groups of every descendant, so a child that left the group (``setsid``) is reached too:
  SIGTERM, then SIGKILL after a grace period.
* Windows: a new console process group inside a Job Object that kills its processes when
  closed; the stop sends CTRL_BREAK_EVENT, then terminates the job after the grace period.
* Everywhere: the descendants found by walking the tree (psutil; no ``/proc`` needed) when
  the stop begins are waited for too and killed, leaves first, if they outlive the grace
  period: that catches whatever escaped the group or the job.

What differs between platforms sits behind :class:`ProcessOS`, chosen once (:data:`NATIVE`).
Nothing POSIX-only is touched at import time, so ``import ci_tasks`` works on Windows.

The same stop serves Ctrl-C, SIGTERM and SIGHUP (:mod:`ci_tasks.core.signals`): the runner
stops the tree on its way out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from ci_tasks.core.signals import deferred_signals

if TYPE_CHECKING:
    import psutil

KILL_GRACE_SECONDS = 1.0
_POLL_SECONDS = 0.02
_DYING_SECONDS = 1.0


@dataclasses.dataclass
class Tree:
    """A started command: its process, and what its platform holds to stop all of it."""

    process: subprocess.Popen[bytes]
    system: ProcessOS
    groups: frozenset[int] = frozenset()
    """POSIX: the process groups the stop signals (the command's and its descendants')."""
    job: int | None = None
    """Windows: the handle of the Job Object the command runs in (``None`` if refused)."""

    @property
    def pid(self) -> int:
        """The command's process id."""
        return self.process.pid


class ProcessOS(Protocol):
    """What the platform does to start a command apart and to stop its tree.

    The stop (:func:`stop_tree`) asks :meth:`terminate`, waits while :meth:`alive`, then
    :meth:`kill`; it walks and kills the descendants it found itself, on every platform.
    """

    def popen_options(self) -> dict[str, Any]:
        """Extra :class:`subprocess.Popen` arguments that start the command apart."""
        ...

    def started(self, tree: Tree) -> None:
        """Called once the command runs (Windows puts it in its job here)."""
        ...

    def terminate(self, tree: Tree, descendants: Sequence[psutil.Process]) -> bool:
        """Ask the tree to stop; whether any of it was there to ask.

        *descendants* are those the walk found, empty when the command had already exited.
        """
        ...

    def alive(self, tree: Tree) -> bool:
        """Whether anything :meth:`terminate` reached still runs (zombies do not count)."""
        ...

    def kill(self, tree: Tree) -> None:
        """Stop what :meth:`terminate` reached, without asking."""
        ...

    def release(self, tree: Tree) -> None:
        """Let go of what :meth:`started` took (the job handle)."""
        ...


class PosixProcesses:
    """POSIX: a session per command; its group and its descendants' groups are signalled."""

    def popen_options(self) -> dict[str, Any]:
        """A new session, hence a new process group whose id is the command's pid."""
        return {"start_new_session": True}

    def started(self, tree: Tree) -> None:
        """Nothing to do: the group exists from the start."""

    def terminate(self, tree: Tree, descendants: Sequence[psutil.Process]) -> bool:
        """SIGTERM to the command's group and to each descendant's.

        A descendant may lead a session of its own (ci_tasks under ci_tasks: the pre-push
        hook runs nox, which runs pytest apart), which the command's group would miss.
        """
        groups = {tree.pid}
        for child in descendants:
            with contextlib.suppress(OSError):
                groups.add(os.getpgid(child.pid))
        groups.discard(os.getpgrp())  # never our own group, whatever a descendant did
        tree.groups = frozenset(groups)
        return _signal_groups(tree.groups, signal.SIGTERM)

    def alive(self, tree: Tree) -> bool:
        """Whether a live process is left in any of the tree's groups."""
        existing = {pgid for pgid in tree.groups if _signal_groups({pgid}, 0)}
        if not existing:
            return False
        # Signal 0 also finds zombies nobody reaps (we may be PID 1 in a container).
        import psutil  # noqa: PLC0415 - only a stop that waits needs it

        for process in psutil.process_iter(["status"]):
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            with contextlib.suppress(OSError):
                if os.getpgid(process.pid) in existing:
                    return True
        return False

    def kill(self, tree: Tree) -> None:
        """SIGKILL to every group of the tree."""
        _signal_groups(tree.groups, signal.SIGKILL)

    def release(self, tree: Tree) -> None:
        """Nothing held: a group ends with its last process."""


def _signal_groups(pgids: frozenset[int] | set[int], signum: int) -> bool:
    """Send *signum* to every group of *pgids*; whether any of them existed."""
    sent = False
    for pgid in pgids:
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            continue
        sent = True
    return sent


class Kernel32(Protocol):
    """The few Windows calls a tree needs: a kill-on-close Job Object and Ctrl-Break."""

    new_process_group: int
    """The ``creationflags`` that start a command in a console process group of its own."""

    def create_job(self) -> int | None:
        """A new job that kills its processes when its last handle closes; ``None`` if refused."""
        ...

    def assign(self, job: int, pid: int) -> bool:
        """Put process *pid* in *job*; whether Windows allowed it."""
        ...

    def active_processes(self, job: int) -> int:
        """How many processes of *job* still run."""
        ...

    def terminate_job(self, job: int) -> None:
        """End every process of *job*."""
        ...

    def close(self, job: int) -> None:
        """Close the handle of *job* (which ends what is left in it)."""
        ...

    def ctrl_break(self, pid: int) -> None:
        """Send CTRL_BREAK_EVENT to the console process group *pid* leads."""
        ...


class WindowsProcesses:
    """Windows: a console process group and a kill-on-close Job Object per command.

    Children start in their parent's job, so the job holds the whole tree, even processes
    whose parent died; Windows ends them when the job is terminated or its handle closed
    (also when ci_tasks itself is killed). What starts before the command joins the job
    (a race Windows gives no public way around from Python) or breaks away from it is
    left to the tree walk.
    """

    def __init__(self, kernel: Kernel32) -> None:
        self.kernel = kernel

    def popen_options(self) -> dict[str, Any]:
        """A new console process group, so Ctrl-Break reaches the command and not us."""
        return {"creationflags": self.kernel.new_process_group}

    def started(self, tree: Tree) -> None:
        """Put the command in a job of its own; without one the tree walk does the stop."""
        job = self.kernel.create_job()
        if job is not None and not self.kernel.assign(job, tree.pid):
            self.kernel.close(job)
            job = None
        tree.job = job

    def terminate(self, tree: Tree, descendants: Sequence[psutil.Process]) -> bool:  # noqa: ARG002 - the job holds them
        """Ctrl-Break to the command's group (Python turns it into SIGBREAK)."""
        if tree.process.poll() is not None and not self.alive(tree):
            return False
        self.kernel.ctrl_break(tree.pid)
        return True

    def alive(self, tree: Tree) -> bool:
        """Whether the job still has processes."""
        return tree.job is not None and self.kernel.active_processes(tree.job) > 0

    def kill(self, tree: Tree) -> None:
        """Terminate the job."""
        if tree.job is not None:
            self.kernel.terminate_job(tree.job)

    def release(self, tree: Tree) -> None:
        """Close the job's handle: Windows ends whatever is still in it."""
        if tree.job is not None:
            self.kernel.close(tree.job)
            tree.job = None


class WalkedProcesses:
    """A platform with neither process groups nor jobs: the tree walk alone stops it."""

    def popen_options(self) -> dict[str, Any]:
        """Nothing to ask for."""
        return {}

    def started(self, tree: Tree) -> None:
        """Nothing to hold."""

    def terminate(self, tree: Tree, descendants: Sequence[psutil.Process]) -> bool:
        """Terminate the command and each descendant the walk found, one by one."""
        running = tree.process.poll() is None
        if running:
            with contextlib.suppress(OSError):
                tree.process.terminate()
        if descendants:
            import psutil  # noqa: PLC0415 - loaded already: the walk found them

            for child in descendants:
                with contextlib.suppress(psutil.Error):
                    child.terminate()
        return running or bool(descendants)

    def alive(self, tree: Tree) -> bool:  # noqa: ARG002 - the walk answers for the tree
        """Nothing beyond what the walk found."""
        return False

    def kill(self, tree: Tree) -> None:
        """Kill the command; its descendants are killed from the walk."""
        if tree.process.poll() is None:
            with contextlib.suppress(OSError):
                tree.process.kill()

    def release(self, tree: Tree) -> None:
        """Nothing held."""


if sys.platform == "win32":
    import ctypes

    _KILL_ON_JOB_CLOSE = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    _BASIC_ACCOUNTING = 1  # JobObjectBasicAccountingInformation
    _EXTENDED_LIMITS = 9  # JobObjectExtendedLimitInformation
    _PROCESS_SET_QUOTA_AND_TERMINATE = 0x0100 | 0x0001

    class _BasicLimits(ctypes.Structure):
        _fields_ = (
            ("PerProcessUserTimeLimit", ctypes.c_int64),
            ("PerJobUserTimeLimit", ctypes.c_int64),
            ("LimitFlags", ctypes.c_uint32),
            ("MinimumWorkingSetSize", ctypes.c_size_t),
            ("MaximumWorkingSetSize", ctypes.c_size_t),
            ("ActiveProcessLimit", ctypes.c_uint32),
            ("Affinity", ctypes.c_size_t),
            ("PriorityClass", ctypes.c_uint32),
            ("SchedulingClass", ctypes.c_uint32),
        )

    class _ExtendedLimits(ctypes.Structure):
        _fields_ = (
            ("BasicLimitInformation", _BasicLimits),
            ("IoInfo", ctypes.c_uint64 * 6),
            ("ProcessMemoryLimit", ctypes.c_size_t),
            ("JobMemoryLimit", ctypes.c_size_t),
            ("PeakProcessMemoryUsed", ctypes.c_size_t),
            ("PeakJobMemoryUsed", ctypes.c_size_t),
        )

    class _Accounting(ctypes.Structure):
        _fields_ = (
            ("TotalTimes", ctypes.c_int64 * 4),
            ("TotalPageFaultCount", ctypes.c_uint32),
            ("TotalProcesses", ctypes.c_uint32),
            ("ActiveProcesses", ctypes.c_uint32),
            ("TotalTerminatedProcesses", ctypes.c_uint32),
        )

    class _Kernel32:
        """kernel32 through ctypes."""

        new_process_group = subprocess.CREATE_NEW_PROCESS_GROUP

        def __init__(self) -> None:
            dll = ctypes.WinDLL("kernel32", use_last_error=True)
            handle, dword, pointer = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p
            signatures: dict[str, tuple[Any, list[Any]]] = {
                "CreateJobObjectW": (handle, [pointer, ctypes.c_wchar_p]),
                "SetInformationJobObject": (ctypes.c_int, [handle, ctypes.c_int, pointer, dword]),
                "QueryInformationJobObject": (
                    ctypes.c_int,
                    [handle, ctypes.c_int, pointer, dword, pointer],
                ),
                "AssignProcessToJobObject": (ctypes.c_int, [handle, handle]),
                "TerminateJobObject": (ctypes.c_int, [handle, ctypes.c_uint]),
                "OpenProcess": (handle, [dword, ctypes.c_int, dword]),
                "CloseHandle": (ctypes.c_int, [handle]),
            }
            for name, (restype, argtypes) in signatures.items():
                function = getattr(dll, name)
                function.restype, function.argtypes = restype, argtypes
            self._dll = dll

        def create_job(self) -> int | None:
            job: int | None = self._dll.CreateJobObjectW(None, None)
            if not job:
                return None
            limits = _ExtendedLimits()
            limits.BasicLimitInformation.LimitFlags = _KILL_ON_JOB_CLOSE
            size = ctypes.sizeof(limits)
            if not self._dll.SetInformationJobObject(
                job, _EXTENDED_LIMITS, ctypes.byref(limits), size
            ):
                self._dll.CloseHandle(job)
                return None
            return job

        def assign(self, job: int, pid: int) -> bool:
            process = self._dll.OpenProcess(_PROCESS_SET_QUOTA_AND_TERMINATE, 0, pid)
            if not process:
                return False
            try:
                return bool(self._dll.AssignProcessToJobObject(job, process))
            finally:
                self._dll.CloseHandle(process)

        def active_processes(self, job: int) -> int:
            info = _Accounting()
            size = ctypes.sizeof(info)
            if not self._dll.QueryInformationJobObject(
                job, _BASIC_ACCOUNTING, ctypes.byref(info), size, None
            ):
                return 0  # closing the handle still ends whatever is left
            return int(info.ActiveProcesses)

        def terminate_job(self, job: int) -> None:
            self._dll.TerminateJobObject(job, 1)

        def close(self, job: int) -> None:
            self._dll.CloseHandle(job)

        def ctrl_break(self, pid: int) -> None:
            with contextlib.suppress(OSError):  # no console to send it through
                os.kill(pid, signal.CTRL_BREAK_EVENT)


def _native() -> ProcessOS:
    if sys.platform == "win32":
        return WindowsProcesses(_Kernel32())
    if hasattr(os, "killpg"):
        return PosixProcesses()
    return WalkedProcesses()


NATIVE: ProcessOS = _native()
"""This platform's :class:`ProcessOS`."""


def start_tree(
    argv: Sequence[str],
    *,
    stdin: int | IO[bytes] | None = subprocess.DEVNULL,
    stdout: int | IO[bytes] | None,
    stderr: int | IO[bytes] | None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    system: ProcessOS = NATIVE,
) -> Tree:
    """Start *argv* apart (its own group or job); stop it with :func:`stop_tree`.

    Raises what :class:`subprocess.Popen` raises (``FileNotFoundError``: no such program).
    """
    process = subprocess.Popen(
        argv,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=env,
        cwd=cwd,
        **system.popen_options(),
    )
    tree = Tree(process, system)
    system.started(tree)
    return tree


def stop_tree(tree: Tree, grace: float = KILL_GRACE_SECONDS) -> None:
    """Stop *tree*: ask politely, kill what is left after *grace* seconds, reap the command.

    A command that already exited may have left processes in its group or job: they are
    stopped the same way. Termination signals arriving meanwhile wait until it is done.
    """
    with deferred_signals():
        try:
            walked = _descendants(tree.pid) if tree.process.poll() is None else []
            system = tree.system
            if system.terminate(tree, walked) or _any_alive(walked):
                end = time.monotonic() + grace
                while time.monotonic() < end:
                    running = tree.process.poll() is None
                    if not (running or system.alive(tree) or _any_alive(walked)):
                        break
                    time.sleep(_POLL_SECONDS)
                else:
                    system.kill(tree)
                    _kill_leaves_first(tree, walked)
            tree.process.wait()
        finally:
            tree.system.release(tree)


def _descendants(pid: int) -> list[psutil.Process]:
    """Every live descendant of *pid*, each listed before its own descendants."""
    import psutil  # noqa: PLC0415 - 40 ms to import; a command that exits never needs it

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _any_alive(processes: Sequence[psutil.Process]) -> bool:
    """Whether any of *processes* still runs (a zombie has stopped)."""
    if not processes:
        return False
    import psutil  # noqa: PLC0415 - loaded already: processes were walked

    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied:
            return True
    return False


def _kill_leaves_first(tree: Tree, walked: Sequence[psutil.Process]) -> None:
    """Kill the walked descendants and any they started since, children before parents."""
    import psutil  # noqa: PLC0415 - loaded by the walk

    found = {process.pid: process for process in walked}
    for process in [*walked]:
        with contextlib.suppress(psutil.Error):
            for child in process.children(recursive=True):
                found.setdefault(child.pid, child)
    for process in _descendants(tree.pid) if tree.process.poll() is None else []:
        found.setdefault(process.pid, process)
    for process in reversed(found.values()):
        with contextlib.suppress(psutil.Error):
            process.kill()
    if tree.process.poll() is None:
        with contextlib.suppress(OSError):
            tree.process.kill()
    # A killed process takes a moment to die (a large one, to free its memory): the tree
    # is stopped when the call returns, not soon after.
    end = time.monotonic() + _DYING_SECONDS
    while _any_alive(list(found.values())) and time.monotonic() < end:
        time.sleep(_POLL_SECONDS)
