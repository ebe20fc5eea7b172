"""GitHub as the stages see it (:class:`ci_tasks.core.github.GitHub`), held in memory.

For a test that needs GitHub's answers, not its HTTP: no server, no sockets, no retries.
The HTTP side (Link pages, ETags, rate limits, redirects to storage) is tested against
:mod:`tests.support.github_fake` on a real local server; this is the same repository's
data behind the interface instead. It implements what the interface promises and no
more: runs filtered by branch and cut to ``RUN_FIELDS``, pages of ``per_page``,
archives never larger than asked, comment and pull-request writes answered with a status.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ci_tasks.core.artifacts import ArchiveRefused
from ci_tasks.core.errors import CITasksError, ConfigError
from ci_tasks.core.github import PER_PAGE, RUN_FIELDS, Artifact
from tests.support.github_fake import REPO


@dataclass
class MemoryGitHub:
    """One repository's runs, artifacts, comments and pull requests; tests change them freely."""

    repository: str = REPO
    branch: str = "main"
    """The default branch."""
    runs: list[dict[str, Any]] = field(default_factory=list)
    """Completed runs, newest first, as GitHub lists them (:func:`github_fake.make_runs`)."""
    current: dict[str, Any] | None = None
    """The run in progress: :meth:`workflow_run` finds it, :meth:`workflow_runs` does not."""
    artifacts: dict[int, list[Artifact]] = field(default_factory=dict)
    """Run id -> its artifacts."""
    archives: dict[str, bytes] = field(default_factory=dict)
    """Download URL -> the zip behind it; an URL not here is gone (expired or deleted)."""
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """Issue or pull request number -> its comments (``id``, ``body``, ``user``), oldest first."""
    pulls: list[dict[str, Any]] = field(default_factory=list)
    """Pull requests: the interface's fields plus ``head`` (the branch) and ``state``."""
    write_status: int | None = None
    """When set, every comment write is refused with it (403: a fork's read-only token)."""
    down: CITasksError | None = None
    """When set, every question is answered by raising it (GitHub unreachable, 401, ...)."""
    requests: int = 0
    not_modified: int = 0
    fresh: dict[str, Any] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    """What was asked, in order: ``workflow_runs page 1``, ``download <url>``, ..."""
    next_id: int = 9000

    def _ask(self, what: str) -> None:
        self.asked.append(what)
        self.requests += 1
        if self.down is not None:
            raise self.down

    def default_branch(self) -> str:
        """The repository's default branch."""
        self._ask("default_branch")
        return self.branch

    def workflow_run(self, run_id: int) -> dict[str, Any]:
        """Run *run_id*, completed or in progress; a :class:`ConfigError` when there is none."""
        self._ask(f"workflow_run {run_id}")
        known = [*self.runs, *([self.current] if self.current else [])]
        for run in known:
            if run["id"] == run_id:
                return {k: run.get(k) for k in RUN_FIELDS}
        msg = f"GitHub API /repos/{self.repository}/actions/runs/{run_id}: 404 not found"
        raise ConfigError(msg)

    def workflow_runs(
        self, workflow: str, branch: str, *, per_page: int = PER_PAGE, missing_ok: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """The completed runs on *branch* (of any workflow: this holds one), *per_page* a page."""
        del workflow, missing_ok  # one workflow here, and its answers always carry the list
        chosen = [
            {k: r.get(k) for k in RUN_FIELDS}
            for r in self.runs
            if r.get("head_branch", self.branch) == branch
        ]
        for number, start in enumerate(range(0, max(len(chosen), 1), per_page), 1):
            self._ask(f"workflow_runs page {number}")
            yield chosen[start : start + per_page]

    def run_artifacts(self, run_id: int) -> list[Artifact]:
        """The artifacts of run *run_id*."""
        self._ask(f"run_artifacts {run_id}")
        return list(self.artifacts.get(run_id, []))

    def download(self, url: str, max_bytes: int) -> bytes | None:
        """The archive at *url*; ``None`` when gone; refused when over *max_bytes*."""
        self._ask(f"download {url}")
        data = self.archives.get(url)
        if data is not None and len(data) > max_bytes:
            msg = f"the archive is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB cap"
            raise ArchiveRefused(msg)
        return data

    def upload(self, run_id: int, name: str, archive: bytes, *, expired: bool = False) -> int:
        """Attach *archive* to run *run_id* as artifact *name*; returns the artifact's id."""
        artifact_id = 7000 + len(self.archives)
        url = f"memory://{self.repository}/artifacts/{artifact_id}/zip"
        self.archives[url] = archive
        artifact = Artifact(artifact_id, name, len(archive), expired, url)
        self.artifacts.setdefault(run_id, []).append(artifact)
        return artifact_id

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        """The comments on *number*, oldest first."""
        self._ask(f"issue_comments {number}")
        return [dict(c) for c in self.comments.get(number, [])]

    def create_comment(self, number: int, body: str) -> int:
        """Add a comment by ``bot``: 201, or :attr:`write_status`."""
        self._ask(f"create_comment {number}")
        if self.write_status is not None:
            return self.write_status
        comment = {"id": self.next_id, "body": body, "user": "bot"}
        self.next_id += 1
        self.comments.setdefault(number, []).append(comment)
        return 201

    def update_comment(self, comment_id: int, body: str) -> int:
        """Replace a comment's text: 200, 404 when there is none, or :attr:`write_status`."""
        self._ask(f"update_comment {comment_id}")
        if self.write_status is not None:
            return self.write_status
        for comment in itertools.chain.from_iterable(self.comments.values()):
            if comment["id"] == comment_id:
                comment["body"] = body
                return 200
        return 404

    def open_pulls(self, branch: str) -> list[dict[str, Any]]:
        """The open pull requests from *branch*, oldest first."""
        self._ask(f"open_pulls {branch}")
        fields = ("number", "title", "body", "created_at", "html_url")
        found = [
            {k: p.get(k) for k in fields}
            for p in self.pulls
            if p.get("head") == branch and p.get("state", "open") == "open"
        ]
        return sorted(found, key=lambda p: int(p["number"]))
