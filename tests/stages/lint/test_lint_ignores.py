"""A lint ignore entry clears its finding until it expires: real ruff, an injected date."""

from __future__ import annotations

import datetime as dt
import io
import json
import textwrap

import pytest

from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from ci_tasks.core.errors import CheckFailed
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.lint.session import lint
from tests.support.sample import clean_env

PYPROJECT = """\
[project]
name = "sample"
version = "0.1.0"

[tool.ruff.lint]
select = ["F"]

[tool.ci-tasks.lint]
lock-check = false
pinning = false
ignore = [
    { rule = "F401", file = "sample/*.py", reason = "adopted", until = 2027-03-03 },
]
"""


def run_lint(root, today):
    stream = io.StringIO()
    ctx = StageContext(
        name="lint",
        config=load_config(root),
        runner=Runner(env=clean_env(), cwd=root),
        output=Output(stream=stream, env={}),
        today=lambda: today,
    )
    try:
        lint(ctx)
    except CheckFailed:
        failed = True
    else:
        failed = False
    report = json.loads((root / ".ci-tasks" / "lint-report.json").read_text())
    return failed, report, stream.getvalue()


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "sample").mkdir()
    (tmp_path / "sample" / "__init__.py").write_text("import os\n")
    return tmp_path


def test_the_entry_clears_its_finding_through_its_last_day(project):
    """On the ``until`` day the unused import is ignored, reported as such, and lint passes."""
    failed, report, out = run_lint(project, dt.date(2027, 3, 3))
    assert not failed, out
    assert report["verdict"] == "passed"
    assert report["findings"] == []
    [ignored] = report["ignored"]
    assert (ignored["code"], ignored["file"], ignored["until"]) == (
        "F401",
        "sample/__init__.py",
        "2027-03-03",
    )
    assert "1 finding(s) ignored" in out


def test_the_day_after_the_finding_counts_again_and_says_why(project):
    """Expired: the finding fails lint again, with one line naming the expired entry."""
    failed, report, out = run_lint(project, dt.date(2027, 3, 4))
    assert failed
    [finding] = report["findings"]
    assert finding["code"] == "F401"
    expired = "ignore F401 in sample/*.py expired on 2027-03-03"
    assert report["notes"] == [f"{expired}; F401 in sample/__init__.py:1 counts again"]
    assert "expired on 2027-03-03" in out


def test_a_new_finding_of_another_rule_is_not_covered(project):
    """The entry names F401: an undefined name in the same file still fails."""
    (project / "sample" / "__init__.py").write_text(textwrap.dedent("import os\n\nprint(x)\n"))
    failed, report, _ = run_lint(project, dt.date(2027, 1, 1))
    assert failed
    assert [f["code"] for f in report["findings"]] == ["F821"]
