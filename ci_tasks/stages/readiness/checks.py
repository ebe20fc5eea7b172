"""The default readiness checks: each a pure function from evidence to a :class:`Check`.

Default thresholds are the seed's targets: CI pass rate >= 85 %, median CI duration
<= 7 min, flaky rate < 5 %. The flaky rate is the share of test executions, over the
last ``runs`` entries of the flaky history, that failed and were rescued by a rerun:
``sum(rescued) / sum(tests)``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ci_tasks.stages.readiness import cienv
from ci_tasks.stages.readiness.config import ReadinessConfig
from ci_tasks.stages.readiness.evidence import (
    IGNORED_CONCLUSIONS,
    CIRuns,
    Evidence,
    Report,
    WorkflowFile,
)
from ci_tasks.stages.readiness.model import Check, Status

DEFAULT_PASS_RATE = 85.0
DEFAULT_DURATION_MINUTES = 7.0
DEFAULT_FLAKY_RATE = 5.0
DEPENDENCY_RULES = frozenset({"stale-lock", "unpinned-dev-tool", "unhashed-pip-install"})
ACTION_RULES = frozenset({"unpinned-action"})

OFFLINE = "not checked: --offline (needs the GitHub API)"
# The stage whose report is a check's only evidence: when the project's own session runs
# in that stage's place, nothing writes the report and the check does not apply.
EVIDENCE_STAGE: Mapping[str, str] = {
    "flaky_tests": "tests",
    "slow_tests": "tests",
    "security": "security",
    "dependencies": "lint",
    "build": "build",
    "smoke": "smoke",
}
_Maker = Callable[[], Check]


def replaced(check: Check, stage: str, by: str) -> Check:
    """*check* as not applicable: *by* (the project's own session) runs in *stage*'s place."""
    return Check(
        check.id,
        check.title,
        Status.NOT_APPLICABLE,
        f"{stage}: {by} runs in its place; its CI job's result counts in the CI pass rate",
        weight=check.weight,
    )


def _unknown(check_id: str, title: str, report: Report, remediation: str) -> Check:
    return Check(
        check_id,
        title,
        Status.UNKNOWN,
        report.problem or "no evidence",
        remediation=remediation,
        source=report.path,
        origin=report.origin,
    )


def _judged(
    check_id: str,
    title: str,
    report: Report,
    *,
    ok: bool,
    summary: str,
    fix: str,
    evidence: Sequence[str] = (),
) -> Check:
    """A pass or a fail judged on *report*, citing it as the source."""
    return Check(
        check_id,
        title,
        Status.PASS if ok else Status.FAIL,
        summary,
        evidence=tuple(evidence),
        remediation=fix,
        source=report.path,
        origin=report.origin,
    )


def _counted(ci: CIRuns, runs: int) -> list[Any]:
    return [r for r in ci.runs if r.conclusion not in IGNORED_CONCLUSIONS][:runs]


def ci_pass_rate(ci: CIRuns | None, *, runs: int, threshold: float | None) -> Check:
    """Share of the last *runs* completed CI runs that succeeded."""
    title, target = "CI pass rate", DEFAULT_PASS_RATE if threshold is None else threshold
    fix = f"make the CI workflow pass reliably on the default branch (target >= {target:g} %)"
    if ci is None:
        return Check("ci-pass-rate", title, Status.NOT_APPLICABLE, OFFLINE)
    source = f"GitHub API: {ci.repository} {ci.workflow} on {ci.branch}"
    counted = _counted(ci, runs)
    if not counted:
        return Check(
            "ci-pass-rate",
            title,
            Status.UNKNOWN,
            "no completed runs",
            remediation=fix,
            source=source,
        )
    good = sum(1 for r in counted if r.conclusion == "success")
    rate = 100.0 * good / len(counted)
    status = Status.PASS if rate >= target else Status.FAIL
    bad = [
        f"run {r.id}: {r.conclusion} (attempt {r.run_attempt})"
        for r in counted
        if r.conclusion != "success"
    ]
    return Check(
        "ci-pass-rate",
        title,
        status,
        f"{good}/{len(counted)} runs succeeded ({rate:.0f} %, target >= {target:g} %)",
        evidence=tuple(bad),
        remediation=fix,
        source=source,
    )


def ci_duration(ci: CIRuns | None, *, runs: int, threshold: float | None) -> Check:
    """Median duration of the last *runs* completed CI runs."""
    title = "CI duration"
    target = DEFAULT_DURATION_MINUTES if threshold is None else threshold
    fix = f"speed up the slowest CI jobs (target: median <= {target:g} min)"
    if ci is None:
        return Check("ci-duration", title, Status.NOT_APPLICABLE, OFFLINE)
    source = f"GitHub API: {ci.repository} {ci.workflow} on {ci.branch}"
    durations = [d for r in _counted(ci, runs) if (d := r.duration) is not None]
    if not durations:
        return Check(
            "ci-duration",
            title,
            Status.UNKNOWN,
            "no completed runs with timings",
            remediation=fix,
            source=source,
        )
    median = statistics.median(durations) / 60
    status = Status.PASS if median <= target else Status.FAIL
    return Check(
        "ci-duration",
        title,
        status,
        f"median {median:.1f} min over {len(durations)} runs (target <= {target:g} min)",
        evidence=(f"longest {max(durations) / 60:.1f} min",),
        remediation=fix,
        source=source,
    )


def flaky_tests(history: Report, *, runs: int, threshold: float | None) -> Check:
    """Share of test executions rescued by reruns over the last *runs* test runs."""
    title = "Flaky tests"
    target = DEFAULT_FLAKY_RATE if threshold is None else threshold
    fix = "fix or quarantine the tests the flaky history lists"
    if history.data is None or history.problem:
        return _unknown("flaky-tests", title, history, "run the tests session to record history")
    entries = [e for e in history.data["runs"] if isinstance(e, dict)][-runs:]
    tests = sum(int(e.get("tests") or 0) for e in entries)
    rescued = sum(int(e.get("rescued") or 0) for e in entries)
    if tests <= 0:
        return Check(
            "flaky-tests",
            title,
            Status.UNKNOWN,
            "the flaky history records no test runs",
            remediation=fix,
            source=history.path,
            origin=history.origin,
        )
    rate = 100.0 * rescued / tests
    names = sorted({str(n) for e in entries for n in e.get("flaky") or ()})
    return _judged(
        "flaky-tests",
        title,
        history,
        ok=rate < target,
        summary=f"{rescued}/{tests} test executions rescued by reruns over {len(entries)} runs "
        f"({rate:.1f} %, target < {target:g} %)",
        fix=fix,
        evidence=[f"flaky: {n}" for n in names],
    )


def slow_tests(reports: Sequence[Report], coverage: float | None = None) -> Check:
    """No test much slower than its recorded median in any tests session's report.

    Without any tests report the check does not apply: the flaky-tests check already
    fails closed when no test run was recorded.
    """
    title, fix = "Slow tests", "find out why the listed tests got slower, or speed them up"
    usable = [r for r in reports if r.data is not None and not r.problem]
    shown = () if coverage is None else (f"coverage {coverage:.1f} % (all sessions combined)",)
    if not usable:
        problems = "; ".join(r.problem or "" for r in reports) or "no tests session report"
        return Check("slow-tests", title, Status.NOT_APPLICABLE, problems, evidence=shown)
    slow = sorted(
        {
            f"{s.get('nodeid')}: {float(s.get('seconds') or 0):.2f} s, median "
            f"{float(s.get('median') or 0):.2f} s ({r.data.get('session', r.kind)})"
            for r in usable
            if r.data is not None
            for s in r.data.get("slow") or ()
            if isinstance(s, dict)
        }
    )
    sessions = len(usable)
    return Check(
        "slow-tests",
        title,
        Status.FAIL if slow else Status.PASS,
        f"{len(slow)} test(s) much slower than their recorded median in {sessions} session(s)",
        evidence=(*shown, *(f"slower: {s}" for s in slow)),
        remediation=fix,
        source=", ".join(r.path for r in usable),
    )


def security(report: Report) -> Check:
    """No unignored finding, nothing skipped, verdict passed."""
    title, fix = "Security", "run the security session and fix or ignore (with a reason) findings"
    if report.data is None or report.problem:
        return _unknown("security", title, report, fix)
    findings = [f for f in report.data.get("findings") or () if isinstance(f, dict)]
    open_ = [f for f in findings if not f.get("ignored")]
    skipped = int(report.data.get("skipped") or 0)
    ok = report.verdict == "passed" and not open_ and skipped == 0
    shown = [
        " ".join(str(f.get(k, "")) for k in ("tool", "id", "package", "file") if f.get(k))
        for f in open_
    ]
    summary = f"verdict {report.verdict}, {len(open_)} unignored findings, {skipped} not audited"
    return _judged("security", title, report, ok=ok, summary=summary, fix=fix, evidence=shown)


def _rule_findings(report: Report, rules: frozenset[str]) -> list[Mapping[str, Any]]:
    data = report.data or {}
    return [f for f in data.get("findings") or () if isinstance(f, dict) and f.get("rule") in rules]


def _where(finding: Mapping[str, Any]) -> str:
    place = f"{finding.get('file', '')}:{finding.get('line', '')}".strip(":")
    return f"{finding.get('rule')}: {place} {finding.get('message', '')}".strip()


def dependencies(lint: Report) -> Check:
    """Lock current and every tool pinned: zero drift."""
    title, fix = "Dependencies", "run `uv lock` and pin dev tools and pip installs exactly"
    if lint.data is None or lint.problem:
        return _unknown("dependencies", title, lint, "run the lint session")
    lock_current = lint.data.get("lock_current") is True
    drift = _rule_findings(lint, DEPENDENCY_RULES)
    ok = lock_current and not drift
    summary = f"lock {'current' if lock_current else 'NOT current'}, {len(drift)} pinning findings"
    evidence = [_where(f) for f in drift]
    return _judged("dependencies", title, lint, ok=ok, summary=summary, fix=fix, evidence=evidence)


def _workflow_problems(workflow: WorkflowFile) -> list[str]:
    if workflow.data is None:
        return [f"{workflow.path}: {workflow.error}"]
    data, problems = workflow.data, []
    if "concurrency" not in data:
        problems.append(f"{workflow.path}: no concurrency (superseded runs keep running)")
    raw_jobs = data.get("jobs")
    jobs: Mapping[str, Any] = raw_jobs if isinstance(raw_jobs, dict) else {}
    top_permissions = "permissions" in data
    for name, job in sorted(jobs.items(), key=lambda item: str(item[0])):
        if not isinstance(job, dict):
            continue
        # A job calling a reusable workflow cannot set timeout-minutes; the callee does.
        if "uses" not in job and "timeout-minutes" not in job:
            problems.append(f"{workflow.path}: job {name} has no timeout-minutes")
        if not top_permissions and "permissions" not in job:
            problems.append(f"{workflow.path}: job {name} has no declared permissions")
    return problems


def workflows(
    files: tuple[WorkflowFile, ...], lint: Report, lint_replaced_by: str | None = None
) -> Check:
    """Concurrency, timeout-minutes on every job, declared permissions, SHA-pinned actions.

    SHA pinning comes from the lint report; with *lint_replaced_by* (the project's own
    session runs in lint's place) the rest is judged and the summary says pinning was not.
    """
    title = "Workflows"
    fix = "add concurrency, timeout-minutes and permissions; pin actions to commit SHAs"
    if not files:
        return Check(
            "workflows",
            title,
            Status.UNKNOWN,
            "no workflow files in .github/workflows",
            remediation=fix,
            source=".github/workflows",
        )
    problems = [p for f in files for p in _workflow_problems(f)]
    if lint_replaced_by is not None:
        return Check(
            "workflows",
            title,
            Status.FAIL if problems else Status.PASS,
            f"{len(files)} workflows, {len(problems)} problems (SHA pinning not checked: "
            f"{lint_replaced_by} runs in lint's place)",
            evidence=tuple(problems),
            remediation=fix,
            source=".github/workflows",
        )
    if lint.data is None or lint.problem:
        return Check(
            "workflows",
            title,
            Status.UNKNOWN,
            f"SHA pinning unknown ({lint.problem}); {len(problems)} other problems",
            evidence=tuple(problems),
            remediation=fix,
            source=".github/workflows",
        )
    unpinned = [_where(f) for f in _rule_findings(lint, ACTION_RULES)]
    problems += unpinned
    return Check(
        "workflows",
        title,
        Status.FAIL if problems else Status.PASS,
        f"{len(files)} workflows, {len(problems)} problems",
        evidence=tuple(problems),
        remediation=fix,
        source=f".github/workflows, {lint.path}",
        origin=lint.origin,
    )


def _verdict_check(check_id: str, title: str, report: Report, fix: str) -> Check:
    if report.data is None or report.problem:
        return _unknown(check_id, title, report, fix)
    ok = report.verdict == "passed"
    return _judged(check_id, title, report, ok=ok, summary=f"verdict {report.verdict}", fix=fix)


def build(report: Report) -> Check:
    """The build report passed."""
    return _verdict_check("build", "Build", report, "run the build session and fix what it finds")


def smoke(report: Report, *, staging_configured: bool) -> Check:
    """The smoke report passed; not applicable without a staging URL."""
    if not staging_configured:
        return Check(
            "smoke",
            "Smoke test",
            Status.NOT_APPLICABLE,
            "no staging URL configured (STAGING_URL)",
        )
    return _verdict_check(
        "smoke", "Smoke test", report, "run the smoke session against the staging URL"
    )


def coverage_floor(
    reports: Sequence[Report], combined: float | None, threshold: float | None = None
) -> Check:
    """The coverage floor the tests sessions report, judged on their data combined.

    Code that runs only on some Pythons (or some OSes) can reach a floor only combined,
    so in CI the tests jobs leave the floor to this check. Not applicable when no tests
    session measured coverage under a floor.
    """
    title = "Coverage floor"
    usable = [r for r in reports if r.data is not None and not r.problem]
    floors = [
        (float(f["fail_under"]), str(f.get("source") or "fail_under"))
        for r in usable
        if r.data is not None and isinstance(f := r.data.get("coverage_floor"), dict)
        if isinstance(f.get("fail_under"), int | float)
    ]
    if threshold is not None:
        floors = [(threshold, "[tool.ci-tasks.readiness.checks.coverage] threshold")]
    if not floors:
        return Check("coverage", title, Status.NOT_APPLICABLE, "no tests session has a floor")
    floor, source = max(floors)
    fix = f"cover the lines the report lists, or lower {source} (now {floor:g} %)"
    if combined is None:
        return Check(
            "coverage", title, Status.UNKNOWN, "no coverage.xml to combine", remediation=fix
        )
    # A line-by-line union of the jobs' coverage.xml: 100 means every line, as coverage has it.
    under = combined < floor if floor >= 100 else round(combined, 1) < floor  # noqa: PLR2004
    return Check(
        "coverage",
        title,
        Status.FAIL if under else Status.PASS,
        f"coverage {combined:.1f} % over {len(usable)} tests session(s) combined "
        f"(floor {floor:g} %, {source})",
        remediation=fix if under else "",
    )


def _makers(evidence: Evidence, config: ReadinessConfig, now: dt.datetime) -> dict[str, _Maker]:
    """Each check by its key in :class:`ReadinessChecksConfig`, made only when called."""
    cfg, reports = config.checks, evidence.reports
    return {
        "ci_pass_rate": lambda: ci_pass_rate(
            evidence.ci, runs=config.runs, threshold=cfg.ci_pass_rate.threshold
        ),
        "ci_duration": lambda: ci_duration(
            evidence.ci, runs=config.runs, threshold=cfg.ci_duration.threshold
        ),
        "flaky_tests": lambda: flaky_tests(
            evidence.flaky, runs=config.runs, threshold=cfg.flaky_tests.threshold
        ),
        "slow_tests": lambda: slow_tests(evidence.tests, evidence.coverage),
        "coverage": lambda: coverage_floor(
            evidence.tests, evidence.coverage, cfg.coverage.threshold
        ),
        "security": lambda: security(reports["security"]),
        "dependencies": lambda: dependencies(reports["lint"]),
        "workflows": lambda: workflows(
            evidence.workflows, reports["lint"], evidence.replaced.get("lint")
        ),
        "build": lambda: build(reports["build"]),
        "smoke": lambda: smoke(reports["smoke"], staging_configured=evidence.staging_configured),
        "ci_environment": lambda: cienv.check(
            evidence.ci_environment, max_age_days=config.ci_lock_max_age_days, now=now
        ),
    }


def all_checks(
    evidence: Evidence, config: ReadinessConfig, now: dt.datetime | None = None
) -> tuple[Check, ...]:
    """Every enabled check, weighted as configured, exemptions applied by the caller.

    *now* dates the CI lock's update pull request (default: the wall clock).
    """
    checks = []
    for key, make in _makers(evidence, config, now or dt.datetime.now(dt.UTC)).items():
        settings = config.checks.of(key)
        if not settings.enabled:
            continue
        check = make().with_weight(settings.weight)
        stage = EVIDENCE_STAGE.get(key)
        if stage is not None and stage in evidence.replaced:
            check = replaced(check, stage, evidence.replaced[stage])
        checks.append(check)
    return tuple(checks)
