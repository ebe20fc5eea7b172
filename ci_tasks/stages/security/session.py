"""The ``security`` stage: bandit, pip-audit over the locks, ``uv pip check``, zizmor.

Every scanner runs, then one verdict is given over all of them (no scanner's output is
lost when another fails): ``passed``, ``failed``, or ``unverified`` when a scanner could
not look (the vulnerability service unreachable). Unverified fails under ``CI=true`` and
warns elsewhere, unless ``[tool.ci-tasks.security] unverified`` says otherwise. The
evidence goes to ``.ci-tasks/security-report.json`` and the job summary.

The scanners come from the CI environment (ci-tasks depends on them; its lock pins them),
so the session needs no venv of its own: only ``uv pip check`` needs the project
installed, and it gets a private environment synced from ``uv.lock`` (or, inside
``preflight``, the session's, already synced).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core import groups as groups_mod
from ci_tasks.core.config import PYPROJECT, read_pyproject
from ci_tasks.core.errors import (
    CheckFailed,
    CITasksError,
    CommandFailed,
    CommandTimedOut,
    ToolMissingError,
)
from ci_tasks.core.ignores import Candidate
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.stage import StageContext, write_stage_report
from ci_tasks.core.verdict import Verdict, unverified
from ci_tasks.stages.security._bandit import Bandit
from ci_tasks.stages.security._common import last_line
from ci_tasks.stages.security._model import ScanContext, Scanner, ScanResult
from ci_tasks.stages.security._pip_audit import CiLockAudit, PipAudit
from ci_tasks.stages.security._uv_check import UvPipCheck
from ci_tasks.stages.security._verdict import (
    Outcome,
    headline,
    judge,
    listed,
    report_body,
    summary_markdown,
)
from ci_tasks.stages.security._zizmor import Zizmor
from ci_tasks.stages.security.config import SecurityConfig

SCANNERS: tuple[Scanner, ...] = (Bandit(), PipAudit(), CiLockAudit(), UvPipCheck(), Zizmor())


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
    mode = ctx.section(SecurityConfig).unverified
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
    for line in listed(outcome):
        if line:
            out.line(line.removeprefix("- ").removeprefix("### "))
    out.summary(summary_markdown(outcome))


def sync_project(
    ctx: StageContext, groups: tuple[str, ...], scratch: Path
) -> tuple[Path | None, str]:
    """The environment ``uv pip check`` judges, synced from ``uv.lock``; or why there is none.

    Inside a session with a venv (``preflight``) that venv; otherwise a private one in
    *scratch*, so the project's own ``.venv`` is never touched.
    """
    target = ctx.venv or scratch / "env"
    env = {"UV_PROJECT_ENVIRONMENT": str(target), "VIRTUAL_ENV": None}
    try:
        command = [ctx.tool("uv"), "sync", "--locked", "--no-default-groups", "--quiet"]
        for group in groups:
            command += ["--group", group]
        ctx.runner.run(command, env=env, cwd=ctx.root, retry_on=NETWORK_ERRORS)
    except ToolMissingError as exc:
        return None, exc.message  # the scanners needing uv say so too, and end with exit 2
    except (CommandFailed, CommandTimedOut) as exc:
        return None, f"the project could not be installed from uv.lock: {last_line(exc.tail)}"
    return target, ""


def audited_groups(ctx: StageContext) -> tuple[str, ...]:
    """The tests' groups, then those a plain ``uv sync`` installs.

    A developer's pre-commit and type checker are in the supply chain too, though the
    tests do not sync them.
    """
    source = ctx.root / PYPROJECT
    by_default = groups_mod.synced_by_default(read_pyproject(source)) if source.is_file() else ()
    return tuple(dict.fromkeys([*ctx.config.dependency_groups, *by_default]))


def _scan_context(
    ctx: StageContext,
    cfg: SecurityConfig,
    workdir: Path,
    *,
    python: Path | None,
    groups: tuple[str, ...],
    python_problem: str,
) -> ScanContext:
    """What the scanners get from the stage, for the session and for a baseline alike."""
    return ScanContext(
        root=ctx.root,
        config=cfg,
        runner=ctx.runner,
        output=ctx.output,
        workdir=workdir,
        python=python,
        groups=groups,
        tools_dirs=ctx.tools_dirs,
        python_problem=python_problem,
    )


def security(ctx: StageContext) -> Verdict | None:
    """bandit, pip-audit over uv.lock and noxfile.py.lock, uv pip check, zizmor; fail closed."""
    cfg = ctx.section(SecurityConfig)
    groups = audited_groups(ctx) if cfg.groups is None else cfg.groups
    with tempfile.TemporaryDirectory(prefix="ci-tasks-security-") as scratch:
        python, problem = sync_project(ctx, groups, Path(scratch))
        scan_ctx = _scan_context(
            ctx, cfg, Path(scratch), python=python, groups=groups, python_problem=problem
        )
        results, missing = run_scanners(SCANNERS, scan_ctx)
    outcome = judge(results, cfg.ignore, ctx.today())
    path = write_stage_report(
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
        return unverified("warning only: set CI=true or unverified = 'fail' to block")
    ctx.output.line(line, "ok")
    return None


OFFLINE: tuple[Scanner, ...] = (Bandit(), Zizmor())
"""The scanners that need no network: what ``ci-tasks baseline`` takes entries from."""


def baseline(ctx: StageContext) -> list[Candidate]:
    """The findings bandit and zizmor report now, as baseline candidates.

    A scanner that could not scan is an error: a baseline taken over a scan that did not
    happen would accept nothing and claim everything.
    """
    cfg = ctx.section(SecurityConfig)
    with tempfile.TemporaryDirectory(prefix="ci-tasks-baseline-") as scratch:
        scan_ctx = _scan_context(
            ctx,
            cfg,
            Path(scratch),
            python=None,
            groups=(),
            python_problem="not needed for a baseline",
        )
        results, missing = run_scanners(OFFLINE, scan_ctx)
    if missing:
        raise ToolMissingError(missing)
    failures = [f"{r.scanner}: {e}" for r in results if r.status == "failed" for e in r.errors]
    if failures:
        msg = f"cannot take a security baseline: {'; '.join(failures)}"
        raise CITasksError(msg)
    return [
        Candidate("security", f.id, f.file, f.message, f.line, r.scanner)
        for r in results
        for f in r.findings
    ]
