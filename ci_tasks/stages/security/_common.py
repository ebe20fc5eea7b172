"""What the scanner modules share: running a tool without losing its result."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core.errors import CommandTimedOut
from ci_tasks.core.retry import RetryOn
from ci_tasks.core.runner import Completed
from ci_tasks.stages.security._model import ScanContext


def run_tool(
    ctx: ScanContext,
    command: Sequence[str],
    *,
    capture_stdout: bool = False,
    stream: bool = True,
    retry_on: RetryOn | None = None,
) -> Completed | str:
    """Run *command* in the project; its :class:`Completed`, or a one-line error.

    Exit codes are the scanner's to interpret, so none raises here; a timeout becomes a
    one-line error so the other scanners still run. A missing tool still raises
    (:class:`~ci_tasks.errors.ToolMissingError`): the session could not run.
    """
    try:
        return ctx.runner.run(
            command,
            cwd=ctx.root,
            check=False,
            capture_stdout=capture_stdout,
            stream=stream and not capture_stdout,
            retry_on=retry_on,
        )
    except CommandTimedOut as exc:
        return exc.message


def tool_version(ctx: ScanContext, tool: str) -> str | None:
    """The version a tool reports (``<name> X.Y.Z`` on its first line), or ``None``."""
    done = run_tool(ctx, [ctx.tool(tool), "--version"], capture_stdout=True, stream=False)
    if isinstance(done, str) or not done.ok or not done.stdout:
        return None
    words = done.stdout.strip().splitlines()[0].split()
    return next((w for w in words if w[:1].isdigit()), None)


def last_line(text: str) -> str:
    """The last non-blank line of *text* (what a crash says last), or ``""``."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def read_json_file(path: Path) -> tuple[Any, str | None]:
    """The JSON in *path* and ``None``, or ``None`` and why it could not be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, f"wrote no report ({path.name} is missing)"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"wrote an unreadable report ({exc})"
