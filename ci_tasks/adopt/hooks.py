"""The pre-push hook: install, uninstall, status, and what the hook does when git runs it.

The hook file is a small ``sh`` script that starts the interpreter recorded at install
time (``uv run`` when that one is gone) on ``python -m ci_tasks.adopt.hooks pre-push``; the
logic lives here, in Python. It goes where git looks: the hooks directory of the git
*common* directory (shared by all worktrees), or ``core.hooksPath`` when that is set.
A pre-push hook that is not ours is never overwritten: it is kept as
``pre-push.legacy``, run first with the same arguments and stdin, and restored on
uninstall.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from ci_tasks.adopt import scriptenv
from ci_tasks.core import git
from ci_tasks.core.actions import Output, default_output
from ci_tasks.core.config import load_config
from ci_tasks.core.errors import EXIT_ERROR, EXIT_OK, CITasksError, UsageError, exit_code_for
from ci_tasks.core.runner import Runner
from ci_tasks.core.signals import handle_termination_signals

HOOK = "pre-push"
LEGACY = "pre-push.legacy"
MARKER = "# ci-tasks-managed-hook"
SKIP_VARIABLE = "SKIP_CI_TASKS"
# Git variables a hook inherits that would point the checks' own git calls (and a test
# suite's temporary repositories) at this repository; transport settings are kept.
_GIT_KEEP = ("GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_SSL_CAINFO")

_SCRIPT = """\
#!/bin/sh
{marker}: pre-push
# Installed by `inv hooks.install` (ci_tasks); `inv hooks.uninstall` removes it and puts
# back any hook it replaced. Skip it once: SKIP_CI_TASKS=1 git push (or --no-verify).
CI_TASKS_PYTHON={python}
CI_TASKS_PROJECT={project}
if [ -x "$CI_TASKS_PYTHON" ]; then
    exec "$CI_TASKS_PYTHON" -m ci_tasks.adopt.hooks pre-push "$CI_TASKS_PROJECT" "$@"
fi
if command -v uv >/dev/null 2>&1 && [ -f "$CI_TASKS_PROJECT/noxfile.py.lock" ]; then
    # ci_tasks lives in the noxfile's locked environment: sync it, then use its Python.
    uv sync --quiet --locked --script "$CI_TASKS_PROJECT/noxfile.py" || exit 1
    exec "$(uv python find --script "$CI_TASKS_PROJECT/noxfile.py")" \\
        -m ci_tasks.adopt.hooks pre-push "$CI_TASKS_PROJECT" "$@"
fi
if command -v uv >/dev/null 2>&1; then
    exec uv run --project "$CI_TASKS_PROJECT" python -m ci_tasks.adopt.hooks pre-push \\
        "$CI_TASKS_PROJECT" "$@"
fi
echo "ci-tasks: pre-push hook: $CI_TASKS_PYTHON is gone and uv is not on PATH;" \\
    "run 'inv hooks.install' again, or push with --no-verify" >&2
exit 1
"""


@dataclasses.dataclass(frozen=True)
class HookStatus:
    """What is installed as the pre-push hook."""

    path: Path
    state: Literal["absent", "ours", "foreign"]
    hooks_path: str | None
    """``core.hooksPath`` when it is set."""
    legacy: Path | None
    """The chained hook, ``pre-push.legacy``, when there is one."""
    python: str | None
    """The interpreter our hook starts."""


def render_hook(python: str, project: str) -> str:
    """The hook script for *python* and the project folder *project* (relative to the top)."""
    return _SCRIPT.format(marker=MARKER, python=shlex.quote(python), project=shlex.quote(project))


def recorded_python(script: str) -> str | None:
    """The interpreter a hook script of ours starts."""
    match = re.search(r"^CI_TASKS_PYTHON=(.*)$", script, re.MULTILINE)
    if match is None:
        return None
    words = shlex.split(match.group(1))
    return words[0] if words else None


def pushes_anything(updates: str) -> bool:
    """Whether git's pre-push stdin names a ref that is pushed, not only deleted.

    Each line is ``<local ref> <local sha> <remote ref> <remote sha>``; a deletion has
    an all-zero local sha (40 zeros, or 64 in a SHA-256 repository).
    """
    for line in updates.splitlines():
        fields = line.split()
        if len(fields) == 4 and set(fields[1]) != {"0"}:  # noqa: PLR2004
            return True
    return False


def locate(project: Path) -> tuple[Path, Path, str | None]:
    """The work tree's top, the hooks directory git uses, and ``core.hooksPath`` if set."""
    top = Path(git.text(project, "rev-parse", "--show-toplevel"))
    hooks = Path(git.text(top, "rev-parse", "--path-format=absolute", "--git-path", "hooks"))
    try:
        configured: str | None = git.text(top, "config", "--get", "core.hooksPath") or None
    except git.GitError:  # git config exits 1 when the key is unset
        configured = None
    return top, hooks, configured


