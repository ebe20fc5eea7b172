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
STALE = "needs to be updated"
"""What uv says of a lock that no longer matches its requirements."""
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


def is_current(root: Path, runner: Runner, *, offline: bool = False) -> bool:
    """Whether ``noxfile.py.lock`` is current with the noxfile's block (``uv lock --check``).

    uv says a stale lock "needs to be updated"; anything else that fails means it could
    not tell (no index, an unsatisfiable block, which also exits 1, a broken lock) and
    raises :class:`CITasksError` with uv's cause rather than reading as stale. With
    *offline*, uv answers from its cache alone.
    """
    done = runner.run(
        [uv_binary(), "lock", "--script", NOXFILE, "--check", *(["--offline"] if offline else [])],
        cwd=root,
        check=False,
        stream=False,
        retry_on=NETWORK_ERRORS,
    )
    if done.ok:
        return True
    if done.returncode == 1 and STALE in done.tail:
        return False
    causes = [line.strip() for line in done.tail.splitlines() if line.strip()]
    first = next((c for c in causes if c.startswith(("error:", "cause:"))), "no output")
    last = next((c for c in reversed(causes) if c.startswith("cause:")), "")
    why = first if not last or last == first else f"{first} ({last})"
    msg = (
        f"`uv lock --script {NOXFILE} --check` could not tell whether {LOCK} is current "
        f"(exit code {done.returncode}): {why}"
    )
    raise CITasksError(msg)
