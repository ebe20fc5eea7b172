"""Real git repositories for the preflight and hook tests: an isolated git environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

# No user or system git configuration leaks in (a global core.hooksPath would change
# where hooks go); commits need an identity.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "VIRTUAL_ENV"}}
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "CI_TASKS_"))}
    return {**env, **GIT_ENV, "NO_COLOR": "1", **(extra or {})}


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(env), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def push(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A real `git push`, its output merged (git sends a hook's output to stderr)."""
    return subprocess.run(
        ["git", "push", *args],
        cwd=cwd,
        env=git_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=600,
    )


def init_repo(root: Path, files: Mapping[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for relative, text in (files or {}).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", "init")
    return root


def bare_remote(path: Path, repo: Path) -> Path:
    """A local bare repository, added to *repo* as ``origin``."""
    git(path.parent, "init", "-q", "--bare", str(path))
    git(repo, "remote", "add", "origin", str(path))
    return path


def remote_ref(remote: Path, ref: str = "refs/heads/main") -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", ref],
        cwd=remote,
        env=git_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None
