"""What every CI stage shares: its context, installing from the lock, and its verdict.

A stage is a plain function ``(StageContext) -> None`` that raises a
:class:`~ci_tasks.errors.CITasksError` when something is wrong. :func:`nox_session`
turns it into a nox session; :func:`judge` is the one place where its exceptions
become a :class:`~ci_tasks.core.verdict.Verdict` (and :func:`run_stage` an exit code).
A stage's :class:`StageSpec` is its contract with the others: its section, the reports
and documents it writes, the files it leaves in the project and the settings it lets
others read (:func:`document`, :func:`exported`, :func:`written_files`).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import time
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from ci_tasks.core import ignores, masking, matrix, reports, sync_stamp, tools
from ci_tasks.core.actions import Output, default_output
from ci_tasks.core.errors import (
    EXIT_ERROR,
    EXIT_OK,
    CITasksError,
    Interrupted,
    UsageError,
    exit_code_for,
)
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.runner import Runner, session_venv, skips_installs
from ci_tasks.core.signals import deferred_signals, handle_termination_signals
from ci_tasks.core.verdict import Status, Verdict

if TYPE_CHECKING:
    import nox

    from ci_tasks.core.config import Config
    from ci_tasks.core.own_commands import OwnCommands

T = TypeVar("T")


@dataclasses.dataclass
class StageContext:
    """Everything a stage needs; sessions, invoke tasks and tests all build one."""

    name: str
    config: Config
    runner: Runner
    posargs: list[str] = dataclasses.field(default_factory=list)
    output: Output = dataclasses.field(default_factory=default_output)
    session: nox.Session | None = None
    venv: Path | None = None
    """The session's virtual environment, where :func:`install_locked` installs."""
    tools_dirs: tuple[Path, ...] | None = None
    """Where the stage's tools are (default: the CI environment, :func:`tools.ci_bin_dirs`)."""
    today: Callable[[], dt.date] = ignores.today
    """The date ignores' ``until`` is judged against (tests hand in their own)."""

    @property
    def root(self) -> Path:
        """The project directory."""
        return self.config.root

    def section(self, cls: type[T]) -> T:
        """The stage's own configuration section, typed: ``ctx.section(TestsConfig)``."""
        return self.config.section(cls)

    def tool(self, name: str) -> str:
        """The executable *name* from the CI environment; :class:`ToolMissingError` if absent."""
        return tools.find(name, self.tools_dirs)


Stage = Callable[[StageContext], Verdict | None]
"""A stage raises on failure; passing, it returns ``None`` or a verdict that tempers the
pass (``security`` is :func:`~ci_tasks.core.verdict.unverified` when it could not look
but must not block)."""


@dataclasses.dataclass(frozen=True)
class Document:
    """A JSON document a stage writes for other stages to read (besides its report)."""

    kind: str
    """What it is called among the stage's documents (``flaky-history``)."""
    schema: str
    """Its ``schema`` field (``ci-tasks/flaky-history``)."""
    version: int = 1
    """The ``version`` it is written with."""


