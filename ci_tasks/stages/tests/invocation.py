"""The pytest processes a tests session runs, their environment, and where they write.

pytest runs in the project's own environment with the recorder plugin
(``_pytest/ci_tasks_recorder.py``) on ``PYTHONPATH``; the plugin reads its instructions
(where to write its record, rerun rules, the shard, the part) from environment variables.

A session runs its suite as one pytest process, or as several side by side, each a part
of the suite split by recorded durations (:class:`Plan`). Not pytest-xdist: its controller
handles every test's reports one after another, and on two cores that costs more than
the second core gives (pypa/packaging's 62,435 tests: 61 s serially, 107 s with
``-n 2``, 36 s as two processes; ``benchmarks/tests_overhead.py``). The parts' records,
JUnit files and coverage data are merged into the session's one set of outputs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core import reports
from ci_tasks.core.coverage_evidence import pytest_addopts
from ci_tasks.core.runner import Completed, Job
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.tests import durations, flaky
from ci_tasks.stages.tests.config import TestsConfig

PLUGIN_DIR = Path(__file__).parent / "_pytest"
PLUGIN = "ci_tasks_recorder"
RECORD_ENV = "CI_TASKS_PYTEST_RECORD"
RULES_ENV = "CI_TASKS_PYTEST_RERUN_RULES"
SHARD_ENV = "CI_TASKS_PYTEST_SHARD"
DURATIONS_ENV = "CI_TASKS_PYTEST_DURATIONS"
PART_ENV = "CI_TASKS_PYTEST_PART"
PART_INDEX_ENV = "CI_TASKS_TEST_PART"
"""Documented for the project's tests: this process's part (from 1), only in a split run."""
PARTS_ENV = "CI_TASKS_TEST_PARTS"
"""Documented for the project's tests: how many parts the split run has."""
COVERAGE_MODULE = "ci_tasks_coverage"
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
        """Coverage's data file: the session's parts combined."""
        return f"{self.folder}/.coverage"

    def junit_part(self, index: int) -> str:
        """Where pytest process *index* (from 1) writes its JUnit XML, merged after the run."""
        stem, dot, suffix = self.junit_xml.rpartition(".")
        return f"{stem}.part{index}.{suffix}" if dot else f"{self.junit_xml}.part{index}"

    def coverage_part(self, index: int) -> str:
        """``COVERAGE_FILE`` of pytest process *index* (from 1), combined after the run."""
        return f"{self.coverage_data}.part{index}"

    @property
    def durations(self) -> str:
        """A shard's own recorded durations, which the next CI run's shards split by."""
        return f"{self.folder}/{durations.FILE}"

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


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity, where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


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


def asks_for_xdist(args: Sequence[str]) -> str | None:
    """The xdist option among pytest arguments *args* (``-n auto``), unless it is ``-n 0``."""
    for index, arg in enumerate(args):
        value = None
        if arg in ("-n", "--numprocesses") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--numprocesses="):
            value = arg.partition("=")[2]
        elif arg.startswith("-n") and not arg.startswith("--"):  # -nauto, -n=4
            value = arg[2:].lstrip("=")
        if value is not None and value not in ("0", ""):
            return f"-n {value}"
    return None


def xdist_in_addopts(root: Path) -> str | None:
    """The xdist option in the project's own pytest ``addopts``, if it asks for workers."""
    return asks_for_xdist(pytest_addopts(root))


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


@dataclasses.dataclass(frozen=True)
class Measure:
    """How each pytest process of a session measures coverage (no Measure: it does not)."""

    sources: tuple[str, ...] = ()
    """What to measure (``()``: what the project's coverage configuration says)."""
    pytest_cov: bool = False
    """Through pytest-cov, which measures xdist's workers; else ``coverage run``."""
    silence_pytest_cov: bool = False
    """``--no-cov``: the project's addopts start pytest-cov, which must not measure twice."""
    python: str = "python"
    """The test environment's interpreter, which runs ``-m coverage run -m pytest``."""

    @classmethod
    def of(cls, config: TestsConfig, root: Path, *, xdist: bool, python: str = "python") -> Measure:
        """``cov_source``; else the project's own ``source``; else the project directory."""
        default = () if has_coverage_source(root) else (".",)
        addopts = pytest_addopts(root)
        own_cov = any(opt == "--cov" or opt.startswith("--cov=") for opt in addopts)
        return cls(config.cov_source or default, xdist, own_cov and not xdist, python)


