"""Flaky tests, quarantine and the flaky history, as pure functions over plain data.

A test is *flaky* when it failed and then passed on a rerun (pytest-rerunfailures).
The pytest plugin (``ci_tasks/_pytest/ci_tasks_recorder.py``) records every report;
:func:`parse_record` turns that record into :class:`TestResult` values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any

from ci_tasks.stages.testing.config import QuarantineEntry

HISTORY_SCHEMA = "ci-tasks/flaky-history"
HISTORY_VERSION = 1
HISTORY_FILE = "flaky-history.json"
_SECONDS = 3  # a report's index of its duration (absent from records before durations)


@dataclasses.dataclass(frozen=True)
class TestResult:
    """One test's outcome over all its attempts."""

    __test__ = False  # not a pytest test class, despite its name

    nodeid: str
    attempts: int
    outcome: str
    """``passed``, ``failed`` or ``skipped``: the outcome of the last attempt."""
    failures: tuple[str, ...] = ()
    """The failure messages of the failed attempts, in order."""
    duration: float = 0.0
    """Seconds the last attempt took (setup, call and teardown)."""

    @property
    def flaky(self) -> bool:
        """Failed at least once, then passed on a rerun."""
        return self.attempts > 1 and self.outcome == "passed"

    def as_dict(self) -> dict[str, Any]:
        """The entry of the flaky report."""
        return {
            "nodeid": self.nodeid,
            "attempts": self.attempts,
            "outcome": self.outcome,
            "failures": list(self.failures),
        }


@dataclasses.dataclass(frozen=True)
class PytestWarning:
    """A warning pytest gave about its configuration or a marker (the recorder keeps these).

    A strict pytest refuses what these warn about; a project whose pytest is not strict
    sees them as warnings, and so does the session (annotations, never a failure).
    """

    category: str
    """``PytestConfigWarning`` or ``PytestUnknownMarkWarning``."""
    message: str
    file: str | None = None
    line: int | None = None


@dataclasses.dataclass(frozen=True)
class RunResult:
    """A whole pytest run as the recorder saw it."""

    results: tuple[TestResult, ...]
    collect_errors: tuple[TestResult, ...] = ()
    exitstatus: int | None = None
    stopped: str | None = None
    """Why pytest stopped before running every test (``--maxfail``), if it did."""
    warnings: tuple[PytestWarning, ...] = ()
    """pytest's warnings about unknown ini options, config and markers, each once."""
    imported: tuple[tuple[str, str], ...] = ()
    """``(package, file)``: where a tested wheel's packages were imported from."""

    @property
    def tests(self) -> int:
        """How many tests ran."""
        return len(self.results)

    @property
    def flaky(self) -> list[TestResult]:
        """The tests rescued by a rerun."""
        return [r for r in self.results if r.flaky]

    @property
    def failed(self) -> list[TestResult]:
        """Tests that failed in the end, and modules that could not be collected."""
        return [*self.collect_errors, *(r for r in self.results if r.outcome == "failed")]


def summarise(nodeid: str, reports: Sequence[Sequence[Any]]) -> TestResult:
    """One test's result from its reports ``(when, outcome, message[, seconds])`` in order."""
    reruns = [i for i, report in enumerate(reports) if report[1] == "rerun"]
    failures = [str(r[2] or "failed") for r in reports if r[1] == "rerun"]
    last = reports[reruns[-1] + 1 :] if reruns else reports
    outcomes = {report[1] for report in last}
    duration = sum(float(r[3]) for r in last if len(r) > _SECONDS and isinstance(r[3], int | float))
    if "failed" in outcomes:
        outcome = "failed"
        failures += [str(r[2] or "failed") for r in last if r[1] == "failed"]
    elif "skipped" in outcomes:
        outcome = "skipped"
    elif outcomes:
        outcome = "passed"
    else:  # reruns recorded, then nothing: the run was cut short
        outcome = "failed"
    return TestResult(nodeid, len(reruns) + 1, outcome, tuple(failures), round(duration, 4))


