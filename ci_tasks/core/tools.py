"""Where the stages find the tools they run: the CI environment, never an install.

The CI environment is the one running nox and ci_tasks: an adopter's ``noxfile.py``
script environment, locked in ``noxfile.py.lock``, or the virtual environment of a project
that lists ci-tasks itself. ci-tasks depends on every tool a stage runs (bandit, pip-audit,
zizmor, twine, check-wheel-contents, ruff, mypy, uv), so each is installed beside the
interpreter at the version that lock pins. Nothing is installed at run time: a tool that
is not there means the environment is incomplete, and the error says how to rebuild it.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core.errors import ToolMissingError

__all__ = ["ci_bin_dirs", "find", "venv_python", "venv_scripts"]

WINDOWS = sys.platform == "win32"
_SUFFIX = ".exe" if WINDOWS else ""


def venv_scripts(venv: Path, *, windows: bool = WINDOWS) -> Path:
    """Where a virtual environment keeps its executables: ``Scripts`` on Windows, else ``bin``."""
    return venv / ("Scripts" if windows else "bin")


def venv_python(venv: Path, *, windows: bool = WINDOWS) -> Path:
    """A virtual environment's interpreter (``Scripts/python.exe``, ``bin/python``)."""
    return venv_scripts(venv, windows=windows) / ("python.exe" if windows else "python")


def ci_bin_dirs() -> tuple[Path, ...]:
    """The CI environment's script folders: beside ``sys.executable``, then its scheme's.

    ``sys.executable`` is not resolved: in a venv it is a link to the base interpreter,
    and the venv's ``bin`` is where the tools are.
    """
    here = Path(sys.executable).parent
    scheme = Path(sysconfig.get_path("scripts"))
    return (here,) if scheme == here else (here, scheme)


def find(name: str, where: Sequence[Path] | None = None) -> str:
    """The executable *name* in the CI environment (or in the folders *where*).

    Raises :class:`ToolMissingError` (exit code 2) naming the folders looked in and how
    to rebuild the environment from its lock.
    """
    folders = tuple(where) if where is not None else ci_bin_dirs()
    for folder in folders:
        candidate = folder / f"{name}{_SUFFIX}"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    looked = ", ".join(str(f) for f in folders) or "nowhere"
    msg = (
        f"`{name}` is not in the CI environment ({looked}); ci-tasks depends on it, so that "
        "environment is incomplete: rebuild it from its lock (`uv run --locked --script "
        "noxfile.py`, or `uv sync --locked` where ci-tasks is a project dependency)"
    )
    raise ToolMissingError(msg)
