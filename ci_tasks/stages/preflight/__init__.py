"""The ``preflight`` stage: the local gate over the other stages, with a result cache.

Registering the session imports none of :mod:`.session` (every nox start registers it;
it loads when preflight runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_tasks.core.stage import StageSpec, nox_session
from ci_tasks.stages.preflight.config import PreflightConfig

if TYPE_CHECKING:
    from ci_tasks.core.config import Config
    from ci_tasks.core.stage import StageContext
    from ci_tasks.core.verdict import Verdict

USAGE = """\
usage: nox -s preflight [-- [--fail-fast | --no-fail-fast] [--no-cache] [--<stage>-args=ARGS]]

lint, tests and security in one session, as CI runs them; a stage whose inputs have not
changed since its last pass is answered from the cache (configured in
[tool.ci-tasks.preflight]).

options:
  --fail-fast          stop at the first stage that does not pass
  --no-fail-fast       run every stage even when fail_fast = true
  --no-cache           run every stage (also: CI_TASKS_NO_CACHE=1)
  --<stage>-args=ARGS  arguments for one stage, e.g. --tests-args="-k fast" (they go
                       where that stage's own posargs go: pytest, ruff check)
"""


def preflight(ctx: StageContext) -> Verdict | None:
    """Lint, tests and security in one go; unchanged inputs are answered from a cache."""
    from ci_tasks.stages.preflight import session  # noqa: PLC0415 - loaded when it runs

    return session.preflight(ctx)


def register(config: Config) -> None:
    """Register the ``preflight`` nox session (tagged ``local``: CI runs the stages itself)."""
    nox_session(
        preflight, name="preflight", config=config, python=config.python[0], tags=("local",)
    )


STAGE: StageSpec = StageSpec(
    name="preflight",
    section=PreflightConfig,
    register=register,
    usage=USAGE,
    ci=False,
    local=True,  # it runs the other stages on a laptop; CI runs them as jobs of their own
)

__all__ = ["STAGE", "USAGE", "preflight", "register"]
