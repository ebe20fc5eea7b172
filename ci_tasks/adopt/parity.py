"""``ci-tasks parity``: the project's own test and lint commands beside the sessions.

A maintainer adopting ci_tasks wants to know one thing before pushing: does anything give
a different verdict now? Parity finds the project's own commands
(:mod:`ci_tasks.core.own_commands`), runs each the way a maintainer runs it (``tox run -e
3.11-tests``, ``just test``, ``make check``, a workflow's lines after the job's installs)
and then the matching session the way CI runs it (``uv run --locked --script noxfile.py
-s tests-3.11``), on the same Python, one after another in the same tree, and prints one
table: what ran, where it came from, its verdict and counts, the tests whose outcome
differs, and the time.

The project's files are only read. The project's commands run in an environment under
``.ci-tasks/parity/`` (a virtual environment activated for them, tox's and nox's work
folders), and whatever they still leave in the tree that was not there before (a
``.pytest_cache``, a ``.coverage``) is moved under ``.ci-tasks/parity/left/``, kept and
said, so that no run changes the next one's verdict. A pre-commit hook is run as its tool
at the hook's ``rev`` on the files pre-commit would pass it, read-only (``--check``, never
``--fix``): pre-commit itself would rewrite files, and fetching hook repositories needs a
network the check should not depend on.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_tasks.core import git, own_commands, reports, tools
from ci_tasks.core.actions import Output
from ci_tasks.core.errors import CommandTimedOut, ToolMissingError, UsageError
from ci_tasks.core.own_commands import Command, Hook, OwnCommands
from ci_tasks.core.runner import Runner

__all__ = [
    "Counts",
    "Outcome",
    "Pair",
    "Row",
    "differing",
    "junit_results",
    "pairs",
    "pytest_results",
    "render",
    "run",
]

WORK = f"{reports.REPORT_DIR}/parity"
"""Where the project's commands run and what they leave goes: never the project's own files."""
LEFT = f"{WORK}/left"
REPORT_KIND = "parity"
REPORT_VERSION = 1
"""The ``version`` the parity report is written with."""
_OUTCOMES = ("passed", "failed", "skipped", "xfailed", "errors")
_NOT_FOUND = 127  # the shell's exit code for a command it could not find
# tox, nox and uv when an env's interpreter is not on the machine.
_NO_INTERPRETER = re.compile(
    r"No interpreter found for [^\n]*|could not find python interpreter[^\n]*"
    r"|Python interpreter [^\n]* not found[^\n]*|failed to find interpreter[^\n]*",
    re.IGNORECASE,
)
# nox's line for each session it ends: `nox > Session tests-3.8 skipped: Python interpreter
# 3.8 not found.` (a missing interpreter outside CI, `session.skip()`), `... was successful
# in 2 seconds.`, `... failed: Returned code 1`, `... aborted: ...`.
_NOX_ENDED = re.compile(
    r"^nox > Session (.+?) (was successful|skipped|failed|aborted)\b:? ?(.*?)\.?$", re.MULTILINE
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclasses.dataclass(frozen=True)
class Counts:
    """How many tests ended each way."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    xfailed: int = 0
    errors: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f) + getattr(other, f) for f in _OUTCOMES))


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One command's run: its verdict, counts and failing tests, or why it did not run."""

    label: str
    source: str
    code: int | None
    """Its exit code; ``None`` when it could not run (see :attr:`note`)."""
    seconds: float = 0.0
    counts: Counts | None = None
    failing: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """The tests that failed or errored: a comparable key, and the id as shown."""
    note: str = ""
    log: str | None = None
    reached: frozenset[str] | None = None
    """Where the run stopped before its end (pytest's ``--maxfail``): the keys of every test
    it ran. A failure of the other side's that it never reached is no difference."""

    @property
    def verdict(self) -> str:
        """``passed``, ``failed`` or ``not run``."""
        if self.code is None:
            return "not run"
        return "passed" if self.code == 0 else "failed"


