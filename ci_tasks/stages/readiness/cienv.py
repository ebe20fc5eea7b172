"""Whether the CI environment is current: its lock, and how long its update has waited.

The CI environment is ``noxfile.py.lock``. It goes stale two ways: the noxfile's block
changed and nobody locked it again (``uv lock --script noxfile.py --check`` says so), or
``update-ci-lock.yml`` proposed newer tools and the pull request has sat unmerged.
:func:`gather` looks (uv, the GitHub API); :func:`check` judges what it saw (pure).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tasks.core import cilock, reports
from ci_tasks.core.errors import CITasksError
from ci_tasks.core.runner import Runner
from ci_tasks.stages.readiness.model import Check, Status

if TYPE_CHECKING:
    from ci_tasks.core.github import GitHub

TITLE = "CI environment"
FIX_LOCK = f"run `ci-tasks lock` and commit {cilock.LOCK}"
SOURCE = f"{cilock.LOCK}, GitHub API pulls from {cilock.UPDATE_BRANCH}"


@dataclasses.dataclass(frozen=True)
class UpdatePull:
    """An open pull request from the update branch."""

    number: int
    opened: dt.datetime | None
    url: str = ""


@dataclasses.dataclass(frozen=True)
class CIEnvironment:
    """What readiness saw of the lock and of its update pull requests."""

    current: bool | None
    """Whether the lock matches the noxfile's block; ``None``: uv could not tell."""
    problem: str = ""
    """Why :attr:`current` is unknown."""
    pulls: tuple[UpdatePull, ...] | None = None
    """The open update pull requests; ``None`` when they could not be listed."""
    pulls_problem: str = ""
    """Why :attr:`pulls` is unknown (not looked, or the API's one-line error)."""
    looked: bool = True
    """``False`` when the pull requests were not asked for (offline, no API checks)."""


def gather(
    root: Path,
    runner: Runner,
    client: GitHub | None,
    *,
    not_looked: str = "--offline",
    offline: bool = False,
) -> CIEnvironment | None:
    """Ask uv whether the lock is current and GitHub which update PRs are open.

    Without a *client* the pull requests are not listed, for the reason *not_looked*;
    *offline* keeps uv to its cache too.
    ``None`` when the project has no ``noxfile.py.lock`` (its CI environment is its own
    virtual environment, which the dependencies check already judges).
    """
    if not (root / cilock.LOCK).is_file():
        return None
    try:
        current: bool | None = cilock.is_current(root, runner, offline=offline)
        problem = ""
    except CITasksError as exc:
        current, problem = None, str(exc)
    if client is None:
        return CIEnvironment(current, problem, None, looked=False, pulls_problem=not_looked)
    try:
        found = client.open_pulls(cilock.UPDATE_BRANCH)
    except CITasksError as exc:
        return CIEnvironment(current, problem, None, pulls_problem=str(exc))
    pulls = tuple(
        UpdatePull(
            int(p["number"]), reports.parse_time(p.get("created_at")), str(p.get("html_url") or "")
        )
        for p in found
    )
    return CIEnvironment(current, problem, pulls)


def check(seen: CIEnvironment | None, *, max_age_days: float, now: dt.datetime) -> Check:
    """Pass: the lock is current and no update PR has waited over *max_age_days* (0: any)."""
    if seen is None:
        return Check(
            "ci-environment",
            TITLE,
            Status.NOT_APPLICABLE,
            f"no {cilock.LOCK}: the CI environment is not a locked script",
        )
    if seen.current is None:
        problem = seen.problem or "uv could not tell whether the lock is current"
        return _seen(Status.UNKNOWN, problem, FIX_LOCK)
    if not seen.current:
        stale = f"{cilock.LOCK} is stale: the noxfile's block changed since it was locked"
        return _seen(Status.FAIL, stale, FIX_LOCK)
    if seen.pulls is None:
        return _pulls_unlisted(seen)
    return _pulls_waiting(seen.pulls, max_age_days=max_age_days, now=now)


def _seen(status: Status, summary: str, fix: str, evidence: tuple[str, ...] = ()) -> Check:
    """The check's outcome on what was seen of the lock and the update pull requests."""
    return Check(
        "ci-environment",
        TITLE,
        status,
        summary,
        evidence=evidence,
        remediation=fix,
        source=SOURCE,
    )


def _pulls_unlisted(seen: CIEnvironment) -> Check:
    """A current lock whose update pull requests were not, or could not be, listed."""
    why = (
        f"update pull request not checked: {seen.pulls_problem}"
        if not seen.looked
        else f"update pull requests unknown: {seen.pulls_problem}"
    )
    return _seen(
        Status.PASS if not seen.looked else Status.UNKNOWN,
        f"{cilock.LOCK} is current; {why}",
        "let readiness list pull requests (the token needs pull-requests: read)",
    )


def _pulls_waiting(
    pulls: tuple[UpdatePull, ...], *, max_age_days: float, now: dt.datetime
) -> Check:
    """A current lock: fails when an update pull request has waited too long."""
    waiting = [(p, (now - p.opened).total_seconds() / 86400) for p in pulls if p.opened is not None]
    shown = tuple(f"#{p.number} open for {days:.0f} days {p.url}".rstrip() for p, days in waiting)
    late = [(p, d) for p, d in waiting if max_age_days > 0 and d > max_age_days]
    limit = f"max {max_age_days:g} days" if max_age_days > 0 else "no age limit"
    if late:
        pull, days = late[0]
        return _seen(
            Status.FAIL,
            f"the CI lock update #{pull.number} has waited {days:.0f} days ({limit})",
            f"review and merge the CI lock update #{pull.number} (or close it)",
            shown,
        )
    pending = f"update #{pulls[0].number} open" if pulls else "no update pull request open"
    return _seen(
        Status.PASS,
        f"{cilock.LOCK} is current; {pending} ({limit})",
        f"review and merge the CI lock update within {max_age_days:g} days",
        shown,
    )
