"""A ruff pinned only in ``.pre-commit-config.yaml`` is the ruff lint runs, from the CI lock."""

from __future__ import annotations

import json

import pytest

from tests.support.gitsupport import git
from tests.support.sample import REPO, locked_nox, make_adopter

# No group lists ruff: the pre-commit hook's rev is the project's only pin of it.
PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample"
version = "0.1.0"
requires-python = ">=3.11"

[dependency-groups]
tests = ["pytest>=8"]
"""

PRE_COMMIT = """\
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: {rev}
    hooks:
      - id: ruff
      - id: ruff-format
"""


def _tools(sample) -> dict[str, dict[str, str]]:
    report = json.loads((sample.path / ".ci-tasks" / "lint-report.json").read_text())
    return report["tools"]


@pytest.mark.slow
def test_pre_commit_ruff_runs_and_a_bumped_rev_is_reported_until_locked(tmp_path):
    """Rev v0.15.15 means ruff 0.15.15 runs; a bumped rev is one tool-drift line naming the fix."""
    sample = make_adopter(tmp_path, PYPROJECT)
    sample.write(".pre-commit-config.yaml", PRE_COMMIT.format(rev="v0.15.15"))
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "pre-commit")
    done = sample.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        '"ruff==0.15.15",  # pinned in .pre-commit-config.yaml'
        in (sample.path / "noxfile.py").read_text()
    )
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "Adopt ci-tasks")

    first = locked_nox(sample, "-s", "lint")
    assert first.returncode == 0, first.stdout
    assert _tools(sample)["ruff"] == {
        "version": "0.15.15",
        "pinned_in": ".pre-commit-config.yaml",
        "source": "the CI environment's, pinned in .pre-commit-config.yaml (0.15.15)",
    }

    sample.write(".pre-commit-config.yaml", PRE_COMMIT.format(rev="v0.15.16"))
    drifted = locked_nox(sample, "-s", "lint")
    assert drifted.returncode == 1, drifted.stdout
    [line] = [x for x in drifted.stdout.splitlines() if "pins ruff 0.15.16" in x]
    assert "the CI environment has 0.15.15; run `ci-tasks lock`" in line

    assert sample.ci_tasks("lock", "--check").returncode == 1
    relocked = sample.ci_tasks("lock")
    assert relocked.returncode == 0, relocked.stdout + relocked.stderr
    assert "ruff 0.15.15 -> 0.15.16" in relocked.stdout
    assert sample.ci_tasks("lock", "--check").returncode == 0
    again = locked_nox(sample, "-s", "lint")
    assert again.returncode == 0, again.stdout
    assert _tools(sample)["ruff"]["version"] == "0.15.16"


MYPY_PRE_COMMIT = """\
repos:
  - repo: https://github.com/pre-commit/mirrors-mypy
    rev: v1.11.2
    hooks:
      - id: mypy
        files: ^sample/
        additional_dependencies: [{extras}]
"""
USES_SIMPLEJSON = '''\
"""A sample package."""

import simplejson


def dump(value: int) -> str:
    """*value* as JSON."""
    return simplejson.dumps(value)
'''


@pytest.mark.slow
def test_pre_commit_mypy_runs_with_its_additional_dependencies(tmp_path):
    """mirrors-mypy v1.11.2 sees the hook's stubs, as pre-commit would; without them it fails."""
    config = '\n[tool.mypy]\nstrict = true\nfiles = ["sample"]\n'
    sample = make_adopter(tmp_path, PYPROJECT + config)
    sample.write("sample/__init__.py", USES_SIMPLEJSON)
    sample.write(".pre-commit-config.yaml", MYPY_PRE_COMMIT.format(extras="types-simplejson"))
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "pre-commit")
    done = sample.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    # mypy = "auto": the project's mypy hook is what turns mypy on.
    assert 'mypy = "auto"' in (sample.path / "pyproject.toml").read_text()
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "Adopt ci-tasks")
    run = locked_nox(sample, "-s", "lint")
    assert run.returncode == 0, run.stdout
    assert _tools(sample)["mypy"]["version"] == "1.11.2"

    sample.write(".pre-commit-config.yaml", MYPY_PRE_COMMIT.format(extras=""))
    relocked = sample.ci_tasks("lock")
    assert "- types-simplejson" in relocked.stdout, relocked.stdout + relocked.stderr
    without = locked_nox(sample, "-s", "lint")
    assert without.returncode == 1, without.stdout
    report = json.loads((sample.path / ".ci-tasks" / "lint-report.json").read_text())
    # pre-commit's environment holds mypy and the hook's extras only: without the stubs,
    # mypy says they are not installed (even with mirrors-mypy's --ignore-missing-imports).
    assert "import-untyped" in [f["code"] for f in report["findings"]]


