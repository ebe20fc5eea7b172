"""The ``tests`` stage: pytest from ``uv.lock`` with reruns, a flaky report and quarantine.

Reruns happen per test, inside pytest (pytest-rerunfailures); the session itself is
never retried, so a genuine failure fails once. Every attempt is recorded by a small
plugin (:mod:`ci_tasks_recorder`, loaded with ``-p`` from ``ci_tasks/_pytest``), which
is how flaky tests are told apart from passing and broken ones, and how each test's
duration is known: durations choose the workers, split shards and reveal slow tests.

Everything a session writes stays under ``.ci-tasks/<session>/`` (``tests-3.11``,
``tests-shard1of3-3.11``): JUnit XML, coverage XML and data, the flaky report and history.
So sessions of several Pythons, or the shards of one, never overwrite each other.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core import ignores, masking, own_commands, reports
from ci_tasks.core.coverage_evidence import pytest_addopts
from ci_tasks.core.errors import CheckFailed, CITasksError, UsageError
from ci_tasks.core.stage import StageContext, install_locked, write_stage_report
from ci_tasks.stages.testing import (
    ci_durations,
    coverage,
    durations,
    file_split,
    flaky,
    junit,
    wheel,
)
from ci_tasks.stages.testing import scope as test_scope
from ci_tasks.stages.testing.command import WHEEL_PACKAGES_ENV, Shard, usage_problem
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.coverage import CoverageTotal, Floor, Measure
from ci_tasks.stages.testing.exit_codes import ExitCode
from ci_tasks.stages.testing.outputs import Outputs
from ci_tasks.stages.testing.planning import (
    Plan,
    choose_measure,
    choose_plan,
    chooses_workers,
    split_parts,
)
from ci_tasks.stages.testing.processes import PytestRun, run_pytest
from ci_tasks.stages.testing.pytest_config import pytest_ini, strictness
from ci_tasks.stages.testing.scope import TestScope

FAIL_ON_FLAKY = "--fail-on-flaky"


@dataclasses.dataclass(frozen=True)
class Options:
    """The stage's own options, read from config and posargs."""

    fail_on_flaky: bool
    pytest_args: tuple[str, ...]
    """The user's own pytest arguments (posargs)."""
    scope: TestScope = dataclasses.field(default_factory=TestScope)
    wheel: Path | None = None
    """``--wheel PATH``: the built wheel to test (or a folder holding one pure wheel)."""

    @property
    def args(self) -> tuple[str, ...]:
        """What pytest is given: the posargs, else the project's own test command's scope."""
        return self.pytest_args or self.scope.args


def session_name(ctx: StageContext) -> str:
    """The nox session running the tests (``tests-3.11``), else ``tests``."""
    name = ctx.session.name if ctx.session is not None else ""
    return name if name.startswith("tests") else "tests"


def parse_posargs(
    posargs: Sequence[str], config: TestsConfig, scope: TestScope | None = None
) -> Options:
    """``--fail-on-flaky`` and ``--wheel PATH`` are ours; everything else goes to pytest."""
    rest: list[str] = []
    given: Path | None = None
    args = iter(posargs)
    for arg in args:
        if arg == wheel.WHEEL_FLAG:
            value = next(args, None)
            if value is None:
                msg = f"{wheel.WHEEL_FLAG} needs a path: a wheel, or the folder holding it"
                raise UsageError(msg)
            given = Path(value)
        elif arg.startswith(f"{wheel.WHEEL_FLAG}="):
            given = Path(arg.partition("=")[2])
        elif arg != FAIL_ON_FLAKY:
            rest.append(arg)
    flaky_flag = FAIL_ON_FLAKY in posargs
    return Options(config.fail_on_flaky or flaky_flag, tuple(rest), scope or TestScope(), given)


def _checked(pytest_run: PytestRun, pytest_args: Sequence[str]) -> flaky.RunResult:
    """The run's result, unless pytest's exit code says it could not do its job at all."""
    code, run = pytest_run.code, pytest_run.run
    if code == ExitCode.USAGE_ERROR:
        raise UsageError(usage_problem(pytest_run.tail, pytest_args))
    if code == ExitCode.NO_TESTS_COLLECTED:
        msg = "no tests were collected; a test stage that ran nothing cannot pass"
        raise CheckFailed(msg)
    if code == ExitCode.INTERNAL_ERROR:
        msg = "pytest stopped with an internal error (exit code 3); see its output above"
        raise CITasksError(msg)
    if run is None:
        msg = f"pytest ended (exit code {code}) without the ci_tasks recorder's result"
        raise CITasksError(msg)
    return run


