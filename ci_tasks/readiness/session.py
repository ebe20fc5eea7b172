"""The ``readiness`` stage: gather evidence, score it, print it, write checklist and cache.

Side effects live here (files, git, HTTP, clock); the model, checks and rendering it
calls are pure. ``--check-only`` and ``--dry-run`` write nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from ci_tasks import masking, reports
from ci_tasks.errors import CheckFailed, ToolMissingError, UsageError
from ci_tasks.readiness import cache as cache_mod
from ci_tasks.readiness import checklist
from ci_tasks.readiness.checks import all_checks
from ci_tasks.readiness.evidence import CIRuns, Evidence, load_evidence, parse_time
from ci_tasks.readiness.github import (
    DEFAULT_API_URL,
    GitHubClient,
    api_session,
    resolve_repository,
    token_from,
)
from ci_tasks.readiness.model import Result, apply_exemptions, format_score
from ci_tasks.stage import StageContext


@dataclasses.dataclass(frozen=True)
class Options:
    """The session's flags."""

    check_only: bool = False
    dry_run: bool = False
    verbose: bool = False
    offline: bool = False
    threshold: float | None = None


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:  # noqa: PLR2004 - a percentage
        msg = f"--threshold: expected a percentage from 0 to 100, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The readiness flags, shared by the nox session (posargs) and ``ci-tasks readiness``."""
    parser.add_argument(
        "--check-only", action="store_true", help="gate: exit 1 below the threshold; write nothing"
    )
    parser.add_argument(
        "--threshold", type=_threshold, default=None, help="override the threshold (%%)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show the checklist diff; write nothing"
    )
    parser.add_argument("--verbose", action="store_true", help="show every check's evidence")
    parser.add_argument(
        "--offline", action="store_true", help="skip the API checks (shown as not applicable)"
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"readiness: {message}")


def parse_options(argv: Sequence[str]) -> Options:
    """Options from the session's posargs; a bad flag is a one-line :class:`UsageError`."""
    parser = _Parser(prog="nox -s readiness --", add_help=False)
    add_arguments(parser)
    return options_from(parser.parse_args(list(argv)))


def options_from(args: argparse.Namespace) -> Options:
    """Options from parsed arguments."""
    return Options(
        check_only=args.check_only,
        dry_run=args.dry_run,
        verbose=args.verbose,
        offline=args.offline,
        threshold=args.threshold,
    )


def newest_evidence(evidence: Evidence) -> str:
    """The newest timestamp among the evidence (ISO-8601 UTC), or ``"no evidence"``."""
    stamps = [
        parse_time(r.data.get("generated_at"))
        for r in evidence.reports.values()
        if r.data is not None
    ]
    if evidence.flaky.data is not None:
        stamps += [parse_time(e.get("date")) for e in evidence.flaky.data["runs"][-1:]]
    if evidence.ci is not None:
        stamps += [r.updated for r in evidence.ci.runs[:1]]
    known = [s.astimezone(dt.UTC) for s in stamps if s is not None]
    return max(known).isoformat().replace("+00:00", "Z") if known else "no evidence"


def _remote(ctx: StageContext) -> str | None:
    try:
        done = ctx.runner.run(
            ["git", "remote", "get-url", "origin"],
            check=False,
            capture_stdout=True,
            stream=False,
            cwd=ctx.root,
        )
    except ToolMissingError:
        return None
    return (done.stdout or "").strip() if done.ok else None


