"""The preflight fingerprint over real git repositories."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from ci_tasks.core.config import parse_config
from ci_tasks.core.git import GitError
from ci_tasks.stages.preflight import fingerprint
from ci_tasks.stages.preflight.session import stage_outputs, stage_settings
from tests.support.gitsupport import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (root / "uv.lock").write_text("version = 1\n")
    (root / "pkg").mkdir()
    for i in range(20):
        (root / "pkg" / f"m{i}.py").write_text(f"X = {i}\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def key(root: Path, **settings: object) -> str:
    """The fingerprint preflight would use for a `lint` stage over *root*."""
    config = parse_config(settings, root / "pyproject.toml")
    lock = root / "uv.lock"
    return fingerprint.stage_fingerprint(
        fingerprint.tree_state(root, stage_outputs(config)),
        stage="lint",
        settings=stage_settings(config, "lint"),
        posargs=(),
        python="3.11.7",
        ci_tasks_version="0.1.0",
        lock=lock.read_bytes() if lock.exists() else None,
    )


def test_blob_hash_is_gits() -> None:
    """Our blob hash is the one git stores, so index hashes and ours compare."""
    data = b"hello\n"
    assert fingerprint.blob_hash(data) == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_same_tree_same_fingerprint(repo: Path) -> None:
    """Nothing changed, nothing differs."""
    assert key(repo) == key(repo)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: (r / "pkg" / "m3.py").write_text("X = 'changed'\n"), id="edit"),
        pytest.param(lambda r: (r / "pkg" / "new.py").write_text("Y = 1\n"), id="untracked"),
        pytest.param(lambda r: (r / "uv.lock").write_text("version = 2\n"), id="uv.lock"),
        pytest.param(lambda r: (r / "pkg" / "m4.py").unlink(), id="delete"),
        pytest.param(lambda r: (r / "pkg" / "m5.py").write_text("X = 50\n"), id="same-size-edit"),
    ],
)
def test_changes_invalidate(repo: Path, change) -> None:
    """Editing, adding, deleting a file, or changing uv.lock changes the fingerprint."""
    before = key(repo)
    change(repo)
    assert key(repo) != before


def test_staged_edit_invalidates(repo: Path) -> None:
    """An edit that is staged (index updated, so git diff-files is quiet) still counts."""
    before = key(repo)
    (repo / "pkg" / "m1.py").write_text("X = 'staged'\n")
    git(repo, "add", "pkg/m1.py")
    assert key(repo) != before


def test_stage_config_invalidates(repo: Path) -> None:
    """The configuration a stage reads is an input; a timeout is not."""
    assert key(repo, dependency_groups=["dev", "docs"]) != key(repo)
    assert key(repo, python=["3.12"]) != key(repo)
    assert key(repo, timeouts={"lint": 10}) == key(repo)


def test_stage_section_is_in_its_settings(repo: Path) -> None:
    """A stage's own ``[tool.ci-tasks.<stage>]`` section is part of its settings."""
    plain = parse_config({}, repo / "pyproject.toml")
    changed = parse_config({"preflight": {"fail_fast": True}}, repo / "pyproject.toml")
    assert stage_settings(plain, "preflight") != stage_settings(changed, "preflight")
    assert stage_settings(plain, "lint") == stage_settings(changed, "lint")


def test_touch_does_not_invalidate(repo: Path) -> None:
    """Touching a file without changing it leaves the fingerprint as it was."""
    before = key(repo)
    target = repo / "pkg" / "m2.py"
    later = target.stat().st_mtime + 100
    os.utime(target, (later, later))
    (repo / "pyproject.toml").write_text((repo / "pyproject.toml").read_text())
    assert "pkg/m2.py" in git(repo, "diff-files", "--name-only")  # git did notice the stat
    assert key(repo) == before


@pytest.mark.parametrize(
    "relative",
    [
        "build/out.txt",
        "debug.log",
        ".ci-tasks/lint-report.json",
        ".nox/x/bin/python",
        "pkg/__pycache__/m1.cpython-311.pyc",
        ".pytest_cache/v/cache/lastfailed",
        "junit.xml",
        "coverage.xml",
        ".coverage",
    ],
)
def test_ignored_and_output_files_do_not_invalidate(repo: Path, relative: str) -> None:
    """Files git ignores, and ci_tasks', nox's and the tools' output, are not inputs."""
    before = key(repo)
    target = repo / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("output\n")
    assert key(repo) == before


def test_subdirectory_project_sees_only_its_files(repo: Path) -> None:
    """A project in a subfolder of a repository fingerprints its own folder."""
    sub = repo / "pkg"
    before = fingerprint.tree_state(sub).digest()
    (repo / "elsewhere.txt").write_text("not ours\n")
    assert fingerprint.tree_state(sub).digest() == before
    (sub / "m0.py").write_text("X = 'new'\n")
    assert fingerprint.tree_state(sub).digest() != before


def test_outside_git_is_a_git_error(tmp_path: Path) -> None:
    """No repository: a GitError naming the folder, which preflight reports."""
    with pytest.raises(GitError, match=str(tmp_path)):
        fingerprint.tree_state(tmp_path)


def test_an_ignore_expiring_invalidates(repo: Path) -> None:
    """The day a lint ignore's ``until`` passes, the cached lint verdict no longer holds."""
    entry = {"rule": "F401", "reason": "accepted", "until": dt.date(2026, 6, 30)}
    config = parse_config({"lint": {"ignore": [entry]}}, repo / "pyproject.toml")
    last_day = stage_settings(config, "lint", dt.date(2026, 6, 30))
    assert stage_settings(config, "lint", dt.date(2026, 6, 1)) == last_day
    assert stage_settings(config, "lint", dt.date(2026, 7, 1)) != last_day


def test_a_quarantine_entry_expiring_changes_the_tests_fingerprint(repo: Path) -> None:
    """The day after a quarantined test's ``until``, a cached tests pass no longer answers."""
    entry = {"test": "tests/test_x.py::test_flaky", "reason": "issue 7", "until": "2026-06-30"}
    config = parse_config({"tests": {"quarantine": [entry]}}, repo / "pyproject.toml")
    tree = fingerprint.tree_state(repo, stage_outputs(config))

    def on(day: dt.date) -> str:
        settings = stage_settings(config, "tests", day)
        return fingerprint.stage_fingerprint(
            tree,
            stage="tests",
            settings=settings,
            posargs=(),
            python="3.11.7",
            ci_tasks_version="0.1.0",
            lock=None,
        )

    written = on(dt.date(2026, 6, 1))  # the day the cache was written
    assert on(dt.date(2026, 6, 30)) == written
    assert on(dt.date(2026, 7, 1)) != written