def _record_history(ctx: StageContext, outputs: Outputs, entry: dict[str, Any]) -> None:
    path = ctx.root / outputs.history
    data = reports.read_json(path, ctx.output)
    runs = flaky.history_runs(data)
    if runs is None:
        reports.set_aside(path, "not a ci_tasks flaky history", ctx.output)
        runs = []
    reports.write_json(
        path, flaky.append_history(runs, entry, ctx.section(TestsConfig).history_size)
    )


def _read_durations(ctx: StageContext) -> tuple[durations.Store, durations.Profile | None]:
    """The recorded durations and the suite's profile (``None``: never measured)."""
    path = ctx.root / reports.REPORT_DIR / durations.FILE
    data = reports.read_json(path, ctx.output)
    store = durations.parse_store(data)
    if store is None:
        reports.set_aside(path, "not a ci_tasks test-durations file", ctx.output)
        return {}, None
    return store, durations.stored_profile(data)


def _tell(
    ctx: StageContext,
    run: flaky.RunResult,
    quarantine: flaky.Quarantine,
    slow: Sequence[durations.SlowTest],
) -> None:
    out = ctx.output
    for warned in run.warnings:
        out.annotate(
            "warning",
            warned.message,
            file=warned.file,
            line=warned.line,
            title=f"pytest {warned.category}",
        )
    if run.warnings:
        out.line(
            f"pytest warned about its configuration or markers: {len(run.warnings)} "
            "warning(s); a strict pytest refuses what they name (see strict:)",
            "warning",
        )
    for result in run.flaky:
        first = result.failures[0] if result.failures else ""
        out.annotate(
            "warning",
            f"flaky: passed on attempt {result.attempts} after: {first}",
            file=result.nodeid.split("::", 1)[0],
            title=f"flaky test {result.nodeid}",
        )
    if run.flaky:
        out.line(f"flaky: {len(run.flaky)} test(s) passed only on a rerun", "warning")
    if quarantine.entries:
        out.line(f"quarantined: {len(quarantine.excused)} failed", "warning")
        for nodeid in quarantine.excused:
            out.line(f"  quarantined failure: {nodeid}", "warning")
    for test in slow:
        out.annotate(
            "warning",
            f"slower: {test.describe()}",
            file=test.nodeid.split("::", 1)[0],
            title=f"slow test {test.nodeid}",
        )
    if slow:
        out.line(f"slower: {len(slow)} test(s) much slower than their recorded median", "warning")


def verdict_problems(
    code: int, run: flaky.RunResult, quarantine: flaky.Quarantine, *, fail_on_flaky: bool
) -> list[str]:
    """Why the run fails, given pytest's exit code and what the recorder saw (pure)."""
    problems = []
    failed = [r.nodeid for r in run.failed if r.nodeid not in quarantine.excused]
    if failed:
        problems.append(f"{len(failed)} test(s) failed: {', '.join(failed[:5])}")
    elif code not in (ExitCode.OK, ExitCode.TESTS_FAILED) or (
        code == ExitCode.TESTS_FAILED and not run.failed
    ):
        problems.append(f"pytest exited with code {code}")
    elif run.stopped:
        # Quarantined failures count toward --maxfail: excused, they still cut the run short.
        problems.append(f"pytest stopped early ({run.stopped}); not every test ran")
    problems += [f"quarantine of {e.test!r} expired on {e.until}" for e in quarantine.expired]
    if fail_on_flaky and run.flaky:
        problems.append(f"{len(run.flaky)} flaky test(s) and --fail-on-flaky is set")
    return problems


def in_ci_matrix(env: dict[str, str]) -> bool:
    """Whether this session is one job of the CI matrix (GitHub Actions).

    There the readiness gate judges the coverage floor on every tests job's data combined.
    """
    return env.get("GITHUB_ACTIONS") == "true"


