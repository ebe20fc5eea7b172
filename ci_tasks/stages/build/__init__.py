"""The ``build`` stage: build, check, reproduce and install the distributions."""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.build.config import BuildConfig
from ci_tasks.stages.build.session import build, register

STAGE: StageSpec = StageSpec(
    name="build", section=BuildConfig, register=register, run=build, report="build"
)

__all__ = ["STAGE", "build", "register"]
