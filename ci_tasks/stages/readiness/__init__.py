"""Release readiness: a weighted score over evidence, a gate, a checklist and a cache.

The model and score (:mod:`.model`), the checks (:mod:`.checks`), the evidence they
read (:mod:`.evidence`), the GitHub client (:mod:`.github`), the checklist
(:mod:`.checklist`), the cache (:mod:`.cache`), the badge, trend and auto-commit;
:mod:`.session` is the stage.
"""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.readiness.config import ReadinessConfig
from ci_tasks.stages.readiness.model import Check, Result, Status, score
from ci_tasks.stages.readiness.session import FLAGS, Options, readiness, register, run

STAGE: StageSpec = StageSpec(
    name="readiness", section=ReadinessConfig, register=register, usage=FLAGS.usage, ci=False
)

__all__ = ["STAGE", "Check", "Options", "Result", "Status", "readiness", "register", "run", "score"]
