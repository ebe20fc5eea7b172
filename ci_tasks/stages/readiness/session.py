"""The ``readiness`` stage: gather evidence, score it, print it, write checklist and cache.

Side effects live here (files, git, HTTP, clock); the model, checks and rendering it
calls are pure. ``--check-only`` and ``--dry-run`` write nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tasks.core import artifacts, ignores, masking, reports, stage
from ci_tasks.core.errors import CheckFailed, ToolMissingError, UsageError
from ci_tasks.core.stage import Flags, StageContext
from ci_tasks.core.verdict import Verdict, tempered
from ci_tasks.stages.readiness import (
    autocommit,
    badge,
    checklist,
    cienv,
    publish,
    trend,
)
from ci_tasks.stages.readiness import cache as cache_mod
from ci_tasks.stages.readiness.checks import all_checks
from ci_tasks.stages.readiness.config import ReadinessConfig
from ci_tasks.stages.readiness.evidence import (
    EVIDENCE_FILES,
    IGNORED_CONCLUSIONS,
    SESSION_FILES,
    CIRuns,
    Evidence,
    load_evidence,
    wants_ci_copy,
    with_ci,
)
from ci_tasks.stages.readiness.github import ci_runs
from ci_tasks.stages.readiness.model import Accepted, Result, apply_exemptions, format_score

if TYPE_CHECKING:
    from ci_tasks.core.github import GitHub
    from ci_tasks.stages.readiness.github import ActionsClient

BADGE_FILE = "readiness-badge.svg"


@dataclasses.dataclass(frozen=True)
class Options:
    """The session's flags."""

    check_only: bool = False
    dry_run: bool = False
    verbose: bool = False
    offline: bool = False
    threshold: float | None = None
    pr_comment: bool = False
    pr: int | None = None
    notify: bool = False
    commit: bool = False
    push: bool = False

    def __post_init__(self) -> None:
        if self.commit and (self.check_only or self.dry_run):
            msg = "readiness: --commit writes files; it cannot go with --check-only or --dry-run"
            raise UsageError(msg)
        if self.push and not self.commit:
            msg = "readiness: --push pushes the --commit; give both"
            raise UsageError(msg)
        if self.pr_comment and self.offline:
            msg = "readiness: --pr-comment needs the GitHub API; it cannot go with --offline"
            raise UsageError(msg)


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
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show every check's evidence and every HTTP request (secrets masked)",
    )
    parser.add_argument(
        "--offline", action="store_true", help="skip the API checks (shown as not applicable)"
    )
    parser.add_argument(
        "--pr-comment", action="store_true", help="post or update the sticky PR comment"
    )
    parser.add_argument(
        "--pr", type=int, default=None, help="the PR number (default: from GITHUB_EVENT_PATH)"
    )
    parser.add_argument(
        "--notify", action="store_true", help="Slack (SLACK_WEBHOOK_URL) when below threshold"
    )
    parser.add_argument(
        "--commit", action="store_true", help="commit the checklist, cache and badge if changed"
    )
    parser.add_argument("--push", action="store_true", help="push the --commit (with retries)")


FLAGS = Flags(
    "readiness",
    "The release-readiness score, checklist and gate (configured in [tool.ci-tasks.readiness]).",
    add_arguments,
)


def parse_options(argv: Sequence[str]) -> Options:
    """Options from the session's posargs; a bad flag is a one-line :class:`UsageError`."""
    return options_from(FLAGS.parse(argv))


def options_from(args: argparse.Namespace) -> Options:
    """Options from parsed arguments."""
    return Options(
        check_only=args.check_only,
        dry_run=args.dry_run,
        verbose=args.verbose,
        offline=args.offline,
        threshold=args.threshold,
        pr_comment=args.pr_comment,
        pr=args.pr,
        notify=args.notify,
        commit=args.commit,
        push=args.push,
    )


def newest_evidence(evidence: Evidence) -> str:
    """The newest timestamp among the evidence (ISO-8601 UTC), or ``"no evidence"``."""
    stamps = [
        reports.parse_time(r.data.get("generated_at"))
        for r in evidence.reports.values()
        if r.data is not None
    ]
    if evidence.flaky.data is not None:
        stamps += [reports.parse_time(e.get("date")) for e in evidence.flaky.data["runs"][-1:]]
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


