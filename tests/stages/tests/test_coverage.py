"""`coverage = "auto"`: on where the project measures coverage, off where it does not."""

from __future__ import annotations

import tomllib

import pytest

from ci_tasks.core.config import parse_config
from ci_tasks.stages.tests import coverage

BASE = '[project]\nname = "p"\nversion = "1"\n'


def _config(tmp_path, section=""):
    data = tomllib.loads(f"[tests]\n{section}\n")
    return parse_config(data, tmp_path / "pyproject.toml").tests


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
