"""The ``lint`` stage: ruff (or black), mypy where the project runs it, the lock, pinning.

Registering the session imports none of :mod:`.session` (every nox start registers it;
it loads when lint runs or takes a baseline).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ci_tasks.core.stage import StageSpec, nox_session
from ci_tasks.stages.lint import toolchain
from ci_tasks.stages.lint.config import LintConfig

if TYPE_CHECKING:
    from pathlib import Path

    from ci_tasks.core import ignores
    from ci_tasks.core.config import Config
    from ci_tasks.core.own_commands import OwnCommands
    from ci_tasks.core.stage import Adopted, StageContext

USAGE = """\
usage: nox -s lint [-- RUFF_CHECK_ARGS ...]

ruff check and the project's format check (ruff format --check, or black --check where it
formats with black), uv lock --check, the pinning policy and mypy (where the project runs
mypy, or [tool.ci-tasks.lint] mypy = true); every finding with its rule, file and line.

positional arguments:
  RUFF_CHECK_ARGS  passed to `ruff check` (e.g. --fix, --select E501); see
                   `ruff check --help`. The other checks take no arguments; they are
                   configured in [tool.ci-tasks.lint].
"""


def lint(ctx: StageContext) -> None:
    """Ruff check and format, a current uv.lock, the pinning policy (and mypy if asked)."""
    from ci_tasks.stages.lint import session  # noqa: PLC0415 - loaded when it runs

    session.lint(ctx)


def baseline(ctx: StageContext) -> list[ignores.Candidate]:
    """What lint finds offline (no ``uv lock --check``), as baseline candidates."""
    from ci_tasks.stages.lint import session  # noqa: PLC0415 - loaded when it runs

    return session.baseline(ctx)


def register(config: Config) -> None:
    """Register the ``lint`` nox session; with a venv only when the project's env is needed."""
    section = config.section(LintConfig)
    own = toolchain.own_reader(config.root)  # read once, and only where a question needs it
    needs_env = toolchain.needs_env(
        config.root,
        mypy=toolchain.runs_mypy(config.root, setting=section.mypy, own=own),
        formatter=section.formatter,
        own=own,
    )
    nox_session(lint, name="lint", config=config, venv_backend="uv" if needs_env else "none")


def adopted(own: OwnCommands, _root: Path) -> Mapping[str, Adopted]:
    """What ``ci-tasks init`` writes into the section: the paths of the project's gates."""
    from ci_tasks.stages.lint import scope  # noqa: PLC0415 - loaded when init asks

    return scope.adopted(own)


STAGE: StageSpec = StageSpec(
    name="lint",
    section=LintConfig,
    register=register,
    run=lint,
    report="lint",
    baseline=baseline,
    usage=USAGE,
    adopted=adopted,
)

__all__ = ["STAGE", "baseline", "lint", "register"]