@dataclasses.dataclass(frozen=True)
class Pair:
    """What to compare: the project's own commands for a stage, and the session."""

    stage: str
    session: str
    own: tuple[Command | Hook, ...]
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Row:
    """A stage's two runs and how they differ."""

    stage: str
    own: Outcome
    session: Outcome
    note: str = ""

    @property
    def compared(self) -> bool:
        """Both sides ran."""
        return self.own.code is not None and self.session.code is not None

    @property
    def differences(self) -> tuple[str, ...]:
        """The test ids whose outcome differs (failed on one side only)."""
        return differing(self.own, self.session)

    @property
    def agrees(self) -> bool:
        """Same verdict, and where both failed, the same tests failed."""
        if not self.compared:
            return True
        if self.own.verdict != self.session.verdict:
            return False
        return not self.differences

    def first_difference(self) -> str:
        """One line naming what differs."""
        if self.own.verdict != self.session.verdict:
            line = (
                f"{self.stage}: `{self.own.label}` {self.own.verdict}, "
                f"`{self.session.label}` {self.session.verdict}"
            )
        else:
            line = f"{self.stage}: both failed, on different tests"
        shown = self.differences[:3]
        if shown:
            line += f"; outcome differs for {', '.join(shown)}"
            more = len(self.differences) - len(shown)
            line += f" and {more} more" if more else ""
        elif self.stage == "lint" and self.session.note:  # its findings, not what it left
            line += f"; {self.session.note}"
        return line


# -- reading results ----------------------------------------------------------------------

_SUMMARY_TIME = re.compile(r"\bin \d+(?:\.\d+)?s\b")
_SUMMARY_PART = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)\b")
# The id ends at the first " - " after its parameters: `test_x[1 - 1] - assert 0 == 1`.
_FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (.+?(?:\[.*?\])?)(?: - .*)?$")


def _key(nodeid: str) -> str:
    """A test id in the form JUnit XML gives it (``tests.test_x.TestA::test_b[1]``)."""
    path, _, rest = nodeid.partition("::")
    module = re.sub(r"\.py$", "", path).replace("/", ".").replace("\\", ".")
    if not rest:  # a module that could not be collected
        return f"::{module}"
    *classes, name = rest.split("::")
    return f"{'.'.join([module, *classes])}::{name}"


def pytest_results(text: str) -> tuple[Counts | None, dict[str, str]]:
    """Counts from pytest's summary lines, and the tests its ``FAILED``/``ERROR`` lines name.

    A command may run pytest more than once (a recipe's two runs): the counts are summed.
    ``None`` when no summary line was printed (the command never got to pytest).
    """
    total, failing = _unittest_results(text)
    for raw in text.splitlines():
        line = raw.strip()
        failed = _FAILED_LINE.match(line)
        if failed and (".py" in failed[1] or "::" in failed[1]):
            failing[_key(failed[1])] = failed[1]
            continue
        if not _SUMMARY_TIME.search(line):
            continue
        parts = _SUMMARY_PART.findall(line)
        if not parts and "no tests ran" not in line:
            continue
        found = dict.fromkeys(_OUTCOMES, 0)
        for number, word in parts:
            name = "errors" if word.startswith("error") else word
            if name == "xpassed":
                name = "passed"
            found[name] += int(number)
        total = Counts(**found) + (total or Counts())
    return total, failing


_RAN = re.compile(r"^Ran (\d+) tests? in ")
_UNITTEST_END = re.compile(r"^(OK|FAILED)(?: \((.*)\))?$")
_UNITTEST_FAILED = re.compile(r"^(?:FAIL|ERROR): (\S+) \(([^)]+)\)")


