"""The readiness GitHub client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from ci_tasks.core.errors import ConfigError, ServiceUnavailable
from ci_tasks.stages.readiness.github import (
    ActionsClient,
    api_session,
    ci_runs,
    parse_remote,
    resolve_repository,
)
from tests.support.github_fake import QUICK, REPO, FakeGitHub, local_client, make_runs
from tests.support.localserver import Response, serve


def client(server, fake, **kwargs) -> ActionsClient:
    return local_client(ActionsClient, server, fake, **kwargs)


def test_pages_by_link_header_until_enough_runs():
    """250 runs at 100 a page: 3 requests for 250, 1 for 10, each page reached by Link."""
    fake = FakeGitHub(runs=make_runs(["success"] * 250))
    with serve(fake) as server:
        got = ci_runs(client(server, fake), "ci.yml", "main", 250)
        assert len(got.runs) == 250
        assert [r.path.split("page=")[-1] for r in server.requests[1:]] == ["2", "3"]
        assert all("per_page=100" in r.path for r in server.requests)
        server.requests.clear()
        assert len(ci_runs(client(server, fake), "ci.yml", "main", 10).runs) == 100
        assert len(server.requests) == 1


def test_etags_make_repeat_requests_conditional():
    """A second client with the first one's data sends If-None-Match and reuses 304s."""
    fake = FakeGitHub(runs=make_runs(["success", "failure"] * 60))
    with serve(fake) as server:
        first = client(server, fake)
        before = ci_runs(first, "ci.yml", "main", 120)
        second = client(server, fake, cached=first.fresh)
        after = ci_runs(second, "ci.yml", "main", 120)
        assert after == before
        assert second.not_modified == second.requests == 2
        assert all("If-None-Match" in r.headers for r in server.requests[2:])


def test_changed_data_is_fetched_again():
    """A new run changes the ETag: the page is answered 200 and the new run is seen."""
    fake = FakeGitHub(runs=make_runs(["success"] * 5))
    with serve(fake) as server:
        first = client(server, fake)
        ci_runs(first, "ci.yml", "main", 5)
        fake.runs.insert(0, make_runs(["failure"])[0] | {"id": 1})
        again = client(server, fake, cached=first.fresh)
        got = ci_runs(again, "ci.yml", "main", 5)
        assert got.runs[0].conclusion == "failure"
        assert again.not_modified == 0


def test_server_error_then_success_is_retried():
    """A 500 followed by a 200 is retried and passes."""
    fake = FakeGitHub(runs=make_runs(["success"]), faults=[Response(500, "boom")])
    with serve(fake) as server:
        assert len(ci_runs(client(server, fake), "ci.yml", "main", 1).runs) == 1
        assert len(server.requests) == 2


def test_429_with_retry_after_is_honoured():
    """A 429 with Retry-After is retried and passes."""
    fake = FakeGitHub(
        runs=make_runs(["success"]), faults=[Response(429, "slow down", {"Retry-After": "1"})]
    )
    with serve(fake) as server:
        assert len(ci_runs(client(server, fake), "ci.yml", "main", 1).runs) == 1
        assert len(server.requests) == 2


def test_retry_after_past_the_deadline_fails_at_once():
    """A Retry-After longer than the session has left is a one-line error, not a long sleep."""
    fake = FakeGitHub(faults=[Response(429, "slow down", {"Retry-After": "3600"})])
    with serve(fake) as server:
        with pytest.raises(ServiceUnavailable, match="asked to retry after 3600 s") as info:
            ci_runs(client(server, fake, deadline=time.monotonic() + 30), "ci.yml", "main", 1)
        assert "the session has" in str(info.value)
        assert len(server.requests) == 1


def test_403_secondary_limit_with_retry_after_is_waited_out():
    """A 403 with Retry-After (a secondary rate limit) is waited out within the deadline."""
    fake = FakeGitHub(
        runs=make_runs(["success"]), faults=[Response(403, "secondary", {"retry-after": "2"})]
    )
    with serve(fake) as server:
        assert len(ci_runs(client(server, fake), "ci.yml", "main", 1).runs) == 1


