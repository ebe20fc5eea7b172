"""A split run's parts by file, so each part's pytest collects only its own tests.

Split by test, every part collects the whole suite and keeps its share: on pypa/packaging
that is 5.6 s of CPU per part. Split by file, each part is handed its files as pytest's
positional arguments. The files and their costs come from the recorded durations (a
test's file is its node id up to ``::``; a file costs the sum of its tests), balanced
longest first (:func:`ci_tasks_split.split`).

A file nothing is recorded for (new since the last run) still runs exactly once: the
lightest part is given the suite's own paths with every other part's files ignored
(``--ignore``), so whatever pytest would collect that no other part runs is that part's.
New test files, and files of kinds a plugin collects, are found by pytest's own rules,
not by our guess at them, and walking the folders costs no import.

Where a split by file cannot be trusted the parts split by test, as before, and the
reason is said: node ids, ``--pyargs`` or a configuration of their own in the arguments,
fewer recorded files than parts, or files too uneven to balance.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import posixpath
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_tasks.core import own_commands
from ci_tasks.core.coverage_evidence import pytest_addopts
from ci_tasks.stages.testing._pytest import ci_tasks_split
from ci_tasks.stages.testing.pytest_config import pytest_ini

SLACK = 0.2
"""A split by file may leave its heaviest part this share over an even split by test,
about what collecting the whole suite adds to each part (packaging: 5.6 s of ~30 s)."""
UNEVEN_SECONDS = 1.0
"""...and always this much: below it, noise decides (a suite of milliseconds splits by file)."""
TEST_SECONDS = 0.001
"""What a test costs at least, so files of tests recorded at 0 s still spread over parts."""
DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
# Arguments under which a test's file no longer says which part collects it.
_UNSPLITTABLE = ("--pyargs", "--rootdir", "-c", "--config-file", "--inifile")


@dataclasses.dataclass(frozen=True)
class Suite:
    """What pytest is asked to collect, as a split by file needs it (plain data)."""

    args: tuple[str, ...]
    """The arguments pytest is given: the posargs, else the scope's."""
    positionals: tuple[str, ...] = ()
    """The positional arguments among :attr:`args`."""
    paths: tuple[str, ...] = ()
    """Those that name a file or folder of the project, as written."""
    testpaths: tuple[str, ...] = ()
    """pytest's ``testpaths``, globs expanded: what it collects when given no path."""
    addopts: tuple[str, ...] = ()
    python_files: tuple[str, ...] = DEFAULT_PYTHON_FILES
    present: frozenset[str] = frozenset()
    """The recorded tests' files that are files of the project now."""


@dataclasses.dataclass(frozen=True)
class FileSplit:
    """Each part's pytest arguments and files, or why the parts split by test instead."""

    args: tuple[tuple[str, ...], ...] = ()
    """Each part's pytest arguments (empty: split by test, see :attr:`reason`)."""
    files: tuple[tuple[str, ...], ...] = ()
    """Each part's recorded files."""
    loads: tuple[float, ...] = ()
    """Each part's recorded seconds."""
    rest: int | None = None
    """The part (from 0) that also runs what nothing is recorded for; ``None``: no such
    thing can exist (every path pytest is given is a recorded file)."""
    reason: str = ""

    def said(self) -> str:
        """``split: by file: part 1 3 files ~12.0 s, part 2 ... (new files: part 2)``."""
        if not self.args:
            return f"split: by test: {self.reason}"
        shown = ", ".join(
            f"part {i + 1} {len(files)} file(s) ~{load:.1f} s"
            for i, (files, load) in enumerate(zip(self.files, self.loads, strict=True))
        )
        rest = f"; files not recorded yet: part {self.rest + 1}" if self.rest is not None else ""
        return f"split: by file: {shown}{rest}"


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).removeprefix("./")


def _under(path: str, folder: str) -> bool:
    return folder in ("", ".") or path == folder or path.startswith(folder.rstrip("/") + "/")


def _option_values(words: Sequence[str], name: str) -> list[str]:
    """The values of option *name* among *words* (``--ignore x`` and ``--ignore=x``)."""
    values = []
    for index, word in enumerate(words):
        if word == name and index + 1 < len(words):
            values.append(words[index + 1])
        elif word.startswith(name + "="):
            values.append(word.partition("=")[2])
    return values


