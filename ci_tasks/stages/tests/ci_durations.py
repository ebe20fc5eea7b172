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
import urllib.parse
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


def _trim_run(raw: Any) -> dict[str, Any]:
    return {"run_started_at": raw.get("run_started_at")} if isinstance(raw, dict) else {}


def _trim_runs(raw: Any) -> dict[str, Any]:
    runs = raw.get("workflow_runs") if isinstance(raw, dict) else None
    fields = ("id", "run_number", "conclusion", "updated_at", "head_sha")
    kept = [{k: r.get(k) for k in fields} for r in runs or [] if isinstance(r, dict)]
    return {"workflow_runs": kept}


def earlier_run(client: artifacts.ArtifactsClient, env: Mapping[str, str]) -> dict[str, Any] | None:
    """The newest run of this workflow on this branch that finished before this one began."""
    workflow, run_id = _workflow(env), env.get("GITHUB_RUN_ID", "")
    branch = env.get("GITHUB_BASE_REF") or env.get("GITHUB_REF_NAME")
    if not workflow or not run_id.isdigit() or not branch:
        return None
    base = f"{client.base_url}/repos/{client.repository}/actions"
    this, _ = client.get(f"{base}/runs/{run_id}", _trim_run, remember=False)
    began = reports.parse_time(this.get("run_started_at"))
    query = urllib.parse.urlencode(
        {"branch": branch, "status": "completed", "per_page": RUNS_LOOKED_AT}
    )
    url = f"{base}/workflows/{urllib.parse.quote(workflow)}/runs?{query}"
    body, _ = client.get(url, _trim_runs, remember=False)
    for run in body["workflow_runs"]:
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
    fallback = "split by count"
    client = client_for(env, policy)
    if client is None:
        return Found({}, f"{fallback}: no GITHUB_TOKEN to read the last CI run's durations")
    try:
        run = earlier_run(client, env)
        if run is None:
            return Found({}, f"{fallback}: no earlier completed run of this workflow")
        label = f"CI run #{run.get('run_number') or run['id']}"
        evidence = artifacts.gather(
            client,
            root,
            run_id=int(run["id"]),
            label=label,
            head_sha=str(run.get("head_sha") or ""),
            allowed={durations.FILE},
            in_folders={durations.FILE},
            max_bytes=MAX_BYTES,
        )
    except CITasksError as exc:
        return Found({}, f"{fallback}: the last CI run's durations could not be read ({exc})")
    store = merged(list(evidence.files))
    if not store:
        return Found({}, f"{fallback}: {label} uploaded no recorded durations")
    return Found(store, f"split by the durations {label} recorded ({len(store)} tests)")
