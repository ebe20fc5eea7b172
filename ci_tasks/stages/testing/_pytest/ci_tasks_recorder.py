"""A pytest plugin that records every test report, reruns included, for ci_tasks.

It runs inside the project's own test environment, where ci_tasks is usually not
installed: the tests stage puts this folder on ``PYTHONPATH`` and loads the module with
``-p ci_tasks_recorder``. So it imports nothing but the standard library, pytest and its
sibling :mod:`ci_tasks_split`.

* ``CI_TASKS_PYTEST_RECORD``: where to write the record (JSON) when the session ends.
  pytest-rerunfailures marks a failed attempt ``report.outcome == "rerun"``; under
  pytest-xdist the workers' reports reach the controller's ``pytest_runtest_logreport``,
  so only the controller writes.
* ``CI_TASKS_PYTEST_RERUN_RULES``: a JSON list of ``{"marker"|"path", "reruns", "delay"}``;
  a matching test without its own ``flaky`` marker gets one (first rule wins).
* ``CI_TASKS_PYTEST_SHARD`` (``k/n``) and ``CI_TASKS_PYTEST_DURATIONS`` (a JSON file
  ``{nodeid: seconds}``): run only shard *k* of *n* of the collected tests
  (:mod:`ci_tasks_split`); every xdist worker computes the same split.
* ``CI_TASKS_PYTEST_PART`` (``j/m``): this process is part *j* of the *m* pytest
  processes the tests stage runs side by side; it runs part *j* of the split of what its
  shard keeps. Sibling parts' tests are not "deselected" (they run, elsewhere), and
  pytest's ``--lf`` cache keeps every part's results, not the last writer's.
* ``CI_TASKS_PYTEST_PART_FILES`` (a JSON file ``{"mine": [...]}`` or ``{"others": [...]}``):
  the tests stage split the suite by file and gave this part its files itself; it runs
  all it collects, and its ``--lf`` entries are those of its files (or of every file but
  the others').

The record also keeps pytest's warnings about its configuration and markers
(``PytestConfigWarning``: "Unknown config option: asyncio_mode"; ``PytestUnknownMarkWarning``),
which a project whose pytest is not strict only sees as warnings: the session shows them as
warning annotations, never as failures.
"""

# This folder is a sys.path entry of the test environment, not a package: no __init__.py.
# ruff: noqa: INP001

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

try:
    import resource
except ImportError:  # Windows: the children's CPU time goes unseen
    resource = None  # type: ignore[assignment]

# A sibling on the same sys.path entry (mypy sees the folder as ci_tasks' own).
from ci_tasks_split import parse_shard, split  # type: ignore[import-not-found]

RECORD_ENV = "CI_TASKS_PYTEST_RECORD"
RULES_ENV = "CI_TASKS_PYTEST_RERUN_RULES"
SHARD_ENV = "CI_TASKS_PYTEST_SHARD"
DURATIONS_ENV = "CI_TASKS_PYTEST_DURATIONS"
PART_ENV = "CI_TASKS_PYTEST_PART"
PART_FILES_ENV = "CI_TASKS_PYTEST_PART_FILES"
WHEEL_PACKAGES_ENV = "CI_TASKS_PYTEST_WHEEL_PACKAGES"
_MESSAGE_LIMIT = 500
_WARNINGS_LIMIT = 50
# What a strict pytest would refuse: an unknown ini option or config, an unknown marker.
_SURFACED = (pytest.PytestConfigWarning, pytest.PytestUnknownMarkWarning)


def _message(report: Any) -> str | None:
    if not getattr(report, "failed", False) and report.outcome != "rerun":
        return None
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None)
    if not text:
        lines = [line for line in str(report.longreprtext).splitlines() if line.strip()]
        text = lines[-1] if lines else report.outcome
    return str(text)[:_MESSAGE_LIMIT]


def _imported() -> dict[str, str]:
    """Where the tested wheel's packages were imported from (a session testing a wheel)."""
    found = {}
    for name in filter(None, os.environ.get(WHEEL_PACKAGES_ENV, "").split(",")):
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None) or next(
            iter(getattr(module, "__path__", [])), None
        )
        if where:
            found[name] = str(where)
    return found


def _cpu_seconds() -> float:
    """CPU time of this process and of the child processes it has waited for."""
    seconds = time.process_time()
    if resource is not None:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds += children.ru_utime + children.ru_stime
    return seconds


def _waiting_seconds() -> float | None:
    """How long this process has waited for a CPU (Linux's schedstat), if the OS says."""
    try:
        running, waiting = Path("/proc/self/schedstat").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    # A kernel (or sandbox) without schedstats shows zeros even for a running process.
    return int(waiting) / 1e9 if int(running) else None


