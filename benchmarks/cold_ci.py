"""Cold CI-job time per session on a real project: before (tools in the dev group) and after.

A cold CI job starts with the uv cache warm and no ``.venv``, ``.nox`` or script
environment. *After* is this checkout's way: ``ci-tasks init`` writes a locked noxfile and
each job runs ``uv run --locked --script noxfile.py -s <session>``. *Before* is the way of
commit d4623d6 (ci-tasks, nox and every tool in the project's dev group, jobs running
``uv run --locked nox -s <session>``), taken with ``git archive`` into a temporary folder,
since this branch no longer has it. The old way cannot lock a project that supports a
Python below 3.11 at all; for it, the copy's ``requires-python`` is raised to ``>=3.11``
(the hand edit users had to make), and the table says so.

Run: uv run python benchmarks/cold_ci.py --project /path/to/a/clean/clone/of/click
     [--sessions lint,tests-3.11,build,security]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEFORE_COMMIT = "d4623d6"
AFTER_NOX = ("uv", "run", "--locked", "--script", "noxfile.py")
BEFORE_NOX = ("uv", "run", "--locked", "nox")


def env() -> dict[str, str]:
    skip = ("GITHUB_", "NOX_", "CI_TASKS_", "VIRTUAL_ENV")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(skip) and k != "CI"}
    return {**clean, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}


def run(command, cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if check and done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(map(str, command))} failed: {' | '.join(tail)}")
    return done


def clone(source: Path, target: Path) -> Path:
    run(["git", "clone", "--quiet", source, target], cwd=source)
    return target


def make_cold(project: Path, *, script: bool) -> None:
    """What a fresh CI job lacks: the venvs; the warm uv cache stays."""
    if script:
        found = run(["uv", "python", "find", "--script", "noxfile.py"], cwd=project, check=False)
        env_dir = Path(found.stdout.strip()).parent.parent
        if found.returncode == 0 and "environments" in str(env_dir):
            shutil.rmtree(env_dir, ignore_errors=True)
    for name in (".venv", ".nox", ".ci-tasks", "dist"):
        shutil.rmtree(project / name, ignore_errors=True)


def timed(project: Path, nox: tuple[str, ...], session: str, *, script: bool) -> tuple[float, int]:
    run([*nox, "-s", session], cwd=project, check=False)  # warm the uv cache
    make_cold(project, script=script)
    start = time.perf_counter()
    done = run([*nox, "-s", session], cwd=project, check=False)
    return time.perf_counter() - start, done.returncode


def prepare_after(source: Path, root: Path) -> Path:
    project = clone(source, root / "after")
    run([sys.executable, "-m", "ci_tasks.cli", "init", "--ci-tasks-source", REPO], cwd=project)
    return project


def prepare_before(source: Path, root: Path) -> tuple[Path | None, str]:
    """The old way on a copy; ``(None, why)`` when it cannot adopt the project at all."""
    old = root / "ci-tasks-before"
    old.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BEFORE_COMMIT], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    run(["uv", "sync", "--locked", "--quiet"], cwd=old)
    project = clone(source, root / "before")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    raised = re.sub(r'requires-python = "[^"]*"', 'requires-python = ">=3.11"', text, count=1)
    note = "requires-python raised to >=3.11" if raised != text else ""
    pyproject.write_text(raised)
    (project / "noxfile.py").unlink(missing_ok=True)  # the old init writes its own
    done = run(
        [
            old / ".venv/bin/ci-tasks",
            "init",
            "--force",
            "--requirement",
            f"ci-tasks @ {old.as_uri()}",
        ],
        cwd=project,
        check=False,
    )
    if done.returncode != 0:
        return None, (done.stderr.strip().splitlines() or ["init failed"])[-1][:100]
    return project, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a clean git clone")
    parser.add_argument("--sessions", default="lint,tests-3.11,build,security")
    args = parser.parse_args()
    sessions = args.sessions.split(",")
    with tempfile.TemporaryDirectory(prefix="cold-ci-") as tmp:
        root = Path(tmp)
        after = prepare_after(args.project.resolve(), root)
        before, note = prepare_before(args.project.resolve(), root)
        print(f"project: {args.project}; uv cache warm, no .venv/.nox/script env per run")
        print(f"before = {BEFORE_COMMIT}, tools in the dev group{f' ({note})' if note else ''}")
        print("after  = this checkout, the locked noxfile environment")
        print(f"{'session':<14}{'before (s)':>14}{'after (s)':>14}   exit before/after")
        for session in sessions:
            if before is None:
                old, old_code = "n/a", "-"
            else:
                seconds, code = timed(before, BEFORE_NOX, session, script=False)
                old, old_code = f"{seconds:.1f}", str(code)
            seconds, code = timed(after, AFTER_NOX, session, script=True)
            print(f"{session:<14}{old:>14}{seconds:>14.1f}   {old_code}/{code}")
        if before is None:
            print(f"before could not adopt the project: {note}")


if __name__ == "__main__":
    main()
