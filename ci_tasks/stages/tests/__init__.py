"""The ``tests`` stage: pytest with reruns, flaky-test records and quarantine."""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.tests.config import TestsConfig
from ci_tasks.stages.tests.session import register, tests

USAGE = """\
usage: nox -s tests-<python> [-- [--fail-on-flaky] PYTEST_ARGS ...]

pytest from uv.lock with per-test reruns, parallel processes, JUnit XML, coverage, a
flaky-test report and quarantine (configured in [tool.ci-tasks.tests]).

options:
  --fail-on-flaky  fail when a test passed only on a rerun (also: fail-on-flaky = true)

positional arguments:
  PYTEST_ARGS      everything else is passed to pytest, after the configured options,
                   so it wins (e.g. -k fast, -x, tests/unit); see `pytest --help`
"""

STAGE: StageSpec = StageSpec(
    name="tests",
    section=TestsConfig,
    register=register,
    run=tests,
    report="flaky",
    usage=USAGE,
)

__all__ = ["STAGE", "register", "tests"]
