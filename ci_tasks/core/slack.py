"""Slack incoming-webhook notifications (used by ``smoke`` and ``readiness``).

A message is Block Kit ``blocks`` plus a plain ``text`` fallback (what notifications
and screen readers show). Slack answers ``ok`` on success and a plain-text error code
otherwise (``invalid_payload``, ``no_text``, ``channel_is_archived``, ``no_service``, ...);
any other answer becomes one line in a :class:`~ci_tasks.errors.ServiceUnavailable`
(exit code 2). The webhook URL is a secret: it is registered for masking before the
first request and never appears in a message of ours.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from ci_tasks.core import http
from ci_tasks.core.actions import Output, default_output
from ci_tasks.core.errors import ServiceUnavailable
from ci_tasks.core.retry import RetryPolicy

WEBHOOK_VARIABLE = "SLACK_WEBHOOK_URL"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_POLICY = RetryPolicy(attempts=3, initial_delay=2.0, max_delay=30.0, jitter=0.5)
SECTION_LIMIT = 3000  # Slack rejects a section whose text is longer
BLOCK_LIMIT = 50  # ... and a message with more blocks

Block = dict[str, Any]


def webhook_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The webhook URL from ``SLACK_WEBHOOK_URL``, or ``None`` when it is unset or empty."""
    value = (os.environ if env is None else env).get(WEBHOOK_VARIABLE, "").strip()
    return value or None


def header(text: str) -> Block:
    """A Block Kit header block (plain text)."""
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def section(markdown: str) -> Block:
    """A Block Kit section of Slack ``mrkdwn``, cut to Slack's length limit."""
    if len(markdown) > SECTION_LIMIT:
        markdown = markdown[: SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


def context(markdown: str) -> Block:
    """A Block Kit context line (small print: commit, links)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": markdown}]}


def payload(text: str, blocks: Sequence[Block] = ()) -> dict[str, Any]:
    """The JSON body Slack expects: ``text`` always (the fallback), ``blocks`` when given."""
    body: dict[str, Any] = {"text": text}
    if blocks:
        body["blocks"] = list(blocks)[:BLOCK_LIMIT]
    return body


def _client(policy: RetryPolicy) -> requests.Session:
    # POST is not idempotent in general, but a Slack webhook that answered 429 or 5xx did
    # not post the message, so retrying those statuses cannot post it twice. A connection
    # reset *after* the request was sent is different: Slack may have posted already, so
    # read errors are not retried (read=0). Connect errors (nothing was sent) still are.
    client = http.session(policy, statuses=RETRY_STATUSES, methods={"POST"})
    for adapter in client.adapters.values():
        if isinstance(adapter, requests.adapters.HTTPAdapter):
            adapter.max_retries = adapter.max_retries.new(read=0)
    return client


def notify(
    webhook_url: str,
    text: str,
    blocks: Sequence[Block] = (),
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    timeout: float = 10.0,
    output: Output | None = None,
) -> None:
    """Post a message to a Slack incoming webhook.

    Retries 429 (honouring ``Retry-After``) and 5xx per *policy*. Raises
    :class:`ServiceUnavailable` with Slack's error code, or the reason it could not be
    reached, in one line; the URL itself is never in it.
    """
    (output or default_output()).add_mask(webhook_url)
    try:
        with _client(policy) as client:
            response = client.post(webhook_url, json=payload(text, blocks), timeout=timeout)
    except requests.RequestException as exc:
        # The exception text names the URL's path, which holds the webhook's token.
        msg = f"Slack webhook could not be reached ({type(exc).__name__})"
        raise ServiceUnavailable(msg) from None
    answer = response.text.strip()
    if response.status_code == 200 and answer == "ok":  # noqa: PLR2004
        return
    detail = " ".join(answer.split())[:200] or "(empty answer)"
    msg = f"Slack webhook refused the message: HTTP {response.status_code} {detail}"
    raise ServiceUnavailable(msg)