@pytest.mark.slow
def test_a_lock_stale_only_in_ci_tasks_own_requirements_is_updated_and_said_so(tmp_path):
    """ci-tasks' requirements moved, no version did: the lock is rewritten, and says which."""
    sample = make_adopter(tmp_path, PYPROJECT)
    done = sample.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    lock = sample.path / "noxfile.py.lock"
    text = lock.read_text()
    line = '    { name = "nox", specifier = ">=2025.2.9" },\n'  # in ci-tasks' requires-dist
    assert text.count(line) == 1
    lock.write_text(text.replace(line, ""))
    assert sample.ci_tasks("lock", "--check").returncode == 1
    relocked = sample.ci_tasks("lock")
    assert relocked.returncode == 0, relocked.stdout + relocked.stderr
    assert "noxfile.py.lock: updated, no version changed" in relocked.stdout
    assert lock.read_text() == text
    unchanged = sample.ci_tasks("lock")
    assert "noxfile.py.lock: unchanged" in unchanged.stdout


BLACK_PRE_COMMIT = """\
repos:
  - repo: https://github.com/psf/black-pre-commit-mirror
    rev: 24.8.0
    hooks:
      - id: black
        files: ^sample/
"""


@pytest.mark.slow
def test_a_pre_commit_black_runs_at_its_rev_over_its_files_from_the_ci_lock(tmp_path):
    """Black's hook at 24.8.0: init adds black==24.8.0 to the CI env; bench/ is not its gate."""
    sample = make_adopter(tmp_path, PYPROJECT)
    sample.write(".pre-commit-config.yaml", BLACK_PRE_COMMIT)
    sample.write("bench/slow.py", "x  =  1\n")
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "pre-commit")
    done = sample.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        '"black==24.8.0",  # pinned in .pre-commit-config.yaml'
        in (sample.path / "noxfile.py").read_text()
    )
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "Adopt ci-tasks")
    first = locked_nox(sample, "-s", "lint")
    assert first.returncode == 0, first.stdout
    # init wrote the formatter down; the hook's `files` still decide what is its gate.
    assert (
        "black --check: . (pyproject.toml [tool.ci-tasks.lint] formatter; pre-commit hook 'black')"
        in first.stdout
    )
    assert _tools(sample)["black"] == {
        "version": "24.8.0",
        "pinned_in": ".pre-commit-config.yaml",
        "source": "the CI environment's, pinned in .pre-commit-config.yaml (24.8.0)",
    }
    sample.write("sample/new.py", "y  =  2\n")
    second = locked_nox(sample, "-s", "lint")
    assert second.returncode == 1, second.stdout
    report = json.loads((sample.path / ".ci-tasks" / "lint-report.json").read_text())
    assert [(f["rule"], f["file"]) for f in report["findings"]] == [("format", "sample/new.py")]


TOX_BLACK = """\
[tox]
env_list = lint

[testenv:lint]
deps = black
commands = black --check sample
"""


@pytest.mark.slow
def test_a_black_the_project_pins_nowhere_is_locked_into_the_ci_environment(tmp_path):
    """An unpinned black of tox's is locked into the CI env; a new unformatted file fails."""
    sample = make_adopter(tmp_path, PYPROJECT)
    sample.write("tox.ini", TOX_BLACK)
    sample.write("bench/slow.py", "x  =  1\n")
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "tox")
    done = sample.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "black: the project formats with it (tox.ini [testenv:lint]" in done.stdout
    assert '#     "black",\n' in (sample.path / "noxfile.py").read_text()
    assert '"black"' in (sample.path / "noxfile.py.lock").read_text()
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "Adopt ci-tasks")
    first = locked_nox(sample, "-s", "lint")
    assert first.returncode == 0, first.stdout
    assert _tools(sample)["black"]["pinned_in"] == "the CI environment"
    sample.write("sample/new.py", "y  =  2\n")
    second = locked_nox(sample, "-s", "lint")
    assert second.returncode == 1, second.stdout
    report = json.loads((sample.path / ".ci-tasks" / "lint-report.json").read_text())
    assert [(f["rule"], f["file"]) for f in report["findings"]] == [("format", "sample/new.py")]
