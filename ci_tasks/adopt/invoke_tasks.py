"""ci_tasks' invoke collection: ``preflight`` and ``hooks.install|uninstall|status``.

A project's ``tasks.py`` exposes it with ``from ci_tasks.adopt.invoke_tasks import namespace``;
``inv --list`` then shows the tasks. Each task works on the project around the working
directory (the nearest ``pyproject.toml``) and ends with ci_tasks' exit codes.

Where ci_tasks lives only in the CI environment (``noxfile.py.lock``), the same tasks run
through nox: ``uv run --locked --script noxfile.py -s invoke -- hooks.install``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from ci_tasks.adopt import hooks as hooks_mod
from ci_tasks.adopt import scriptenv
from ci_tasks.core.actions import default_output
from ci_tasks.core.config import find_pyproject
from ci_tasks.core.errors import CITasksError, exit_code_for
from ci_tasks.core.runner import Runner
from ci_tasks.core.signals import handle_termination_signals

_T = TypeVar("_T")


def _project() -> Path:
    found = find_pyproject()
    return found.parent if found is not None else Path.cwd()


def _on_project(action: Callable[[Path], _T]) -> _T:
    """*action* on the project; a :class:`CITasksError` ends the task with its exit code."""
    try:
        return action(_project())
    except CITasksError as exc:
        raise Exit(f"ci-tasks: error: {exc}", code=exc.exit_code) from None


@task(
    help={
        "fail_fast": "stop at the first stage that does not pass",
        "no_cache": "run every stage even when its inputs are unchanged",
    }
)
def preflight(c: Context, fail_fast: bool = False, no_cache: bool = False) -> None:  # noqa: ARG001, FBT001, FBT002 - invoke passes flags as booleans
    """Run `nox -s preflight`: lint, tests and security, answered from the cache when unchanged."""
    extra = [flag for flag, on in (("--fail-fast", fail_fast), ("--no-cache", no_cache)) if on]
    project = _project()
    command = [*scriptenv.launcher(project), "-s", "preflight"]
    if extra:
        command += ["--", *extra]
    handle_termination_signals()
    try:
        done = Runner(cwd=project).run(command, check=False)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: nox's tree is stopped
        raise Exit(code=exit_code_for(exc)) from None
    if done.returncode != 0:
        raise Exit(code=done.returncode)


@task
def install(c: Context) -> None:  # noqa: ARG001 - invoke hands every task a context
    """Install the pre-push hook (an existing hook is kept and chained, never overwritten)."""
    _on_project(hooks_mod.install)


@task
def uninstall(c: Context) -> None:  # noqa: ARG001 - invoke hands every task a context
    """Remove the pre-push hook and restore the hook it replaced."""
    _on_project(hooks_mod.uninstall)


@task
def status(c: Context) -> None:  # noqa: ARG001 - invoke hands every task a context
    """Say what pre-push hook is installed, where, and whether a legacy hook is chained."""
    for line in hooks_mod.describe(_on_project(hooks_mod.status)):
        default_output().line(line)


hooks = Collection("hooks", install, uninstall, status)
namespace = Collection(preflight, hooks)


def run_in_session(args: list[str]) -> int:
    """``invoke ARGS`` over :data:`namespace`, in this interpreter; its exit code.

    The ``invoke`` nox session calls it, so the tasks run from the locked CI environment
    in a project that has ci_tasks nowhere else.
    """
    import logging  # noqa: PLC0415

    from invoke.program import Program  # noqa: PLC0415 - only this entry point needs it

    # nox logs at debug level; invoke's own debug chatter would flood the session.
    logging.getLogger("invoke").setLevel(logging.WARNING)
    program = Program(namespace=namespace, binary="nox -s invoke --", name="ci_tasks")
    try:
        program.run(["invoke", *(args or ["--list"])], exit=False)
    except SystemExit as exc:  # invoke exits with its task's code even with exit=False
        return int(exc.code or 0) if isinstance(exc.code, int | None) else 1
    return 0


__all__ = ["hooks", "namespace", "preflight", "run_in_session"]