def _unittest_results(text: str) -> tuple[Counts | None, dict[str, str]]:
    """What ``python -m unittest`` printed: ``Ran 12 tests``, ``FAILED (failures=1)``."""
    total: Counts | None = None
    failing: dict[str, str] = {}
    ran = 0
    for raw in text.splitlines():
        line = raw.strip()
        failed = _UNITTEST_FAILED.match(line)
        if failed:
            name, where = failed[1], failed[2]
            test_id = where if where.endswith(f".{name}") else f"{where}.{name}"
            module_class, _, method = test_id.rpartition(".")
            failing[f"{module_class}::{method}"] = test_id
            continue
        counted = _RAN.match(line)
        if counted:
            ran = int(counted[1])
            continue
        ended = _UNITTEST_END.match(line)
        if ended and ran:
            parts = {
                k.strip(): int(v)
                for k, _, v in (p.partition("=") for p in (ended[2] or "").split(","))
                if v
            }
            failed_n, errors = parts.get("failures", 0), parts.get("errors", 0)
            skipped, xfailed = parts.get("skipped", 0), parts.get("expected failures", 0)
            passed = ran - failed_n - errors - skipped - xfailed
            total = Counts(passed, failed_n, skipped, xfailed, errors) + (total or Counts())
            ran = 0
    return total, failing


def _junit_outcomes(path: Path) -> dict[str, str] | None:
    """Each test's last outcome in a JUnit XML file (the session's); ``None`` if unreadable."""
    # The session's own pytest wrote it, in this tree: the stdlib parser is fine here.
    import xml.etree.ElementTree as ET  # noqa: PLC0415  # nosec B405

    try:
        tree = ET.parse(path)  # noqa: S314  # nosec B314
    except (OSError, ET.ParseError):
        return None
    last: dict[str, str] = {}  # a rerun test appears once per attempt: the last one counts
    for case in tree.iter("testcase"):
        tags = {child.tag: child for child in case}
        key = f"{case.get('classname', '')}::{case.get('name', '')}"
        if "failure" in tags or "error" in tags:
            last[key] = "failed" if "failure" in tags else "errors"
        elif "skipped" in tags:
            xfail = tags["skipped"].get("type") == "pytest.xfail"
            last[key] = "xfailed" if xfail else "skipped"
        else:
            last[key] = "passed"
    return last


def junit_results(path: Path) -> tuple[Counts | None, dict[str, str]]:
    """Counts and failing tests from a JUnit XML file (the session's); ``None`` if unreadable."""
    last = _junit_outcomes(path)
    if last is None:
        return None, {}
    found = dict.fromkeys(_OUTCOMES, 0)
    for outcome in last.values():
        found[outcome] += 1
    failing = {k: k for k, v in last.items() if v in ("failed", "errors")}
    return Counts(**found), failing


def junit_keys(path: Path) -> frozenset[str]:
    """The keys of every test a JUnit XML file reports (as :func:`junit_results` keys them)."""
    return frozenset(_junit_outcomes(path) or ())


def differing(own: Outcome, session: Outcome) -> tuple[str, ...]:
    """The tests that failed on one side only, as the side that failed names them.

    Where the project's output names none of its failures (a pytest whose ``-r`` leaves
    them out of its summary, a runner that hides it) the same number of failures on both
    sides is no difference: nothing says the tests differ.
    """
    own_failed = own.counts.failed + own.counts.errors if own.counts else 0
    session_failed = session.counts.failed + session.counts.errors if session.counts else 0
    if own_failed and not own.failing and own_failed == session_failed:
        return ()
    reached = session.reached
    only_own = [
        own.failing[k]
        for k in own.failing
        if k not in session.failing and (reached is None or k in reached)
    ]
    only_session = [session.failing[k] for k in session.failing if k not in own.failing]
    return tuple(sorted(only_own) + sorted(only_session))


_STOPPED = re.compile(r"!{3,} stopping after \d+ failures? !{3,}")


def stopped_early(text: str) -> bool:
    """Whether a pytest run's output says ``--maxfail`` ended it before its last test."""
    return _STOPPED.search(text) is not None


def _nox_skipped(text: str) -> tuple[bool, str] | None:
    """The sessions nox says it skipped in *text*; ``None`` if it skipped none.

    Whether it skipped every session it ended, and a line naming each with nox's reason.
    nox exits 0 when it skips a session (a Python it cannot find, outside CI, or
    ``session.skip()``): that is no pass, as nothing ran to give a verdict.
    """
    ended = _NOX_ENDED.findall(_ANSI.sub("", text))
    skipped = [f"{name}: {why}" if why else name for name, how, why in ended if how == "skipped"]
    if not skipped:
        return None
    return len(skipped) == len(ended), "nox skipped " + "; ".join(skipped)


