"""ci_tasks: every CI stage as a nox session, the same on a laptop and in GitHub Actions."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ci-tasks")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from ci_tasks.actions import Output
from ci_tasks.config import Config, load_config
from ci_tasks.errors import (
    CheckFailed,
    CITasksError,
    CommandFailed,
    CommandTimedOut,
    ConfigError,
    ServiceUnavailable,
    ToolMissingError,
    UsageError,
)
from ci_tasks.registry import register
from ci_tasks.retry import NETWORK_ERRORS, RetryOn, RetryPolicy, set_testing
from ci_tasks.runner import Completed, Runner, run
from ci_tasks.stage import StageContext, run_stage

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
    "ToolMissingError",
    "UsageError",
    "__version__",
    "load_config",
    "register",
    "run",
    "run_stage",
    "set_testing",
]
