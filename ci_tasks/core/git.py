"""Asking git small questions: one place that runs it and turns its failures into errors.

Used where a command's output is data (fingerprints, hook locations, the current commit)
rather than something to stream; long-running git work (push) goes through the runner.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ci_tasks.core import masking
from ci_tasks.core.errors import ToolMissingError, UsageError

TIMEOUT = 60.0
AUTHOR_NAME = "ci-tasks[bot]"
AUTHOR_EMAIL = "ci-tasks@users.noreply.github.com"
# Set by git for hooks; they would point a child git at the pushing repository's
# index instead of the one in *cwd*.
_HOOK_VARIABLES = frozenset({"GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"})


class GitError(UsageError):
    """git refused: not a repository, an unknown revision, an unset config key."""


def _completed(
    cwd: Path, args: tuple[str, ...], timeout: float
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in _HOOK_VARIABLES}
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=timeout, check=False, env=env
        )
    except FileNotFoundError:
        msg = "`git` was not found; install git or put it on PATH"
        raise ToolMissingError(msg) from None
    except subprocess.TimeoutExpired:
        msg = f"`git {' '.join(args)}` gave no answer within {timeout:g} s in {cwd}"
        raise GitError(msg) from None


def run(cwd: Path, *args: str, timeout: float = TIMEOUT) -> bytes:
    """Git's standard output for ``git <args>`` in *cwd*.

    Raises :class:`ToolMissingError` without git, :class:`GitError` (with git's last
    line of error) when it exits non-zero.
    """
    done = _completed(cwd, args, timeout)
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        msg = f"`git {' '.join(args)}` failed in {cwd}: {error[-1] if error else 'no output'}"
        raise GitError(msg)
    return done.stdout


def text(cwd: Path, *args: str) -> str:
    """:func:`run` decoded, without its trailing newline."""
    return run(cwd, *args).decode(errors="replace").strip()


def tracked_files(cwd: Path) -> list[str]:
    """The files git tracks in *cwd* that exist in the working tree, as ``git ls-files``."""
    listed = run(cwd, "ls-files", "-z").decode(errors="replace").split("\0")
    return [name for name in listed if name and (cwd / name).is_file()]


def head(cwd: Path) -> str | None:
    """The commit checked out in *cwd*, or ``None`` outside a repository (or without git)."""
    try:
        return text(cwd, "rev-parse", "HEAD")
    except (GitError, ToolMissingError):
        return None


def bot_identity() -> dict[str, str | None]:
    """The author and committer of what ci_tasks commits itself (checklist, CI lock)."""
    return {
        "GIT_AUTHOR_NAME": AUTHOR_NAME,
        "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME,
        "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
    }


def push_auth(env: Mapping[str, str]) -> dict[str, str | None]:
    """Environment that authenticates a push with ``GITHUB_TOKEN`` inside GitHub Actions.

    The workflows check out with ``persist-credentials: false`` (so no other step can
    read the token from ``.git/config``); the push gets it as a header for this one
    command instead, as actions/checkout itself does. The header goes through git's
    ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_<n>``/``GIT_CONFIG_VALUE_<n>`` variables, never
    ``-c`` on the command line: any process on the machine may read a command line
    (``/proc/<pid>/cmdline``), only the same user its environment. Settings already
    passed that way are kept. The token is masked in all output.
    """
    token = env.get("GITHUB_TOKEN")
    if not token or env.get("GITHUB_ACTIONS") != "true":
        return {}
    masking.default_masker().add(token)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    masking.default_masker().add(basic)
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    try:
        index = max(int(env.get("GIT_CONFIG_COUNT", "0")), 0)
    except ValueError:
        index = 0
    return {
        "GIT_CONFIG_COUNT": str(index + 1),
        f"GIT_CONFIG_KEY_{index}": f"http.{server}/.extraheader",
        f"GIT_CONFIG_VALUE_{index}": f"AUTHORIZATION: basic {basic}",
    }


def ignored(cwd: Path, path: str) -> bool | None:
    """Whether git ignores *path* (``git check-ignore``); ``None`` outside a repository.

    Only ignore files at or above *path*'s folder count: a ``.gitignore`` inside a
    folder ignores what is in it, not the folder.
    """
    try:
        done = _completed(cwd, ("check-ignore", "-q", "--", path), TIMEOUT)
    except (GitError, ToolMissingError):
        return None
    return {0: True, 1: False}.get(done.returncode)
