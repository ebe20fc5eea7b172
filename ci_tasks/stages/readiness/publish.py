"""Where readiness is published: the sticky pull-request comment and the trend.

Rendering is pure; :func:`upsert_comment` is the one place that talks to GitHub. The
comment is found again by a hidden marker, carries its own state (score and statuses)
in a hidden line so the next run can say what changed, and is written only when its
body would change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tasks.core.errors import UsageError
from ci_tasks.stages.readiness import trend
from ci_tasks.stages.readiness.model import Result, Status, format_score

if TYPE_CHECKING:
    from ci_tasks.core.github import GitHub

MARKER = "<!-- ci-tasks:readiness -->"
_STATE = re.compile(r"<!-- ci-tasks:readiness-state (\{.*?\}) -->")
_ICONS = {
    Status.PASS: "✅",
    Status.FAIL: "❌",
    Status.UNKNOWN: "❔",
    Status.NOT_APPLICABLE: "n/a",
    Status.EXEMPT: "exempt",
}


def trend_points(history: Sequence[Mapping[str, Any]]) -> list[tuple[str, float]]:
    """(label, score) per cache history entry; labels are short commits, else dates."""
    points = []
    for i, entry in enumerate(history):
        commit = entry.get("commit")
        label = str(commit)[:7] if commit else str(entry.get("generated_at", i))[:10]
        score = entry.get("score")
        if isinstance(score, int | float):
            points.append((label, float(score)))
    return points


def state_of(result: Result) -> dict[str, Any]:
    """What a comment remembers of *result*: the score and each check's status."""
    return {
        "score": round(result.score, 1),
        "checks": {c.id: c.status.value for c in result.checks},
    }


def parse_state(body: str) -> dict[str, Any] | None:
    """The state hidden in an earlier comment's *body*, if it has one."""
    match = _STATE.search(body)
    if not match:
        return None
    try:
        state = json.loads(match.group(1))
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def changes(result: Result, baseline: Mapping[str, Any] | None) -> list[str]:
    """What changed since the *baseline* state, one markdown item each."""
    if baseline is None:
        return []
    lines = []
    before = baseline.get("score")
    if isinstance(before, int | float) and round(float(before), 1) != round(result.score, 1):
        delta = result.score - float(before)
        lines.append(
            f"- score {format_score(float(before))} → {format_score(result.score)} ({delta:+.1f})"
        )
    old_checks = baseline.get("checks")
    if isinstance(old_checks, dict):
        for check in result.checks:
            old = old_checks.get(check.id)
            if old is not None and old != check.status.value:
                lines.append(f"- {check.title}: {old} → {check.status.value}")
    return lines


def baseline_for(result: Result, previous: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The state to report changes against, given the *previous* comment's state.

    When the result has not changed since that comment, its own baseline is kept, so
    the comment renders the same and is not rewritten.
    """
    if previous is None:
        return None
    current = state_of(result)
    if all(previous.get(k) == current[k] for k in ("score", "checks")):
        base = previous.get("base")
        return base if isinstance(base, dict) else None
    return {k: previous.get(k) for k in ("score", "checks")}


def comment_body(
    result: Result, baseline: Mapping[str, Any] | None, history: Sequence[Mapping[str, Any]]
) -> str:
    """The pull-request comment: score against threshold, each check, changes, trend."""
    verdict = "ready" if result.passed else "not ready"
    icon = "✅" if result.passed else "❌"
    lines = [
        MARKER,
        f"## {icon} Release readiness: {format_score(result.score)}",
        "",
        f"Threshold {result.threshold:g} %: **{verdict}**. Commit `{result.commit or 'unknown'}`.",
        "",
        "| | check | weight | result |",
        "|---|---|---|---|",
    ]
    for check in result.checks:
        summary = check.summary.replace("|", "\\|")
        lines.append(f"| {_ICONS[check.status]} | {check.title} | {check.weight:g} | {summary} |")
    changed = changes(result, baseline)
    if changed:
        lines += ["", "**Since the previous comment:**", *changed]
    chart = trend.mermaid(trend_points(history), threshold=result.threshold)
    if chart:
        lines += ["", "<details><summary>Trend</summary>", "", chart.rstrip("\n"), "", "</details>"]
    state = {**state_of(result), "base": dict(baseline) if baseline else None}
    lines += ["", f"<!-- ci-tasks:readiness-state {json.dumps(state, sort_keys=True)} -->", ""]
    return "\n".join(lines)


def pull_request_number(explicit: int | None, env: Mapping[str, str]) -> int:
    """The PR number: ``--pr N``, else ``pull_request.number`` in ``GITHUB_EVENT_PATH``."""
    if explicit is not None:
        return explicit
    path = env.get("GITHUB_EVENT_PATH")
    number = None
    if path:
        try:
            event = json.loads(Path(path).read_text(encoding="utf-8"))
            number = (event.get("pull_request") or {}).get("number")
        except (OSError, ValueError, AttributeError):
            number = None
    if not isinstance(number, int):
        msg = (
            "--pr-comment: no pull request here "
            "(GITHUB_EVENT_PATH has no pull_request.number); pass --pr N"
        )
        raise UsageError(msg)
    return number


def upsert_comment(
    client: GitHub,
    number: int,
    render: Callable[[Mapping[str, Any] | None], str],
    warn: Callable[[str], None],
) -> str:
    """Create, update or leave the sticky comment on PR *number*; returns what was done.

    *render* turns the previous comment's hidden state (``None``: no comment yet) into
    the new body. A 403 on the write (a fork's read-only token) is a warning, not a
    failure: the gate decides the verdict.
    """
    ours = [c for c in client.issue_comments(number) if MARKER in c["body"]]
    existing = ours[0] if ours else None
    body = render(parse_state(existing["body"]) if existing else None)
    if existing is not None and existing["body"] == body:
        return "unchanged"
    if existing is not None:
        status = client.update_comment(existing["id"], body)
        done = "updated"
    else:
        status = client.create_comment(number, body)
        done = "created"
    if status == 403:  # noqa: PLR2004 - HTTP status
        warn(
            f"readiness comment on #{number} not written: the token may not write to this "
            "pull request (403; a pull request from a fork gets a read-only token)"
        )
        return "forbidden"
    if status not in {200, 201}:
        warn(f"readiness comment on #{number} not written: GitHub answered HTTP {status}")
        return "failed"
    return done
