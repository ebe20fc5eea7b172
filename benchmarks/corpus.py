"""Adopt each given clone with a plain `ci-tasks init`, then run `ci-tasks parity`: one row each.

Run: uv run python benchmarks/corpus.py [--python 3.11] [--timeout 1800] DIR [DIR ...]

Each DIR is a git clone of a public project (see ../shared/corpus.md; clone outside /tmp).
A clone that has not adopted ci_tasks yet (no noxfile.py.lock) is adopted with
`ci-tasks init --ci-tasks-source <this checkout>` and committed, with no hand edit; one
already adopted is used as it is. Then `ci-tasks parity` compares the project's own test
and lint commands with the sessions, on the same Python, in that tree. The table gives the
project's kind (build backend, the runners it has), what init did, each stage's verdict
pair and the first difference; the last line counts the projects that agree. Per project,
the parity output is kept in DIR/.ci-tasks/parity.out and its report in
DIR/.ci-tasks/parity-report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNNERS = {
    "tox": ("tox.ini", "tox.toml"),
    "nox": ("noxfile.py",),
    "just": ("justfile", "Justfile", ".justfile"),
    "make": ("Makefile",),
    "pre-commit": (".pre-commit-config.yaml",),
    "scripts": ("scripts",),
}


def kind(root: Path) -> str:
    """``hatchling; tox, pre-commit``: the build backend and the runners the project has."""
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    backend = str(data.get("build-system", {}).get("build-backend", "setuptools (legacy)"))
    backend = backend.split(".", maxsplit=1)[0].split(":", maxsplit=1)[0]
    have = [name for name, files in RUNNERS.items() if any((root / f).exists() for f in files)]
    tool = data.get("tool", {})
    have += [n for n in ("tox", "hatch", "poe") if n in tool and n not in have]
    return f"{backend}; {', '.join(have) or 'no runner'}"


def ci_tasks(root: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CI")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return subprocess.run(
        [sys.executable, "-m", "ci_tasks.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def adopt(root: Path, timeout: float) -> str:
    if (root / "noxfile.py.lock").is_file():
        return "adopted before"
    done = ci_tasks(root, "init", "--ci-tasks-source", str(REPO), timeout=timeout)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:]
        return f"init failed ({done.returncode}): {' '.join(last)}"
    git(root, "add", "-A")
    git(
        root,
        "-c",
        "user.name=corpus",
        "-c",
        "user.email=corpus@example.invalid",
        "commit",
        "-qm",
        "Adopt ci-tasks",
    )
    return "init ok"


def verdicts(report: dict[str, object], stage: str) -> str:
    rows = report.get("rows")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("stage") == stage:
            own, session = row["own"]["verdict"], row["session"]["verdict"]
            if "not run" in (own, session):  # parity compared nothing: never an agreement
                return f"{own} / {session} (not compared)"
            mark = "=" if row.get("agrees") else "≠"
            return f"{own} {mark} {session}"
    return "-"


def parity_cell(code: int, differs: str, stages: dict[str, str]) -> str:
    """``agrees``, ``agrees (lint not compared)``, or the exit code and first difference."""
    if code:
        return f"exit {code}: {differs}"
    missing = [stage for stage, cell in stages.items() if cell.endswith("(not compared)")]
    return f"agrees ({', '.join(missing)} not compared)" if missing else "agrees"


def one(root: Path, python: str, timeout: float) -> list[str]:
    start = time.monotonic()
    init = adopt(root, timeout)
    if not init.startswith(("init ok", "adopted")):
        return [root.name, kind(root), init, "-", "-", "", f"{time.monotonic() - start:.0f}s"]
    done = ci_tasks(root, "parity", "--python", python, "--timeout", str(timeout), timeout=None)
    (root / ".ci-tasks").mkdir(exist_ok=True)
    (root / ".ci-tasks" / "parity.out").write_text(done.stdout + done.stderr, encoding="utf-8")
    try:
        report = json.loads((root / ".ci-tasks" / "parity-report.json").read_text())
    except (OSError, ValueError):
        report = {}
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    differs = next((line for line in lines if "parity: " in line and "running" not in line), "")
    if done.returncode == 0:
        differs = ""
    tests, lint = verdicts(report, "tests"), verdicts(report, "lint")
    return [
        root.name,
        kind(root),
        init,
        tests,
        lint,
        parity_cell(done.returncode, differs, {"tests": tests, "lint": lint}),
        f"{time.monotonic() - start:.0f}s",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--python", default=f"{sys.version_info.major}.{sys.version_info.minor}")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    header = ["project", "kind", "init", "tests (own = session)", "lint", "parity", "time"]
    rows = []
    for root in args.dirs:
        row = one(root.resolve(), args.python, args.timeout)
        print(" | ".join(row), flush=True)
        rows.append(row)
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    agreeing = sum(1 for row in rows if row[5] == "agrees")
    partly = sum(1 for row in rows if row[5].startswith("agrees ("))
    print(f"\n{agreeing} of {len(rows)} projects agree", end="")
    print(f" (and {partly} on every stage parity could compare)" if partly else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