def make_client(ctx: StageContext, api_cache: dict[str, Any]) -> ActionsClient:
    """A GitHub client for the project's repository, within the session's deadline."""
    from ci_tasks.stages.readiness.github import (  # noqa: PLC0415 - requests costs 0.2 s at start-up; only a run needs it
        DEFAULT_API_URL,
        ActionsClient,
        api_session,
        resolve_repository,
        token_from,
    )

    cfg = ctx.section(ReadinessConfig)
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
        deadline = time.monotonic() + cfg.timeout
    return ActionsClient(
        repository=repository,
        http=api_session(ctx.config.retry.policy()),
        base_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL,
        token=token,
        cached=api_cache,
        timeout=cfg.request_timeout,
        deadline=deadline,
        log=lambda msg: ctx.output.line(msg, "warning"),
    )


def fetch_runs(client: GitHub, ctx: StageContext) -> CIRuns:
    """The CI workflow's runs from the GitHub API."""
    cfg = ctx.section(ReadinessConfig)
    branch = cfg.branch or client.default_branch()
    return ci_runs(client, cfg.workflow, branch, cfg.runs)


def _needs_runs(ctx: StageContext) -> bool:
    cfg = ctx.section(ReadinessConfig)
    return cfg.checks.ci_pass_rate.enabled or cfg.checks.ci_duration.enabled or cfg.ci_evidence


def add_ci_evidence(
    ctx: StageContext,
    options: Options,
    client: GitHub,
    ci: CIRuns,
    evidence: Evidence,
    *,
    same_as_head: frozenset[str],
) -> Evidence:
    """*evidence* with the reports of the newest CI run, when ours are missing or older.

    With ``--check-only`` or ``--dry-run`` they stay in memory; otherwise they are kept
    under ``.ci-tasks/ci-run/`` so an unchanged rerun downloads nothing.
    """
    cfg = ctx.section(ReadinessConfig)
    newest = next((r for r in ci.runs if r.conclusion not in IGNORED_CONCLUSIONS), None)
    if newest is None or not wants_ci_copy(evidence, newest):
        return evidence
    got = artifacts.gather(
        client,
        ctx.root,
        run_id=newest.id,
        label=newest.label,
        head_sha=newest.head_sha,
        allowed=EVIDENCE_FILES,
        in_folders=SESSION_FILES,
        max_bytes=int(cfg.max_artifact_mb * 1e6),
    )
    for why in got.refused:
        ctx.output.annotate("warning", f"{got.label}: artifact {why}")
    names = sorted({f.name for f in got.files})
    ctx.output.line(f"{got.label}: {', '.join(names) or 'no reports'} ({newest.head_sha[:12]})")
    if not (got.stored or options.check_only or options.dry_run):
        try:
            artifacts.save(ctx.root, got)
        except (artifacts.ArchiveRefused, OSError) as exc:
            ctx.output.annotate("warning", f"{got.label}: reports not kept: {exc}")
    return with_ci(
        evidence,
        got,
        now=dt.datetime.now(dt.UTC),
        max_age_hours=cfg.max_evidence_age_hours,
        same_as_head=same_as_head,
    )


def _own_files(ctx: StageContext) -> set[str]:
    checklist_path = Path(ctx.section(ReadinessConfig).checklist)
    return {
        checklist_path.as_posix(),
        (checklist_path.parent / BADGE_FILE).as_posix(),
        cache_mod.CACHE_FILE,
    }


