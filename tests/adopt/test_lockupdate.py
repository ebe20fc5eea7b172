"""The CI lock's update pull request: a real lock, a real push, a local GitHub API.

uv resolves against a folder of tiny wheels (``UV_FIND_LINKS``, no index), so a "release"
is a new wheel file; the push goes to a local bare remote; GitHub is tests.support's fake
on 127.0.0.1. Every git command the run starts goes through a wrapper that logs its argv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci_tasks.adopt import lockupdate
from ci_tasks.adopt.scriptenv import PackageChange
from ci_tasks.core.cilock import LOCK, UPDATE_BRANCH
from tests.support.github_fake import REPO, FakeGitHub
from tests.support.gitsupport import bare_remote, git, git_env, init_repo, remote_ref
from tests.support.localserver import Response, serve
from tests.support.wheelhouse import env as wheel_env
from tests.support.wheelhouse import release

TOKEN = "ghs_updateCiLockToken0123456789abcdef"
NOXFILE = """\
# /// script
# requires-python = ">=3.11"
# dependencies = ["ruff", "demo-helper"]
# ///
"""
FORBIDDEN = Response(
    403,
    {
        "message": "GitHub Actions is not permitted to create or approve pull requests.",
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
    },
)


class Project:
    """An adopted project's clone, its bare origin, and the logged argv of every git."""

    def __init__(self, tmp: Path, api: str) -> None:
        self.wheels = tmp / "wheels"
        self.wheels.mkdir()
        release(self.wheels, "ruff", "1.0")
        release(self.wheels, "demo-helper", "2.0")
        self.argv_log = tmp / "git-argv.log"
        wrapper = tmp / "bin"
        wrapper.mkdir()
        real = shutil.which("git")
        (wrapper / "git").write_text(
            f'#!/bin/sh\nprintf "%s " "$@" >> "{self.argv_log}"\necho >> "{self.argv_log}"\n'
            f'exec "{real}" "$@"\n'
        )
        (wrapper / "git").chmod(0o755)
        self.env = git_env(
            {
                "PATH": f"{wrapper}{os.pathsep}{os.environ['PATH']}",
                **wheel_env(self.wheels, tmp / "uv-cache"),
                "GITHUB_TOKEN": TOKEN,
                "GITHUB_ACTIONS": "true",
                "GITHUB_REPOSITORY": REPO,
                "GITHUB_API_URL": api,
            }
        )
        self.outputs: list[str] = []
        self.root = init_repo(tmp / "app", {"noxfile.py": NOXFILE})
        assert self.ci_tasks("lock").returncode == 0
        git(self.root, "add", LOCK)
        git(self.root, "commit", "-qm", "lock")
        self.remote = bare_remote(tmp / "origin.git", self.root)
        git(self.root, "push", "-q", "origin", "main")

    def ci_tasks(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "ci_tasks.cli", *args, "--project", str(self.root)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.outputs += [done.stdout, done.stderr]
        return done

    def scheduled_run(self) -> subprocess.CompletedProcess[str]:
        """What update-ci-lock.yml does on a fresh checkout of main."""
        git(self.root, "checkout", "-q", "--", LOCK)
        return self.ci_tasks("lock", "--upgrade", "--pull-request")

    def branch_lock(self) -> str:
        ref = f"refs/heads/{UPDATE_BRANCH}"
        return git(self.remote, "show", f"{ref}:{LOCK}")

    def argv(self) -> str:
        return self.argv_log.read_text() if self.argv_log.exists() else ""


@pytest.fixture
def github():
    fake = FakeGitHub()
    with serve(fake) as server:
        fake.base = server.url
        yield fake, server


@pytest.fixture
def project(tmp_path, github):
    return Project(tmp_path, github[1].url)


def test_first_run_opens_the_pr_a_later_one_updates_it_and_a_current_lock_writes_nothing(
    project, github
):
    """One PR, POSTed once and PATCHed after; no push, no write when nothing moved."""
    fake, server = github
    main_before = remote_ref(project.remote)
    # CI is dispatched on the branch once the push is there: it holds the new lock by then.
    fake.on_dispatch = lambda: branch_at_dispatch.append(project.branch_lock())
    branch_at_dispatch: list[str] = []
    release(project.wheels, "ruff", "1.1")
    first = project.scheduled_run()
    assert first.returncode == 0, first.stderr
    assert [m for m, _ in fake.writes] == ["POST"]
    assert fake.dispatches == [("ci.yml", UPDATE_BRANCH)]
    assert 'version = "1.1"' in branch_at_dispatch[0]
    assert "ci.yml dispatched on it" in first.stdout
    (pull,) = fake.pulls
    assert pull["head"]["ref"] == UPDATE_BRANCH
    assert pull["base"]["ref"] == "main"
    assert "- `ruff` 1.0 -> 1.1 ([changelog](https://github.com/astral-sh/ruff/" in pull["body"]
    assert "demo-helper" not in pull["body"]
    assert 'version = "1.1"' in project.branch_lock()
    assert remote_ref(project.remote) == main_before  # main itself is never pushed

    release(project.wheels, "ruff", "1.2")
    release(project.wheels, "demo-helper", "2.1")
    second = project.scheduled_run()
    assert second.returncode == 0, second.stderr
    assert [m for m, _ in fake.writes] == ["POST", "PATCH"]
    assert len(fake.pulls) == 1
    assert "- `ruff` 1.0 -> 1.2" in fake.pulls[0]["body"]
    assert "- `demo-helper` 2.0 -> 2.1" in fake.pulls[0]["body"]
    assert 'version = "1.2"' in project.branch_lock()
    assert "updated" in second.stdout
    assert fake.dispatches == [("ci.yml", UPDATE_BRANCH)] * 2  # the new push runs CI again

    tip = remote_ref(project.remote, f"refs/heads/{UPDATE_BRANCH}")
    pushes = project.argv().count("push ")
    third = project.scheduled_run()  # nothing newer: the branch and the PR already say it
    assert third.returncode == 0, third.stderr
    assert [m for m, _ in fake.writes] == ["POST", "PATCH"]
    assert remote_ref(project.remote, f"refs/heads/{UPDATE_BRANCH}") == tip
    assert project.argv().count("push ") == pushes
    assert len(fake.dispatches) == 2  # nothing pushed: its CI ran already

    # The PR merged: main's lock is current, so the run asks GitHub nothing and pushes nothing.
    project.ci_tasks("lock", "--upgrade")
    git(project.root, "commit", "-qam", "take the update")
    asked = len(server.requests)
    current = project.ci_tasks("lock", "--upgrade", "--pull-request")
    assert current.returncode == 0, current.stderr
    assert "nothing to update" in current.stdout
    assert len(server.requests) == asked
    assert project.argv().count("push ") == pushes
    assert len(fake.dispatches) == 2

    seen = [*project.outputs, project.argv(), project.branch_lock()]
    assert not [text for text in seen if TOKEN in text]
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in server.requests)


