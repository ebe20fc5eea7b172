"""The ``preflight`` stage: the configured stages in order, answered from a cache when possible.

Every stage runs in this one nox session (one venv, one install from the lock), each
with its own name and its own timeout. A stage that passed records the fingerprint of
its inputs (see :mod:`ci_tasks.fingerprint`); a later run with the same fingerprint says
``lint: passed (cached, 3 min ago)`` instead of running it. Only passes are cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tasks.core import __version__, git, ignores, reports
from ci_tasks.core.errors import (
    EXIT_ERROR,
    EXIT_OK,
    CheckFailed,
    CITasksError,
    CommandFailed,
    ConfigError,
    ToolMissingError,
    UsageError,
    exit_code_for,
)
from ci_tasks.core.stage import (
    CHILD_NOX_ENV,
    StageContext,
    judge,
    runnable_stages,
    written_files,
)
from ci_tasks.core.verdict import Status, Verdict, tempered
from ci_tasks.stages.preflight import fingerprint
from ci_tasks.stages.preflight.config import PreflightConfig

if TYPE_CHECKING:
    from ci_tasks.core.config import Config, ReplacedStage

DEFAULT_STAGES = ("lint", "tests", "security")
NOT_RUN = Verdict(Status.NOT_RUN)
CACHE_FILE = "preflight-cache.json"
CACHE_SCHEMA = "ci-tasks/preflight-cache"
# Fingerprints kept per stage: switching branches back and forth still hits.
CACHE_ENTRIES_PER_STAGE = 16

AnyStage = Callable[[StageContext], Any]


@dataclasses.dataclass(frozen=True)
class Options:
    """What ``nox -s preflight -- ...`` asked for."""

    fail_fast: bool
    read_cache: bool
    """Whether a recorded pass may answer for a stage."""
    write_cache: bool
    """Whether a pass is recorded."""
    why_no_cache: str
    stage_args: Mapping[str, tuple[str, ...]]


@dataclasses.dataclass(frozen=True)
class StageResult:
    """How one stage ended in this run."""

    name: str
    verdict: Verdict
    cached_at: float | None = None
    """When the pass answering for it from the cache was recorded (a UNIX time)."""

    @property
    def code(self) -> int:
        """The exit code the stage ended with."""
        return self.verdict.exit_code

    @property
    def seconds(self) -> float:
        """How long it ran (0 when answered from the cache or not run)."""
        return self.verdict.seconds


def cache_mode(config: Config, env: Mapping[str, str], *, no_cache: bool) -> tuple[bool, bool, str]:
    """Whether the cache is read, whether passes are recorded, and why not (pure)."""
    in_ci = env.get("CI", "").lower() == "true"
    section = config.section(PreflightConfig)
    read = write = section.cache
    why = "" if section.cache else "off in [tool.ci-tasks.preflight]"
    if in_ci and not section.cache_in_ci and read:
        read = write = False
        why = "off under CI=true (cache_in_ci = true enables it)"
    elif env.get("CI_TASKS_NO_CACHE", "") not in {"", "0"} and read:
        read, why = False, "bypassed (CI_TASKS_NO_CACHE)"
    elif no_cache and read:
        read, why = False, "bypassed (--no-cache)"
    return read, write, why


def parse_posargs(
    posargs: Sequence[str], config: Config, env: Mapping[str, str], stage_names: Sequence[str]
) -> Options:
    """Parse preflight's posargs: ``--fail-fast``, ``--no-cache``, ``--<stage>-args="..."``."""
    fail_fast = config.section(PreflightConfig).fail_fast
    no_cache = False
    stage_args: dict[str, tuple[str, ...]] = {}
    for arg in posargs:
        if arg == "--fail-fast":
            fail_fast = True
        elif arg == "--no-fail-fast":
            fail_fast = False
        elif arg == "--no-cache":
            no_cache = True
        elif arg.startswith("--") and "-args=" in arg:
            name, _, value = arg[2:].partition("-args=")
            if name not in stage_names:
                msg = f"preflight: {arg!r} names no stage of this run ({', '.join(stage_names)})"
                raise UsageError(msg)
            try:
                stage_args[name] = tuple(shlex.split(value))
            except ValueError as exc:
                raise UsageError(f"preflight: {arg!r} cannot be split into words ({exc})") from None
        else:
            msg = (
                f"preflight: unknown argument {arg!r}; expected --fail-fast, --no-fail-fast, "
                "--no-cache or --<stage>-args='...'"
            )
            raise UsageError(msg)
    read, write, why = cache_mode(config, env, no_cache=no_cache)
    return Options(fail_fast, read, write, why, stage_args)


