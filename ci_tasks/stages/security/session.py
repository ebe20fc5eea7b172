"""The ``security`` stage: bandit, pip-audit over the lock, ``uv pip check``, zizmor.

Every scanner runs, then one verdict is given over all of them (no scanner's output is
lost when another fails): ``passed``, ``failed``, or ``unverified`` when a scanner could
not look (the vulnerability service unreachable). Unverified fails under ``CI=true`` and
warns elsewhere, unless ``[tool.ci-tasks.security] unverified`` says otherwise. The
evidence goes to ``.ci-tasks/security-report.json`` and the job summary.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tasks.core import reports
from ci_tasks.core.errors import CheckFailed, ToolMissingError
from ci_tasks.core.stage import StageContext, install_locked
from ci_tasks.stages.security._bandit import Bandit
from ci_tasks.stages.security._model import Finding, ScanContext, Scanner, ScanResult
from ci_tasks.stages.security._pip_audit import PipAudit
from ci_tasks.stages.security._tools import install_scanners, locate
from ci_tasks.stages.security._uv_check import UvPipCheck
from ci_tasks.stages.security._verdict import (
    Outcome,
    headline,
    judge,
    report_body,
    summary_markdown,
)
from ci_tasks.stages.security._zizmor import Zizmor
from ci_tasks.stages.security.config import SecurityConfig

if TYPE_CHECKING:
    from ci_tasks.core.config import Config

__all__ = [
    "SCANNERS",
    "Finding",
    "Outcome",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "judge",
    "register",
    "run_scanners",
    "security",
]

SCANNERS: tuple[Scanner, ...] = (Bandit(), PipAudit(), UvPipCheck(), Zizmor())


def run_scanners(scanners: Sequence[Scanner], ctx: ScanContext) -> tuple[list[ScanResult], str]:
    """Run every scanner; their results, and the first missing tool's message (or ``""``).

    A missing tool does not stop the others: it is recorded as that scanner's failure and
    reported after all have run.
    """
    results: list[ScanResult] = []
    missing = ""
    for scanner in scanners:
        with ctx.output.group(f"security: {scanner.name}"):
            try:
                result = scanner.scan(ctx)
            except ToolMissingError as exc:
                missing = missing or exc.message
                result = ScanResult(scanner.name, "failed", errors=(exc.message,))
        ctx.output.line(f"{scanner.name}: {result.status}, {len(result.findings)} finding(s)")
        results.append(result)
    return results, missing


def _unverified_fails(ctx: StageContext) -> bool:
    mode = ctx.config.section("security", SecurityConfig).unverified
    if mode is not None:
        return mode == "fail"
    return ctx.runner.env.get("CI", "").lower() == "true"


def _tell(ctx: StageContext, outcome: Outcome) -> None:
    out = ctx.output
    for judged in outcome.findings:
        f = judged.finding
        text = f.message + (f" (fix: {f.fix})" if f.fix else "")
        if judged.ignore is not None:
            why = f"{judged.ignore.reason}, until {judged.ignore.until}"
            out.line(f"ignored {f.scanner} {f.id}: {text} ({why})")
            continue
        out.annotate("error", text, file=f.file, line=f.line, title=f"{f.scanner} {f.id}")
    for note in (*outcome.failures, *outcome.notes):
        out.annotate("error" if note in outcome.failures else "warning", note, title="security")
    out.summary(summary_markdown(outcome))


def security(ctx: StageContext) -> str | None:
    """bandit, pip-audit over uv.lock, uv pip check and zizmor; one report, fail closed."""
    cfg = ctx.config.section("security", SecurityConfig)
    bin_dir = None
    python: Path | None = ctx.root / ".venv"
    if ctx.venv is not None:
        install_locked(ctx)
        bin_dir = install_scanners(ctx.runner, ctx.venv, cfg.versions)
        python = ctx.venv
    elif python is not None and not python.is_dir():
        python = None
    groups = ctx.config.dependency_groups if cfg.groups is None else cfg.groups
    with tempfile.TemporaryDirectory(prefix="ci-tasks-security-") as scratch:
        scan_ctx = ScanContext(
            root=ctx.root,
            config=cfg,
            runner=ctx.runner,
            output=ctx.output,
            workdir=Path(scratch),
            tools=locate(ctx.root, ctx.runner, bin_dir),
            python=python,
            groups=tuple(groups),
        )
        results, missing = run_scanners(SCANNERS, scan_ctx)
    outcome = judge(results, cfg.ignore, dt.datetime.now(dt.UTC).date())
    path = reports.write_report(
        ctx.root, "security", verdict=outcome.verdict, body=report_body(outcome)
    )
    _tell(ctx, outcome)
    line = headline(outcome)
    ctx.output.line(f"report: {path}")
    if missing:
        raise ToolMissingError(f"{line}; {missing}")
    if outcome.verdict == "failed" or (outcome.verdict == "unverified" and _unverified_fails(ctx)):
        raise CheckFailed(line)
    if outcome.verdict == "unverified":
        # Loud but not blocking: a developer offline can still push; CI will refuse it.
        ctx.output.annotate("warning", f"{line}; not blocking outside CI")
        return "UNVERIFIED (warning only: set CI=true or unverified = 'fail' to block)"
    ctx.output.line(line, "ok")
    return None


def register(config: Config) -> None:
    """Register the ``security`` nox session."""
    from ci_tasks.core.stage import nox_session  # noqa: PLC0415

    nox_session(security, name="security", config=config)
