"""Warm ``nox -s tests`` against raw ``pytest`` in the same venv, on a few hundred tests.

Run: ``uv run python benchmarks/tests_overhead.py [--tests 300] [--repeat 3]``.
Both sides run the identical pytest command line (the one the session builds: reruns,
xdist, JUnit XML, coverage, the recorder plugin), so the ratio is what ci_tasks and nox
add around pytest: starting nox, ``uv sync`` of an unchanged lock, the flaky report and
history. Target: at most 1.10.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ci_tasks.core.config import load_config
from ci_tasks.stages.tests import session as testsuite
from tests.support.sample import TEST_TOOLS, clean_env, make_project

DEV = list(TEST_TOOLS)
# Each test does a little real work, as a unit test does: parse, compute, compare.
MODULE = """\
import json

import pytest


@pytest.mark.parametrize("n", range({count}))
def test_roundtrip(n):
    data = {{"n": n, "items": list(range(500))}}
    assert json.loads(json.dumps(data)) == data
"""


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    modules = 10
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            f"tests/test_m{i}.py": MODULE.format(count=args.tests // modules)
            for i in range(modules)
        }
        project = make_project(Path(tmp), dev=DEV, files=files)
        env = clean_env()
        nox = [sys.executable, "-m", "nox", "-s", "tests"]
        timed(nox, project.path, env)  # cold: creates the venv
        venv = next(p for p in (project.path / ".nox").iterdir() if p.is_dir())
        config = load_config(project.path)
        pytest_env = {
            **env,
            "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
            "VIRTUAL_ENV": str(venv),
            "PYTHONPATH": str(testsuite.PLUGIN_DIR),
            testsuite.RECORD_ENV: str(Path(tmp) / "record.json"),
        }
        raw = [str(venv / "bin" / "pytest"), *testsuite.pytest_command(config.tests, [])[1:]]
        nox_times, raw_times, serial_times = [], [], []
        for _ in range(args.repeat):  # interleaved, so drift hits both sides alike
            nox_times.append(timed([*nox[:2], "nox", "-R", "-s", "tests"], project.path, env))
            raw_times.append(timed(raw, project.path, pytest_env))
            # For reference: pytest-rerunfailures under xdist makes two blocking socket
            # round trips per test to its status server; without xdist it makes none.
            serial_times.append(timed([*raw, "-n", "0"], project.path, pytest_env))
    nox_median, raw_median = statistics.median(nox_times), statistics.median(raw_times)
    print(f"tests: {args.tests}, runs each: {args.repeat}, cpus: {os.cpu_count()}")
    print(f"{'':24}{'median s':>10}{'min s':>10}")
    print(f"{'nox -R -s tests (warm)':24}{nox_median:10.2f}{min(nox_times):10.2f}")
    print(f"{'raw pytest, same venv':24}{raw_median:10.2f}{min(raw_times):10.2f}")
    serial = statistics.median(serial_times)
    print(f"{'raw pytest, -n 0':24}{serial:10.2f}{min(serial_times):10.2f}  (reference)")
    print(f"ratio (median): {nox_median / raw_median:.2f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