def resolve_stages(config: Config, available: Mapping[str, AnyStage]) -> list[str]:
    """The stage names to run, in order; an unknown configured name is a config error."""
    stages = config.section(PreflightConfig).stages
    if stages is None:
        return [name for name in DEFAULT_STAGES if name in available]
    for name in stages:
        if name not in available:
            msg = (
                f"{config.root / 'pyproject.toml'}: tool.ci-tasks.preflight.stages: "
                f"unknown stage {name!r}; expected one of {', '.join(available)}"
            )
            raise ConfigError(msg)
    return list(stages)


def ago(seconds: float) -> str:
    """A coarse, human age: ``just now``, ``42 s ago``, ``3 min ago``, ``2 h ago``, ``4 d ago``."""
    if seconds < 5:  # noqa: PLR2004
        return "just now"
    if seconds < 60:  # noqa: PLR2004
        return f"{int(seconds)} s ago"
    if seconds < 3600:  # noqa: PLR2004
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:  # noqa: PLR2004
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def verdict_text(result: StageResult, now: float) -> str:
    """``passed``, or ``passed (cached, 3 min ago)`` for a stage answered from the cache."""
    if result.cached_at is None:
        return result.verdict.word
    return f"{result.verdict.word} (cached, {ago(now - result.cached_at)})"


def render_summary(results: Sequence[StageResult], now: float) -> list[str]:
    """One screen: a line per stage with its verdict and time, in aligned columns."""
    width = max([len(r.name) for r in results] + [5])
    shown = [verdict_text(r, now) for r in results]
    verdict_width = max([len(v) for v in shown] + [6])
    lines = ["preflight summary:"]
    for r, verdict in zip(results, shown, strict=True):
        seconds = "" if r.verdict.status is Status.NOT_RUN else f"{r.seconds:7.1f} s"
        lines.append(f"  {r.name:<{width}}  {verdict:<{verdict_width}} {seconds}".rstrip())
    return lines


def passed_word(results: Sequence[StageResult]) -> str | None:
    """``passed, 1 stage unverified`` when a stage passed only with its own word (pure).

    A stage that could not look but must not block (security's UNVERIFIED) exits 0;
    preflight's last line must not then read as a plain pass.
    """
    tempered = [r for r in results if r.verdict.tempered]
    if not tempered:
        return None
    count = len(tempered)
    return f"passed, {count} stage{'s' if count > 1 else ''} unverified"


def render_markdown(results: Sequence[StageResult], now: float) -> str:
    """The same summary as a markdown table, for the job summary."""
    rows = [f"| {r.name} | {verdict_text(r, now)} | {r.seconds:.1f} s |" for r in results]
    return "### preflight\n\n| stage | verdict | time |\n|---|---|---|\n" + "\n".join(rows) + "\n"


def overall_code(results: Sequence[StageResult]) -> int:
    """1 when a stage failed, else 2 when one could not run, else 0."""
    codes = {r.code for r in results}
    if any(c not in {EXIT_OK, EXIT_ERROR} for c in codes):
        return 1
    return EXIT_ERROR if EXIT_ERROR in codes else EXIT_OK


