"""Commit generated files (checklist, cache, badge) and nothing else, only when they changed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core import git
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.runner import Runner


def changed(runner: Runner, root: Path, paths: Sequence[Path]) -> list[Path]:
    """Those of *paths* that differ from HEAD (modified, new or deleted)."""
    # git prints `/`-separated paths on every OS; compare like with like.
    relative = [(p.relative_to(root) if p.is_absolute() else p).as_posix() for p in paths]
    done = runner.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", *relative],
        cwd=root,
        capture_stdout=True,
        stream=False,
    )
    dirty = {line[3:].strip('"') for line in (done.stdout or "").splitlines() if line}
    return [root / r for r in relative if r in dirty]


def commit(
    runner: Runner,
    root: Path,
    paths: Sequence[Path],
    message: str,
    *,
    push: bool = False,
) -> bool:
    """Commit exactly those of *paths* that changed, with a fixed identity; returns whether.

    ``git commit -- <paths>`` commits only the named paths: other changes in the work tree,
    staged or not, stay as they were. With *push*, the commit is pushed, retrying network
    failures only.
    """
    todo = changed(runner, root, paths)
    if not todo:
        return False
    names = [p.relative_to(root).as_posix() for p in todo]
    runner.run(["git", "add", "--", *names], cwd=root, stream=False)
    runner.run(
        ["git", "commit", "--quiet", "--no-verify", "-m", message, "--", *names],
        cwd=root,
        env=git.bot_identity(),
    )
    if push:
        runner.run(
            ["git", "push", "--quiet"],
            cwd=root,
            env=git.push_auth(runner.env),
            retry_on=NETWORK_ERRORS,
        )
    return True
