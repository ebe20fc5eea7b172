"""The Slack incoming-webhook notifier against a real receiver on 127.0.0.1."""

from __future__ import annotations

import io

import pytest

from ci_tasks.core import slack
from ci_tasks.core.actions import Output
from ci_tasks.core.errors import ServiceUnavailable
from ci_tasks.core.masking import Masker
from ci_tasks.core.retry import RetryPolicy
from tests.support.localserver import Request, Response, serve

QUICK = RetryPolicy(attempts=3, initial_delay=0.05, max_delay=0.1, jitter=0)
TOKEN = "XyZwebhookT0ken"


def receiver(*answers: Response):
    """A handler answering *answers* in order, then ``ok``."""
    queue = list(answers)

    def handler(_: Request) -> Response:
        return queue.pop(0) if queue else Response(200, "ok")

    return handler


def quiet_output() -> tuple[Output, io.StringIO]:
    stream = io.StringIO()
    return Output(stream=stream, env={}, masker=Masker()), stream


def test_message_has_blocks_and_a_text_fallback():
    """The posted JSON carries Block Kit blocks and the plain text fallback."""
    output, _ = quiet_output()
    with serve(receiver()) as server:
        blocks = [slack.header("Smoke test failed"), slack.section("*GET /health*: 503")]
        slack.notify(f"{server.url}/services/{TOKEN}", "Smoke test failed", blocks, output=output)
    [request] = server.requests
    assert request.method == "POST"
    body = request.json()
    assert body["text"] == "Smoke test failed"
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Smoke test failed"},
    }
    assert body["blocks"][1]["text"] == {"type": "mrkdwn", "text": "*GET /health*: 503"}


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "invalid_payload"), (400, "no_text"), (410, "channel_is_archived"), (404, "no_service")],
)
def test_slack_error_codes_become_one_line(status, code):
    """Slack's plain-text error code is reported in one line, without the webhook URL."""
    output, stream = quiet_output()
    with serve(receiver(Response(status, code))) as server:
        webhook = f"{server.url}/services/{TOKEN}"
        with pytest.raises(ServiceUnavailable) as info:
            slack.notify(webhook, "text", output=output)
    message = str(info.value)
    assert message == f"Slack webhook refused the message: HTTP {status} {code}"
    assert "\n" not in message
    assert TOKEN not in message + stream.getvalue()
    assert len(server.requests) == 1  # a refusal is not retried


def test_429_with_retry_after_is_retried_once_then_ok():
    """429 with Retry-After: 1 waits and retries once; the second answer is ok."""
    output, _ = quiet_output()
    with serve(receiver(Response(429, "rate_limited", {"Retry-After": "1"}))) as server:
        slack.notify(f"{server.url}/services/{TOKEN}", "text", policy=QUICK, output=output)
    assert len(server.requests) == 2


def test_5xx_is_retried():
    """A 503 from Slack is retried (the message was not posted)."""
    output, _ = quiet_output()
    with serve(receiver(Response(503, "down"), Response(500, "oops"))) as server:
        slack.notify(f"{server.url}/services/{TOKEN}", "text", policy=QUICK, output=output)
    assert len(server.requests) == 3


def test_a_reset_after_sending_is_not_retried():
    """Once the request was sent, a dropped connection is not retried: no double post."""
    output, _ = quiet_output()
    with serve(receiver(Response(reset=True))) as server:
        webhook = f"{server.url}/services/{TOKEN}"
        with pytest.raises(ServiceUnavailable) as info:
            slack.notify(webhook, "text", policy=QUICK, output=output)
    assert len(server.requests) == 1
    assert str(info.value).startswith("Slack webhook could not be reached (")
    assert TOKEN not in str(info.value)


def test_webhook_url_is_registered_as_a_secret():
    """After notify, the webhook URL is masked in anything that output prints."""
    output, stream = quiet_output()
    with serve(receiver()) as server:
        webhook = f"{server.url}/services/{TOKEN}"
        slack.notify(webhook, "text", output=output)
        output.line(f"posted to {webhook}")
    assert TOKEN not in stream.getvalue()
    assert "posted to ***" in stream.getvalue()


def test_long_sections_are_cut_to_slacks_limit():
    """A section longer than Slack accepts is cut, not rejected as invalid_blocks."""
    block = slack.section("x" * 5000)
    assert len(block["text"]["text"]) == slack.SECTION_LIMIT


@pytest.mark.parametrize(("env", "expected"), [({}, None), ({"SLACK_WEBHOOK_URL": " "}, None)])
def test_missing_webhook_is_none(env, expected):
    """An unset or blank SLACK_WEBHOOK_URL means no webhook."""
    assert slack.webhook_from_env(env) is expected
