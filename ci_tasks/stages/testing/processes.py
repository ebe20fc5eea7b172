"""The pytest processes a tests session runs, side by side or one, and what they left.

A session runs its suite as one pytest process, or as several side by side, each a part
of the suite split by recorded durations (:mod:`~ci_tasks.stages.testing.planning`). Not
pytest-xdist: its controller handles every test's reports one after another, and on two
cores that costs more than the second core gives (pypa/packaging's 62,435 tests: 61 s
serially, 107 s with ``-n 2``, 36 s as two processes; ``benchmarks/tests_overhead.py``).
The parts' records, JUnit files and coverage data are merged into the session's one set
of outputs.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_tasks.core.runner import Completed, Job
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.testing import durations, flaky, junit
from ci_tasks.stages.testing.command import Shard, autoload_disabled, pytest_command, pytest_env
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.coverage import Measure
from ci_tasks.stages.testing.environment import usable_cores
from ci_tasks.stages.testing.exit_codes import combined_exit_code
from ci_tasks.stages.testing.file_split import FileSplit
from ci_tasks.stages.testing.outputs import Outputs
from ci_tasks.stages.testing.planning import Plan

_Record = tuple[flaky.RunResult | None, durations.PartTimes | None]


@dataclasses.dataclass(frozen=True)
class PytestRun:
    """What the session's pytest processes left, together: exit code, result, last lines."""

    code: int
    run: flaky.RunResult | None
    tail: str
    seconds: float
    profile: durations.Profile | None = None
    """How much of the tests' time was CPU, and what a process took besides its tests."""
    stalled: int = 0
    """Parts that stalled after the others ended and were run again alone."""