# -- what to compare (pure) -----------------------------------------------------------------


def _lint_gates(own: OwnCommands, python: str) -> tuple[Command | Hook, ...]:
    """The project's gates for what lint checks: ruff check, its formatter, mypy."""
    gates = [
        own_commands.gate(own, "ruff", "check", python),
        own_commands.gate(own, "ruff", "format", python)
        or own_commands.gate(own, "black", python=python),
        own_commands.gate(own, "mypy", python=python),
    ]
    return tuple(g for g in gates if g is not None)


def pairs(own: OwnCommands, python: str) -> list[Pair]:
    """What parity compares in a project whose own commands are *own*, on *python*."""
    found: list[Pair] = []
    test = own_commands.test_command(own, python)
    if test is not None:
        note = (
            f"the project's command runs Python {test.python}; the session {python}"
            if test.python not in (None, python)
            else ""
        )
        found.append(Pair("tests", f"tests-{python}", (test,), note))
    gates = _lint_gates(own, python)
    if gates:
        found.append(Pair("lint", "lint", gates))
    return found


# -- running --------------------------------------------------------------------------------

_WRITING_FLAGS = frozenset({"--fix", "--exit-non-zero-on-fix", "--show-fixes", "--unsafe-fixes"})


def _hook_files(root: Path, hook: Hook) -> list[str]:
    """The tracked files pre-commit would pass *hook* with ``--all-files``."""
    suffixes = hook.suffixes
    chosen = []
    for name in git.tracked_files(root):
        if not name.endswith(suffixes):
            continue
        if hook.files and not re.search(hook.files, name):
            continue
        if hook.exclude and re.search(hook.exclude, name):
            continue
        chosen.append(name)
    return chosen


def _hook_argv(root: Path, hook: Hook, uv: str) -> tuple[list[str], str]:
    """How to run *hook*'s tool at its rev, read-only; the label says so."""
    runs = own_commands.HOOK_TOOLS[hook.id]
    tool, subcommand = runs.tool, runs.subcommand
    version = hook.version
    if version is None:
        msg = f"hook {hook.id!r}: its rev {hook.rev!r} names no version (nor a `# frozen:` one)"
        raise ToolMissingError(msg)
    args = [a for a in hook.args if a not in _WRITING_FLAGS]
    files = _hook_files(root, hook)
    if tool == "ruff":
        check = ["--check"] if subcommand == "format" and "--check" not in args else []
        head = [uv, "tool", "run", f"ruff@{version}", str(subcommand), "--force-exclude"]
        argv = [*head, *check, *args]
    elif tool == "black":
        argv = [uv, "tool", "run", "--from", f"black=={version}", "black", "--check", *args]
    else:
        extras = [w for d in hook.additional_dependencies for w in ("--with", d)]
        argv = [uv, "tool", "run", "--from", f"mypy=={version}", *extras, "mypy", *args]
    label = f"pre-commit hook {hook.id!r} ({tool} {version}, read-only, {len(files)} files)"
    return [*argv, *files], label


