"""How long `nox -s smoke -- --deadline 5` takes against a port that accepts and never answers.

Before each request's timeout was cut to what was left of the deadline, this took 10.2 s
(one 10 s attempt, started inside the 5 s budget). Target: the deadline plus nox's start-up.
Run: ``uv run python benchmarks/smoke_deadline.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEADLINE = 5
NOXFILE = "import ci_tasks\n\nci_tasks.register(['smoke'])\n"


def timed(args: list[str], cwd: Path) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "NOX_"))}
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, socket.create_server(("127.0.0.1", 0)) as silent:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
        (root / "noxfile.py").write_text(NOXFILE)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        nox = [sys.executable, "-m", "nox"]
        startup, _ = timed([*nox, "-l"], root)
        args = [*nox, "-s", "smoke", "--", "--url", url, f"--deadline={DEADLINE}"]
        smoke, code = timed(args, root)
    print(f"{'nox -l (start-up)':<48} {startup:6.2f} s")
    print(
        f"{f'nox -s smoke -- --deadline {DEADLINE} (silent port)':<48} {smoke:6.2f} s (exit {code})"
    )
    print(f"{'beyond start-up and deadline':<48} {smoke - startup - DEADLINE:6.2f} s (was 5.2 s)")


if __name__ == "__main__":
    main()
