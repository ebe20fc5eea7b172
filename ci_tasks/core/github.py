"""A small GitHub REST client: ETags, rate limits, pagination, one-line errors.

Built on :func:`ci_tasks.http.session` (urllib3 ``Retry``: 429/5xx and connection
errors retried with backoff, ``Retry-After`` honoured). On top of that it adds what is
GitHub's own: pagination only by the ``Link`` header, conditional requests with stored
ETags (a 304 answers from the cache and, on GitHub, costs no rate limit), waiting for
``x-ratelimit-reset`` when the limit is spent and the session's deadline allows it, and
one-line errors that name the repository and the token's absence, never the token.

The stages depend on :class:`GitHub`, the questions they ask (runs, artifacts, comments,
pull requests); :class:`GitHubClient` and :class:`~ci_tasks.core.artifacts.ArtifactsClient`
answer them over HTTP, every listing through the one loop of :meth:`GitHubClient.pages`.
"""

from __future__ import annotations

import dataclasses
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeAlias

from ci_tasks.core.errors import ConfigError, ServiceUnavailable
from ci_tasks.core.retry import Clock, RetryPolicy, SystemClock

if TYPE_CHECKING:
    # requests costs about 0.1 s at import; every stage that may call GitHub (the tests
    # stage, for shard durations) would pay it at nox start-up, so it is loaded on use.
    import requests


@dataclasses.dataclass(frozen=True)
class Artifact:
    """One artifact of a workflow run, from GitHub's ``artifacts[]``."""

    id: int
    name: str
    size: int
    expired: bool
    download_url: str