def _own_argv(command: Command, root: Path, python: str, uv: str) -> list[str]:
    """How a maintainer's way of running *command* is started here."""
    head, *rest = [w.replace(own_commands.PYTHON_PLACEHOLDER, python) for w in command.run]
    work = f"{WORK}/{head}"
    if head == "tox":
        # A uv runner (`uv-venv-lock-runner`) is tox-uv's: its users install tox with it.
        uses_uv = any("uv-venv" in _read(root, n) or "tox-uv" in _read(root, n) for n in _TOX)
        plugin = ["--with", "tox-uv"] if uses_uv else []
        return [uv, "tool", "run", "--python", python, *plugin, "tox", *rest, "--workdir", work]
    if head == "nox":
        scripted = "# /// script" in _read(root, "noxfile.py")
        start = [uv, "run", "--script", "noxfile.py"] if scripted else [uv, "tool", "run", "nox"]
        return [*start, *rest, "--envdir", work]
    if head == "hatch":
        return [uv, "tool", "run", "hatch", *rest]
    if head == "just" and shutil.which("just") is None:
        return [uv, "tool", "run", "--from", "rust-just", "just", *rest]
    if head == "bash" and rest[:1] == ["-ec"]:
        # A workflow installs its runners in ways a machine need not repeat (curl | python,
        # pipx, setup actions): where one is not installed, uv runs it from PyPI.
        shims = [
            f"command -v {tool} >/dev/null || {tool}() {{ {shlex.quote(uv)} tool run "
            f'{"--from " + package + " " if package != tool else ""}{tool} "$@"; }}'
            for tool, package in _RUNNERS.items()
        ]
        return ["bash", "-ec", "\n".join([*shims, *rest[1:]])]
    return list(command.run)


_TOX = ("tox.ini", "tox.toml", "pyproject.toml")
_RUNNERS = {"poetry": "poetry", "hatch": "hatch", "tox": "tox", "nox": "nox", "pdm": "pdm",
            "just": "rust-just", "poe": "poethepoet"}  # fmt: skip


def _read(root: Path, name: str) -> str:
    """The project's file *name*, ``""`` where absent or unreadable (:func:`own_commands.text`)."""
    return own_commands.text(root, name) or ""


def _label(command: Command) -> str:
    if command.run[:2] == ("bash", "-ec"):
        lines = command.run[2].splitlines()
        return lines[-1] + (" (after the job's installs)" if len(lines) > 1 else "")
    return shlex.join(command.run)


