"""One pytest process of a session: its command line and its environment.

pytest runs with the recorder plugin (``_pytest/ci_tasks_recorder.py``) on ``PYTHONPATH``;
the plugin reads its instructions (where to write its record, rerun rules, the shard,
the part) from environment variables.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_tasks.core import github
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.coverage import Measure
from ci_tasks.stages.testing.environment import PLUGIN_DIR, plugin_pythonpath
from ci_tasks.stages.testing.outputs import Outputs

PLUGIN = "ci_tasks_recorder"
RECORD_ENV = "CI_TASKS_PYTEST_RECORD"
RULES_ENV = "CI_TASKS_PYTEST_RERUN_RULES"
SHARD_ENV = "CI_TASKS_PYTEST_SHARD"
DURATIONS_ENV = "CI_TASKS_PYTEST_DURATIONS"
PART_ENV = "CI_TASKS_PYTEST_PART"
PART_FILES_ENV = "CI_TASKS_PYTEST_PART_FILES"
WHEEL_PACKAGES_ENV = "CI_TASKS_PYTEST_WHEEL_PACKAGES"
"""The tested wheel's packages: the recorder says where each was imported from."""
PART_INDEX_ENV = "CI_TASKS_TEST_PART"
"""Documented for the project's tests: this process's part (from 1), only in a split run."""
PARTS_ENV = "CI_TASKS_TEST_PARTS"
"""Documented for the project's tests: how many parts the split run has."""


@dataclasses.dataclass(frozen=True)
class Shard:
    """Shard (or part) *index* of *total* (from 1)."""

    index: int
    total: int

    @property
    def label(self) -> str:
        """``1/3``, as the plugin reads it."""
        return f"{self.index}/{self.total}"


def pytest_command(
    config: TestsConfig,
    pytest_args: Sequence[str],
    *,
    measure: Measure | None = None,
    xdist: int = 0,
    junit_xml: str | None = None,
    strict: Sequence[str] = (),
    autoload: bool = True,
) -> list[str]:
    """The pytest command line the configuration asks for (posargs last, so they win).

    With *measure*, pytest runs under ``coverage run``: measured from interpreter start-up,
    as ``coverage run -m pytest`` is, so what pytest and its plugins import before any
    plugin could start coverage (pypa/packaging, pluggy) is measured too. Under xdist
    pytest-cov measures instead (it starts coverage in each worker). Either way it only
    measures: the session combines and reports the data afterwards
    (:func:`~ci_tasks.stages.testing.coverage.report_coverage`).
    *xdist* is a pytest-xdist worker count (``parallel = "xdist"``); *strict* the strict
    flags :func:`~ci_tasks.stages.testing.pytest_config.strictness` chose. *autoload*
    false: the project's environment sets :data:`AUTOLOAD_ENV` (tox's ``set_env``), so
    pytest loads no installed plugin by itself; the ones the session's options belong to
    are then named with ``-p``, by the entry-point names a project's own ``-p`` uses.
    """
    junit = junit_xml or Outputs.of(config, "tests").junit_xml
    command = ["pytest", "-p", PLUGIN, f"--junitxml={junit}"]
    if not autoload:
        cov = measure is not None and (measure.pytest_cov or measure.silence_pytest_cov)
        wanted = (("rerunfailures", config.reruns), ("xdist", xdist), ("pytest_cov", cov))
        command += [w for name, used in wanted if used for w in ("-p", name)]
    command += ["-o", "cache_dir=.ci-tasks/cache/pytest"]  # no .pytest_cache/ in the tree
    if config.reruns:
        command += ["--reruns", str(config.reruns), "--reruns-delay", f"{config.reruns_delay:g}"]
    if config.maxfail:
        command.append(f"--maxfail={config.maxfail}")
    if xdist:
        command += ["-n", str(xdist)]
    command += strict
    if measure is not None and measure.pytest_cov:
        command += [f"--cov={source}" for source in measure.sources] or ["--cov"]
        command += ["--cov-report=", "--cov-fail-under=0"]
    elif measure is not None:
        command += ["--no-cov"] if measure.silence_pytest_cov else []
        source = [f"--source={','.join(measure.sources)}"] if measure.sources else []
        command = [measure.python, "-m", "coverage", "run", *source, "-m", *command]
    return [*command, *pytest_args]


