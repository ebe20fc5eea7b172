"""The same session on several OSes: its reports from every job are judged, none hidden."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from test_readiness_ci_evidence import envelope

from ci_tasks.core import reports
from ci_tasks.core.artifacts import CIFile, RunEvidence
from ci_tasks.stages.readiness.evidence import (
    Evidence,
    Report,
    load_evidence,
    with_ci,
    worst,
)

COMMIT = "c0ffee" * 6 + "abcd"
NOW = dt.datetime.now(dt.UTC)


def _job(root: Path, artifact: str, files: dict[str, str]) -> None:
    """One job's artifact as download-artifact lays it out: ``<JOBS_DIR>/<artifact>/...``."""
    for name, text in files.items():
        target = root / reports.JOBS_DIR / artifact / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _coverage(filename: str, hits: list[int]) -> str:
    lines = "".join(f'<line number="{n}" hits="{h}"/>' for n, h in enumerate(hits, 1))
    return (
        f'<coverage><packages><package><classes><class filename="{filename}">'
        f"<lines>{lines}</lines></class></classes></package></packages></coverage>"
    )


def _load(root: Path) -> Evidence:
    return load_evidence(
        root, head=COMMIT, now=NOW, max_age_hours=24, ci=None, staging_configured=False
    )


def test_a_failure_on_one_os_is_not_hidden_by_a_pass_on_another(tmp_path):
    """The lint session passed on Linux and failed on Windows: the failure counts."""
    _job(tmp_path, "ci-tasks-lint-ubuntu-latest", {"lint-report.json": envelope("lint", COMMIT)})
    failed = envelope("lint", COMMIT, verdict="failed")
    _job(tmp_path, "ci-tasks-lint-windows-latest", {"lint-report.json": failed})
    _job(tmp_path, "ci-tasks-build-macos-14", {"build-report.json": envelope("build", COMMIT)})
    evidence = _load(tmp_path)
    lint = evidence.reports["lint"]
    assert lint.verdict == "failed"
    assert lint.path == f"{reports.JOBS_DIR}/ci-tasks-lint-windows-latest/lint-report.json"
    assert evidence.reports["build"].verdict == "passed"
    assert evidence.reports["security"].problem  # no job uploaded one: still unknown


def test_each_os_tests_report_counts_and_coverage_combines_across_separators(tmp_path):
    """tests-3.11 on two OSes: both reports read; a line covered on either OS counts once."""
    for os_label, filename, hits in (
        ("ubuntu-latest", "pkg/mod.py", [1, 0, 0]),
        ("windows-latest", "pkg\\mod.py", [0, 1, 0]),
    ):
        report = envelope(
            "flaky", COMMIT, coverage_xml=".ci-tasks/tests-3.11/coverage.xml", results=[]
        )
        _job(
            tmp_path,
            f"ci-tasks-tests-3.11-{os_label}",
            {
                "tests-3.11/flaky-report.json": report,
                "tests-3.11/coverage.xml": _coverage(filename, hits),
            },
        )
    evidence = _load(tmp_path)
    assert [r.path.split("/")[2] for r in evidence.tests] == [
        "ci-tasks-tests-3.11-ubuntu-latest",
        "ci-tasks-tests-3.11-windows-latest",
    ]
    assert evidence.coverage is not None
    assert round(evidence.coverage, 1) == 66.7  # 2 of 3 lines, one file, not 2 of 6


def test_the_api_copy_of_a_run_keeps_the_worst_verdict_of_its_jobs():
    """A CI run's artifacts from several OSes: the failed copy is the run's lint verdict."""
    files = tuple(
        CIFile(
            f"ci-tasks-lint-{os_label}",
            "lint-report.json",
            envelope("lint", COMMIT, verdict=v).encode(),
        )
        for os_label, v in (
            ("ubuntu-latest", "passed"),
            ("windows-latest", "failed"),
            ("macos-latest", "passed"),
        )
    )
    run = RunEvidence(
        run_id=7, label="CI run #7", head_sha=COMMIT, artifacts=(1, 2, 3), files=files
    )
    missing = Report("lint", ".ci-tasks/lint-report.json", None, "no evidence")
    history = Report("flaky-history", "h", None, "no evidence")
    local = Evidence(COMMIT, {"lint": missing}, history, (), None, staging_configured=False)
    lint = with_ci(local, run, now=NOW, max_age_hours=24).reports["lint"]
    assert lint.verdict == "failed"
    assert lint.path == "ci-tasks-lint-windows-latest/lint-report.json"


def test_worst_prefers_usable_then_failed_then_newer():
    """Among a run's copies: a usable one over a stale one, failed over passed, then newest."""

    def copy(name: str, verdict: str, made: str, problem: str | None = None) -> Report:
        data = {"verdict": verdict, "generated_at": made}
        return Report("build", name, data, problem)

    stale_failed = copy("a", "failed", "2026-11-03T00:00:00Z", "stale")
    old_passed = copy("b", "passed", "2026-11-01T00:00:00Z")
    new_passed = copy("c", "passed", "2026-11-02T00:00:00Z")
    unverified = copy("d", "unverified", "2026-11-01T00:00:00Z")
    assert worst([stale_failed, old_passed, new_passed]).path == "c"
    assert worst([old_passed, unverified, new_passed]).path == "d"
    assert worst([stale_failed]).path == "a"
