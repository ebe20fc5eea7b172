"""The pytest command line a tests session runs, its environment, and where it writes.

pytest runs in the project's own environment with the recorder plugin
(``_pytest/ci_tasks_recorder.py``) on ``PYTHONPATH``; the plugin reads its instructions
(where to write its record, rerun rules, the shard) from environment variables.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core import reports
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.tests import flaky
from ci_tasks.stages.tests.config import TestsConfig

PLUGIN_DIR = Path(__file__).parent / "_pytest"
PLUGIN = "ci_tasks_recorder"
RECORD_ENV = "CI_TASKS_PYTEST_RECORD"
RULES_ENV = "CI_TASKS_PYTEST_RERUN_RULES"
SHARD_ENV = "CI_TASKS_PYTEST_SHARD"
DURATIONS_ENV = "CI_TASKS_PYTEST_DURATIONS"
SESSION_PLACEHOLDER = "{session}"


@dataclasses.dataclass(frozen=True)
class Outputs:
    """Where one tests session writes, all relative to the project (under ``.ci-tasks/``)."""

    session: str
    """The nox session (``tests-3.11``); ``tests`` when run in-process (preflight)."""
    junit_xml: str
    coverage_xml: str

    @property
    def folder(self) -> str:
        """The session's own folder: its report, history and coverage data."""
        return f"{reports.REPORT_DIR}/{self.session}"

    @property
    def coverage_data(self) -> str:
        """``COVERAGE_FILE``: coverage's data file, and beside it any parallel ones."""
        return f"{self.folder}/.coverage"

    @property
    def report(self) -> str:
        """The flaky report (``flaky-report.json``): results, flaky, quarantined, slow."""
        return f"{self.folder}/flaky-report.json"

    @property
    def history(self) -> str:
        """This session's flaky history; readiness merges every session's."""
        return f"{self.folder}/{flaky.HISTORY_FILE}"

    @classmethod
    def of(cls, config: TestsConfig, session: str) -> Outputs:
        """The paths for *session*, ``{session}`` in the configured paths filled in."""
        return cls(
            session,
            config.junit_xml.replace(SESSION_PLACEHOLDER, session),
            config.coverage_xml.replace(SESSION_PLACEHOLDER, session),
        )


def has_coverage_source(root: Path) -> bool:
    """Whether the project tells coverage what to measure.

    A ``.coveragerc``, or ``source``/``source_pkgs`` in pyproject: then ``--cov`` adds no
    ``source`` of its own.
    """
    if (root / ".coveragerc").is_file():
        return True
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    run = data.get("tool", {}).get("coverage", {}).get("run", {})
    return bool(run.get("source") or run.get("source_pkgs"))


def pytest_command(
    config: TestsConfig,
    pytest_args: Sequence[str],
    *,
    coverage_source_set: bool = False,
    workers: int | None = None,
    outputs: Outputs | None = None,
) -> list[str]:
    """The pytest command line the configuration asks for (posargs last, so they win).

    Coverage measures ``cov_source``; else what the project's coverage configuration says
    (*coverage_source_set*); else the project directory, never the whole interpreter.
    *workers* is the xdist worker count chosen for ``workers = "auto"``.
    """
    paths = outputs or Outputs.of(config, "tests")
    chosen = config.workers if workers is None else workers
    command = ["pytest", "-p", PLUGIN, f"--junitxml={paths.junit_xml}"]
    if config.reruns:
        command += ["--reruns", str(config.reruns), "--reruns-delay", f"{config.reruns_delay:g}"]
    if config.maxfail:
        command.append(f"--maxfail={config.maxfail}")
    if chosen:
        command += ["-n", str(chosen)]
    if config.strict:
        command += ["--strict-markers", "--strict-config"]
    if config.coverage:
        default = ["--cov"] if coverage_source_set else ["--cov=."]
        command += [f"--cov={source}" for source in config.cov_source] or default
        command += ["--cov-report=term", f"--cov-report=xml:{paths.coverage_xml}"]
    return [*command, *pytest_args]


