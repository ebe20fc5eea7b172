"""A session venv's `uv sync` is skipped only on a stamp of everything uv reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PureWindowsPath

import pytest

from ci_tasks.core import sync_stamp
from ci_tasks.core.sync_stamp import Platform

LOCK = 'version = 1\n[[package]]\nname = "sample"\nsource = { editable = "." }\n'
COMMAND = ["uv", "sync", "--locked", "--group", "dev"]
LINUX = Platform(windows=False, home=Path("/home/me"))
UV = shutil.which("uv")  # this repository's own dependency, beside its interpreter


def _project(root: Path) -> Path:
    (root / "uv.lock").write_text(LOCK)
    (root / "pyproject.toml").write_text('[project]\nname = "sample"\n')
    venv = root / ".venv"
    (venv / "lib" / "python3.11" / "site-packages" / "pytest-9.2.0.dist-info").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.11.7\n")
    return venv


def _now(root: Path, venv: Path, env: dict[str, str], system: Platform = LINUX):
    found = sync_stamp.inputs(root, COMMAND, env, uv=UV, system=system)
    return None if found is None else {**found, **sync_stamp.venv_state(venv)}


def test_the_user_and_system_files_uv_reads_on_linux_and_windows():
    """XDG (or ~/.config) and /etc on Linux and macOS; %APPDATA% and %PROGRAMDATA% on Windows."""
    root = Path("/p/project")
    linux = sync_stamp.config_files(root, {"XDG_CONFIG_DIRS": "/opt/xdg"}, LINUX)
    assert linux[:3] == [Path("/p/project/uv.toml"), Path("/p/uv.toml"), Path("/uv.toml")]
    assert linux[3:] == [
        Path("/home/me/.config/uv/uv.toml"),
        Path("/opt/xdg/uv/uv.toml"),
        Path("/etc/uv/uv.toml"),
    ]
    xdg = sync_stamp.config_files(
        root, {"XDG_CONFIG_HOME": "/x", "UV_CONFIG_FILE": "/c.toml"}, LINUX
    )
    assert Path("/x/uv/uv.toml") in xdg
    assert xdg[-1] == Path("/c.toml")
    windows = Platform(windows=True, home=Path("C:/Users/me"))
    env = {"APPDATA": "C:/Users/me/AppData/Roaming", "PROGRAMDATA": "C:/ProgramData"}
    found = [PureWindowsPath(str(p)) for p in sync_stamp.config_files(root, env, windows)][3:]
    assert found == [
        PureWindowsPath("C:/Users/me/AppData/Roaming/uv/uv.toml"),
        PureWindowsPath("C:/ProgramData/uv/uv.toml"),
    ]


def test_a_stamp_matches_until_something_uv_reads_changes(tmp_path):
    """Same inputs match; a project or user uv.toml, UV_INDEX_URL, the lock each defeat it."""
    root = tmp_path / "project"
    root.mkdir()
    venv = _project(root)
    home = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(home), "PATH": "/bin"}
    sync_stamp.write(venv, _now(root, venv, env))
    stamp = sync_stamp.read(venv)
    assert sync_stamp.changed(stamp, _now(root, venv, {**env, "PATH": "/usr/bin"})) == "nothing"
    (root / "uv.toml").write_text('index-url = "https://mirror.example/simple"\n')
    assert sync_stamp.changed(stamp, _now(root, venv, env)) == str(root / "uv.toml")
    (root / "uv.toml").unlink()
    (home / "uv").mkdir(parents=True)
    (home / "uv" / "uv.toml").write_text("native-tls = true\n")
    assert sync_stamp.changed(stamp, _now(root, venv, env)) == str(home / "uv" / "uv.toml")
    (home / "uv" / "uv.toml").unlink()
    indexed = {**env, "UV_INDEX_URL": "https://user:s3cret@mirror.example/simple"}
    assert sync_stamp.changed(stamp, _now(root, venv, indexed)) == "UV_* environment"
    assert "s3cret" not in (venv / sync_stamp.FILE).read_text()
    (root / "uv.lock").write_text(LOCK + "\n")
    assert sync_stamp.changed(stamp, _now(root, venv, env)) == "uv.lock"
    (root / "uv.lock").write_text(LOCK)
    (venv / "lib" / "python3.11" / "site-packages" / "extra-1.0.dist-info").mkdir()
    assert sync_stamp.changed(stamp, _now(root, venv, env)) == "installed"


@pytest.mark.parametrize(
    "stamp",
    ["", "not json", json.dumps({"version": 0, "parts": {}}), json.dumps(["x"])],
)
def test_an_unreadable_stamp_means_sync(tmp_path, stamp):
    """No stamp, a broken one or another version's: nothing to compare, so sync."""
    venv = _project(tmp_path)
    if stamp:
        (venv / sync_stamp.FILE).write_text(stamp)
    assert sync_stamp.read(venv) is None
    assert sync_stamp.changed(sync_stamp.read(venv), _now(tmp_path, venv, {})) is None


def test_doubt_means_sync(tmp_path):
    """No uv found, no lock, a lock with path sources or cache-keys: never trusted."""
    venv = _project(tmp_path)
    assert sync_stamp.inputs(tmp_path, COMMAND, {}, uv=None, system=LINUX) is None
    (tmp_path / "uv.lock").write_text(LOCK + 'source = { directory = "../lib" }\n')
    assert _now(tmp_path, venv, {}) is None
    (tmp_path / "uv.lock").unlink()
    assert _now(tmp_path, venv, {}) is None
    (tmp_path / "uv.lock").write_text(LOCK)
    (tmp_path / "pyproject.toml").write_text("[tool.uv]\ncache-keys = [{ git = true }]\n")
    assert _now(tmp_path, venv, {}) is None