def _code_commit(
    ctx: StageContext, head: str | None, own: set[str]
) -> tuple[str | None, frozenset[str]]:
    """The commit whose code the evidence is about, and the commits equivalent to it.

    Walking back from HEAD over commits that touched only *own* files (what ``--commit``
    adds), the first other commit is the code's commit: the checklist names it, and
    reports from it or from any commit on the walk are current. Without this, committing
    the checklist would make every report stale and the checklist change on every run.
    """
    if not head:
        return head, frozenset()
    done = ctx.runner.run(
        ["git", "log", "--first-parent", "-n", "50", "--format=%x00%H", "--name-only", head],
        cwd=ctx.root,
        check=False,
        capture_stdout=True,
        stream=False,
    )
    if not done.ok:
        return head, frozenset()
    walk = [head]
    entries = [e.split("\n", 1) for e in (done.stdout or "").split("\0") if e.strip()]
    for (_sha, names), (parent, _rest) in itertools.pairwise(entries):
        changed = {n for n in names.split("\n") if n.strip()}
        if not changed or not changed <= own:
            break
        walk.append(parent.strip())
    return walk[-1], frozenset(walk)


def compute(ctx: StageContext, options: Options, client: GitHub | None) -> tuple[Result, Any]:
    """Gather the evidence and score it; returns the result and the API data to cache."""
    cfg = ctx.section(ReadinessConfig)
    # Nothing needs the runs when both CI checks and the CI evidence are turned off.
    ci = fetch_runs(client, ctx) if _needs_runs(ctx) and client is not None else None
    head, same_as_head = _code_commit(ctx, reports.current_commit(ctx.root), _own_files(ctx))
    staging = (
        bool(ctx.runner.env.get("STAGING_URL"))
        or bool(stage.exported(ctx.config, "smoke", "url"))
        or reports.report_path(ctx.root, "smoke").exists()
    )
    evidence = load_evidence(
        ctx.root,
        head=head,
        now=dt.datetime.now(dt.UTC),
        max_age_hours=cfg.max_evidence_age_hours,
        ci=ci,
        staging_configured=staging,
        output=ctx.output,
        same_as_head=same_as_head,
    )
    by = {name: r.shown for name, r in ctx.config.replaced.items()}
    evidence = dataclasses.replace(evidence, replaced=by)
    if cfg.checks.ci_environment.enabled:
        why = "--offline" if options.offline else "the GitHub API checks are turned off"
        seen = cienv.gather(ctx.root, ctx.runner, client, not_looked=why, offline=options.offline)
        evidence = dataclasses.replace(evidence, ci_environment=seen)
    if client is not None and ci is not None:
        if cfg.ci_evidence:
            evidence = add_ci_evidence(
                ctx, options, client, ci, evidence, same_as_head=same_as_head
            )
        ctx.output.line(
            f"GitHub API: {client.requests} requests, "
            f"{client.not_modified} answered from cache (304)"
        )
    api = client.fresh if client is not None and ci is not None else {}
    reasons = {e.check.replace("_", "-"): e.reason.strip() for e in cfg.exemptions}
    checks = apply_exemptions(all_checks(evidence, cfg), reasons)
    threshold = cfg.threshold if options.threshold is None else options.threshold
    result = Result(
        checks=checks,
        threshold=threshold,
        commit=head,
        as_of=newest_evidence(evidence),
        accepted=accepted(ctx.config.sections, ctx.today()),
    )
    return result, api


def accepted(sections: Mapping[str, Any], today: dt.date) -> tuple[Accepted, ...]:
    """Every stage's ignore entries, as of *today* (pure)."""
    return tuple(
        Accepted(stage, e.describe(), e.reason, str(e.until), e.expired(today))
        for stage, e in ignores.configured(sections)
    )


def readiness(ctx: StageContext) -> Verdict | None:
    """Release readiness: score, checklist and cache (--check-only gates at the threshold)."""
    options = parse_options(ctx.posargs)
    return verdict_of(run(ctx, options))


def verdict_of(result: Result) -> Verdict | None:
    """A pass whose last line says the score instead of "passed" when it is below par.

    Without ``--check-only`` a low score does not fail the stage, but the line must not
    read as a green "passed".
    """
    if result.passed:
        return None
    score = format_score(result.score)
    return tempered(f"{score}, below the {result.threshold:g} % threshold (not gated)")


