"""The ``tests`` stage: pytest with reruns, flaky-test records and quarantine."""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.tests.config import TestsConfig
from ci_tasks.stages.tests.session import register, tests

STAGE: StageSpec = StageSpec(
    name="tests", section=TestsConfig, register=register, run=tests, report="flaky"
)

__all__ = ["STAGE", "register", "tests"]