@dataclasses.dataclass(frozen=True)
class Adopted:
    """A key ``ci-tasks init`` writes into a stage's section, from the project's commands."""

    value: Any
    why: str
    """Where it came from, for the comment beside it (``from justfile recipe 'test': ...``)."""
    commented: bool = False
    """Written as a comment only (``# key = value``): the project's own commands decide."""


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """What a stage's folder gives the registry, and its contract with the other stages.

    Other stages read nothing of a stage but what its spec declares: its report, its
    documents, the files it writes and the settings it exports.
    """

    name: str
    """The nox session's name and the ``[tool.ci-tasks.<name>]`` section's key."""
    section: type[Any]
    """The section's frozen dataclass."""
    register: Callable[[Config], None]
    """Registers the stage's nox session(s) with the loaded configuration."""
    run: Stage | None = None
    """The stage itself, for stages another stage (``preflight``) may run in-process."""
    report: str | None = None
    """The kind of ``.ci-tasks/<kind>-report.json`` the stage writes, if any: an
    interrupted run replaces it with an ``interrupted`` verdict, so no earlier green
    outlives it. Its schema is :func:`ci_tasks.core.reports.report_schema` of the kind."""
    report_version: int = 1
    """The ``version`` its report is written with."""
    documents: tuple[Document, ...] = ()
    """The other JSON documents it writes that other stages read (:func:`document`)."""
    outputs: Callable[[Any], Iterable[str]] | None = None
    """The files it writes into the project, relative to it, given its section (preflight
    leaves them out of the inputs it fingerprints)."""
    exports: Mapping[str, Callable[[Any, Config], object]] = dataclasses.field(default_factory=dict)
    """The settings of its section other stages and ``init`` may read, by name, each as
    a function of the section and the whole configuration (its ``root``: a setting may
    depend on the project's own files) (:func:`exported`)."""
    baseline: Callable[[StageContext], list[ignores.Candidate]] | None = None
    """What the stage finds without the network, as ``ci-tasks baseline`` candidates."""
    usage: str | Callable[[], str] | None = None
    """What ``nox -s <name> -- --help`` prints: the session's flags, and where the rest of
    its posargs go (pytest, ruff). Default: the stage's docstring and "no arguments"."""
    ci: bool = True
    """Whether CI's session matrix runs the stage (its session is tagged ``ci``), so a
    noxfile's own session of that name runs there in its place."""
    local: bool = False
    """Whether the stage runs on a laptop only (``preflight`` runs the others there): no
    generated workflow has a job for it, nor a job timeout."""
    adopted: Callable[[OwnCommands, Path], Mapping[str, Adopted]] | None = None
    """What ``ci-tasks init`` writes into the stage's section from the project's own
    commands (and the project's folder), by field name: the scope they gave the session,
    made visible and editable."""


CHILD_NOX_ENV = "CI_TASKS_CHILD_NOX"
"""Set for a nox a session starts itself (preflight running the noxfile's own session in a
stage's place): the run's notices, such as the noxfile's clash warning, were said once
already by the nox that started it."""


# Every stage's spec, by name, in the registry's order; filled by the registry through
# add_stage(). What another stage may run, what report a stage writes and what its
# --help prints are all read from here.
_STAGES: dict[str, StageSpec] = {}
HELP_FLAGS = frozenset({"--help", "-h"})


def add_stage(spec: StageSpec) -> None:
    """Make *spec* known to the shared layer (the registry calls this once per stage)."""
    _STAGES[spec.name] = spec


def usage_text(name: str, stage: Stage) -> str:
    """The help of session *name*: its own, or its docstring and "takes no arguments"."""
    spec = _STAGES.get(name)
    usage = spec.usage if spec is not None else None
    if usage is not None:
        return (usage() if callable(usage) else usage).rstrip()
    doc = (stage.__doc__ or "").strip().splitlines()
    first = doc[0] if doc else ""
    return (
        f"usage: nox -s {name}\n\n{first}\n\nThis session takes no arguments; "
        f"it is configured in [tool.ci-tasks.{name}]."
    )


def runnable_stages() -> Mapping[str, Stage]:
    """The stages another stage may run, in the registry's order (read-only)."""
    return types.MappingProxyType(
        {name: spec.run for name, spec in _STAGES.items() if spec.run is not None}
    )


def _spec(stage: str) -> StageSpec:
    spec = _STAGES.get(stage)
    if spec is None:
        msg = f"no stage {stage!r}"  # a bug of ours: the registry adds every stage
        raise KeyError(msg)
    return spec


def document(stage: str, kind: str) -> Document:
    """The document *kind* stage *stage* declares it writes (its schema and version)."""
    found = [d for d in _spec(stage).documents if d.kind == kind]
    if not found:
        msg = f"stage {stage!r} declares no document {kind!r}"  # a bug of ours
        raise KeyError(msg)
    return found[0]


def exported(config: Config, stage: str, key: str) -> object:
    """The setting *key* stage *stage* lets others read, from its section in *config*."""
    read = _spec(stage).exports.get(key)
    if read is None:
        msg = f"stage {stage!r} exports no setting {key!r}"  # a bug of ours
        raise KeyError(msg)
    return read(config.sections[stage], config)


def local_stages() -> frozenset[str]:
    """The stages that run on a laptop only (:attr:`StageSpec.local`): no CI job runs them."""
    return frozenset(name for name, spec in _STAGES.items() if spec.local)


