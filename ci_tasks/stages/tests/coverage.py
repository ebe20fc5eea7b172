"""Whether a tests session measures coverage, and how its floor is judged (pure reads).

``coverage = "auto"`` (the default) measures coverage when the project measures it, as
``hatch test`` (off unless ``--cover``) and pytest-cov (off unless ``--cov``) do. The
evidence, first found wins: ``--cov`` in pytest's own addopts; a coverage floor
(coverage's ``fail_under`` in ``pyproject.toml``, ``.coveragerc``, ``setup.cfg`` or
``tox.ini``, or our own ``fail-under``); coverage or pytest-cov among the test
dependencies; the project's own workflows, noxfile or tox configuration running
coverage. ``init`` writes what it found, and the session says it on every run.

Where coverage is on, each pytest process runs under ``coverage run`` (measured from
interpreter start-up, so a package that pytest or its plugins import, such as packaging
or pluggy, is measured as the project's own ``coverage run -m pytest`` measures it).
"""

from __future__ import annotations

import configparser
import dataclasses
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import groups
from ci_tasks.stages.tests.config import TestsConfig

__all__ = ["Decision", "decide", "evidence", "floor_of_project"]

# A command that measures coverage, as a workflow, noxfile or tox configuration spells it.
_RUNS_COVERAGE = re.compile(
    r"\bcoverage\s+(?:run|report|combine|xml|html|json|lcov|erase)\b|--cov\b|\bpytest-cov\b"
)
_REQUIREMENTS = frozenset({"coverage", "pytest-cov"})
# The project's own commands; ci_tasks' generated workflows never run coverage by name.
_COMMAND_FILES = ("noxfile.py", "tox.ini")
_WORKFLOWS = ".github/workflows"
_FLOOR_FILES = (  # where coverage reads its configuration, in its order
    (".coveragerc", "report"),
    ("setup.cfg", "coverage:report"),
    ("tox.ini", "coverage:report"),
    ("pyproject.toml", ""),
)


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether coverage is measured, and why (one line the session prints)."""

    on: bool
    reason: str


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


def _test_requirement(data: Mapping[str, Any]) -> str | None:
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
    files = [root / name for name in _COMMAND_FILES]
    folder = root / _WORKFLOWS
    if folder.is_dir():
        files += sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        match = _RUNS_COVERAGE.search(text)
        if match:
            return f"{path.relative_to(root).as_posix()} runs {match.group(0)!r}"
    tox = _pyproject(root).get("tool", {}).get("tox")
    if tox is not None and _RUNS_COVERAGE.search(repr(tox)):
        return "pyproject.toml [tool.tox] runs coverage"
    return None


def evidence(root: Path, config: TestsConfig, addopts: list[str]) -> str | None:
    """What says the project measures coverage (first found), or ``None``.

    *addopts* are pytest's own options for the project (its configuration file's).
    """
    cov = next((opt for opt in addopts if opt == "--cov" or opt.startswith("--cov=")), None)
    if cov is not None:
        return f"{cov} in pytest's addopts"
    if config.fail_under is not None:
        return f"[tool.ci-tasks.tests] fail-under = {config.fail_under:g}"
    floor = floor_of_project(root)
    if floor is not None:
        return f"fail_under = {floor[0]:g} in {floor[1]}"
    return _test_requirement(_pyproject(root)) or _commands(root)


def decide(root: Path, config: TestsConfig, addopts: list[str]) -> Decision:
    """``coverage = true/false`` as set; ``auto``: on when :func:`evidence` finds some."""
    if config.coverage is True:
        return Decision(on=True, reason="coverage = true")
    if config.coverage is False:
        return Decision(on=False, reason="coverage = false")
    found = evidence(root, config, addopts)
    if found is None:
        return Decision(
            on=False,
            reason="auto: off, the project measures no coverage (no --cov in addopts, "
            "no fail_under, no coverage or pytest-cov in its test dependencies, "
            "no command of its own running coverage)",
        )
    return Decision(on=True, reason=f"auto: on, {found}")
