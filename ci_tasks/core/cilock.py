"""The CI environment's lock: where it lives, whether it is current, where updates go.

An adopted project's ``noxfile.py`` carries a PEP 723 block (nox, ci-tasks) locked by
uv into ``noxfile.py.lock``. Adoption writes and refreshes that lock; readiness asks
whether it is current; the scheduled update pushes a newer one to :data:`UPDATE_BRANCH`.
All three share what is here.
"""

from __future__ import annotations

from pathlib import Path

from ci_tasks.core.errors import CITasksError, ToolMissingError
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.runner import Runner

NOXFILE = "noxfile.py"
LOCK = "noxfile.py.lock"
"""Where ``uv lock --script noxfile.py`` puts the lock: beside the script, ``.lock`` added."""
UPDATE_BRANCH = "ci-tasks/update-ci-lock"
"""The one branch (and pull request) the scheduled lock update writes to."""


def uv_binary() -> str:
    """The uv executable (the uv wheel is one of ci_tasks' dependencies)."""
    import uv  # noqa: PLC0415 - imported only where uv is run

    try:
        return str(uv.find_uv_bin())
    except FileNotFoundError:
        msg = "uv is not installed; install it (https://docs.astral.sh/uv/)"
        raise ToolMissingError(msg) from None


def is_current(root: Path, runner: Runner) -> bool:
    """Whether ``noxfile.py.lock`` is current with the noxfile's block (``uv lock --check``).

    uv exits 1 for a stale lock; anything else means it could not tell (no index, a
    broken block), which raises :class:`CITasksError` with uv's last line rather than
    reading as stale.
    """
    done = runner.run(
        [uv_binary(), "lock", "--script", NOXFILE, "--check"],
        cwd=root,
        check=False,
        retry_on=NETWORK_ERRORS,
    )
    if done.returncode > 1:
        lines = done.tail.strip().splitlines()
        msg = (
            f"`uv lock --script {NOXFILE} --check` could not tell whether {LOCK} is current "
            f"(exit code {done.returncode}): {lines[-1] if lines else 'no output'}"
        )
        raise CITasksError(msg)
    return done.returncode == 0
