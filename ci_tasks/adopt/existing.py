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

from ci_tasks.core import matrix, own_commands

MAX_COMBINATIONS = 256
"""GitHub's own limit on the jobs one matrix makes."""
# `${{ matrix.os }}`, `${{ matrix.config.os || 'ubuntu-latest' }}`: a matrix value, maybe
# nested, maybe with a literal fallback; `${{ matrix.os }}-latest` puts text around it.
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_MATRIX_PATH = re.compile(r"^matrix((?:\.[A-Za-z0-9_-]+)+)$")
_LITERAL = re.compile(r"^'([^']*)'$")
_PYTHON_KEY = re.compile(r"^(python|py)([-_]?versions?)?$", re.IGNORECASE)
_SPECIAL = frozenset({"include", "exclude"})
_TEST_RUN = re.compile(r"\b(pytest|tox|nox)\b")
# `nox -s docs`, `tox -e lint`: a runner of something other than the tests.
_OTHER_ENV = re.compile(r"\b(?:tox|nox)\b.*?\s(?:-e|-s|--sessions?|--envs?)[\s=]+(?!py|test)[\w.-]")
# actions/setup-python's spellings: pypy3.11, pypy-3.11, pypy-3.11-v7.3.x; 3.14t; 3.15-dev.
_SETUP_PYPY = re.compile(r"^pypy-?(3\.\d+)(?:-.*)?$")
_SETUP_CPYTHON = re.compile(r"^(3\.\d+(?:\.\d+)?)(t?)(-dev)?$")


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
    excluded: tuple[str, ...] = ()
    """Where a matrix leaves combinations out: ``init`` names them, for
    ``[tool.ci-tasks.tests] exclude`` (it does not write them itself)."""
    skipped: tuple[str, ...] = ()
    """Workflows that could not be read (``x.yml: not readable YAML``), said, not fatal."""


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


def _matrix_path(expression: str) -> tuple[str, ...] | None:
    """``matrix.config.os`` as ``("config", "os")``; ``None`` for any other expression."""
    found = _MATRIX_PATH.match(expression.strip())
    return tuple(found.group(1).split(".")[1:]) if found else None


def _lookup(combo: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = combo
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _evaluate(expression: str, combo: Mapping[str, Any]) -> tuple[str, str] | None:
    """``matrix.a.b || 'fallback'`` for one matrix job, with the key the value came from.

    The key is ``""`` for a literal; ``None`` when the expression is not that simple.
    """
    for alternative in expression.split("||"):
        literal = _LITERAL.match(alternative.strip())
        if literal:
            return literal.group(1), ""
        path = _matrix_path(alternative)
        if path is None:
            return None
        value = _lookup(combo, path)
        if isinstance(value, str) and value:
            return value, ".".join(path)
    return None


def _expand(template: str, combo: Mapping[str, Any]) -> tuple[str, str] | None:
    """A ``runs-on`` or ``python-version`` value for one matrix job, and its matrix key.

    The key is ``""`` when the value is the template's own text; ``None``: not that simple.
    """
    parts: list[str] = []
    keys: list[str] = []
    last = 0
    for found in _EXPRESSION.finditer(template):
        evaluated = _evaluate(found.group(1), combo)
        if evaluated is None:
            return None
        parts += [template[last : found.start()], evaluated[0]]
        keys += [evaluated[1]] if evaluated[1] else []
        last = found.end()
    return "".join([*parts, template[last:]]).strip(), keys[0] if keys else ""


def _is_test_job(job_id: str, job: Mapping[str, Any]) -> bool:
    name = str(job.get("name") or "")
    if "test" in job_id.lower() or "test" in name.lower():
        return True
    steps = job.get("steps")
    runs = [str(s.get("run") or "") for s in steps if isinstance(s, dict)] if steps else []
    return any(_TEST_RUN.search(run) and not _OTHER_ENV.search(run) for run in runs)


def _python_templates(job: Mapping[str, Any], keys: Sequence[str]) -> list[tuple[str, str]]:
    """``(template, key)`` for each matrix value naming a Python.

    Keys named so, and the values fed to a ``python-version`` input
    (``${{ matrix.config.python }}``).
    """
    found = {f"${{{{ matrix.{k} }}}}": k for k in keys if _PYTHON_KEY.match(k)}
    for step in job.get("steps") or ():
        given = step.get("with") if isinstance(step, dict) else None
        value = given.get("python-version") if isinstance(given, dict) else None
        if isinstance(value, str) and _EXPRESSION.search(value):
            inner = [_matrix_path(e.split("||")[0]) for e in _EXPRESSION.findall(value)]
            key = ".".join(inner[0]) if inner and inner[0] else value
            found.setdefault(value, key)
    return list(found.items())


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
    if isinstance(runs_on, str) and not _EXPRESSION.search(runs_on):
        yield "os", Found(runs_on.strip(), f"{where}.runs-on")
    keys = [k for k in spec if k not in _SPECIAL]
    keys += [k for e in spec.get("include") or () if isinstance(e, dict) for k in e]
    pythons = _python_templates(job, keys)
    for combo, origin in _combinations(strategy):
        if isinstance(runs_on, str) and _EXPRESSION.search(runs_on):
            label = _expand(runs_on, combo)
            if label and label[0]:
                key = f"{origin}.{label[1]}" if label[1] else "runs-on"
                # Runner labels are case-insensitive: `Ubuntu-latest` is `ubuntu-latest`.
                yield "os", Found(label[0].lower(), f"{where}.{key}")
        for template, name in pythons:
            raw = _expand(template, combo)
            if not raw or not raw[0]:
                continue
            entry = python_entry(raw[0])
            found = Found(entry or raw[0], f"{where}.{origin}.{raw[1] or name}")
            yield ("python" if entry else "ignored"), found


def read(root: Path) -> Matrix:
    """The OSes and interpreters the test jobs of *root*'s workflows run on, in file order.

    The jobs are :func:`own_commands.workflow_jobs`' (every scalar a string: ``3.10`` stays
    3.10); a workflow it cannot read is in :attr:`Matrix.skipped`.
    """
    seen: dict[str, dict[str, Found]] = {"os": {}, "python": {}, "ignored": {}}
    skipped: list[str] = []
    tests = [
        (job.workflow, job.id, job.data)
        for job in own_commands.workflow_jobs(root, skipped)
        if _is_test_job(job.id, job.data)
    ]
    # Matrix jobs first: they say best where a value comes from.
    tests.sort(key=lambda found: not isinstance(found[2].get("strategy"), dict))
    excluded = []
    for path, job_id, job in tests:
        strategy = job.get("strategy")
        spec = strategy.get("matrix") if isinstance(strategy, dict) else None
        if isinstance(spec, dict) and spec.get("exclude"):
            excluded.append(f"{path}: jobs.{job_id}.strategy.matrix.exclude")
        for kind, found in _job(path, job_id, job):
            bad = kind == "os" and matrix.os_problem(found.value) is not None
            seen["ignored" if bad else kind].setdefault(found.value, found)
    return Matrix(
        oses=tuple(seen["os"].values()),
        pythons=tuple(seen["python"].values()),
        ignored=tuple(seen["ignored"].values()),
        excluded=tuple(excluded),
        skipped=tuple(skipped),
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
