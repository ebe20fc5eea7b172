"""How a session runs its suite: how many pytest processes or xdist workers, and coverage.

``workers = "auto"`` chooses from the recorded durations, the suite's profile (its share
of CPU time, what a process costs besides its tests) and the cores; the user's own ``-n``,
or one in the project's addopts, leaves the choice to pytest-xdist in one pytest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ci_tasks.core.errors import UsageError
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.testing import coverage, durations
from ci_tasks.stages.testing.command import Shard
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.coverage import Measure
from ci_tasks.stages.testing.environment import has_coverage, test_python, usable_cores
from ci_tasks.stages.testing.file_split import FileSplit, Suite, split_by_file
from ci_tasks.stages.testing.pytest_config import asks_for_xdist, xdist_in_addopts


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a session runs its suite: pytest processes side by side, or xdist workers."""

    processes: int = 1
    xdist: int = 0
    own_xdist: bool = False
    """The user's ``-n`` or the project's addopts run pytest-xdist in one pytest."""
    files: FileSplit = dataclasses.field(default_factory=FileSplit)
    """Each process's files, where the suite is split by file (else split by test)."""

    @property
    def under_xdist(self) -> bool:
        """Whether pytest-xdist's workers run the tests."""
        return bool(self.xdist) or self.own_xdist


def chooses_workers(ctx: StageContext, pytest_args: Sequence[str]) -> bool:
    """Whether ``workers = "auto"`` chooses from the durations, as :func:`choose_plan` does.

    Not when the user's ``-n``, or one in the project's addopts, leaves it to xdist, nor on
    one core, where there is nothing to choose.
    """
    if ctx.section(TestsConfig).workers != "auto" or usable_cores() < 2:  # noqa: PLR2004
        return False
    return not asks_for_xdist(pytest_args) and not xdist_in_addopts(ctx.root)


def choose_plan(
    ctx: StageContext,
    recorded: tuple[durations.Store, durations.Profile | None],
    shard: Shard | None,
    pytest_args: Sequence[str],
    *,
    measured: bool,
    whence: str = "",
) -> Plan:
    """How many pytest processes (or xdist workers) run the suite; ``auto`` says why.

    *whence* says where durations not recorded here came from (the last CI run's), or
    why there are none; it ends the ``workers:`` line.
    """
    config = ctx.section(TestsConfig)
    xdist = config.parallel == "xdist"
    if asks_for_xdist(pytest_args):
        return Plan(own_xdist=True)  # the user's own -n decides: one pytest, its xdist
    own = xdist_in_addopts(ctx.root)
    if own:  # the project chose xdist in pytest's own configuration: one pytest, its -n
        ctx.output.line(f"workers: one pytest, with the {own} of pytest's own addopts")
        return Plan(own_xdist=True)
    if config.workers == "auto":
        store, profile = recorded
        seconds, tests = durations.serial_seconds(store), len(store)
        if seconds is not None and shard is not None:
            seconds, tests = seconds / shard.total, tests // shard.total
        choice = durations.choose_workers(
            seconds, usable_cores(), tests, xdist=xdist, profile=profile, coverage=measured
        )
        ctx.output.line(f"workers: {choice.reason}" + (f"; {whence}" if whence else ""))
        count = choice.workers
    else:
        count = config.workers
    if count < 2:  # noqa: PLR2004 - one process, or one worker, is no parallelism
        return Plan()
    return Plan(xdist=count) if xdist else Plan(processes=count)


def split_parts(plan: Plan, costs: Mapping[str, float], suite: Suite, shard: Shard | None) -> Plan:
    """*plan*'s processes split by file where that can be trusted, else by test (pure).

    A CI shard's parts split by test: every shard splits the whole suite's tests, so a
    shard's tests are known only once it has collected them.
    """
    if plan.processes < 2:  # noqa: PLR2004 - one process runs what it is given
        return plan
    if shard is not None:
        return dataclasses.replace(plan, files=FileSplit(reason="a CI shard splits by test"))
    return dataclasses.replace(plan, files=split_by_file(costs, suite, plan.processes))


def choose_measure(ctx: StageContext, decision: coverage.Decision, plan: Plan) -> Measure | None:
    """How coverage is measured, if it is (``auto`` says why).

    Coverage on but not installed is a configuration problem, named.
    """
    ctx.output.line(f"coverage: {decision.reason}")
    if not decision.on:
        return None
    tool = "pytest-cov" if plan.under_xdist else "coverage"
    if not has_coverage(ctx):
        msg = (
            f"coverage is on ({decision.reason}) but {tool} is not in the test "
            f"environment: add {tool} to the project's test dependency group, or set "
            "[tool.ci-tasks.tests] coverage = false"
        )
        raise UsageError(msg)
    return Measure.of(
        ctx.section(TestsConfig), ctx.root, xdist=plan.under_xdist, python=test_python(ctx)
    )
