"""The runner's cost per command, and how fast it returns after a timeout, side by side.

1. Overhead: median wall time of a trivial command through ``Runner.run`` against bare
   ``subprocess.run`` (target: under 5 ms added).
2. Timeout with a grandchild holding the output pipe: a 1 s timeout, a grandchild that
   sleeps ``GRANDCHILD_SECONDS``; time to return for the runner, ``subprocess.run`` and
   invoke's ``Context.run`` (target: the runner within 1 s of the timeout; the others
   wait for the grandchild).

Run: ``uv run python benchmarks/runner.py``
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import invoke
import psutil

from ci_tasks import CommandTimedOut, Runner
from ci_tasks.core.actions import Output

REPEAT = 40
TIMEOUT = 1.0
GRANDCHILD_SECONDS = 8
TRIVIAL = [sys.executable, "-S", "-c", "pass"]
PID_FILE = Path(tempfile.gettempdir()) / f"ci-tasks-bench-{os.getpid()}.pid"
HOLDER = (
    f"import subprocess, sys, time; "
    f"c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep({GRANDCHILD_SECONDS})']); "
    f"open({str(PID_FILE)!r}, 'w').write(str(c.pid)); "
    f"time.sleep({GRANDCHILD_SECONDS})"
)


def median_ms(func) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def grandchild_alive() -> bool:
    try:
        return psutil.Process(int(PID_FILE.read_text())).status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, psutil.NoSuchProcess):
        return False


def timed(func) -> tuple[float, bool]:
    """Seconds until *func* returned, and whether the grandchild outlived it."""
    PID_FILE.unlink(missing_ok=True)
    start = time.monotonic()
    with contextlib.suppress(
        subprocess.TimeoutExpired, CommandTimedOut, invoke.exceptions.CommandTimedOut
    ):
        func()
    elapsed = time.monotonic() - start
    time.sleep(0.2)
    survived = grandchild_alive()
    if survived:  # let it finish so the next measurement starts clean
        while grandchild_alive():
            time.sleep(0.1)
    return elapsed, survived


def main() -> None:
    runner = Runner(output=Output(stream=io.StringIO(), env={}))
    # Interleave to share whatever else the machine is doing.
    bare = median_ms(lambda: subprocess.run(TRIVIAL, capture_output=True, check=True))
    ours = median_ms(lambda: runner.run(TRIVIAL))
    bare2 = median_ms(lambda: subprocess.run(TRIVIAL, capture_output=True, check=True))
    bare = min(bare, bare2)
    print(f"overhead per command (median of {REPEAT}):")
    print(f"  subprocess.run   {bare:7.2f} ms")
    print(f"  Runner.run       {ours:7.2f} ms   added {ours - bare:+.2f} ms (target < 5 ms)")
    print()
    print(
        f"return after a {TIMEOUT:g} s timeout, grandchild holding the pipe for {GRANDCHILD_SECONDS} s:"
    )
    holder = [sys.executable, "-c", HOLDER]
    t_ours = timed(lambda: runner.run(holder, timeout=TIMEOUT))
    t_sub = timed(lambda: subprocess.run(holder, capture_output=True, timeout=TIMEOUT, check=False))
    t_inv = timed(
        lambda: invoke.Context().run(
            shlex.join(holder),
            timeout=TIMEOUT,
            hide=True,
            warn=True,
            in_stream=False,
        )
    )
    (t_ours, s_ours), (t_sub, s_sub), (t_inv, s_inv) = t_ours, t_sub, t_inv
    left = {True: "grandchild left running", False: "no process left"}
    print(
        f"  Runner.run       {t_ours:6.2f} s   {t_ours - TIMEOUT:+.2f} s past the timeout (target < 1 s); {left[s_ours]}"
    )
    print(f"  subprocess.run   {t_sub:6.2f} s   {t_sub / t_ours:.1f}x the runner; {left[s_sub]}")
    print(f"  invoke run       {t_inv:6.2f} s   {t_inv / t_ours:.1f}x the runner; {left[s_inv]}")
    PID_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
