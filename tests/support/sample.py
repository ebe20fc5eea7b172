"""Sample projects in a temporary directory, and real nox runs over them.

A sample project has its own ``pyproject.toml``, ``uv.lock`` (made by a real
``uv lock``) and a ``noxfile.py`` calling ``ci_tasks.register()``; nox runs from this
repository's environment, where ci_tasks is installed, exactly as an adopter's would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.gitsupport import git

# The test runner and plugins, and the linter, at this repository's own pins: sample
# projects that run the sessions from this repository's environment lock the same.
TEST_TOOLS: tuple[str, ...] = (
    "pytest==9.2.0",
    "pytest-cov==7.1.0",
    "pytest-rerunfailures==16.7",
    "pytest-xdist==3.8.0",
)
LINT_TOOLS: tuple[str, ...] = ("ruff==0.17.6",)

NOXFILE = """\
import nox

import ci_tasks

nox.options.default_venv_backend = "uv"
ci_tasks.register()
"""


def pyproject(
    name: str = "sample",
    *,
    dependencies: Sequence[str] = (),
    dev: Sequence[str] = ("pytest==9.2.0",),
    ci_tasks: str = "",
    extra: str = "",
) -> str:
    """A pyproject.toml for a small flat-layout package."""
    deps = ", ".join(f'"{d}"' for d in dependencies)
    dev_deps = ", ".join(f'"{d}"' for d in dev)
    return (
        textwrap.dedent(f"""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = [{deps}]

        [dependency-groups]
        dev = [{dev_deps}]

        [tool.ci-tasks]
        {ci_tasks}
        """)
        + extra
    )


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: no Actions or CI variables leak in from outside."""
    env = {
        k: v
        for k, v in os.environ.items()
        # PYTEST_XDIST_*: this repository's own xdist worker must not leak into a sample's;
        # COVERAGE_* / COV_CORE_*: nor its own coverage data file, where its tests session
        # measures coverage (a sample's `pytest --cov` would write there).
        if not k.startswith(
            ("GITHUB_", "NOX_", "CI_TASKS_", "PYTEST_XDIST_", "COVERAGE_", "COV_CORE_")
        )
        and k not in {"CI", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Project:
    """A sample project on disk."""

    path: Path

    def write(self, relative: str, text: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
        return target

    def lock(self) -> None:
        subprocess.run(
            ["uv", "lock", "--quiet"], cwd=self.path, check=True, env=clean_env(), timeout=300
        )

    def nox(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run real nox (from this repository's venv) in the project; output merged."""
        return subprocess.run(
            [sys.executable, "-m", "nox", *args],
            cwd=self.path,
            env=clean_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ci_tasks(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``ci-tasks`` command in the project; stdout and stderr kept apart."""
        return subprocess.run(
            [sys.executable, "-m", "ci_tasks.cli", *args],
            cwd=self.path,
            env=clean_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def make_project(
    root: Path,
    *,
    files: Mapping[str, str] | None = None,
    lock: bool = True,
    **pyproject_args: object,
) -> Project:
    """Write a sample project (package ``sample`` with one passing test) under *root*."""
    project = Project(root)
    project.write("pyproject.toml", pyproject(**pyproject_args))  # type: ignore[arg-type]
    project.write("noxfile.py", NOXFILE)
    project.write(
        "sample/__init__.py", '"""A sample package."""\n\n\ndef add(a, b):\n    return a + b\n'
    )
    project.write(
        "tests/test_sample.py",
        "from sample import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    )
    project.write("README.md", "# sample\n")
    for relative, text in (files or {}).items():
        project.write(relative, text)
    if lock:
        project.lock()
    return project


# An adopter as the issue describes it: Python >= 3.9, an old pin ci_tasks itself could
# never share a lock with, pytest in a `tests` group, and its own locked ruff.
ADOPTER_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample"  # the name people install
version = "0.1.0"
description = "A sample project adopting ci_tasks."
readme = "README.md"
requires-python = ">=3.9"
dependencies = ["requests==2.19.0"]

[dependency-groups]
tests = ["pytest>=8"]  # the test runner
dev = ["ruff==0.17.6"]
"""

REPO = Path(__file__).resolve().parents[2]
"""This checkout: where adopters in tests take ci-tasks from (it is on no index)."""

LOCKED_NOX = ("uv", "run", "--locked", "--script", "noxfile.py")
"""How CI starts nox in an adopted project: from the locked noxfile environment."""


def make_adopter(root: Path, pyproject_text: str = ADOPTER_PYPROJECT) -> Project:
    """A project that has not adopted ci_tasks yet: no noxfile, no lock, one git commit."""
    project = make_project(root, files={"pyproject.toml": pyproject_text}, lock=False)
    (project.path / "noxfile.py").unlink()
    project.write(
        "sample/__init__.py",
        '"""A sample package."""\n\n\ndef add(a, b):\n    """Add."""\n    return a + b\n',
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    return project


def locked_nox(
    project: Project, *args: str, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """``uv run --locked --script noxfile.py ARGS`` in *project*, as CI runs it."""
    return subprocess.run(
        [*LOCKED_NOX, *args],
        cwd=project.path,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