def status(project: Path) -> HookStatus:
    """What is installed for the repository holding *project*."""
    _, hooks, configured = locate(project)
    path = hooks / HOOK
    legacy = hooks / LEGACY
    state: Literal["absent", "ours", "foreign"] = "absent"
    python = None
    if path.exists() or path.is_symlink():
        text = _read(path)
        state = "ours" if MARKER in text else "foreign"
        python = recorded_python(text) if state == "ours" else None
    chained = legacy if legacy.exists() or legacy.is_symlink() else None
    return HookStatus(path, state, configured, chained, python)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def describe(st: HookStatus) -> list[str]:
    """``inv hooks.status`` in a few lines."""
    where = f"{st.path}" + (f" (core.hooksPath = {st.hooks_path})" if st.hooks_path else "")
    if st.state == "absent":
        lines = [f"pre-push hook: not installed ({where}); `inv hooks.install` installs it"]
    elif st.state == "foreign":
        lines = [f"pre-push hook: {where} is not ci_tasks' (`inv hooks.install` would chain it)"]
    else:
        lines = [f"pre-push hook: installed (ci_tasks) at {where}"]
        python = st.python or "?"
        gone = "" if Path(python).exists() else " (gone: the hook falls back to `uv run`)"
        lines.append(f"  interpreter: {python}{gone}")
    if st.legacy is not None:
        lines.append(f"  chained first: {st.legacy}")
    return lines


def _write_hook(path: Path, text: str) -> None:
    from ci_tasks.core.reports import atomic_write  # noqa: PLC0415 - only writing needs it

    atomic_write(path, text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | 0o644)


def install(project: Path, *, python: str | None = None, output: Output | None = None) -> Path:
    """Install (or update in place) our pre-push hook; returns its path.

    A foreign hook becomes ``pre-push.legacy``; when that name is taken too, nothing is
    touched and :class:`UsageError` says why.
    """
    out = output or default_output()
    top, hooks, configured = locate(project)
    relative = os.path.relpath(project.resolve(), top.resolve())
    text = render_hook(python or sys.executable, relative)
    path, legacy = hooks / HOOK, hooks / LEGACY
    if configured:
        out.line(f"core.hooksPath is set: installing into {hooks}, where git looks")
    hooks.mkdir(parents=True, exist_ok=True)
    present = path.exists() or path.is_symlink()
    if present and MARKER not in _read(path):
        if legacy.exists() or legacy.is_symlink():
            msg = (
                f"{path} is not ci_tasks' and {legacy.name} exists too; "
                "move one of them away, then run `inv hooks.install` again"
            )
            raise UsageError(msg)
        path.replace(legacy)
        out.line(f"kept your existing hook as {legacy}; it runs first, with the same input")
    _write_hook(path, text)
    out.line(f"pre-push hook {'updated' if present else 'installed'}: {path}")
    return path


