"""The ``lint`` stage: ruff, mypy where configured, the lock and the pinning policy."""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.lint.config import LintConfig
from ci_tasks.stages.lint.session import lint, register

STAGE: StageSpec = StageSpec(
    name="lint", section=LintConfig, register=register, run=lint, report="lint"
)

__all__ = ["STAGE", "lint", "register"]
