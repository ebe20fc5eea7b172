"""The ``tests`` stage: pytest in the session venv, installed from ``uv.lock``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_tasks.errors import CheckFailed, CommandFailed
from ci_tasks.stage import StageContext, install_locked

if TYPE_CHECKING:
    from ci_tasks.config import Config


def tests(ctx: StageContext) -> None:
    """Pytest from the locked environment (posargs go to pytest)."""
    if ctx.venv is not None:
        install_locked(ctx)
    try:
        ctx.runner.run(["pytest", *ctx.posargs], cwd=ctx.root)
    except CommandFailed as exc:
        msg = f"tests failed (pytest exit code {exc.returncode})"
        raise CheckFailed(msg) from None


def register(config: Config) -> None:
    """Register ``tests`` as one nox session per configured Python version."""
    from ci_tasks.stage import nox_session  # noqa: PLC0415

    nox_session(tests, name="tests", config=config, python=list(config.python))
