"""Evidence that a project measures coverage, and its own pytest options (pure reads).

The tests stage's ``coverage = "auto"`` and ``ci-tasks init`` (which writes what it found)
read the same evidence, first found wins: ``--cov`` in pytest's own addopts; a coverage
floor (our ``fail-under``, or coverage's ``fail_under`` in ``.coveragerc``, ``setup.cfg``,
``tox.ini`` or ``pyproject.toml``); coverage or pytest-cov among the test dependencies;
the project's own workflows, noxfile or tox configuration running coverage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import groups, own_commands, pytest_files
from ci_tasks.core.workflow_files import workflow_files

__all__ = ["evidence", "floor_of_project", "pytest_addopts", "test_requirement"]


def pytest_addopts(root: Path) -> list[str]:
    """The ``addopts`` of the project's own pytest configuration file, as pytest finds it.

    The file :func:`ci_tasks.core.pytest_files.find` finds, then ``PYTEST_ADDOPTS``.
    """
    return pytest_files.addopts(root)


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


def floor_of_project(root: Path) -> tuple[float, str] | None:
    """Coverage's own ``fail_under`` for the project, and where it is set (``None``: unset).

    In coverage's own order: ``.coveragerc``, ``setup.cfg``'s and ``tox.ini``'s
    ``[coverage:report]``, ``[tool.coverage.report]``. A floor of 0 is no floor.
    """
    found: list[tuple[object, str]] = []
    for name, section in _FLOOR_FILES:
        if name == "pyproject.toml":
            report = own_commands.table(root, "tool", "coverage", "report")
            if "fail_under" in report:
                found.append((report["fail_under"], "pyproject.toml [tool.coverage.report]"))
            continue
        parser = own_commands.ini(root, name)
        if parser is not None and parser.has_option(section, "fail_under"):
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
    workflows = [path.relative_to(root).as_posix() for path in workflow_files(root)]
    for name in [*_COMMAND_FILES, *workflows]:
        match = _RUNS_COVERAGE.search(own_commands.text(root, name) or "")
        if match:
            command = " ".join(re.split(r"[\s\"',]+", match.group(0)))
            return f"{name} runs {command!r}"
    tox = own_commands.table(root, "tool").get("tox")
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
    return test_requirement(own_commands.pyproject(root)) or _commands(root)