DEFAULT_API_URL = "https://api.github.com"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
CI_TASKS_TOKEN = "CI_TASKS_GITHUB_TOKEN"  # noqa: S105 - the variable's name, not a token
"""The token the tests jobs of a workflow ``init`` writes are given, to read the last CI
run's durations: under a name of ci_tasks' own, which the project's pytest never sees."""
PER_PAGE = 100
# A rate-limited answer (403/429) is waited out at most this often.
MAX_RATE_LIMIT_WAITS = 3
# GitHub's advice for a 429 that carries no Retry-After: wait at least a minute.
DEFAULT_RATE_LIMIT_WAIT = 60.0
RETRY_STATUSES = frozenset({500, 502, 503, 504})
RUN_FIELDS = (
    "id",
    "run_number",
    "conclusion",
    "run_attempt",
    "run_started_at",
    "updated_at",
    "head_sha",
)
"""What is kept of a workflow run (the readiness cache stores runs cut to these)."""
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REMOTE = re.compile(r"[:/]([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def api_session(policy: RetryPolicy) -> requests.Session:
    """An HTTP session for the API: 5xx and connection errors retried by urllib3.

    Rate limits (403/429, ``Retry-After``) are left to :class:`GitHubClient`: urllib3
    would sleep any ``Retry-After``, however long, where the client waits only when
    the wait fits the session's deadline.
    """
    from requests.adapters import HTTPAdapter  # noqa: PLC0415 - loaded on use, see above

    from ci_tasks.core import http  # noqa: PLC0415 - it imports requests

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


Cut: TypeAlias = Sequence[str] | Callable[[dict[str, Any]], dict[str, Any] | None]
"""How a listing's items are trimmed: the fields kept, or a function giving the item kept
(``None``: the item is dropped)."""


def trim_listing(
    body: Any, key: str | None, cut: Cut, *, missing_ok: bool = False
) -> dict[str, Any]:
    """A listing's answer (``total_count`` and the list under *key*), each item trimmed by *cut*.

    *key* ``None``: the answer is the list itself (issue comments, pull requests), kept
    under ``items``. A missing list is a :class:`ValueError`, which the client reports as
    it reports invalid JSON; with *missing_ok* it is an empty list.
    """
    items = body if key is None else body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        if not missing_ok:
            msg = "the answer is not a list" if key is None else f"the answer has no {key} list"
            raise ValueError(msg)
        items = []
    pick = cut if callable(cut) else lambda item: {k: item.get(k) for k in cut}
    kept = [t for item in items if isinstance(item, dict) and (t := pick(item)) is not None]
    if key is None:
        return {"items": kept}
    return {"total_count": body.get("total_count") if isinstance(body, dict) else None, key: kept}


def _comment(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item.get("id"),
        "body": item.get("body") or "",
        "user": (item.get("user") or {}).get("login"),
    }


def _pull(item: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(item.get("number"), int):
        return None
    return {
        "number": item.get("number"),
        "title": item.get("title") or "",
        "body": item.get("body") or "",
        "created_at": item.get("created_at"),
        "html_url": item.get("html_url") or "",
    }


def _trim_repo(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("default_branch"), str):
        msg = "the answer has no default_branch"
        raise ValueError(msg)  # noqa: TRY004 - reported like invalid JSON
    return {"default_branch": body["default_branch"]}


def _trim_run(body: Any) -> dict[str, Any]:
    return {k: body.get(k) for k in RUN_FIELDS} if isinstance(body, dict) else {}


class GitHub(Protocol):
    """What the stages ask of GitHub about one repository.

    :class:`ci_tasks.core.artifacts.ArtifactsClient` asks over HTTP; a test that needs
    answers rather than HTTP hands in an in-memory one. Any method may raise a
    :class:`~ci_tasks.core.errors.CITasksError` saying, in one line without the token,
    why GitHub could not answer.
    """

    @property
    def repository(self) -> str:
        """``owner/name``."""
        ...

    @property
    def requests(self) -> int:
        """How many requests were made."""
        ...

    @property
    def not_modified(self) -> int:
        """How many of them were answered from the cache (304)."""
        ...

    @property
    def fresh(self) -> dict[str, Any]:
        """The answers to keep for the next run's conditional requests."""
        ...

    def default_branch(self) -> str:
        """The repository's default branch."""
        ...

    def workflow_run(self, run_id: int) -> dict[str, Any]:
        """Workflow run *run_id*: the :data:`RUN_FIELDS` of GitHub's answer."""
        ...

    def workflow_runs(
        self, workflow: str, branch: str, *, per_page: int = PER_PAGE, missing_ok: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """The completed runs of *workflow* on *branch*, newest first, a page at a time."""
        ...

    def run_artifacts(self, run_id: int) -> list[Artifact]:
        """The artifacts of workflow run *run_id*."""
        ...

    def download(self, url: str, max_bytes: int) -> bytes | None:
        """An artifact's archive (``None``: gone), never more than *max_bytes*."""
        ...

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        """The comments of issue or pull request *number*: ``id``, ``body``, ``user``."""
        ...

    def create_comment(self, number: int, body: str) -> int:
        """Comment on issue or pull request *number*; the HTTP status (403: may not write)."""
        ...

    def update_comment(self, comment_id: int, body: str) -> int:
        """Replace a comment's text; the HTTP status (403: may not write)."""
        ...

    def open_pulls(self, branch: str) -> list[dict[str, Any]]:
        """The open pull requests from *branch*, oldest first.

        Each has ``number``, ``title``, ``body``, ``created_at`` and ``html_url``.
        """
        ...


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
        needs: str = "read this repository's Actions (actions: read)",
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
        self.needs = needs
        """What the token must be able to do, named when GitHub refuses it."""
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
        import requests  # noqa: PLC0415 - loaded on use, see the imports

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
            else f"check that the token can {self.needs}"
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

    def pages(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        key: str | None,
        cut: Cut,
        remember: bool = False,
        missing_ok: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of the listing at *path* (under the API URL), following ``Link: rel="next"``.

        Lazy: the next page is asked for only when the caller wants it, so stopping early
        asks no more. Each page is a :meth:`get` (retried, rate limits waited out, and with
        *remember* conditional on its stored ETag), trimmed by :func:`trim_listing` with
        *key*, *cut* and *missing_ok*. A ``next`` link already followed ends the listing.
        """
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url: str | None = f"{self.base_url}{path}{query}"
        seen: set[str] = set()

        def trim(raw: Any) -> dict[str, Any]:
            return trim_listing(raw, key, cut, missing_ok=missing_ok)

        while url and url not in seen:
            seen.add(url)
            body, url = self.get(url, trim, remember=remember)
            yield list(body["items" if key is None else key])

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
        path = f"/repos/{self.repository}/issues/{number}/comments"
        pages = self.pages(path, {"per_page": PER_PAGE}, key=None, cut=_comment)
        return [comment for page in pages for comment in page]

    def create_comment(self, number: int, body: str) -> int:
        """Comment *body* on issue or pull request *number*; the status GitHub answered."""
        url = f"{self.base_url}/repos/{self.repository}/issues/{number}/comments"
        return self.write("POST", url, {"body": body})[0]

    def update_comment(self, comment_id: int, body: str) -> int:
        """Replace comment *comment_id*'s text with *body*; the status GitHub answered."""
        url = f"{self.base_url}/repos/{self.repository}/issues/comments/{comment_id}"
        return self.write("PATCH", url, {"body": body})[0]

    def dispatch_workflow(self, workflow: str, ref: str) -> tuple[int, Any]:
        """Start *workflow* (``ci.yml``) on branch *ref*, as ``workflow_dispatch``.

        Returns the status GitHub answered (204, or 200 with the run) and its JSON answer;
        the token needs ``actions: write``. Like every write, not retried.
        """
        name = urllib.parse.quote(workflow)
        url = f"{self.base_url}/repos/{self.repository}/actions/workflows/{name}/dispatches"
        return self.write("POST", url, {"ref": ref})

    def default_branch(self) -> str:
        """The repository's default branch."""
        body, _ = self.get(f"{self.base_url}/repos/{self.repository}", _trim_repo)
        return str(body["default_branch"])

    def open_pulls(self, branch: str) -> list[dict[str, Any]]:
        """The open pull requests from *branch* of this repository, oldest first.

        GitHub matches ``head`` as ``owner:branch``; each entry keeps number, title,
        body, ``created_at`` and ``html_url``.
        """
        owner = self.repository.split("/", 1)[0]
        query: dict[str, str | int] = {
            "head": f"{owner}:{branch}",
            "state": "open",
            "per_page": PER_PAGE,
        }
        pages = self.pages(f"/repos/{self.repository}/pulls", query, key=None, cut=_pull)
        return sorted((p for page in pages for p in page), key=lambda p: int(p["number"]))

    def workflow_run(self, run_id: int) -> dict[str, Any]:
        """Workflow run *run_id* (one in progress too), cut to :data:`RUN_FIELDS`; not cached."""
        url = f"{self.base_url}/repos/{self.repository}/actions/runs/{run_id}"
        body, _ = self.get(url, _trim_run, remember=False)
        return dict(body)

    def workflow_runs(
        self, workflow: str, branch: str, *, per_page: int = PER_PAGE, missing_ok: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """The completed runs of *workflow* on *branch*, newest first, a page at a time.

        Each run is cut to :data:`RUN_FIELDS`; each page is remembered for its ETag. With
        *missing_ok* an answer without ``workflow_runs`` is a page with no runs.
        """
        path = f"/repos/{self.repository}/actions/workflows/{urllib.parse.quote(workflow)}/runs"
        query: dict[str, str | int] = {
            "branch": branch,
            "status": "completed",
            "per_page": per_page,
        }
        return self.pages(
            path, query, key="workflow_runs", cut=RUN_FIELDS, remember=True, missing_ok=missing_ok
        )
