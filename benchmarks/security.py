"""How long the security stage's parts take: each scanner on a sample project, the verdict.

Run: ``uv run python benchmarks/security.py``. Prints, side by side, the median wall time
of each scanner (three runs, in-process, pip-audit against a local OSV server) and of the
pure verdict over a large synthetic result. The whole session with and without a venv of
its own: ``benchmarks/stage_venvs.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ci_tasks.core.actions import Output
from ci_tasks.core.runner import Runner
from ci_tasks.stages.security import SCANNERS, ScanContext
from ci_tasks.stages.security._model import Finding, ScanResult
from ci_tasks.stages.security._verdict import judge, report_body, summary_markdown
from ci_tasks.stages.security.config import SecurityConfig, SecurityIgnore
from tests.stages.security.test_security_e2e import CLEAN_WORKFLOW, SHELL, osv
from tests.support.localserver import serve
from tests.support.sample import clean_env, make_project

RUNS = 3


def scanners() -> dict[str, float]:
    """Median seconds per scanner on a sample project locking requests 2.19.0."""
    with tempfile.TemporaryDirectory() as tmp, serve(osv) as server:
        root = Path(tmp)
        make_project(
            root,
            dependencies=["requests==2.19.0"],
            dev=(),
            files={"sample/shell.py": SHELL, ".github/workflows/ci.yml": CLEAN_WORKFLOW},
        )
        env = clean_env()
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
        output = Output(stream=io.StringIO(), env={})
        runner = Runner(env=env, cwd=root, output=output)
        ctx = ScanContext(
            root=root,
            config=SecurityConfig(osv_url=f"{server.url}/v1/query"),
            runner=runner,
            output=output,
            workdir=root,
            python=Path(sys.prefix),
        )
        times: dict[str, list[float]] = {s.name: [] for s in SCANNERS}
        for _ in range(RUNS):
            for scanner in SCANNERS:
                start = time.perf_counter()
                scanner.scan(ctx)
                times[scanner.name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def verdict(findings: int = 10_000) -> float:
    """Seconds to judge, render and serialise *findings* findings against 100 ignores."""
    result = ScanResult(
        "pip-audit",
        "ran",
        findings=tuple(
            Finding("pip-audit", f"CVE-{i}", "unknown", "m", file="uv.lock")
            for i in range(findings)
        ),
    )
    ignores = [
        SecurityIgnore(id=f"CVE-{i}", reason="r", until=dt.date(2999, 1, 1)) for i in range(100)
    ]
    start = time.perf_counter()
    outcome = judge([result], ignores, dt.date(2026, 1, 1))
    report_body(outcome)
    summary_markdown(outcome)
    return time.perf_counter() - start


def main() -> None:
    """Print the figures."""
    figures = scanners()
    total = sum(figures.values())
    print(f"{'part':<34}{'median s':>10}")
    for name, seconds in figures.items():
        print(f"{'scanner ' + name:<34}{seconds:>10.2f}")
    print(f"{'all four scanners':<34}{total:>10.2f}")
    print(f"{'verdict over 10000 findings':<34}{verdict():>10.3f}")


if __name__ == "__main__":
    main()
