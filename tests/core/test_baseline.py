"""``ci-tasks baseline``: today's ruff, bandit and zizmor findings become dated entries."""

from __future__ import annotations

import datetime as dt
import io
import tomllib

import pytest

from ci_tasks.core import ignores
from ci_tasks.core.actions import Output
from ci_tasks.core.baseline import Entry, add_entries, new_entries
from ci_tasks.core.config import load_config, parse_config
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.lint.session import lint
from ci_tasks.stages.readiness import cache, checklist
from ci_tasks.stages.readiness.model import Result
from ci_tasks.stages.readiness.session import accepted
from tests.support.sample import Project, clean_env

PYPROJECT = """\
[project]
name = "sample"  # keep this comment
version = "0.1.0"

[tool.ruff.lint]
select = ["F", "S"]

[tool.ci-tasks.lint]
lock-check = false

[[tool.ci-tasks.security.ignore]]
id = "B105"
reason = "a constant, not a password"
until = 2030-01-01
"""
SOURCE = """\
import hashlib
import os


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()
"""
OLD_WORKFLOW = """\
name: old
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python -m pip install --upgrade pip
"""


@pytest.fixture
def sample(tmp_path):
    project = Project(tmp_path)
    project.write("pyproject.toml", PYPROJECT)
    project.write("sample/__init__.py", SOURCE)
    project.write(".github/workflows/old.yml", OLD_WORKFLOW)
    return project


def _keys(table, stage):
    section = table["tool"]["ci-tasks"][stage]["ignore"]
    return {(e.get("rule") or e.get("id"), e.get("file")) for e in section}


def test_baseline_writes_each_finding_once_and_lint_then_passes(sample):
    """ruff, pinning, bandit and zizmor findings become entries; a second run adds none."""
    first = sample.ci_tasks("baseline")
    assert first.returncode == 0, first.stdout + first.stderr
    text = (sample.path / "pyproject.toml").read_text()
    assert '[project]\nname = "sample"  # keep this comment\n' in text
    assert text.count("[[tool.ci-tasks.security.ignore]]") >= 3  # its own form is kept
    table = tomllib.loads(text)
    old = ".github/workflows/old.yml"
    assert _keys(table, "lint") == {
        ("F401", "sample/__init__.py"),
        ("S324", "sample/__init__.py"),
        ("unpinned-action", old),
        ("unhashed-pip-install", old),
    }
    assert _keys(table, "security") >= {
        ("B105", None),
        ("B324", "sample/__init__.py"),
        ("unpinned-uses", old),
    }
    until = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=90)
    entry = table["tool"]["ci-tasks"]["lint"]["ignore"][0]
    assert (entry["reason"], entry["until"]) == ("present when ci_tasks was adopted", until)
    assert "lint: F401 in sample/__init__.py:2 until" in first.stdout

    second = sample.ci_tasks("baseline")
    assert second.returncode == 0, second.stderr
    assert "nothing added" in second.stdout
    assert (sample.path / "pyproject.toml").read_text() == text

    ctx = StageContext(
        name="lint",
        config=load_config(sample.path),
        runner=Runner(env=clean_env(), cwd=sample.path),
        output=Output(stream=io.StringIO(), env={}),
    )
    lint(ctx)  # raises CheckFailed if any finding was left out


def test_an_expired_entry_is_not_renewed(tmp_path):
    """A finding whose entry expired is not written again: renewing is a person's decision."""
    config = parse_config(
        {"lint": {"ignore": [{"rule": "F401", "reason": "r", "until": "2020-01-01"}]}},
        tmp_path / "pyproject.toml",
    )
    found = [
        ignores.Candidate("lint", "F401", "a.py", "unused"),
        ignores.Candidate("lint", "F821", "a.py", "undefined"),
        ignores.Candidate("lint", "F821", "a.py", "undefined again"),
    ]
    added = new_entries(found, config, dt.date(2026, 1, 1))
    assert [(e.key, e.until) for e in added] == [("F821", dt.date(2026, 4, 1))]


def test_a_new_section_is_made_and_inline_arrays_are_extended(tmp_path):
    """No [tool.ci-tasks] yet: the entries get a section of their own, with rule and file."""
    text = '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 99\n'
    config = parse_config({}, tmp_path / "pyproject.toml")
    new = add_entries(
        text, [Entry("lint", "E501", "x.py", dt.date(2027, 1, 1), "too long")], config
    )
    assert new.startswith(text)
    assert tomllib.loads(new)["tool"]["ci-tasks"]["lint"]["ignore"] == [
        {
            "rule": "E501",
            "file": "x.py",
            "reason": "present when ci_tasks was adopted",
            "until": dt.date(2027, 1, 1),
        }
    ]


def test_readiness_lists_the_entries_and_flags_the_expired(tmp_path):
    """The checklist and the cache list every entry with its expiry; expired ones first."""
    config = parse_config(
        {
            "lint": {
                "ignore": [{"rule": "F401", "file": "a.py", "reason": "r1", "until": "2027-03-03"}]
            },
            "security": {"ignore": [{"id": "B324", "reason": "r2", "until": "2026-01-01"}]},
        },
        tmp_path / "pyproject.toml",
    )
    entries = accepted(config.sections, dt.date(2026, 6, 1))
    result = Result(checks=(), threshold=90, commit="abc", as_of="now", accepted=entries)
    text = checklist.render(result)
    assert (
        "## Accepted findings (2)\n\n**1 expired**: those findings count again; fix them." in text
    )
    assert text.index("- [ ] security: B324 (**expired 2026-01-01**): r2") < text.index(
        "- [ ] lint: F401 in a.py (until 2027-03-03): r1"
    )
    assert cache.result_record(result)["accepted"] == [
        {
            "stage": "lint",
            "what": "F401 in a.py",
            "reason": "r1",
            "until": "2027-03-03",
            "expired": False,
        },
        {
            "stage": "security",
            "what": "B324",
            "reason": "r2",
            "until": "2026-01-01",
            "expired": True,
        },
    ]
    assert "accepted findings: 2 ignore entries (1 expired; the first ends 2026-01-01)" in (
        checklist.breakdown(result)
    )


def test_a_scan_that_could_not_look_writes_nothing(sample):
    """A bandit path that is not there: exit 2 naming it, and pyproject.toml as it was."""
    pyproject = sample.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.ci-tasks.lint]",
            '[tool.ci-tasks.security]\npaths = ["nowhere"]\n\n[tool.ci-tasks.lint]',
        )
    )
    before = pyproject.read_text()
    done = sample.ci_tasks("baseline")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot take a security baseline: bandit" in done.stderr
    assert pyproject.read_text() == before


def test_own_policy_tells_ci_tasks_checks_from_the_projects_tools(tmp_path):
    """Pinning and zizmor are ci_tasks' own; ruff and mypy the project's; bandit once configured."""
    from ci_tasks.core.baseline import own_policy  # noqa: PLC0415

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')

    def candidate(stage, check):
        return ignores.Candidate(stage, "k", "f", "w", 1, check)

    assert own_policy(candidate("lint", "unhashed-pip-install"), tmp_path)
    assert own_policy(candidate("security", "zizmor"), tmp_path)
    assert own_policy(candidate("security", "bandit"), tmp_path)
    assert not own_policy(candidate("lint", "ruff"), tmp_path)
    assert not own_policy(candidate("lint", "mypy"), tmp_path)
    assert not own_policy(candidate("lint", ""), tmp_path)  # cannot tell: never accepted
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.bandit]\n')
    assert not own_policy(candidate("security", "bandit"), tmp_path)
