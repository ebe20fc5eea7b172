"""The one list of stages, and ``ci_tasks.register()``, which puts them into a noxfile.

Adding a stage is one folder under :mod:`ci_tasks.stages` and one line in :data:`STAGES`.
Importing this module hands every stage's configuration section to the loader and every
in-process stage to the others (``preflight``), so neither needs to import a stage.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from ci_tasks.core import config as config_mod
from ci_tasks.core import stage as stage_mod
from ci_tasks.core.config import Config, load_config
from ci_tasks.core.errors import EXIT_ERROR, CITasksError
from ci_tasks.core.stage import StageSpec
from ci_tasks.stages import build, lint, preflight, readiness, security, smoke, tests

STAGES: tuple[StageSpec, ...] = (
    lint.STAGE,
    tests.STAGE,
    security.STAGE,
    build.STAGE,
    readiness.STAGE,
    smoke.STAGE,
    preflight.STAGE,
)

SESSIONS: dict[str, StageSpec] = {spec.name: spec for spec in STAGES}

for _spec in STAGES:
    config_mod.register_section(_spec.name, _spec.section)
    if _spec.run is not None:
        stage_mod.add_runnable(_spec.name, _spec.run)
    if _spec.report is not None:
        stage_mod.add_report(_spec.name, _spec.report)
    if _spec.usage is not None:
        stage_mod.add_usage(_spec.name, _spec.usage)


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
        SESSIONS[name].register(cfg)
    return cfg
