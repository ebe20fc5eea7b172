"""The one verdict over every scanner's result and the accountable ignores (pure)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from ci_tasks.core import ignores as ignores_mod
from ci_tasks.stages.security._model import Finding, ScanResult
from ci_tasks.stages.security._pip_audit import CI_LOCK
from ci_tasks.stages.security._pip_audit import CI_NAME as CI_SCANNER
from ci_tasks.stages.security.config import SecurityIgnore

Verdict = Literal["passed", "failed", "unverified"]


@dataclasses.dataclass(frozen=True)
class Judged:
    """A finding and whether an ignore (still in force) covers it."""

    finding: Finding
    ignore: SecurityIgnore | None = None

    @property
    def ignored(self) -> bool:
        """Whether the finding is ignored."""
        return self.ignore is not None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The security verdict and everything it rests on."""

    verdict: Verdict
    results: tuple[ScanResult, ...]
    findings: tuple[Judged, ...]
    notes: tuple[str, ...]
    """Expired ignores, said out loud."""

    @property
    def active(self) -> tuple[Finding, ...]:
        """Findings no ignore covers."""
        return tuple(j.finding for j in self.findings if not j.ignored)

    @property
    def unverified_reasons(self) -> tuple[str, ...]:
        """One line per scanner that could not look."""
        return tuple(
            f"{r.scanner}: {e}" for r in self.results if r.status == "unverified" for e in r.errors
        )

    @property
    def failures(self) -> tuple[str, ...]:
        """One line per scanner that failed to scan (not its findings)."""
        return tuple(
            f"{r.scanner}: {e}" for r in self.results if r.status == "failed" for e in r.errors
        )


def judge(
    results: Sequence[ScanResult], ignores: Sequence[SecurityIgnore], today: dt.date
) -> Outcome:
    """Apply *ignores* as of *today* and decide.

    Failed if any finding is not ignored or any scanner failed; otherwise unverified if
    any scanner could not look; otherwise passed. An ignore past its ``until`` date no
    longer ignores, and says so.
    """
    judged: list[Judged] = []
    notes: list[str] = []
    for result in results:
        for finding in result.findings:
            found = ignores_mod.judge(finding.ids, finding.file, ignores, today)
            notes.extend(ignores_mod.expiry_note(i, finding.id) for i in found.expired)
            judged.append(Judged(finding, found.live))
    verdict: Verdict = "passed"
    if any(not j.ignored for j in judged) or any(r.status == "failed" for r in results):
        verdict = "failed"
    elif any(r.status == "unverified" for r in results):
        verdict = "unverified"
    return Outcome(verdict, tuple(results), tuple(judged), tuple(dict.fromkeys(notes)))


def report_body(outcome: Outcome) -> dict[str, Any]:
    """The ``security-report.json`` body (the envelope is :func:`reports.write_report`'s)."""
    findings = [
        {
            "scanner": j.finding.scanner,
            "id": j.finding.id,
            "aliases": list(j.finding.aliases),
            "severity": j.finding.severity,
            "file": j.finding.file,
            "line": j.finding.line,
            "message": j.finding.message,
            "fix": j.finding.fix,
            "ignored": j.ignored,
            "ignore_reason": j.ignore.reason if j.ignore else None,
            "ignore_until": j.ignore.until.isoformat() if j.ignore and j.ignore.until else None,
        }
        for j in outcome.findings
    ]
    scanners = {
        r.scanner: {
            "status": r.status,
            "version": r.version,
            "counts": dict(r.counts),
            "errors": list(r.errors),
        }
        for r in outcome.results
    }
    audit = _result(outcome, "pip-audit")
    counts = dict(audit.counts) if audit else {}
    return {
        "findings": findings,
        "scanners": scanners,
        "unverified_reasons": list(outcome.unverified_reasons),
        "failures": list(outcome.failures),
        "notes": list(outcome.notes),
        "audited": counts.get("audited", 0),
        "skipped": counts.get("skipped", 0),
        "skipped_packages": list(skipped_packages(outcome, "pip-audit")),
        "local": list(audit.local) if audit else [],
        "ci_supply_chain": ci_supply_chain(outcome),
    }