def _mask_file(path: Path) -> None:
    """Mask secrets in a file a tool wrote that leaves the machine (JUnit XML: an artifact)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    masked = masking.mask(text)
    if masked != text:
        reports.atomic_write(path, masked)


def history_extra(
    outputs: Outputs, shard: Shard | None, pytest_run: PytestRun, plan: Plan
) -> dict[str, Any]:
    """What a history entry says besides the results: which session, shard and CI run."""
    run_id = os.environ.get("GITHUB_RUN_ID")
    attempt = os.environ.get("GITHUB_RUN_ATTEMPT", "1")
    results = pytest_run.run.results if pytest_run.run else ()
    return {
        "session": outputs.session,
        "shard": [shard.index, shard.total] if shard else None,
        "ci_run": f"{run_id}-{attempt}" if run_id else None,
        "seconds": round(pytest_run.seconds, 2),
        "serial_seconds": round(sum(r.duration for r in results), 2),
        "workers": plan.processes if plan.processes > 1 else plan.xdist,
        "parallel": "xdist" if plan.xdist else "processes",
    }


@dataclasses.dataclass(frozen=True)
class Recorded:
    """The durations a session plans from, and where they came from."""

    store: durations.Store
    profile: durations.Profile | None
    whence: str = ""
    """Empty: recorded here. Else the last CI run's (``by the durations CI run #1234
    recorded (40 tests)``), or why that run's could not be had."""


def _recorded(ctx: StageContext, shard: Shard | None, pytest_args: Sequence[str]) -> Recorded:
    """The durations recorded here; in CI, where none are, the last CI run's.

    A CI job starts from a fresh checkout: a shard reads every session's to split by
    time, and ``workers = "auto"`` its own session's to choose from (a couple of seconds
    of tests run in one process). Anything else plans as it would locally.
    """
    store, profile = _read_durations(ctx)
    fresh_ci = not store and in_ci_matrix(ctx.runner.env)
    if fresh_ci and (shard is not None or chooses_workers(ctx, pytest_args)):
        # A shard splits every test, so it reads every session's; workers, its own's.
        session, budget = (
            (None, ci_durations.BUDGET_SECONDS)
            if shard is not None
            else (session_name(ctx), ci_durations.WORKERS_BUDGET_SECONDS)
        )
        found = ci_durations.from_ci(
            ctx.root, ctx.runner.env, ctx.config.retry.policy(), session=session, budget=budget
        )
        whence = f"by {found.said}" if found.store else found.said
        recorded = Recorded(found.store, found.profile, whence)
    else:
        recorded = Recorded(store, profile)
    if shard is not None:
        ctx.output.line(f"shards: {_split_by(recorded)}")
    return recorded


def _split_by(recorded: Recorded) -> str:
    """How a shard splits the suite, and why."""
    if not recorded.store:
        return f"split by count: {recorded.whence or 'no recorded durations yet'}"
    here = f"by the recorded durations ({len(recorded.store)} tests)"
    return f"split {recorded.whence or here}"


def _confirm_serially(
    ctx: StageContext, prepared: Prepared, run: flaky.RunResult
) -> tuple[flaky.RunResult, tuple[str, ...]]:
    """Re-run a split run's failures in one process, as plain pytest would run them.

    A test that passes there failed only because the suite was split: it takes the serial
    verdict, and is named (a warning and the report's ``split_only``), never hidden. So
    are the tests that passed in the parts only on a rerun (:func:`flaky.confirm_serially`).
    """
    failed = [r.nodeid for r in run.results if r.outcome == "failed"]
    rerun = [r.nodeid for r in run.results if r.outcome == "passed" and r.attempts > 1]
    if not failed and not rerun:
        return run, ()
    again_said = f", {len(rerun)} passed only on a rerun" if rerun else ""
    ctx.output.line(
        f"split run: {len(failed)} failure(s){again_said}; re-running them in one process"
    )
    failed += rerun
    outputs = prepared.outputs
    again = Outputs(f"{outputs.session}/serial", f"{outputs.folder}/serial/junit.xml", "")
    serial = run_pytest(
        ctx,
        failed,
        again,
        Plan(),
        shard=None,
        costs={},
        measure=None,
        strict=prepared.flags,
        variables=prepared.env,
    )
    if serial.run is None:
        shutil.rmtree(ctx.root / again.folder, ignore_errors=True)
        return run, ()
    confirmed, cleared = flaky.confirm_serially(run, serial.run)
    if cleared:  # the session's JUnit says what its verdict says
        junit.take_passes_file(ctx.root / outputs.junit_xml, ctx.root / again.junit_xml)
    shutil.rmtree(ctx.root / again.folder, ignore_errors=True)
    for nodeid in cleared:
        ctx.output.annotate(
            "warning",
            "failed when the suite ran in parts, passed serially (plain pytest's verdict); "
            "it shares state with tests in another process: a file, a port, a database",
            file=nodeid.split("::", 1)[0],
            title=f"split-only failure {nodeid}",
        )
    if cleared:
        ctx.output.line(
            f"split-only: {len(cleared)} test(s) failed only in parts and passed serially; "
            "later runs use one process until it is fixed (or set workers)",
            "warning",
        )
    return confirmed, cleared


