"""Durations on a fresh CI checkout: the newest earlier CI run's, from its artifacts.

A CI job starts with no ``.ci-tasks/`` of its own, so without this a ``shards = N``
split is by count and ``workers = "auto"`` has no suite time to decide from. Each tests
session uploads its ``.ci-tasks/`` (the artifact ``ci-tasks-<session>-<os>``), holding the
durations it recorded: a whole-suite session's ``test-durations.json`` (with the suite's
profile), a shard's ``<session>/test-durations.json``. A job reads them from the newest
run of the same workflow that had finished before this run started, so every shard of
this run picks the same run and splits alike (each test in exactly one shard). Anything
missing (no token, the API unreachable, no such run, no durations in it) leaves the
caller without durations, and says why; it never fails the job.

Only tests sessions' artifacts are downloaded (never lint's, security's or build's): the
durations files each tests job also uploads alone (``durations-<session>-<os>``, a few
kilobytes), or, from a run before those, the session's whole reports. Of those, the ones
uploaded on this job's OS (``RUNNER_OS``, against the label the artifact
name ends with): a suite's durations on Windows say little of its durations on Linux.
Another OS's are read only when this one's has none, and the line says so.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import artifacts, github, matrix, reports
from ci_tasks.core.errors import CITasksError
from ci_tasks.core.retry import RetryPolicy
from ci_tasks.stages.testing import durations

MAX_BYTES = 50_000_000
"""An artifact larger than this (packed or unpacked) is not read."""
RUNS_LOOKED_AT = 20
REQUEST_TIMEOUT = 30.0
BUDGET_SECONDS = 120.0
"""The most a shard's look-up may take: the split by count is the fallback, not a failure."""
WORKERS_BUDGET_SECONDS = 10.0
"""The most the look-up for ``workers = "auto"`` may take: it saves a few seconds at best."""


@dataclasses.dataclass(frozen=True)
class Found:
    """The last CI run's durations (``{}``: none) and the suite's profile, if it had one."""

    store: durations.Store
    said: str
    """Where they came from (``the durations CI run #1234 recorded (10 tests)``), or why
    there are none (``no earlier completed run of this workflow``)."""
    profile: durations.Profile | None = None


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


def merged(files: list[artifacts.CIFile]) -> tuple[durations.Store, durations.Profile | None]:
    """The files' recorded durations as one store (each test's values joined).

    With them the suite's profile: the first file's that carries one (a whole-suite
    session's; a shard records none).
    """
    store: durations.Store = {}
    profile = None
    for file in files:
        try:
            data = json.loads(file.data)
            parsed = durations.parse_store(data)
        except ValueError:
            continue
        if parsed is None:
            continue
        for nodeid, values in parsed.items():
            store.setdefault(nodeid, []).extend(values)
        profile = profile or durations.stored_profile(data)
    return store, profile


def session_artifacts(
    listed: list[github.Artifact], session: str, prefix: str = reports.ARTIFACT_PREFIX
) -> list[github.Artifact]:
    """*session*'s own artifacts when the run uploaded any, else every one *listed*.

    ``<prefix><session>-<os>`` (``ci-tasks-`` or ``durations-``): one per OS the session
    runs on, their durations merged. A run without them (the session was renamed, or was
    sharded then) still says how long the suite's tests take.
    """
    own = f"{prefix}{session}"
    mine = [a for a in listed if a.name == own or a.name.startswith(f"{own}-")]
    return mine or listed


_TESTS = f"{reports.ARTIFACT_PREFIX}tests"
_DURATIONS = f"{reports.DURATIONS_ARTIFACT_PREFIX}tests"


def _label(name: str) -> str:
    """The runner label an artifact's name ends with (``ci-tasks-tests-3.11-ubuntu-latest``)."""
    for prefix in ("ubuntu", "windows", "macos"):
        start = name.rfind(f"-{prefix}-")
        if start >= 0:
            return name[start + 1 :]
    return ""