def _in_suite(path: str, suite: Suite) -> bool:
    """Whether pytest, given the suite's arguments, collects the recorded file *path*."""
    words = [*suite.addopts, *suite.args]
    roots = suite.paths or suite.testpaths or ("",)
    if not any(_under(path, _norm(root)) for root in roots):
        return False
    if any(_under(path, _norm(p)) for p in _option_values(words, "--ignore")):
        return False
    if any(fnmatch.fnmatch(path, g) for g in _option_values(words, "--ignore-glob")):
        return False
    named = path in {_norm(p) for p in suite.paths}  # pytest collects what it is given
    if not path.endswith(".py") or "--doctest-modules" in words or named:
        return True  # a plugin's kind of file, or a module pytest collects whole
    name = posixpath.basename(path)
    return any(
        fnmatch.fnmatch(path if "/" in p else name, p) for p in suite.python_files
    )  # pytest matches a pattern with a folder against the path


def file_costs(costs: Mapping[str, float], suite: Suite) -> dict[str, float]:
    """Each recorded file the suite collects, and what its tests took (pure)."""
    files: dict[str, float] = {}
    for nodeid, seconds in costs.items():
        path = nodeid.split("::", 1)[0]
        if path in suite.present and _in_suite(path, suite):
            files[path] = files.get(path, 0.0) + max(seconds, TEST_SECONDS)
    return files


def split_by_file(costs: Mapping[str, float], suite: Suite, parts: int) -> FileSplit:
    """The suite's recorded files over *parts* pytest processes, longest first (pure).

    *costs* are the recorded seconds by node id. A part's arguments are the suite's, its
    paths replaced by its files; the lightest part's keep the suite's folders, with every
    other part's files ignored, and so run whatever nothing is recorded for.
    """
    words = [*suite.addopts, *suite.args]
    if any("::" in p for p in suite.positionals):
        return FileSplit(reason="the arguments name tests (node ids), not files")
    unsplittable = [w for w in words if w.split("=", 1)[0] in _UNSPLITTABLE]
    if unsplittable:
        return FileSplit(reason=f"{unsplittable[0].split('=', 1)[0]} in pytest's arguments")
    files = file_costs(costs, suite)
    if len(files) < parts:
        return FileSplit(reason=f"{len(files)} recorded test file(s) for {parts} parts")
    groups = ci_tasks_split.split(sorted(files), files, parts)
    loads = tuple(round(sum(files[f] for f in group), 3) for group in groups)
    even = sum(loads) / parts
    if max(loads) - even > max(SLACK * even, UNEVEN_SECONDS):
        return FileSplit(
            reason=f"its files do not balance (~{max(loads):.1f} s in one part, "
            f"~{even:.1f} s each split by test)"
        )
    others = [a for a in suite.args if a not in suite.paths]
    walked = not suite.paths or any(_norm(p) not in files for p in suite.paths)
    rest = loads.index(min(loads)) if walked else None
    args = []
    for index, group in enumerate(groups):
        if index != rest:
            args.append((*others, *group))
            continue
        elsewhere = sorted(f for i, g in enumerate(groups) if i != index for f in g)
        kept = [a for a in suite.args if a not in suite.paths or _norm(a) not in elsewhere]
        args.append((*kept, *(f"--ignore={f}" for f in elsewhere)))
    return FileSplit(tuple(args), tuple(tuple(g) for g in groups), loads, rest)


def _words(value: object) -> tuple[str, ...]:
    """An ini value pytest reads as a list: TOML's list, or words of a string."""
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return tuple(shlex.split(value)) if isinstance(value, str) else ()


def suite_of(root: Path, args: Sequence[str], costs: Mapping[str, float]) -> Suite:
    """The :class:`Suite` of pytest given *args* in the project at *root* (reads files)."""
    ini = pytest_ini(root)
    options = ini.options if ini is not None else {}
    testpaths: list[str] = []
    for entry in _words(options.get("testpaths")):
        if any(c in entry for c in "*?["):
            testpaths += sorted(p.relative_to(root).as_posix() for p in root.glob(entry))
        else:
            testpaths.append(entry)
    positionals = tuple(own_commands.positionals("pytest", args))
    paths = tuple(p for p in positionals if "::" not in p and (root / p).exists())
    recorded = {nodeid.split("::", 1)[0] for nodeid in costs}
    return Suite(
        tuple(args),
        positionals,
        paths,
        tuple(_norm(p) for p in testpaths),
        tuple(pytest_addopts(root)),
        _words(options.get("python_files")) or DEFAULT_PYTHON_FILES,
        frozenset(p for p in recorded if (root / p).is_file()),
    )