def pytest_command(
    config: TestsConfig,
    pytest_args: Sequence[str],
    *,
    measure: Measure | None = None,
    xdist: int = 0,
    junit_xml: str | None = None,
) -> list[str]:
    """The pytest command line the configuration asks for (posargs last, so they win).

    With *measure*, pytest runs under ``coverage run``: measured from interpreter start-up,
    as ``coverage run -m pytest`` is, so what pytest and its plugins import before any
    plugin could start coverage (pypa/packaging, pluggy) is measured too. Under xdist
    pytest-cov measures instead (it starts coverage in each worker). Either way it only
    measures: the session combines and reports the data afterwards (:func:`report_coverage`).
    *xdist* is a pytest-xdist worker count (``parallel = "xdist"``).
    """
    junit = junit_xml or Outputs.of(config, "tests").junit_xml
    command = ["pytest", "-p", PLUGIN, f"--junitxml={junit}"]
    if config.reruns:
        command += ["--reruns", str(config.reruns), "--reruns-delay", f"{config.reruns_delay:g}"]
    if config.maxfail:
        command.append(f"--maxfail={config.maxfail}")
    if xdist:
        command += ["-n", str(xdist)]
    if config.strict:
        command += ["--strict-markers", "--strict-config"]
    if measure is not None and measure.pytest_cov:
        command += [f"--cov={source}" for source in measure.sources] or ["--cov"]
        command += ["--cov-report=", "--cov-fail-under=0"]
    elif measure is not None:
        command += ["--no-cov"] if measure.silence_pytest_cov else []
        source = [f"--source={','.join(measure.sources)}"] if measure.sources else []
        command = [measure.python, "-m", "coverage", "run", *source, "-m", *command]
    return [*command, *pytest_args]


def rerun_rules(config: TestsConfig) -> str:
    """The per-marker and per-path rerun rules, as the plugin reads them."""
    return json.dumps([dataclasses.asdict(rule) for rule in config.rerun])


@dataclasses.dataclass(frozen=True)
class Shard:
    """Shard (or part) *index* of *total* (from 1)."""

    index: int
    total: int

    @property
    def label(self) -> str:
        """``1/3``, as the plugin reads it."""
        return f"{self.index}/{self.total}"


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a session runs its suite: pytest processes side by side, or xdist workers."""

    processes: int = 1
    xdist: int = 0
    own_xdist: bool = False
    """The user's ``-n`` or the project's addopts run pytest-xdist in one pytest."""

    @property
    def under_xdist(self) -> bool:
        """Whether pytest-xdist's workers run the tests."""
        return bool(self.xdist) or self.own_xdist


def plugin_pythonpath(ctx: StageContext) -> str:
    """``PYTHONPATH`` with our plugin folder first, the session's own entries after it."""
    path = [str(PLUGIN_DIR), ctx.runner.env.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in path if p)


def pytest_env(
    ctx: StageContext,
    record: Path,
    coverage_file: str,
    *,
    shard: Shard | None = None,
    part: Shard | None = None,
    costs: Path | None = None,
) -> dict[str, str | None]:
    """The environment one pytest process runs with (the plugin importable, its instructions).

    *shard* is the CI shard to keep and *part* this process's part of it; *costs* the file
    of recorded durations they split by. A part sees what a plain run sees (never
    pytest-xdist's variables, which plugins read as "xdist is on"), plus our own
    :data:`PART_INDEX_ENV` and :data:`PARTS_ENV`, for tests that keep resources apart.
    """
    env: dict[str, str | None] = {
        "PYTHONPATH": plugin_pythonpath(ctx),
        RECORD_ENV: str(record),
        RULES_ENV: rerun_rules(ctx.section(TestsConfig)),
        # Coverage's data file (and a killed run's parallel ones) stay in our folder.
        "COVERAGE_FILE": str(ctx.root / coverage_file),
        SHARD_ENV: shard.label if shard else None,
        PART_ENV: part.label if part else None,
        DURATIONS_ENV: str(costs) if costs else None,
    }
    if part is not None:
        env[PART_INDEX_ENV] = str(part.index)
        env[PARTS_ENV] = str(part.total)
    return env


