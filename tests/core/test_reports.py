"""Report files: the shared envelope, atomic writes, unreadable files set aside."""

from __future__ import annotations

import io
import json
import os
import subprocess

import pytest

from ci_tasks.core import reports


def test_write_report_envelope(tmp_path):
    """A report carries schema, version, commit, time and verdict around its body."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    path = reports.write_report(
        tmp_path, "build", verdict="passed", body={"artifacts": []}, version=1
    )
    data = json.loads(path.read_text())
    assert path == tmp_path / ".ci-tasks" / "build-report.json"
    assert data["schema"] == "ci-tasks/build-report"
    assert data["version"] == 1
    assert data["commit"] == head
    assert data["verdict"] == "passed"
    assert data["generated_at"].endswith("+00:00")


def test_no_git_means_no_commit(tmp_path, monkeypatch):
    """Outside a git repository the commit is null, not an error."""
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    path = reports.write_report(tmp_path, "smoke", verdict="failed", body={}, version=1)
    assert json.loads(path.read_text())["commit"] is None


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    """After a write only the target exists, holding the new content."""
    target = tmp_path / "cache.json"
    target.write_text("old")
    reports.atomic_write(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]


def test_atomic_write_failure_keeps_old_file(tmp_path, monkeypatch):
    """A write that fails midway (here at fsync) leaves the old file whole and no temporary."""
    target = tmp_path / "cache.json"
    target.write_text("old")

    def failing_fsync(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        reports.atomic_write(target, "new content")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]


def test_unreadable_json_is_set_aside(tmp_path, out):
    """A corrupt file is renamed aside with a warning and reads as absent, never trusted."""
    target = tmp_path / "history.json"
    target.write_text("{not json")
    assert reports.read_json(target, out) is None
    assert not target.exists()
    aside = list(tmp_path.glob("history.json.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_text() == "{not json"
    assert "unreadable" in out.text
    assert "set aside" in out.text


def test_missing_json_reads_as_none(tmp_path, out):
    """A missing file is simply absent: no warning."""
    assert reports.read_json(tmp_path / "nothing.json", out) is None
    assert out.text == ""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("{root}/pkg/mod.py", "pkg/mod.py"),
        ("pkg/mod.py", "pkg/mod.py"),
        ("./pkg/mod.py", "pkg/mod.py"),
        ("/elsewhere/mod.py", "/elsewhere/mod.py"),
    ],
)
def test_paths_in_reports_are_posix_and_relative_to_the_project(tmp_path, name, expected):
    """A tool's absolute path inside the project becomes relative, `/`-separated."""
    assert reports.portable_path(name.format(root=tmp_path), tmp_path) == expected


@pytest.fixture
def quiet_git(monkeypatch):
    """No global or system git configuration (a global excludesFile) decides what is ignored."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def _output():
    from ci_tasks.core.actions import Output  # noqa: PLC0415

    stream = io.StringIO()
    return Output(stream=stream, env={}), stream


@pytest.mark.usefixtures("quiet_git")
def test_report_dir_ignores_itself_so_git_lists_nothing_without_init(tmp_path):
    """Its own `.gitignore` (`*`): `git status --porcelain` shows nothing for .ci-tasks."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    out, stream = _output()
    folder = reports.report_dir(tmp_path, out)
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    (folder / "build-report.json").write_text("{}")
    (folder / "cache" / "ruff").mkdir(parents=True)
    (folder / "cache" / "ruff" / "0.1").write_text("x")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert status.stdout == ""
    reports.write_report(tmp_path, "build", verdict="passed", body={}, version=1)
    assert stream.getvalue() == ""  # ignored by git now: nothing to warn about


def test_report_dir_keeps_an_existing_gitignore_and_works_outside_git(tmp_path):
    """Outside git the folder gets its `.gitignore` too; an existing one is left as it is."""
    folder = reports.report_dir(tmp_path)
    assert (folder / ".gitignore").read_text() == reports.REPORT_DIR_GITIGNORE
    (folder / ".gitignore").write_text("*\n# mine\n")
    reports.report_dir(tmp_path)
    assert (folder / ".gitignore").read_text() == "*\n# mine\n"