def rerun_rules(config: TestsConfig) -> str:
    """The per-marker and per-path rerun rules, as the plugin reads them."""
    return json.dumps([dataclasses.asdict(rule) for rule in config.rerun])


@dataclasses.dataclass(frozen=True)
class Shard:
    """Shard *index* of *total* (from 1)."""

    index: int
    total: int

    @property
    def label(self) -> str:
        """``1/3``, as the plugin reads it."""
        return f"{self.index}/{self.total}"


def pytest_env(
    ctx: StageContext, record: Path, outputs: Outputs, shard: tuple[Shard, Path] | None
) -> dict[str, str | None]:
    """The environment pytest runs with (the plugin importable, and its instructions).

    Coverage's data file goes to the session's folder; *shard* is the shard to keep and
    the file of recorded costs it splits by.
    """
    path = [str(PLUGIN_DIR), ctx.runner.env.get("PYTHONPATH", "")]
    env: dict[str, str | None] = {
        "PYTHONPATH": os.pathsep.join(p for p in path if p),
        RECORD_ENV: str(record),
        RULES_ENV: rerun_rules(ctx.config.tests),
        # Coverage's data file (and a killed run's parallel ones) stay in our folder.
        "COVERAGE_FILE": str(ctx.root / outputs.coverage_data),
        SHARD_ENV: None,
        DURATIONS_ENV: None,
    }
    if shard is not None:
        env[SHARD_ENV], env[DURATIONS_ENV] = shard[0].label, str(shard[1])
    return env


@dataclasses.dataclass(frozen=True)
class PytestRun:
    """What one pytest process left: its exit code, the recorder's result, its last lines."""

    code: int
    run: flaky.RunResult | None
    tail: str
    seconds: float


def run_pytest(
    ctx: StageContext,
    command: list[str],
    outputs: Outputs,
    shard: Shard | None,
    costs: dict[str, float],
) -> PytestRun:
    """Run *command* (never raising on its exit code) and read the recorder's result."""
    with tempfile.TemporaryDirectory(prefix="ci-tasks-pytest-") as tmp:
        record = Path(tmp) / "record.json"
        split = None
        if shard is not None:
            split = (shard, Path(tmp) / "durations.json")
            split[1].write_text(json.dumps(costs), encoding="utf-8")
        env = pytest_env(ctx, record, outputs, split)
        start = time.monotonic()
        done = ctx.runner.run(command, cwd=ctx.root, env=env, check=False)
        seconds = time.monotonic() - start
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return PytestRun(done.returncode, None, done.tail, seconds)
    try:
        return PytestRun(done.returncode, flaky.parse_record(data), done.tail, seconds)
    except (KeyError, TypeError, ValueError):
        return PytestRun(done.returncode, None, done.tail, seconds)


def usage_problem(tail: str, pytest_args: Sequence[str]) -> str:
    """Why pytest refused its command line, from its own ``error:`` line (pure).

    pytest names the argument it refused. One of ours (``--reruns``, ``-n``, ``--cov``)
    means a plugin is missing from the locked groups; anything else is the user's own
    argument, and pytest's message says best what is wrong with it.
    """
    lines = [line.strip() for line in tail.splitlines()]
    said = [line for line in lines if "error:" in line.lower() and "usage:" not in line.lower()]
    message = said[-1] if said else ""
    ours = ("--reruns", "--reruns-delay", "-n", "--cov", "--cov-report")
    refused = message.partition("unrecognized arguments:")[2].split()
    if message and not any(arg.split("=")[0] in ours for arg in refused):
        return f"pytest rejected its command line: {message}"
    if refused and all(arg in pytest_args for arg in refused):
        return f"pytest rejected its command line: {message}"
    shown = f" ({message})" if message else " (exit code 4)"
    return (
        f"pytest rejected its command line{shown}; the tests stage needs pytest, "
        "pytest-rerunfailures, pytest-xdist (workers) and pytest-cov (coverage) in the "
        "locked dependency groups, or set [tool.ci-tasks.tests] accordingly"
    )