def parse_record(data: Any) -> RunResult:
    """The :class:`RunResult` in a record written by the pytest plugin; ValueError if not one."""
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        msg = "not a ci_tasks pytest record"
        raise ValueError(msg)  # noqa: TRY004 - callers treat any malformed record alike
    results = tuple(summarise(str(t["nodeid"]), t["reports"]) for t in data["tests"])
    errors = tuple(
        TestResult(str(e["nodeid"]), 1, "failed", (str(e.get("message") or "collection error"),))
        for e in data.get("collect_errors", [])
    )
    status = data.get("exitstatus")
    stopped = data.get("stopped")
    return RunResult(
        results,
        errors,
        status if isinstance(status, int) else None,
        str(stopped) if stopped else None,
        _warnings(data.get("warnings")),
        _imported(data.get("imported")),
    )


def _imported(entries: Any) -> tuple[tuple[str, str], ...]:
    """The record's import locations (absent where no wheel was tested: none)."""
    if not isinstance(entries, dict):
        return ()
    return tuple((str(k), str(v)) for k, v in entries.items() if isinstance(v, str))


def _warnings(entries: Any) -> tuple[PytestWarning, ...]:
    """The record's warnings (absent from records of older plugins: none)."""
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        file, line = entry.get("file"), entry.get("line")
        found.append(
            PytestWarning(
                str(entry.get("category", "")),
                str(entry.get("message", "")),
                str(file) if file else None,
                line if isinstance(line, int) else None,
            )
        )
    return tuple(found)


def merge_runs(runs: Sequence[RunResult]) -> RunResult:
    """The runs of a suite's parts (disjoint tests, each collecting alike) as one (pure).

    Every part collects the whole suite, so a module that fails to collect is reported by
    each: it is one error, and a warning about the configuration or a marker one
    warning. The exit status is the first part's that is not zero.
    """
    errors = {e.nodeid: e for run in runs for e in run.collect_errors}
    statuses = [run.exitstatus for run in runs if run.exitstatus]
    return RunResult(
        tuple(result for run in runs for result in run.results),
        tuple(errors.values()),
        statuses[0] if statuses else (runs[0].exitstatus if runs else None),
        next((run.stopped for run in runs if run.stopped), None),
        tuple(dict.fromkeys(w for run in runs for w in run.warnings)),  # each part warns alike
        tuple(dict.fromkeys(i for run in runs for i in run.imported)),
    )


def confirm_serially(split: RunResult, serial: RunResult) -> tuple[RunResult, tuple[str, ...]]:
    """*split* with the verdict of *serial*, a one-process re-run of its failed tests (pure).

    A test that failed in a run split into parts but passed on its own, serially, is a
    split-only failure: it takes the serial outcome (the verdict plain ``pytest`` gives)
    and its node id is returned, to be reported. So is one that passed in the parts only
    on a rerun and passes serially at its first attempt: its failures were the split's,
    not its own, and calling it flaky would blame a test the project's own serial run never
    sees fail. Collection errors are not re-judged.
    """
    again = {r.nodeid: r for r in serial.results}
    cleared = []
    results = []
    for result in split.results:
        redo = again.get(result.nodeid)
        if (
            redo is not None
            and redo.outcome == "passed"
            and (
                result.outcome == "failed"
                or (result.outcome == "passed" and result.attempts > 1 and redo.attempts == 1)
            )
        ):
            cleared.append(result.nodeid)
            result = dataclasses.replace(redo, failures=result.failures)  # noqa: PLW2901
        results.append(result)
    return dataclasses.replace(split, results=tuple(results)), tuple(cleared)


