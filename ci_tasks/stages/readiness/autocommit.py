"""Commit generated files (checklist, cache, badge) and nothing else, only when they changed."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_tasks.core import masking
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.runner import Runner

AUTHOR_NAME = "ci-tasks[bot]"
AUTHOR_EMAIL = "ci-tasks@users.noreply.github.com"


def _identity() -> dict[str, str | None]:
    return {
        "GIT_AUTHOR_NAME": AUTHOR_NAME,
        "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME,
        "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
    }


def changed(runner: Runner, root: Path, paths: Sequence[Path]) -> list[Path]:
    """Those of *paths* that differ from HEAD (modified, new or deleted)."""
    relative = [str(p.relative_to(root)) if p.is_absolute() else str(p) for p in paths]
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
    names = [str(p.relative_to(root)) for p in todo]
    runner.run(["git", "add", "--", *names], cwd=root, stream=False)
    runner.run(
        ["git", "commit", "--quiet", "--no-verify", "-m", message, "--", *names],
        cwd=root,
        env=_identity(),
    )
    if push:
        runner.run(
            ["git", "push", "--quiet"],
            cwd=root,
            env=_push_auth(runner.env),
            retry_on=NETWORK_ERRORS,
        )
    return True


def _push_auth(env: Mapping[str, str]) -> dict[str, str | None]:
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
