"""The ``tests`` stage: pytest with reruns, flaky-test records and quarantine."""

from __future__ import annotations

from ci_tasks.core.stage import Document, StageSpec
from ci_tasks.stages.tests.config import TestsConfig
from ci_tasks.stages.tests.flaky import HISTORY_SCHEMA, HISTORY_VERSION
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


def written(section: TestsConfig) -> tuple[str, ...]:
    """The reports it leaves in the project: its paths' ``{session}`` as run in-process."""
    return tuple(p.replace("{session}", "tests") for p in (section.junit_xml, section.coverage_xml))


STAGE: StageSpec = StageSpec(
    name="tests",
    section=TestsConfig,
    register=register,
    run=tests,
    report="flaky",
    documents=(Document("flaky-history", HISTORY_SCHEMA, HISTORY_VERSION),),
    outputs=written,
    exports={
        "shards": lambda section: section.shards,
        # Whether its CI jobs read the last CI run's durations (session._recorded): a shard's
        # split, and workers = "auto", which plans from them on a fresh checkout.
        "reads_ci_durations": lambda section: section.shards > 1 or section.workers == "auto",
    },
    usage=USAGE,
)

__all__ = ["STAGE", "register", "tests"]
