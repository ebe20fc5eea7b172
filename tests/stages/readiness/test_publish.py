"""What readiness publishes: the badge, the trend, and commits of exactly its own files."""

from __future__ import annotations

import base64
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ci_tasks.core import git as git_mod
from ci_tasks.core.runner import Runner
from ci_tasks.stages.readiness import autocommit, badge, trend
from tests.support.gitsupport import git_env

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    ("score", "name", "fill"),
    [
        (95.0, "badge-green.svg", badge.GREEN),
        (85.5, "badge-amber.svg", badge.AMBER),
        (72.9, "badge-red.svg", badge.RED),
    ],
)
def test_badge_matches_golden_and_parses(score, name, fill):
    """Green at or above the threshold, amber within 10 points, red below; valid SVG."""
    svg = badge.render(score, threshold=90)
    assert svg == (GOLDEN / name).read_text()
    root = ET.fromstring(  # noqa: S314 - our own output
        svg
    )
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    fills = [r.get("fill") for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert fill in fills
    assert f"{score:.1f}%" in svg


def test_badge_escapes_label():
    """A label with XML metacharacters still gives well-formed XML."""
    ET.fromstring(  # noqa: S314 - our own output
        badge.render(50, 90, label="a<b&c")
    )


def test_sparkline_fixed_scale():
    """The sparkline maps 0-100 onto eight bars, lowest to highest."""
    assert trend.sparkline([0, 50, 100]) == "▁▅█"
    assert trend.sparkline([]) == ""


def test_mermaid_chart_matches_golden():
    """The trend renders as a mermaid xychart with the threshold as a flat line."""
    chart = trend.mermaid([("11-24", 72.9), ("11-25", 88.0), ("11-26", 95.5)], threshold=90)
    assert chart == (GOLDEN / "trend.md").read_text()
    assert trend.mermaid([]) == ""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.name", "Someone")
    git(tmp_path, "config", "user.email", "someone@example.com")
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "RELEASE_CHECKLIST.md").write_text("old\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


def test_commit_exactly_the_changed_files(repo, out):
    """One commit with exactly the three generated files, by the fixed identity; nothing else."""
    files = [
        repo / "RELEASE_CHECKLIST.md",
        repo / ".release-readiness-cache.json",
        repo / "readiness-badge.svg",
    ]
    files[0].write_text("new\n")
    files[1].write_text("{}\n")
    files[2].write_text("<svg/>\n")
    (repo / "app.py").write_text("x = 2\n")  # unrelated, unstaged
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")  # unrelated, staged
    assert autocommit.commit(Runner(output=out), repo, files, "readiness: 93.5%")
    assert (
        git(repo, "log", "-1", "--format=%an <%ae>|%s")
        == f"{git_mod.AUTHOR_NAME} <{git_mod.AUTHOR_EMAIL}>|readiness: 93.5%\n"
    )
    committed = sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split())
    assert committed == [
        ".release-readiness-cache.json",
        "RELEASE_CHECKLIST.md",
        "readiness-badge.svg",
    ]
    status = git(repo, "status", "--porcelain")
    assert " M app.py" in status
    assert "A  staged.txt" in status


def test_no_commit_when_nothing_changed(repo, out):
    """Unchanged files make no commit."""
    head = git(repo, "rev-parse", "HEAD")
    assert not autocommit.commit(
        Runner(output=out), repo, [repo / "RELEASE_CHECKLIST.md"], "readiness"
    )
    assert git(repo, "rev-parse", "HEAD") == head


def test_commit_and_push_to_a_bare_remote(repo, tmp_path_factory, out):
    """With push, the commit reaches the remote."""
    remote = tmp_path_factory.mktemp("remote")
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "main")
    (repo / "RELEASE_CHECKLIST.md").write_text("pushed\n")
    assert autocommit.commit(
        Runner(output=out), repo, [repo / "RELEASE_CHECKLIST.md"], "readiness", push=True
    )
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


@pytest.mark.parametrize(
    "before", [{}, {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_VALUE_0": "c"}]
)
def test_push_authenticates_with_the_token_only_in_actions(masker, repo, before):
    """Inside Actions git reads GITHUB_TOKEN's header from the environment; elsewhere nothing."""
    assert git_mod.push_auth({"GITHUB_TOKEN": "ghs_tok12345"}) == {}
    extra = git_mod.push_auth({"GITHUB_TOKEN": "ghs_tok12345", "GITHUB_ACTIONS": "true", **before})
    env = {**git_env(), **before, **{k: v for k, v in extra.items() if v is not None}}
    header = subprocess.run(
        ["git", "config", "--get", "http.https://github.com/.extraheader"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert header.startswith("AUTHORIZATION: basic ")
    assert masker.mask(header) == "AUTHORIZATION: basic ***"
    if before:  # a setting passed the same way before is kept
        kept = subprocess.run(
            ["git", "config", "--get", "a.b"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert kept.stdout.strip() == "c"


@pytest.mark.usefixtures("masker")
def test_no_command_line_carries_the_token(repo, tmp_path_factory, out, launched):
    """A push in Actions: no argv of any command started holds the token or its header."""
    remote = tmp_path_factory.mktemp("remote")
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "main")
    (repo / "RELEASE_CHECKLIST.md").write_text("pushed\n")
    token = "ghs_argvSecret0123456789"
    env = {**git_env(), "GITHUB_TOKEN": token, "GITHUB_ACTIONS": "true"}
    assert autocommit.commit(
        Runner(env=env, output=out), repo, [repo / "RELEASE_CHECKLIST.md"], "readiness", push=True
    )
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    assert any(argv[:2] == ["git", "push"] for argv in launched)
    for argv in launched:
        assert not any(token in arg or basic in arg for arg in argv), argv