def choose_artifacts(
    listed: list[github.Artifact], session: str | None, here: str | None
) -> tuple[list[github.Artifact], str]:
    """The artifacts to read durations from, and a note when they are another OS's (pure).

    Tests sessions' only: their durations-only artifacts (``durations-<session>-<os>``)
    when the run uploaded any, else (a run from before them) their whole reports. With
    *session*, its own when the run has any (:func:`session_artifacts`); then those of
    this job's OS *here* (``RUNNER_OS``), and only when there are none, the others', noted
    (``none recorded on Windows: those of ubuntu-latest``). Artifacts whose label names no
    OS (a self-hosted runner's) count as any OS's.
    """
    small = [a for a in listed if a.name.startswith(_DURATIONS)]
    prefix = reports.DURATIONS_ARTIFACT_PREFIX if small else reports.ARTIFACT_PREFIX
    tests = small or [a for a in listed if a.name.startswith(_TESTS)]
    pool = tests if session is None else session_artifacts(tests, session, prefix)
    if here is None:
        return pool, ""
    same = [a for a in pool if matrix.runner_os(_label(a.name)) in (here, None)]
    if same or not pool:
        return same, ""
    labels = sorted({_label(a.name) for a in pool})
    return pool, f"none recorded on {here}: those of {', '.join(labels)}"


@dataclasses.dataclass(frozen=True)
class _Chosen:
    """An artifact source that lists the artifacts chosen beforehand."""

    source: artifacts.ArtifactSource
    chosen: list[github.Artifact]

    def run_artifacts(self, run_id: int) -> list[github.Artifact]:  # noqa: ARG002
        return self.chosen

    def download(self, url: str, max_bytes: int) -> bytes | None:
        return self.source.download(url, max_bytes)


def client_for(
    env: Mapping[str, str], policy: RetryPolicy, budget: float = BUDGET_SECONDS
) -> artifacts.ArtifactsClient | None:
    """A client for this run's repository, when Actions gave the job a token.

    The token is ci_tasks' own (:data:`~ci_tasks.core.github.CI_TASKS_TOKEN`), else one the
    workflow set for every step (``GITHUB_TOKEN``, as earlier workflows of ``init`` do).
    """
    token = env.get(github.CI_TASKS_TOKEN) or github.token_from(env)
    repository = env.get("GITHUB_REPOSITORY", "")
    if not token or not repository:
        return None
    return artifacts.ArtifactsClient(
        repository=repository,
        http=github.api_session(policy),
        base_url=env.get("GITHUB_API_URL") or github.DEFAULT_API_URL,
        token=token,
        timeout=REQUEST_TIMEOUT,
        deadline=time.monotonic() + budget,
    )


def from_ci(
    root: Path,
    env: Mapping[str, str],
    policy: RetryPolicy,
    *,
    session: str | None = None,
    budget: float = BUDGET_SECONDS,
) -> Found:
    """The durations the newest earlier CI run uploaded, or why there are none.

    With *session*, only that session's artifacts are read when the run has any
    (:func:`session_artifacts`); without, every session's, merged (a shard's split needs
    every test). The look-up stops at *budget* seconds.
    """
    client = client_for(env, policy, budget)
    if client is None:
        return Found({}, f"no {github.CI_TASKS_TOKEN} to read the last CI run's durations")
    return from_github(client, root, env, session=session)


def from_github(
    api: github.GitHub, root: Path, env: Mapping[str, str], *, session: str | None = None
) -> Found:
    """:func:`from_ci` once there is a way to ask GitHub."""
    try:
        run = earlier_run(api, env)
        if run is None:
            return Found({}, "no earlier completed run of this workflow")
        label = f"CI run #{run.get('run_number') or run['id']}"
        chosen, note = choose_artifacts(
            api.run_artifacts(int(run["id"])), session, env.get("RUNNER_OS") or None
        )
        evidence = artifacts.gather(
            _Chosen(api, chosen),
            root,
            run_id=int(run["id"]),
            label=label,
            head_sha=str(run.get("head_sha") or ""),
            allowed={durations.FILE},
            in_folders={durations.FILE},
            max_bytes=MAX_BYTES,
            wanted=lambda name: artifacts.is_ours(name) or artifacts.is_durations(name),
        )
    except CITasksError as exc:
        return Found({}, f"the last CI run's durations could not be read ({exc})")
    store, profile = merged(list(evidence.files))
    if not store:
        return Found({}, f"{label} uploaded no recorded durations")
    said = f"the durations {label} recorded ({len(store)} tests)"
    return Found(store, f"{said}; {note}" if note else said, profile)
