"""The CI environment's scheduled update: one branch, one pull request, updated in place.

``ci-tasks lock --upgrade --pull-request`` (run weekly by ``update-ci-lock.yml``) moves
``noxfile.py.lock``, then :func:`publish` commits the new lock on top of HEAD (without
touching the work tree or the checked-out branch), pushes that commit to
:data:`~ci_tasks.core.cilock.UPDATE_BRANCH` with ``--force-with-lease`` on what the
branch was, and opens the pull request, or updates the one already open from that
branch. Then it dispatches ``ci.yml`` on that branch (``workflow_dispatch``): GitHub starts
no workflow for a push or pull request made with ``GITHUB_TOKEN``, so without it the pull
request would show no checks. The title and body are pure functions of the changes; git
runs through a :class:`~ci_tasks.core.runner.Runner`, GitHub through
:mod:`ci_tasks.core.github`.

The push authenticates with ``GITHUB_TOKEN`` through git's ``GIT_CONFIG_*`` variables
(:func:`ci_tasks.core.git.push_auth`), so the token is in no command line and in no
``.git/config``; it is masked in all output.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.adopt.scriptenv import PackageChange
from ci_tasks.adopt.workflows import CI_FILE
from ci_tasks.core import git, masking
from ci_tasks.core.cilock import LOCK, UPDATE_BRANCH
from ci_tasks.core.errors import (
    CITasksError,
    CommandFailed,
    ConfigError,
    ServiceUnavailable,
    ToolMissingError,
)
from ci_tasks.core.github import (
    DEFAULT_API_URL,
    GitHubClient,
    api_session,
    resolve_repository,
    token_from,
)
from ci_tasks.core.retry import NETWORK_ERRORS, RetryPolicy
from ci_tasks.core.runner import Runner

MARKER = "<!-- ci-tasks:update-ci-lock -->"
TITLE = f"Update the CI environment ({LOCK})"
NOT_PERMITTED = "not permitted to create or approve pull requests"
"""The phrase of GitHub's 403 when the repository does not let workflows open PRs."""
SETTING = (
    "Settings > Actions > General > Workflow permissions: "
    '"Allow GitHub Actions to create and approve pull requests"'
)
NEEDS = "push and open pull requests (contents: write, pull-requests: write)"
DISPATCH_NEEDS = (
    f"start {CI_FILE} (actions: write), or pass --no-dispatch where the push starts CI "
    "itself (a GitHub App's token)"
)

# Where each tool's release notes are (the package's own project URLs where it names one).
CHANGELOGS: Mapping[str, str] = {
    "bandit": "https://github.com/PyCQA/bandit/releases",
    "check-wheel-contents": "https://github.com/jwodder/check-wheel-contents/releases",
    "coverage": "https://coverage.readthedocs.io/en/latest/changes.html",
    "invoke": "https://www.pyinvoke.org/changelog.html",
    "mypy": "https://github.com/python/mypy/blob/master/CHANGELOG.md",
    "nox": "https://github.com/wntrblm/nox/releases",
    "pip-audit": "https://github.com/pypa/pip-audit/releases",
    "pytest": "https://docs.pytest.org/en/stable/changelog.html",
    "pytest-rerunfailures": "https://github.com/pytest-dev/pytest-rerunfailures/releases",
    "ruff": "https://github.com/astral-sh/ruff/blob/main/CHANGELOG.md",
    "twine": "https://twine.readthedocs.io/en/stable/changelog.html",
    "urllib3": "https://github.com/urllib3/urllib3/blob/main/CHANGES.rst",
    "uv": "https://github.com/astral-sh/uv/blob/main/CHANGELOG.md",
    "zizmor": "https://docs.zizmor.sh/release-notes/",
}


def changelog(name: str) -> str | None:
    """The release notes of package *name*, where they are known."""
    return CHANGELOGS.get(name.lower().replace("_", "-"))


def as_data(changes: Sequence[PackageChange]) -> dict[str, Any]:
    """What ``ci-tasks lock --json`` prints: the lock, whether it changed, each package."""
    return {
        "lock": LOCK,
        "changed": bool(changes),
        "packages": [
            {
                "name": c.name,
                "change": c.kind,
                "before": c.before,
                "after": c.after,
                "changelog": changelog(c.name),
            }
            for c in changes
        ],
    }


def _item(change: PackageChange) -> str:
    if change.before is None:
        text = f"`{change.name}` {change.after} (added)"
    elif change.after is None:
        text = f"`{change.name}` {change.before} (removed)"
    else:
        text = f"`{change.name}` {change.before} -> {change.after}"
    url = changelog(change.name) if change.after is not None else None
    return f"- {text}" + (f" ([changelog]({url}))" if url else "")