@dataclasses.dataclass(frozen=True)
class PytestRun:
    """What the session's pytest processes left, together: exit code, result, last lines."""

    code: int
    run: flaky.RunResult | None
    tail: str
    seconds: float
    profile: durations.Profile | None = None
    """How much of the tests' time was CPU, and what a process took besides its tests."""


# pytest's exit codes, by how much they say about a whole run made of parts: a usage or
# internal error anywhere outweighs failed tests; "no tests" counts only if no part ran any.
_EXIT_SEVERITY = (4, 3, 2, 1, 0, 5)


def combined_exit_code(codes: Sequence[int]) -> int:
    """The exit code of a run made of pytest processes with exit codes *codes* (pure)."""
    known = [c for c in codes if c in _EXIT_SEVERITY]
    if len(known) != len(codes):
        return max(c for c in codes if c not in _EXIT_SEVERITY)  # a crash or a signal
    return min(known, key=_EXIT_SEVERITY.index)


_SUITE = re.compile(r"<testsuite\b[^>]*>")
_SUITE_END = "</testsuite>"


def _suite(text: str) -> tuple[str, dict[str, str], str, str]:
    """A pytest JUnit document split around its one testsuite.

    What comes before it, its attributes, its test cases (as text) and what comes after;
    ValueError when the document has no testsuite.
    """
    # Our own pytest's output, not untrusted input: the stdlib parser is fine here.
    import xml.etree.ElementTree as ET  # noqa: PLC0415  # nosec B405

    opening = _SUITE.search(text)
    if opening is None:
        msg = "a JUnit XML document without a testsuite"
        raise ValueError(msg)
    tag = opening.group(0)
    if tag.endswith("/>"):  # a part that ran no test
        cases, after = "", text[opening.end() :]
    else:
        end = text.rfind(_SUITE_END)
        cases, after = text[opening.end() : end], text[end + len(_SUITE_END) :]
    closed = tag if tag.endswith("/>") else f"{tag}{_SUITE_END}"
    suite = ET.fromstring(closed)  # noqa: S314  # nosec B314
    return text[: opening.start()], dict(suite.attrib), cases, after


def merge_junit(texts: Sequence[str]) -> str:
    """The parts' JUnit XML documents as one: every test case, the counts summed (pure).

    pytest writes one ``<testsuite>`` per document. Its test cases are copied as text,
    not parsed and written again: a 62,000-test suite merges in a tenth of a second.
    """
    import xml.etree.ElementTree as ET  # noqa: PLC0415  # nosec B405

    before, attributes, cases, after = _suite(texts[0])
    pieces = [cases]
    for text in texts[1:]:
        _, more, cases, _ = _suite(text)
        pieces.append(cases)
        for key in ("tests", "errors", "failures", "skipped"):
            attributes[key] = str(int(attributes.get(key, "0")) + int(more.get(key, "0")))
        wall = max(float(attributes.get("time", "0")), float(more.get("time", "0")))
        attributes["time"] = f"{wall:.3f}"  # the parts ran side by side
    tag = ET.tostring(ET.Element("testsuite", attributes), encoding="unicode")
    tag = tag.removesuffix(" />") + ">"
    return before + tag + "".join(pieces) + _SUITE_END + after


def _read_record(path: Path) -> tuple[flaky.RunResult | None, durations.PartTimes | None]:
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