def write_stage_report(
    root: Path,
    stage: str,
    *,
    verdict: str,
    body: dict[str, Any],
    path: Path | None = None,
    commit: str | None = None,
) -> Path:
    """Write stage *stage*'s report, of the kind and version its :class:`StageSpec` declares.

    The one place a stage's report gets its ``version``: :attr:`StageSpec.report_version`.
    """
    spec = _spec(stage)
    if spec.report is None:
        msg = f"stage {stage!r} declares no report"  # a bug of ours
        raise KeyError(msg)
    return reports.write_report(
        root,
        spec.report,
        verdict=verdict,
        body=body,
        version=spec.report_version,
        path=path,
        commit=commit,
    )


def written_files(config: Config) -> frozenset[str]:
    """Every file the stages declare they write into the project, by their sections."""
    return frozenset(
        name
        for stage, spec in _STAGES.items()
        if spec.outputs is not None
        for name in spec.outputs(config.sections[stage])
    )


def baseline_stages() -> Mapping[str, Callable[[StageContext], list[ignores.Candidate]]]:
    """Each stage's offline findings as baseline candidates, in the registry's order."""
    return types.MappingProxyType(
        {name: spec.baseline for name, spec in _STAGES.items() if spec.baseline is not None}
    )


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser for posargs and subcommands whose mistakes are one-line errors.

    argparse would print usage and exit 2 itself; raising :class:`UsageError` instead
    lets the one place that maps errors to exit codes say it, in one line.
    """

    def error(self, message: str) -> NoReturn:
        """Raise the mistake as a :class:`UsageError` naming the command."""
        raise UsageError(f"{self.prog}: {message}")


@dataclasses.dataclass(frozen=True)
class Flags:
    """A session's own posargs flags: one definition for its ``--help`` and its parsing."""

    stage: str
    description: str
    add: Callable[[argparse.ArgumentParser], None]
    """Adds the flags to a parser (``ci-tasks <stage>`` adds the same ones to its own)."""

    @property
    def prog(self) -> str:
        """How the flags are given: ``nox -s <stage> --``."""
        return f"nox -s {self.stage} --"

    def usage(self) -> str:
        """What ``nox -s <stage> -- --help`` prints."""
        parser = argparse.ArgumentParser(prog=self.prog, description=self.description)
        self.add(parser)
        return parser.format_help()

    def parse(self, posargs: Sequence[str]) -> argparse.Namespace:
        """The session's posargs parsed; a bad flag is a one-line :class:`UsageError`."""
        parser = ArgumentParser(prog=self.prog, add_help=False)
        self.add(parser)
        return parser.parse_args(list(posargs))


def install_locked(
    ctx: StageContext,
    groups: Sequence[str] | None = None,
    *,
    extras: Sequence[str] = (),
    all_extras: bool = False,
    wheel: Path | None = None,
) -> None:
    """Install the project, its locked dependency groups and *extras* into the session venv.

    Not with nox's ``-R`` / ``--no-install`` on a reused venv, as nox skips its own installs.

    Nor into a session venv whose stamp says nothing uv reads changed since its last sync
    (:mod:`~ci_tasks.core.sync_stamp`); any doubt means sync. A file the project's build
    writes into the tree (hatch-vcs' ``version-file``), gone since, is a change uv does not
    see: the sync then rebuilds the project (``--reinstall-package``) and says so.

    ``uv sync --locked`` refuses a stale lock instead of silently re-resolving it, so a
    session tests exactly what ``uv.lock`` pins. Network failures are retried. With
    *wheel*, the project comes from that built wheel instead of the source tree: the sync
    leaves the project out (``--no-install-project``; its dependencies and extras' still
    come from the lock) and ``uv pip install --no-deps`` installs the wheel over it.
    """
    if ctx.session is not None and skips_installs(ctx.session):
        ctx.output.line("sync: skipped (-R / --no-install: nox reused the environment as it was)")
        return
    chosen = ctx.config.dependency_groups if groups is None else groups
    command = ["uv", "sync", "--locked", "--no-default-groups"]
    for group in chosen:
        command += ["--group", group]
    command += ["--all-extras"] if all_extras else [f"--extra={e}" for e in extras]
    command += ["--no-install-project"] if wheel is not None else []
    gone = None if wheel is not None else sync_stamp.missing_build_output(ctx.root)
    rebuild = [] if gone is None else ["--reinstall-package", gone[1]]
    if gone is not None:
        ctx.output.line(
            f"sync: {gone[0]} is gone (the project's build writes it): {gone[1]} is built again"
        )
    if ctx.venv is None:
        ctx.runner.run([*command, *rebuild], cwd=ctx.root, retry_on=NETWORK_ERRORS)
        _install_wheel(ctx, wheel)
        return
    venv = Path(ctx.venv)
    env = {"UV_PROJECT_ENVIRONMENT": str(venv)}
    # A wheel is installed over the sync on every run: the stamp never covers it.
    before = (
        None
        if wheel is not None
        else sync_stamp.inputs(
            ctx.root, command, {**ctx.runner.env, **env}, uv=ctx.runner.which("uv")
        )
    )
    now = {**before, **sync_stamp.venv_state(venv)} if before is not None else None
    change = None if gone is not None else sync_stamp.changed(sync_stamp.read(venv), now)
    if change == "nothing":
        ctx.output.line("sync: skipped (nothing uv reads changed since the last sync)")
        return
    if change is not None:
        ctx.output.line(f"sync: {change} changed since the last sync")
    sync_stamp.forget(venv)
    ctx.runner.run([*command, *rebuild], env=env, cwd=ctx.root, retry_on=NETWORK_ERRORS)
    _install_wheel(ctx, wheel)
    if before is not None:
        sync_stamp.write(venv, {**before, **sync_stamp.venv_state(venv)})


