"""Where a session's pytest runs: the test environment, our plugins' folder, the cores.

pytest runs in the project's own environment (a nox session's, else the current one),
found beside its ``pytest``; our plugins (``_pytest/``) reach it through ``PYTHONPATH``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ci_tasks.core.stage import StageContext

PLUGIN_DIR = Path(__file__).parent / "_pytest"
"""Our pytest plugins and the coverage reporter, put first on the test ``PYTHONPATH``."""


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity, where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def test_python(ctx: StageContext) -> str:
    """The interpreter of the test environment: the one beside its pytest."""
    pytest = ctx.runner.which("pytest")
    python = Path(pytest).with_name("python") if pytest else None
    return str(python) if python and python.exists() else "python"


def has_coverage(ctx: StageContext) -> bool:
    """Whether coverage is installed in the test environment (beside its pytest).

    Not just anywhere on ``PATH``: ci_tasks' own environment has a coverage too.
    """
    pytest = ctx.runner.which("pytest")
    return pytest is not None and Path(pytest).with_name("coverage").exists()


def plugin_pythonpath(ctx: StageContext) -> str:
    """``PYTHONPATH`` with our plugin folder first, the session's own entries after it."""
    path = [str(PLUGIN_DIR), ctx.runner.env.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in path if p)