class ResultCache:
    """Recorded passes, ``.ci-tasks/preflight-cache.json``, written atomically."""

    def __init__(self, root: Path, ctx: StageContext) -> None:
        self.root = root
        self.path = root / reports.REPORT_DIR / CACHE_FILE
        data = reports.read_json(self.path, ctx.output)
        entries: dict[str, list[dict[str, Any]]] = {}
        if isinstance(data, dict) and data.get("schema") == CACHE_SCHEMA:
            raw = data.get("stages")
            if isinstance(raw, dict):
                entries = {
                    k: [e for e in v if isinstance(e, dict)]
                    for k, v in raw.items()
                    if isinstance(v, list)
                }
        self.stages = entries

    def lookup(self, stage: str, fp: str) -> float | None:
        """When *stage* last passed with fingerprint *fp* (a UNIX time), or ``None``."""
        for entry in self.stages.get(stage, []):
            at = entry.get("passed_at")
            if entry.get("fingerprint") == fp and isinstance(at, int | float):
                return float(at)
        return None

    def record(self, stage: str, fp: str, seconds: float) -> None:
        """Record a pass of *stage* with fingerprint *fp* and save the cache."""
        kept = [e for e in self.stages.get(stage, []) if e.get("fingerprint") != fp]
        entry = {"fingerprint": fp, "passed_at": time.time(), "seconds": round(seconds, 3)}
        self.stages[stage] = [entry, *kept][:CACHE_ENTRIES_PER_STAGE]
        payload = {"schema": CACHE_SCHEMA, "version": 1, "stages": self.stages}
        reports.report_dir(self.root)
        reports.write_json(self.path, payload)


def max_age(config: Config, stage: str) -> float | None:
    """How many seconds a recorded pass of *stage* may answer for it; ``None``: no limit.

    Lint and tests depend only on their inputs; security also on advisories published
    since, so its pass expires (``security_cache_hours``).
    """
    if stage == "security":
        return config.section(PreflightConfig).security_cache_hours * 3600
    return None


def python_version(venv: Path | None) -> str:
    """The Python version of *venv* (from ``pyvenv.cfg``), else of this interpreter."""
    if venv is not None:
        try:
            text = (venv / "pyvenv.cfg").read_text(encoding="utf-8")
        except OSError:
            text = ""
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() in {"version_info", "version"}:
                return value.strip()
    return platform.python_version()


def stage_settings(config: Config, name: str, today: dt.date | None = None) -> Any:
    """The configuration a stage reads, as plain data: its section and the shared keys.

    The accounted-for entries that have expired by *today* are part of it, ignores and
    quarantined tests alike: an entry's ``until`` passing changes the verdict though no
    file changed, so a green answered from the cache must not outlive it.
    """
    raw = config.sections.get(name)
    section: Any = raw
    if dataclasses.is_dataclass(raw) and not isinstance(raw, type):
        # Its timeout bounds the run, and its CI matrix (os, exclude) says where CI runs it:
        # neither changes what it finds here.
        section = {
            k: v
            for k, v in dataclasses.asdict(raw).items()
            if k not in {"timeout", "os", "exclude"}
        }
    on = today or ignores.today()
    expired = [
        f"{key}:{entry.key}:{getattr(entry, 'file', '')}"
        for key, entries in _accountable(raw)
        for entry in entries
        if entry.expired(on)
    ]
    replacement = config.replaced.get(name)
    return {
        "section": section,
        # A pass of ci_tasks' stage never answers for the project's session, nor back.
        "replaced_by": list(replacement.sessions) if replacement else None,
        "dependency_groups": list(config.dependency_groups),
        "python": list(config.python),
        "expired": sorted(expired),
    }


def _accountable(section: object) -> list[tuple[str, list[ignores.Accountable]]]:
    """The section's lists of accounted-for entries (``ignore``, ``quarantine``), by key."""
    if not dataclasses.is_dataclass(section) or isinstance(section, type):
        return []
    found = []
    for field in dataclasses.fields(section):
        value = getattr(section, field.name)
        if isinstance(value, tuple):
            entries = [e for e in value if isinstance(e, ignores.Accountable)]
            if entries:
                found.append((field.name, entries))
    return found


