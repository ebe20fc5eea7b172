"""Readiness scoring, checks, freshness and rendering: pure functions over plain data."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest

from ci_tasks.core.actions import Output
from ci_tasks.core.config import parse_config
from ci_tasks.core.errors import ConfigError
from ci_tasks.stages.readiness import cache, checklist, checks
from ci_tasks.stages.readiness.config import ReadinessConfig
from ci_tasks.stages.readiness.evidence import (
    CIRuns,
    Evidence,
    Run,
    WorkflowFile,
    assess_history,
    assess_report,
)
from ci_tasks.stages.readiness.model import Check, Result, Status, apply_exemptions, exempt, score

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
HEAD = "a" * 40


def check(status: Status, weight: float = 1.0, check_id: str = "x") -> Check:
    return Check(check_id, check_id.title(), status, "summary", weight=weight)


def report(kind: str, **body):
    data = {
        "schema": f"ci-tasks/{kind}-report",
        "version": 1,
        "commit": HEAD,
        "generated_at": "2026-11-26T11:00:00+00:00",
        "verdict": "passed",
        **body,
    }
    return assess_report(
        kind, f".ci-tasks/{kind}-report.json", data, head=HEAD, now=NOW, max_age_hours=24
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([(Status.PASS, 3), (Status.FAIL, 1)], 75.0),
        ([(Status.PASS, 1), (Status.UNKNOWN, 1)], 50.0),
        ([(Status.PASS, 1), (Status.NOT_APPLICABLE, 5)], 100.0),
        ([(Status.PASS, 1), (Status.EXEMPT, 5), (Status.FAIL, 1)], 50.0),
        ([(Status.PASS, 899), (Status.FAIL, 101)], 89.9),
        ([(Status.PASS, 2), (Status.FAIL, 0)], 100.0),
        ([(Status.NOT_APPLICABLE, 1), (Status.EXEMPT, 1)], 0.0),
        ([], 0.0),
    ],
)
def test_score_is_weighted_share_of_passing_over_applicable(statuses, expected):
    """Weights count; not-applicable and exempt drop out; unknown fails; nothing scores 0."""
    assert score([check(s, w) for s, w in statuses]) == pytest.approx(expected)


@pytest.mark.parametrize(("passed", "failed", "gate"), [(899, 101, False), (9, 1, True)])
def test_gate_passes_at_the_threshold_not_below(passed, failed, gate):
    """89.9 % fails a 90 % gate; exactly 90 % passes it."""
    result = Result((check(Status.PASS, passed), check(Status.FAIL, failed)), 90.0, HEAD, "t")
    assert result.passed is gate


def test_exemption_needs_a_reason_and_is_shown_with_it():
    """An exempt check keeps its reason and what it would have been; no reason is refused."""
    done = apply_exemptions([check(Status.FAIL, check_id="smoke")], {"smoke": "no staging yet"})
    assert done[0].status is Status.EXEMPT
    assert "no staging yet" in done[0].summary
    assert "would be: fail" in done[0].summary
    with pytest.raises(ValueError, match="needs a reason"):
        exempt(check(Status.FAIL), "  ")


def test_config_exemption_without_reason_is_a_one_line_error(tmp_path):
    """[tool.ci-tasks.readiness] exemptions without a reason or with an unknown check fail."""
    source = tmp_path / "pyproject.toml"
    with pytest.raises(ConfigError, match="needs a reason"):
        parse_config({"readiness": {"exemptions": [{"check": "smoke"}]}}, source)
    with pytest.raises(ConfigError, match="unknown check 'smok'"):
        parse_config({"readiness": {"exemptions": [{"check": "smok", "reason": "r"}]}}, source)
    with pytest.raises(ConfigError, match="percentage"):
        parse_config({"readiness": {"threshold": 101}}, source)


def test_config_reads_per_check_tables(tmp_path):
    """Per-check weight, enabled and threshold come from readiness.checks.<id>."""
    cfg = parse_config(
        {
            "readiness": {
                "checks": {
                    "ci-pass-rate": {"weight": 5, "threshold": 95},
                    "smoke": {"enabled": False},
                }
            }
        },
        tmp_path / "pyproject.toml",
    ).section(ReadinessConfig)
    assert cfg.checks.ci_pass_rate.weight == 5
    assert cfg.checks.ci_pass_rate.threshold == 95
    assert cfg.checks.smoke.enabled is False


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"commit": "b" * 40}, "stale: .* is from bbbbbbbbbbbb, HEAD is aaaaaaaaaaaa"),
        ({"generated_at": "2026-11-24T11:00:00+00:00"}, "stale: .* 49 h old"),
        ({"schema": "ci-tasks/build-report"}, "not a ci-tasks security report"),
        ({"verdict": "maybe"}, "no valid verdict"),
        ({"generated_at": "yesterday"}, "no valid generated_at"),
    ],
)
def test_report_freshness(changes, problem):
    """A report from another commit, too old, or malformed cannot be trusted."""
    data = {
        "schema": "ci-tasks/security-report",
        "commit": HEAD,
        "generated_at": "2026-11-26T11:00:00+00:00",
        "verdict": "passed",
        **changes,
    }
    got = assess_report("security", "s.json", data, head=HEAD, now=NOW, max_age_hours=24)
    if problem is None:
        assert got.problem is None
    else:
        assert got.problem is not None
        assert re.search(problem, got.problem)


def test_stale_report_makes_its_check_unknown_and_fail_the_score():
    """A stale passing build report does not pass: the check is unknown and scores 0."""
    stale = assess_report(
        "build",
        "b.json",
        {
            "schema": "ci-tasks/build-report",
            "commit": "c" * 40,
            "verdict": "passed",
            "generated_at": "2026-11-26T11:00:00+00:00",
        },
        head=HEAD,
        now=NOW,
        max_age_hours=24,
    )
    got = checks.build(stale)
    assert got.status is Status.UNKNOWN
    assert "stale" in got.summary
    assert score([got]) == 0.0


def runs(*conclusions: str, minutes: float = 5.0) -> CIRuns:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return CIRuns(
        "o/r",
        "ci.yml",
        "main",
        tuple(
            Run(i, c, 1, start, start + dt.timedelta(minutes=minutes))
            for i, c in enumerate(conclusions)
        ),
    )


@pytest.mark.parametrize(
    ("conclusions", "status", "text"),
    [
        (["success"] * 9 + ["failure"], Status.PASS, "9/10 runs succeeded (90 %"),
        (["success"] * 8 + ["failure"] * 2, Status.FAIL, "8/10"),
        (["cancelled"] * 3 + ["success"] * 10, Status.PASS, "10/10"),
        ([], Status.UNKNOWN, "no completed runs"),
    ],
)
def test_ci_pass_rate(conclusions, status, text):
    """>= 85 % of the last N counted runs must succeed; cancelled runs are not counted."""
    got = checks.ci_pass_rate(runs(*conclusions), runs=10, threshold=None)
    assert got.status is status
    assert text in got.summary


def test_ci_duration_median_against_seven_minutes():
    """The median run must take at most 7 minutes."""
    assert (
        checks.ci_duration(runs("success", minutes=7), runs=10, threshold=None).status
        is Status.PASS
    )
    assert (
        checks.ci_duration(runs("success", minutes=7.5), runs=10, threshold=None).status
        is Status.FAIL
    )
    assert checks.ci_duration(None, runs=10, threshold=None).status is Status.NOT_APPLICABLE


def test_flaky_rate_is_rescued_share_of_test_executions():
    """Rescued executions over executed tests, over the last N history entries, < 5 %."""
    history = {
        "schema": "ci-tasks/flaky-history",
        "version": 1,
        "runs": [
            {"commit": "x", "date": "2026-11-01", "tests": 100, "rescued": 50, "flaky": ["t::old"]},
            {"commit": "y", "date": "2026-11-02", "tests": 100, "rescued": 4, "flaky": ["t::a"]},
            {"commit": "z", "date": "2026-11-03", "tests": 100, "rescued": 5, "flaky": ["t::b"]},
        ],
    }
    got = checks.flaky_tests(assess_history("h.json", history), runs=2, threshold=None)
    assert got.status is Status.PASS
    assert "9/200" in got.summary
    assert got.evidence == ("flaky: t::a", "flaky: t::b")
    worse = checks.flaky_tests(assess_history("h.json", history), runs=3, threshold=None)
    assert worse.status is Status.FAIL
    assert (
        checks.flaky_tests(assess_history("h.json", None), runs=3, threshold=None).status
        is Status.UNKNOWN
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"findings": [{"id": "B101", "ignored": True}], "skipped": 0}, Status.PASS),
        ({"findings": [{"id": "B101", "ignored": False}], "skipped": 0}, Status.FAIL),
        ({"findings": [], "skipped": 1}, Status.FAIL),
        ({"findings": [], "skipped": 0, "verdict": "unverified"}, Status.FAIL),
    ],
)
def test_security_needs_no_open_findings_and_everything_audited(body, status):
    """Unignored findings, unaudited dependencies or an unverified verdict fail."""
    assert checks.security(report("security", **body)).status is status


def test_dependencies_zero_drift():
    """A current lock and no pinning findings pass; anything else fails."""
    assert checks.dependencies(report("lint", lock_current=True, findings=[])).status is Status.PASS
    drift = report(
        "lint",
        lock_current=True,
        findings=[
            {
                "rule": "unpinned-dev-tool",
                "file": "pyproject.toml",
                "line": 3,
                "message": "ruff>=0.1",
            }
        ],
    )
    got = checks.dependencies(drift)
    assert got.status is Status.FAIL
    assert got.evidence == ("unpinned-dev-tool: pyproject.toml:3 ruff>=0.1",)
    assert checks.dependencies(report("lint", lock_current=False)).status is Status.FAIL


GOOD_WORKFLOW = {
    "concurrency": {"group": "ci"},
    "permissions": {},
    "jobs": {"test": {"timeout-minutes": 10}, "reuse": {"uses": "./.github/workflows/x.yml"}},
}


@pytest.mark.parametrize(
    ("data", "findings", "status", "problem"),
    [
        (GOOD_WORKFLOW, [], Status.PASS, None),
        (
            {k: v for k, v in GOOD_WORKFLOW.items() if k != "concurrency"},
            [],
            Status.FAIL,
            "no concurrency",
        ),
        ({**GOOD_WORKFLOW, "jobs": {"test": {}}}, [], Status.FAIL, "job test has no timeout"),
        (
            {k: v for k, v in GOOD_WORKFLOW.items() if k != "permissions"},
            [],
            Status.FAIL,
            "job test has no declared permissions",
        ),
        (
            GOOD_WORKFLOW,
            [
                {
                    "rule": "unpinned-action",
                    "file": "ci.yml",
                    "line": 9,
                    "message": "actions/checkout@v4",
                }
            ],
            Status.FAIL,
            "unpinned-action",
        ),
    ],
)
def test_workflow_hygiene(data, findings, status, problem):
    """Concurrency, timeout-minutes per job, declared permissions, SHA-pinned actions."""
    got = checks.workflows((WorkflowFile("ci.yml", data),), report("lint", findings=findings))
    assert got.status is status
    if problem:
        assert any(problem in line for line in got.evidence)


def test_workflows_unknown_without_lint_report_or_files():
    """SHA pinning cannot be judged without the lint report; no workflows is no evidence."""
    missing = assess_report("lint", "l.json", None, head=HEAD, now=NOW, max_age_hours=24)
    assert (
        checks.workflows((WorkflowFile("ci.yml", GOOD_WORKFLOW),), missing).status is Status.UNKNOWN
    )
    assert checks.workflows((), report("lint")).status is Status.UNKNOWN


def test_smoke_not_applicable_without_staging():
    """Without a staging URL the smoke check leaves the score; with one it needs a report."""
    missing = assess_report("smoke", "s.json", None, head=HEAD, now=NOW, max_age_hours=24)
    assert checks.smoke(missing, staging_configured=False).status is Status.NOT_APPLICABLE
    assert checks.smoke(missing, staging_configured=True).status is Status.UNKNOWN
    assert checks.smoke(report("smoke"), staging_configured=True).status is Status.PASS


def test_disabled_checks_are_left_out_and_weights_applied():
    """all_checks honours enabled=false and per-check weights."""
    cfg = parse_config(
        {"readiness": {"checks": {"smoke": {"enabled": False}, "build": {"weight": 7}}}},
        Path("pyproject.toml"),
    ).section(ReadinessConfig)
    missing = {
        k: assess_report(k, k, None, head=HEAD, now=NOW, max_age_hours=1)
        for k in ("security", "build", "smoke", "lint")
    }
    evidence = Evidence(
        HEAD, missing, assess_history("h", None), (), None, staging_configured=False
    )
    got = {c.id: c for c in checks.all_checks(evidence, cfg)}
    assert "smoke" not in got
    assert got["build"].weight == 7
    assert got["ci-pass-rate"].status is Status.NOT_APPLICABLE
    assert ReadinessConfig().checks.ci_pass_rate.weight == 3


def test_checklist_is_byte_stable_and_diffable():
    """Rendering the same result twice gives the same bytes; a change shows as a diff."""
    result = Result(
        (check(Status.PASS, check_id="build"), check(Status.FAIL, check_id="smoke")),
        90.0,
        HEAD,
        "2026-11-26T11:00:00Z",
    )
    text = checklist.render(result)
    assert text == checklist.render(result)
    assert "- [x] **Build** (pass, weight 1)" in text
    assert "- [ ] **Smoke** (fail, weight 1)" in text
    assert "**Score: 50.0 %** (threshold 90 %): not ready" in text
    assert checklist.diff(text, text, "C.md") == ""
    other = Result(result.checks[:1], 90.0, HEAD, "2026-11-26T11:00:00Z")
    assert "-- [ ] **Smoke**" in checklist.diff(text, checklist.render(other), "C.md")


def test_cache_history_is_bounded_and_skips_repeats():
    """History keeps the newest HISTORY_LIMIT changes; a repeated result leaves it as it was."""
    state = cache.Cache()
    for i in range(cache.HISTORY_LIMIT + 5):
        result = Result((check(Status.PASS, weight=i + 1), check(Status.FAIL)), 90, HEAD, f"t{i}")
        state = cache.updated(state, result, {}, f"g{i}")
    assert len(state.history) == cache.HISTORY_LIMIT
    assert state.history[-1]["as_of"] == f"t{cache.HISTORY_LIMIT + 4}"
    again = cache.updated(state, result, {}, "later")
    assert len(again.history) == cache.HISTORY_LIMIT
    assert again.history == state.history
    assert again.history[-1]["generated_at"] == f"g{cache.HISTORY_LIMIT + 4}"


def test_cache_of_another_schema_is_set_aside(tmp_path):
    """A cache file of another version is not trusted: set aside, an empty cache returned."""
    (tmp_path / cache.CACHE_FILE).write_text(
        '{"schema": "ci-tasks/readiness-cache", "version": 99}'
    )
    assert cache.load(tmp_path, Output(stream=io.StringIO(), env={})) == cache.Cache()
    assert not (tmp_path / cache.CACHE_FILE).exists()
    assert list(tmp_path.glob(f"{cache.CACHE_FILE}.corrupt-*"))
