"""An old-Python project adopts ci_tasks and every stage runs beside it, from the CI lock."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.gitsupport import git
from tests.support.localserver import serve
from tests.support.osv import osv
from tests.support.sample import REPO, clean_env, locked_nox, make_adopter

ADD_TEST = """\
from sample import add


def test_add():
    assert add(1, 2) == 3
"""


@pytest.mark.slow
def test_adopted_project_passes_lint_tests_build_and_stays_clean(tmp_path):
    """Python >= 3.9, requests==2.19.0, pytest in `tests`: no edit, then all stages run."""
    sample = make_adopter(tmp_path)
    sample.write("tests/test_add.py", ADD_TEST)
    done = sample.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    with serve(osv) as server:
        # This machine cannot reach pip-audit's service: point it at the local one.
        pyproject = sample.path / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace(
                "[tool.ci-tasks.security]\n",
                f'[tool.ci-tasks.security]\nosv-url = "{server.url}/v1/query"\n',
                1,
            )
        )
        git(sample.path, "add", "-A")
        git(sample.path, "commit", "-qm", "Adopt ci-tasks")
        for session in ("lint", "tests-3.11", "build"):
            run = locked_nox(sample, "-s", session)
            assert run.returncode == 0, f"{session}:\n{run.stdout}"
        audited = locked_nox(sample, "-s", "security")
    assert audited.returncode == 1, audited.stdout
    assert "CVE-2018-18074" in audited.stdout or "GHSA-x84v-xcm2-53pg" in audited.stdout
    assert git(sample.path, "status", "--porcelain") == ""
    check = subprocess.run(
        ["uv", "lock", "--check"],
        cwd=sample.path,
        env=clean_env(),
        capture_output=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
