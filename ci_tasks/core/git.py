"""Asking git small questions: one place that runs it and turns its failures into errors.

Used where a command's output is data (fingerprints, hook locations, the current commit)
rather than something to stream; long-running git work (push) goes through the runner.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ci_tasks.core.errors import ToolMissingError, UsageError

TIMEOUT = 60.0
# Set by git for hooks; they would point a child git at the pushing repository's
# index instead of the one in *cwd*.
_HOOK_VARIABLES = frozenset({"GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"})


class GitError(UsageError):
    """git refused: not a repository, an unknown revision, an unset config key."""


def run(cwd: Path, *args: str, timeout: float = TIMEOUT) -> bytes:
    """Git's standard output for ``git <args>`` in *cwd*.

    Raises :class:`ToolMissingError` without git, :class:`GitError` (with git's last
    line of error) when it exits non-zero.
    """
    env = {k: v for k, v in os.environ.items() if k not in _HOOK_VARIABLES}
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=timeout, check=False, env=env
        )
    except FileNotFoundError:
        msg = "`git` was not found; install git or put it on PATH"
        raise ToolMissingError(msg) from None
    except subprocess.TimeoutExpired:
        msg = f"`git {' '.join(args)}` gave no answer within {timeout:g} s in {cwd}"
        raise GitError(msg) from None
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        msg = f"`git {' '.join(args)}` failed in {cwd}: {error[-1] if error else 'no output'}"
        raise GitError(msg)
    return done.stdout


def text(cwd: Path, *args: str) -> str:
    """:func:`run` decoded, without its trailing newline."""
    return run(cwd, *args).decode(errors="replace").strip()


def head(cwd: Path) -> str | None:
    """The commit checked out in *cwd*, or ``None`` outside a repository (or without git)."""
    try:
        return text(cwd, "rev-parse", "HEAD")
    except (GitError, ToolMissingError):
        return None
