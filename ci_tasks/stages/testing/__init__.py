"""The ``tests`` stage: pytest with reruns, flaky-test records and quarantine.

Registering the sessions imports none of :mod:`.session` (every nox start registers
them; it loads when a tests session runs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ci_tasks.core import matrix
from ci_tasks.core.stage import Document, StageSpec, nox_session
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.flaky import HISTORY_SCHEMA, HISTORY_VERSION

if TYPE_CHECKING:
    from pathlib import Path

    from ci_tasks.core.config import Config
    from ci_tasks.core.own_commands import OwnCommands
    from ci_tasks.core.stage import Adopted, StageContext

USAGE = """\
usage: nox -s tests-<python> [-- [--fail-on-flaky] [--wheel PATH] PYTEST_ARGS ...]

pytest from uv.lock with per-test reruns, parallel processes, JUnit XML, coverage, a
flaky-test report and quarantine (configured in [tool.ci-tasks.tests]).

options:
  --fail-on-flaky  fail when a test passed only on a rerun (also: fail-on-flaky = true)
  --wheel PATH     test this built wheel, or the one pure wheel in folder PATH (dist/),
                   instead of the source tree: the locked groups without the project,
                   then the wheel; a module the wheel lacks fails the run, named

positional arguments:
  PYTEST_ARGS      everything else is passed to pytest, after the configured options,
                   so it wins (e.g. -k fast, -x, tests/unit); see `pytest --help`
"""


def tests(ctx: StageContext) -> None:
    """Pytest from the locked environment, with reruns, a flaky report and quarantine."""
    from ci_tasks.stages.testing import session  # noqa: PLC0415 - loaded when it runs

    session.run_tests(ctx)


def _shard_stage(index: int, total: int) -> Callable[[StageContext], None]:
    def shard_tests(ctx: StageContext) -> None:
        from ci_tasks.stages.testing import session  # noqa: PLC0415 - loaded when it runs
        from ci_tasks.stages.testing.command import Shard  # noqa: PLC0415

        session.run_tests(ctx, Shard(index, total))

    shard_tests.__doc__ = f"Shard {index} of {total} of the tests (split by recorded durations)."
    return shard_tests


def register(config: Config) -> None:
    """Register ``tests`` as one nox session per configured Python version.

    With ``shards = N`` there are also N sessions per Python, ``tests-shard<k>of<N>``,
    and they, not ``tests``, are tagged ``ci``: the CI matrix fans out over N jobs, while
    ``nox -s tests`` still runs the whole suite on a laptop.
    """
    pythons = list(config.python)
    section = config.section(TestsConfig)
    total = section.shards
    # install = "wheel": CI's tests jobs hand the sessions the build job's wheel.
    ci = ("ci", matrix.WHEEL_TAG) if section.install == "wheel" else ("ci",)
    nox_session(tests, name="tests", config=config, python=pythons, tags=() if total > 1 else ci)
    if total > 1:
        for index in range(1, total + 1):
            nox_session(
                _shard_stage(index, total),
                name=f"tests-shard{index}of{total}",
                config=config,
                python=pythons,
                tags=ci,
                timeout_key="tests",
            )


def written(section: TestsConfig) -> tuple[str, ...]:
    """The reports it leaves in the project: its paths' ``{session}`` as run in-process."""
    return tuple(p.replace("{session}", "tests") for p in (section.junit_xml, section.coverage_xml))


def reads_ci_durations(section: TestsConfig, config: Config) -> bool:
    """Whether its CI jobs read the last CI run's durations (``session._recorded``).

    A shard's split does; ``workers = "auto"`` does to plan on a fresh checkout, unless
    the project's addopts run pytest-xdist (``-n``), which leaves the choice to xdist
    (:func:`~ci_tasks.stages.testing.planning.chooses_workers`). The noxfile's own tests
    session, in the place of ours, reads none.
    """
    from ci_tasks.stages.testing.pytest_config import xdist_in_addopts  # noqa: PLC0415 - read when workflows are made

    if "tests" in config.replaced:
        return False
    if section.shards > 1:
        return True
    return section.workers == "auto" and not xdist_in_addopts(config.root)


def adopted(own: OwnCommands, root: Path) -> Mapping[str, Adopted]:
    """What ``ci-tasks init`` writes into the section: the project's test command's scope."""
    from ci_tasks.stages.testing import scope  # noqa: PLC0415 - loaded when init asks

    return scope.adopted(own, root)


STAGE: StageSpec = StageSpec(
    name="tests",
    section=TestsConfig,
    register=register,
    run=tests,
    report="flaky",
    documents=(Document("flaky-history", HISTORY_SCHEMA, HISTORY_VERSION),),
    outputs=written,
    adopted=adopted,
    exports={
        "shards": lambda section, _config: section.shards,
        "reads_ci_durations": reads_ci_durations,
    },
    usage=USAGE,
)

__all__ = ["STAGE", "register", "tests"]
