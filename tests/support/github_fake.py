"""A fake GitHub REST API for readiness tests, served by tests.localserver on 127.0.0.1.

It serves ``GET /repos/{owner}/{repo}`` and the workflow-runs endpoint in GitHub's
documented schema, paginated with ``Link`` headers, with ETags (304 on a matching
``If-None-Match``), and with scripted faults served before the real answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from dataclasses import dataclass, field

from tests.support.localserver import Request, Response

REPO = "octo/app"


def make_runs(conclusions: list[str], minutes: float = 5.0) -> list[dict[str, object]]:
    """Workflow runs, newest first, as GitHub lists them."""
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    runs = []
    for i, conclusion in enumerate(conclusions):
        began = start - dt.timedelta(hours=i)
        runs.append(
            {
                "id": 1000 + i,
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

    def __call__(self, request: Request) -> Response:
        if self.faults:
            return self.faults.pop(0)
        url = urllib.parse.urlsplit(request.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == f"/repos/{REPO}":
            body: object = {"full_name": REPO, "default_branch": self.default_branch}
            headers: dict[str, str] = {}
        elif url.path.startswith(f"/repos/{REPO}/actions/workflows/") and url.path.endswith(
            "/runs"
        ):
            body, headers = self._runs_page(url.path, query)
        elif url.path.startswith(f"/repos/{REPO}/issues/"):
            return self._comments(request, url.path, query)
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

    def _runs_page(self, path: str, query: dict[str, str]) -> tuple[object, dict[str, str]]:
        per_page = min(int(query.get("per_page", "30")), 100)
        page = int(query.get("page", "1"))
        chosen = [r for r in self.runs if query.get("branch") in (None, self.default_branch)]
        last = max((len(chosen) + per_page - 1) // per_page, 1)
        body = {
            "total_count": len(chosen),
            "workflow_runs": chosen[(page - 1) * per_page : page * per_page],
        }
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


def other_comments(count: int, start: int = 1) -> list[dict[str, object]]:
    """People's comments on a pull request."""
    return [
        {"id": start + i, "body": f"comment {i}", "user": {"login": "someone"}}
        for i in range(count)
    ]
