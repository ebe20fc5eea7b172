"""Readiness part 2: the sticky PR comment, Slack, --commit, trend and badge."""

from __future__ import annotations

import json
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_readiness_session import project, stage

from ci_tasks.core.stage import write_stage_report
from ci_tasks.stages.readiness import checklist, publish
from ci_tasks.stages.readiness.model import Check, Result, Status
from ci_tasks.stages.readiness.session import BADGE_FILE
from tests.support.github_fake import FakeGitHub, make_runs, other_comments
from tests.support.localserver import Response, serve

GOLDEN = Path(__file__).parent / "golden"


def result(*, score_pass: bool = True) -> Result:
    checks = (
        Check(
            "ci-pass-rate",
            "CI pass rate",
            Status.PASS,
            "9/10 runs succeeded (90 %)",
            3.0,
            ("run 1001: failure",),
            "",
            "GitHub API",
        ),
        Check(
            "security",
            "Security",
            Status.PASS if score_pass else Status.FAIL,
            "no unignored findings" if score_pass else "1 finding: CVE-2018-18074",
            3.0,
        ),
        Check(
            "flaky-tests",
            "Flaky tests",
            Status.UNKNOWN,
            "no flaky history",
            2.0,
            (),
            "run nox -s tests",
            ".ci-tasks/flaky-history.json",
        ),
        Check("smoke", "Smoke", Status.NOT_APPLICABLE, "no staging URL configured", 1.0),
    )
    return Result(checks=checks, threshold=90, commit="a" * 40, as_of="2026-11-26T09:00:00Z")


HISTORY = [
    {"score": 62.5, "commit": "1111111aaaa", "generated_at": "2026-11-24T09:00:00+00:00"},
    {"score": 75.0, "commit": "2222222bbbb", "generated_at": "2026-11-25T09:00:00+00:00"},
]


def test_checklist_matches_golden():
    """The checklist with its trend chart renders exactly as the golden file."""
    chart = publish.trend.mermaid(publish.trend_points(HISTORY), threshold=90)
    assert checklist.render(result(), chart) == (GOLDEN / "checklist.md").read_text()


def test_pr_body_matches_golden():
    """The PR comment (marker, table, changes, trend, hidden state) matches the golden file."""
    baseline = {"score": 37.5, "checks": {"security": "fail", "ci-pass-rate": "pass"}}
    body = publish.comment_body(result(), baseline, HISTORY)
    assert body == (GOLDEN / "pr-comment.md").read_text()
    assert body.startswith(publish.MARKER)
    assert publish.parse_state(body)["base"] == baseline


def test_unchanged_result_keeps_its_baseline():
    """Re-rendering against the comment's own state gives the same body (no rewrite)."""
    first = publish.comment_body(result(score_pass=False), None, HISTORY)
    second_base = publish.baseline_for(result(score_pass=True), publish.parse_state(first))
    second = publish.comment_body(result(score_pass=True), second_base, HISTORY)
    assert "Security: fail → pass" in second
    third = publish.comment_body(
        result(score_pass=True),
        publish.baseline_for(result(score_pass=True), publish.parse_state(second)),
        HISTORY,
    )
    assert third == second


def pr_event(tmp_path, number):
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"pull_request": {"number": number}}))
    return str(path)


@pytest.fixture
def good(tmp_path):
    return project(tmp_path / "p").path


def test_sticky_comment_on_page_two_is_patched(good, tmp_path):
    """Among 150 comments, ours (on the second page) is updated in place; nothing is created."""
    ours = {"id": 777, "body": publish.MARKER + "\nold", "user": {"login": "bot"}}
    comments = [*other_comments(120), ours, *other_comments(29, start=500)]
    fake = FakeGitHub(runs=make_runs(["success"] * 10), comments={7: comments})
    with serve(fake) as server:
        fake.base = server.url
        env = {"GITHUB_API_URL": server.url, "GITHUB_EVENT_PATH": pr_event(tmp_path, 7)}
        code, out = stage(good, "--pr-comment", env=env)
    assert code == 0, out
    assert fake.writes == [("PATCH", "/repos/octo/app/issues/comments/777")]
    assert len(fake.comments[7]) == 150
    assert "Release readiness: 100.0 %" in ours["body"]
    assert "readiness comment on #7: updated" in out
    pages = [r for r in server.requests if "/issues/7/comments" in r.path]
    assert len(pages) == 2


