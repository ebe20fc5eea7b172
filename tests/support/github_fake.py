"""A fake GitHub REST API for readiness tests, served by tests.localserver on 127.0.0.1.

It serves ``GET /repos/{owner}/{repo}``, the workflow-runs endpoint, one run, a run's artifacts
and their download in GitHub's documented schema, paginated with ``Link`` headers, with
ETags (304 on a matching ``If-None-Match``), and with scripted faults served before the
real answers. A download answers 302 to :class:`FakeStorage`, a second server reached by
another host name (``localhost``), as GitHub redirects to its blob storage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ci_tasks.core.github import api_session
from ci_tasks.core.retry import RetryPolicy
from tests.support.localserver import Request, Response

REPO = "octo/app"
QUICK = RetryPolicy(attempts=3, initial_delay=0, jitter=0)
"""Retries with no waiting: a test's local server answers at once."""
C = TypeVar("C")


def local_client(cls: type[C], server: Any, handler: Any, **kwargs: Any) -> C:
    """A client *cls* (``GitHubClient``, ``ArtifactsClient``) of *handler* served by *server*.

    *handler* learns the server's URL (for the ``Link`` headers it writes); the client has
    quick retries, a 5 s timeout and a minute's deadline unless *kwargs* say otherwise.
    """
    handler.base = server.url
    options = {
        "repository": REPO,
        "http": api_session(QUICK),
        "base_url": server.url,
        "timeout": 5.0,
        "deadline": time.monotonic() + 60,
    } | kwargs
    return cls(**options)


def make_runs(conclusions: list[str], minutes: float = 5.0) -> list[dict[str, object]]:
    """Workflow runs, newest first, as GitHub lists them."""
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    runs = []
    for i, conclusion in enumerate(conclusions):
        began = start - dt.timedelta(hours=i)
        runs.append(
            {
                "id": 1000 + i,
                "run_number": 1234 - i,
                "name": "CI",
                "status": "completed",
                "conclusion": conclusion,
                "run_attempt": 1,
                "run_started_at": began.isoformat().replace("+00:00", "Z"),
                "updated_at": (began + dt.timedelta(minutes=minutes))
                .isoformat()
                .replace("+00:00", "Z"),
                "head_sha": f"{i:040x}",
                "head_branch": "main",
                "event": "push",
            }
        )
    return runs


def other_host(url: str) -> str:
    """*url* by the name ``localhost``: the same loopback server, another host to a client."""
    return url.replace("//127.0.0.1:", "//localhost:")