def quarantine_matches(nodeid: str, pattern: str) -> bool:
    """Whether *nodeid* is the quarantined test *pattern* (a node id, a prefix or a glob)."""
    return (
        nodeid == pattern
        or nodeid.startswith((f"{pattern}[", f"{pattern}::"))
        or fnmatch.fnmatchcase(nodeid, pattern)
    )


@dataclasses.dataclass(frozen=True)
class Quarantine:
    """What the quarantine did in one run."""

    entries: tuple[dict[str, Any], ...]
    """Per entry: test, reason, until, expired, and the node ids it covered that failed."""
    excused: tuple[str, ...]
    """Failed tests whose failure the quarantine excuses."""
    expired: tuple[QuarantineEntry, ...]


def apply_quarantine(
    run: RunResult, entries: Iterable[QuarantineEntry], today: dt.date
) -> Quarantine:
    """Match the failed tests of *run* against the quarantine (expired entries excuse none)."""
    rows, excused, expired = [], [], []
    failed = [r.nodeid for r in run.results if r.outcome == "failed"]
    for entry in entries:
        is_expired = entry.expired(today)
        covered = [n for n in failed if quarantine_matches(n, entry.test)]
        if is_expired:
            expired.append(entry)
        else:
            excused += [n for n in covered if n not in excused]
        rows.append(
            {
                "test": entry.test,
                "reason": entry.reason,
                "until": entry.until.isoformat() if entry.until else None,
                "expired": is_expired,
                "failed": covered,
            }
        )
    return Quarantine(tuple(rows), tuple(excused), tuple(expired))


def report_body(run: RunResult, quarantine: Quarantine) -> dict[str, Any]:
    """The body of ``flaky-report.json``."""
    return {
        "tests": run.tests,
        "flaky": [r.as_dict() for r in run.flaky],
        "quarantined": list(quarantine.entries),
    }


def history_runs(data: Any) -> list[dict[str, Any]] | None:
    """The runs of a flaky history document; ``None`` when it is not one we can trust."""
    if data is None:
        return []
    if (
        not isinstance(data, dict)
        or data.get("schema") != HISTORY_SCHEMA
        or not isinstance(data.get("runs"), list)
    ):
        return None
    return [run for run in data["runs"] if isinstance(run, dict)]


def history_entry(run: RunResult, commit: str | None, date: str) -> dict[str, Any]:
    """One run's line in the flaky history."""
    flaky = [r.nodeid for r in run.flaky]
    return {
        "commit": commit,
        "date": date,
        "tests": run.tests,
        "rescued": len(flaky),
        "flaky": flaky,
    }


def append_history(
    runs: Sequence[dict[str, Any]], entry: dict[str, Any], limit: int
) -> dict[str, Any]:
    """The history document with *entry* appended, keeping the last *limit* runs."""
    kept = [*runs, entry][-limit:]
    return {"schema": HISTORY_SCHEMA, "version": HISTORY_VERSION, "runs": kept}


def render_markdown(run: RunResult, quarantine: Quarantine, coverage: str | None) -> str:
    """The step-summary section of a test run."""
    lines = ["### Tests", "", f"{run.tests} tests ran, {len(run.failed)} failed."]
    if coverage is not None:
        lines.append(f"Coverage: **{coverage}**.")
    if run.flaky:
        lines += ["", f"**Flaky** ({len(run.flaky)}: failed, then passed on a rerun):", ""]
        for result in run.flaky:
            first = result.failures[0] if result.failures else ""
            lines.append(f"* `{result.nodeid}`: {result.attempts} attempts; first failure: {first}")
    if quarantine.entries:
        lines += ["", f"**Quarantined**: {len(quarantine.excused)} failed", ""]
        for row in quarantine.entries:
            state = "EXPIRED " if row["expired"] else ""
            failed = f", failed: {', '.join(row['failed'])}" if row["failed"] else ""
            lines.append(f"* {state}`{row['test']}` until {row['until']}: {row['reason']}{failed}")
    return "\n".join(lines) + "\n"
