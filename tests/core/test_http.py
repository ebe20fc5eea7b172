"""HTTP sessions: retries on 429/5xx and resets with urllib3's Retry, never on a real answer."""

from __future__ import annotations

import logging

import pytest
import requests

from ci_tasks.core import http
from ci_tasks.core.retry import RetryPolicy
from tests.support.localserver import Response, serve

POLICY = RetryPolicy(attempts=3, initial_delay=0.01, jitter=0)


def scripted(*responses):
    queue = list(responses)

    def handler(_request):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def test_5xx_then_200_is_retried():
    """A 500 followed by a 200 ends in the 200 after one retry."""
    with serve(scripted(Response(500), Response(200, {"ok": True}))) as server:
        answer = http.session(POLICY).get(server.url + "/x", timeout=5)
    assert answer.status_code == 200
    assert len(server.requests) == 2


def test_429_retry_after_is_honoured():
    """A 429 with Retry-After is retried and then succeeds."""
    with serve(scripted(Response(429, headers={"Retry-After": "0"}), Response(200))) as server:
        answer = http.session(POLICY).get(server.url, timeout=5)
    assert answer.status_code == 200
    assert len(server.requests) == 2


def test_persistent_5xx_returns_last_answer():
    """When attempts run out the final 503 is returned for the caller to explain."""
    with serve(scripted(Response(503))) as server:
        answer = http.session(POLICY).get(server.url, timeout=5)
    assert answer.status_code == 503
    assert len(server.requests) == 3


def test_404_is_not_retried():
    """A genuine answer such as 404 is not retried."""
    with serve(scripted(Response(404))) as server:
        answer = http.session(POLICY).get(server.url, timeout=5)
    assert answer.status_code == 404
    assert len(server.requests) == 1


def test_post_is_not_retried_by_default():
    """POST is not idempotent, so a 503 on POST is not retried unless asked."""
    with serve(scripted(Response(503), Response(200))) as server:
        answer = http.session(POLICY).post(server.url, json={}, timeout=5)
    assert answer.status_code == 503
    assert len(server.requests) == 1


def test_reset_connection_is_retried_then_raises():
    """A connection reset on every attempt raises after the attempts run out."""
    with serve(scripted(Response(reset=True))) as server, pytest.raises(requests.ConnectionError):
        http.session(POLICY).get(server.url, timeout=5)
    assert len(server.requests) == 3


def test_user_agent_names_ci_tasks():
    """Requests identify themselves as ci-tasks."""
    with serve(scripted(Response(200))) as server:
        http.session(POLICY).get(server.url, timeout=5)
    assert server.requests[0].headers["User-Agent"].startswith("ci-tasks/")


@pytest.fixture
def root_at_debug():
    """The root logger as nox sets it: DEBUG, one stream handler; what it received."""
    import io  # noqa: PLC0415

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
    http.route_client_logs()


@pytest.mark.parametrize("verbose", [False, True])
def test_client_log_lines_reach_output_only_masked(root_at_debug, masker, out, verbose):
    """urllib3's request lines never reach the root logger; with verbose they show, masked."""
    with serve(scripted(Response(200, "ok"))) as server:
        webhook = f"{server.url}/services/T0/B0/pathSecret?sig=querySecret"
        masker.add(webhook)
        http.route_client_logs(verbose=verbose, output=out)
        http.session(POLICY).post(webhook, json={}, timeout=5)
    assert "pathSecret" not in root_at_debug.getvalue()
    assert root_at_debug.getvalue() == ""
    assert "pathSecret" not in out.text
    assert "querySecret" not in out.text
    assert ('"POST *** HTTP/1.1" 200' in out.text) is verbose