def _install_wheel(ctx: StageContext, wheel: Path | None) -> None:
    """Install the built *wheel* over a sync that left the project out (deps from the lock)."""
    if wheel is None:
        return
    target = ["--python", str(ctx.venv)] if ctx.venv else []
    # --reinstall: an earlier run's editable install of the project makes way for it.
    install = ["uv", "pip", "install", "--no-deps", "--reinstall", *target, str(wheel)]
    ctx.runner.run(install, cwd=ctx.root, retry_on=NETWORK_ERRORS)


def run_stage(stage: Stage, ctx: StageContext) -> int:
    """Run *stage*; print its verdict in one line and return the exit code (0, 1 or 2)."""
    return judge(stage, ctx).exit_code


def judge(stage: Stage, ctx: StageContext) -> Verdict:
    """Run *stage*; print its verdict in one line and return it.

    A :class:`CITasksError` is a finding (``failed``) or bad input (``could not run``),
    annotated for GitHub; an interruption writes an ``interrupted`` report over the
    stage's last one and goes on up.
    """
    out = ctx.output
    start = time.monotonic()
    try:
        with out.group(ctx.name):
            said = stage(ctx)
    except KeyboardInterrupt as exc:
        # The runner has already stopped the command tree; say so, and make sure the
        # stage's report does not keep an earlier verdict this run never confirmed.
        with deferred_signals():
            why = exc.name if isinstance(exc, Interrupted) else "SIGINT"
            stopped = Verdict(Status.INTERRUPTED, why, time.monotonic() - start)
            out.line(stopped.line(ctx.name), stopped.style)
            _interrupted_report(ctx, why)
        raise
    except CITasksError as exc:
        failed = Verdict.of_exit_code(exit_code_for(exc), time.monotonic() - start)
        out.annotate("error", str(exc), title=f"{ctx.name} {failed.word}")
        out.line(failed.line(ctx.name), failed.style)
        return failed
    verdict = (said or Verdict(Status.PASSED)).took(time.monotonic() - start)
    out.line(verdict.line(ctx.name), verdict.style)
    return verdict


def _interrupted_report(ctx: StageContext, why: str) -> None:
    spec = _STAGES.get(ctx.name)
    if spec is not None and spec.report is not None:
        write_stage_report(
            ctx.root, ctx.name, verdict=Status.INTERRUPTED.value, body={"interrupted_by": why}
        )


