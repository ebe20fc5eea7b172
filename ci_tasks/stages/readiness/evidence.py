"""Loading the evidence readiness scores: other sessions' reports and the workflow files.

Reading is the only side effect here; :func:`assess_report` and the parsers are pure,
so freshness rules are tested without files. A report is *stale* when it was made for
another commit than HEAD or is older than the configured age; a stale report cannot
pass a check (the check becomes ``unknown``, which fails closed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tasks.core import reports, stage
from ci_tasks.core.actions import Output
from ci_tasks.core.workflow_files import workflow_files

if TYPE_CHECKING:
    from ci_tasks.core.artifacts import RunEvidence
    from ci_tasks.stages.readiness.cienv import CIEnvironment

REPORT_KINDS = ("security", "build", "smoke", "lint")
HISTORY_NAME = "flaky-history.json"
FLAKY_HISTORY = f"{reports.REPORT_DIR}/{HISTORY_NAME}"
# Each tests session (tests-3.11, tests-shard1of3-3.11) writes into its own folder.
TESTS_REPORTS = "*/flaky-report.json"
TESTS_HISTORIES = f"*/{HISTORY_NAME}"
_SHARD = re.compile(r"-shard\d+of\d+")
EVIDENCE_FILES = frozenset({*(f"{kind}-report.json" for kind in REPORT_KINDS), HISTORY_NAME})
"""The file names readiness takes from the top of a CI artifact (``.ci-tasks/``)."""
SESSION_FILES = frozenset({HISTORY_NAME, "flaky-report.json"})
"""The file names readiness takes from a session's folder in it (``tests-3.11/``)."""
LOCAL = "local"
# Superseded runs cancelled by `concurrency`, and skipped ones, say nothing about health.
IGNORED_CONCLUSIONS = frozenset({"cancelled", "skipped", "neutral"})


@dataclasses.dataclass(frozen=True)
class Report:
    """One stage's report and whether it may be trusted."""

    kind: str
    path: str
    data: Mapping[str, Any] | None
    problem: str | None = None
    """Why the report cannot pass a check (missing, stale, malformed); ``None``: usable."""
    origin: str = LOCAL
    """Where it came from: ``local`` (this tree's ``.ci-tasks/``) or ``CI run #1234``."""

    @property
    def verdict(self) -> str | None:
        """The report's verdict (``passed``, ``failed``, ``unverified``)."""
        value = self.data.get("verdict") if self.data else None
        return value if isinstance(value, str) else None


@dataclasses.dataclass(frozen=True)
class WorkflowFile:
    """A parsed workflow file, or why it could not be parsed."""

    path: str
    data: Mapping[str, Any] | None
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class Run:
    """One completed workflow run, from GitHub's ``workflow_runs[]``."""

    id: int
    conclusion: str | None
    run_attempt: int
    started: dt.datetime | None
    updated: dt.datetime | None
    head_sha: str = ""
    number: int = 0
    """``run_number``, as GitHub shows it (``#1234``); 0 when not known."""

    @property
    def label(self) -> str:
        """How people know the run: ``CI run #1234``."""
        return f"CI run #{self.number}" if self.number else f"CI run {self.id}"

    @property
    def duration(self) -> float | None:
        """Seconds from the (last attempt's) start to the last update."""
        if self.started is None or self.updated is None:
            return None
        return (self.updated - self.started).total_seconds()


@dataclasses.dataclass(frozen=True)
class CIRuns:
    """The CI workflow's recent runs on the branch readiness looks at."""

    repository: str
    workflow: str
    branch: str
    runs: tuple[Run, ...]