class Recorder:
    """Collects ``(when, outcome, message)`` per node id; writes them at session end.

    It also sums the wall and CPU time of the tests this process runs (children
    included), and how long it waited for a CPU meanwhile: how much of a suite's time is
    CPU, with or without other processes beside it, decides how many processes pay.
    """

    def __init__(self, path: Path, config: pytest.Config | None = None) -> None:
        self.path = path
        self.config = config
        # Tuples of strings and numbers, never lists: CPython's collector stops tracking
        # them, so a suite of 60,000 tests does not make every collection walk 250,000
        # containers of ours (pypa/packaging: 9 s of a 50 s part).
        self.reports: dict[str, tuple[tuple[Any, ...], ...]] = {}
        self.collect_errors: dict[str, str | None] = {}
        self.test_seconds = 0.0
        self.cpu_seconds = 0.0
        self.wait_seconds: float | None = None
        self.warnings: dict[tuple[str, str, str | None, int | None], None] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self) -> Any:
        """How long the tests waited for a CPU, all together (one read before, one after)."""
        waited = _waiting_seconds()
        yield
        now = _waiting_seconds()
        if waited is not None and now is not None:
            self.wait_seconds = now - waited

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self) -> Any:
        """Time each test's whole protocol (setup, call, teardown, reruns), wall and CPU."""
        wall, cpu = time.perf_counter(), _cpu_seconds()
        yield
        self.test_seconds += time.perf_counter() - wall
        self.cpu_seconds += _cpu_seconds() - cpu

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Every phase of every attempt, workers' reports included under xdist."""
        entry = (report.when, report.outcome, _message(report), round(report.duration, 4))
        self.reports[report.nodeid] = (*self.reports.get(report.nodeid, ()), entry)

    def pytest_warning_recorded(self, warning_message: Any) -> None:
        """Keep pytest's warnings about its configuration and unknown markers, each once.

        Config-time warnings are historic: they reach this plugin although it registers
        after they were issued. An unknown marker's warning points at the test file; an
        unknown ini option's at the configuration file.
        """
        category = warning_message.category
        if not issubclass(category, _SURFACED) or len(self.warnings) >= _WARNINGS_LIMIT:
            return
        text = (str(warning_message.message).strip().splitlines() or [""])[0]
        if issubclass(category, pytest.PytestConfigWarning):
            file, line = self._relative(getattr(self.config, "inipath", None)), None
        else:
            file = self._relative(warning_message.filename)
            line = warning_message.lineno if file else None
        self.warnings[(category.__name__, text[:_MESSAGE_LIMIT], file, line)] = None

    def _relative(self, path: Any) -> str | None:
        """*path* relative to pytest's rootdir, if it is inside it (else ``None``)."""
        root = getattr(self.config, "rootpath", None)
        if not path or root is None:
            return None
        try:
            return Path(str(path)).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            return None

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that cannot be collected is a failure no rerun can rescue."""
        if report.failed:
            self.collect_errors[report.nodeid or "<collection>"] = _message(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the record (through a temporary file, so it is whole or absent)."""
        # --maxfail / -x stop the run early: the record must say not every test ran.
        stopped = session.shouldfail or session.shouldstop
        payload = {
            "version": 1,
            "exitstatus": int(exitstatus),
            "stopped": str(stopped) if stopped else None,
            "tests": [{"nodeid": k, "reports": v} for k, v in self.reports.items()],
            "collect_errors": [{"nodeid": k, "message": v} for k, v in self.collect_errors.items()],
            # Zero under xdist: the workers run the tests, not this (controller) process.
            "test_seconds": round(self.test_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "wait_seconds": None if self.wait_seconds is None else round(self.wait_seconds, 3),
            "warnings": [
                {"category": c, "message": m, "file": f, "line": n} for c, m, f, n in self.warnings
            ],
            "imported": _imported(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        tmp.replace(self.path)


def _rule_matches(rule: dict[str, Any], item: pytest.Item) -> bool:
    if rule.get("marker"):
        return item.get_closest_marker(str(rule["marker"])) is not None
    path = item.nodeid.split("::", 1)[0]
    return fnmatch.fnmatchcase(path, str(rule.get("path")))


def _add_rerun_rules(items: list[pytest.Item]) -> None:
    rules = json.loads(os.environ.get(RULES_ENV) or "[]")
    if not rules:
        return
    for item in items:
        if item.get_closest_marker("flaky") is not None:
            continue  # the test's own marker says more than a project-wide rule
        for rule in rules:
            if _rule_matches(rule, item):
                item.add_marker(
                    pytest.mark.flaky(reruns=int(rule["reruns"]), reruns_delay=rule["delay"])
                )
                break


def _durations() -> dict[str, float]:
    durations: dict[str, float] = {}
    source = os.environ.get(DURATIONS_ENV)
    if source:
        with contextlib.suppress(OSError, ValueError):
            durations = json.loads(Path(source).read_text(encoding="utf-8"))
    return durations


def _split(items: list[pytest.Item], label: str) -> tuple[list[pytest.Item], set[str]]:
    """The items of part *label* (``k/n``), and the node ids of the other parts."""
    index, total = parse_shard(label)
    groups = split([item.nodeid for item in items], _durations(), total)
    mine = set(groups[index - 1])
    kept = [item for item in items if item.nodeid in mine]
    return kept, {n for i, group in enumerate(groups) if i != index - 1 for n in group}


class _Part:
    """This process's part of the suite: what it runs, and what its siblings run."""

    def __init__(self, label: str, total: int | None, others: Callable[[Any], bool]) -> None:
        self.label, self.total, self.elsewhere = label, total, others

    def pytest_report_collectionfinish(self, items: list[pytest.Item]) -> str:
        """Say how much of the suite this process runs (its siblings run the rest)."""
        if self.total is None:  # given its files: it collected only its own
            return f"ci_tasks: part {self.label}: {len(items)} tests here, of its own files"
        return f"ci_tasks: part {self.label}: {len(items)} of {self.total} tests here"

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)  # old-style: any pytest >= 6
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        """Merge pytest's ``--lf`` record with the sibling parts' (under a file lock).

        Each part's cache plugin writes ``cache/lastfailed`` from what it saw: the last to
        finish would drop the failures of the others. Holding a lock from reading the
        saved record to writing it, each part keeps the siblings' entries for their tests.
        """
        lastfailed: Any = session.config.pluginmanager.get_plugin("lfplugin")
        if not hasattr(lastfailed, "lastfailed"):  # -p no:cacheprovider, or its insides moved
            lastfailed = None
        cache = getattr(session.config, "cache", None)
        try:
            fcntl = importlib.import_module("fcntl")
        except ImportError:  # Windows: parts may then lose each other's entries
            fcntl = None
        if fcntl is None or cache is None or lastfailed is None:
            yield
            return
        folder = getattr(cache, "mkdir", None) or cache.makedir  # pytest < 7: makedir
        with (Path(str(folder("ci-tasks"))) / "lastfailed.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            saved = cache.get("cache/lastfailed", {})
            mine = {k: v for k, v in lastfailed.lastfailed.items() if not self.elsewhere(k)}
            lastfailed.lastfailed = {
                **{k: v for k, v in saved.items() if self.elsewhere(k)},
                **mine,
            }
            yield


def _keep_shard(config: pytest.Config, items: list[pytest.Item], shard: str) -> None:
    kept, _ = _split(items, shard)
    keep = {id(item) for item in kept}
    dropped = [item for item in items if id(item) not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def _keep_part(config: pytest.Config, items: list[pytest.Item], part: str) -> None:
    total = len(items)
    kept, others = _split(items, part)
    items[:] = kept
    config.pluginmanager.register(_Part(part, total, others.__contains__), "ci_tasks_part")


def _files_elsewhere(source: str) -> Callable[[Any], bool]:
    """Whether a node id (or a file's) is another part's, for a part given its files.

    pytest 9.2's ``--lf`` record keys are ``NodeId`` objects, not strings: read as ``str``.
    """
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    if "mine" in data:
        mine = set(data["mine"])
        return lambda nodeid: str(nodeid).split("::", 1)[0] not in mine
    others = set(data["others"])
    return lambda nodeid: str(nodeid).split("::", 1)[0] in others


@pytest.hookimpl(trylast=True)  # split what -k/-m and other plugins left
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give tests matched by a rerun rule their reruns; keep only this shard's part."""
    _add_rerun_rules(items)
    shard = os.environ.get(SHARD_ENV)
    if shard:
        _keep_shard(config, items, shard)
    part, files = os.environ.get(PART_ENV), os.environ.get(PART_FILES_ENV)
    if part and files:  # the stage gave this part its files: all it collected is its own
        elsewhere = _files_elsewhere(files)
        config.pluginmanager.register(_Part(part, None, elsewhere), "ci_tasks_part")
    elif part:
        _keep_part(config, items, part)


def _no_delay(sock: object) -> None:
    """Send small writes at once on *sock*, if it is a TCP socket."""
    if isinstance(sock, socket.socket) and sock.type == socket.SOCK_STREAM:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@pytest.hookimpl(trylast=True)  # after pytest-rerunfailures has made its sockets
def pytest_configure(config: pytest.Config) -> None:
    """Remove rerunfailures' per-test stall under xdist; register the recorder (controller).

    A part of a suite the tests stage splits itself refuses xdist on top (pytest's addopts).

    Under xdist, pytest-rerunfailures keeps a status server in the controller and a
    client socket in each worker, and makes small request/response round trips on it for
    every test. With Nagle's algorithm and delayed ACKs each waits for the peer's ACK, a
    ~20-40 ms stall per test (its issue #242: "xdist runs are slow"). TCP_NODELAY on the
    worker's socket, and on the server's listening socket (whose connections inherit it on
    Linux), sends each message at once. A rerunfailures without these sockets (no xdist,
    another version) has no ``failures_db.sock`` and is left untouched.
    """
    _no_delay(getattr(getattr(config, "failures_db", None), "sock", None))
    part = os.environ.get(PART_ENV)
    if part and getattr(config.option, "numprocesses", None):
        msg = (
            f"ci_tasks runs the suite as {part.split('/')[1]} pytest processes itself; "
            "remove -n/--numprocesses from pytest's options, or set [tool.ci-tasks.tests] "
            'parallel = "xdist" (or workers = 0)'
        )
        raise pytest.UsageError(msg)
    target = os.environ.get(RECORD_ENV)
    if target and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(Path(target), config), "ci_tasks_recorder_instance")
