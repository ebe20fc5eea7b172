"""Whether a session venv's ``uv sync`` would change nothing: a stamp of everything uv reads.

A warm session's ``uv sync --locked`` still starts uv, which reads the lock and checks the
venv. It is skipped only when the stamp written into the venv after the last successful
sync matches what uv would read now: the sync's command, ``uv.lock`` and
``pyproject.toml`` (with ``setup.py``, ``setup.cfg`` and ``.python-version`` beside them,
uv's default cache keys), uv's executable, the venv's interpreter and what is installed
in it, uv's configuration files (``uv.toml`` in the project and its parents, the user's
and the system's, ``UV_CONFIG_FILE``) and every ``UV_*`` variable. Any doubt means sync:
no stamp or an unreadable one, no ``uv`` found, no ``uv.lock`` beside the project, a lock
with path sources other than the project (their files change without the lock), or
``cache-keys`` of the project's own.

The stamp keeps digests only, never a value: a ``UV_INDEX_URL`` may carry credentials.
Where uv looks for its user and system files differs by platform: :class:`Platform`
holds those facts (:data:`NATIVE`), so tests hand in another's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_tasks.core import own_commands, reports

FILE = ".ci-tasks-sync-stamp.json"
"""The stamp, in the session venv (removed with it)."""
VERSION = 1
_PROJECT_FILES = ("uv.lock", "pyproject.toml", "setup.py", "setup.cfg", ".python-version")
# A lock's source other than the project itself: a path uv reads beyond the lock.
_PATH_SOURCE = re.compile(r'source = \{ (?:editable|directory|path|virtual) = "([^"]*)"')


@dataclasses.dataclass(frozen=True)
class Platform:
    """The facts that say where uv looks for its user and system configuration."""

    windows: bool
    home: Path


NATIVE = Platform(windows=os.name == "nt", home=Path.home())


def config_files(root: Path, env: Mapping[str, str], system: Platform = NATIVE) -> list[Path]:
    """The ``uv.toml`` files uv may read for a project in *root* (existing or not).

    The project's folder and its parents; the user's (``%APPDATA%/uv`` on Windows, else
    ``$XDG_CONFIG_HOME/uv`` or ``~/.config/uv``); the system's (``%PROGRAMDATA%/uv``, else
    ``$XDG_CONFIG_DIRS``' and ``/etc/uv``); and ``UV_CONFIG_FILE``'s.
    """
    files = [folder / "uv.toml" for folder in (root, *root.parents)]
    if system.windows:
        roaming = env.get("APPDATA") or str(system.home / "AppData" / "Roaming")
        files.append(Path(roaming) / "uv" / "uv.toml")
        data = env.get("PROGRAMDATA") or f"{env.get('SYSTEMDRIVE', 'C:')}\\ProgramData"
        files.append(Path(data) / "uv" / "uv.toml")
    else:
        user = env.get("XDG_CONFIG_HOME") or str(system.home / ".config")
        files.append(Path(user) / "uv" / "uv.toml")
        dirs = (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
        files += [Path(d) / "uv" / "uv.toml" for d in dirs if d]
        files.append(Path("/etc/uv/uv.toml"))
    if env.get("UV_CONFIG_FILE"):
        files.append(Path(env["UV_CONFIG_FILE"]))
    return files


def _digest(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _file(path: Path) -> str:
    try:
        return _digest(path.read_bytes())
    except FileNotFoundError:
        return "absent"
    except OSError:
        return f"unreadable {os.urandom(8).hex()}"  # never matches: sync


def _doubt(root: Path) -> str | None:
    """Why the stamp cannot be trusted for the project in *root*, if it cannot."""
    try:
        lock = (root / "uv.lock").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "no readable uv.lock beside the project"
    paths = [p for p in _PATH_SOURCE.findall(lock) if p != "."]
    if paths:
        return f"uv.lock has path sources ({paths[0]}), whose files change without the lock"
    try:
        pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "no readable pyproject.toml"
    if "cache-keys" in pyproject:
        return "the project sets uv's cache-keys"
    return None


def _executable(path: str | None) -> str | None:
    """The identity of an executable: where it really is, its size and change time."""
    if path is None:
        return None
    try:
        real = Path(path).resolve()
        stat = real.stat()
    except OSError:
        return None
    return f"{real} {stat.st_size} {stat.st_mtime_ns}"


def inputs(
    root: Path,
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    uv: str | None,
    system: Platform = NATIVE,
) -> dict[str, str] | None:
    """Digests of what a ``uv sync`` would read besides the venv; ``None``: doubt.

    *env* is the sync's whole environment; *uv* the executable that would run.
    """
    executable = _executable(uv)
    if executable is None or _doubt(root) is not None:
        return None
    parts = {"command": _digest(json.dumps(list(command)))}
    parts["uv"] = _digest(executable)
    parts["UV_* environment"] = _digest(
        json.dumps(sorted((k, v) for k, v in env.items() if k.startswith("UV_")))
    )
    for name in _PROJECT_FILES:
        parts[name] = _file(root / name)
    for folder in root.parents:  # uv looks upward for the Python a project asks for
        parts[str(folder / ".python-version")] = _file(folder / ".python-version")
    for path in config_files(root, env, system):
        parts[str(path)] = _file(path)
    return parts


def venv_state(venv: Path) -> dict[str, str]:
    """Digests of the venv's interpreter and of what is installed in it."""
    installed = sorted(
        entry.name
        for site in [*venv.glob("lib/python*/site-packages"), venv / "Lib" / "site-packages"]
        if site.is_dir()
        for entry in os.scandir(site)
    )
    python = venv / ("Scripts/python.exe" if (venv / "Scripts").is_dir() else "bin/python")
    interpreter = f"{_file(venv / 'pyvenv.cfg')} {_executable(str(python))}"
    return {"interpreter": _digest(interpreter), "installed": _digest("\n".join(installed))}