@dataclasses.dataclass(frozen=True)
class Evidence:
    """Everything the checks look at; ``ci`` is ``None`` when offline."""

    head: str | None
    reports: Mapping[str, Report]
    flaky: Report
    workflows: tuple[WorkflowFile, ...]
    ci: CIRuns | None
    staging_configured: bool
    tests: tuple[Report, ...] = ()
    """Each tests session's report (``.ci-tasks/<session>/flaky-report.json``)."""
    coverage: float | None = None
    """Line coverage combined over the tests sessions' ``coverage.xml`` files."""
    ci_environment: CIEnvironment | None = None
    """The CI lock and its update pull requests; ``None`` without ``noxfile.py.lock``."""
    replaced: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Stages the project's own session runs in place of: stage → that session, as shown
    (``the project's own `tests` session``); their reports are nobody's evidence."""


def assess_report(  # noqa: PLR0911 - one return per reason to distrust
    kind: str,
    path: str,
    data: Any,
    *,
    head: str | None,
    now: dt.datetime,
    max_age_hours: float,
    same_as_head: frozenset[str] = frozenset(),
    origin: str = LOCAL,
) -> Report:
    """Whether the ``<kind>`` report *data* read from *path* may pass a check (pure).

    *same_as_head* names older commits whose tree differs from HEAD only in readiness's
    own files (its checklist, cache and badge): their evidence is still current.
    """
    where = _where(path, origin)

    def report(payload: Any, problem: str | None = None) -> Report:
        return Report(kind, path, payload, problem, origin)

    if data is None:
        return report(None, f"no evidence: {where} does not exist")
    if not isinstance(data, dict) or data.get("schema") != reports.report_schema(kind):
        return report(None, f"{where} is not a ci-tasks {kind} report")
    if data.get("verdict") == "interrupted":
        return report(data, f"{where}: the last {kind} run was interrupted")
    if data.get("verdict") not in {"passed", "failed", "unverified"}:
        return report(data, f"{where} has no valid verdict")
    commit = data.get("commit")
    if head and commit != head and commit not in same_as_head:
        shown = str(commit)[:12] if commit else "an unknown commit"
        return report(data, f"stale: {where} is from {shown}, HEAD is {head[:12]}")
    made = reports.parse_time(data.get("generated_at"))
    if made is None:
        return report(data, f"{where} has no valid generated_at")
    if max_age_hours > 0 and now - made > dt.timedelta(hours=max_age_hours):
        age = (now - made).total_seconds() / 3600
        return report(data, f"stale: {where} is {age:.0f} h old (max {max_age_hours:g} h)")
    return report(data)


def _where(path: str, origin: str) -> str:
    return path if origin == LOCAL else f"{path} ({origin})"


def _history() -> stage.Document:
    """The tests stage's flaky history, as its contract declares it."""
    return stage.document("tests", "flaky-history")


def assess_history(path: str, data: Any, origin: str = LOCAL) -> Report:
    """Whether the flaky history *data* is usable (pure); it spans commits by design."""
    where = _where(path, origin)
    if data is None:
        return Report("flaky-history", path, None, f"no evidence: {where} does not exist", origin)
    schema = data.get("schema") if isinstance(data, dict) else None
    runs = data.get("runs") if isinstance(data, dict) else None
    if schema != _history().schema or not isinstance(runs, list):
        return Report(
            "flaky-history", path, None, f"{where} is not a ci-tasks flaky history", origin
        )
    return Report("flaky-history", path, data, None, origin)


def merge_histories(documents: Iterable[Any]) -> dict[str, Any] | None:
    """The flaky histories of every tests session as one, a suite run per entry (pure).

    The shards of one suite run (same CI run or commit, same session, same count) become
    one entry: their tests and rescued counts added, their flaky tests joined. A shard
    seen twice starts the next suite run. ``None`` when no document is a history.
    """
    history = _history()
    runs: list[dict[str, Any]] = []
    found = False
    for data in documents:
        if isinstance(data, dict) and data.get("schema") == history.schema:
            found = True
            runs += [r for r in data.get("runs") or () if isinstance(r, dict)]
    if not found:
        return None
    merged: list[dict[str, Any]] = []
    open_runs: dict[tuple[Any, ...], tuple[dict[str, Any], set[int]]] = {}
    for run in sorted(runs, key=lambda r: str(r.get("date") or "")):
        shard = run.get("shard")
        if not (isinstance(shard, list) and len(shard) == 2 and shard[1] > 1):  # noqa: PLR2004
            merged.append(run)
            continue
        session = _SHARD.sub("", str(run.get("session") or "tests"))
        key = (run.get("ci_run") or run.get("commit"), session, shard[1])
        current = open_runs.get(key)
        if current is None or shard[0] in current[1]:
            entry = {**run, "session": session, "shard": None, "shards": shard[1], "flaky": []}
            entry["tests"] = entry["rescued"] = 0
            current = (entry, set())
            open_runs[key] = current
            merged.append(entry)
        entry, seen = current
        seen.add(shard[0])
        entry["tests"] += int(run.get("tests") or 0)
        entry["rescued"] += int(run.get("rescued") or 0)
        entry["flaky"] = sorted({*entry["flaky"], *(run.get("flaky") or ())})
        entry["date"] = max(str(entry.get("date") or ""), str(run.get("date") or ""))
    return {"schema": history.schema, "version": history.version, "runs": merged}


def combined_coverage(documents: Sequence[str]) -> float | None:
    """Line coverage over several Cobertura ``coverage.xml`` texts, as one run (pure).

    A line counts once per file, covered when any document covered it; ``None`` when no
    document has a line.
    """
    # Our own sessions' output (pytest-cov), not untrusted input: the stdlib parser is fine.
    import xml.etree.ElementTree as ET  # noqa: PLC0415  # nosec B405

    lines: dict[tuple[str, str], bool] = {}
    for text in documents:
        try:
            root = ET.fromstring(text)  # noqa: S314  # nosec B314
        except ET.ParseError:
            continue
        for cls in root.iter("class"):
            # A Windows job may write `pkg\\mod.py`: the same file as `pkg/mod.py`.
            name = str(cls.get("filename")).replace("\\", "/")
            for line in cls.iter("line"):
                key = (name, str(line.get("number")))
                lines[key] = lines.get(key, False) or int(line.get("hits") or 0) > 0
    return 100.0 * sum(lines.values()) / len(lines) if lines else None


_SEVERITY = {"failed": 2, "unverified": 1, "passed": 0}


def worst(copies: Sequence[Report]) -> Report:
    """One report from the copies of one CI run's jobs (the same session on each OS).

    A usable copy beats an unusable one; among usable ones the worst verdict wins, so
    a failure on one OS is never hidden by a pass on another; then the newest (pure).
    """
    usable = [r for r in copies if r.problem is None]
    if not usable:
        return next((r for r in copies if r.data is not None), copies[0])
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return max(usable, key=lambda r: (_SEVERITY.get(r.verdict or "", 0), made_at(r) or never))


def job_folders(root: Path) -> list[Path]:
    """The folders CI's readiness gate downloaded, one per job (:data:`reports.JOBS_DIR`)."""
    folder = root / reports.JOBS_DIR
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_dir() and not p.is_symlink() and p.name.startswith(reports.ARTIFACT_PREFIX)
    )