def body(changes: Sequence[PackageChange]) -> str:
    """The pull request's body: each package that moved, with its changelog where known."""
    return "\n".join(
        [
            MARKER,
            (
                f"The CI environment (`{LOCK}`: nox, ci-tasks and the tools its sessions "
                "run) moved to the newest versions its block allows:"
            ),
            "",
            *(_item(c) for c in changes),
            "",
            (
                "Made by `ci-tasks lock --upgrade --pull-request` (`update-ci-lock.yml`). "
                "The next run updates this pull request in place; merge it to take the new "
                "tools."
            ),
            "",
        ]
    )


def _git(
    runner: Runner, root: Path, *args: str, env: Mapping[str, str | None] | None = None
) -> str:
    done = runner.run(["git", *args], cwd=root, env=env, capture_stdout=True, stream=False)
    return (done.stdout or "").strip()


def _remote_tip(runner: Runner, root: Path, auth: Mapping[str, str | None]) -> str:
    """The commit the update branch points at on ``origin`` (empty when it has none)."""
    done = runner.run(
        ["git", "ls-remote", "origin", f"refs/heads/{UPDATE_BRANCH}"],
        cwd=root,
        env=auth,
        capture_stdout=True,
        stream=False,
        retry_on=NETWORK_ERRORS,
    )
    return (done.stdout or "").split("\t", 1)[0].strip()


def _pushed_lock(runner: Runner, root: Path, auth: Mapping[str, str | None]) -> str:
    """The lock's blob id on the update branch as ``origin`` has it (empty: none there)."""
    runner.run(
        ["git", "fetch", "--quiet", "--depth=1", "origin", f"refs/heads/{UPDATE_BRANCH}"],
        cwd=root,
        env=auth,
        stream=False,
        retry_on=NETWORK_ERRORS,
    )
    done = runner.run(
        ["git", "rev-parse", "--verify", "--quiet", f"FETCH_HEAD:{LOCK}"],
        cwd=root,
        check=False,
        capture_stdout=True,
        stream=False,
    )
    return (done.stdout or "").strip() if done.ok else ""


def _commit(runner: Runner, root: Path, blob: str, message: str) -> str:
    """A commit of HEAD's tree with the lock replaced by *blob*, made in a private index."""
    with tempfile.TemporaryDirectory(prefix="ci-tasks-index-") as folder:
        index = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
        _git(runner, root, "read-tree", "HEAD", env=index)
        _git(
            runner, root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{LOCK}", env=index
        )
        tree = _git(runner, root, "write-tree", env=index)
    return _git(
        runner, root, "commit-tree", tree, "-p", "HEAD", "-m", message, env=git.bot_identity()
    )


def push_branch(runner: Runner, root: Path, message: str) -> bool:
    """Push the work tree's lock to the update branch; ``False`` when it is already there."""
    auth = git.push_auth(runner.env)
    blob = _git(runner, root, "hash-object", "-w", "--", LOCK)
    tip = _remote_tip(runner, root, auth)
    if tip and _pushed_lock(runner, root, auth) == blob:
        return False
    commit = _commit(runner, root, blob, message)
    runner.run(
        [
            "git",
            "push",
            "--quiet",
            # Only over what the branch was a moment ago: nobody's push is lost.
            f"--force-with-lease=refs/heads/{UPDATE_BRANCH}:{tip}",
            "origin",
            f"{commit}:refs/heads/{UPDATE_BRANCH}",
        ],
        cwd=root,
        env=auth,
        stream=False,
        retry_on=NETWORK_ERRORS,
    )
    return True


def _refused(status: int, answer: Any) -> str | None:
    """Why GitHub refused the write, when it is the repository setting (a 403)."""
    message = str(answer.get("message") or "") if isinstance(answer, dict) else ""
    if status == 403 and NOT_PERMITTED in message:  # noqa: PLR2004 - HTTP status
        return message
    return None