def _read_record(path: Path) -> _Record:
    """The record's run, and what its tests took (``None`` when it does not say)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        run = flaky.parse_record(data)
    except (OSError, KeyError, TypeError, ValueError):
        return None, None
    tests, cpu, wait = (data.get(k) for k in ("test_seconds", "cpu_seconds", "wait_seconds"))
    if not isinstance(tests, int | float) or not isinstance(cpu, int | float):
        return run, None
    waited = float(wait) if isinstance(wait, int | float) else None
    return run, durations.PartTimes(0.0, float(tests), float(cpu), waited)


def _clear_stale(root: Path, outputs: Outputs) -> None:
    """Remove what an earlier run left where this one writes."""
    for stale in (root / outputs.folder).glob(".coverage*"):
        stale.unlink()  # combining must see this run's data only
    (root / outputs.junit_xml).unlink(missing_ok=True)  # nor may an old JUnit file pass


def _jobs(
    ctx: StageContext,
    pytest_args: Sequence[str],
    outputs: Outputs,
    plan: Plan,
    folder: Path,
    *,
    shard: Shard | None,
    measure: Measure | None,
    costs: Path | None,
    strict: Sequence[str],
    variables: Mapping[str, str],
) -> list[Job]:
    """One job per pytest process, each writing its record as *folder*/``record-<n>.json``.

    Split by file, each part gets its own arguments (its files) and the file naming them.
    """
    config = ctx.section(TestsConfig)
    parts = plan.processes
    split = plan.files
    jobs = []
    for index in range(1, parts + 1):
        junit_xml = outputs.junit_xml if parts == 1 else outputs.junit_part(index)
        part_files = None
        if split.args:
            part_files = folder / f"files-{index}.json"
            part_files.write_text(json.dumps(_part_files(split, index - 1)), encoding="utf-8")
        command = pytest_command(
            config,
            split.args[index - 1] if split.args else pytest_args,
            measure=measure,
            xdist=plan.xdist,
            junit_xml=junit_xml,
            strict=strict,
            autoload=not autoload_disabled(ctx.runner.env, variables),
        )
        part = Shard(index, parts) if parts > 1 else None
        record = folder / f"record-{index}.json"
        env = pytest_env(
            ctx,
            record,
            outputs.coverage_part(index),
            shard=shard,
            part=part,
            costs=costs,
            project=variables,
            part_files=part_files,
        )
        jobs.append(Job(command, env, label=f"[{part.label}]" if part else ""))
    return jobs


def _part_files(split: FileSplit, index: int) -> dict[str, list[str]]:
    """What the recorder reads to tell its part's tests from its siblings' (``--lf``)."""
    if index != split.rest:
        return {"mine": list(split.files[index])}
    return {"others": sorted(f for i, g in enumerate(split.files) if i != index for f in g)}


STALL_FLOOR = 60.0
"""Seconds a part may go on past the start once another part has ended, at least."""
STALL_FACTOR = 3.0
"""And at least this many times what the longest part that ended took."""


def _stall_after(longest: float) -> float:
    return max(STALL_FLOOR, STALL_FACTOR * longest)


def _run_jobs(ctx: StageContext, jobs: Sequence[Job]) -> list[Completed]:
    """Run one pytest in the foreground, or several side by side (never raising).

    A part still running long after the others ended is stopped and run again alone,
    once they are done: parts that share a resource the suite assumes is its own (a
    session fixture's fixed port) wait on each other forever, and the project's own
    serial run would have passed. The warning says so; the profile then keeps the suite
    in one process (:attr:`durations.Profile.split_only_failures`).
    """
    runner = ctx.runner.with_options(cwd=ctx.root)
    if len(jobs) == 1:
        return [runner.run(jobs[0].command, env=jobs[0].env, check=False)]
    done = runner.run_parallel(jobs, stall_after=_stall_after)
    for index, completed in enumerate(done):
        if not completed.stalled:
            continue
        job = jobs[index]
        ctx.output.annotate(
            "warning",
            f"pytest process {job.label or index + 1} was still running {completed.duration:.0f} "
            "s in, long after the other parts ended: its tests run again alone. The suite "
            "is not safe to split (a resource its tests share, such as a fixed port?); it "
            "runs in one process from now on",
            title="tests: a part stalled",
        )
        again = runner.run(job.command, env=job.env, check=False)
        done[index] = dataclasses.replace(again, stalled=True)
    return done


def _together(
    done: Sequence[Completed],
    records: Sequence[_Record],
    seconds: float,
    previous: durations.Profile | None,
) -> PytestRun:
    """The processes' exit codes, records and times as one run's."""
    code = combined_exit_code([d.returncode for d in done])
    tail = "\n".join(d.tail for d in done)
    runs = [run for run, _ in records if run is not None]
    whole = flaky.merge_runs(runs) if len(runs) == len(records) else None
    times = [
        dataclasses.replace(part, wall=d.duration)
        for d, (_, part) in zip(done, records, strict=True)
        if part is not None
    ]
    profile = durations.measured_profile(times, usable_cores(), previous)
    return PytestRun(code, whole, tail, seconds, profile, sum(1 for d in done if d.stalled))


def run_pytest(
    ctx: StageContext,
    pytest_args: Sequence[str],
    outputs: Outputs,
    plan: Plan,
    *,
    shard: Shard | None,
    costs: dict[str, float],
    measure: Measure | None,
    previous: durations.Profile | None = None,
    strict: Sequence[str] = (),
    variables: Mapping[str, str] | None = None,
) -> PytestRun:
    """Run the suite as *plan* says (never raising on exit codes); merge what it left.

    *previous* is the suite's recorded profile, which this run's measures update; *strict*
    the strict flags pytest gets; *variables* those the project's test command sets.
    """
    parts = plan.processes
    _clear_stale(ctx.root, outputs)
    with tempfile.TemporaryDirectory(prefix="ci-tasks-pytest-") as tmp:
        folder = Path(tmp)
        costs_file = None
        if shard is not None or parts > 1:
            costs_file = folder / "durations.json"
            costs_file.write_text(json.dumps(costs), encoding="utf-8")
        jobs = _jobs(
            ctx,
            pytest_args,
            outputs,
            plan,
            folder,
            shard=shard,
            measure=measure,
            costs=costs_file,
            strict=strict,
            variables=variables or {},
        )
        start = time.monotonic()
        done = _run_jobs(ctx, jobs)
        seconds = time.monotonic() - start
        records = [_read_record(folder / f"record-{index}.json") for index in range(1, parts + 1)]
        if parts > 1:
            junit_parts = [ctx.root / outputs.junit_part(index) for index in range(1, parts + 1)]
            junit.merge_files(junit_parts, ctx.root / outputs.junit_xml)
    return _together(done, records, seconds, previous)
