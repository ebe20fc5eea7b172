"""A small GitHub REST client for readiness: workflow runs, with ETags and rate limits.

Built on :func:`ci_tasks.http.session` (urllib3 ``Retry``: 429/5xx and connection
errors retried with backoff, ``Retry-After`` honoured). On top of that it adds what is
GitHub's own: pagination only by the ``Link`` header, conditional requests with stored
ETags (a 304 answers from the cache and, on GitHub, costs no rate limit), waiting for
``x-ratelimit-reset`` when the limit is spent and the session's deadline allows it, and
one-line errors that name the repository and the token's absence, never the token.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import requests
from requests.adapters import HTTPAdapter

from ci_tasks.core import http, masking
from ci_tasks.core.errors import ConfigError, ServiceUnavailable
from ci_tasks.core.retry import Clock, RetryPolicy, SystemClock
from ci_tasks.stages.readiness.artifacts import ArchiveRefused, Artifact, parse_artifacts
from ci_tasks.stages.readiness.evidence import IGNORED_CONCLUSIONS, CIRuns, Run, parse_time

DEFAULT_API_URL = "https://api.github.com"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
PER_PAGE = 100
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
# A rate-limited answer (403/429) is waited out at most this often.
MAX_RATE_LIMIT_WAITS = 3
# GitHub's advice for a 429 that carries no Retry-After: wait at least a minute.
DEFAULT_RATE_LIMIT_WAIT = 60.0
RETRY_STATUSES = frozenset({500, 502, 503, 504})
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REMOTE = re.compile(r"[:/]([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def api_session(policy: RetryPolicy) -> requests.Session:
    """An HTTP session for the API: 5xx and connection errors retried by urllib3.

    Rate limits (403/429, ``Retry-After``) are left to :class:`GitHubClient`: urllib3
    would sleep any ``Retry-After``, however long, where the client waits only when
    the wait fits the session's deadline.
    """
    session = http.session(policy, statuses=RETRY_STATUSES)
    for adapter in session.adapters.values():
        if isinstance(adapter, HTTPAdapter):
            adapter.max_retries = adapter.max_retries.new(respect_retry_after_header=False)
    return session


def parse_remote(url: str) -> str | None:
    """``owner/name`` from a git remote URL (https, ssh or scp-like), else ``None``."""
    match = _REMOTE.search(url.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def resolve_repository(configured: str, env: Mapping[str, str], remote: str | None) -> str:
    """The repository: configuration, then ``GITHUB_REPOSITORY``, then the git remote."""
    for value, where in (
        (configured, "[tool.ci-tasks.readiness] repository"),
        (env.get("GITHUB_REPOSITORY", ""), "GITHUB_REPOSITORY"),
    ):
        if value:
            if not _REPOSITORY.match(value):
                msg = f"{where}: expected 'owner/name', got {value!r}"
                raise ConfigError(msg)
            return value
    found = parse_remote(remote) if remote else None
    if found:
        return found
    msg = (
        "no GitHub repository: set [tool.ci-tasks.readiness] repository = 'owner/name' "
        "or GITHUB_REPOSITORY, add an 'origin' remote, or use --offline"
    )
    raise ConfigError(msg)


def token_from(env: Mapping[str, str]) -> str | None:
    """The API token from ``GITHUB_TOKEN`` or ``GH_TOKEN``."""
    for name in TOKEN_VARIABLES:
        if env.get(name):
            return env[name]
    return None


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


def _trim_comments(body: Any) -> list[Any]:
    if not isinstance(body, list):
        msg = "the answer is not a list of comments"
        raise ValueError(msg)  # noqa: TRY004 - reported like invalid JSON
    return [
        {
            "id": c.get("id"),
            "body": c.get("body") or "",
            "user": (c.get("user") or {}).get("login"),
        }
        for c in body
        if isinstance(c, dict)
    ]


def _trim_repo(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("default_branch"), str):
        msg = "the answer has no default_branch"
        raise ValueError(msg)  # noqa: TRY004 - reported like invalid JSON
    return {"default_branch": body["default_branch"]}


class GitHubClient:
    """GET requests against one repository, remembering ETags and bodies per URL.

    *cached* is the previous run's ``{url: {"etag", "body", "next"}}``; :attr:`fresh`
    collects the entries used by this run, for the caller to store.
    """

    def __init__(
        self,
        *,
        repository: str,
        http: requests.Session,
        base_url: str = DEFAULT_API_URL,
        token: str | None = None,
        cached: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        deadline: float | None = None,
        log: Callable[[str], None] = lambda _msg: None,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.repository = repository
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.cached = dict(cached or {})
        self.fresh: dict[str, Any] = {}
        self.timeout = timeout
        self.deadline = deadline
        self.log = log
        self.clock = clock or SystemClock()
        self.wall = wall
        self.requests = 0
        self.not_modified = 0

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.clock.monotonic()

    def _headers(self, url: str) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        etag = (self.cached.get(url) or {}).get("etag")
        if isinstance(etag, str) and etag:
            headers["If-None-Match"] = etag
        return headers

    def _what(self, url: str) -> str:
        return f"GitHub API {url.removeprefix(self.base_url).split('?')[0]}"

    def _rate_limit_wait(self, response: requests.Response, url: str, waits: int) -> float:
        """Seconds to wait before asking again, or raise when that cannot be done."""
        headers = response.headers
        what = self._what(url)
        if headers.get("x-ratelimit-remaining") == "0":
            try:
                reset = float(headers.get("x-ratelimit-reset", ""))
            except ValueError:
                reset = self.wall() + 3600
            wait = max(reset - self.wall(), 0.0) + 1.0
            why = f"rate limit exhausted (resets in {wait:.0f} s)"
        elif headers.get("retry-after", "").strip().isdigit():
            wait = float(headers["retry-after"])
            why = f"asked to retry after {wait:.0f} s ({response.status_code})"
        elif response.status_code == 429:  # noqa: PLR2004 - HTTP status
            wait = DEFAULT_RATE_LIMIT_WAIT
            why = "rate limited (429) without Retry-After"
        else:
            return -1.0
        remaining = self._remaining()
        if waits >= MAX_RATE_LIMIT_WAITS or (remaining is not None and wait >= remaining):
            budget = (
                "" if remaining is None else f"; the session has {max(remaining, 0):.0f} s left"
            )
            msg = (
                f"{what}: {why}{budget}; try again later or raise "
                "[tool.ci-tasks.timeouts] readiness"
            )
            raise ServiceUnavailable(msg)
        self.log(f"{what}: {why}; waiting")
        return wait

    def _timeout(self) -> float:
        remaining = self._remaining()
        return self.timeout if remaining is None else max(min(self.timeout, remaining), 0.001)

    def _send(
        self,
        url: str,
        method: str = "GET",
        payload: Mapping[str, Any] | None = None,
        *,
        allow_redirects: bool = True,
        stream: bool = False,
    ) -> requests.Response:
        timeout = self._timeout()
        self.requests += 1
        headers = self._headers(url) if method == "GET" else self._headers("")
        try:
            return self.http.request(
                method,
                url,
                headers=headers,
                json=payload,
                timeout=timeout,
                allow_redirects=allow_redirects,
                stream=stream,
            )
        except requests.RequestException as exc:
            text = str(exc)
            if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
                why = f"no answer within {timeout:g} s"
            else:
                why = f"cannot connect to {self.base_url}"
            msg = f"{self._what(url)}: {why} (after retries)"
            raise ServiceUnavailable(msg) from None

    def _fail(self, response: requests.Response, url: str) -> NoReturn:
        status, what = response.status_code, self._what(url)
        token = (
            "no token is set (GITHUB_TOKEN or GH_TOKEN)"
            if not self.token
            else "check that the token can read this repository's Actions (actions: read)"
        )
        if status == 401:  # noqa: PLR2004 - HTTP status
            msg = f"{what}: 401 unauthorised for {self.repository}: {token}"
            raise ConfigError(msg)
        if status == 404:  # noqa: PLR2004
            msg = (
                f"{what}: 404 not found: repository {self.repository} or the workflow does "
                f"not exist, or is private and {token}"
            )
            raise ConfigError(msg)
        if status == 403:  # noqa: PLR2004
            msg = f"{what}: 403 forbidden for {self.repository}: {token}"
            raise ConfigError(msg)
        msg = f"{what}: answered HTTP {status} (after retries)"
        raise ServiceUnavailable(msg)

    def get(
        self, url: str, trim: Callable[[Any], dict[str, Any]], *, remember: bool = True
    ) -> tuple[Any, str | None]:
        """The trimmed JSON body at *url* and the ``Link: rel="next"`` URL, if any.

        With *remember* the answer and its ETag are kept for the cache (and a 304 is
        answered from it); without, the page is fetched plainly.
        """
        response = self._answer(url)
        cached = self.cached.get(url)
        if response.status_code == 304 and isinstance(cached, dict) and "body" in cached:  # noqa: PLR2004
            self.not_modified += 1
            self.fresh[url] = cached
            return cached["body"], cached.get("next")
        if response.status_code != 200:  # noqa: PLR2004
            self._fail(response, url)
        try:
            body = trim(response.json())
        except ValueError as exc:
            msg = f"{self._what(url)}: the answer is not the JSON expected ({exc})"
            raise ServiceUnavailable(msg) from None
        next_url = response.links.get("next", {}).get("url")
        if remember:
            entry = {"etag": response.headers.get("ETag"), "body": body, "next": next_url}
            self.fresh[url] = entry
        return body, next_url

    def _answer(
        self, url: str, *, allow_redirects: bool = True, stream: bool = False
    ) -> requests.Response:
        """A GET's answer once rate limits are waited out (or raised about)."""
        waits = 0
        while True:
            response = self._send(url, allow_redirects=allow_redirects, stream=stream)
            if response.status_code in {403, 429}:
                wait = self._rate_limit_wait(response, url, waits)
                if wait >= 0:
                    waits += 1
                    self.clock.sleep(wait)
                    continue
            return response

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

    def pages(self, url: str, trim: Callable[[Any], list[Any]]) -> list[Any]:
        """Every item of a paginated list, following ``Link: rel="next"`` (not cached)."""
        items: list[Any] = []
        seen: set[str] = set()
        next_url: str | None = url
        while next_url and next_url not in seen:
            seen.add(next_url)
            body, next_url = self.get(next_url, lambda raw: {"items": trim(raw)}, remember=False)
            items += body["items"]
        return items

    def write(self, method: str, url: str, payload: Mapping[str, Any]) -> tuple[int, Any]:
        """Send a POST or PATCH; returns the status and the JSON answer (``None`` if none).

        Writes are not retried: POST is not idempotent, and the next run repairs a PATCH.
        401/404 raise like reads; the caller decides what a 403 means.
        """
        response = self._send(url, method, payload)
        if response.status_code in {401, 404}:
            self._fail(response, url)
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        """The comments of issue or pull request *number*: id, body and author login."""
        url = (
            f"{self.base_url}/repos/{self.repository}/issues/{number}/comments?per_page={PER_PAGE}"
        )
        return self.pages(url, _trim_comments)

    def default_branch(self) -> str:
        """The repository's default branch."""
        body, _ = self.get(f"{self.base_url}/repos/{self.repository}", _trim_repo)
        return str(body["default_branch"])

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