def _merge_junit_parts(root: Path, outputs: Outputs, parts: int) -> None:
    """The parts' JUnit files as the session's one; the parts' files removed."""
    paths = [root / outputs.junit_part(index) for index in range(1, parts + 1)]
    written = [path.read_text(encoding="utf-8") for path in paths if path.is_file()]
    if written:  # a part that died wrote none: the rest still tell
        reports.atomic_write(root / outputs.junit_xml, merge_junit(written))
    for path in paths:
        path.unlink(missing_ok=True)


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
) -> PytestRun:
    """Run the suite as *plan* says (never raising on exit codes); merge what it left.

    *previous* is the suite's recorded profile, which this run's measures update.
    """
    config = ctx.section(TestsConfig)
    parts = plan.processes
    for stale in (ctx.root / outputs.folder).glob(".coverage*"):
        stale.unlink()  # combining must see this run's data only
    (ctx.root / outputs.junit_xml).unlink(missing_ok=True)  # nor may an old JUnit file pass
    with tempfile.TemporaryDirectory(prefix="ci-tasks-pytest-") as tmp:
        folder = Path(tmp)
        costs_file = None
        if shard is not None or parts > 1:
            costs_file = folder / "durations.json"
            costs_file.write_text(json.dumps(costs), encoding="utf-8")
        jobs = []
        for index in range(1, parts + 1):
            junit = outputs.junit_xml if parts == 1 else outputs.junit_part(index)
            command = pytest_command(
                config, pytest_args, measure=measure, xdist=plan.xdist, junit_xml=junit
            )
            part = Shard(index, parts) if parts > 1 else None
            record = folder / f"record-{index}.json"
            env = pytest_env(
                ctx, record, outputs.coverage_part(index), shard=shard, part=part, costs=costs_file
            )
            jobs.append(Job(command, env, label=f"[{part.label}]" if part else ""))
        start = time.monotonic()
        runner = ctx.runner.with_options(cwd=ctx.root)
        done: list[Completed]
        if parts == 1:
            done = [runner.run(jobs[0].command, env=jobs[0].env, check=False)]
        else:
            done = runner.run_parallel(jobs)
        seconds = time.monotonic() - start
        records = [_read_record(folder / f"record-{index}.json") for index in range(1, parts + 1)]
        if parts > 1:
            _merge_junit_parts(ctx.root, outputs, parts)
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
    return PytestRun(code, whole, tail, seconds, profile)


@dataclasses.dataclass(frozen=True)
class CoverageTotal:
    """The session's one coverage total, as coverage reported it, and the project's floor."""

    percent: float
    precision: int
    fail_under: float
    """Coverage's own ``report:fail_under`` (0: none)."""

    def shown(self) -> str:
        """The total as coverage's report shows it (``precision``; never 100 when short).

        As coverage's own report, a total just under 100 shows as 99 (not 100), one just
        over 0 as 1 (not 0): the shown figure never contradicts the floor's verdict.
        """
        near = 1.0 / 10**self.precision
        percent = round(self.percent, self.precision)
        if 0 < self.percent < near:
            percent = near
        elif 100 - near < self.percent < 100:  # noqa: PLR2004
            percent = 100 - near
        return f"{percent:.{self.precision}f} %"

    def under(self, floor: float) -> bool:
        """As coverage judges ``fail_under``: 100 means every line, whatever rounding shows."""
        if floor >= 100:  # noqa: PLR2004 - every line
            return self.percent < 100  # noqa: PLR2004
        return round(self.percent, self.precision) < floor


def report_coverage(ctx: StageContext, outputs: Outputs) -> CoverageTotal | None:
    """Combine the processes' coverage data, print the report, write ``coverage.xml``.

    Runs :mod:`ci_tasks_coverage` with the interpreter pytest ran with, over every data
    file in the session's folder (each part's, and each subprocess's that coverage's own
    ``parallel`` or ``patch = subprocess`` wrote). ``None``: nothing was measured.
    """
    folder = ctx.root / outputs.folder
    if not any(folder.glob(".coverage.*")):
        return None  # pytest measured nothing (it stopped before): no total, said later
    interpreter = test_python(ctx)
    with tempfile.TemporaryDirectory(prefix="ci-tasks-coverage-") as tmp:
        result = Path(tmp) / "total.json"
        command = [interpreter, "-m", COVERAGE_MODULE, "--data-file", outputs.coverage_data]
        command += ["--xml", outputs.coverage_xml, "--result", str(result), outputs.folder]
        env = {"PYTHONPATH": plugin_pythonpath(ctx), "COVERAGE_FILE": None}
        ctx.runner.run(command, cwd=ctx.root, env=env, check=False)
        try:
            data = json.loads(result.read_text(encoding="utf-8"))
            return CoverageTotal(
                float(data["total"]), int(data["precision"]), float(data["fail_under"])
            )
        except (OSError, KeyError, TypeError, ValueError):
            return None


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
