"""The sessions that need no venv, before and after: tools from the CI environment.

Before (the parent of this change, exported with ``git archive`` and put first on
``PYTHONPATH``): ``security`` made a session venv, synced the project into it and installed
the scanners into a side venv; ``build`` installed twine and check-wheel-contents into its
session venv; ``lint`` always made a venv and synced the test groups. After: security and
build run with ``venv_backend="none"``; lint too, unless the project locks its own ruff.

Run: ``uv run python benchmarks/stage_venvs.py [BEFORE_COMMIT]`` (default ``d4623d6``).
Each figure is the median of three cold runs, before and after interleaved, of the real ``nox -s <session>`` (no ``.nox``,
uv cache warm) on a sample project, pip-audit against a local OSV server.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.stages.security.test_security_e2e import CLEAN_WORKFLOW, SHELL, osv
from tests.support.localserver import serve
from tests.support.sample import clean_env, make_project, pyproject

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3
README_PYPROJECT = pyproject().replace(
    'version = "0.1.0"\n', 'version = "0.1.0"\nreadme = "README.md"\n'
)
SORTED_NOXFILE = "import ci_tasks\nimport nox\n\nnox.options.default_venv_backend = 'uv'\n"
SORTED_NOXFILE += "ci_tasks.register()\n"
IGNORE = (
    '{ id = "B602", reason = "bench", until = 2099-01-01 }, '
    '{ id = "CVE-2018-18074", reason = "bench", until = 2099-01-01 }'
)


def export(commit: str, target: Path) -> Path:
    """The ci_tasks package as it was at *commit*, under *target*."""
    archive = subprocess.run(
        ["git", "archive", commit, "ci_tasks"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


# The first line a session prints once its environment is ready: the setup ends there.
# lint prints no such line both before and after, so only its total is compared.
READY = {"security": "── security: bandit", "build": "SOURCE_DATE_EPOCH="}


@dataclasses.dataclass(frozen=True)
class Run:
    """One cold run: its total and setup seconds, and its exit code."""

    total: float
    setup: float
    code: int


def cold_run(project: Path, session: str, pythonpath: str | None) -> Run:
    """One ``nox -s session`` with no ``.nox``; setup is the time until READY is printed."""
    shutil.rmtree(project / ".nox", ignore_errors=True)
    shutil.rmtree(project / ".ci-tasks", ignore_errors=True)
    env = clean_env({"PYTHONPATH": pythonpath} if pythonpath else None)
    start = time.perf_counter()
    began = ready = None
    with subprocess.Popen(
        [sys.executable, "-m", "nox", "-s", session],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter()
            if began is None and "Running session" in line:
                began = now
            marker = READY.get(session)
            if began is not None and ready is None and marker and marker in line:
                ready = now
    total = time.perf_counter() - start
    setup = (ready or start) - (began or start)
    return Run(total, setup, proc.returncode)


def medians(project: Path, session: str, before: str) -> tuple[Run, Run]:
    """Median runs before and after, interleaved so that load drifts hit both alike."""
    cold_run(project, session, before)  # warms the uv cache for each variant
    cold_run(project, session, None)
    old, new = [], []
    for _ in range(RUNS):
        old.append(cold_run(project, session, before))
        new.append(cold_run(project, session, None))
    return median(old), median(new)


def median(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.total for r in runs),
        statistics.median(r.setup for r in runs),
        runs[-1].code,
    )


def main() -> None:
    """Print the figures."""
    commit = sys.argv[1] if len(sys.argv) > 1 else "d4623d6"
    with tempfile.TemporaryDirectory() as tmp, serve(osv) as server:
        before = str(export(commit, Path(tmp)))
        security = {
            "dependencies": ["requests==2.19.0"],
            "dev": ("pytest==9.2.0",),
            "files": {
                "sample/shell.py": SHELL,
                ".github/workflows/ci.yml": CLEAN_WORKFLOW,
                "noxfile.py": SORTED_NOXFILE,
            },
            "ci_tasks": f'security = {{ osv-url = "{server.url}/v1/query", ignore = [{IGNORE}] }}',
        }
        # twine check --strict wants a long description: the README in the metadata.
        build_files = {"noxfile.py": SORTED_NOXFILE, "pyproject.toml": README_PYPROJECT}
        projects = {
            "security": make_project(Path(tmp) / "security", **security).path,
            "build": make_project(Path(tmp) / "build", files=build_files).path,
            "lint": make_project(
                Path(tmp) / "lint",
                dev=("pytest==9.2.0", "ruff==0.17.6"),
                files={"noxfile.py": SORTED_NOXFILE},
            ).path,
        }
        # The same project without ruff in its groups: after, lint needs no venv at all.
        lint_ci = make_project(
            Path(tmp) / "lint-ci", dev=("pytest==9.2.0",), files={"noxfile.py": SORTED_NOXFILE}
        ).path
        print("cold runs, median of 3; setup = session start until its first own output line")
        print(f"{'session':<40}{'total before':>13}{'after':>8}{'setup before':>14}{'after':>8}")
        for session, project in projects.items():
            old, new = medians(project, session, before)
            setup = (
                f"{old.setup:>14.2f}{new.setup:>8.2f}"
                if session in READY
                else f"{'n/a':>14}{'':>8}"
            )
            print(
                f"{session:<40}{old.total:>13.2f}{new.total:>8.2f}{setup}"
                f"  (exit {old.code} / {new.code})"
            )
        cold_run(lint_ci, "lint", None)
        new = median([cold_run(lint_ci, "lint", None) for _ in range(RUNS)])
        label = "lint, project without ruff (no venv)"
        print(
            f"{label:<40}{'n/a':>13}{new.total:>8.2f}{'n/a':>14}{'':>8}"
            f"  (exit {new.code}; before, ruff had to be in the dev group)"
        )


if __name__ == "__main__":
    main()
