"""The OSes and interpreters a project's own workflows test on, read before ``init`` adopts it.

A project that tested on Windows, macOS and PyPy before adopting ci_tasks still does
after: ``init`` reads every test job of ``.github/workflows/*.yml`` (a job named like a
test, or one whose steps run pytest, tox or nox), its ``runs-on`` and its
``strategy.matrix`` (the lists, ``include`` and ``exclude``, ``${{ matrix.<key> }}``
expansions), and writes what it found into ``[tool.ci-tasks] os`` and ``python``,
saying where each value came from. Pure but for reading the files.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core import matrix

WORKFLOWS_DIR = ".github/workflows"
MAX_COMBINATIONS = 256
"""GitHub's own limit on the jobs one matrix makes."""
_EXPANSION = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}$")
_PYTHON_KEY = re.compile(r"^(python|py)([-_]?versions?)?$", re.IGNORECASE)
_SPECIAL = frozenset({"include", "exclude"})
_TEST_RUN = re.compile(r"\b(pytest|tox|nox)\b")
# actions/setup-python's spellings: pypy3.11, pypy-3.11, pypy-3.11-v7.3.x; 3.14t; 3.15-dev.
_SETUP_PYPY = re.compile(r"^pypy-?(3\.\d+)(?:-.*)?$")
_SETUP_CPYTHON = re.compile(r"^(3\.\d+)(t?)(-dev)?$")


@dataclasses.dataclass(frozen=True)
class Found:
    """One value found, and where: ``.github/workflows/tests.yml: jobs.tests.runs-on``."""

    value: str
    where: str


@dataclasses.dataclass(frozen=True)
class Matrix:
    """Everything found in the project's workflows."""

    oses: tuple[Found, ...] = ()
    pythons: tuple[Found, ...] = ()
    """Interpreters in ``[tool.ci-tasks] python`` spelling (``pypy3.11``, ``3.15-dev``)."""
    ignored: tuple[Found, ...] = ()
    """Values ci_tasks cannot run (``graalpy-24``, ``3.x``), said so rather than dropped."""


def python_entry(value: str) -> str | None:
    """A workflow's Python version as ``[tool.ci-tasks] python`` names it, if it can."""
    text = value.strip()
    pypy = _SETUP_PYPY.match(text)
    if pypy:
        return f"pypy{pypy.group(1)}"
    cpython = _SETUP_CPYTHON.match(text)
    if cpython:
        return "".join(g or "" for g in cpython.groups())
    return None


def _expansion(value: Any) -> str | None:
    return m.group(1) if isinstance(value, str) and (m := _EXPANSION.match(value.strip())) else None


def _is_test_job(job_id: str, job: Mapping[str, Any]) -> bool:
    name = str(job.get("name") or "")
    if "test" in job_id.lower() or "test" in name.lower():
        return True
    steps = job.get("steps")
    runs = [str(s.get("run") or "") for s in steps if isinstance(s, dict)] if steps else []
    return any(_TEST_RUN.search(run) for run in runs)


def _python_keys(job: Mapping[str, Any], keys: Sequence[str]) -> set[str]:
    """Matrix keys holding Python versions: named so, or fed to a ``python-version`` input."""
    found = {k for k in keys if _PYTHON_KEY.match(k)}
    for step in job.get("steps") or ():
        given = step.get("with") if isinstance(step, dict) else None
        if isinstance(given, dict):
            key = _expansion(given.get("python-version"))
            if key:
                found.add(key)
    return found