def zip_archive(files: dict[str, bytes | str]) -> bytes:
    """A zip of *files* (name -> content), as upload-artifact stores a folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def make_artifact(
    artifact_id: int, name: str, run: dict[str, object], size: int
) -> dict[str, object]:
    """One entry of ``artifacts[]`` (List workflow run artifacts), URLs relative to the API."""
    return {
        "id": artifact_id,
        "node_id": f"MDg6QXJ0aWZhY3Q{artifact_id}",
        "name": name,
        "size_in_bytes": size,
        "url": f"/repos/{REPO}/actions/artifacts/{artifact_id}",
        "archive_download_url": f"/repos/{REPO}/actions/artifacts/{artifact_id}/zip",
        "expired": False,
        "created_at": run["updated_at"],
        "expires_at": "2027-01-01T00:00:00Z",
        "updated_at": run["updated_at"],
        "digest": "sha256:" + "0" * 64,
        "workflow_run": {
            "id": run["id"],
            "repository_id": 42,
            "head_repository_id": 42,
            "head_branch": run["head_branch"],
            "head_sha": run["head_sha"],
        },
    }


@dataclass
class FakeStorage:
    """The blob storage a download redirects to: serves the archives by artifact id."""

    archives: dict[int, bytes] = field(default_factory=dict)

    def __call__(self, request: Request) -> Response:
        url = urllib.parse.urlsplit(request.path)
        artifact_id = url.path.rsplit("/", 1)[-1]
        if not url.path.startswith("/blob/") or int(artifact_id) not in self.archives:
            return Response(404, b"BlobNotFound")
        return Response(200, self.archives[int(artifact_id)], {"Content-Type": "application/zip"})


@dataclass
class FakeGitHub:
    """The handler: state a test can change between requests."""

    runs: list[dict[str, object]] = field(default_factory=list)
    default_branch: str = "main"
    faults: list[Response] = field(default_factory=list)
    """Served, in order, before any real answer."""
    base: str = ""
    not_modified: int = 0
    comments: dict[int, list[dict[str, object]]] = field(default_factory=dict)
    """Pull request number -> its issue comments, oldest first."""
    write_status: int | None = None
    """When set, every POST/PATCH is answered with this status (e.g. 403 for a fork)."""
    writes: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 9000
    artifacts: dict[int, list[dict[str, object]]] = field(default_factory=dict)
    """Run id -> its artifacts (:func:`make_artifact`); a run not listed has none."""
    storage: str = ""
    """The storage server's base URL, where downloads are redirected."""
    pulls: list[dict[str, object]] = field(default_factory=list)
    """Pull requests, as GitHub lists them (``head.label`` is ``owner:branch``)."""
    pull_refusal: Response | None = None
    """When set, every POST/PATCH of a pull request is answered with it."""
    current: dict[str, object] | None = None
    """The run in progress (``GET /actions/runs/{id}`` finds it besides the completed ones)."""
    dispatches: list[tuple[str, str]] = field(default_factory=list)
    """``(workflow file, ref)`` of each ``workflow_dispatch`` asked for, in order."""
    dispatch_refusal: Response | None = None
    """When set, every workflow dispatch is answered with it (recorded all the same)."""
    on_dispatch: Callable[[], object] | None = None
    """Called as a dispatch arrives (a test looks at what the branch holds by then)."""

    def upload(
        self, run: dict[str, object], name: str, archive: bytes, storage: FakeStorage
    ) -> int:
        """Attach *archive* to *run* as artifact *name* (kept by *storage*); returns its id."""
        artifact_id = 7000 + len(storage.archives)
        storage.archives[artifact_id] = archive
        entry = make_artifact(artifact_id, name, run, len(archive))
        entry["archive_download_url"] = self.base + str(entry["archive_download_url"])
        self.artifacts.setdefault(int(str(run["id"])), []).append(entry)
        return artifact_id

    def __call__(self, request: Request) -> Response:  # noqa: C901, PLR0911 - one per endpoint
        if self.faults:
            return self.faults.pop(0)
        url = urllib.parse.urlsplit(request.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == f"/repos/{REPO}":
            body: object = {"full_name": REPO, "default_branch": self.default_branch}
            headers: dict[str, str] = {}
        elif url.path.startswith(f"/repos/{REPO}/actions/workflows/") and url.path.endswith(
            "/dispatches"
        ):
            return self._dispatch(request, url.path)
        elif url.path.startswith(f"/repos/{REPO}/actions/workflows/") and url.path.endswith(
            "/runs"
        ):
            body, headers = self._runs_page(url.path, query)
        elif url.path.startswith(f"/repos/{REPO}/actions/runs/") and url.path.endswith(
            "/artifacts"
        ):
            items = self.artifacts.get(int(url.path.split("/")[-2]), [])
            body, headers = self._page(url.path, query, "artifacts", items)
        elif url.path.startswith(f"/repos/{REPO}/actions/runs/") and url.path.count("/") == 6:
            wanted = url.path.rsplit("/", 1)[-1]
            known = [*self.runs, *([self.current] if self.current else [])]
            found = next((r for r in known if str(r["id"]) == wanted), None)
            if found is None:
                return Response(404, {"message": "Not Found"})
            body, headers = found, {}
        elif url.path.startswith(f"/repos/{REPO}/actions/artifacts/") and url.path.endswith("/zip"):
            return self._download(int(url.path.split("/")[-2]))
        elif url.path.startswith(f"/repos/{REPO}/issues/"):
            return self._comments(request, url.path, query)
        elif url.path == f"/repos/{REPO}/pulls" or url.path.startswith(f"/repos/{REPO}/pulls/"):
            return self._pulls(request, url.path, query)
        else:
            return Response(404, {"message": "Not Found"})
        data = json.dumps(body).encode()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers |= {
            "ETag": etag,
            "Content-Type": "application/json",
            "x-ratelimit-remaining": "4999",
        }
        if request.headers.get("If-None-Match") == etag:
            self.not_modified += 1
            return Response(304, b"", headers)
        return Response(200, data, headers)

    def _dispatch(self, request: Request, path: str) -> Response:
        """``POST .../actions/workflows/{file}/dispatches`` with ``{"ref"}``: 204, as GitHub."""
        if request.method != "POST":
            return Response(404, {"message": "Not Found"})
        ref = request.json().get("ref")
        self.dispatches.append((urllib.parse.unquote(path.split("/")[-2]), str(ref)))
        if self.on_dispatch is not None:
            self.on_dispatch()
        if self.dispatch_refusal is not None:
            return self.dispatch_refusal
        if not ref:
            return Response(422, {"message": "Invalid request. 'ref' is required"})
        return Response(204, b"")

    def _runs_page(self, path: str, query: dict[str, str]) -> tuple[object, dict[str, str]]:
        chosen = [r for r in self.runs if query.get("branch") in (None, self.default_branch)]
        return self._page(path, query, "workflow_runs", chosen)

    def _download(self, artifact_id: int) -> Response:
        """Download an artifact: 302 to a short-lived signed storage URL, 410 when expired."""
        entry = next(
            (a for items in self.artifacts.values() for a in items if a["id"] == artifact_id),
            None,
        )
        if entry is None:
            return Response(404, {"message": "Not Found"})
        if entry["expired"]:
            return Response(410, {"message": "Artifact has expired"})
        location = f"{self.storage}/blob/{artifact_id}?sig=storage-signature-42&se=1m"
        return Response(302, b"", {"Location": location})

    def _page(
        self, path: str, query: dict[str, str], key: str, chosen: list[dict[str, object]]
    ) -> tuple[object, dict[str, str]]:
        per_page = min(int(query.get("per_page", "30")), 100)
        page = int(query.get("page", "1"))
        last = max((len(chosen) + per_page - 1) // per_page, 1)
        body = {"total_count": len(chosen), key: chosen[(page - 1) * per_page : page * per_page]}
        links = []
        for rel, number in (("next", page + 1), ("last", last)):
            if rel == "next" and page >= last:
                continue
            q = urllib.parse.urlencode({**query, "page": number})
            links.append(f'<{self.base}{path}?{q}>; rel="{rel}"')
        return body, ({"Link": ", ".join(links)} if links else {})

    def _comments(self, request: Request, path: str, query: dict[str, str]) -> Response:
        """Issue comments: list (paginated by Link), create (POST), update (PATCH)."""
        parts = path.split("/")  # ['', 'repos', o, r, 'issues', N|'comments', ...]
        if request.method != "GET":
            self.writes.append((request.method, path))
            if self.write_status is not None:
                return Response(self.write_status, {"message": "Resource not accessible"})
        if request.method == "GET" and parts[-1] == "comments":
            items = self.comments.get(int(parts[5]), [])
            per_page = min(int(query.get("per_page", "30")), 100)
            page = int(query.get("page", "1"))
            last = max((len(items) + per_page - 1) // per_page, 1)
            headers = {"Content-Type": "application/json"}
            if page < last:
                q = urllib.parse.urlencode({**query, "page": page + 1})
                headers["Link"] = f'<{self.base}{path}?{q}>; rel="next"'
            return Response(200, items[(page - 1) * per_page : page * per_page], headers)
        if request.method == "POST" and parts[-1] == "comments":
            comment = {"id": self.next_id, "body": request.json()["body"], "user": {"login": "bot"}}
            self.next_id += 1
            self.comments.setdefault(int(parts[5]), []).append(comment)
            return Response(201, comment)
        if request.method == "PATCH" and parts[5] == "comments":
            for items in self.comments.values():
                for comment in items:
                    if comment["id"] == int(parts[6]):
                        comment["body"] = request.json()["body"]
                        return Response(200, comment)
        return Response(404, {"message": "Not Found"})

    def _pulls(self, request: Request, path: str, query: dict[str, str]) -> Response:
        """Pull requests: list (``head``, ``state`` filters), create (POST), update (PATCH)."""
        if request.method != "GET":
            self.writes.append((request.method, path))
            if self.pull_refusal is not None:
                return self.pull_refusal
        if request.method == "GET" and path.endswith("/pulls"):
            state = query.get("state", "open")
            found = [
                p
                for p in self.pulls
                if (state == "all" or p["state"] == state)
                and query.get("head") in (None, p["head"]["label"])  # type: ignore[index]
            ]
            return Response(200, found, {"Content-Type": "application/json"})
        if request.method == "POST" and path.endswith("/pulls"):
            sent = request.json()
            if not sent.get("base") or not sent.get("title"):
                return Response(422, {"message": "Validation Failed"})
            number = len(self.pulls) + 1
            owner = REPO.split("/", maxsplit=1)[0]
            pull = {
                "number": number,
                "state": "open",
                "title": sent["title"],
                "body": sent.get("body"),
                "html_url": f"https://github.com/{REPO}/pull/{number}",
                "created_at": "2026-11-30T09:00:00Z",
                "head": {"ref": sent["head"], "label": f"{owner}:{sent['head']}"},
                "base": {"ref": sent["base"]},
            }
            self.pulls.append(pull)
            return Response(201, pull)
        if request.method == "PATCH":
            for pull in self.pulls:
                if pull["number"] == int(path.rsplit("/", 1)[-1]):
                    pull.update(request.json())
                    return Response(200, pull)
        return Response(404, {"message": "Not Found"})


def other_comments(count: int, start: int = 1) -> list[dict[str, object]]:
    """People's comments on a pull request."""
    return [
        {"id": start + i, "body": f"comment {i}", "user": {"login": "someone"}}
        for i in range(count)
    ]