def test_repository_not_letting_workflows_open_prs_is_a_warning_and_exit_0(project, github):
    """GitHub's 403 for the Actions setting: one warning naming the setting, exit 0."""
    fake, _ = github
    fake.pull_refusal = FORBIDDEN
    release(project.wheels, "ruff", "1.1")
    done = project.scheduled_run()
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1
    assert "Allow GitHub Actions to create and approve pull requests" in warnings[0]
    assert 'version = "1.1"' in project.branch_lock()  # the branch is there for a manual PR
    assert not fake.pulls


def test_no_dispatch_pushes_and_opens_the_pr_but_starts_no_workflow(project, github):
    """--no-dispatch (a token whose push starts CI itself): branch and PR, no dispatch."""
    fake, _ = github
    release(project.wheels, "ruff", "1.1")
    git(project.root, "checkout", "-q", "--", LOCK)
    done = project.ci_tasks("lock", "--upgrade", "--pull-request", "--no-dispatch")
    assert done.returncode == 0, done.stderr
    assert 'version = "1.1"' in project.branch_lock()
    assert len(fake.pulls) == 1
    assert fake.dispatches == []
    assert "dispatched" not in done.stdout
    alone = project.ci_tasks("lock", "--no-dispatch")
    assert alone.returncode == 2
    assert "--no-dispatch says how --pull-request ends" in alone.stderr


def test_a_refused_dispatch_is_exit_2_naming_actions_write(project, github):
    """A token without actions: write: the branch and PR stay, exit 2 names what it needs."""
    fake, _ = github
    fake.dispatch_refusal = Response(403, {"message": "Resource not accessible by integration"})
    release(project.wheels, "ruff", "1.1")
    done = project.scheduled_run()
    assert done.returncode == 2
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("ci-tasks: error:")]
    assert "ci.yml/dispatches: answered HTTP 403 (Resource not accessible by integration)" in line
    assert "actions: write" in line
    assert "--no-dispatch" in line
    assert 'version = "1.1"' in project.branch_lock()
    assert len(fake.pulls) == 1
    assert TOKEN not in done.stdout + done.stderr


