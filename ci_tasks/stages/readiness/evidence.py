"""Loading the evidence readiness scores: other sessions' reports and the workflow files.

Reading is the only side effect here; :func:`assess_report` and the parsers are pure,
so freshness rules are tested without files. A report is *stale* when it was made for
another commit than HEAD or is older than the configured age; a stale report cannot
pass a check (the check becomes ``unknown``, which fails closed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import reports
from ci_tasks.core.actions import Output

REPORT_KINDS = ("security", "build", "smoke", "lint")
FLAKY_HISTORY = f"{reports.REPORT_DIR}/flaky-history.json"
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
    if data.get("verdict") == "interrupted":
        return Report(kind, path, data, f"{path}: the last {kind} run was interrupted")
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
    history = assess_history(FLAKY_HISTORY, reports.read_json(root / FLAKY_HISTORY, output))
    return Evidence(
        head=head,
        reports=found,
        flaky=history,
        workflows=load_workflows(root),
        ci=ci,
        staging_configured=staging_configured,
    )
