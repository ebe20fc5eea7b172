"""The CI workflow's runs as readiness reads them, from the GitHub API.

The client is the shared one (:class:`~ci_tasks.core.artifacts.ArtifactsClient`: ETags,
rate limits, Link pagination, one-line errors); readiness asks for it through the
:class:`~ci_tasks.core.github.GitHub` interface and adds only what counts as enough runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ci_tasks.core.artifacts import ArtifactsClient
from ci_tasks.core.github import (
    DEFAULT_API_URL,
    GitHub,
    api_session,
    parse_remote,
    resolve_repository,
    token_from,
)
from ci_tasks.core.reports import parse_time
from ci_tasks.stages.readiness.evidence import IGNORED_CONCLUSIONS, CIRuns, Run

__all__ = [
    "DEFAULT_API_URL",
    "ActionsClient",
    "GitHub",
    "api_session",
    "ci_runs",
    "parse_remote",
    "resolve_repository",
    "token_from",
]

ActionsClient = ArtifactsClient
"""The client readiness builds: every method of :class:`GitHub`, over HTTP."""


def ci_runs(api: GitHub, workflow: str, branch: str, count: int) -> CIRuns:
    """The newest completed runs of *workflow* on *branch*: at least *count* that count.

    Pages are asked for until *count* runs are in hand or none are left; every run of
    the last page asked for is kept.
    """
    pages = api.workflow_runs(workflow, branch)
    runs: list[Run] = []
    while _counted(runs) < count and (page := next(pages, None)) is not None:
        runs += [_run(r) for r in page]
    return CIRuns(api.repository, workflow, branch, tuple(runs))


def _counted(runs: list[Run]) -> int:
    return sum(1 for r in runs if r.conclusion not in IGNORED_CONCLUSIONS)


def _run(raw: Mapping[str, Any]) -> Run:
    attempt = raw.get("run_attempt")
    conclusion = raw.get("conclusion")
    return Run(
        id=int(raw.get("id") or 0),
        number=int(raw.get("run_number") or 0),
        conclusion=conclusion if isinstance(conclusion, str) else None,
        run_attempt=attempt if isinstance(attempt, int) else 1,
        started=parse_time(raw.get("run_started_at")),
        updated=parse_time(raw.get("updated_at")),
        head_sha=str(raw.get("head_sha") or ""),
    )
