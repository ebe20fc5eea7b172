"""The ci-environment check: the CI lock is current and its update PR has not waited long."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from test_readiness_session import api_env, project, stage

from ci_tasks.core.cilock import LOCK, UPDATE_BRANCH
from ci_tasks.core.config import parse_config
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.github import GitHubClient, api_session
from ci_tasks.core.retry import RetryPolicy
from ci_tasks.core.runner import Runner
from ci_tasks.stages.readiness import cienv
from ci_tasks.stages.readiness.config import ReadinessConfig
from ci_tasks.stages.readiness.model import Status
from tests.support.github_fake import REPO, FakeGitHub, make_runs
from tests.support.localserver import Response, serve
from tests.support.sample import clean_env
from tests.support.wheelhouse import env as wheel_env
from tests.support.wheelhouse import release

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
BLOCK = '# /// script\n# requires-python = ">=3.11"\n# dependencies = ["ruff"]\n# ///\n'


def pull(number: int, days: float) -> cienv.UpdatePull:
    return cienv.UpdatePull(number, NOW - dt.timedelta(days=days))


@pytest.mark.parametrize(
    ("seen", "status", "words"),
    [
        (None, Status.NOT_APPLICABLE, "no noxfile.py.lock"),
        (cienv.CIEnvironment(current=None, problem="uv: no index"), Status.UNKNOWN, "uv: no index"),
        (cienv.CIEnvironment(current=False), Status.FAIL, "is stale"),
        (cienv.CIEnvironment(current=True, pulls=()), Status.PASS, "no update pull request open"),
        (cienv.CIEnvironment(current=True, pulls=(pull(3, 13.5),)), Status.PASS, "update #3 open"),
        (
            cienv.CIEnvironment(current=True, pulls=(pull(3, 15),)),
            Status.FAIL,
            "#3 has waited 15 days",
        ),
        (
            cienv.CIEnvironment(current=True, pulls_problem="HTTP 500"),
            Status.UNKNOWN,
            "update pull requests unknown: HTTP 500",
        ),
        (
            cienv.CIEnvironment(current=True, looked=False, pulls_problem="--offline"),
            Status.PASS,
            "not checked: --offline",
        ),
    ],
)
def test_check_outcomes(seen, status, words):
    """Stale lock fails; an update PR open past 14 days fails; not being able to look is unknown."""
    got = cienv.check(seen, max_age_days=14, now=NOW)
    assert got.id == "ci-environment"
    assert got.status is status
    assert words in got.summary
    if status is Status.FAIL:
        assert got.remediation


def test_no_age_limit_with_zero_days():
    """ci-lock-max-age-days = 0 lets an update PR wait any time."""
    seen = cienv.CIEnvironment(current=True, pulls=(pull(1, 400),))
    assert cienv.check(seen, max_age_days=0, now=NOW).status is Status.PASS


@pytest.fixture
def locked(tmp_path):
    """A project whose noxfile block is locked against a local wheel folder."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    release(wheels, "ruff", "1.0")
    root = tmp_path / "app"
    root.mkdir()
    (root / "noxfile.py").write_text(BLOCK)
    runner = Runner(cwd=root, env=clean_env(wheel_env(wheels, tmp_path / "uv-cache")))
    runner.run([cienv.cilock.uv_binary(), "lock", "--script", "noxfile.py", "--quiet"])
    return root, runner


def _client(server) -> GitHubClient:
    return GitHubClient(
        repository=REPO,
        http=api_session(RetryPolicy(attempts=2, initial_delay=0, jitter=0)),
        base_url=server.url,
        timeout=5.0,
        deadline=time.monotonic() + 30,
    )


def open_pull(created: dt.datetime) -> dict[str, object]:
    return {
        "number": 7,
        "state": "open",
        "title": "Update the CI environment",
        "body": "",
        "html_url": f"https://github.com/{REPO}/pull/7",
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "head": {"ref": UPDATE_BRANCH, "label": f"octo:{UPDATE_BRANCH}"},
    }