def test_exhausted_rate_limit_waits_for_reset_within_deadline():
    """x-ratelimit-remaining: 0 with a reset inside the deadline: wait, then succeed."""
    reset = str(int(time.time()) + 5)
    fake = FakeGitHub(
        runs=make_runs(["success"]),
        faults=[
            Response(
                403,
                {"message": "API rate limit exceeded"},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
            )
        ],
    )
    logged = []
    with serve(fake) as server:
        got = ci_runs(client(server, fake, log=logged.append), "ci.yml", "main", 1)
        assert len(got.runs) == 1
        assert "rate limit exhausted" in logged[0]


def test_exhausted_rate_limit_past_deadline_is_a_clear_error():
    """A reset beyond the session's deadline fails at once with a one-line message."""
    reset = str(int(time.time()) + 3600)
    fake = FakeGitHub(
        faults=[
            Response(
                403,
                {"message": "API rate limit exceeded"},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
            )
        ]
    )
    with serve(fake) as server:
        with pytest.raises(ServiceUnavailable, match="rate limit exhausted") as info:
            ci_runs(client(server, fake), "ci.yml", "main", 1)
        assert "\n" not in str(info.value)
        assert len(server.requests) == 1


def test_malformed_json_is_a_one_line_error():
    """A 200 whose body is not JSON is reported, not trusted."""
    fake = FakeGitHub(faults=[Response(200, "{not json", {"Content-Type": "application/json"})])
    with serve(fake) as server, pytest.raises(ServiceUnavailable, match="not the JSON expected"):
        ci_runs(client(server, fake), "ci.yml", "main", 1)


def test_hang_past_the_timeout_is_retried_then_reported():
    """An answer slower than the request timeout is retried, then fails in one line."""
    fake = FakeGitHub(faults=[Response(200, "{}", delay=3)] * 3)
    with serve(fake) as server:
        with pytest.raises(ServiceUnavailable, match=r"no answer within 0.3 s"):
            ci_runs(client(server, fake, timeout=0.3), "ci.yml", "main", 1)
        assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("status", "token", "expected"),
    [
        (404, None, "404 not found: repository octo/app .* no token is set"),
        (401, "ghp_secret123", "401 unauthorised for octo/app: check that the token"),
    ],
)
def test_not_found_and_unauthorised_fail_at_once(status, token, expected):
    """401/404 are not retried and name the repository and the token's absence or scope."""
    fake = FakeGitHub(faults=[Response(status, {"message": "Not Found"})])
    with serve(fake) as server:
        with pytest.raises(ConfigError, match=expected) as info:
            ci_runs(client(server, fake, token=token), "ci.yml", "main", 1)
        assert len(server.requests) == 1
        assert "ghp_secret123" not in str(info.value)
        if token:
            assert server.requests[0].headers["Authorization"] == f"Bearer {token}"


def test_connection_refused_is_service_unavailable():
    """Nothing listening: retried, then a one-line error."""
    fake = FakeGitHub()
    with serve(fake) as server:
        url = server.url
    with pytest.raises(ServiceUnavailable, match="cannot connect"):
        ActionsClient(
            repository=REPO,
            http=api_session(QUICK),
            base_url=url,
            timeout=2,
        ).default_branch()


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("git@github.com:octo/app.git", "octo/app"),
        ("https://github.com/octo/app", "octo/app"),
        ("ssh://git@github.example.com/octo/app.git/", "octo/app"),
        ("not a url", None),
    ],
)
def test_parse_remote(remote, expected):
    """owner/name from https, ssh and scp-like remotes."""
    assert parse_remote(remote) == expected


def test_repository_resolution_order():
    """Configuration beats GITHUB_REPOSITORY beats the git remote; nothing is an error."""
    env = {"GITHUB_REPOSITORY": "env/repo"}
    assert resolve_repository("cfg/repo", env, "git@github.com:r/r.git") == "cfg/repo"
    assert resolve_repository("", env, "git@github.com:r/r.git") == "env/repo"
    assert resolve_repository("", {}, "git@github.com:r/r.git") == "r/r"
    with pytest.raises(ConfigError, match="no GitHub repository"):
        resolve_repository("", {}, None)
    with pytest.raises(ConfigError, match="expected 'owner/name'"):
        resolve_repository("nonsense", {}, None)
