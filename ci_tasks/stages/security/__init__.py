"""The ``security`` stage: bandit, pip-audit over the lock, ``uv pip check``, zizmor.

The scanners (``_bandit``, ``_pip_audit``, ``_uv_check``, ``_zizmor``) share one small
interface (``_model``); :mod:`.session` runs them all and gives one verdict (``_verdict``).
"""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.security.config import SecurityConfig
from ci_tasks.stages.security.session import (
    SCANNERS,
    Finding,
    Outcome,
    ScanContext,
    Scanner,
    ScanResult,
    judge,
    register,
    run_scanners,
    security,
)

STAGE: StageSpec = StageSpec(
    name="security",
    section=SecurityConfig,
    register=register,
    run=security,
    report="security",
)

__all__ = [
    "SCANNERS",
    "STAGE",
    "Finding",
    "Outcome",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "judge",
    "register",
    "run_scanners",
    "security",
]