def open_or_update(
    client: GitHubClient,
    changes: Sequence[PackageChange],
    *,
    base: str | None,
    warn: Callable[[str], None],
) -> str:
    """Open the update pull request, or update the open one; returns what was done.

    Never a second one: an open pull request from the update branch is PATCHed (only
    when its title or body would change). When the repository does not let workflows
    open pull requests, that is one warning naming the setting, not a failure.
    """
    text = body(changes)
    repo = f"{client.base_url}/repos/{client.repository}"
    found = client.open_pulls(UPDATE_BRANCH)
    if found:
        pull = found[0]
        if pull["title"] == TITLE and pull["body"] == text:
            return f"#{pull['number']} unchanged"
        status, answer = client.write(
            "PATCH", f"{repo}/pulls/{pull['number']}", {"title": TITLE, "body": text}
        )
        done = f"#{pull['number']} updated"
    else:
        payload = {
            "title": TITLE,
            "head": UPDATE_BRANCH,
            "base": base or client.default_branch(),
            "body": text,
        }
        status, answer = client.write("POST", f"{repo}/pulls", payload)
        number = answer.get("number") if isinstance(answer, dict) else None
        done = f"#{number} opened"
    if _refused(status, answer):
        warn(
            f"the lock is pushed to {UPDATE_BRANCH}, but GitHub does not let workflows "
            f"open pull requests here (403); allow it in {SETTING}"
        )
        return "not permitted"
    if status not in {200, 201}:
        why = answer.get("message") if isinstance(answer, dict) else None
        msg = (
            f"GitHub API /repos/{client.repository}/pulls: answered HTTP {status}"
            + (f" ({why})" if why else "")
            + f"; the token must {NEEDS}"
        )
        raise ServiceUnavailable(msg)
    return done


def dispatch_ci(client: GitHubClient) -> str:
    """Start ``ci.yml`` on the update branch; what was done, or a one-line refusal."""
    status, answer = client.dispatch_workflow(CI_FILE, UPDATE_BRANCH)
    if status in {200, 204}:
        return f"{CI_FILE} dispatched on it"
    why = answer.get("message") if isinstance(answer, dict) else None
    msg = (
        f"GitHub API /repos/{client.repository}/actions/workflows/{CI_FILE}/dispatches: "
        f"answered HTTP {status}"
        + (f" ({why})" if why else "")
        + f"; the lock is pushed to {UPDATE_BRANCH}, but the token must {DISPATCH_NEEDS}"
    )
    raise ServiceUnavailable(msg)


def publish(
    runner: Runner,
    root: Path,
    client: GitHubClient,
    changes: Sequence[PackageChange],
    *,
    base: str | None,
    warn: Callable[[str], None],
    dispatch: bool = True,
) -> str:
    """Push the lock to the update branch, open or update its pull request, start its CI.

    Nothing is written when *changes* is empty (the lock on HEAD is current); a branch
    already holding this lock is not pushed again, nor its CI started again. With
    *dispatch*, a push is followed by ``ci.yml`` dispatched on the branch.
    """
    if not changes:
        return "nothing to update"
    message = f"Update the CI environment ({LOCK})\n\n" + "\n".join(c.line.strip() for c in changes)
    try:
        pushed = push_branch(runner, root, message)
    except CommandFailed as exc:
        # Git refusing (no origin, no access, a lost lease) is "could not run", not a finding.
        lines = [line for line in exc.tail.splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"exit code {exc.returncode}"
        msg = f"{exc.command}: {why} (the lock is updated here, not pushed to {UPDATE_BRANCH})"
        raise CITasksError(msg) from None
    done = open_or_update(client, changes, base=base, warn=warn)
    said = f"{UPDATE_BRANCH} {'pushed' if pushed else 'already current'}; pull request {done}"
    if pushed and dispatch:
        said += f"; {dispatch_ci(client)}"
    return said


def client_for(
    root: Path, env: Mapping[str, str], policy: RetryPolicy, timeout: float
) -> GitHubClient:
    """The GitHub client for the update, from the environment Actions sets.

    The repository is ``GITHUB_REPOSITORY`` (else the ``origin`` remote), the token
    ``GITHUB_TOKEN`` or ``GH_TOKEN`` (required: the pull request needs one), the API
    ``GITHUB_API_URL``.
    """
    token = token_from(env)
    if not token:
        msg = "--pull-request: no token; set GITHUB_TOKEN (or GH_TOKEN) to one that can " + NEEDS
        raise ConfigError(msg)
    masking.default_masker().add(token)
    remote = None
    if not env.get("GITHUB_REPOSITORY"):
        try:
            remote = git.text(root, "remote", "get-url", "origin")
        except (git.GitError, ToolMissingError):
            remote = None
    return GitHubClient(
        repository=resolve_repository("", env, remote),
        http=api_session(policy),
        base_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL,
        token=token,
        timeout=30.0,
        deadline=time.monotonic() + timeout,
        needs=NEEDS,
    )
