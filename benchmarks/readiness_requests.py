"""Requests readiness makes for N = 1,000 CI runs: a first run, then one with nothing new.

Two scenarios against a local fake GitHub API and a storage server on another host name:

* ``runs only``: the reports are local and fresh, so only the runs are asked for.
  Target: the first run makes at most 11 requests (the default branch, then 10 pages of
  100 found by Link); the second makes the same requests, all conditional, all 304.
* ``fresh checkout``: no local reports, as the scheduled workflow has; the newest run
  uploaded 4 artifacts (lint, security, build, tests). The first run adds the artifact
  list, 4 download redirects and 4 storage downloads; the second run's artifact list is
  answered 304 and the kept copy under ``.ci-tasks/ci-run/`` spares every download.

    uv run python benchmarks/readiness_requests.py
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ci_tasks.core import reports
from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, run_stage
from ci_tasks.stages.readiness import readiness
from tests.support.github_fake import (
    REPO,
    FakeGitHub,
    FakeStorage,
    make_runs,
    other_host,
    zip_archive,
)
from tests.support.localserver import LocalServer, serve

N = 1000
WORKFLOW = """\
name: CI
on: push
permissions: {}
concurrency: {group: ci, cancel-in-progress: true}
jobs:
  test: {runs-on: ubuntu-latest, timeout-minutes: 20, steps: [{run: "true"}]}
"""


def once(root: Path, api: str) -> tuple[int, float]:
    config = load_config(root)
    ctx = StageContext(
        name="readiness",
        config=config,
        runner=Runner(env={"GITHUB_API_URL": api, "PATH": os.environ["PATH"]}, cwd=root),
        output=Output(stream=io.StringIO(), env={}),
    )
    start = time.perf_counter()
    code = run_stage(readiness, ctx)
    return code, time.perf_counter() - start


def report(kind: str, commit: str, **body: object) -> str:
    return json.dumps(
        {
            "schema": f"ci-tasks/{kind}-report",
            "version": 1,
            "commit": commit,
            "generated_at": reports.now_iso(),
            "verdict": "passed",
            **body,
        }
    )


def evidence(commit: str) -> dict[str, str]:
    """The four session reports and the flaky history a green CI run of *commit* has."""
    history = {
        "schema": "ci-tasks/flaky-history",
        "version": 1,
        "runs": [{"commit": commit, "date": reports.now_iso(), "tests": 300, "rescued": 0}],
    }
    return {
        "lint-report.json": report("lint", commit, lock_current=True, findings=[]),
        "security-report.json": report("security", commit, findings=[], skipped=0),
        "build-report.json": report("build", commit),
        "flaky-history.json": json.dumps(history),
    }


def project(root: Path) -> str:
    """A committed project; returns its HEAD."""
    (root / ".github/workflows").mkdir(parents=True)
    (root / ".github/workflows/ci.yml").write_text(WORKFLOW)
    (root / ".gitignore").write_text(".ci-tasks/\n")
    (root / "pyproject.toml").write_text(
        f"[tool.ci-tasks.readiness]\nrepository = '{REPO}'\nruns = {N}\n"
    )
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return reports.current_commit(root) or ""


def scenario(
    root: Path, fake: FakeGitHub, api: LocalServer, blob: LocalServer
) -> list[tuple[str, int, int, int, int, float]]:
    rows = []
    for label in ("first run", "second run (nothing new)"):
        api.requests.clear()
        blob.requests.clear()
        before = fake.not_modified
        code, seconds = once(root, api.url)
        assert code == 0, f"{label}: exit {code}"
        conditional = sum(1 for r in api.requests if "If-None-Match" in r.headers)
        sent = (len(api.requests), len(blob.requests), conditional)
        rows.append((label, *sent, fake.not_modified - before, seconds))
    return rows


def main() -> None:
    results = {}
    for name in ("runs only", "fresh checkout"):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            head = project(root)
            fake, storage = FakeGitHub(runs=make_runs(["success"] * N)), FakeStorage()
            fake.runs[0]["head_sha"] = head
            files = evidence(head)
            with serve(fake) as api, serve(storage) as blob:
                fake.base, fake.storage = api.url, other_host(blob.url)
                if name == "runs only":
                    for file, text in files.items():
                        (root / ".ci-tasks").mkdir(exist_ok=True)
                        (root / ".ci-tasks" / file).write_text(text)
                else:
                    for session in ("lint", "security", "build"):
                        archive = zip_archive(
                            {f"{session}-report.json": files[f"{session}-report.json"]}
                        )
                        fake.upload(fake.runs[0], f"ci-tasks-{session}", archive, storage)
                    tests = zip_archive({"flaky-history.json": files["flaky-history.json"]})
                    fake.upload(fake.runs[0], "ci-tasks-tests-3.11", tests, storage)
                results[name] = scenario(root, fake, api, blob)
    print(f"readiness over N = {N} completed runs (per_page=100)")
    print(
        f"{'':18} {'':26} {'API':>5} {'storage':>7} {'conditional':>11} {'304':>5} {'seconds':>8}"
    )
    for name, rows in results.items():
        for label, sent, stored, conditional, not_modified, seconds in rows:
            print(
                f"{name:18} {label:26} {sent:>5} {stored:>7} {conditional:>11} "
                f"{not_modified:>5} {seconds:>8.2f}"
            )
    print(
        "target: runs only, first <= 11 requests; fresh checkout, first <= 11 + 1 list + 4 "
        "redirects + 4 downloads; every second run all conditional, 304, no download"
    )


if __name__ == "__main__":
    main()
