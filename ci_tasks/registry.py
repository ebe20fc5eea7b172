"""``ci_tasks.register()``: put the CI stages into the noxfile that calls it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from ci_tasks import build, lint, preflight, readiness, security, smoke, testsuite
from ci_tasks.config import Config, load_config
from ci_tasks.errors import EXIT_ERROR, CITasksError
from ci_tasks.stage import Stage

# Adding a stage is one line here.
SESSIONS: dict[str, Callable[[Config], None]] = {
    "lint": lint.register,
    "tests": testsuite.register,
    "security": security.register,
    "build": build.register,
    "readiness": readiness.register,
    "smoke": smoke.register,
    "preflight": preflight.register,
}

# The stages preflight can run, by name; adding one to preflight is one line here.
STAGES: dict[str, Stage] = {
    "lint": lint.lint,
    "tests": testsuite.tests,
    "security": security.security,
    "build": build.build,
}


def register(
    sessions: Iterable[str] | None = None,
    *,
    config: Config | None = None,
    project: str | Path | None = None,
) -> Config:
    """Register ci_tasks' sessions with nox; returns the configuration they use.

    Call it from a ``noxfile.py``. Registration is explicit rather than a side effect of
    importing, so a noxfile run as a script (``nox.main()``) sees the sessions too.
    *sessions* picks a subset (default: all); *project* is the folder holding
    ``pyproject.toml`` (default: the nearest one above the working directory).
    An invalid configuration ends nox here with a one-line error and exit code 2.
    """
    try:
        cfg = config or load_config(project)
        names = list(SESSIONS) if sessions is None else list(sessions)
        unknown = [n for n in names if n not in SESSIONS]
        if unknown:
            msg = f"unknown session {unknown[0]!r}; ci_tasks provides: {', '.join(SESSIONS)}"
            raise CITasksError(msg)
    except CITasksError as exc:
        print(f"ci-tasks: error: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(EXIT_ERROR) from None
    for name in names:
        SESSIONS[name](cfg)
    return cfg
