"""Slack incoming webhooks: Block Kit messages with a text fallback, errors in one line.

Used by ``readiness --notify`` and ``smoke --notify``. The webhook URL is a secret: it is
registered with the masker before anything is sent and never appears in output or errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from ci_tasks import http, masking
from ci_tasks.errors import ServiceUnavailable
from ci_tasks.retry import RetryPolicy

WEBHOOK_VARIABLE = "SLACK_WEBHOOK_URL"
# Slack caps a section's text at 3,000 characters and a message at 50 blocks.
_SECTION_LIMIT = 3000
_BLOCK_LIMIT = 50


class SlackError(ServiceUnavailable):
    """Slack refused or could not take the message."""


def section(markdown: str) -> dict[str, Any]:
    """A Block Kit section of mrkdwn text (cut to Slack's limit)."""
    if len(markdown) > _SECTION_LIMIT:
        markdown = markdown[: _SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


def context(markdown: str) -> dict[str, Any]:
    """A Block Kit context line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": markdown}]}


def message(text: str, blocks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A webhook payload: *blocks* for Slack clients, *text* for notifications and fallbacks."""
    return {"text": text, "blocks": [dict(b) for b in blocks[:_BLOCK_LIMIT]]}


def _session(policy: RetryPolicy) -> requests.Session:
    # Slack webhooks accept a resend after a 429 or 5xx (the message was not taken), so
    # POST is retried on those statuses; a connection that dropped after the request
    # was sent might have delivered it, so read errors are not retried (no duplicates).
    session = http.session(policy, methods={"POST"})
    for adapter in session.adapters.values():
        if isinstance(adapter, requests.adapters.HTTPAdapter):
            adapter.max_retries = adapter.max_retries.new(read=0)
    return session


def post(
    webhook_url: str,
    payload: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    timeout: float = 10.0,
) -> None:
    """Send *payload* to the webhook; raises :class:`SlackError` with Slack's error code.

    Slack answers ``ok`` on success and a plain-text code otherwise (``invalid_payload``,
    ``no_text``, ``channel_is_archived``, ...). 429 (honouring ``Retry-After``) and 5xx
    are retried under *policy*.
    """
    masking.default_masker().add(webhook_url)
    try:
        response = _session(policy).post(webhook_url, json=dict(payload), timeout=timeout)
    except requests.RequestException as exc:
        why = "no answer in time" if isinstance(exc, requests.Timeout) else "cannot connect"
        msg = f"Slack webhook: {why} ({type(exc).__name__})"
        raise SlackError(msg) from None
    answer = response.text.strip()
    if response.status_code == 200 and answer == "ok":  # noqa: PLR2004 - HTTP status
        return
    code = answer.splitlines()[0][:200] if answer else "no answer"
    msg = f"Slack webhook refused the message: HTTP {response.status_code} {code}"
    raise SlackError(msg)


def webhook_from(env: Mapping[str, str]) -> str | None:
    """The webhook URL from ``SLACK_WEBHOOK_URL``, registered as a secret."""
    url = env.get(WEBHOOK_VARIABLE, "").strip()
    if url:
        masking.default_masker().add(url)
    return url or None
