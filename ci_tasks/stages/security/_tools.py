"""Where the scanners come from: pinned versions in their own venv, or the project's.

In a nox session the scanners are installed, at the versions ci_tasks pins
(``[tool.ci-tasks.security.versions]`` overrides them), into a venv *beside* the session
venv: results do not drift between laptop and CI, and the scanners' own dependencies
never enter the environment ``uv pip check`` judges. ``uv pip install`` into an existing
venv is a no-op when the versions match, so later runs cost well under a second.
Outside a session (``preflight`` runs the stage in-process) the project's ``.venv`` (its
locked dev group) is used when it holds the tool, then ``PATH``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.runner import Runner
from ci_tasks.stages.security.config import ScannerVersions

TOOLS = ("bandit", "pip-audit", "zizmor")


def uv_executable() -> str:
    """The uv binary installed with ci_tasks (``uv`` on PATH if that is missing)."""
    try:
        from uv import find_uv_bin  # noqa: PLC0415 - optional at run time

        return os.fspath(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return "uv"


def requirements(versions: ScannerVersions) -> list[str]:
    """The pinned scanner requirements (bandit with its TOML extra, for pyproject)."""
    return [
        f"bandit[toml]=={versions.bandit}",
        f"pip-audit=={versions.pip_audit}",
        f"zizmor=={versions.zizmor}",
    ]


def install_scanners(runner: Runner, session_venv: Path, versions: ScannerVersions) -> Path:
    """Install the pinned scanners into ``<session venv>-scanners``; returns its ``bin``."""
    uv = uv_executable()
    target = session_venv.with_name(f"{session_venv.name}-scanners")
    python = session_venv / "bin" / "python"
    venv_cmd = [uv, "venv", "--quiet", "--allow-existing", "--python", str(python), str(target)]
    runner.run(venv_cmd, retry_on=NETWORK_ERRORS)
    install = [uv, "pip", "install", "--quiet", "--python", str(target / "bin" / "python")]
    runner.run([*install, *requirements(versions)], retry_on=NETWORK_ERRORS)
    return target / "bin"


def locate(root: Path, runner: Runner, bin_dir: Path | None = None) -> dict[str, str]:
    """Each scanner's executable: from *bin_dir*, else the project's ``.venv``, else PATH."""
    found = {"uv": uv_executable()}
    for tool in TOOLS:
        candidates = [d / tool for d in (bin_dir, root / ".venv" / "bin") if d is not None]
        hit = next((c for c in candidates if c.is_file()), None)
        found[tool] = str(hit) if hit else (runner.which(tool) or tool)
    return found