def fetch_runs(ctx: StageContext, api_cache: dict[str, Any]) -> tuple[CIRuns, dict[str, Any]]:
    """The CI workflow's runs from the GitHub API; returns the API data to cache too."""
    cfg = ctx.config.readiness
    env = ctx.runner.env
    repository = resolve_repository(
        cfg.repository,
        env,
        None if cfg.repository or env.get("GITHUB_REPOSITORY") else _remote(ctx),
    )
    token = token_from(env)
    if token:
        ctx.output.add_mask(token)
    deadline = ctx.runner.deadline
    if deadline is None:
        deadline = time.monotonic() + ctx.config.timeouts.readiness
    client = GitHubClient(
        repository=repository,
        http=api_session(ctx.config.retry.policy()),
        base_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL,
        token=token,
        cached=api_cache,
        timeout=cfg.request_timeout,
        deadline=deadline,
        log=lambda msg: ctx.output.line(msg, "warning"),
    )
    branch = cfg.branch or client.default_branch()
    runs = client.workflow_runs(cfg.workflow, branch, cfg.runs)
    ctx.output.line(
        f"GitHub API: {client.requests} requests, {client.not_modified} answered from cache (304)"
    )
    return runs, client.fresh


def compute(ctx: StageContext, options: Options, cached: cache_mod.Cache) -> tuple[Result, Any]:
    """Gather the evidence and score it; returns the result and the API data to cache."""
    cfg = ctx.config.readiness
    # Nothing needs the API when both of its checks are turned off.
    needs_api = cfg.checks.ci_pass_rate.enabled or cfg.checks.ci_duration.enabled
    ci, api = fetch_runs(ctx, cached.api) if needs_api and not options.offline else (None, {})
    head = reports.current_commit(ctx.root)
    staging = (
        bool(ctx.runner.env.get("STAGING_URL")) or reports.report_path(ctx.root, "smoke").exists()
    )
    evidence = load_evidence(
        ctx.root,
        head=head,
        now=dt.datetime.now(dt.UTC),
        max_age_hours=cfg.max_evidence_age_hours,
        ci=ci,
        staging_configured=staging,
        output=ctx.output,
    )
    reasons = {e.check.replace("_", "-"): e.reason.strip() for e in cfg.exemptions}
    checks = apply_exemptions(all_checks(evidence, cfg), reasons)
    threshold = cfg.threshold if options.threshold is None else options.threshold
    result = Result(
        checks=checks, threshold=threshold, commit=head, as_of=newest_evidence(evidence)
    )
    return result, api


def readiness(ctx: StageContext) -> None:
    """Release readiness: score, checklist and cache (--check-only gates at the threshold)."""
    options = parse_options(ctx.posargs)
    run(ctx, options)


def run(ctx: StageContext, options: Options) -> Result:
    """The stage with parsed *options*; raises :class:`CheckFailed` when the gate fails."""
    out = ctx.output
    cached = cache_mod.load(ctx.root, out)
    result, api = compute(ctx, options, cached)
    for line in checklist.breakdown(result, verbose=options.verbose):
        out.line(line)
    out.set_output("score", f"{result.score:.1f}")
    name = ctx.config.readiness.checklist
    target = ctx.root / name
    text = masking.mask(checklist.render(result))  # evidence quotes other tools' output
    if options.dry_run and not options.check_only:
        old = target.read_text(encoding="utf-8") if target.exists() else None
        change = checklist.diff(old, text, name)
        out.line(f"dry run: {name} would change:" if change else f"dry run: {name} unchanged")
        if change:
            out.write(change)
        out.line(f"dry run: {cache_mod.CACHE_FILE} not written")
    elif not options.check_only:
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old != text:
            reports.atomic_write(target, text)
        cache_mod.save(ctx.root, cache_mod.updated(cached, result, api, reports.now_iso()))
        out.line(f"wrote {name} and {cache_mod.CACHE_FILE}")
    out.summary(text)
    if options.check_only and not result.passed:
        msg = (
            f"readiness {format_score(result.score)} is below the {result.threshold:g} % threshold"
        )
        raise CheckFailed(msg)
    return result


def register(config: Any) -> None:
    """Register the ``readiness`` nox session (no virtualenv: it runs no tools)."""
    from ci_tasks.stage import nox_session  # noqa: PLC0415

    # Tagged "release", not "ci": it reads the other stages' reports rather than being one.
    nox_session(readiness, name="readiness", config=config, venv_backend="none", tags=("release",))
