"""The ``preflight`` stage: the local gate over the other stages, with a result cache."""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.preflight.config import PreflightConfig
from ci_tasks.stages.preflight.session import USAGE, preflight, register

STAGE: StageSpec = StageSpec(
    name="preflight", section=PreflightConfig, register=register, usage=USAGE, ci=False
)

__all__ = ["STAGE", "preflight", "register"]
