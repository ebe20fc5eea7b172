"""Shards split by the durations the newest earlier CI run uploaded.

The HTTP path runs against a fake GitHub on a local server; which run is read, and why
not, against GitHub's answers held in memory.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ci_tasks.core.errors import ConfigError
from ci_tasks.core.retry import RetryPolicy
from ci_tasks.stages.tests import ci_durations, durations
from ci_tasks.stages.tests._pytest.ci_tasks_split import split
from tests.support.github_fake import (
    REPO,
    FakeGitHub,
    FakeStorage,
    make_runs,
    other_host,
    zip_archive,
)
from tests.support.github_memory import MemoryGitHub
from tests.support.localserver import serve

TOKEN = "ghs_fake-token-for-durations"
POLICY = RetryPolicy(attempts=1, initial_delay=0, max_delay=0, jitter=0)


def _store(values: dict[str, float]) -> str:
    return json.dumps(
        {"schema": durations.SCHEMA, "version": 1, "tests": {k: [v] for k, v in values.items()}}
    )


def _env(api_url: str, **extra: str) -> dict[str, str]:
    env = {
        "GITHUB_API_URL": api_url,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": "2000",
        "GITHUB_REF_NAME": "main",
        "GITHUB_WORKFLOW_REF": f"{REPO}/.github/workflows/ci.yml@refs/heads/main",
    }
    return {**env, **extra}


def _fake() -> tuple[FakeGitHub, FakeStorage]:
    """Two completed runs; this run (2000) began after the newest of them had finished."""
    fake, storage = FakeGitHub(runs=make_runs(["success", "failure"])), FakeStorage()
    began = dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    fake.current = {**fake.runs[0], "id": 2000, "run_started_at": began, "status": "in_progress"}
    return fake, storage


def test_shards_split_by_the_durations_the_last_ci_run_uploaded(tmp_path):
    """Each shard's artifact holds its tests' durations: merged, they balance the split by time."""
    slow = {f"tests/test_a.py::test_slow[{n}]": 3.0 for n in range(2)}
    quick = {f"tests/test_b.py::test_quick[{n}]": 0.01 for n in range(8)}
    fake, storage = _fake()
    with serve(fake) as api, serve(storage) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        shard1 = zip_archive({"tests-shard1of2-3.11/test-durations.json": _store(slow)})
        shard2 = zip_archive({"tests-shard2of2-3.11/test-durations.json": _store(quick)})
        fake.upload(fake.runs[0], "ci-tasks-tests-shard1of2-3.11", shard1, storage)
        fake.upload(fake.runs[0], "ci-tasks-tests-shard2of2-3.11", shard2, storage)
        fake.upload(fake.runs[1], "ci-tasks-tests-shard1of2-3.11", zip_archive({}), storage)
        found = ci_durations.from_ci(tmp_path, _env(api.url), POLICY)
    assert found.said == "split by the durations CI run #1234 recorded (10 tests)"
    assert found.store == {n: [v] for n, v in {**slow, **quick}.items()}
    groups = split(list(found.store), durations.latest(found.store), 2)
    # By time: one slow test in each shard (by count, both could land in one).
    assert [sum("test_slow" in n for n in group) for group in groups] == [1, 1]
    assert not (tmp_path / ".ci-tasks").exists()  # nothing written into the checkout


def test_a_run_that_finished_after_this_one_began_is_not_used(tmp_path):
    """Every shard picks the same run: one still running when this run began is skipped."""
    fake, storage = _fake()
    fake.current["run_started_at"] = "2026-10-31T23:30:00Z"  # before runs[0] ended
    with serve(fake) as api, serve(storage) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        newest = zip_archive({"test-durations.json": _store({"t.py::a": 1.0})})
        fake.upload(fake.runs[0], "ci-tasks-tests-3.11", newest, storage)
        found = ci_durations.from_ci(tmp_path, _env(api.url), POLICY)
    assert found == ci_durations.Found(
        {}, "split by count: CI run #1233 uploaded no recorded durations"
    )


def test_without_a_token_or_an_api_the_split_is_by_count_and_says_why(tmp_path):
    """No token, an unreachable API, no earlier run: split by count, one line saying why."""
    no_token = ci_durations.from_ci(tmp_path, {"GITHUB_REPOSITORY": REPO}, POLICY)
    assert no_token.store == {}
    assert "split by count: no GITHUB_TOKEN" in no_token.said
    fake = FakeGitHub(runs=[], current={"id": 2000, "run_started_at": "2026-11-01T00:00:00Z"})
    with serve(fake) as api:
        fake.base = api.url
        none = ci_durations.from_ci(tmp_path, _env(api.url), POLICY)
    assert none.said == "split by count: no earlier completed run of this workflow"
    with serve(lambda _request: (_ for _ in ()).throw(OSError)) as dead:
        url = dead.url
    gone = ci_durations.from_ci(tmp_path, _env(url), POLICY)
    assert gone.store == {}
    assert gone.said.startswith("split by count: the last CI run's durations could not be read")
    assert TOKEN not in gone.said


def _memory(runs: list[dict[str, object]], began: str) -> MemoryGitHub:
    """GitHub in memory: completed *runs* and this run (2000), which began at *began*."""
    current = {"id": 2000, "run_started_at": began, "status": "in_progress"}
    return MemoryGitHub(runs=runs, current=current)


def test_the_newest_run_finished_before_this_one_began_is_the_one_read(tmp_path):
    """Runs still going when this one began are passed over for the newest one finished."""
    github = _memory(make_runs(["success"] * 3), began="2026-10-31T23:00:00Z")
    github.upload(1001, "ci-tasks-tests-3.11", zip_archive({"test-durations.json": "{}"}))
    github.upload(
        1002, "ci-tasks-tests-3.11", zip_archive({"test-durations.json": _store({"t.py::a": 2.0})})
    )
    found = ci_durations.from_github(github, tmp_path, _env("unused"))
    # runs[0] ended at 00:05 and runs[1] at 23:05, after 23:00; runs[2] (22:05) is read.
    assert found == ci_durations.Found(
        {"t.py::a": [2.0]}, "split by the durations CI run #1232 recorded (1 tests)"
    )
    assert github.asked[:2] == ["workflow_run 2000", "workflow_runs page 1"]


def test_only_the_newest_page_of_runs_is_looked_at(tmp_path):
    """Past RUNS_LOOKED_AT runs none is read, even one that would qualify: one page asked."""
    runs = make_runs(["success"] * (ci_durations.RUNS_LOOKED_AT + 5))
    # Every run on the first page ended after this one began; the 21st did not.
    github = _memory(runs, began=str(runs[ci_durations.RUNS_LOOKED_AT - 1]["run_started_at"]))
    found = ci_durations.from_github(github, tmp_path, _env("unused"))
    assert found.said == "split by count: no earlier completed run of this workflow"
    assert github.asked == ["workflow_run 2000", "workflow_runs page 1"]


def test_a_github_that_cannot_answer_is_a_split_by_count_saying_why(tmp_path):
    """GitHub's one-line error is the reason given; the look-up never raises."""
    github = _memory([], began="2026-11-01T00:00:00Z")
    github.down = ConfigError("GitHub API /repos/octo/app/actions/runs/2000: 401 unauthorised")
    found = ci_durations.from_github(github, tmp_path, _env("unused"))
    assert found == ci_durations.Found(
        {},
        "split by count: the last CI run's durations could not be read "
        "(GitHub API /repos/octo/app/actions/runs/2000: 401 unauthorised)",
    )


@pytest.mark.parametrize("missing", ["GITHUB_RUN_ID", "GITHUB_WORKFLOW_REF", "GITHUB_REF_NAME"])
def test_without_this_runs_workflow_id_or_branch_github_is_not_asked(tmp_path, missing):
    """A job that cannot say which run it is asks nothing and splits by count."""
    github = _memory(make_runs(["success"]), began="2026-11-02T00:00:00Z")
    env = {k: v for k, v in _env("unused").items() if k != missing}
    found = ci_durations.from_github(github, tmp_path, env)
    assert found.said == "split by count: no earlier completed run of this workflow"
    assert github.asked == []
