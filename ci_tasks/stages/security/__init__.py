"""The ``security`` stage: bandit, pip-audit over the lock, ``uv pip check``, zizmor.

The scanners (``_bandit``, ``_pip_audit``, ``_uv_check``, ``_zizmor``) share one small
interface (``_model``); :mod:`.session` runs them all and gives one verdict (``_verdict``).
"""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.security._model import Finding, ScanContext, Scanner, ScanResult
from ci_tasks.stages.security._verdict import Outcome, judge
from ci_tasks.stages.security.config import SecurityConfig
from ci_tasks.stages.security.session import SCANNERS, baseline, register, run_scanners, security

USAGE = """\
usage: nox -s security

bandit, pip-audit over uv.lock, uv pip check and zizmor: one report, one verdict, fail
closed. This session takes no arguments; it is configured in [tool.ci-tasks.security]
(severity, ignores with a reason and an expiry date, the vulnerability service).
"""

STAGE: StageSpec = StageSpec(
    name="security",
    section=SecurityConfig,
    register=register,
    run=security,
    report="security",
    baseline=baseline,
    usage=USAGE,
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
