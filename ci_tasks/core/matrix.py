"""The CI matrix: runner OSes and Python interpreters, as configured and as nox shows them.

``[tool.ci-tasks] os`` names GitHub runner labels (``ubuntu-latest``, ``windows-2025``,
``macos-14``); ``python`` names interpreters the way uv and nox request them: ``3.12``,
``3.14t`` (free-threaded), ``pypy3.11``, and ``3.15-dev``, a pre-release that may fail.
The CI workflow reads nothing from ``pyproject.toml``: ``nox -l --json -t ci`` carries the
matrix in each session's tags (``os:<label>`` per OS, ``allow-failure:<python>`` for a
``-dev`` interpreter, ``exclude:<python>@<label>`` for a job not run), and ``ci.yml`` fans
every ``ci`` session out over its ``os:`` tags, leaving out the excluded pairs. nox gives a
session parametrized by Python the same tags for each interpreter, and ``ci.yml`` matches
``exclude:`` against the listed session's own ``python``.
Build once, test the wheel: the session tagged ``dist:<folder>`` (ci_tasks' ``build``) runs
in the build job, which uploads that folder; the sessions tagged :data:`WHEEL_TAG`
(ci_tasks' tests, with ``install = "wheel"``) run in the tests jobs, which download it into
:data:`WHEEL_DIR` and pass ``--wheel`` it.
Pure: strings in, strings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = [
    "ALLOW_FAILURE_TAG",
    "DEFAULT_OS",
    "DIST_TAG",
    "EXCLUDE_TAG",
    "OS_TAG",
    "WHEEL_DIR",
    "WHEEL_TAG",
    "is_prerelease",
    "nox_python",
    "os_problem",
    "python_problem",
    "runner_os",
    "session_tags",
]

DEFAULT_OS = ("ubuntu-latest",)
OS_TAG = "os:"
"""``os:<label>``: a runner the session's CI job runs on (one job per label)."""
ALLOW_FAILURE_TAG = "allow-failure:"
"""``allow-failure:<python>``: the session's job on that interpreter may fail."""
EXCLUDE_TAG = "exclude:"
"""``exclude:<python>@<label>``: no job for the session on that interpreter and runner."""
DIST_TAG = "dist:"
"""``dist:<folder>``: the session builds the distributions there; its job uploads them."""
WHEEL_TAG = "tests-wheel"
"""The session tests the build job's wheel: its job downloads it and passes ``--wheel``."""
WHEEL_DIR = "dist"
"""Where a tests job puts the build job's distributions (``--wheel dist/``)."""
DEV = "-dev"

# uv's and nox's request forms: an optional implementation, X.Y[.Z], an optional `t`.
_PYTHON = re.compile(r"^(?:pypy|cpython)?3\.\d+(?:\.\d+)?t?(?:-dev)?$")
# GitHub runner labels: letters, digits, `.`, `_`, `-` (self-hosted labels included).
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def python_problem(value: str) -> str | None:
    """Why *value* is not an interpreter ``python`` may name, or ``None`` when it is."""
    if _PYTHON.match(value) and not (value.startswith("pypy") and value.endswith(DEV)):
        return None
    return (
        "a Python version as uv and nox name it: 3.12, 3.14t (free-threaded), pypy3.11, "
        "or 3.15-dev (a pre-release allowed to fail)"
    )


def os_problem(value: str) -> str | None:
    """Why *value* is not a runner label ``os`` may name, or ``None`` when it is."""
    if _LABEL.match(value):
        return None
    return "a GitHub runner label (ubuntu-latest, windows-latest, macos-latest, ...)"


# GitHub's hosted runner labels by the OS their jobs see as RUNNER_OS.
_RUNNER_OSES = (("ubuntu", "Linux"), ("windows", "Windows"), ("macos", "macOS"))


def runner_os(label: str) -> str | None:
    """The ``RUNNER_OS`` of a hosted runner *label* (``ubuntu-24.04``: ``Linux``), if known.

    A self-hosted runner's label says nothing of its OS: ``None``.
    """
    for prefix, name in _RUNNER_OSES:
        if label == f"{prefix}-latest" or label.startswith(f"{prefix}-"):
            return name
    return None


def is_prerelease(python: str) -> bool:
    """Whether *python* (``3.15-dev``) is a pre-release whose CI jobs may fail."""
    return python.endswith(DEV)


def nox_python(python: str) -> str:
    """The interpreter nox asks uv for: ``3.15-dev`` is ``3.15`` (uv's newest pre-release).

    uv does not read ``-dev`` (that is ``actions/setup-python``'s spelling), but asked for a
    minor version with no final release it installs that version's newest pre-release.
    """
    return python.removesuffix(DEV)


def session_tags(
    tags: Sequence[str],
    oses: Iterable[str],
    pythons: Iterable[str] = (),
    excluded: Iterable[tuple[str, str]] = (),
) -> list[str]:
    """A session's nox tags with the matrix added: only ``ci`` sessions run on the OSes.

    *excluded* holds ``(python, label)`` pairs CI runs no job for; those naming none of
    *pythons* concern another session and add nothing.
    """
    if "ci" not in tags:
        return list(tags)
    pythons = list(pythons)
    extra = [f"{OS_TAG}{label}" for label in oses]
    extra += [f"{ALLOW_FAILURE_TAG}{nox_python(p)}" for p in pythons if is_prerelease(p)]
    mine = {nox_python(p) for p in pythons}
    extra += [
        f"{EXCLUDE_TAG}{nox_python(p)}@{label}" for p, label in excluded if nox_python(p) in mine
    ]
    return [*tags, *extra]
