"""The sessions that need no venv, before and after: tools from the CI environment.

Before (the parent of this change, exported with ``git archive`` and put first on
``PYTHONPATH``): ``security`` made a session venv, synced the project into it and installed
the scanners into a side venv; ``build`` installed twine and check-wheel-contents into its
session venv; ``lint`` always made a venv and synced the test groups. After: security and
build run with ``venv_backend="none"``; lint too, unless the project locks its own ruff.

Run: ``uv run python benchmarks/stage_venvs.py [BEFORE_COMMIT]`` (default ``d4623d6``).
Each figure is the median of three cold runs of the real ``nox -s <session>`` (no ``.nox``,
uv cache warm) on a sample project, pip-audit against a local OSV server.
"""

from __future__ import annotations

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


def cold_run(project: Path, session: str, pythonpath: str | None) -> tuple[float, int]:
    """Seconds for one ``nox -s session`` with no ``.nox``; and its exit code."""
    shutil.rmtree(project / ".nox", ignore_errors=True)
    shutil.rmtree(project / ".ci-tasks", ignore_errors=True)
    env = clean_env({"PYTHONPATH": pythonpath} if pythonpath else None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-s", session],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - start, done.returncode


def median(project: Path, session: str, pythonpath: str | None) -> tuple[float, int]:
    cold_run(project, session, pythonpath)  # warms the uv cache for this variant
    runs = [cold_run(project, session, pythonpath) for _ in range(RUNS)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


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
        print(f"{'session (cold, median of 3)':<44}{'before s':>10}{'after s':>10}")
        for session, project in projects.items():
            old, old_code = median(project, session, before)
            new, new_code = median(project, session, None)
            codes = f"  (exit {old_code} / {new_code})"
            print(f"{session:<44}{old:>10.2f}{new:>10.2f}{codes}")
        new, code = median(lint_ci, "lint", None)
        label = "lint, project without ruff (after: no venv)"
        print(f"{label:<44}{'n/a':>10}{new:>10.2f}  (before: ruff had to be in dev; exit {code})")


if __name__ == "__main__":
    main()
