"""Requests readiness makes for N = 1,000 CI runs: a first run, then one with nothing new.

Target: the first run makes at most 11 requests (the default branch, then 10 pages of
100 found by Link); the second makes the same requests, all conditional, all answered
304 from the ETag cache. Runs the real stage against a local fake GitHub API.

    uv run python benchmarks/readiness_requests.py
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.github_fake import REPO, FakeGitHub, make_runs
from tests.localserver import serve

from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, run_stage
from ci_tasks.stages.readiness import readiness

N = 1000


def once(root: Path, api: str) -> tuple[int, float]:
    config = load_config(root)
    ctx = StageContext(
        name="readiness",
        config=config,
        runner=Runner(env={"GITHUB_API_URL": api, "PATH": ""}, cwd=root),
        output=Output(stream=io.StringIO(), env={}),
    )
    start = time.perf_counter()
    code = run_stage(readiness, ctx)
    return code, time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(
            f"[tool.ci-tasks.readiness]\nrepository = '{REPO}'\nruns = {N}\n"
        )
        fake = FakeGitHub(runs=make_runs(["success"] * N))
        with serve(fake) as server:
            fake.base = server.url
            rows = []
            for label in ("first run", "second run (nothing new)"):
                server.requests.clear()
                before = fake.not_modified
                code, seconds = once(root, server.url)
                sent = len(server.requests)
                conditional = sum(1 for r in server.requests if "If-None-Match" in r.headers)
                rows.append((label, sent, conditional, fake.not_modified - before, seconds, code))
    print(f"readiness over N = {N} completed runs (per_page=100)")
    print(f"{'':26} {'requests':>8} {'conditional':>11} {'304':>5} {'seconds':>8}")
    for label, sent, conditional, not_modified, seconds, code in rows:
        assert code == 0, f"{label}: exit {code}"
        print(f"{label:26} {sent:>8} {conditional:>11} {not_modified:>5} {seconds:>8.2f}")
    print("target: first <= 11 requests; second: every request conditional and answered 304")


if __name__ == "__main__":
    main()