def _combinations(strategy: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Every job the matrix makes, with the key its values came from (exclusions applied)."""
    spec = strategy.get("matrix")
    if not isinstance(spec, dict):
        return
    axes = {k: v for k, v in spec.items() if k not in _SPECIAL and isinstance(v, list)}
    excludes = [e for e in spec.get("exclude") or () if isinstance(e, dict)]
    names = list(axes)
    for count, values in enumerate(itertools.product(*(axes[n] for n in names))):
        if count >= MAX_COMBINATIONS:
            break
        combo = dict(zip(names, values, strict=True))
        if any(all(combo.get(k) == v for k, v in e.items()) for e in excludes):
            continue
        yield combo, "strategy.matrix"
    for index, extra in enumerate(spec.get("include") or ()):
        if isinstance(extra, dict):
            yield extra, f"strategy.matrix.include[{index}]"


def _job(path: str, job_id: str, job: Mapping[str, Any]) -> Iterator[tuple[str, Found]]:
    """``("os" | "python" | "ignored", Found)`` for each value one test job names."""
    where = f"{path}: jobs.{job_id}"
    raw_strategy = job.get("strategy")
    strategy: Mapping[str, Any] = raw_strategy if isinstance(raw_strategy, dict) else {}
    raw_spec = strategy.get("matrix")
    spec: Mapping[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    runs_on = job.get("runs-on")
    os_key = _expansion(runs_on)
    if isinstance(runs_on, str) and os_key is None:
        yield "os", Found(runs_on.strip(), f"{where}.runs-on")
    keys = [k for k in spec if k not in _SPECIAL]
    keys += [k for e in spec.get("include") or () if isinstance(e, dict) for k in e]
    python_keys = _python_keys(job, keys)
    for combo, origin in _combinations(strategy):
        if os_key and os_key in combo:
            yield "os", Found(str(combo[os_key]), f"{where}.{origin}.{os_key}")
        for key in sorted(python_keys & set(combo)):
            raw = combo[key]
            if not isinstance(raw, str):
                continue
            entry = python_entry(raw)
            found = Found(entry or raw, f"{where}.{origin}.{key}")
            yield ("python" if entry else "ignored"), found


def read(root: Path) -> Matrix:
    """The OSes and interpreters the test jobs of *root*'s workflows run on, in file order."""
    import yaml  # noqa: PLC0415 - PyYAML is only needed when workflows are read

    folder = root / WORKFLOWS_DIR
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    seen: dict[str, dict[str, Found]] = {"os": {}, "python": {}, "ignored": {}}
    for file in files:
        try:
            # BaseLoader keeps every scalar a string: `3.10` stays 3.10, not the float 3.1.
            data = yaml.load(file.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506  # nosec B506
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # lint's workflow check reports an unreadable workflow
        jobs = data.get("jobs") if isinstance(data, dict) else None
        if not isinstance(jobs, dict):
            continue
        path = file.relative_to(root).as_posix()
        for job_id, job in jobs.items():
            if not isinstance(job, dict) or not _is_test_job(str(job_id), job):
                continue
            for kind, found in _job(path, str(job_id), job):
                bad = kind == "os" and matrix.os_problem(found.value) is not None
                seen["ignored" if bad else kind].setdefault(found.value, found)
    return Matrix(
        oses=tuple(seen["os"].values()),
        pythons=tuple(seen["python"].values()),
        ignored=tuple(seen["ignored"].values()),
    )


def allowed(entry: str, requires_python: str | None) -> bool:
    """Whether the interpreter *entry* (``pypy3.11``) is one *requires-python* allows."""
    if not requires_python:
        return True
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415

    version = re.sub(r"^(pypy|cpython)|t?(-dev)?$", "", entry)
    try:
        spec = SpecifierSet(requires_python, prereleases=True)
    except InvalidSpecifier:
        return True  # the layout's own reading of requires-python reports it
    return spec.contains(f"{version}.0") or spec.contains(f"{version}.99")


def describe(found: Sequence[Found]) -> str:
    """``windows-latest, macos-latest from tests.yml: jobs.tests.strategy.matrix.os``."""
    by_where: dict[str, list[str]] = {}
    for item in found:
        by_where.setdefault(item.where, []).append(item.value)
    return "; ".join(f"{', '.join(values)} from {where}" for where, values in by_where.items())
