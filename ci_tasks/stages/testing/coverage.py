"""Coverage in a tests session: whether it is measured, how, its total and its floor.

Whether: ``coverage = "auto"`` (the default) measures coverage when the project measures
it, as ``hatch test`` (off unless ``--cover``) and pytest-cov (off unless ``--cov``) do;
the evidence is :mod:`ci_tasks.core.coverage_evidence`'s, which ``init`` reads too. The
session says which evidence decided on every run.

How: each pytest process runs under ``coverage run`` (measured from interpreter start-up,
so a package that pytest or its plugins import, such as packaging or pluggy, is measured
as the project's own ``coverage run -m pytest`` measures it); under pytest-xdist,
pytest-cov measures instead (:class:`Measure`). Afterwards the session combines the data
and reports one total (:func:`report_coverage`), judged against a floor (:class:`Floor`).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core import own_commands
from ci_tasks.core.coverage_evidence import evidence
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.environment import plugin_pythonpath, test_python
from ci_tasks.stages.testing.outputs import Outputs
from ci_tasks.stages.testing.pytest_config import cov_in_addopts

__all__ = [
    "CoverageTotal",
    "Decision",
    "Floor",
    "Measure",
    "coverage_floor",
    "coverage_problems",
    "decide",
    "report_coverage",
]

COVERAGE_MODULE = "ci_tasks_coverage"
NO_EVIDENCE = (
    "the project measures no coverage (no --cov in addopts, no fail_under, no coverage "
    "or pytest-cov in its test dependencies, no command of its own running coverage)"
)


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether coverage is measured, and why (one line the session prints)."""

    on: bool
    reason: str


def decide(root: Path, config: TestsConfig) -> Decision:
    """``coverage = true/false`` as set; ``auto``: on when :func:`evidence` finds some."""
    if config.coverage is True:
        return Decision(on=True, reason="coverage = true")
    if config.coverage is False:
        return Decision(on=False, reason="coverage = false")
    found = evidence(root, config.fail_under)
    if found is None:
        return Decision(
            on=False,
            reason=f"auto: off, {NO_EVIDENCE}",
        )
    return Decision(on=True, reason=f"auto: on, {found}")


def has_coverage_source(root: Path) -> bool:
    """Whether the project tells coverage what to measure.

    A ``.coveragerc``, or ``source``/``source_pkgs`` in pyproject: then ``--cov`` adds no
    ``source`` of its own.
    """
    if (root / ".coveragerc").is_file():
        return True
    run = own_commands.table(root, "tool", "coverage", "run")
    return bool(run.get("source") or run.get("source_pkgs"))


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
    remap: tuple[tuple[str, str], ...] = ()
    """``(tree, installed)``: a tested wheel's package measured where it is installed,
    reported as the tree's folder (coverage's ``[paths]``), so jobs and OSes combine."""

    @classmethod
    def of(cls, config: TestsConfig, root: Path, *, xdist: bool, python: str = "python") -> Measure:
        """``cov_source``; else the project's own ``source``; else the project directory."""
        default = () if has_coverage_source(root) else (".",)
        own_cov = cov_in_addopts(root)
        return cls(config.cov_source or default, xdist, own_cov and not xdist, python)


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


def report_coverage(
    ctx: StageContext, outputs: Outputs, remap: Sequence[tuple[str, str]] = ()
) -> CoverageTotal | None:
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
        command += ["--xml", outputs.coverage_xml, "--result", str(result)]
        command += [f"--path={tree}={installed}" for tree, installed in remap]
        command.append(outputs.folder)
        env = {"PYTHONPATH": plugin_pythonpath(ctx), "COVERAGE_FILE": None}
        ctx.runner.run(command, cwd=ctx.root, env=env, check=False)
        try:
            data = json.loads(result.read_text(encoding="utf-8"))
            return CoverageTotal(
                float(data["total"]), int(data["precision"]), float(data["fail_under"])
            )
        except (OSError, KeyError, TypeError, ValueError):
            return None


@dataclasses.dataclass(frozen=True)
class Floor:
    """The coverage floor a session judges, and where it is set."""

    percent: float
    source: str


def coverage_floor(config: TestsConfig, total: CoverageTotal | None) -> Floor | None:
    """Our ``fail-under`` when set, else coverage's own ``fail_under`` (0: none)."""
    if config.fail_under is not None:
        return Floor(config.fail_under, "[tool.ci-tasks.tests] fail-under")
    if total is not None and total.fail_under > 0:
        return Floor(total.fail_under, "the project's fail_under (coverage's configuration)")
    return None


def coverage_problems(
    floor: Floor | None, total: CoverageTotal | None, xml: str, *, combined_later: bool
) -> list[str]:
    """A total under the floor (or none at all when one is required) is a failure.

    *combined_later*: the floor is judged on every tests job combined, not on this one.
    """
    if floor is None or combined_later:
        return []
    if total is None:
        return [f"no coverage total in {xml}"]
    if total.under(floor.percent):
        return [f"coverage {total.shown()} is under {floor.source} {floor.percent:g} %"]
    return []
