"""Release readiness: a weighted score over evidence, a gate, a checklist and a cache.

The model and score (:mod:`.model`), the checks (:mod:`.checks`), the evidence they
read (:mod:`.evidence`), the GitHub client (:mod:`.github`), the checklist
(:mod:`.checklist`), the cache (:mod:`.cache`), the badge, trend and auto-commit;
:mod:`.session` is the stage. Registering the session imports none of them: every nox
start registers readiness (0.06 s of imports), few run it, so :mod:`.session` loads when
it runs or prints its help.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_tasks.core.stage import StageSpec, nox_session
from ci_tasks.stages.readiness.config import ReadinessConfig

if TYPE_CHECKING:
    from ci_tasks.core.config import Config
    from ci_tasks.core.stage import StageContext
    from ci_tasks.core.verdict import Verdict


def readiness(ctx: StageContext) -> Verdict | None:
    """Release readiness: score, checklist and cache (--check-only gates at the threshold)."""
    from ci_tasks.stages.readiness import session  # noqa: PLC0415 - loaded when it runs

    return session.readiness(ctx)


def usage() -> str:
    """What ``nox -s readiness -- --help`` prints."""
    from ci_tasks.stages.readiness import session  # noqa: PLC0415 - loaded when asked

    return session.FLAGS.usage()


def register(config: Config) -> None:
    """Register the ``readiness`` nox session (no virtualenv: it runs no tools)."""
    # Tagged "release", not "ci": it reads the other stages' reports rather than being one.
    nox_session(readiness, name="readiness", config=config, venv_backend="none", tags=("release",))


STAGE: StageSpec = StageSpec(
    name="readiness", section=ReadinessConfig, register=register, usage=usage, ci=False
)

__all__ = ["STAGE", "readiness", "register"]
