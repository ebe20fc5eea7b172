"""The ``tests`` stage: pytest from ``uv.lock`` with reruns, a flaky report and quarantine.

Reruns happen per test, inside pytest (pytest-rerunfailures); the session itself is
never retried, so a genuine failure fails once. Every attempt is recorded by a small
plugin (:mod:`ci_tasks_recorder`, loaded with ``-p`` from ``ci_tasks/_pytest``), which
is how flaky tests are told apart from passing and broken ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tasks.core import reports
from ci_tasks.core.errors import CheckFailed, CITasksError, UsageError
from ci_tasks.core.stage import StageContext, install_locked
from ci_tasks.stages.tests import flaky

if TYPE_CHECKING:
    from ci_tasks.core.config import Config
    from ci_tasks.stages.tests.config import TestsConfig

PLUGIN_DIR = Path(__file__).parent / "_pytest"
PLUGIN = "ci_tasks_recorder"
RECORD_ENV = "CI_TASKS_PYTEST_RECORD"
RULES_ENV = "CI_TASKS_PYTEST_RERUN_RULES"
FAIL_ON_FLAKY = "--fail-on-flaky"

# pytest's exit codes (pytest.ExitCode), named here to avoid importing pytest.
_INTERRUPTED, _INTERNAL_ERROR, _USAGE_ERROR, _NO_TESTS = 2, 3, 4, 5


@dataclasses.dataclass(frozen=True)
class Options:
    """The stage's own options, read from config and posargs."""

    fail_on_flaky: bool
    pytest_args: tuple[str, ...]


def parse_posargs(posargs: Sequence[str], config: TestsConfig) -> Options:
    """``--fail-on-flaky`` is ours; everything else goes to pytest."""
    rest = tuple(arg for arg in posargs if arg != FAIL_ON_FLAKY)
    return Options(config.fail_on_flaky or len(rest) != len(posargs), rest)


def has_coverage_source(root: Path) -> bool:
    """Whether the project tells coverage what to measure (``.coveragerc`` or pyproject)."""
    if (root / ".coveragerc").is_file():
        return True
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return bool(data.get("tool", {}).get("coverage", {}).get("run", {}).get("source"))


def pytest_command(
    config: TestsConfig, pytest_args: Sequence[str], *, coverage_source_set: bool = False
) -> list[str]:
    """The pytest command line the configuration asks for (posargs last, so they win).

    Coverage measures ``cov_source``; else what the project's coverage configuration says
    (*coverage_source_set*); else the project directory, never the whole interpreter.
    """
    command = ["pytest", "-p", PLUGIN, f"--junitxml={config.junit_xml}"]
    if config.reruns:
        command += ["--reruns", str(config.reruns), "--reruns-delay", f"{config.reruns_delay:g}"]
    if config.maxfail:
        command.append(f"--maxfail={config.maxfail}")
    if config.workers:
        command += ["-n", str(config.workers)]
    if config.strict:
        command += ["--strict-markers", "--strict-config"]
    if config.coverage:
        default = ["--cov"] if coverage_source_set else ["--cov=."]
        command += [f"--cov={source}" for source in config.cov_source] or default
        command += ["--cov-report=term", f"--cov-report=xml:{config.coverage_xml}"]
    return [*command, *pytest_args]


def rerun_rules(config: TestsConfig) -> str:
    """The per-marker and per-path rerun rules, as the plugin reads them."""
    return json.dumps([dataclasses.asdict(rule) for rule in config.rerun])


def coverage_total(path: Path) -> float | None:
    """The total line coverage (percent) in a Cobertura ``coverage.xml``, if readable."""
    # Our own pytest-cov output, not untrusted input: the stdlib parser is fine here.
    import xml.etree.ElementTree as ET  # noqa: PLC0415  # nosec B405

    try:
        rate = ET.parse(path).getroot().get("line-rate")  # noqa: S314  # nosec B314
    except (OSError, ET.ParseError):
        return None
    return None if rate is None else float(rate) * 100


def _pytest_env(ctx: StageContext, record: Path) -> dict[str, str | None]:
    path = [str(PLUGIN_DIR), ctx.runner.env.get("PYTHONPATH", "")]
    return {
        "PYTHONPATH": os.pathsep.join(p for p in path if p),
        RECORD_ENV: str(record),
        RULES_ENV: rerun_rules(ctx.config.tests),
    }


def _run_pytest(ctx: StageContext, command: list[str]) -> tuple[int, flaky.RunResult | None]:
    with tempfile.TemporaryDirectory(prefix="ci-tasks-pytest-") as tmp:
        record = Path(tmp) / "record.json"
        done = ctx.runner.run(command, cwd=ctx.root, env=_pytest_env(ctx, record), check=False)
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return done.returncode, None
    try:
        return done.returncode, flaky.parse_record(data)
    except (KeyError, TypeError, ValueError):
        return done.returncode, None