AUTOLOAD_ENV = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"


def autoload_disabled(*envs: Mapping[str, str | None]) -> bool:
    """Whether pytest, run with these variables (the last one set wins), autoloads no plugin."""
    value = None
    for env in envs:
        value = env.get(AUTOLOAD_ENV, value)
    return bool(value)


def rerun_rules(config: TestsConfig) -> str:
    """The per-marker and per-path rerun rules, as the plugin reads them."""
    return json.dumps([dataclasses.asdict(rule) for rule in config.rerun])


def pytest_env(
    ctx: StageContext,
    record: Path,
    coverage_file: str,
    *,
    shard: Shard | None = None,
    part: Shard | None = None,
    costs: Path | None = None,
    project: Mapping[str, str] | None = None,
    part_files: Path | None = None,
) -> dict[str, str | None]:
    """The environment one pytest process runs with (the plugin importable, its instructions).

    *project* holds the variables the project's own test command sets (``FOO=1 pytest``,
    tox's ``set_env``), expanded; its ``PYTHONPATH`` comes after our plugin folder, in
    place of the session's, as tox's ``set_env`` replaces the outer one.

    *shard* is the CI shard to keep and *part* this process's part of it; *costs* the file
    of recorded durations they split by; *part_files* the file naming the part's files
    where the stage split the suite by file (:mod:`~ci_tasks.stages.testing.file_split`).
    A part sees what a plain run sees (never pytest-xdist's variables, which plugins read
    as "xdist is on"), plus our own
    :data:`PART_INDEX_ENV` and :data:`PARTS_ENV`, for tests that keep resources apart.
    The token the session itself reads GitHub with (:data:`github.CI_TASKS_TOKEN`) is unset.
    """
    own = dict(project or {})
    pythonpath = plugin_pythonpath(ctx)
    if "PYTHONPATH" in own:
        pythonpath = os.pathsep.join(p for p in (str(PLUGIN_DIR), own.pop("PYTHONPATH")) if p)
    env: dict[str, str | None] = {
        **own,
        "PYTHONPATH": pythonpath,
        RECORD_ENV: str(record),
        RULES_ENV: rerun_rules(ctx.section(TestsConfig)),
        # Coverage's data file (and a killed run's parallel ones) stay in our folder.
        "COVERAGE_FILE": str(ctx.root / coverage_file),
        SHARD_ENV: shard.label if shard else None,
        PART_ENV: part.label if part else None,
        DURATIONS_ENV: str(costs) if costs else None,
        PART_FILES_ENV: str(part_files) if part_files else None,
        # The token the session reads the last CI run's durations with is not the tests'.
        github.CI_TASKS_TOKEN: None,
    }
    if part is not None:
        env[PART_INDEX_ENV] = str(part.index)
        env[PARTS_ENV] = str(part.total)
    return env


def usage_problem(tail: str, pytest_args: Sequence[str]) -> str:
    """Why pytest refused its command line, from its own ``error:`` line (pure).

    pytest names the argument it refused. One of ours (``--reruns``, ``-n``, ``--cov``)
    means a plugin is missing from the locked groups; anything else is the user's own
    argument, and pytest's message says best what is wrong with it.
    """
    lines = [line.strip() for line in tail.splitlines()]
    said = [line for line in lines if "error:" in line.lower() and "usage:" not in line.lower()]
    message = said[-1] if said else ""
    ours = ("--reruns", "--reruns-delay", "-n", "--cov", "--cov-report", "--cov-fail-under")
    refused = message.partition("unrecognized arguments:")[2].split()
    if message and not any(arg.split("=")[0] in ours for arg in refused):
        return f"pytest rejected its command line: {message}"
    if refused and all(arg in pytest_args for arg in refused):
        return f"pytest rejected its command line: {message}"
    shown = f" ({message})" if message else " (exit code 4)"
    return (
        f"pytest rejected its command line{shown}; the tests stage needs pytest, "
        'pytest-rerunfailures and, with parallel = "xdist", pytest-xdist and pytest-cov '
        "(where coverage is on) in the locked dependency groups, or set "
        "[tool.ci-tasks.tests] accordingly"
    )
