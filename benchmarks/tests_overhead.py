"""The default ``tests`` session against plain ``pytest``, in the same venv, side by side.

Run:

* ``uv run python benchmarks/tests_overhead.py synthetic [--tests 1500] [--repeat 3]``:
  a sample project whose tests each wait 4 ms; warm ``nox -R -s tests`` (the whole
  session: nox, ``uv sync`` of an unchanged lock, pytest with reruns, coverage, JUnit, the
  recorder, the reports) against plain serial ``pytest``. Target: <= 0.9x on 2 cores.
* ``uv run python benchmarks/tests_overhead.py project DIR --venv VENV [--repeat 1]``: a
  real project's suite, in a venv holding it, its test dependencies and the test plugins.
  The session's own code (``run_tests``: ``workers = "auto"`` deciding from the durations
  recorded by a first run, the parts, the merges, coverage combined and reported), without
  nox and ``uv sync``, against plain ``pytest``. Targets: <= 1.3x on a ~300-test suite;
  below 1.0x on pypa/packaging's whole suite.

The issue's figures (before this change) are printed beside ours.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from ci_tasks.core.errors import CITasksError
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.testing import durations, environment
from ci_tasks.stages.testing import session as testsuite
from ci_tasks.stages.testing.command import PLUGIN
from ci_tasks.stages.testing.config import TestsConfig
from tests.support.sample import TEST_TOOLS, clean_env, make_project

ISSUE = {
    "synthetic": "issue: session 4.46x plain pytest",
    "small": "issue: 297 tests, pytest 1.17 s, session 9.04 s (7.7x), stall removed 1.65 s",
    "packaging": "issue: packaging's suite, pytest 36 s, session ~25 min (estimated)",
}
MODULE = """\
import time

import pytest


@pytest.mark.parametrize("n", range({count}))
def test_waits(n):
    time.sleep(0.004)
"""


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    return time.perf_counter() - start


def show(rows: list[tuple[str, list[float]]], baseline: str, target: float, note: str) -> None:
    medians = {name: statistics.median(times) for name, times in rows}
    print(f"{'':40}{'median s':>10}{'min s':>10}{'x plain':>9}")
    for name, times in rows:
        ratio = medians[name] / medians[baseline]
        print(f"{name:40}{medians[name]:10.2f}{min(times):10.2f}{ratio:9.2f}")
    print(f"target <= {target:.2f}x plain pytest   ({note})")


def synthetic(args: argparse.Namespace) -> None:
    modules = 10
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            f"tests/test_m{i}.py": MODULE.format(count=args.tests // modules)
            for i in range(modules)
        }
        project = make_project(
            Path(tmp), dev=list(TEST_TOOLS), files=files, ci_tasks="[tool.ci-tasks.tests]\n"
        )
        env = clean_env()
        nox = [sys.executable, "-m", "nox"]
        timed([*nox, "-s", "tests"], project.path, env)  # cold: the venv, the first durations
        venv = next(p for p in (project.path / ".nox").iterdir() if p.is_dir())
        plain_env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"}
        session, plain = [], []
        for _ in range(args.repeat):  # interleaved, so drift hits both sides alike
            session.append(timed([*nox, "-R", "-s", "tests"], project.path, env))
            plain.append(timed([str(venv / "bin" / "pytest"), "-q"], project.path, plain_env))
        # The stall, once: rerunfailures under xdist as it ships, and with the recorder
        # loaded (TCP_NODELAY on its sockets); no coverage, nothing else differs.
        stall_env = {**plain_env, "PYTHONPATH": str(environment.PLUGIN_DIR)}
        reruns = [str(venv / "bin" / "pytest"), "-q", "-n", "2", "--reruns", "2"]
        stalled = [timed(reruns, project.path, stall_env)]
        fixed = [timed([*reruns, "-p", PLUGIN], project.path, stall_env)]
        history = (project.path / ".ci-tasks/tests-3.11/flaky-history.json").read_text()
        workers = json.loads(history)["runs"][-1]["workers"]
    cores, load = environment.usable_cores(), os.getloadavg()[0]
    print(f"{args.tests} tests of 4 ms, runs each: {args.repeat}, cores: {cores}, load {load:.1f}")
    show(
        [
            ("plain pytest (serial)", plain),
            (f"nox -R -s tests (workers {workers})", session),
            ("pytest -n 2 --reruns 2 (the stall)", stalled),
            ("same + recorder (TCP_NODELAY)", fixed),
        ],
        "plain pytest (serial)",
        0.9,
        ISSUE["synthetic"],
    )


def session_once(root: Path, env: dict[str, str], **changes: object) -> float:
    """The tests session's own code (``run_tests``), in this process, minus nox and uv.

    Its output goes nowhere; a failing verdict (a project's own broken test, its coverage
    floor) is still a timed run.
    """
    config = load_config(root)
    config = config.with_section(dataclasses.replace(config.section(TestsConfig), **changes))
    with Path(os.devnull).open("w", encoding="utf-8") as sink:
        output = Output(stream=sink, env={})
        runner = Runner(env=env, cwd=root, output=output)
        ctx = StageContext(name="tests", config=config, runner=runner, output=output)
        start = time.perf_counter()
        with contextlib.suppress(CITasksError):
            testsuite.run_tests(ctx)
        return time.perf_counter() - start


def project_suite(args: argparse.Namespace) -> None:
    root, venv = Path(args.dir).resolve(), Path(args.venv).resolve()
    env = {**clean_env(), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env["VIRTUAL_ENV"] = str(venv)
    pytest = [str(venv / "bin" / "pytest"), "-p", "no:cacheprovider"]
    session_once(root, env)  # records the durations "auto" decides from
    document = json.loads((root / ".ci-tasks" / durations.FILE).read_text())
    store, profile = durations.parse_store(document), durations.parse_profile(document)
    assert store is not None  # written just now by the session
    recorded, tests = durations.serial_seconds(store), len(store)
    choice = durations.choose_workers(recorded, environment.usable_cores(), tests, profile=profile)
    rows: dict[str, list[float]] = {
        "plain pytest": [],
        f"session (auto: {choice.workers} process(es))": [],
        "session, one process": [],
        "session, auto, coverage = false": [],
    }
    for _ in range(args.repeat):  # interleaved, so drift hits every line alike
        rows["plain pytest"].append(timed(pytest, root, env))
        rows[f"session (auto: {choice.workers} process(es))"].append(session_once(root, env))
        rows["session, one process"].append(session_once(root, env, workers=1))
        rows["session, auto, coverage = false"].append(session_once(root, env, coverage=False))
    print(f"{root.name}: {tests} tests, runs each: {args.repeat}, load {os.getloadavg()[0]:.1f}")
    print(f"workers: {choice.reason}")
    small = tests < 1000
    show(
        list(rows.items()),
        "plain pytest",
        1.3 if small else 1.0,
        ISSUE["small" if small else "packaging"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="suite", required=True)
    one = sub.add_parser("synthetic")
    one.add_argument("--tests", type=int, default=1500)
    one.add_argument("--repeat", type=int, default=3)
    two = sub.add_parser("project")
    two.add_argument("dir")
    two.add_argument("--venv", required=True)
    two.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    (synthetic if args.suite == "synthetic" else project_suite)(args)


if __name__ == "__main__":
    main()