def read(venv: Path) -> dict[str, str] | None:
    """The stamp in *venv* (``None``: none, or one that cannot be read: sync)."""
    try:
        data = json.loads((venv / FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    parts = data.get("parts")
    if not isinstance(parts, dict):
        return None
    return {str(k): str(v) for k, v in parts.items()}


def changed(stamp: Mapping[str, str] | None, now: Mapping[str, str] | None) -> str | None:
    """What changed since the stamp (``"nothing"``: the sync may be skipped), or ``None``.

    ``None``: no stamp to compare, or doubt: sync, without a word.
    """
    if stamp is None or now is None:
        return None
    differ = [key for key in (*now, *stamp) if now.get(key) != stamp.get(key)]
    return differ[0] if differ else "nothing"


def forget(venv: Path) -> None:
    """Remove the stamp before a sync: a sync cut short must not leave one that matches."""
    (venv / FILE).unlink(missing_ok=True)


def write(venv: Path, parts: Mapping[str, str]) -> None:
    """Write the stamp into *venv* (atomically)."""
    document = {"version": VERSION, "parts": dict(parts)}
    reports.atomic_write(venv / FILE, json.dumps(document, indent=1, sort_keys=True))


def missing_build_output(root: Path) -> tuple[str, str] | None:
    """A file the project's build writes into its tree, gone; and the project's name.

    hatch-vcs' ``version-file`` and setuptools-scm's ``version_file`` (or ``write_to``)
    are written when the project is built. uv keeps the editable build it made and
    installs it again while ``pyproject.toml`` is unchanged, without building: a file
    deleted since (``git clean -fdx``, a tool that tidied the tree) stays gone, and the
    package fails to import where the project's own tox, which builds every run, passes.
    ``None`` when the project declares no such file, or it is there.
    """
    data = own_commands.toml(root, "pyproject.toml")  # parsed once per start, shared
    tool = data.get("tool", {})
    name = data.get("project", {}).get("name")
    hook = tool.get("hatch", {}).get("build", {}).get("hooks", {}).get("vcs", {})
    scm = tool.get("setuptools_scm", {})
    written = [hook.get("version-file"), scm.get("version_file"), scm.get("write_to")]
    for relative in written:
        if isinstance(relative, str) and relative and isinstance(name, str):  # noqa: SIM102
            if not (root / relative).is_file():
                return relative, name
    return None