def _checked(code: int, run: flaky.RunResult | None) -> flaky.RunResult:
    """The run's result, unless pytest's exit code says it could not do its job at all."""
    if code == _USAGE_ERROR:
        msg = (
            "pytest rejected its command line (exit code 4); the tests stage needs pytest, "
            "pytest-rerunfailures, pytest-xdist (workers) and pytest-cov (coverage) in the "
            "locked dependency groups, or set [tool.ci-tasks.tests] accordingly"
        )
        raise UsageError(msg)
    if code == _NO_TESTS:
        msg = "no tests were collected; a test stage that ran nothing cannot pass"
        raise CheckFailed(msg)
    if code == _INTERNAL_ERROR:
        msg = "pytest stopped with an internal error (exit code 3); see its output above"
        raise CITasksError(msg)
    if run is None:
        msg = f"pytest ended (exit code {code}) without the ci_tasks recorder's result"
        raise CITasksError(msg)
    return run


def _record_history(ctx: StageContext, run: flaky.RunResult) -> None:
    path = ctx.root / reports.REPORT_DIR / flaky.HISTORY_FILE
    data = reports.read_json(path, ctx.output)
    runs = flaky.history_runs(data)
    if runs is None:
        reports.set_aside(path, "not a ci_tasks flaky history", ctx.output)
        runs = []
    entry = flaky.history_entry(run, reports.current_commit(ctx.root), reports.now_iso())
    reports.write_json(path, flaky.append_history(runs, entry, ctx.config.tests.history_size))


def _tell(ctx: StageContext, run: flaky.RunResult, quarantine: flaky.Quarantine) -> None:
    out = ctx.output
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


def verdict_problems(
    code: int, run: flaky.RunResult, quarantine: flaky.Quarantine, *, fail_on_flaky: bool
) -> list[str]:
    """Why the run fails, given pytest's exit code and what the recorder saw (pure)."""
    problems = []
    failed = [r.nodeid for r in run.failed if r.nodeid not in quarantine.excused]
    if failed:
        problems.append(f"{len(failed)} test(s) failed: {', '.join(failed[:5])}")
    elif code not in (0, 1) or (code == 1 and not run.failed):
        problems.append(f"pytest exited with code {code}")
    elif run.stopped:
        # Quarantined failures count toward --maxfail: excused, they still cut the run short.
        problems.append(f"pytest stopped early ({run.stopped}); not every test ran")
    problems += [f"quarantine of {e.test!r} expired on {e.until}" for e in quarantine.expired]
    if fail_on_flaky and run.flaky:
        problems.append(f"{len(run.flaky)} flaky test(s) and --fail-on-flaky is set")
    return problems


def coverage_problems(config: TestsConfig, total: float | None) -> list[str]:
    """A total under ``fail_under`` (or none at all when one is required) is a failure."""
    if not config.coverage or config.fail_under is None:
        return []
    if total is None:
        return [f"no coverage total in {config.coverage_xml}"]
    if total < config.fail_under:
        return [f"coverage {total:.1f} % is under fail_under {config.fail_under:g} %"]
    return []


def tests(ctx: StageContext) -> None:
    """Pytest from the locked environment, with reruns, a flaky report and quarantine."""
    config = ctx.config.tests
    options = parse_posargs(ctx.posargs, config)
    if ctx.venv is not None:
        install_locked(ctx)
    coverage_xml = ctx.root / config.coverage_xml
    coverage_xml.unlink(missing_ok=True)  # a stale file must not pass for this run's total
    command = pytest_command(
        config, options.pytest_args, coverage_source_set=has_coverage_source(ctx.root)
    )
    code, recorded = _run_pytest(ctx, command)
    run = _checked(code, recorded)
    quarantine = flaky.apply_quarantine(run, config.quarantine, dt.datetime.now(dt.UTC).date())
    total = coverage_total(coverage_xml) if config.coverage else None
    if total is not None:
        ctx.output.line(f"coverage: {total:.1f} %")
    problems = verdict_problems(code, run, quarantine, fail_on_flaky=options.fail_on_flaky)
    problems += coverage_problems(config, total)

    reports.write_report(
        ctx.root,
        "flaky",
        verdict="failed" if problems else "passed",
        body=flaky.report_body(run, quarantine),
    )
    _record_history(ctx, run)
    _tell(ctx, run, quarantine)
    ctx.output.summary(flaky.render_markdown(run, quarantine, total))
    if problems:
        raise CheckFailed("; ".join(problems))


def register(config: Config) -> None:
    """Register ``tests`` as one nox session per configured Python version."""
    from ci_tasks.core.stage import nox_session  # noqa: PLC0415

    nox_session(tests, name="tests", config=config, python=list(config.python))