def _result(outcome: Outcome, scanner: str) -> ScanResult | None:
    return next((r for r in outcome.results if r.scanner == scanner), None)


def skipped_packages(outcome: Outcome, scanner: str) -> tuple[str, ...]:
    """The packages *scanner* could not audit (its ``skipped:<name>`` findings)."""
    return tuple(
        j.finding.id.removeprefix("skipped:")
        for j in outcome.findings
        if j.finding.scanner == scanner and j.finding.id.startswith("skipped:")
    )


def ci_supply_chain(outcome: Outcome) -> dict[str, Any]:
    """The CI environment's lock as audited: its own section of the report."""
    result = _result(outcome, CI_SCANNER)
    if result is None:
        return {"lock": None, "status": "not run", "note": ""}
    ids = [j.finding.id for j in outcome.findings if j.finding.scanner == CI_SCANNER]
    return {
        "lock": None if result.status == "skipped" else CI_LOCK,
        "status": result.status,
        "audited": result.counts.get("audited", 0),
        "findings": ids,
        "skipped_packages": list(skipped_packages(outcome, CI_SCANNER)),
        "local": list(result.local),
        "note": "; ".join(result.errors),
    }


def headline(outcome: Outcome) -> str:
    """The one-line verdict: ``security: UNVERIFIED (...)``, ``security: FAILED (...)``."""
    if outcome.verdict == "passed":
        ignored = len(outcome.findings) - len(outcome.active)
        extra = f" ({ignored} ignored)" if ignored else ""
        return f"security: PASSED{extra}"
    if outcome.verdict == "unverified":
        return f"security: UNVERIFIED ({'; '.join(outcome.unverified_reasons)})"
    parts = []
    if outcome.active:
        shown = ", ".join(dict.fromkeys(f.id for f in outcome.active[:5]))
        more = "" if len(outcome.active) <= 5 else ", ..."  # noqa: PLR2004
        parts.append(f"{len(outcome.active)} finding(s): {shown}{more}")
    parts.extend(outcome.failures)
    parts.extend(outcome.unverified_reasons)
    return f"security: FAILED ({'; '.join(parts)})"


def _cell(text: object) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def summary_markdown(outcome: Outcome) -> str:
    """The job summary: the headline, one row per scanner, one row per finding."""
    lines = [f"## {headline(outcome)}", "", "| scanner | status | version | counts |"]
    lines.append("|---|---|---|---|")
    for r in outcome.results:
        counts = ", ".join(f"{k}: {v}" for k, v in r.counts.items())
        lines.append(f"| {r.scanner} | {r.status} | {_cell(r.version)} | {counts} |")
    if outcome.findings:
        lines += ["", "| scanner | id | severity | where | message | fix | ignored |"]
        lines.append("|---|---|---|---|---|---|---|")
        for j in outcome.findings:
            f = j.finding
            where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
            ignored = f"yes: {j.ignore.reason} (until {j.ignore.until})" if j.ignore else "no"
            lines.append(
                f"| {f.scanner} | {_cell(f.id)} | {f.severity} | {_cell(where)} "
                f"| {_cell(f.message)} | {_cell(f.fix)} | {_cell(ignored)} |"
            )
    lines.extend(f"- {note}" for note in (*outcome.failures, *outcome.notes))
    lines += listed(outcome)
    return "\n".join(lines) + "\n"


def listed(outcome: Outcome) -> list[str]:
    """The packages not audited (local, skipped), and the CI supply chain section."""
    lines = []
    for scanner in ("pip-audit", CI_SCANNER):
        result = _result(outcome, scanner)
        if result is not None and result.local:
            shown = ", ".join(result.local)
            lines.append(f"- {scanner}: local, not audited (their dependencies are): {shown}")
        skipped = skipped_packages(outcome, scanner)
        if skipped:
            lines.append(f"- {scanner}: skipped by the service, not audited: {', '.join(skipped)}")
    section = ci_supply_chain(outcome)
    lines += ["", "### CI supply chain", ""]
    if section["lock"] is None:
        lines.append(section["note"] or "not audited")
    else:
        found = ", ".join(section["findings"]) or "no vulnerability"
        lines.append(f"{CI_LOCK}: {section['status']}, {section['audited']} audited; {found}")
    return lines
