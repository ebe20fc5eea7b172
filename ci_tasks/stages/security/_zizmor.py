"""zizmor over ``.github/workflows``, offline."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from ci_tasks.core import reports
from ci_tasks.stages.security._common import last_line, run_tool, tool_version
from ci_tasks.stages.security._model import Finding, ScanContext, ScanResult

NAME = "zizmor"
# zizmor's exit codes: 0 clean, 10-14 findings by highest severity (unknown..high),
# 3 "no inputs collected" (a folder without workflows); anything else is a failure.
_FINDINGS = range(10, 15)
_NO_INPUTS = 3


def _primary(finding: Any) -> tuple[str | None, int | None]:
    for location in finding.get("locations", []):
        symbolic = location.get("symbolic", {})
        if symbolic.get("kind") != "Primary":
            continue
        path = symbolic.get("key", {}).get("Local", {}).get("verbatim_path")
        row = location.get("concrete", {}).get("location", {}).get("start_point", {}).get("row")
        # zizmor counts rows from 0; editors and annotations from 1.
        shown = reports.portable_path(path) if isinstance(path, str) else None
        return shown, row + 1 if isinstance(row, int) else None
    return None, None


def parse(report: Sequence[Any]) -> ScanResult:
    """A :class:`ScanResult` from zizmor's ``--format json`` output (pure)."""
    findings = []
    for item in report:
        if item.get("ignored"):
            continue  # ignored in the workflow itself (`# zizmor: ignore[...]`)
        file, line = _primary(item)
        determinations = item.get("determinations", {})
        findings.append(
            Finding(
                scanner=NAME,
                id=str(item.get("ident", "?")),
                severity=str(determinations.get("severity", "unknown")).lower(),
                message=str(item.get("desc", "")),
                file=file,
                line=line,
                fix=item.get("url"),
            )
        )
    return ScanResult(NAME, "ran", findings=tuple(findings), counts={"findings": len(findings)})


class Zizmor:
    """The :class:`~ci_tasks.security._model.Scanner` auditing the workflows."""

    name = NAME

    def scan(self, ctx: ScanContext) -> ScanResult:
        """Run zizmor offline with the session's severity and confidence thresholds."""
        folder = ctx.config.workflows
        if not (ctx.root / folder).is_dir():
            return ScanResult(NAME, "ran", counts={"findings": 0, "workflows": 0})
        command = [ctx.tool(NAME), "--offline", "--format", "json", "--no-progress"]
        command += ["--min-severity", ctx.config.severity]
        command += ["--min-confidence", ctx.config.confidence, folder]
        done = run_tool(ctx, command, capture_stdout=True)
        version = tool_version(ctx, NAME)
        if isinstance(done, str):
            return ScanResult(NAME, "failed", errors=(done,))
        if done.returncode == _NO_INPUTS:
            return ScanResult(NAME, "ran", version, counts={"findings": 0, "workflows": 0})
        if done.returncode != 0 and done.returncode not in _FINDINGS:
            why = f"zizmor exited {done.returncode}: {last_line(done.tail)}"
            return ScanResult(NAME, "failed", errors=(why,))
        try:
            report = json.loads(done.stdout or "[]")
        except json.JSONDecodeError as exc:
            return ScanResult(NAME, "failed", errors=(f"zizmor wrote invalid JSON ({exc})",))
        return dataclasses.replace(parse(report), version=version)
