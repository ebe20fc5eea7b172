"""Evidence that a project measures coverage, and its own pytest options (pure reads).

The tests stage's ``coverage = "auto"`` and ``ci-tasks init`` (which writes what it found)
read the same evidence, first found wins: ``--cov`` in pytest's own addopts; a coverage
floor (our ``fail-under``, or coverage's ``fail_under`` in ``.coveragerc``, ``setup.cfg``,
``tox.ini`` or ``pyproject.toml``); coverage or pytest-cov among the test dependencies;
the project's own workflows, noxfile or tox configuration running coverage.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import groups
from ci_tasks.core.workflow_files import workflow_files

__all__ = ["evidence", "floor_of_project", "pytest_addopts", "test_requirement"]

_PYTEST_FILES = (  # where pytest looks, in its order; the section it reads
    ("pytest.ini", "pytest"),
    ("pyproject.toml", ""),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


def _words(text: str) -> list[str]:
    """*text* split as a shell would; plain whitespace splitting if its quotes do not pair."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def pytest_addopts(root: Path) -> list[str]:
    """The ``addopts`` of the project's own pytest configuration file, as pytest finds it.

    The first of ``pytest.ini``, ``pyproject.toml`` (with a pytest table), ``tox.ini`` and
    ``setup.cfg`` (with a pytest section) in the project directory, then ``PYTEST_ADDOPTS``.
    """
    found: str | list[str] | None = None
    for name, section in _PYTEST_FILES:
        path = root / name
        if not path.is_file():
            continue
        if name == "pyproject.toml":
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                continue
            table = data.get("tool", {}).get("pytest", {})
            if not isinstance(table, dict) or not table:
                continue
            options = table.get("ini_options", table)
            found = options.get("addopts") if isinstance(options, dict) else None
            break
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (OSError, configparser.Error):
            continue
        if parser.has_section(section) or name == "pytest.ini":
            found = parser.get(section, "addopts", fallback=None)
            break
    words = _words(found) if isinstance(found, str) else [str(w) for w in found or []]
    return [*words, *_words(os.environ.get("PYTEST_ADDOPTS", ""))]


# A command that measures coverage, as a workflow, noxfile or tox configuration spells it.
_RUNS_COVERAGE = re.compile(
    # Commands, not prose: ci_tasks' own ci.yml names a step "Keep the coverage report".
    # Spelled in a shell line or as a noxfile's arguments ("coverage", "run").
    r"\bcoverage[\s\"',]+(?:run|combine|erase)\b|-m[\s\"',]+coverage\b|--cov\b|\bpytest-cov\b"
)
_REQUIREMENTS = frozenset({"coverage", "pytest-cov"})
# The project's own commands; ci_tasks' generated workflows never run coverage by name.
_COMMAND_FILES = ("noxfile.py", "tox.ini")
_FLOOR_FILES = (  # where coverage reads its configuration, in its order
    (".coveragerc", "report"),
    ("setup.cfg", "coverage:report"),
    ("tox.ini", "coverage:report"),
    ("pyproject.toml", ""),
)


def _pyproject(root: Path) -> dict[str, Any]:
    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def floor_of_project(root: Path) -> tuple[float, str] | None:
    """Coverage's own ``fail_under`` for the project, and where it is set (``None``: unset).

    In coverage's own order: ``.coveragerc``, ``setup.cfg``'s and ``tox.ini``'s
    ``[coverage:report]``, ``[tool.coverage.report]``. A floor of 0 is no floor.
    """
    found: list[tuple[object, str]] = []
    for name, section in _FLOOR_FILES:
        if name == "pyproject.toml":
            report = _pyproject(root).get("tool", {}).get("coverage", {}).get("report", {})
            if isinstance(report, dict) and "fail_under" in report:
                found.append((report["fail_under"], "pyproject.toml [tool.coverage.report]"))
            continue
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(root / name, encoding="utf-8")
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
        if parser.has_option(section, "fail_under"):
            found.append((parser.get(section, "fail_under"), f"{name} [{section}]"))
    for value, where in found[:1]:
        try:
            number = float(str(value))
        except ValueError:
            return None
        return (number, where) if number > 0 else None
    return None


def test_requirement(data: Mapping[str, Any]) -> str | None:
    """Coverage or pytest-cov in a test group, or a ``test*`` extra: ``group 'dev'``."""
    declared = data.get("dependency-groups", {})
    declared = declared if isinstance(declared, dict) else {}
    found = groups.test_groups(data)
    named = [(f"dependency group {g!r}", declared.get(g)) for g in found]
    extras = data.get("project", {}).get("optional-dependencies", {})
    if isinstance(extras, dict):
        named += [(f"extra {e!r}", v) for e, v in extras.items() if str(e).startswith("test")]
    for where, entries in named:
        for entry in entries if isinstance(entries, list) else []:
            name = groups.requirement_name(entry)
            if name in _REQUIREMENTS:
                return f"{name} in {where}"
    return None


def _commands(root: Path) -> str | None:
    """The first of the project's own CI or task files that runs coverage."""
    for path in [*(root / name for name in _COMMAND_FILES), *workflow_files(root)]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        match = _RUNS_COVERAGE.search(text)
        if match:
            command = " ".join(re.split(r"[\s\"',]+", match.group(0)))
            return f"{path.relative_to(root).as_posix()} runs {command!r}"
    tox = _pyproject(root).get("tool", {}).get("tox")
    if tox is not None and _RUNS_COVERAGE.search(repr(tox)):
        return "pyproject.toml [tool.tox] runs coverage"
    return None


def evidence(root: Path, fail_under: float | None) -> str | None:
    """What says the project measures coverage (first found), or ``None``.

    *fail_under* is ``[tool.ci-tasks.tests] fail-under``.
    """
    addopts = pytest_addopts(root)
    cov = next((opt for opt in addopts if opt == "--cov" or opt.startswith("--cov=")), None)
    if cov is not None:
        return f"{cov} in pytest's addopts"
    if fail_under is not None:
        return f"[tool.ci-tasks.tests] fail-under = {fail_under:g}"
    floor = floor_of_project(root)
    if floor is not None:
        return f"fail_under = {floor[0]:g} in {floor[1]}"
    return test_requirement(_pyproject(root)) or _commands(root)