def _in_job(job: Path, root: Path, path: str) -> Path:
    """Where a path a job's report names (``.ci-tasks/tests-3.11/coverage.xml``) is now."""
    prefix = f"{reports.REPORT_DIR}/"
    return job / path.removeprefix(prefix) if path.startswith(prefix) else root / path


def load_workflows(root: Path) -> tuple[WorkflowFile, ...]:
    """Every ``.github/workflows/*.yml``/``*.yaml`` file, parsed with ``yaml.safe_load``."""
    import yaml  # noqa: PLC0415 - PyYAML is only needed when workflows are read

    loaded = []
    for file in workflow_files(root):
        rel = file.relative_to(root).as_posix()
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            loaded.append(WorkflowFile(rel, None, f"cannot be parsed: {first}"))
            continue
        if not isinstance(data, dict):
            loaded.append(WorkflowFile(rel, None, "is not a YAML mapping"))
            continue
        loaded.append(WorkflowFile(rel, data))
    return tuple(loaded)


def load_evidence(
    root: Path,
    *,
    head: str | None,
    now: dt.datetime,
    max_age_hours: float,
    ci: CIRuns | None,
    staging_configured: bool,
    output: Output | None = None,
    same_as_head: frozenset[str] = frozenset(),
) -> Evidence:
    """Read the reports, the flaky history and the workflows of the project in *root*."""

    def assess(kind: str, path: Path) -> Report:
        return assess_report(
            kind,
            path.relative_to(root).as_posix(),
            reports.read_json(path, output),
            head=head,
            now=now,
            max_age_hours=max_age_hours,
            same_as_head=same_as_head,
        )

    # This tree's own reports, and each CI job's when the readiness gate downloaded them
    # (one folder per job: the same session on several OSes writes the same names).
    folder = root / reports.REPORT_DIR
    jobs = job_folders(root)
    found = {}
    for kind in REPORT_KINDS:
        name = f"{kind}-report.json"
        copies = [job / name for job in jobs if (job / name).is_file()]
        own = assess(kind, reports.report_path(root, kind))
        found[kind] = worst([own, *(assess(kind, p) for p in copies)]) if copies else own
    histories = [root / FLAKY_HISTORY, *sorted(folder.glob(TESTS_HISTORIES))]
    for job in jobs:
        histories += [job / HISTORY_NAME, *sorted(job.glob(TESTS_HISTORIES))]
    read = [reports.read_json(path, output) for path in histories if path.is_file()]
    history = assess_history(FLAKY_HISTORY, merge_histories(read))
    where = [(root, p) for p in sorted(folder.glob(TESTS_REPORTS))]
    where += [(job, p) for job in jobs for p in sorted(job.glob(TESTS_REPORTS))]
    assessed = [(base, assess("flaky", path)) for base, path in where]
    tests = tuple(report for _, report in assessed)
    xml = []
    for base, report in assessed:
        if report.data is not None and not report.problem and report.data.get("coverage_xml"):
            named = str(report.data["coverage_xml"])
            path = root / named if base == root else _in_job(base, root, named)
            xml += [path.read_text(encoding="utf-8")] if path.is_file() else []
    return Evidence(
        head=head,
        reports=found,
        flaky=history,
        workflows=load_workflows(root),
        ci=ci,
        staging_configured=staging_configured,
        tests=tests,
        coverage=combined_coverage(xml),
    )