def test_comment_created_once_then_left_alone(good):
    """With no comment of ours one is POSTed; a second run with the same result writes nothing."""
    fake = FakeGitHub(runs=make_runs(["success"] * 10), comments={3: other_comments(2)})
    with serve(fake) as server:
        fake.base = server.url
        env = {"GITHUB_API_URL": server.url}
        code, out = stage(good, "--pr-comment", "--pr", "3", env=env)
        assert code == 0, out
        assert fake.writes == [("POST", "/repos/octo/app/issues/3/comments")]
        code, out = stage(good, "--pr-comment", "--pr", "3", env=env)
        assert code == 0, out
    assert fake.writes == [("POST", "/repos/octo/app/issues/3/comments")]
    assert "readiness comment on #3: unchanged" in out


@pytest.mark.parametrize(("good_project", "expected"), [(True, 0), (False, 1)])
def test_fork_403_is_a_warning_and_the_gate_decides(tmp_path, good_project, expected):
    """A 403 on the write warns about fork tokens; the exit code is the gate's."""
    root = project(tmp_path / "p", good=good_project).path
    fake = FakeGitHub(runs=make_runs(["success"] * 10), write_status=403)
    with serve(fake) as server:
        fake.base = server.url
        code, out = stage(
            root, "--check-only", "--pr-comment", "--pr", "5", env={"GITHUB_API_URL": server.url}
        )
    assert code == expected, out
    assert "read-only token" in out
    assert fake.writes == [("POST", "/repos/octo/app/issues/5/comments")]


def test_pr_comment_without_a_pull_request_is_a_usage_error(good):
    """--pr-comment outside a pull request and without --pr is exit 2 in one line."""
    fake = FakeGitHub(runs=make_runs(["success"] * 10))
    with serve(fake) as server:
        fake.base = server.url
        code, out = stage(good, "--pr-comment", env={"GITHUB_API_URL": server.url})
    assert code == 2
    assert "pass --pr N" in out


class Slack:
    """A Slack incoming-webhook receiver with scripted answers."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.payloads = []

    def __call__(self, request):
        self.payloads.append(request.json())
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def notify(root, slack_server, masker_env=None):
    url = f"{slack_server.url}/services/T0001/B0002/secretXYZ"
    return url, stage(
        root, "--offline", "--notify", env={"SLACK_WEBHOOK_URL": url, **(masker_env or {})}
    )


@pytest.mark.usefixtures("masker")
def test_slack_message_has_blocks_and_text_and_hides_the_url(tmp_path):
    """Below the threshold Slack gets Block Kit sections and a text fallback; never the URL."""
    root = project(tmp_path / "p", good=False).path
    receiver = Slack(Response(200, "ok"))
    with serve(receiver) as server:
        url, (code, out) = notify(root, server)
    assert code == 0, out
    payload = receiver.payloads[0]
    assert payload["text"].startswith("Release readiness below threshold")
    assert [b["type"] for b in payload["blocks"]][:2] == ["section", "section"]
    assert "Security" in payload["blocks"][1]["text"]["text"]
    assert url not in out
    assert "secretXYZ" not in out


@pytest.mark.usefixtures("masker")
@pytest.mark.parametrize("code_word", ["invalid_payload", "no_text"])
def test_slack_error_codes_are_one_line(tmp_path, code_word):
    """Slack's plain-text error codes become a one-line error (exit 2) that hides the URL."""
    root = project(tmp_path / "p", good=False).path
    with serve(Slack(Response(400, code_word))) as server:
        url, (code, out) = notify(root, server)
    assert code == 2
    errors = [line for line in out.splitlines() if code_word in line]
    assert errors
    assert "HTTP 400" in errors[0]
    assert url not in out
    assert "secretXYZ" not in out


