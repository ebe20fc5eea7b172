"""The one list of stages, and ``ci_tasks.register()``, which puts them into a noxfile.

Adding a stage is one folder under :mod:`ci_tasks.stages` and one line in :data:`STAGES`.
Importing this module hands every stage's configuration section to the loader and every
in-process stage to the others (``preflight``), so neither needs to import a stage.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from ci_tasks.core import config as config_mod
from ci_tasks.core import stage as stage_mod
from ci_tasks.core.config import PYPROJECT, Config, ReplacedStage, load_config
from ci_tasks.core.errors import EXIT_ERROR, CITasksError, ConfigError
from ci_tasks.core.stage import StageSpec
from ci_tasks.stages import lint, package, preflight, readiness, security, smoke, testing

STAGES: tuple[StageSpec, ...] = (
    lint.STAGE,
    testing.STAGE,
    security.STAGE,
    package.STAGE,
    readiness.STAGE,
    smoke.STAGE,
    preflight.STAGE,
)

SESSIONS: dict[str, StageSpec] = {spec.name: spec for spec in STAGES}
_WARNED: set[str] = set()

for _spec in STAGES:
    config_mod.register_section(_spec.name, _spec.section)
    stage_mod.add_stage(_spec)


def register(
    sessions: Iterable[str] | None = None,
    *,
    config: Config | None = None,
    project: str | Path | None = None,
) -> Config:
    """Register ci_tasks' sessions with nox; returns the configuration they use.

    Call it from a ``noxfile.py``. Registration is explicit rather than a side effect of
    importing, so a noxfile run as a script (``nox.main()``) sees the sessions too.
    *sessions* picks a subset (default: all); *project* is the folder holding
    ``pyproject.toml`` (default: the nearest one above the working directory).
    An invalid configuration ends nox here with a one-line error and exit code 2.
    A session the noxfile defined already keeps the noxfile's definition, and a warning
    says so: ours never silently replaces it. Call it after the noxfile's own sessions,
    so it sees them: one that takes the place of a session CI runs (a ``tests`` of its
    own) is tagged ``ci`` for CI's matrix, as are those ``[tool.ci-tasks] ci-sessions``
    names. The ``invoke`` session (not run by default) runs ci_tasks' invoke tasks from
    the noxfile's environment.
    """
    import nox.registry  # noqa: PLC0415 - nox is only needed when sessions are registered

    own = {name: func for name, func in nox.registry.get().items() if not _ours(func)}
    try:
        cfg = config or load_config(project)
        names = list(SESSIONS) if sessions is None else list(sessions)
        unknown = [n for n in names if n not in SESSIONS]
        if unknown:
            msg = f"unknown session {unknown[0]!r}; ci_tasks provides: {', '.join(SESSIONS)}"
            raise CITasksError(msg)
        in_ci = project_ci_sessions(own, cfg.ci_sessions, cfg.root / PYPROJECT)
    except CITasksError as exc:
        print(f"ci-tasks: error: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(EXIT_ERROR) from None
    for name in in_ci:
        if "ci" not in own[name].tags:
            own[name].tags = [*own[name].tags, "ci"]
    theirs = [n for n in [*names, INVOKE_SESSION] if n in own]
    if theirs:
        mine = [n for n in names if n not in theirs]
        ci_note = ", and CI's matrix runs the noxfile's" if set(theirs) & set(in_ci) else ""
        warning = (
            f"ci-tasks: warning: the noxfile defines {', '.join(map(repr, theirs))} itself; "
            f"ci_tasks' session of that name is not registered{ci_note} (to choose: "
            f"ci_tasks.register(sessions={mine!r}))"
        )
        # A noxfile run as a script (`uv run --script`) runs once as __main__ and again
        # when nox.main() loads it, and preflight starts a nox of its own for the noxfile's
        # session: one warning per run is enough.
        if warning not in _WARNED and not os.environ.get(stage_mod.CHILD_NOX_ENV):
            _WARNED.add(warning)
            print(warning, file=sys.stderr)  # noqa: T201
    cfg = dataclasses.replace(cfg, replaced=replaced_stages(own, names))
    for name in names:
        if name not in theirs:
            SESSIONS[name].register(cfg)
    if INVOKE_SESSION not in theirs:
        _register_invoke()
    return cfg


INVOKE_SESSION = "invoke"


def project_ci_sessions(
    own: Iterable[str], configured: Iterable[str], pyproject: str | Path
) -> list[str]:
    """The noxfile's own sessions CI's matrix runs, given the names it defines (*own*).

    Those that take the place of one of ci_tasks' sessions CI runs (a ``tests`` of its
    own: nothing the project ran drops out of CI), then those ``ci-sessions`` names. A
    name in *configured* the noxfile does not define is a :class:`ConfigError`.
    """
    own = list(own)
    configured = list(configured)
    unknown = [n for n in configured if n not in own]
    if unknown:
        msg = (
            f"{pyproject}: [tool.ci-tasks] ci-sessions: unknown session {unknown[0]!r}; "
            f"the noxfile defines: {', '.join(own) or 'no session'}"
        )
        raise ConfigError(msg)
    replacing = [n for n in own if n in SESSIONS and SESSIONS[n].ci]
    return replacing + [n for n in configured if n not in replacing]


def replaced_stages(own: Mapping[str, object], names: Iterable[str]) -> dict[str, ReplacedStage]:
    """The stages of *names* whose place a session of the noxfile takes.

    *own* maps the noxfile's session names to nox's registered functions; readiness and
    preflight read the result from :attr:`Config.replaced`.
    """
    return {
        name: ReplacedStage(name, (name,), _defined_in(own[name])) for name in names if name in own
    }


def _defined_in(session: object) -> Path:
    """The file defining a registered nox session: the noxfile."""
    func = session
    while hasattr(func, "func"):  # nox's Func (and a parametrized one) wraps the function
        func = func.func
    where = inspect.getsourcefile(func)  # type: ignore[arg-type]
    return Path(where).resolve() if where else Path("noxfile.py").resolve()


def _ours(session: object) -> bool:
    """Whether a registered nox session is one of ci_tasks' (a second register() call)."""
    func = getattr(session, "func", session)
    return str(getattr(func, "__module__", "")).startswith("ci_tasks.")


def _register_invoke() -> None:
    import nox  # noqa: PLC0415

    def invoke(session: nox.Session) -> None:
        """Run ci_tasks' invoke tasks here: `-s invoke -- hooks.install` (`--list`: all)."""
        from ci_tasks.adopt import invoke_tasks  # noqa: PLC0415 - only this session needs invoke

        code = invoke_tasks.run_in_session(list(session.posargs))
        if code != 0:
            session.error(f"invoke {' '.join(session.posargs)} failed (exit code {code})")

    nox.session(name=INVOKE_SESSION, venv_backend="none", default=False)(invoke)
