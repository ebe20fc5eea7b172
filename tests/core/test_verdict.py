"""One verdict type: each status's exit code, words and style, in one place."""

from __future__ import annotations

import pytest

from ci_tasks.core.verdict import Status, Verdict, tempered, unverified


@pytest.mark.parametrize(
    ("status", "code", "style"),
    [
        (Status.PASSED, 0, "ok"),
        (Status.UNVERIFIED, 0, "warning"),
        (Status.NOT_RUN, 0, "warning"),
        (Status.FAILED, 1, "error"),
        (Status.ERROR, 2, "error"),
        (Status.INTERRUPTED, 130, "error"),
    ],
)
def test_each_status_has_one_exit_code_and_style(status: Status, code: int, style: str) -> None:
    """Findings exit 1, bad input 2, an interruption 130; only a plain pass is green."""
    assert status.exit_code == code
    assert status.ok is (code == 0)
    assert status.style == style


def test_the_verdict_line_says_the_status_or_the_stages_own_words() -> None:
    """The status in words; UNVERIFIED with its reason; a tempered pass in its own words."""
    assert Verdict(Status.PASSED, seconds=1.25).line("lint") == "lint: passed in 1.2 s"
    assert Verdict(Status.ERROR, seconds=0.04).line("lint") == "lint: could not run in 0.0 s"
    offline = unverified("warning only: set CI=true to block").took(2.0)
    assert offline.line("security") == (
        "security: UNVERIFIED (warning only: set CI=true to block) in 2.0 s"
    )
    low = tempered("72 %, below the 80 % threshold (not gated)")
    assert low.word == "72 %, below the 80 % threshold (not gated)"
    assert (low.status.exit_code, low.style, low.tempered) == (0, "warning", True)
    assert not Verdict(Status.PASSED).tempered
    stopped = Verdict(Status.INTERRUPTED, "SIGTERM", 3.0, code=143)
    assert stopped.line("tests") == "tests: interrupted (SIGTERM) after 3.0 s"
    assert stopped.exit_code == 143


@pytest.mark.parametrize(
    ("code", "status"),
    [(0, Status.PASSED), (1, Status.FAILED), (2, Status.ERROR), (5, Status.FAILED)],
)
def test_an_exit_code_maps_back_to_a_status_keeping_its_own_number(code: int, status) -> None:
    """A session's exit code gives its status; an unusual code (5) is kept as it was."""
    verdict = Verdict.of_exit_code(code, 1.0)
    assert (verdict.status, verdict.exit_code, verdict.seconds) == (status, code, 1.0)
