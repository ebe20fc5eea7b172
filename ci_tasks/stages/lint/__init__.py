"""The ``lint`` stage: ruff, mypy where configured, the lock and the pinning policy."""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.lint.config import LintConfig
from ci_tasks.stages.lint.session import baseline, lint, register

USAGE = """\
usage: nox -s lint [-- RUFF_CHECK_ARGS ...]

ruff check, ruff format --check, uv lock --check, the pinning policy and (when configured)
mypy; every finding with its rule, file and line.

positional arguments:
  RUFF_CHECK_ARGS  passed to `ruff check` (e.g. --fix, --select E501); see
                   `ruff check --help`. The other checks take no arguments; they are
                   configured in [tool.ci-tasks.lint].
"""

STAGE: StageSpec = StageSpec(
    name="lint",
    section=LintConfig,
    register=register,
    run=lint,
    report="lint",
    baseline=baseline,
    usage=USAGE,
)

__all__ = ["STAGE", "lint", "register"]
