"""The Actions endpoints readiness reads: workflow runs and their artifacts.

:class:`ActionsClient` is the shared :class:`~ci_tasks.core.github.GitHubClient` (ETags,
rate limits, one-line errors) with what only readiness asks GitHub for.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

import requests

from ci_tasks.core import masking
from ci_tasks.core.errors import ServiceUnavailable
from ci_tasks.core.github import (
    DEFAULT_API_URL,
    PER_PAGE,
    GitHubClient,
    api_session,
    parse_remote,
    resolve_repository,
    token_from,
)
from ci_tasks.stages.readiness.artifacts import ArchiveRefused, Artifact, parse_artifacts
from ci_tasks.stages.readiness.evidence import IGNORED_CONCLUSIONS, CIRuns, Run, parse_time

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
ARTIFACT_FIELDS = ("id", "name", "size_in_bytes", "expired", "archive_download_url")
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _trim_runs(body: Any) -> dict[str, Any]:
    runs = body.get("workflow_runs") if isinstance(body, dict) else None
    if not isinstance(runs, list):
        msg = "the answer has no workflow_runs list"
        raise ValueError(msg)  # noqa: TRY004 - reported like invalid JSON
    kept = [{k: r.get(k) for k in RUN_FIELDS} for r in runs if isinstance(r, dict)]
    return {"total_count": body.get("total_count"), "workflow_runs": kept}


def _trim_artifacts(body: Any) -> dict[str, Any]:
    items = body.get("artifacts") if isinstance(body, dict) else None
    if not isinstance(items, list):
        msg = "the answer has no artifacts list"
        raise ValueError(msg)  # noqa: TRY004 - reported like invalid JSON
    kept = [{k: a.get(k) for k in ARTIFACT_FIELDS} for a in items if isinstance(a, dict)]
    return {"total_count": body.get("total_count"), "artifacts": kept}


class ActionsClient(GitHubClient):
    """The GitHub client with the workflow-runs and artifacts endpoints."""

    def run_artifacts(self, run_id: int) -> list[Artifact]:
        """The artifacts of workflow run *run_id* (every page, each remembered for ETags)."""
        path = f"/repos/{self.repository}/actions/runs/{run_id}/artifacts"
        url: str | None = f"{self.base_url}{path}?per_page={PER_PAGE}"
        found: list[Artifact] = []
        seen: set[str] = set()
        while url and url not in seen:
            seen.add(url)
            body, url = self.get(url, _trim_artifacts)
            found += parse_artifacts(body)
        return found

    def download(self, url: str, max_bytes: int) -> bytes | None:
        """The archive behind an artifact's ``archive_download_url``; ``None`` when gone.

        The API answers with a redirect to a short-lived signed URL on a storage host. That
        request is made here, not by requests, and carries no credentials: requests drops
        ``Authorization`` on a redirect only when host, port or scheme change, and may add
        ``~/.netrc`` credentials for the new host. Its URL is never shown (the query is the
        signature). More than *max_bytes* is refused without reading further.
        """
        # Streamed: an archive served in place is read no further than the cap.
        response = self._answer(url, allow_redirects=False, stream=True)
        if response.status_code in {404, 410}:  # expired (410) or deleted since it was listed
            response.close()
            return None
        if response.status_code == 200:  # noqa: PLR2004 - served in place (no storage host)
            return _capped(response, max_bytes)
        response.close()
        location = response.headers.get("Location")
        if response.status_code not in REDIRECTS or not location:
            self._fail(response, url)
        target = urllib.parse.urljoin(url, location)
        parts = urllib.parse.urlsplit(target)
        host, scheme = parts.hostname or "?", parts.scheme
        masking.default_masker().add(parts.query)  # the signature: a credential for a minute
        if scheme != "https" and scheme != urllib.parse.urlsplit(self.base_url).scheme:
            msg = f"{self._what(url)}: redirected to {scheme}://{host}, which is not https"
            raise ServiceUnavailable(msg)
        self.requests += 1
        try:
            stored = self.http.get(
                target,
                headers={"Accept": "application/zip"},
                auth=_no_credentials,
                allow_redirects=False,
                stream=True,
                timeout=self._timeout(),
            )
        except requests.RequestException:
            msg = f"artifact storage {host}: no answer (after retries)"
            raise ServiceUnavailable(msg) from None
        if stored.status_code != 200:  # noqa: PLR2004
            msg = f"artifact storage {host}: answered HTTP {stored.status_code} (after retries)"
            raise ServiceUnavailable(msg)
        return _capped(stored, max_bytes)

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


def _no_credentials(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An ``auth`` that sends none (passing it stops requests reading ``~/.netrc``)."""
    request.headers.pop("Authorization", None)
    return request


def _capped(response: requests.Response, max_bytes: int) -> bytes:
    """The body of a streamed *response*, refused past *max_bytes* (read no further)."""
    cap = f"over the {max_bytes / 1e6:g} MB cap"
    try:
        declared = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes:
        response.close()
        msg = f"the archive is {declared / 1e6:.1f} MB, {cap}"
        raise ArchiveRefused(msg)
    data = bytearray()
    try:
        for chunk in response.iter_content(64 * 1024):
            data += chunk
            if len(data) > max_bytes:
                msg = f"the archive is larger than {max_bytes / 1e6:g} MB, {cap}"
                raise ArchiveRefused(msg)
    except requests.RequestException:
        msg = "artifact storage: the download broke off (after retries)"
        raise ServiceUnavailable(msg) from None
    finally:
        response.close()
    return bytes(data)


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
