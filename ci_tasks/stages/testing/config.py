"""``[tool.ci-tasks.tests]``: the tests stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

from ci_tasks.core.config import MatrixExclusion, at_least, os_field, timeout_field
from ci_tasks.core.ignores import Accountable


@dataclasses.dataclass(frozen=True)
class RerunRule:
    """``[[tool.ci-tasks.tests.rerun]]``: a rerun policy for tests with a marker or path."""

    marker: str | None = None
    path: str | None = None
    """A glob over the test file path (e.g. ``tests/integration/*``)."""
    reruns: int = dataclasses.field(default=2, metadata=at_least(0))
    delay: float = dataclasses.field(default=1.0, metadata=at_least(0))

    def __post_init__(self) -> None:
        if (self.marker is None) == (self.path is None):
            msg = "a rerun rule needs exactly one of 'marker' or 'path'"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True)
class QuarantineEntry(Accountable):
    """One quarantined test: it still runs, but its failure cannot fail the session.

    Accounted for as an ignore is (:class:`~ci_tasks.core.ignores.Accountable`): a
    ``reason`` and an ``until``, after which the entry excuses nothing.
    """

    test: str = ""
    """A test node id or a glob over node ids."""
    reason: str = ""
    until: dt.date | None = None

    key_name = "test"
    needs_key = "a quarantine entry needs 'test' (a node id or glob)"
    needs_reason = "quarantine entry {key!r} needs a 'reason'"
    needs_until = "quarantine entry {key!r} needs 'until' (YYYY-MM-DD)"

    @property
    def key(self) -> str:
        """The quarantined test (a node id or glob)."""
        return self.test


@dataclasses.dataclass(frozen=True)
class TestsConfig:
    """``[tool.ci-tasks.tests]``: how pytest runs, reruns and reports."""

    __test__ = False  # not a pytest test class, despite its name

    reruns: int = dataclasses.field(default=2, metadata=at_least(0))
    reruns_delay: float = dataclasses.field(default=1.0, metadata=at_least(0))
    maxfail: int = dataclasses.field(default=5, metadata=at_least(0))
    """Stop after this many failures (0: never stop early)."""
    workers: int | Literal["auto"] = "auto"
    """How many pytest processes run the suite side by side (0 or 1: one); ``auto``
    decides from the last run's durations, its share of CPU time and the cores."""
    parallel: Literal["processes", "xdist"] = "processes"
    """``processes``: ci_tasks runs ``workers`` pytest processes, each a part of the suite
    split by recorded durations. ``xdist``: one pytest with ``-n workers``, for suites
    that keep per-worker resources apart with xdist's ``worker_id`` (pytest-django)."""
    strict: bool | Literal["auto"] = "auto"
    """``auto``: as strict as the project's own pytest, adding exactly the strict flags its
    addopts use (``--strict-markers``, ``--strict-config``, ``--strict``), or none; its ini
    ``strict``/``strict_markers``/``strict_config`` pytest applies itself. ``true``:
    ``--strict-markers --strict-config``; ``false``: neither."""
    junit_xml: str = ".ci-tasks/{session}/junit.xml"
    """Where pytest's JUnit XML goes; ``{session}`` is the nox session (``tests-3.11``)."""
    coverage: bool | Literal["auto"] = "auto"
    """Measure coverage (each pytest process under ``coverage run``) and write
    ``coverage_xml``. ``auto``: when the project measures coverage (``--cov`` in pytest's
    addopts, a ``fail_under``, coverage or pytest-cov in its test dependencies, or its own
    workflows, noxfile or tox running coverage); ``true``/``false`` force it."""
    cov_source: tuple[str, ...] = ()
    """What coverage measures (default: coverage's own ``source`` setting if the project
    has one, else the project directory)."""
    coverage_xml: str = ".ci-tasks/{session}/coverage.xml"
    fail_under: float | None = dataclasses.field(default=None, metadata=at_least(0))
    """Fail below this total coverage percentage (unset: coverage's own ``fail_under``).
    In GitHub Actions it is judged on every tests job combined, by the readiness gate."""
    fail_on_flaky: bool = False
    history_size: int = dataclasses.field(default=200, metadata=at_least(1))
    """How many runs the flaky history keeps."""
    shards: int = dataclasses.field(default=1, metadata=at_least(1))
    """Split the suite over this many CI jobs per Python (``tests-shard1of3-3.11``...)."""
    slow_factor: float = dataclasses.field(default=2.0, metadata=at_least(1))
    """A test is a slow regression when it took more than this times its median..."""
    slow_min_seconds: float = dataclasses.field(default=1.0, metadata=at_least(0))
    """...and more than this many seconds."""
    slow_window: int = dataclasses.field(default=10, metadata=at_least(1))
    """How many recorded durations per test the median is taken over."""
    fail_on_slow: bool = False
    """Fail the session on a slow-test regression (default: report it only)."""
    pytest_args: tuple[str, ...] | None = None
    """The paths and selecting options pytest gets (``["tests", "-m", "not slow"]``); unset:
    the project's own test command's (``ci-tasks init`` writes what it found). Posargs
    replace them."""
    extras: tuple[str, ...] | None = None
    """The project's extras installed for its tests; unset: its own test command's."""
    all_extras: bool | None = None
    """Install every extra of the project for its tests; unset: as its test command does."""
    groups: tuple[str, ...] | None = None
    """Dependency groups synced for the tests besides ``dependency-groups``; unset: those
    its own test command syncs."""
    install: Literal["wheel", "project"] = "wheel"
    """What the tests import. ``wheel``: in CI each tests job installs the build job's
    pure-Python wheel (``--wheel dist/``) and runs the suite against it, not against the
    source tree (a platform wheel is not: the session tests the project and says so).
    ``project``: the project from the source tree, as ``uv sync`` installs it (for suites
    that need the tree; ``ci-tasks init`` chooses it when the project's test command
    shows that). Locally, ``-- --wheel PATH`` tests a wheel either way."""
    rerun: tuple[RerunRule, ...] = ()
    quarantine: tuple[QuarantineEntry, ...] = ()
    os: tuple[str, ...] | None = os_field()
    """The runner labels its CI jobs run on; unset: ``[tool.ci-tasks] os``."""
    exclude: tuple[MatrixExclusion, ...] = ()
    """Python and OS pairs CI runs no tests job for (``{python = "pypy3.11", os =
    "windows-latest"}``), as a GitHub matrix's ``exclude``; each names a job the matrix has."""
    timeout: float = timeout_field(1800.0)
    """The session's whole budget, in seconds (also ``[tool.ci-tasks.timeouts] tests``)."""
