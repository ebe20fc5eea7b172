"""The ``smoke`` stage: wait until a deployed service is ready, then check it."""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.smoke.config import SmokeConfig
from ci_tasks.stages.smoke.session import FLAGS, register, smoke

STAGE: StageSpec = StageSpec(
    name="smoke",
    section=SmokeConfig,
    register=register,
    report="smoke",
    exports={"url": lambda section: section.url},
    usage=FLAGS.usage,
    ci=False,
)

__all__ = ["STAGE", "register", "smoke"]
