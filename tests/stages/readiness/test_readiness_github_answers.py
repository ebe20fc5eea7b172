"""Readiness against GitHub's answers held in memory: what it makes of them, no HTTP.

How those answers travel (Link pages, ETags, retries, refusals) is tested against a real
local server in test_readiness_github.py and test_readiness_publish.py.
"""

from __future__ import annotations

import pytest

from ci_tasks.core.errors import ServiceUnavailable
from ci_tasks.stages.readiness import publish
from ci_tasks.stages.readiness.github import ci_runs
from tests.support.github_fake import make_runs
from tests.support.github_memory import MemoryGitHub


def test_runs_that_do_not_count_make_readiness_ask_for_more_pages():
    """100 cancelled runs then successes: a second page is asked for, and all of it kept."""
    github = MemoryGitHub(runs=make_runs(["cancelled"] * 100 + ["success"] * 150))
    got = ci_runs(github, "ci.yml", "main", 5)
    assert github.asked == ["workflow_runs page 1", "workflow_runs page 2"]
    assert len(got.runs) == 200
    assert (got.repository, got.workflow, got.branch) == ("octo/app", "ci.yml", "main")


def test_enough_runs_on_the_first_page_ask_for_no_second():
    """A page holding the runs asked for is the last one asked for."""
    github = MemoryGitHub(runs=make_runs(["success", "failure"] * 100))
    got = ci_runs(github, "ci.yml", "main", 100)
    assert github.asked == ["workflow_runs page 1"]
    assert [r.conclusion for r in got.runs[:2]] == ["success", "failure"]


def test_no_runs_wanted_asks_nothing():
    """Asking for no runs makes no request."""
    github = MemoryGitHub(runs=make_runs(["success"]))
    assert ci_runs(github, "ci.yml", "main", 0).runs == ()
    assert github.asked == []


def test_runs_on_other_branches_are_not_counted():
    """Only the branch asked for is listed; with none there, there are no runs."""
    github = MemoryGitHub(runs=make_runs(["success"] * 3))
    assert ci_runs(github, "ci.yml", "release", 3).runs == ()


def _render(previous):
    return f"{publish.MARKER}\nscore 90 <!-- previous: {previous} -->"


def test_the_sticky_comment_is_created_then_left_alone_then_updated():
    """No comment of ours: created; same body: unchanged; a new body: ours updated in place."""
    people = [{"id": 1, "body": "looks good", "user": "someone"}]
    github = MemoryGitHub(comments={7: list(people)})
    warnings: list[str] = []
    assert publish.upsert_comment(github, 7, _render, warnings.append) == "created"
    assert publish.upsert_comment(github, 7, _render, warnings.append) == "unchanged"
    assert publish.upsert_comment(github, 7, lambda _p: publish.MARKER, warnings.append) == (
        "updated"
    )
    assert github.comments[7] == [*people, {"id": 9000, "body": publish.MARKER, "user": "bot"}]
    assert [a for a in github.asked if "_comment " in a] == [
        "create_comment 7",
        "update_comment 9000",
    ]
    assert warnings == []


@pytest.mark.parametrize(
    ("status", "done", "warning"),
    [(403, "forbidden", "read-only token"), (422, "failed", "answered HTTP 422")],
)
def test_a_refused_comment_write_is_a_warning(status, done, warning):
    """A write GitHub refuses warns (a fork's 403 says why) and does not raise."""
    github = MemoryGitHub(write_status=status)
    warnings: list[str] = []
    assert publish.upsert_comment(github, 5, _render, warnings.append) == done
    assert len(warnings) == 1
    assert warning in warnings[0]
    assert github.comments == {}


def test_github_unreachable_while_listing_comments_is_raised():
    """When the comments cannot be listed the error reaches the caller, and nothing is written."""
    github = MemoryGitHub(down=ServiceUnavailable("GitHub API: cannot connect (after retries)"))
    with pytest.raises(ServiceUnavailable, match="cannot connect"):
        publish.upsert_comment(github, 5, _render, lambda _m: None)
    assert github.asked == ["issue_comments 5"]