def run(ctx: StageContext, options: Options) -> Result:
    """The stage with parsed *options*; raises :class:`CheckFailed` when the gate fails."""
    out = ctx.output
    cfg = ctx.section(ReadinessConfig)
    if options.verbose:
        from ci_tasks.core.http import route_client_logs  # noqa: PLC0415 - requests costs 0.2 s at start-up

        route_client_logs(verbose=True, output=out)
    cached = cache_mod.load(ctx.root, out)
    needs_api = options.pr_comment or _needs_runs(ctx)
    client = make_client(ctx, cached.api) if needs_api and not options.offline else None
    result, api = compute(ctx, options, client)
    fresh = cache_mod.updated(cached, result, api, reports.now_iso())
    for line in checklist.breakdown(result, verbose=options.verbose):
        out.line(line)
    scores = [float(h["score"]) for h in fresh.history if isinstance(h.get("score"), int | float)]
    out.line(f"trend ({len(scores)} runs): {trend.sparkline(scores)}")
    out.set_output("score", f"{result.score:.1f}")
    files = _files(ctx, result, fresh)
    if options.dry_run and not options.check_only:
        _show_dry_run(ctx, files)
    elif not options.check_only:
        _write(ctx, files, fresh)
        if options.commit:
            paths = [*files, ctx.root / cache_mod.CACHE_FILE]
            message = f"readiness: {format_score(result.score)} (threshold {result.threshold:g} %)"
            if autocommit.commit(ctx.runner, ctx.root, paths, message, push=options.push):
                out.line(f"committed {', '.join(p.name for p in paths)}")
            else:
                out.line("nothing to commit: the checklist, cache and badge are unchanged")
    out.summary(files[ctx.root / cfg.checklist])
    if options.pr_comment and client is not None:
        _comment(ctx, options, client, result, fresh)
    if options.notify:
        from ci_tasks.stages.readiness import notify  # noqa: PLC0415 - requests costs 0.2 s at start-up; only a run needs it

        notify.send(ctx, result, cached.last)
    if options.check_only and not result.passed:
        msg = (
            f"readiness {format_score(result.score)} is below the {result.threshold:g} % threshold"
        )
        raise CheckFailed(msg)
    return result


def _files(ctx: StageContext, result: Result, fresh: cache_mod.Cache) -> dict[Path, str]:
    """The checklist and the badge beside it, rendered."""
    target = ctx.root / ctx.section(ReadinessConfig).checklist
    chart = trend.mermaid(publish.trend_points(fresh.history), threshold=result.threshold)
    # Evidence quotes other tools' output, so the checklist is masked before it is written.
    text = masking.mask(checklist.render(result, chart))
    return {
        target: text,
        target.parent / BADGE_FILE: badge.render(result.score, result.threshold),
    }


def _show_dry_run(ctx: StageContext, files: dict[Path, str]) -> None:
    out = ctx.output
    for path, text in files.items():
        name = path.relative_to(ctx.root).as_posix()
        old = path.read_text(encoding="utf-8") if path.exists() else None
        change = checklist.diff(old, text, name)
        out.line(f"dry run: {name} would change:" if change else f"dry run: {name} unchanged")
        if change and path.suffix == ".md":
            out.write(change)
    out.line(f"dry run: {cache_mod.CACHE_FILE} not written")


def _write(ctx: StageContext, files: dict[Path, str], fresh: cache_mod.Cache) -> None:
    for path, text in files.items():
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            reports.atomic_write(path, text)
    cache_mod.save(ctx.root, fresh)
    names = ", ".join(p.relative_to(ctx.root).as_posix() for p in files)
    ctx.output.line(f"wrote {names} and {cache_mod.CACHE_FILE}")


def _comment(
    ctx: StageContext,
    options: Options,
    client: GitHub,
    result: Result,
    fresh: cache_mod.Cache,
) -> None:
    number = publish.pull_request_number(options.pr, ctx.runner.env)

    def render(previous: Mapping[str, Any] | None) -> str:
        return publish.comment_body(result, publish.baseline_for(result, previous), fresh.history)

    done = publish.upsert_comment(
        client, number, render, lambda msg: ctx.output.annotate("warning", msg)
    )
    ctx.output.line(f"readiness comment on #{number}: {done}")
