"""The Actions endpoints readiness reads: workflow runs and their artifacts.

:class:`ActionsClient` is the shared :class:`~ci_tasks.core.github.GitHubClient` (ETags,
rate limits, one-line errors) with what only readiness asks GitHub for.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from ci_tasks.core.artifacts import ArtifactsClient
from ci_tasks.core.github import (
    DEFAULT_API_URL,
    PER_PAGE,
    api_session,
    parse_remote,
    resolve_repository,
    token_from,
    trim_listing,
)
from ci_tasks.core.reports import parse_time
from ci_tasks.stages.readiness.evidence import IGNORED_CONCLUSIONS, CIRuns, Run

__all__ = [
    "DEFAULT_API_URL",
    "ActionsClient",
    "api_session",
    "parse_remote",
    "resolve_repository",
    "token_from",
]

RUN_FIELDS = (
    "id",
    "run_number",
    "conclusion",
    "run_attempt",
    "run_started_at",
    "updated_at",
    "head_sha",
)


def _trim_runs(body: Any) -> dict[str, Any]:
    return trim_listing(body, "workflow_runs", RUN_FIELDS)


class ActionsClient(ArtifactsClient):
    """The GitHub client with the workflow-runs and artifacts endpoints."""

    def workflow_runs(self, workflow: str, branch: str, count: int) -> CIRuns:
        """The newest completed runs of *workflow* on *branch*: at least *count* that count.

        Pages are followed by ``Link`` until *count* runs are in hand or none are left.
        """
        query = urllib.parse.urlencode(
            {"branch": branch, "status": "completed", "per_page": PER_PAGE}
        )
        path = f"/repos/{self.repository}/actions/workflows/{urllib.parse.quote(workflow)}/runs"
        url: str | None = f"{self.base_url}{path}?{query}"
        runs: list[Run] = []
        seen: set[str] = set()
        while url and url not in seen and _counted(runs) < count:
            seen.add(url)
            body, url = self.get(url, _trim_runs)
            runs += [_run(r) for r in body["workflow_runs"]]
        return CIRuns(self.repository, workflow, branch, tuple(runs))


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