def test_gather_asks_uv_and_lists_the_update_pr_by_its_branch(locked):
    """A current lock and an old update PR: uv is asked, the PR found by head, the check fails."""
    root, runner = locked
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    others = {**open_pull(old), "number": 8, "head": {"ref": "x", "label": "octo:x"}}
    fake = FakeGitHub(pulls=[open_pull(old), others])
    with serve(fake) as server:
        seen = cienv.gather(root, runner, _client(server))
        (request,) = server.requests
    assert f"head=octo%3A{UPDATE_BRANCH.replace('/', '%2F')}" in request.path
    assert seen is not None
    assert seen.current is True
    assert [p.number for p in seen.pulls or ()] == [7]
    got = cienv.check(seen, max_age_days=14, now=dt.datetime.now(dt.UTC))
    assert got.status is Status.FAIL
    assert "#7 has waited 20 days" in got.summary


def test_gather_sees_a_stale_lock_and_an_api_failure_as_different_things(locked):
    """An edited block is stale (fail); an API answering 500 is unknown, not a pass."""
    root, runner = locked
    (root / "noxfile.py").write_text(BLOCK.replace('["ruff"]', '["ruff>=1"]'))
    fake = FakeGitHub(faults=[Response(500, {"message": "boom"})] * 2)
    with serve(fake) as server:
        seen = cienv.gather(root, runner, _client(server))
    assert seen is not None
    assert seen.current is False
    assert seen.pulls is None
    assert "HTTP 500" in seen.pulls_problem
    assert cienv.check(seen, max_age_days=14, now=NOW).status is Status.FAIL
    fresh = cienv.CIEnvironment(current=True, pulls=None, pulls_problem=seen.pulls_problem)
    assert cienv.check(fresh, max_age_days=14, now=NOW).status is Status.UNKNOWN


def test_uv_unable_to_resolve_is_unknown_not_stale(locked):
    """A block uv cannot resolve (also exit 1) is 'could not tell', never read as stale."""
    root, runner = locked
    (root / "noxfile.py").write_text(BLOCK.replace('["ruff"]', '["ruff", "not-released"]'))
    seen = cienv.gather(root, runner, None)
    assert seen is not None
    assert seen.current is None
    assert "could not tell" in seen.problem
    assert "not-released" in seen.problem
    assert cienv.check(seen, max_age_days=14, now=NOW).status is Status.UNKNOWN


def test_stage_reports_the_check_and_its_weight(tmp_path):
    """The readiness stage judges a locked project's CI environment through the API it uses."""
    proj = project(tmp_path)
    root = proj.path
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    release(wheels, "ruff", "1.0")
    uv = wheel_env(wheels, tmp_path / "uv-cache")
    (root / "noxfile.py").write_text(BLOCK)
    Runner(cwd=root, env=clean_env(uv)).run(
        [cienv.cilock.uv_binary(), "lock", "--script", "noxfile.py", "--quiet"]
    )
    assert (root / LOCK).is_file()
    fake = FakeGitHub(runs=make_runs(["success"] * 10))
    with serve(fake) as server:
        fake.base = server.url
        code, out = stage(root, "--verbose", env=api_env(server, **uv))
        assert any("/pulls?" in r.path for r in server.requests)
    assert code == 0, out
    checklist = (root / "RELEASE_CHECKLIST.md").read_text()
    assert "**CI environment** (pass, weight 1): noxfile.py.lock is current" in checklist
    code, out = stage(root, "--offline", env=uv)  # uv answers from its cache alone
    offline = (root / "RELEASE_CHECKLIST.md").read_text()
    assert "**CI environment** (pass, weight 1): noxfile.py.lock is current; update pull" in offline
    assert "not checked: --offline" in offline


def test_max_age_is_configured_in_the_readiness_table(tmp_path):
    """ci-lock-max-age-days reads from [tool.ci-tasks.readiness]; a negative one is refused."""
    source = tmp_path / "pyproject.toml"
    cfg = parse_config({"readiness": {"ci-lock-max-age-days": 3}}, source).section(ReadinessConfig)
    assert cfg.ci_lock_max_age_days == 3
    assert cfg.checks.ci_environment.weight == 1
    with pytest.raises(ConfigError, match="ci-lock-max-age-days"):
        parse_config({"readiness": {"ci-lock-max-age-days": -1}}, source)