def test_other_refusals_fail_with_the_permissions_the_token_needs(project, github):
    """A 422 (or any other refusal) is exit 2 and names what the token must be able to do."""
    fake, _ = github
    fake.pull_refusal = Response(422, {"message": "Validation Failed"})
    release(project.wheels, "ruff", "1.1")
    done = project.scheduled_run()
    assert done.returncode == 2
    assert "HTTP 422 (Validation Failed)" in done.stderr
    assert "pull-requests: write" in done.stderr


def test_no_token_fails_before_anything_is_locked(project):
    """--pull-request without GITHUB_TOKEN is exit 2 in a line; the lock is left as it was."""
    del project.env["GITHUB_TOKEN"]
    release(project.wheels, "ruff", "1.1")
    before = (project.root / LOCK).read_text()
    done = project.scheduled_run()
    assert done.returncode == 2
    assert "no token; set GITHUB_TOKEN" in done.stderr
    assert (project.root / LOCK).read_text() == before


def test_json_prints_the_changes_as_data_and_nothing_else(project):
    """--json: stdout is one JSON document (uv's progress goes to stderr)."""
    release(project.wheels, "ruff", "1.1")
    done = project.ci_tasks("lock", "--upgrade", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data == {
        "lock": LOCK,
        "changed": True,
        "packages": [
            {
                "name": "ruff",
                "change": "changed",
                "before": "1.0",
                "after": "1.1",
                "changelog": lockupdate.CHANGELOGS["ruff"],
            }
        ],
    }
    again = project.ci_tasks("lock", "--upgrade", "--json")
    assert json.loads(again.stdout) == {"lock": LOCK, "changed": False, "packages": []}


@pytest.mark.parametrize(
    ("change", "item"),
    [
        (PackageChange("nox", "2025.11.12", "2026.10.20"), "- `nox` 2025.11.12 -> 2026.10.20 ("),
        (PackageChange("new-thing", None, "1.0"), "- `new-thing` 1.0 (added)"),
        (PackageChange("zizmor", "1.0", None), "- `zizmor` 1.0 (removed)"),
    ],
)
def test_body_lists_each_package_with_its_changelog_where_known(change, item):
    """Moved packages link their changelog; added ones say so; removed ones link nothing."""
    text = lockupdate.body([change])
    assert text.startswith(lockupdate.MARKER)
    (line,) = [x for x in text.splitlines() if x.startswith("- ")]
    assert line.startswith(item)
    assert ("changelog" in line) == (change.name == "nox")


def test_check_tells_stale_missing_and_could_not_tell_apart(project):
    """`lock --check`: 0 current, 1 stale or missing (naming the fix), 2 when uv cannot tell."""
    assert project.ci_tasks("lock", "--check").returncode == 0
    noxfile = project.root / "noxfile.py"
    noxfile.write_text(NOXFILE.replace('"ruff"', '"ruff>=1"'))
    stale = project.ci_tasks("lock", "--check")
    assert (stale.returncode, "is stale: run `ci-tasks lock`") == (1, stale.stdout.strip()[-29:])
    noxfile.write_text(NOXFILE.replace('"ruff"', '"ruff", "never-released"'))
    unknown = project.ci_tasks("lock", "--check")
    assert unknown.returncode == 2
    assert "could not tell" in unknown.stderr
    assert "never-released" in unknown.stderr
    (project.root / LOCK).unlink()
    missing = project.ci_tasks("lock", "--check")
    assert missing.returncode == 1
    assert f"{LOCK} does not exist: run `ci-tasks lock`" in missing.stdout


def test_a_push_git_refuses_is_exit_2_in_one_line(project, github):
    """No reachable origin: exit 2 naming git's reason, no pull request asked for."""
    git(project.root, "remote", "set-url", "origin", str(project.root.parent / "gone.git"))
    release(project.wheels, "ruff", "1.1")
    done = project.scheduled_run()
    assert done.returncode == 2
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("ci-tasks: error:")]
    assert "git ls-remote origin" in line
    assert "not pushed to ci-tasks/update-ci-lock" in line
    assert TOKEN not in done.stderr + done.stdout
    assert not github[1].requests
