"""ci_tasks: every CI stage as a nox session, the same on a laptop and in GitHub Actions."""

from __future__ import annotations

from ci_tasks import core as _core
from ci_tasks.core.actions import Output
from ci_tasks.core.config import Config, load_config
from ci_tasks.core.errors import (
    CheckFailed,
    CITasksError,
    CommandFailed,
    CommandTimedOut,
    ConfigError,
    ServiceUnavailable,
    ToolMissingError,
    UsageError,
)
from ci_tasks.core.retry import NETWORK_ERRORS, RetryOn, RetryPolicy, set_testing
from ci_tasks.core.runner import Completed, Runner, run
from ci_tasks.core.stage import StageContext, judge, run_stage
from ci_tasks.core.verdict import Status, Verdict, unverified
from ci_tasks.registry import register
from ci_tasks.script import main

__all__ = [
    "NETWORK_ERRORS",
    "CITasksError",
    "CheckFailed",
    "CommandFailed",
    "CommandTimedOut",
    "Completed",
    "Config",
    "ConfigError",
    "Output",
    "RetryOn",
    "RetryPolicy",
    "Runner",
    "ServiceUnavailable",
    "StageContext",
    "Status",
    "ToolMissingError",
    "UsageError",
    "Verdict",
    "__version__",
    "judge",
    "load_config",
    "main",
    "register",
    "run",
    "run_stage",
    "set_testing",
    "unverified",
]


def __getattr__(name: str) -> str:
    """``__version__`` when first asked for (:mod:`ci_tasks.core` reads it lazily)."""
    if name == "__version__":
        return str(_core.__version__)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