def stage_outputs(config: Config) -> frozenset[str]:
    """Files the stages write into the project (by their configuration), never inputs."""
    # The root's junit.xml and coverage.xml are what versions before .ci-tasks/<session>/
    # left behind.
    names = {*written_files(config), "junit.xml", "coverage.xml"}
    return frozenset(Path(n).as_posix() for n in names if n)


class _Fingerprinter:
    """Fingerprints of stages over the current tree; the tree is read once per change."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.python = python_version(ctx.venv)
        lock = ctx.root / "uv.lock"
        self.lock = lock.read_bytes() if lock.is_file() else None
        self.outputs = stage_outputs(ctx.config)
        self.tree = fingerprint.tree_state(ctx.root, self.outputs).digest()

    def refresh(self) -> bool:
        """Re-read the tree; whether it changed since the last reading."""
        lock = self.ctx.root / "uv.lock"
        new_lock = lock.read_bytes() if lock.is_file() else None
        new = fingerprint.tree_state(self.ctx.root, self.outputs).digest()
        changed = new != self.tree or new_lock != self.lock
        self.tree, self.lock = new, new_lock
        return changed

    def of(self, name: str, posargs: Sequence[str]) -> str:
        return fingerprint.stage_fingerprint(
            self.tree,
            stage=name,
            settings=stage_settings(self.ctx.config, name, self.ctx.today()),
            posargs=posargs,
            python=self.python,
            ci_tasks_version=__version__,
            lock=self.lock,
        )


class _Cache:
    """The result cache and the fingerprints it is keyed by, for one run."""

    def __init__(self, ctx: StageContext, options: Options) -> None:
        self.options = options
        self.prints: _Fingerprinter | None = None
        self.results: ResultCache | None = None
        if options.write_cache:
            try:
                self.prints = _Fingerprinter(ctx)
                self.results = ResultCache(ctx.root, ctx)
            except (ToolMissingError, git.GitError) as exc:
                ctx.output.line(f"preflight: cache off: {exc.message}", "warning")
        if options.why_no_cache:
            ctx.output.line(f"preflight: cache {options.why_no_cache}")

    def key(self, name: str, posargs: Sequence[str]) -> str | None:
        return self.prints.of(name, posargs) if self.prints is not None else None

    def lookup(self, ctx: StageContext, name: str, key: str | None) -> float | None:
        if self.results is None or key is None or not self.options.read_cache:
            return None
        at = self.results.lookup(name, key)
        limit = max_age(ctx.config, name)
        if at is not None and limit is not None and time.time() - at > limit:
            hours = limit / 3600
            ctx.output.line(f"{name}: cached pass is older than {hours:g} h; running it again")
            return None
        return at

    def after(self, ctx: StageContext, key: str | None, result: StageResult) -> None:
        """Record a real pass; re-read the tree a stage may have changed."""
        if self.prints is None or self.results is None or key is None:
            return
        changed = self.prints.refresh()
        if result.verdict.status is not Status.PASSED or result.verdict.tempered:
            return
        # Record only what was really checked: a stage that changed its own inputs
        # (a formatter, a generated file) has not checked the tree it leaves behind.
        if changed:
            ctx.output.line(f"{result.name}: not cached: files changed while it ran", "warning")
        else:
            self.results.record(result.name, key, result.seconds)


def project_session(replacement: ReplacedStage) -> AnyStage:
    """A stage running the project's own sessions in *replacement*'s place, as CI does.

    They run as ``nox -s <name>`` in a child process of this interpreter (which has nox),
    through the runner: the stage's timeout, the tree kill and the masking apply. The
    noxfile's script block is not built again (``--script-mode none``): the interpreter
    running preflight already comes from it.
    """

    def stage(ctx: StageContext) -> None:
        shown = replacement.shown
        ctx.output.line(f"{replacement.stage}: {shown} runs in its place (as in CI)")
        command = [sys.executable, "-m", "nox", "--script-mode", "none"]
        command += ["-f", str(replacement.noxfile), "-s", *replacement.sessions]
        if ctx.posargs:
            command += ["--", *ctx.posargs]
        try:
            # This run has said what the noxfile clashes with already: not the child again.
            ctx.runner.run(command, cwd=ctx.root, env={CHILD_NOX_ENV: "1"})
        except CommandFailed as exc:
            # nox ends with 1 when a session failed, 2 when it could not start (usage).
            failed = CITasksError if exc.returncode == EXIT_ERROR else CheckFailed
            msg = (
                f"{shown} failed (nox exit code {exc.returncode}) in place of ci_tasks' "
                f"{replacement.stage} stage"
            )
            raise failed(msg) from None  # its output has streamed already

    stage.__doc__ = f"{replacement.stage}: the project's own session(s) in its place"
    return stage


def _run_uncached(
    stage: AnyStage, ctx: StageContext, name: str, posargs: Sequence[str]
) -> StageResult:
    timeout = ctx.config.timeout(name)
    stage_ctx = dataclasses.replace(
        ctx,
        name=name,
        posargs=list(posargs),
        runner=ctx.runner.with_options(deadline=time.monotonic() + timeout),
    )
    return StageResult(name, judge(stage, stage_ctx))  # judge times the stage itself


def run_preflight(ctx: StageContext, available: Mapping[str, AnyStage]) -> list[StageResult]:
    """Run the configured stages of *available* under *ctx*; the result of each."""
    names = resolve_stages(ctx.config, available)
    options = parse_posargs(ctx.posargs, ctx.config, ctx.runner.env, names)
    cache = _Cache(ctx, options)
    results: list[StageResult] = []
    for name in names:
        if options.fail_fast and any(r.code != EXIT_OK for r in results):
            results.append(StageResult(name, NOT_RUN))
            continue
        posargs = options.stage_args.get(name, ())
        key = cache.key(name, posargs)
        at = cache.lookup(ctx, name, key)
        if at is not None:
            result = StageResult(name, Verdict(Status.PASSED), cached_at=at)
            ctx.output.line(f"{name}: {verdict_text(result, time.time())}", "ok")
        else:
            start = time.monotonic()
            try:
                replacement = ctx.config.replaced.get(name)
                stage = project_session(replacement) if replacement else available[name]
                result = _run_uncached(stage, ctx, name, posargs)
            except KeyboardInterrupt as exc:
                # Show what ran before the interruption, then let it end the run.
                seconds = time.monotonic() - start
                stopped = Verdict(Status.INTERRUPTED, seconds=seconds, code=exit_code_for(exc))
                results.append(StageResult(name, stopped))
                results += [StageResult(n, NOT_RUN) for n in names[len(results) :]]
                _show_summary(ctx, results)
                raise
            cache.after(ctx, key, result)
        results.append(result)
    return results


def _show_summary(ctx: StageContext, results: Sequence[StageResult]) -> None:
    now = time.time()
    for line in render_summary(results, now):
        ctx.output.line(line)
    ctx.output.summary(render_markdown(results, now))


def preflight(ctx: StageContext) -> Verdict | None:
    """Lint, tests and security in one go; unchanged inputs are answered from a cache."""
    results = run_preflight(ctx, runnable_stages())
    _show_summary(ctx, results)
    code = overall_code(results)
    bad = [r.name for r in results if r.code == code and code != EXIT_OK]
    if code == EXIT_ERROR:
        msg = f"{', '.join(bad)} could not run"
        raise CITasksError(msg)
    if code != EXIT_OK:
        msg = f"{', '.join(bad)} failed"
        raise CheckFailed(msg)
    word = passed_word(results)
    return tempered(word) if word else None