@pytest.mark.usefixtures("masker")
def test_slack_429_with_retry_after_is_retried_once(tmp_path):
    """A 429 with Retry-After: 1 is retried and then succeeds."""
    root = project(tmp_path / "p", good=False).path
    receiver = Slack(Response(429, "rate_limited", {"Retry-After": "1"}), Response(200, "ok"))
    with serve(receiver) as server:
        _, (code, out) = notify(root, server)
    assert code == 0, out
    assert len(receiver.payloads) == 2


def test_notify_without_webhook_warns(good):
    """--notify with no SLACK_WEBHOOK_URL warns and does not crash."""
    root = good
    write_stage_report(root, "security", verdict="failed", body={"findings": [], "skipped": 0})
    code, out = stage(root, "--offline", "--notify")
    assert code == 0, out
    assert "SLACK_WEBHOOK_URL is not set" in out


def git_out(root, *args):
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def test_commit_commits_exactly_the_three_files(good):
    """--commit makes one commit with the checklist, cache and badge; unrelated changes stay."""
    (good / "README.md").write_text("# edited, not to be committed\n")
    before = int(git_out(good, "rev-list", "--count", "HEAD"))
    code, out = stage(good, "--offline", "--commit")
    assert code == 0, out
    show = git_out(good, "show", "--name-only", "--format=%s", "HEAD").split()
    assert show[0] == "readiness:"
    assert sorted(show[-3:]) == [
        ".release-readiness-cache.json",
        "RELEASE_CHECKLIST.md",
        BADGE_FILE,
    ]
    assert " M README.md" in git_out(good, "status", "--porcelain")
    code, out = stage(good, "--offline", "--commit")
    assert code == 0, out
    assert "nothing to commit" in out
    assert int(git_out(good, "rev-list", "--count", "HEAD")) == before + 1


def test_commit_with_check_only_is_refused(good):
    """--commit cannot go with --check-only: one line, exit 2."""
    code, out = stage(good, "--offline", "--check-only", "--commit")
    assert code == 2
    assert "--commit" in out


def test_badge_and_trend_written_beside_the_checklist(good):
    """The badge is valid SVG beside the checklist; the terminal shows a sparkline."""
    code, out = stage(good, "--offline")
    assert code == 0, out
    svg = (good / BADGE_FILE).read_text()
    ET.fromstring(svg)  # noqa: S314 - our own output
    assert "trend (1 runs): " in out
    assert "## Trend" in (good / "RELEASE_CHECKLIST.md").read_text()


def test_smoke_applies_when_the_smoke_section_names_a_url(tmp_path):
    """A [tool.ci-tasks.smoke] url makes the smoke check applicable (unknown without a report)."""
    root = project(tmp_path / "p", "[tool.ci-tasks.smoke]\nurl = 'https://staging.example'").path
    _, out = stage(root, "--offline", "--check-only", "--verbose")
    smoke_line = next(line for line in out.splitlines() if "Smoke" in line)
    assert "unknown" in smoke_line


def test_default_run_below_threshold_does_not_say_passed(tmp_path):
    """Without --check-only a low score exits 0 but the stage line says the score, not passed."""
    root = project(tmp_path / "p", good=False).path
    code, out = stage(root, "--offline")
    assert code == 0, out
    last = out.strip().splitlines()[-1]
    assert "passed" not in last
    assert "below the 90 % threshold (not gated)" in last


def test_unchanged_rerun_rewrites_the_cache_byte_for_byte(good):
    """A second run with the same evidence, seconds later, leaves the cache file identical."""
    code, out = stage(good, "--offline")
    assert code == 0, out
    first = (good / ".release-readiness-cache.json").read_bytes()
    time.sleep(1.1)  # the history's timestamps are to the second
    code, out = stage(good, "--offline")
    assert code == 0, out
    assert (good / ".release-readiness-cache.json").read_bytes() == first