def _judge_coverage(
    ctx: StageContext, outputs: Outputs, measure: Measure | None, shard: Shard | None
) -> tuple[CoverageTotal | None, Floor | None, list[str]]:
    """Report the run's coverage once; the floor judged here, or said to be judged later.

    In GitHub Actions, and for a shard (which runs a part of the suite only), the readiness
    gate judges the floor on every tests job's coverage combined.
    """
    config = ctx.section(TestsConfig)
    total = coverage.report_coverage(ctx, outputs, measure.remap) if measure else None
    floor = coverage.coverage_floor(config, total) if measure is not None else None
    later = (in_ci_matrix(ctx.runner.env) or shard is not None) and floor is not None
    if total is not None:
        where = f"; {floor.source} {floor.percent:g} %" if floor else ""
        if later:
            where += ", judged by the readiness gate on every tests job combined"
        elif floor:
            where += f", judged on this run ({outputs.session})"
        ctx.output.line(f"coverage total: {total.shown()}{where}")
    problems = coverage.coverage_problems(floor, total, outputs.coverage_xml, combined_later=later)
    return total, floor, problems


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A session ready to run pytest: its options and outputs, what it recorded, its plan."""

    options: Options
    outputs: Outputs
    shard: Shard | None
    store: durations.Store
    """The recorded durations (in CI, where none are, the last CI run's: :func:`_recorded`)."""
    profile: durations.Profile | None
    plan: Plan
    measure: Measure | None
    strict: tuple[str, ...] = ()
    """The strict flags pytest gets (``strict = "auto"``: those the project's pytest uses)."""
    variables: dict[str, str] = dataclasses.field(default_factory=dict)
    """The variables the project's test command sets, expanded (:func:`test_scope.variables`)."""
    tested: wheel.Wheel | None = None
    """The built wheel the tests import (``--wheel``), in place of the source tree."""
    wheel_flags: tuple[str, ...] = ()
    """The pytest options that make them import it (:func:`wheel.pytest_flags`)."""

    @property
    def flags(self) -> tuple[str, ...]:
        """The options pytest gets before the posargs: strictness, then the wheel's."""
        return (*self.strict, *self.wheel_flags)

    @property
    def env(self) -> dict[str, str]:
        """The variables pytest runs with: the project's, and a tested wheel's."""
        if self.tested is None:
            return self.variables
        # The working directory must not come first on sys.path (coverage run -m, python -m).
        ours = {"PYTHONSAFEPATH": "1", WHEEL_PACKAGES_ENV: ",".join(self.tested.packages)}
        return {**self.variables, **ours}


@dataclasses.dataclass(frozen=True)
class Judged:
    """What a run came to: its results as judged, and why it fails (no problems: it passes)."""

    run: flaky.RunResult
    """The recorder's results; a split run's failures take their serial verdict."""
    cleared: tuple[str, ...]
    """The tests that failed only in parts and passed serially."""
    quarantine: flaky.Quarantine
    slow: tuple[durations.SlowTest, ...]
    total: CoverageTotal | None
    floor: Floor | None
    problems: tuple[str, ...]


def _prepare(ctx: StageContext, shard: Shard | None) -> Prepared:
    """Install the locked groups, clear stale outputs, read durations, plan, decide coverage."""
    config = ctx.section(TestsConfig)
    python = getattr(ctx.session, "python", None)  # nox's; None outside a session
    scope = test_scope.choose(
        own_commands.read(ctx.root),
        ctx.root,
        config,
        python if isinstance(python, str) else None,
    )
    options = parse_posargs(ctx.posargs, config, scope)
    ctx.output.line(scope.said() if not options.pytest_args else "scope: the posargs")
    variables = test_scope.variables(scope, ctx.root, ctx.runner.env)
    for skipped in variables.skipped:
        ctx.output.line(f"env: {skipped}", "warning")
    tested = None
    if ctx.venv is not None:
        ctx.output.line(f"groups: {ctx.config.group_choice().describe()}")
        chosen = tuple(dict.fromkeys([*ctx.config.dependency_groups, *scope.groups]))
        tested = _wheel_to_test(ctx, options.wheel)
        install_locked(
            ctx,
            chosen,
            extras=scope.extras,
            all_extras=scope.all_extras,
            wheel=tested.path if tested else None,
        )
        _tree_last(ctx.root, ctx.venv, tested=tested is not None)
    elif options.wheel is not None:
        msg = f"{wheel.WHEEL_FLAG} installs into a nox session's venv: nox -s tests-<python> -- ..."
        raise UsageError(msg)
    wheel_flags = _wheel_flags(ctx, tested, options.args)
    outputs = Outputs.of(config, session_name(ctx))
    reports.report_dir(ctx.root, ctx.output)  # pytest writes its files there itself
    coverage_xml = ctx.root / outputs.coverage_xml
    coverage_xml.unlink(missing_ok=True)  # a stale file must not pass for this run's total
    recorded = _recorded(ctx, shard, options.args)
    store, profile = recorded.store, recorded.profile
    decision = coverage.decide(ctx.root, config)
    plan = choose_plan(
        ctx,
        (store, profile),
        shard,
        options.args,
        measured=decision.on,
        whence=recorded.whence,
    )
    costs = durations.latest(store)
    plan = split_parts(plan, costs, file_split.suite_of(ctx.root, options.args, costs), shard)
    if plan.processes > 1:
        ctx.output.line(plan.files.said())
    measure = _measure_the_wheel(ctx, tested, choose_measure(ctx, decision, plan))
    strict = strictness(ctx.root, setting=config.strict)
    ctx.output.line(f"strict: {strict.reason}")
    return Prepared(
        options,
        outputs,
        shard,
        store,
        profile,
        plan,
        measure,
        strict.flags,
        variables.env,
        tested,
        tuple(wheel_flags),
    )


def _tree_last(root: Path, venv: Path, *, tested: bool) -> None:
    """Put the project folder last on the venv's ``sys.path`` while a wheel is tested.

    The editable install a wheel replaces had the folder on ``sys.path``; tests importing
    what the wheel does not ship (``tests.support``) still find it there, after the wheel.
    A run testing the tree again removes the file (its editable install does the same).
    """
    site = wheel.site_packages(venv)
    if site is None:
        return
    pth = site / wheel.TREE_PTH
    if tested:
        reports.atomic_write(pth, f"{root}\n")
    else:
        pth.unlink(missing_ok=True)


def _wheel_to_test(ctx: StageContext, given: Path | None) -> wheel.Wheel | None:
    """The wheel ``--wheel`` names, read; ``None`` without one, or where none is pure."""
    if given is None:
        return None
    path = given if given.is_absolute() else ctx.root / given
    found = wheel.choose(path)
    if found is None:
        ctx.output.line(
            f"wheel: {given.as_posix()} holds no pure-Python wheel (py3-none-any): a platform "
            "wheel is built for one OS, so the tests import the project from the source tree",
            "warning",
        )
        return None
    return wheel.read(found)


def _wheel_flags(
    ctx: StageContext, tested: wheel.Wheel | None, pytest_args: Sequence[str]
) -> list[str]:
    """The options that make pytest import *tested*, said in one line; none without it."""
    if tested is None:
        return []
    ini = pytest_ini(ctx.root)
    entries = ini.options.get("pythonpath", ()) if ini else ()
    if isinstance(entries, str):
        pythonpath = entries.split()
    else:
        pythonpath = [str(e) for e in entries] if isinstance(entries, list | tuple) else []
    flags = wheel.pytest_flags(
        ctx.root, tested.packages, pythonpath, [*pytest_addopts(ctx.root), *pytest_args]
    )
    shown = " ".join(flags) or "none needed"
    ctx.output.line(
        f"wheel: the tests import {', '.join(tested.packages) or 'nothing'} from "
        f"{_shown_path(ctx.root, tested.path)}, not the source tree (pytest: {shown})"
    )
    return flags


def _measure_the_wheel(
    ctx: StageContext, tested: wheel.Wheel | None, measure: Measure | None
) -> Measure | None:
    """Coverage of the installed wheel's packages where it would measure the project folder.

    The tests run the wheel's code from the venv's site-packages, which coverage leaves out
    of a source folder it was given: measured there (the project folder, or a ``source``
    naming the tree's ``pkg``/``src/pkg``), the tree's copies would show 0 %.
    """
    if tested is None or measure is None or ctx.venv is None:
        return measure
    site = wheel.site_packages(ctx.venv)
    found = [site / name for name in tested.packages if site and (site / name).is_dir()]
    if not found:
        return measure
    ctx.output.line(f"coverage: measures the wheel's {', '.join(p.name for p in found)}")
    remap = []
    for installed in found:  # reported as the tree's copy, where the tree has one
        tree = next(
            (t for d in (".", "src") if (t := ctx.root / d / installed.name).is_dir()), None
        )
        if tree is not None:
            remap.append((str(tree.resolve()), str(installed)))
    return dataclasses.replace(measure, sources=tuple(str(p) for p in found), remap=tuple(remap))


def _shown_path(root: Path, path: Path) -> str:
    """*path* relative to the project where it is inside it."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def _wheel_problems(ctx: StageContext, tested: wheel.Wheel, run: flaky.RunResult) -> list[str]:
    """What testing *tested* found: the modules it lacks, or that the tree shadowed it."""
    shown = _shown_path(ctx.root, tested.path)
    messages = [m for result in run.failed for m in result.failures]
    problems = []
    for module in wheel.missing_modules(messages, tested.packages):
        said = wheel.lacks_message(Path(shown), module)
        ctx.output.annotate("error", said, title="module missing from the wheel")
        problems.append(said)
    for name, file in wheel.from_tree(dict(run.imported), ctx.root, ctx.venv).items():
        problems.append(
            f"the tests imported {name} from the source tree ({file}), not from the wheel "
            f"{shown}: something puts the tree on sys.path (a conftest.py, PYTHONPATH); "
            'remove that, or set [tool.ci-tasks.tests] install = "project"'
        )
    return problems


def _run_suite(ctx: StageContext, prepared: Prepared) -> PytestRun:
    """Run pytest as planned; its JUnit file masked, as it leaves the machine."""
    pytest_run = run_pytest(
        ctx,
        prepared.options.args,
        prepared.outputs,
        prepared.plan,
        shard=prepared.shard,
        costs=durations.latest(prepared.store),
        measure=prepared.measure,
        previous=prepared.profile,
        strict=prepared.flags,
        variables=prepared.env,
    )
    _mask_file(ctx.root / prepared.outputs.junit_xml)
    return pytest_run


def _settle_split(
    ctx: StageContext, prepared: Prepared, code: int, run: flaky.RunResult
) -> tuple[int, flaky.RunResult, tuple[str, ...]]:
    """A split run's failures confirmed serially: the exit code, results and cleared tests."""
    if prepared.plan.processes <= 1:
        return code, run, ()
    run, cleared = _confirm_serially(ctx, prepared, run)
    if cleared and code == ExitCode.TESTS_FAILED and not run.failed:
        code = ExitCode.OK  # every failure was the split's: the serial verdict is a pass
    return code, run, cleared


def _judge(ctx: StageContext, prepared: Prepared, pytest_run: PytestRun) -> Judged:
    """What the run came to: coverage, split-only failures, quarantine, slow tests."""
    config = ctx.section(TestsConfig)
    run = _checked(pytest_run, prepared.options.args)
    total, floor, coverage_said = _judge_coverage(
        ctx, prepared.outputs, prepared.measure, prepared.shard
    )
    code, run, cleared = _settle_split(ctx, prepared, pytest_run.code, run)
    quarantine = flaky.apply_quarantine(run, config.quarantine, ignores.today())
    slow = durations.slow_regressions(
        run.results, prepared.store, factor=config.slow_factor, min_seconds=config.slow_min_seconds
    )
    fail_on_flaky = prepared.options.fail_on_flaky
    problems = verdict_problems(code, run, quarantine, fail_on_flaky=fail_on_flaky)
    if prepared.tested is not None:
        problems = [*_wheel_problems(ctx, prepared.tested, run), *problems]
    problems += coverage_said
    if slow and config.fail_on_slow:
        problems.append(f"{len(slow)} test(s) much slower than before and fail-on-slow is set")
    return Judged(run, cleared, quarantine, tuple(slow), total, floor, tuple(problems))


def _write_report(
    ctx: StageContext, outputs: Outputs, judged: Judged, extra: dict[str, Any], commit: str | None
) -> None:
    """The flaky report: results, flaky and quarantined tests, slow ones, coverage, verdict."""
    total, floor = judged.total, judged.floor
    body = {
        **flaky.report_body(judged.run, judged.quarantine),
        "slow": [s.as_dict() for s in judged.slow],
        "split_only": list(judged.cleared),
        "coverage": total.percent if total else None,
        "coverage_floor": (
            {"fail_under": floor.percent, "source": floor.source} if floor and total else None
        ),
        "junit_xml": outputs.junit_xml,
        "coverage_xml": outputs.coverage_xml if total else None,
        **extra,
    }
    verdict = "failed" if judged.problems else "passed"
    write_stage_report(
        ctx.root,
        "tests",
        verdict=verdict,
        body=body,
        path=ctx.root / outputs.report,
        commit=commit,
    )


def _write_durations(
    ctx: StageContext, prepared: Prepared, pytest_run: PytestRun, judged: Judged
) -> None:
    """The durations this run recorded: a shard's in its folder, a whole run's in the store."""
    config = ctx.section(TestsConfig)
    run = judged.run
    if prepared.shard is not None:  # for the next CI run's split, through this job's artifact
        document = durations.updated_store(
            {}, run.results, window=config.slow_window, whole_suite=True
        )
        reports.write_json(ctx.root / prepared.outputs.durations, document, compact=True)
        return  # shards only read the store, so every shard splits alike
    # Only a complete run of the whole suite may forget tests it did not see.
    pytest_args = prepared.options.pytest_args
    whole = not pytest_args and not run.stopped and not run.collect_errors
    profile = prepared.profile
    measured = pytest_run.profile or profile
    if measured is not None:  # a serial run keeps what the last split run showed
        before = profile.split_only_failures if profile else 0
        split = len(judged.cleared) + pytest_run.stalled if prepared.plan.processes > 1 else before
        measured = dataclasses.replace(measured, split_only_failures=split)
    document = durations.updated_store(
        prepared.store, run.results, window=config.slow_window, whole_suite=whole, profile=measured
    )
    reports.write_json(ctx.root / reports.REPORT_DIR / durations.FILE, document, compact=True)


def _summarise(ctx: StageContext, judged: Judged) -> None:
    """The job summary: flaky and quarantined tests, coverage, slow tests."""
    shown = judged.total.shown() if judged.total else None
    ctx.output.summary(
        flaky.render_markdown(judged.run, judged.quarantine, shown)
        + durations.render_markdown(judged.slow)
    )


def run_tests(ctx: StageContext, shard: Shard | None = None) -> None:
    """Pytest from the locked environment, with reruns, a flaky report and quarantine.

    Prepare (install, plan, decide coverage), run pytest, judge what it left; then write
    the report, the history and the durations, tell what it found, pass or fail.
    """
    prepared = _prepare(ctx, shard)
    pytest_run = _run_suite(ctx, prepared)
    judged = _judge(ctx, prepared, pytest_run)
    extra = history_extra(prepared.outputs, shard, pytest_run, prepared.plan)
    commit = reports.current_commit(ctx.root)  # one git call for the report and the history
    _write_report(ctx, prepared.outputs, judged, extra, commit)
    entry = flaky.history_entry(judged.run, commit, reports.now_iso())
    _record_history(ctx, prepared.outputs, {**entry, **extra})
    _write_durations(ctx, prepared, pytest_run, judged)
    _tell(ctx, judged.run, judged.quarantine, judged.slow)
    _summarise(ctx, judged)
    if judged.problems:
        raise CheckFailed("; ".join(judged.problems))
