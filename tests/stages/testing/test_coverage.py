"""`coverage = "auto"`: on where the project measures coverage, off where it does not."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

from ci_tasks.core.config import parse_config
from ci_tasks.core.stage import write_stage_report
from ci_tasks.stages.readiness import checks, evidence
from ci_tasks.stages.readiness.model import Status
from ci_tasks.stages.testing import coverage
from ci_tasks.stages.testing.config import TestsConfig

BASE = '[project]\nname = "p"\nversion = "1"\n'


def _config(tmp_path, section=""):
    data = tomllib.loads(f"[tests]\n{section}\n")
    return parse_config(data, tmp_path / "pyproject.toml").section(TestsConfig)


@pytest.mark.parametrize(
    ("files", "section", "on", "said"),
    [
        ({}, "", False, "auto: off, the project measures no coverage"),
        ({}, "fail-under = 85", True, "auto: on, [tool.ci-tasks.tests] fail-under = 85"),
        ({}, "coverage = true", True, "coverage = true"),
        (
            {"pyproject.toml": BASE + "[tool.coverage.report]\nfail_under = 100\n"},
            "coverage = false",
            False,
            "coverage = false",
        ),
        (
            {"pyproject.toml": BASE + "[tool.coverage.report]\nfail_under = 0\n"},
            "",
            False,  # a floor of 0 is no floor
            "auto: off",
        ),
        (
            {"setup.cfg": "[coverage:report]\nfail_under = 97\n"},
            "",
            True,
            "auto: on, fail_under = 97 in setup.cfg [coverage:report]",
        ),
        (
            {"pyproject.toml": BASE + '[tool.pytest.ini_options]\naddopts = ["--cov", "-q"]\n'},
            "",
            True,
            "auto: on, --cov in pytest's addopts",
        ),
        (
            {"pyproject.toml": BASE + '[project.optional-dependencies]\ntest = ["pytest-cov"]\n'},
            "",
            True,
            "auto: on, pytest-cov in extra 'test'",
        ),
        (
            {"pyproject.toml": BASE + '[dependency-groups]\ntests = ["pytest", "coverage"]\n'},
            "",
            True,
            "auto: on, coverage in dependency group 'tests'",
        ),
        (
            {"noxfile.py": 'session.run("python", "-m", "coverage", "run", "-m", "pytest")\n'},
            "",
            True,  # a noxfile's arguments spell the command too
            "auto: on, noxfile.py runs '-m coverage'",
        ),
        (
            {"noxfile.py": 'session.run("coverage", "run", "-m", "pytest")\n'},
            "",
            True,
            "auto: on, noxfile.py runs 'coverage run'",
        ),
        (
            {"noxfile.py": 'session.run("pytest", "--cov=pkg")\n'},
            "",
            True,
            "auto: on, noxfile.py runs '--cov'",
        ),
        (
            {".github/workflows/ci.yml": "- name: Keep the coverage report\n"},
            "",
            False,  # prose in a step name is not a command
            "auto: off",
        ),
        (
            {".github/workflows/t.yaml": "    run: python -m coverage run -m pytest\n"},
            "",
            True,
            "auto: on, .github/workflows/t.yaml runs '-m coverage'",
        ),
    ],
)
def test_auto_coverage_follows_the_projects_own_evidence(tmp_path, files, section, on, said):
    """Each kind of evidence turns `auto` on and is named; none leaves it off; true/false win."""
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    decision = coverage.decide(tmp_path, _config(tmp_path, section))
    assert decision.on is on
    assert said in decision.reason


def _cobertura(hits: dict[int, int]) -> str:
    lines = "".join(f'<line number="{n}" hits="{h}"/>' for n, h in hits.items())
    return (
        '<?xml version="1.0" ?><coverage line-rate="0"><packages><package name="p"><classes>'
        f'<class name="m.py" filename="p/m.py"><lines>{lines}</lines></class>'
        "</classes></package></packages></coverage>"
    )


def test_the_floor_is_judged_on_every_tests_job_combined(tmp_path):
    """Two jobs each under the floor of 100 % cover every line together: the gate passes."""
    now = dt.datetime.now(dt.UTC)
    jobs = {"tests-3.11": {1: 1, 2: 1, 3: 0}, "tests-3.13": {1: 1, 2: 0, 3: 1}}
    for session, hits in jobs.items():
        folder = tmp_path / ".ci-tasks" / session
        folder.mkdir(parents=True)
        (folder / "coverage.xml").write_text(_cobertura(hits))
        floor = {"fail_under": 100.0, "source": "the project's fail_under"}
        body = {"session": session, "coverage_xml": f".ci-tasks/{session}/coverage.xml"}
        write_stage_report(
            tmp_path,
            "tests",
            verdict="passed",
            body={**body, "coverage": 66.7, "coverage_floor": floor, "slow": []},
            path=folder / "flaky-report.json",
        )
    found = evidence.load_evidence(
        tmp_path, head=None, now=now, max_age_hours=24, ci=None, staging_configured=False
    )
    check = checks.coverage_floor(found.tests, found.coverage)
    assert check.status is Status.PASS, check.summary
    assert "coverage 100.0 % over 2 tests session(s) combined (floor 100 %" in check.summary
    alone = checks.coverage_floor(
        found.tests[:1], evidence.combined_coverage([_cobertura({1: 1, 2: 1, 3: 0})])
    )
    assert alone.status is Status.FAIL
    assert "lower the project's fail_under (now 100 %)" in alone.remediation
    assert checks.coverage_floor([], None).status is Status.NOT_APPLICABLE
