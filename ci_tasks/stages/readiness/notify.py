"""``readiness --notify``: a Slack message when readiness is below the threshold or recovers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ci_tasks.core import slack
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.readiness.config import ReadinessConfig
from ci_tasks.stages.readiness.model import Result, Status, format_score


def reason(result: Result, previous: Mapping[str, Any] | None, *, on_recovery: bool) -> str | None:
    """Why to notify: ``"below"`` the threshold, ``"recovered"`` above it again, or ``None``."""
    if not result.passed:
        return "below"
    if on_recovery and previous is not None and previous.get("passed") is False:
        return "recovered"
    return None


def link(env: Mapping[str, str], checklist: str) -> str:
    """A link to this Actions run when there is one, else the checklist's name."""
    server, repo, run = (
        env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run:
        return f"<{server}/{repo}/actions/runs/{run}|run {run}>"
    return f"`{checklist}`"


def message(result: Result, why: str, where: str) -> tuple[str, list[slack.Block]]:
    """The Slack message: a headline, the checks that do not pass, and where to look.

    Returns the plain-text fallback and the Block Kit blocks.
    """
    score = format_score(result.score)
    if why == "recovered":
        headline = f"Release readiness recovered: {score} (threshold {result.threshold:g} %)"
    else:
        headline = f"Release readiness below threshold: {score} (threshold {result.threshold:g} %)"
    failing = [c for c in result.checks if c.status in {Status.FAIL, Status.UNKNOWN}]
    blocks = [slack.section(f"*{headline}*")]
    if failing:
        lines = [f"• *{c.title}* ({c.status.value}): {c.summary}" for c in failing]
        blocks.append(slack.section("\n".join(lines)))
    blocks.append(slack.context(f"commit `{(result.commit or 'unknown')[:12]}` · {where}"))
    text = f"{headline}. Not passing: {', '.join(c.title for c in failing) or 'none'}."
    return text, blocks


def send(ctx: StageContext, result: Result, previous: Mapping[str, Any] | None) -> None:
    """Notify Slack if readiness calls for it; a missing webhook is a warning, not a crash."""
    cfg = ctx.section(ReadinessConfig)
    why = reason(result, previous, on_recovery=cfg.notify_on_recovery)
    if why is None:
        ctx.output.line("notify: readiness passes; no Slack message")
        return
    webhook = slack.webhook_from_env(ctx.runner.env)
    if webhook is None:
        ctx.output.annotate(
            "warning", f"--notify: {slack.WEBHOOK_VARIABLE} is not set; no Slack message sent"
        )
        return
    text, blocks = message(result, why, link(ctx.runner.env, cfg.checklist))
    slack.notify(
        webhook,
        text,
        blocks,
        policy=ctx.config.retry.policy(),
        timeout=cfg.request_timeout,
        output=ctx.output,
    )
    ctx.output.line(f"notify: Slack told readiness is {why}")
