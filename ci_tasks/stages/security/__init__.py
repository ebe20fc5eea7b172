"""The ``security`` stage: bandit, pip-audit over the lock, ``uv pip check``, zizmor.

The scanners (``_bandit``, ``_pip_audit``, ``_uv_check``, ``_zizmor``) share one small
interface (``_model``); :mod:`.session` runs them all and gives one verdict (``_verdict``).
Registering the session imports none of them (every nox start registers it); they load
when security runs, takes a baseline, or one of their names is asked of this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ci_tasks.core.stage import StageSpec, nox_session
from ci_tasks.stages.security.config import SecurityConfig

if TYPE_CHECKING:
    from ci_tasks.core.config import Config
    from ci_tasks.core.ignores import Candidate
    from ci_tasks.core.stage import StageContext
    from ci_tasks.core.verdict import Verdict
    from ci_tasks.stages.security._model import Finding, ScanContext, Scanner, ScanResult
    from ci_tasks.stages.security._verdict import Outcome, judge
    from ci_tasks.stages.security.session import SCANNERS, run_scanners

USAGE = """\
usage: nox -s security

bandit, pip-audit over uv.lock, uv pip check and zizmor: one report, one verdict, fail
closed. This session takes no arguments; it is configured in [tool.ci-tasks.security]
(severity, ignores with a reason and an expiry date, the vulnerability service).
"""

# The names this package gives, from the module that defines each (loaded when asked).
_LAZY = {
    "Finding": "_model",
    "ScanContext": "_model",
    "ScanResult": "_model",
    "Scanner": "_model",
    "Outcome": "_verdict",
    "judge": "_verdict",
    "SCANNERS": "session",
    "run_scanners": "session",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def security(ctx: StageContext) -> Verdict | None:
    """bandit, pip-audit over uv.lock and noxfile.py.lock, uv pip check, zizmor; fail closed."""
    from ci_tasks.stages.security import session  # noqa: PLC0415 - loaded when it runs

    return session.security(ctx)


def baseline(ctx: StageContext) -> list[Candidate]:
    """The findings bandit and zizmor report now, as baseline candidates."""
    from ci_tasks.stages.security import session  # noqa: PLC0415 - loaded when it runs

    return session.baseline(ctx)


def register(config: Config) -> None:
    """Register the ``security`` nox session (no venv: its tools are the CI environment's)."""
    nox_session(security, name="security", config=config, venv_backend="none")


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
