"""Where the stages find executables: the CI environment, and a venv's own scripts folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ci_tasks.core import tools
from ci_tasks.core.errors import ToolMissingError


def test_a_venvs_scripts_and_python_are_where_each_platform_puts_them():
    """Windows' venvs keep them in Scripts (python.exe); the others in bin."""
    venv = Path("v")
    assert tools.venv_scripts(venv, windows=True) == venv / "Scripts"
    assert tools.venv_python(venv, windows=True) == venv / "Scripts" / "python.exe"
    assert tools.venv_scripts(venv, windows=False) == venv / "bin"
    assert tools.venv_python(venv, windows=False) == venv / "bin" / "python"


def test_a_real_venvs_python_and_tools_are_found_there(tmp_path):
    """On this machine: uv's venv has its interpreter where venv_python says; a tool is found."""
    venv = tmp_path / "venv"
    subprocess.run([tools.find("uv"), "venv", "--quiet", "--seed", str(venv)], check=True)
    done = subprocess.run(
        [str(tools.venv_python(venv)), "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()) == venv
    assert tools.find("pip", (tools.venv_scripts(venv),)).startswith(str(venv))
    with pytest.raises(ToolMissingError, match="`ruff` is not in the CI environment"):
        tools.find("ruff", (tools.venv_scripts(venv),))