def uninstall(project: Path, *, output: Output | None = None) -> bool:
    """Remove our hook and put back the one it replaced; whether anything was removed."""
    out = output or default_output()
    st = status(project)
    if st.state == "foreign":
        msg = f"{st.path} is not ci_tasks' hook; leaving it alone"
        raise UsageError(msg)
    if st.state == "absent":
        out.line(f"no ci_tasks pre-push hook at {st.path}; nothing to remove")
        return False
    st.path.unlink()
    if st.legacy is not None:
        st.legacy.replace(st.path)
        out.line(f"removed the ci_tasks hook; restored your previous hook at {st.path}")
    else:
        out.line(f"removed the ci_tasks hook at {st.path}")
    return True


def _hook_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith("GIT_") or k in _GIT_KEEP}


def _command(words: Sequence[str], project: Path, env: Mapping[str, str]) -> list[str]:
    """*words* with its program from our interpreter's venv, else PATH, else ``uv run``.

    ``nox`` in a project with a locked CI environment runs from that lock, so the hook
    checks with exactly what CI runs.
    """
    if words[0] == "nox" and (project / scriptenv.LOCK).is_file():
        return [*scriptenv.launcher(project), *words[1:]]
    beside = Path(sys.executable).parent / words[0]
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside), *words[1:]]
    if shutil.which(words[0], path=env.get("PATH")):
        return list(words)
    return ["uv", "run", "--project", str(project), *words]


def run_pre_push(
    project: Path,
    args: Sequence[str],
    updates: bytes,
    *,
    env: Mapping[str, str],
    output: Output | None = None,
) -> int:
    """What the hook does: chained hook first, then the configured command; an exit code."""
    out = output or default_output()
    _, hooks, _ = locate(project)
    legacy = hooks / LEGACY
    if legacy.exists():
        if os.access(legacy, os.X_OK):
            code = subprocess.run(  # noqa: PLW1510 - the exit code is the answer
                [str(legacy), *args], input=updates, cwd=Path.cwd(), env=dict(env)
            ).returncode
            if code != 0:
                out.line(f"ci-tasks: {legacy.name} refused the push (exit code {code})", "error")
                return code
        else:
            out.line(f"ci-tasks: {legacy} is not executable; git would ignore it, so do we")
    if env.get(SKIP_VARIABLE, "").lower() in {"1", "true", "yes"}:
        out.line(f"ci-tasks: {SKIP_VARIABLE} is set: pre-push checks skipped", "warning")
        return EXIT_OK
    text = updates.decode(errors="replace")
    if not pushes_anything(text):
        what = "only deletes refs" if text.strip() else "sends nothing"
        out.line(f"ci-tasks: this push {what}: nothing to check")
        return EXIT_OK
    config = load_config(project)
    command = _command(shlex.split(config.hooks.command), project, env)
    out.line(f"ci-tasks: pre-push: {config.hooks.command} (skip once: {SKIP_VARIABLE}=1 git push)")
    done = Runner(env=_hook_env(env), cwd=project, output=out).run(command, check=False)
    if done.returncode != 0:
        out.line(
            f"ci-tasks: `{config.hooks.command}` failed (exit code {done.returncode}): "
            "push refused",
            "error",
        )
    return done.returncode


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ci_tasks.adopt.hooks pre-push PROJECT [git's arguments]``, run by the hook."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != HOOK:  # noqa: PLR2004
        usage = "usage: python -m ci_tasks.adopt.hooks pre-push PROJECT [REMOTE URL]"
        print(usage, file=sys.stderr)  # noqa: T201
        return EXIT_ERROR
    handle_termination_signals()
    try:
        updates = sys.stdin.buffer.read()
        return run_pre_push(Path(args[1]).resolve(), args[2:], updates, env=os.environ)
    except CITasksError as exc:
        print(f"ci-tasks: error: {exc}", file=sys.stderr)  # noqa: T201
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: the checks' tree is stopped
        print("ci-tasks: pre-push checks interrupted: push refused", file=sys.stderr)  # noqa: T201
        return exit_code_for(exc)


if __name__ == "__main__":
    sys.exit(main())