def made_at(report: Report) -> dt.datetime | None:
    """When *report* was made (a flaky history: its newest entry); ``None`` if unknown."""
    if report.data is None:
        return None
    if report.kind == "flaky-history":
        dates = [
            reports.parse_time(e.get("date")) for e in report.data["runs"] if isinstance(e, dict)
        ]
        known = [d for d in dates if d is not None]
        return max(known) if known else None
    return reports.parse_time(report.data.get("generated_at"))


def wants_ci_copy(evidence: Evidence, run: Run) -> bool:
    """Whether a report is missing, unusable, or older than CI *run* (pure).

    The smoke report is not CI's to upload; it only counts with a staging URL.
    """
    kinds = [k for k in REPORT_KINDS if k != "smoke" or evidence.staging_configured]
    for report in [*(evidence.reports[k] for k in kinds), evidence.flaky]:
        made = made_at(report)
        if report.problem or made is None or (run.updated is not None and made < run.updated):
            return True
    return False


def choose(local: Report, other: Report | None) -> Report:
    """The report to judge by: a usable one over one that is not, then the newer (pure)."""
    if other is None:
        return local
    if (local.problem is None) != (other.problem is None):
        return local if local.problem is None else other
    mine, theirs = made_at(local), made_at(other)
    if theirs is None:
        return local
    return other if mine is None or theirs > mine else local


def _json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _ci_report(
    kind: str,
    run: RunEvidence,
    *,
    head: str | None,
    now: dt.datetime,
    max_age_hours: float,
    same_as_head: frozenset[str],
) -> Report | None:
    """The ``<kind>`` report of CI *run* (the worst of its jobs'), checked against its commit."""
    name = f"{kind}-report.json"
    copies: list[Report] = []
    for file in (f for f in run.files if f.name == name):
        path = f"{file.artifact}/{name}"
        data = _json(file.data)
        if isinstance(data, dict) and data.get("commit") != run.head_sha:
            shown = str(data.get("commit") or "an unknown commit")[:12]
            found = Report(
                kind,
                path,
                data,
                f"{path} ({run.label}) is from {shown}, but the run built {run.head_sha[:12]}",
                run.label,
            )
        else:
            found = assess_report(
                kind,
                path,
                data,
                head=head,
                now=now,
                max_age_hours=max_age_hours,
                same_as_head=same_as_head,
                origin=run.label,
            )
        copies.append(found)
    # One run's jobs (the same session on several OSes): the worst verdict stands.
    return worst(copies) if copies else None


def _is_history(name: str) -> bool:
    return name.rsplit("/", 1)[-1] == HISTORY_NAME


def _ci_history(run: RunEvidence) -> Report | None:
    """CI *run*'s flaky histories (one per tests job), merged into one, a suite run each."""
    copies = [(f"{f.artifact}/{f.name}", _json(f.data)) for f in run.files if _is_history(f.name)]
    if not copies:
        return None
    assessed = [assess_history(path, data, run.label) for path, data in copies]
    good = [r for r in assessed if r.problem is None]
    if len(good) <= 1:
        return good[0] if good else assessed[0]
    merged = merge_histories(r.data for r in good)  # the shards of one suite run: one entry
    paths = ", ".join(r.path for r in good)
    return Report("flaky-history", paths, merged, None, run.label)


def with_ci(
    evidence: Evidence,
    run: RunEvidence,
    *,
    now: dt.datetime,
    max_age_hours: float,
    same_as_head: frozenset[str] = frozenset(),
) -> Evidence:
    """*evidence* with each report replaced by CI *run*'s where that one is better (pure).

    A CI report must be from the commit the run built, then pass the same freshness
    rules as a local one (HEAD or an equivalent commit, not too old).
    """
    found = {
        kind: _neither(
            local,
            _ci_report(
                kind,
                run,
                head=evidence.head,
                now=now,
                max_age_hours=max_age_hours,
                same_as_head=same_as_head,
            ),
            run,
        )
        for kind, local in evidence.reports.items()
    }
    flaky = _neither(evidence.flaky, _ci_history(run), run)
    return dataclasses.replace(evidence, reports=found, flaky=flaky)


def _neither(local: Report, other: Report | None, run: RunEvidence) -> Report:
    """:func:`choose`, saying so when the report is neither here nor in the run's artifacts."""
    if other is None and local.data is None and local.problem:
        return dataclasses.replace(
            local, problem=f"{local.problem}, nor in {run.label}'s artifacts"
        )
    return choose(local, other)
