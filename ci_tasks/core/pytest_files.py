"""The project's pytest configuration file, found as pytest finds it (pure but for reading).

pytest (9.x, ``_pytest/config/findpaths.py``: ``CONFIG_LOADERS_BY_NAME``) takes the first of
these in the directory it starts from that holds its configuration:

- ``pytest.toml``, ``.pytest.toml``: always (its ``[pytest]`` table, or nothing);
- ``pytest.ini``, ``.pytest.ini``: always (its ``[pytest]`` section, or nothing);
- ``pyproject.toml``: where it has ``[tool.pytest]`` options (pytest 9's TOML form) or a
  ``[tool.pytest.ini_options]`` table, even an empty one;
- ``tox.ini``: where it has a ``[pytest]`` section;
- ``setup.cfg``: where it has a ``[tool:pytest]`` section (a ``[pytest]`` one pytest refuses).

The tests stage (its strictness, addopts) and ``init`` (coverage evidence) read the same
file through :func:`find`. A file pytest itself would refuse (not TOML, not INI, both
pyproject forms) is said in *skipped* and left out, never fatal here: pytest says it too.
Only the project's own directory is searched; where none of its files holds pytest's
configuration, pytest searches the parent directories, which are not the project's.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import own_commands

__all__ = ["FILES", "PytestIni", "addopts", "find"]

FILES = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml",
         "tox.ini", "setup.cfg")  # fmt: skip
"""pytest's configuration files, in its order."""


@dataclasses.dataclass(frozen=True)
class PytestIni:
    """The project's pytest configuration file: its name, its section and its ini options."""

    file: str
    """``pyproject.toml``, ``pytest.ini``..."""
    section: str
    """``[tool.pytest.ini_options]``, ``[tool.pytest]``, ``[pytest]``, ``[tool:pytest]``."""
    options: Mapping[str, object]


def _toml(root: Path, name: str, skipped: list[str]) -> dict[str, Any] | None:
    text = own_commands.text(root, name)
    if text is not None:
        try:
            return own_commands.parse_toml(text)
        except tomllib.TOMLDecodeError:
            pass
    skipped.append(f"{name}: not valid TOML, pytest's configuration not read from it")
    return None


def _pyproject(data: Mapping[str, Any], skipped: list[str]) -> PytestIni | None:
    """pyproject.toml's pytest configuration, as pytest reads it; ``None``: it has none."""
    tool_pytest = own_commands.table(data, "tool", "pytest")
    native = {k: v for k, v in tool_pytest.items() if k != "ini_options"}
    ini = tool_pytest.get("ini_options")
    if native and ini is not None:
        skipped.append(
            "pyproject.toml: both [tool.pytest] and [tool.pytest.ini_options], which pytest "
            "refuses; read [tool.pytest.ini_options]"
        )
    if ini is not None:
        options = ini if isinstance(ini, dict) else {}
        return PytestIni("pyproject.toml", "[tool.pytest.ini_options]", options)
    if native:
        return PytestIni("pyproject.toml", "[tool.pytest]", native)
    return None


def _of(root: Path, name: str, said: list[str]) -> PytestIni | None:
    """The pytest configuration *name* holds, as pytest reads that file; ``None``: none."""
    if not name.endswith(".toml"):
        return _of_ini(root, name, said)
    data = _toml(root, name, said)
    if data is None:
        return None
    if name == "pyproject.toml":
        return _pyproject(data, said)
    options = data.get("pytest")  # pytest.toml: always pytest's file
    return PytestIni(name, "[pytest]", options if isinstance(options, dict) else {})


def _of_ini(root: Path, name: str, said: list[str]) -> PytestIni | None:
    parser = own_commands.ini(root, name, said)
    if parser is None:
        return None
    section = "tool:pytest" if name == "setup.cfg" else "pytest"
    if parser.has_section(section):
        return PytestIni(name, f"[{section}]", dict(parser.items(section)))
    if name in ("pytest.ini", ".pytest.ini"):  # always pytest's file
        return PytestIni(name, "[pytest]", {})
    if name == "setup.cfg" and parser.has_section("pytest"):
        said.append("setup.cfg: a [pytest] section, which pytest refuses ([tool:pytest])")
    return None


def find(root: Path, skipped: list[str] | None = None) -> PytestIni | None:
    """The pytest configuration file of the project in *root*, as pytest finds it.

    ``None``: none of :data:`FILES` holds pytest's configuration. What could not be read
    is said in *skipped*.
    """
    said: list[str] = [] if skipped is None else skipped
    for name in FILES:
        if (root / name).is_file():
            found = _of(root, name, said)
            if found is not None:
                return found
    return None


def _words(text: str) -> list[str]:
    """*text* split as a shell would; plain whitespace splitting if its quotes do not pair."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def addopts(root: Path) -> list[str]:
    """The ``addopts`` of the project's pytest configuration file, then ``PYTEST_ADDOPTS``."""
    ini = find(root)
    found = ini.options.get("addopts") if ini is not None else None
    words = _words(found) if isinstance(found, str) else []
    words += [str(w) for w in found] if isinstance(found, list) else []
    return [*words, *_words(os.environ.get("PYTEST_ADDOPTS", ""))]