def context_for_session(
    name: str, session: nox.Session, config: Config, *, timeout: float | None = None
) -> StageContext:
    """A stage context bound to a nox session, with the session's overall timeout.

    The timeout is *timeout* seconds, else that of stage *name*'s section.
    """
    deadline = time.monotonic() + (config.timeout(name) if timeout is None else timeout)
    runner = Runner.for_session(
        session, deadline=deadline, retry=config.retry.policy(), cwd=config.root
    )
    ctx = StageContext(
        name=name,
        config=config,
        runner=runner,
        posargs=list(session.posargs),
        session=session,
        venv=session_venv(session),
    )
    register_secrets(config, ctx.output)
    return ctx


def register_secrets(config: Config, output: Output) -> None:
    """Mask the secret variables' values (and their URLs' pieces); tell an Actions runner.

    The runner knows the secrets' whole values only: a webhook's path or a query value
    it would show unless told.
    """
    output.mask_in_runner(masking.register_secret_variables(config.secrets))


def nox_session(
    stage: Stage,
    *,
    name: str,
    config: Config,
    python: str | Sequence[str] | None = None,
    tags: Sequence[str] = ("ci",),
    venv_backend: str = "uv",
    timeout_key: str | None = None,
    timeout: float | None = None,
) -> None:
    """Register *stage* as the nox session *name*.

    ``nox -s <name> -- --help`` prints the session's help and exits 0 (see
    :attr:`StageSpec.usage`). A check that found problems fails the session (nox exits
    1); a stage that could not run (bad configuration, a missing tool) ends nox with
    exit code 2; SIGINT, SIGTERM or SIGHUP stop the running command's tree and end nox
    with 128 + the signal's number (130, 143, 129).
    *python* holds ``[tool.ci-tasks] python`` entries; a ``ci`` session is tagged with
    the CI matrix (:func:`ci_tasks.core.matrix.session_tags`): the OSes and exclusions of
    the stage whose budget it takes (``Config.runners``, ``Config.excluded``). The
    session's whole budget is *timeout* seconds, else the ``timeout`` of stage
    *timeout_key* (default: *name*); a session that is no stage must say which (no
    stage's budget is taken silently).
    """
    budget_of = _budget_stage(name, config, timeout_key, timeout)
    entries = [python] if isinstance(python, str) else list(python or ())
    interpreters = [matrix.nox_python(p) for p in entries]
    nox_python: str | list[str] | None = (
        interpreters[0] if isinstance(python, str) else interpreters or None
    )

    def session_func(session: nox.Session) -> None:
        if HELP_FLAGS.intersection(session.posargs):
            default_output().line(usage_text(name, stage))
            return
        handle_termination_signals()
        ctx = context_for_session(budget_of, session, config, timeout=timeout)
        ctx.name = name
        _end_session(session, name, stage, ctx)

    session_func.__name__ = name.replace("-", "_")
    session_func.__doc__ = (stage.__doc__ or "").strip().splitlines()[0] if stage.__doc__ else None
    import nox  # noqa: PLC0415 - nox is only needed when sessions are registered

    nox.session(  # type: ignore[call-overload]
        session_func,
        name=name,
        python=nox_python,
        venv_backend=venv_backend,
        tags=matrix.session_tags(
            tags,
            config.runners(budget_of),
            entries,
            [(pair.python, pair.os) for pair in config.excluded(budget_of)],
        ),
    )


def _budget_stage(name: str, config: Config, timeout_key: str | None, timeout: float | None) -> str:
    """The stage whose timeout session *name* takes; a ValueError when it names none."""
    budget_of = timeout_key or name
    if timeout is None and budget_of not in config.sections:
        msg = (
            f"session {name!r}: no stage {budget_of!r} to take a timeout from; pass "
            f"timeout=<seconds> or timeout_key=<stage> (one of {', '.join(config.sections)})"
        )
        raise ValueError(msg)
    return budget_of


def _end_session(session: nox.Session, name: str, stage: Stage, ctx: StageContext) -> None:
    """Run *stage* in nox *session* and end it with the verdict's exit code."""
    try:
        code = run_stage(stage, ctx)
    except KeyboardInterrupt as exc:
        # nox would end with 130 whatever the signal; the shell's convention is
        # 128 + its number (143 for SIGTERM), which CI systems understand.
        raise SystemExit(exit_code_for(exc)) from None
    if code == EXIT_ERROR:
        # nox maps every failure to 1; bad input must be told apart from a finding.
        raise SystemExit(EXIT_ERROR)
    if code != EXIT_OK:
        session.error(f"{name} failed")
