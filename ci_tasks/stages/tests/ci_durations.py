"""Shard durations on a fresh CI checkout: the newest earlier CI run's, from its artifacts.

A CI job starts with no ``.ci-tasks/`` of its own, so without this a ``shards = N``
split is by count. Each tests session uploads its ``.ci-tasks/`` (the artifact
``ci-tasks-<session>``), holding the durations it recorded: a whole-suite session's
``test-durations.json``, a shard's ``<session>/test-durations.json``. A shard job reads
them from the newest run of the same workflow that had finished before this run
started, so every shard of this run picks the same run and splits alike (each test in
exactly one shard). Anything missing (no token, the API unreachable, no such run, no
durations in it) falls back to the split by count, and says why; it never fails the job.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import artifacts, github, reports
from ci_tasks.core.errors import CITasksError
from ci_tasks.core.retry import RetryPolicy
from ci_tasks.stages.tests import durations

MAX_BYTES = 50_000_000
"""An artifact larger than this (packed or unpacked) is not read."""
RUNS_LOOKED_AT = 20
REQUEST_TIMEOUT = 30.0
BUDGET_SECONDS = 120.0
"""The most the look-up may take: the split by count is the fallback, not a failure."""
FALLBACK = "split by count"


@dataclasses.dataclass(frozen=True)
class Found:
    """The durations the split uses (``{}``: none, split by count) and where they came from."""

    store: durations.Store
    said: str


def _workflow(env: Mapping[str, str]) -> str | None:
    """This run's workflow file (``ci.yml``), from ``GITHUB_WORKFLOW_REF``."""
    ref = env.get("GITHUB_WORKFLOW_REF", "")
    path = ref.partition("@")[0]
    name = path.rpartition("/")[2]
    return name or None


def earlier_run(api: github.GitHub, env: Mapping[str, str]) -> dict[str, Any] | None:
    """The newest run of this workflow on this branch that finished before this one began.

    Only the newest :data:`RUNS_LOOKED_AT` completed runs (one page) are looked at; an
    answer without its list of runs counts as no runs.
    """
    workflow, run_id = _workflow(env), env.get("GITHUB_RUN_ID", "")
    branch = env.get("GITHUB_BASE_REF") or env.get("GITHUB_REF_NAME")
    if not workflow or not run_id.isdigit() or not branch:
        return None
    began = reports.parse_time(api.workflow_run(int(run_id)).get("run_started_at"))
    pages = api.workflow_runs(workflow, branch, per_page=RUNS_LOOKED_AT, missing_ok=True)
    for run in next(pages, []):
        updated = reports.parse_time(run.get("updated_at"))
        if run.get("id") == int(run_id) or updated is None:
            continue
        if began is None or updated < began:
            return dict(run)
    return None


def merged(files: list[artifacts.CIFile]) -> durations.Store:
    """Every session's recorded durations as one store (each test's values joined)."""
    store: durations.Store = {}
    for file in files:
        try:
            parsed = durations.parse_store(json.loads(file.data))
        except ValueError:
            continue
        for nodeid, values in (parsed or {}).items():
            store.setdefault(nodeid, []).extend(values)
    return store


def client_for(env: Mapping[str, str], policy: RetryPolicy) -> artifacts.ArtifactsClient | None:
    """A client for this run's repository, when Actions gave the job a token."""
    token = github.token_from(env)
    repository = env.get("GITHUB_REPOSITORY", "")
    if not token or not repository:
        return None
    return artifacts.ArtifactsClient(
        repository=repository,
        http=github.api_session(policy),
        base_url=env.get("GITHUB_API_URL") or github.DEFAULT_API_URL,
        token=token,
        timeout=REQUEST_TIMEOUT,
        deadline=time.monotonic() + BUDGET_SECONDS,
    )


def from_ci(root: Path, env: Mapping[str, str], policy: RetryPolicy) -> Found:
    """The durations the newest earlier CI run uploaded, or why the split is by count."""
    client = client_for(env, policy)
    if client is None:
        return Found({}, f"{FALLBACK}: no GITHUB_TOKEN to read the last CI run's durations")
    return from_github(client, root, env)


def from_github(api: github.GitHub, root: Path, env: Mapping[str, str]) -> Found:
    """:func:`from_ci` once there is a way to ask GitHub."""
    try:
        run = earlier_run(api, env)
        if run is None:
            return Found({}, f"{FALLBACK}: no earlier completed run of this workflow")
        label = f"CI run #{run.get('run_number') or run['id']}"
        evidence = artifacts.gather(
            api,
            root,
            run_id=int(run["id"]),
            label=label,
            head_sha=str(run.get("head_sha") or ""),
            allowed={durations.FILE},
            in_folders={durations.FILE},
            max_bytes=MAX_BYTES,
        )
    except CITasksError as exc:
        return Found({}, f"{FALLBACK}: the last CI run's durations could not be read ({exc})")
    store = merged(list(evidence.files))
    if not store:
        return Found({}, f"{FALLBACK}: {label} uploaded no recorded durations")
    return Found(store, f"split by the durations {label} recorded ({len(store)} tests)")
