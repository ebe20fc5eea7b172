"""The ``lint`` stage: ruff check and ruff format --check, from the locked tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_tasks.errors import CheckFailed, CommandFailed
from ci_tasks.stage import StageContext, install_locked

if TYPE_CHECKING:
    from ci_tasks.config import Config


def lint(ctx: StageContext) -> None:
    """Ruff check and ruff format --check (posargs go to ruff check)."""
    if ctx.venv is not None:
        install_locked(ctx)
    failures = []
    commands = [
        ["ruff", "check", *ctx.posargs, "."],
        ["ruff", "format", "--check", "."],
    ]
    if ctx.output.in_actions:
        commands[0].insert(2, "--output-format=github")
    for command in commands:
        try:
            ctx.runner.run(command, cwd=ctx.root)
        except CommandFailed as exc:
            failures.append(" ".join(command[:2]))
            ctx.output.line(exc.message, "error")
    if failures:
        msg = f"lint found problems ({', '.join(failures)})"
        raise CheckFailed(msg)


def register(config: Config) -> None:
    """Register the ``lint`` nox session."""
    from ci_tasks.stage import nox_session  # noqa: PLC0415

    nox_session(lint, name="lint", config=config)
