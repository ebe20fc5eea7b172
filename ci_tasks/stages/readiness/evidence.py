"""Loading the evidence readiness scores: other sessions' reports and the workflow files.

Reading is the only side effect here; :func:`assess_report` and the parsers are pure,
so freshness rules are tested without files. A report is *stale* when it was made for
another commit than HEAD or is older than the configured age; a stale report cannot
pass a check (the check becomes ``unknown``, which fails closed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core import reports
from ci_tasks.core.actions import Output

REPORT_KINDS = ("security", "build", "smoke", "lint")
FLAKY_HISTORY = f"{reports.REPORT_DIR}/flaky-history.json"
# Each tests session (tests-3.11, tests-shard1of3-3.11) writes into its own folder.
TESTS_REPORTS = "*/flaky-report.json"
TESTS_HISTORIES = "*/flaky-history.json"
_SHARD = re.compile(r"-shard\d+of\d+")
WORKFLOW_DIR = ".github/workflows"
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


def parse_time(value: object) -> dt.datetime | None:
    """An ISO-8601 timestamp (GitHub's ``Z`` suffix included) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def assess_report(  # noqa: PLR0911 - one return per reason to distrust
    kind: str,
    path: str,
    data: Any,
    *,
    head: str | None,
    now: dt.datetime,
    max_age_hours: float,
    same_as_head: frozenset[str] = frozenset(),
) -> Report:
    """Whether the ``<kind>`` report *data* read from *path* may pass a check (pure).

    *same_as_head* names older commits whose tree differs from HEAD only in readiness's
    own files (its checklist, cache and badge): their evidence is still current.
    """
    if data is None:
        return Report(kind, path, None, f"no evidence: {path} does not exist")
    if not isinstance(data, dict) or data.get("schema") != f"ci-tasks/{kind}-report":
        return Report(kind, path, None, f"{path} is not a ci-tasks {kind} report")
    if data.get("verdict") not in {"passed", "failed", "unverified"}:
        return Report(kind, path, data, f"{path} has no valid verdict")
    commit = data.get("commit")
    if head and commit != head and commit not in same_as_head:
        shown = str(commit)[:12] if commit else "an unknown commit"
        return Report(kind, path, data, f"stale: {path} is from {shown}, HEAD is {head[:12]}")
    made = parse_time(data.get("generated_at"))
    if made is None:
        return Report(kind, path, data, f"{path} has no valid generated_at")
    if max_age_hours > 0 and now - made > dt.timedelta(hours=max_age_hours):
        age = (now - made).total_seconds() / 3600
        return Report(
            kind, path, data, f"stale: {path} is {age:.0f} h old (max {max_age_hours:g} h)"
        )
    return Report(kind, path, data)


def assess_history(path: str, data: Any) -> Report:
    """Whether the flaky history *data* is usable (pure); it spans commits by design."""
    if data is None:
        return Report("flaky-history", path, None, f"no evidence: {path} does not exist")
    schema = data.get("schema") if isinstance(data, dict) else None
    runs = data.get("runs") if isinstance(data, dict) else None
    if schema != "ci-tasks/flaky-history" or not isinstance(runs, list):
        return Report("flaky-history", path, None, f"{path} is not a ci-tasks flaky history")
    return Report("flaky-history", path, data)


def merge_histories(documents: Iterable[Any]) -> dict[str, Any] | None:
    """The flaky histories of every tests session as one, a suite run per entry (pure).

    The shards of one suite run (same CI run or commit, same session, same count) become
    one entry: their tests and rescued counts added, their flaky tests joined. A shard
    seen twice starts the next suite run. ``None`` when no document is a history.
    """
    runs: list[dict[str, Any]] = []
    found = False
    for data in documents:
        if isinstance(data, dict) and data.get("schema") == "ci-tasks/flaky-history":
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
    return {"schema": "ci-tasks/flaky-history", "version": 1, "runs": merged}


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
            name = str(cls.get("filename"))
            for line in cls.iter("line"):
                key = (name, str(line.get("number")))
                lines[key] = lines.get(key, False) or int(line.get("hits") or 0) > 0
    return 100.0 * sum(lines.values()) / len(lines) if lines else None


def load_workflows(root: Path) -> tuple[WorkflowFile, ...]:
    """Every ``.github/workflows/*.yml``/``*.yaml`` file, parsed with ``yaml.safe_load``."""
    import yaml  # noqa: PLC0415 - PyYAML is only needed when workflows are read

    folder = root / WORKFLOW_DIR
    if not folder.is_dir():
        return ()
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    loaded = []
    for file in files:
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
    found = {}
    for kind in REPORT_KINDS:
        path = reports.report_path(root, kind)
        rel = path.relative_to(root).as_posix()
        data = reports.read_json(path, output)
        found[kind] = assess_report(
            kind,
            rel,
            data,
            head=head,
            now=now,
            max_age_hours=max_age_hours,
            same_as_head=same_as_head,
        )
    folder = root / reports.REPORT_DIR
    histories = [root / FLAKY_HISTORY, *sorted(folder.glob(TESTS_HISTORIES))]
    read = [reports.read_json(path, output) for path in histories if path.is_file()]
    history = assess_history(FLAKY_HISTORY, merge_histories(read))
    tests = tuple(
        assess_report(
            "flaky",
            path.relative_to(root).as_posix(),
            reports.read_json(path, output),
            head=head,
            now=now,
            max_age_hours=max_age_hours,
            same_as_head=same_as_head,
        )
        for path in sorted(folder.glob(TESTS_REPORTS))
    )
    xml = []
    for report in tests:
        if report.data is not None and not report.problem and report.data.get("coverage_xml"):
            path = root / str(report.data["coverage_xml"])
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
