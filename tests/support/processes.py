"""Finding a test's processes by a marker in their environment, and waiting on marker files.

A test gives the processes it starts ``CI_TASKS_TEST_MARKER=<unique>``; every descendant
inherits it, in whatever session or process group it ends up, so scanning every
process's environment (psutil: no ``/proc`` needed) finds the whole tree.
Synchronisation goes through files the processes write (as nox's own tests do), never
through sleeps.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psutil

MARKER_VARIABLE = "CI_TASKS_TEST_MARKER"


def new_marker() -> str:
    """A marker no other test uses."""
    return f"ci-tasks-test-{uuid.uuid4().hex}"


def marked_pids(marker: str) -> list[int]:
    """The live (not zombie) processes whose environment carries *marker*."""
    found = []
    for process in psutil.process_iter(["status", "environ"]):
        environ = process.info["environ"] or {}
        alive = process.info["status"] != psutil.STATUS_ZOMBIE
        if alive and environ.get(MARKER_VARIABLE) == marker:
            found.append(process.pid)
    return found


def alive(pid: int) -> bool:
    """Whether *pid* runs and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for_file(path: Path, timeout: float) -> bool:
    """Whether *path* appeared within *timeout* seconds (polled, not slept on blindly)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists():
            return True
        time.sleep(0.05)
    return path.exists()


def survivors(marker: str, until: float) -> list[int]:
    """The marked processes still alive at the monotonic time *until* (empty as soon as none)."""
    while True:
        left = marked_pids(marker)
        if not left or time.monotonic() >= until:
            return left
        time.sleep(0.05)