def _plain_env() -> dict[str, str]:
    """This process's environment without the environment it runs in (ci_tasks' own).

    The project's commands must not find ci_tasks' tools (its mypy sees its own packages,
    not the project's), so the CI environment's script folders leave ``PATH`` too.
    """
    drop = {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONHOME", "NOX_CURRENT_SESSION"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    ours = {str(p) for p in tools.ci_bin_dirs()}
    kept = [p for p in env.get("PATH", "").split(os.pathsep) if p and p not in ours]
    env["PATH"] = os.pathsep.join(kept)
    return env


@dataclasses.dataclass
class _Tidy:
    """What a command left or changed in the tree: put back as it was, its version kept.

    New untracked or ignored files (``.pytest_cache/``, ``.coverage``) are moved under
    ``.ci-tasks/parity/left/N/``. A tracked file the command changed (a ``ruff check
    --fix`` of the project's) is kept there too, then restored to what it was before the
    command, uncommitted edits included (``git stash create`` records them without
    touching the tree).
    """

    root: Path
    before: frozenset[str] = frozenset()
    snapshot: str = "HEAD"
    usable: bool = True

    def _status(self) -> list[str]:
        listing = git.run(
            self.root, "status", "--porcelain", "-z", "--ignored", "--untracked-files=normal"
        )
        entries = listing.decode(errors="replace").split("\0")
        return [e[3:] for e in entries if e[:2] in ("??", "!!")]

    def start(self) -> None:
        try:
            self.before = frozenset(self._status())
            self.snapshot = git.text(self.root, "stash", "create") or "HEAD"
        except (git.GitError, ToolMissingError):  # not a repository: nothing to tidy by
            self.usable = False

    def finish(self, into: str) -> str:
        """Put the tree back (keeping what the command made) and say what it did."""
        if not self.usable:
            return ""
        kept = self.root / LEFT / into
        new = [
            name
            for name in self._status()
            if name not in self.before and not name.startswith(f"{reports.REPORT_DIR}/")
        ]
        for name in new:
            target = kept / name.rstrip("/")
            # An earlier parity run's copy: this run's takes its place (shutil.move would
            # put a folder inside it, then fail the time after).
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(self.root / name.rstrip("/"), target)
        listing = git.run(self.root, "diff", "--name-only", "-z", self.snapshot, "--")
        changed = sorted(n for n in listing.decode(errors="replace").split("\0") if n)
        for name in changed:
            path = self.root / name
            if path.is_file():
                (kept / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, kept / name)
        if changed:
            git.run(self.root, "restore", f"--source={self.snapshot}", "--worktree", "--", *changed)
        said = []
        if new:
            said.append(f"moved what it left to {LEFT}/{into}/: {', '.join(sorted(new))}")
        if changed:
            said.append(
                f"it changed tracked files, put back as they were (its version in "
                f"{LEFT}/{into}/): {', '.join(changed)}"
            )
        return "; ".join(said)


@dataclasses.dataclass
class _Run:
    root: Path
    python: str
    runner: Runner
    out: Output
    timeout: float
    count: int = 0

    def command(
        self, argv: Sequence[str], label: str, source: str, env: Mapping[str, str]
    ) -> Outcome:
        self.count += 1
        log = f"{WORK}/{self.count}.log"
        self.out.line(f"parity: running `{label}` ({source})")
        tidy = _Tidy(self.root)
        tidy.start()
        try:
            done = self.runner.run(
                argv, check=False, stream=False, env=dict(env), timeout=self.timeout
            )
        except ToolMissingError as exc:
            return Outcome(label, source, None, note=str(exc))
        except CommandTimedOut:
            left = tidy.finish(str(self.count))
            note = f"timed out after {self.timeout:g} s" + (f"; {left}" if left else "")
            return Outcome(label, source, None, self.timeout, note=note)
        reports.atomic_write(self.root / log, done.tail + "\n")
        counts, failing = pytest_results(done.tail)
        left = tidy.finish(str(self.count))
        wanted = _NO_INTERPRETER.search(done.tail)
        if done.returncode != 0 and counts is None and wanted:
            note = f"not run: the Python it asks for is not installed here ({wanted[0]}); {log}"
            return Outcome(label, source, None, done.duration, note=note, log=log)
        every_skipped, skipped = _nox_skipped(done.tail) or (False, "")
        if every_skipped and done.returncode == 0 and counts is None:
            wanted = _NO_INTERPRETER.search(skipped)
            why = "the Python it asks for is not installed here" if wanted else "nox skipped it"
            note = f"not run: {why} ({skipped}); {log}"
            return Outcome(label, source, None, done.duration, note=note, log=log)
        left = "; ".join(filter(None, [skipped, left]))  # the verdict of those that ran
        if done.returncode == _NOT_FOUND and counts is None:
            missing = next((ln for ln in done.tail.splitlines() if "not found" in ln), "")
            note = f"not run: a program it runs is not installed here ({missing.strip()}); {log}"
            return Outcome(label, source, None, done.duration, note=note, log=log)
        return Outcome(label, source, done.returncode, done.duration, counts, failing, left, log)

    def own_env(self) -> dict[str, str]:
        """An activated virtual environment of *python* under ``.ci-tasks/parity/``."""
        venv = self.root / WORK / "venv"
        uv = tools.find("uv")
        if not (venv / "pyvenv.cfg").is_file():
            self.runner.run(
                [uv, "venv", "--quiet", "--seed", "--python", self.python, str(venv)],
                stream=False,
                env=_plain_env(),
            )
        scripts = tools.venv_scripts(venv)
        env = _plain_env()
        # pytest's summary names each failure only with `f`/`E` in its -r: asked for, for
        # the comparison; what it shows changes, never what it runs.
        env["PYTEST_ADDOPTS"] = " ".join(filter(None, [env.get("PYTEST_ADDOPTS"), "-rfE"]))
        env.update(
            VIRTUAL_ENV=str(venv),
            UV_PROJECT_ENVIRONMENT=str(venv),
            UV_PYTHON=self.python,
            PATH=f"{scripts}{os.pathsep}{env.get('PATH', '')}",
        )
        return env

    def own(self, pair: Pair, uv: str) -> Outcome:
        """The project's own commands of *pair*, one after another: passed if all passed."""
        outcomes: list[Outcome] = []
        seen: set[tuple[str, ...]] = set()
        env = self.own_env()
        for gate in pair.own:
            try:
                if isinstance(gate, Hook):
                    argv, label = _hook_argv(self.root, gate, uv)
                    source = ".pre-commit-config.yaml"
                elif not gate.run:
                    note = "not run: no way to run it on its own is known"
                    outcomes.append(Outcome(gate.shown(), gate.source, None, note=note))
                    continue
                else:
                    argv, label = _own_argv(gate, self.root, self.python, uv), _label(gate)
                    source = gate.source
            except ToolMissingError as exc:
                outcomes.append(Outcome(getattr(gate, "id", ""), ".pre-commit-config.yaml", None,
                                        note=f"not run: {exc}"))  # fmt: skip
                continue
            if tuple(argv) in seen:
                continue
            seen.add(tuple(argv))
            # A workflow's lines run as its runner runs them: the project's scripts often
            # do otherwise outside CI (make a venv, run every check, open a browser).
            replayed = isinstance(gate, Command) and ".github/workflows/" in gate.source
            ci = {"CI": "true", "GITHUB_ACTIONS": "true"} if replayed else {}
            outcomes.append(self.command(argv, label, source, {**env, **ci}))
        return _combined(outcomes)

    def session(self, pair: Pair, uv: str) -> Outcome:
        """The ci_tasks session of *pair*, as CI runs it."""
        scripted = "# /// script" in _read(self.root, "noxfile.py")
        start = (
            [uv, "run", "--locked", "--script", "noxfile.py"]
            if scripted
            else [sys.executable, "-m", "nox"]
        )
        argv = [*start, "-s", pair.session, "--envdir", f"{WORK}/nox"]
        outcome = self.command(argv, f"nox -s {pair.session}", "ci_tasks", _plain_env())
        text = _read(self.root, outcome.log) if outcome.log else ""
        if "Sessions not found" in text:
            why = f"not run: the noxfile has no session {pair.session!r} (see `nox -l`)"
            return dataclasses.replace(outcome, code=None, note=why)
        if pair.stage == "tests" and outcome.code is not None:
            junit = self.root / reports.REPORT_DIR / pair.session / "junit.xml"
            counts, failing = junit_results(junit)
            if counts is not None:
                outcome = dataclasses.replace(outcome, counts=counts, failing=failing)
            if counts is not None and stopped_early(text):
                # Stopped at its maxfail: the project's failures it never reached are not
                # outcomes that differ; those it ran are still compared, both ways.
                note = "stopped early at its maxfail: compared on the tests it ran"
                reached = junit_keys(junit)
                joined = f"{outcome.note}; {note}" if outcome.note else note
                outcome = dataclasses.replace(outcome, reached=reached, note=joined)
        if pair.stage == "lint" and outcome.code not in (None, 0):
            outcome = dataclasses.replace(outcome, note=_lint_findings(self.root))
        return outcome


def _combined(outcomes: Sequence[Outcome]) -> Outcome:
    ran = [o for o in outcomes if o.code is not None]
    if not ran:
        first = outcomes[0]
        return dataclasses.replace(first, note="; ".join(o.note for o in outcomes if o.note))
    failed = [o for o in ran if o.code != 0]
    counts = [o.counts for o in ran if o.counts is not None]
    failing: dict[str, str] = {}
    for outcome in ran:
        failing.update(outcome.failing)
    return Outcome(
        label="; ".join(o.label for o in ran),
        source="; ".join(dict.fromkeys(o.source for o in ran)),
        code=failed[0].code if failed else 0,
        seconds=sum(o.seconds for o in ran),
        counts=sum(counts[1:], counts[0]) if counts else None,
        failing=failing,
        note="; ".join(o.note for o in outcomes if o.note),
        log=", ".join(o.log for o in ran if o.log),
    )


def _lint_findings(root: Path) -> str:
    data = reports.read_json(reports.report_path(root, "lint"))
    findings = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(findings, list) or not findings:
        return ""
    shown = [
        f"{f.get('tool', '?')} {f.get('code') or f.get('rule') or ''} in {f.get('file', '?')}"
        for f in findings[:3]
        if isinstance(f, dict)
    ]
    return f"the session's findings: {', '.join(shown)}" + (
        f" and {len(findings) - 3} more" if len(findings) > 3 else ""  # noqa: PLR2004
    )


def run(
    root: Path,
    python: str,
    *,
    out: Output,
    stages: Sequence[str] = ("tests", "lint"),
    timeout: float = 3600,
) -> list[Row]:
    """Run each stage's own commands, then its session; the rows in order."""
    own = own_commands.read(root)
    chosen = [p for p in pairs(own, python) if p.stage in stages]
    if not chosen:
        read_from = ", ".join(own.sources) or "nothing"
        msg = (
            f"parity: no test or lint command of the project's own was found in {root} "
            f"(read: {read_from}); there is nothing to compare the sessions with"
        )
        raise UsageError(msg)
    for stage in stages:
        if stage not in {p.stage for p in chosen}:
            what = "pytest or unittest" if stage == "tests" else "ruff, black or mypy"
            out.line(f"parity: {stage}: not compared, no {what} command of the project's own")
    if not (root / "noxfile.py").is_file():
        msg = f"parity: {root / 'noxfile.py'} does not exist; run `ci-tasks init` first"
        raise UsageError(msg)
    reports.report_dir(root)
    runner = Runner(cwd=root, output=out, tail_lines=1_000_000)
    work = _Run(root, python, runner, out, timeout)
    uv = tools.find("uv")
    rows = []
    for pair in chosen:
        own_outcome = work.own(pair, uv)
        session = work.session(pair, uv)
        rows.append(Row(pair.stage, own_outcome, session, pair.note))
    _write_report(root, rows)
    return rows


def _write_report(root: Path, rows: Sequence[Row]) -> None:
    def side(outcome: Outcome) -> dict[str, object]:
        return {
            "command": outcome.label,
            "source": outcome.source,
            "verdict": outcome.verdict,
            "exit_code": outcome.code,
            "counts": dataclasses.asdict(outcome.counts) if outcome.counts else None,
            "seconds": round(outcome.seconds, 2),
            "note": outcome.note,
            "log": outcome.log,
        }

    body = {
        "rows": [
            {
                "stage": row.stage,
                "agrees": row.agrees,
                "own": side(row.own),
                "session": side(row.session),
                "differing": list(row.differences),
                "note": row.note,
            }
            for row in rows
        ]
    }
    verdict = "passed" if all(r.agrees for r in rows) else "failed"
    reports.write_report(root, REPORT_KIND, verdict=verdict, body=body, version=REPORT_VERSION)


# -- the table --------------------------------------------------------------------------


def _cells(stage: str, outcome: Outcome) -> list[str]:
    counts = outcome.counts
    numbers = [str(getattr(counts, f)) if counts else "-" for f in _OUTCOMES]
    time = f"{outcome.seconds:.1f}s"
    return [stage, outcome.label, outcome.source, outcome.verdict, *numbers, time]


def render(rows: Sequence[Row]) -> str:
    """The table: each stage's own command, then its session; differences under them."""
    header = ["stage", "command", "from", "verdict", *_OUTCOMES, "time"]
    table = [header]
    notes: list[str] = []
    for row in rows:
        table.append(_cells(row.stage, row.own))
        table.append(_cells("", row.session))
        notes.extend(f"{row.stage}: {n}" for n in (row.note, row.own.note, row.session.note) if n)
        if row.differences:
            notes.append(f"{row.stage}: outcome differs for {', '.join(row.differences)}")
        if row.compared:
            notes.append(f"{row.stage}: {'verdicts agree' if row.agrees else 'verdicts DIFFER'}")
    widths = [min(max(len(r[i]) for r in table), 60) for i in range(len(header))]
    lines = [
        "  ".join(cell[:60].ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in table
    ]
    return "\n".join([*lines, *notes])
