"""``ci-tasks init``: a Python project adopts the whole pipeline in one command.

ci_tasks runs beside the project, never inside its dependency graph: the noxfile carries
a PEP 723 block (nox and ci-tasks), locked into ``noxfile.py.lock``, and the project's
own groups only gain the test plugins its tests need. :func:`plan` works out every
file's new text without writing anything; :func:`run` writes it and locks both
environments, all or nothing: when anything fails, every file it touched is put back
byte for byte. An existing file is never overwritten unless ``force`` is given (then a
``.bak`` copy is kept); ``pyproject.toml`` and ``.gitignore`` are only added to.

Then, unless told not to, :func:`take_baseline` accepts the findings of ci_tasks' own
policies on the files that were there before (an old workflow's unhashed ``pip install``)
as dated entries, so the first run is not red for what the project's own tools never
checked; a baseline that cannot be taken leaves init done and says how to take it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import shutil
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ci_tasks.adopt import existing, merge, project, scriptenv, workflows
from ci_tasks.core import (
    baseline,
    coverage_evidence,
    git,
    groups,
    ignores,
    matrix,
    own_commands,
    pins,
)
from ci_tasks.core.actions import Output, default_output
from ci_tasks.core.config import (
    PYPROJECT,
    Config,
    load_config,
    parse_config,
    read_pyproject_text,
)
from ci_tasks.core.errors import CITasksError, CommandFailed, ConfigError
from ci_tasks.core.reports import atomic_write
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.runner import Runner
from ci_tasks.core.workflow_files import WORKFLOWS_DIR, workflow_files
from ci_tasks.registry import SESSIONS, project_ci_sessions

Action = Literal["create", "update", "overwrite", "skip", "hold", "unchanged"]
"""``hold``: not written, because what it runs cannot run yet (a workflow without the lock)."""

PYTEST = "pytest>=8.0"
"""Added (to a new ``tests`` group) only when no group lists pytest."""
# Lower bounds only: the project's lock picks, per Python it supports, versions valid there.
# No pytest-xdist: the tests session runs its own pytest processes (parallel = "xdist" is
# the project's choice, and its dependency).
# Coverage only where the project measures coverage (coverage = "auto"): each pytest runs
# under `coverage run`, so coverage itself is what the session needs, not pytest-cov.
TEST_PLUGINS = ("pytest-rerunfailures>=14.0",)
COVERAGE = "coverage>=7.2"
"""The oldest coverage with what the session uses (``combine``, ``xml``, ``--data-file``),
which still supports Python 3.7: a higher floor makes ``uv lock`` fail for older floors."""
NEW_TEST_GROUP = "tests"

NOXFILE_BODY = '''\
"""CI stages as nox sessions from ci_tasks, set up in [tool.ci-tasks]."""

import ci_tasks
import nox
<<blank>>
nox.options.default_venv_backend = "uv"
ci_tasks.register()

if __name__ == "__main__":
    ci_tasks.main()  # nox.main(), with a quicker check of the block above
'''

TASKS = '''\
"""Developer tasks (invoke) from ci_tasks: `invoke --list` shows them."""

from ci_tasks.adopt.invoke_tasks import namespace
<<blank>>
__all__ = ["namespace"]
'''


def _after_imports(text: str, blank_lines: int, required: Sequence[str] = ()) -> str:
    """*text* with the project's blank lines after imports and its required imports first."""
    text = text.replace("<<blank>>\n", "\n" * max(blank_lines, 1))
    missing = [line for line in required if line not in text]
    if not missing:
        return text
    lines = text.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith(("import ", "from ")))
    return "".join([*lines[:first], *(f"{m}\n" for m in missing), "\n", *lines[first:]])


def render_noxfile(
    spec: scriptenv.ScriptSpec, blank_lines: int = 1, required: Sequence[str] = ()
) -> str:
    """The generated ``noxfile.py``: the script block, then the sessions."""
    return scriptenv.render_block(spec) + _after_imports(NOXFILE_BODY, blank_lines, required)


def render_tasks(blank_lines: int = 1, required: Sequence[str] = ()) -> str:
    """The generated ``tasks.py``, which exposes the invoke tasks."""
    return _after_imports(TASKS, blank_lines, required)


@dataclasses.dataclass(frozen=True)
class Change:
    """One file ``init`` writes, or decided not to."""

    path: str
    """Relative to the project, with ``/`` separators."""
    action: Action
    text: str
    old: str | None = None
    note: str = ""

    @property
    def writes(self) -> bool:
        """Whether applying this change writes the file."""
        return self.action in ("create", "update", "overwrite")


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything one ``init`` run would do."""

    root: Path
    layout: project.Layout
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()
    """What the user should know or do by hand (shown after the files)."""
    config: Config = dataclasses.field(default_factory=Config)
    kept: tuple[str, ...] = ()
    """What the project's own workflows test on, kept in ``[tool.ci-tasks]`` (and where)."""

    @property
    def pyproject_changed(self) -> bool:
        """Whether ``pyproject.toml`` is edited (so ``uv.lock`` must follow)."""
        return any(c.path == PYPROJECT and c.writes for c in self.changes)

    @property
    def noxfile_ours(self) -> bool:
        """Whether ``noxfile.py`` will carry the script block, so it can be locked."""
        change = next(c for c in self.changes if c.path == scriptenv.NOXFILE)
        return change.action != "skip"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot be read ({exc})"
        raise ConfigError(msg) from None


def _noxfile_change(
    root: Path, text: str, spec: scriptenv.ScriptSpec, layout: project.Layout, *, force: bool
) -> Change:
    old = _read(root / scriptenv.NOXFILE)
    if old is None or old == text or force:
        return _decide(scriptenv.NOXFILE, old, text, force=force)
    own = frozenset({layout.package.split(".")[0]} if layout.package else ())
    merged = merge.merge(old, spec, str(root / scriptenv.NOXFILE), first_party=own)
    note = "merged: " + ", ".join(merged.notes) if merged.notes else ""
    return _decide(scriptenv.NOXFILE, old, merged.text, note=note, edits=True)


def _session_notes(change: Change, config: Config, pyproject: Path) -> list[str]:
    """Which sessions the project's noxfile keeps, which ci_tasks adds, which CI runs."""
    if change.old is None or change.action == "overwrite":
        return []
    own = merge.read_sessions(change.old)
    in_ci = project_ci_sessions(own, config.ci_sessions, pyproject)
    if not own:
        return []
    added = [n for n in SESSIONS if n not in own]
    notes = [
        f"noxfile.py: your sessions, kept: {', '.join(own)}",
        f"noxfile.py: ci_tasks adds: {', '.join(added) or 'none (yours have every name)'}",
    ]
    replacing = [n for n in in_ci if n in SESSIONS]
    parts = [f"{', '.join(replacing)} in place of ci_tasks' own"] if replacing else []
    extra = [n for n in in_ci if n not in replacing]
    parts += [f"{', '.join(extra)} (from [tool.ci-tasks] ci-sessions)"] if extra else []
    if parts:
        notes.append(f"CI's matrix runs your {'; '.join(parts)}")
    notes.append("more of yours join CI's matrix with [tool.ci-tasks] ci-sessions = [...]")
    return notes


def _decide(
    relative: str,
    old: str | None,
    new: str,
    *,
    force: bool = False,
    edits: bool = False,
    note: str = "",
) -> Change:
    """What init does to *relative*, now *old* (``None``: absent), to make it *new*.

    Absent: create; the same: unchanged. A file init edits in place (*edits*:
    ``pyproject.toml``, ``.gitignore``, a merged noxfile) is updated; any other is
    overwritten with *force* (a backup is kept), else skipped, saying why. *note* goes
    with a create or an update.
    """
    if old is None:
        return Change(relative, "create", new, None, note)
    if old == new:
        return Change(relative, "unchanged", new, old)
    if edits:
        return Change(relative, "update", new, old, note)
    if force:
        return Change(relative, "overwrite", new, old, "the old file is kept as a backup")
    return Change(relative, "skip", new, old, _kept_note(relative))


def _kept_note(relative: str) -> str:
    """Why a differing file is kept, and what to do instead."""
    note = "exists and differs; kept: --force overwrites it, keeping a .bak copy"
    if relative.startswith(WORKFLOWS_DIR):
        note += (
            "; to switch by hand, make each job run "
            "`uv run --locked --script noxfile.py -s <session>` and key the uv cache on "
            f"{' and '.join(workflows.CACHE_KEYS)} (`--dry-run` shows the whole file)"
        )
    return note


def _generated(root: Path, relative: str, text: str, *, force: bool) -> Change:
    return _decide(relative, _read(root / relative), text, force=force)


def _parse_pyproject(path: Path) -> tuple[str, dict[str, Any]]:
    """The text and data of a PEP 621 ``pyproject.toml``; anything else is refused."""
    text, data = read_pyproject_text(path)  # absent, not UTF-8 or not TOML: one line naming it
    if not isinstance(data.get("project"), dict):
        poetry = "tool" in data and "poetry" in data["tool"]
        why = " (Poetry 1 metadata in [tool.poetry])" if poetry else ""
        msg = (
            f"{path}: no [project] table{why}; ci-tasks needs PEP 621 metadata that uv can "
            "lock: move the project's metadata to [project] first"
        )
        raise ConfigError(msg)
    return text, data


def _test_requirements(
    data: Mapping[str, Any], *, coverage: bool, deps: Sequence[str] = ()
) -> tuple[str, list[str]]:
    """The group to add test plugins to (pytest's, else a new one) and what to add.

    *coverage*: the project measures coverage, so the session needs coverage itself.
    *deps*: what the project's own test command installs besides the project (tox's
    ``deps``: ``pretend``, ``pytest-socket``), which its tests import or load. setuptools
    and wheel stay: tests that build packages import them, and the project's own env has
    them (a Poetry test group's ``setuptools``, a virtualenv's seed); pip, the installer
    the command ran with, does not.
    """
    found = groups.pytest_group(data)
    theirs = {
        groups.requirement_name(d): d
        for d in deps
        if groups.requirement_name(d) not in (None, "pip")
    }
    pytest = theirs.pop("pytest", PYTEST)  # the project's own pin of pytest, where it has one
    coverage_pin = theirs.pop("coverage", None)
    has = coverage_evidence.test_requirement(data) is not None  # coverage, or pytest-cov's
    wanted = [
        *([] if found is not None else [pytest]),
        *TEST_PLUGINS,
        *theirs.values(),
        *([coverage_pin] if coverage_pin else [COVERAGE] if coverage and not has else []),
    ]
    return found or NEW_TEST_GROUP, wanted


def coverage_note(root: Path) -> tuple[bool, str]:
    """Whether ``coverage = "auto"`` turns coverage on for the project, and what it found."""
    found = coverage_evidence.evidence(root, None)
    if found is None:
        return False, "auto: off, the project measures no coverage that init could find"
    return True, f"auto: on, {found}"


def _workflow_notes(root: Path, generated: Mapping[str, str]) -> list[str]:
    theirs = [p.name for p in workflow_files(root) if f"{WORKFLOWS_DIR}/{p.name}" not in generated]
    if not theirs:
        return []
    return [
        (
            f"your workflows ({', '.join(theirs)}) are kept and still run; ci.yml runs "
            "the same checks through ci_tasks: delete the jobs it replaces"
        )
    ]


def _ci_tools(root: Path, own: own_commands.OwnCommands) -> tuple[tuple[str, ...], list[str]]:
    """What the CI environment needs beside ci-tasks and nox, and a note for each."""
    unpinned_black = pins.black_pinned_nowhere(root, own)
    if unpinned_black is None:
        return (), []
    note = (
        f"black: the project formats with it ({unpinned_black}) and pins it nowhere; "
        f"the CI environment's black runs lint's format check, pinned by {scriptenv.LOCK}"
    )
    return ("black",), [note]


def plan(root: Path, *, ci_tasks_source: str | None = None, force: bool = False) -> Plan:
    """Work out what ``init`` writes in the project at *root*; writes nothing."""
    pyproject_path = root / PYPROJECT
    text, data = _parse_pyproject(pyproject_path)
    source = None if ci_tasks_source is None else scriptenv.source_table(ci_tasks_source, root)
    own = own_commands.read(root)
    tools, tool_notes = _ci_tools(root, own)
    spec = scriptenv.ScriptSpec.default(source, pins.ci_pins(root), tools)
    layout = project.detect_layout(root, data)
    detected = groups.test_groups(data)
    measured, why = coverage_note(root)
    test_command = own_commands.test_command(own)
    deps = test_command.deps if test_command else ()
    group, wanted = _test_requirements(data, coverage=measured, deps=deps)
    detected = detected or (group,)
    overrides, kept = _matrix_overrides(root, layout, data)
    scope, scope_commented = scope_keys(own, root)
    table = project.render_config_table(
        {**overrides, "coverage": ("auto", why), **scope},
        {
            "dependency_groups": (list(detected), "unset: detected from pytest's group"),
            **scope_commented,
        },
    )
    edit = project.edit_pyproject(text, wanted, table, group=group, source=str(pyproject_path))
    notes = []
    if own.of("mypy") or own.hook("mypy"):
        quieted = project.mypy_sees_ci_files(edit.text)
        if quieted is not None:
            edit = dataclasses.replace(edit, text=quieted)
            notes.append("[tool.mypy] ignores the missing imports of noxfile.py and tasks.py")
    if edit.table_added:
        notes.append("added [tool.ci-tasks]")
    if edit.added:
        notes.append(f"{group} group: " + ", ".join(f"+{r}" for r in edit.added))
    # The workflows follow the configuration as it will be, including a table just added.
    table_data = tomllib.loads(edit.text).get("tool", {}).get("ci-tasks", {})
    if not isinstance(table_data, dict):
        msg = f"{pyproject_path}: [tool.ci-tasks] must be a table"
        raise ConfigError(msg)
    config: Config = parse_config(table_data, pyproject_path.resolve())
    generated = workflows.render_all(workflows.WorkflowSpec.from_config(config))
    generated_noxfile = render_noxfile(spec, layout.blank_lines, layout.required_imports)
    noxfile = _noxfile_change(root, generated_noxfile, spec, layout, force=force)
    changes = [
        _decide(PYPROJECT, text, edit.text, edits=True, note="; ".join(notes)),
        noxfile,
        _generated(
            root,
            "tasks.py",
            render_tasks(layout.blank_lines, layout.required_imports),
            force=force,
        ),
    ]
    changes += [_generated(root, rel, body, force=force) for rel, body in generated.items()]
    gitignore = _read(root / ".gitignore")
    entries = list(project.GITIGNORE_ENTRIES)
    lock_notes = []
    if git.ignored(root, "uv.lock"):
        # CI checks out what is committed, and the tests sync from the lock.
        entries.append(project.UNIGNORE_LOCK)
        lock_notes.append(
            "uv.lock: your .gitignore ignores it, but the tests session syncs from the "
            f"committed lock; init un-ignores it ({project.UNIGNORE_LOCK}): commit it"
        )
    ignoring = project.edit_gitignore(gitignore or "", entries)
    ignores = "ignores " + " and ".join(project.GITIGNORE_ENTRIES)
    changes.append(_decide(".gitignore", gitignore, ignoring, edits=True, note=ignores))
    found = [
        *_session_notes(noxfile, config, pyproject_path),
        *_workflow_notes(root, generated),
        *lock_notes,
        *tool_notes,
    ]
    return Plan(root, layout, tuple(changes), tuple(found), config, tuple(kept))


def scope_keys(
    own: own_commands.OwnCommands, root: Path
) -> tuple[dict[str, tuple[Any, str]], dict[str, tuple[Any, str]]]:
    """The keys each stage takes from the project's own commands, as init writes them.

    ``({"tests.pytest_args": (["tests"], "from justfile recipe 'test': ...")}, commented)``:
    the scope the sessions would take, written down with its source, so it is visible
    and editable; those only a comment may show (a hook's filters decide) apart.
    """
    written: dict[str, tuple[Any, str]] = {}
    commented: dict[str, tuple[Any, str]] = {}
    for name, spec in SESSIONS.items():
        for key, found in (spec.adopted(own, root) if spec.adopted else {}).items():
            target = commented if found.commented else written
            target[f"{name}.{key}"] = (found.value, found.why)
    return written, commented


def _matrix_overrides(
    root: Path, layout: project.Layout, data: Mapping[str, Any]
) -> tuple[dict[str, tuple[Any, str]], list[str]]:
    """``python`` and ``os`` for the table: requires-python, and what the workflows test on.

    Returns the table's overrides (value, where it came from) and a line per finding.
    """
    requires = data.get("project", {}).get("requires-python")
    found = existing.read(root)
    extra = [
        f
        for f in found.pythons
        if f.value not in layout.python
        and existing.allowed(f.value, requires if isinstance(requires, str) else None)
    ]
    why = "from requires-python"
    if extra:
        why += "; " + existing.describe(extra)
    overrides: dict[str, tuple[Any, str]] = {
        "python": ((*layout.python, *(f.value for f in extra)), why)
    }
    lines = [f"kept python {existing.describe(extra)}"] if extra else []
    if found.oses:
        overrides["os"] = (tuple(f.value for f in found.oses), existing.describe(found.oses))
        lines.append(f"kept os {existing.describe(found.oses)}")
    if found.excluded and (extra or found.oses):
        lines.append(
            f"excluded combinations run too until listed in [tool.ci-tasks.tests] exclude "
            f'(exclude = [{{ python = "...", os = "..." }}]): {", ".join(found.excluded)}'
        )
    if found.ignored:
        lines.append(
            f"not kept (ci_tasks runs CPython and PyPy on GitHub runner labels): "
            f"{existing.describe(found.ignored)}"
        )
    lines += [f"matrix not read from {skipped}" for skipped in found.skipped]
    return overrides, lines


def _without_workflows(result: Plan) -> Plan:
    """*result* writing no workflow: without the lock, none of their jobs can run.

    Every workflow init writes runs from the CI environment locked in ``noxfile.py.lock``
    (``uv run --locked --script``, ``uv sync --locked --script``).
    """
    changes = tuple(
        dataclasses.replace(c, action="hold", note=f"its jobs need {scriptenv.LOCK}")
        if c.writes and c.path.startswith(WORKFLOWS_DIR)
        else c
        for c in result.changes
    )
    # "ci.yml runs the same checks: delete the jobs it replaces" must not be said without it.
    generated = {c.path: c.text for c in result.changes if c.path.startswith(".github/")}
    replaced = _workflow_notes(result.root, generated)
    notes = tuple(n for n in result.notes if n not in replaced)
    return dataclasses.replace(result, changes=changes, notes=notes)


class _Journal:
    """Every file a run touches, as it was, so a failure puts all of them back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._saved: dict[Path, bytes | None] = {}
        self._made_dirs: list[Path] = []

    def keep(self, relative: str) -> Path:
        """Remember *relative* as it is now (absent counts), once; returns its path."""
        path = self.root / relative
        if path not in self._saved:
            self._saved[path] = path.read_bytes() if path.is_file() else None
            missing = path.parent
            while not missing.exists():
                self._made_dirs.append(missing)
                missing = missing.parent
        return path

    def restore(self) -> None:
        """Put every remembered file back; remove what did not exist and the folders made."""
        for path, data in self._saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            elif not path.is_file() or path.read_bytes() != data:
                atomic_write(path, data)
        for folder in self._made_dirs:
            try:
                folder.rmdir()
            except OSError:
                continue


def _backup(path: Path) -> Path:
    """The first free ``<name>.bak``, ``<name>.bak.1``, ... beside *path*."""
    candidate = path.with_name(f"{path.name}.bak")
    index = 0
    while candidate.exists():
        index += 1
        candidate = path.with_name(f"{path.name}.bak.{index}")
    return candidate


_VERBS = {
    "create": "created",
    "update": "updated",
    "overwrite": "overwrote",
    "skip": "skipped",
    "hold": "not written",
    "unchanged": "unchanged",
}


def _show(change: Change, out: Output, *, dry_run: bool) -> None:
    would = "would not write" if change.action == "hold" else f"would {change.action}"
    verb = would if dry_run else _VERBS[change.action]
    note = f" ({change.note})" if change.note else ""
    warn = change.action in ("skip", "hold")
    out.line(f"{verb:>16}  {change.path}{note}", "warning" if warn else "")
    if not dry_run or not change.writes:
        return
    if change.old is None:
        out.write("".join(f"    | {line}\n" for line in change.text.splitlines()))
    else:
        diff = difflib.unified_diff(
            change.old.splitlines(), change.text.splitlines(), change.path, change.path, lineterm=""
        )
        out.write("".join(f"    {line}\n" for line in diff))


def _write(result: Plan, journal: _Journal, out: Output) -> None:
    for change in result.changes:
        if change.writes:
            target = journal.keep(change.path)
            if change.action == "overwrite":
                backup = _backup(target)
                kept = journal.keep(Path(change.path).with_name(backup.name).as_posix())
                atomic_write(kept, target.read_bytes())
                change = dataclasses.replace(change, note=f"backup: {backup.name}")  # noqa: PLW2901
            atomic_write(target, change.text)
        _show(change, out, dry_run=False)


def _lock(result: Plan, journal: _Journal, out: Output, timeout: float) -> None:
    """``uv lock`` for the project, then the CI environment's lock; each says what it did.

    Both run on every ``init``, even with ``pyproject.toml`` unchanged, so a run after
    ``--no-lock`` (or a hand edit) never reports success over a stale lock.
    """
    policy = result.config.retry.policy()
    runner = Runner(cwd=result.root, output=out, timeout=timeout, retry=policy)
    targets = [("uv.lock", ["lock"], "the project's uv.lock", "")]
    if result.noxfile_ours:
        targets.append(
            (
                scriptenv.LOCK,
                ["lock", "--script", scriptenv.NOXFILE],
                f"{scriptenv.LOCK} (the CI environment)",
                " (the CI environment: nox, ci-tasks, tools)",
            )
        )
    for relative, args, what, note in targets:
        path = journal.keep(relative)
        before = path.read_bytes() if path.is_file() else None
        if relative == "uv.lock":
            _lock_project(result, journal, runner, out)
            _relock_poetry(result, journal, runner, out)
        else:
            scriptenv.run_uv(runner, args, what)
        after = path.read_bytes() if path.is_file() else None
        verb = "created" if before is None else "unchanged" if before == after else "updated"
        out.line(f"{verb:>16}  {relative}{note}")


_NARROWED_AT_MOST = 5


def _lock_project(result: Plan, journal: _Journal, runner: Runner, out: Output) -> None:
    """``uv lock``; where a group's package needs a newer Python, that group is locked for it.

    A ``docs`` group with ``sphinx>=9.1`` in a project supporting 3.10 cannot be locked for
    3.10, and the tests never install it: uv locks it for the Pythons it supports
    (:func:`project.narrow_group`), said in one line. The tests' own groups are never
    narrowed: their conflict is the maintainer's to see.
    """
    if _lock_at_other_locks_versions(result, runner, out):
        return
    keep = [*result.config.dependency_groups, NEW_TEST_GROUP]
    for _ in range(_NARROWED_AT_MOST):
        try:
            scriptenv.run_uv(runner, ["lock"], "the project's uv.lock")
        except CITasksError as exc:
            pyproject = journal.keep(PYPROJECT)
            narrowed = project.narrow_group(pyproject.read_text(encoding="utf-8"), str(exc), keep)
            if narrowed is None:
                raise
            text, group, specifier = narrowed
            atomic_write(pyproject, text)
            out.line(
                f"uv.lock: dependency group {group!r} needs Python{specifier}; uv locks it "
                f"for those Pythons only ([tool.uv.dependency-groups] in {PYPROJECT})",
                "warning",
            )
            continue
        return
    scriptenv.run_uv(runner, ["lock"], "the project's uv.lock")


def _lock_at_other_locks_versions(result: Plan, runner: Runner, out: Output) -> bool:
    """A first ``uv.lock`` at the versions of the project's ``poetry.lock`` (or ``pdm.lock``).

    The project's own commands run with that lock's versions (``poetry run mypy`` with its
    mypy); a fresh ``uv lock`` takes the newest, and a newer mypy's verdict is not theirs.
    uv locks each package at that version where the project's requirements allow
    (``--upgrade-package NAME==VERSION``). Where uv cannot, the plain lock follows, said.
    Whether it was done: ``False`` where a uv.lock exists already or no such lock is read.
    """
    found = project.other_lock_versions(result.root)
    if found is None or (result.root / "uv.lock").is_file():
        return False
    name, versions = found
    pins = [arg for pkg, version in versions.items() for arg in ("-P", f"{pkg}=={version}")]
    try:
        runner.run([scriptenv.uv_binary(), "lock", *pins], retry_on=NETWORK_ERRORS)
    except CommandFailed as exc:
        cause = scriptenv.failure_cause(exc.tail)
        said = f"uv.lock: not locked at {name}'s versions ({cause}); uv's newest are taken"
        out.line(said, "warning")
        return False
    out.line(f"uv.lock: locked at {name}'s versions ({len(versions)} packages), as its own runs")
    return True


POETRY_LOCK = "poetry.lock"


def _relock_poetry(result: Plan, journal: _Journal, runner: Runner, out: Output) -> None:
    """``poetry lock`` where the project has a ``poetry.lock`` and init edited pyproject.

    Poetry's lock carries a hash of pyproject's dependencies and groups: the tests group
    init adds makes ``poetry install`` refuse ("pyproject.toml changed significantly")
    until it is locked again. Adopting must not break the project's own install, so init
    locks it (Poetry 2 keeps every locked version) and says so; where Poetry cannot be
    run, it says what to run.
    """
    if not result.pyproject_changed or not (result.root / POETRY_LOCK).is_file():
        return
    path = journal.keep(POETRY_LOCK)
    before = path.read_bytes()
    poetry = shutil.which("poetry")
    command = [poetry] if poetry else [scriptenv.uv_binary(), "tool", "run", "poetry"]
    done = runner.run([*command, "lock"], check=False, retry_on=NETWORK_ERRORS)
    if not done.ok:
        out.line(
            f"{POETRY_LOCK}: `poetry lock` failed ({done.tail.strip().splitlines()[-1:]}); "
            "run it before committing: pyproject.toml's dependency groups changed",
            "warning",
        )
        return
    verb = "unchanged" if path.read_bytes() == before else "updated"
    out.line(f"{verb:>16}  {POETRY_LOCK} (its hash covers pyproject's dependency groups)")


def _missing_pythons(result: Plan, runner: Runner) -> list[str]:
    """The configured Pythons uv finds no interpreter for here (one ``uv python list``)."""
    done = runner.run(
        [scriptenv.uv_binary(), "python", "list", "--only-installed", "--output-format", "json"],
        check=False,
        capture_stdout=True,
        stream=False,
        env={"UV_PYTHON_DOWNLOADS": "never"},
    )
    try:
        found = json.loads(done.stdout or "[]") if done.ok else None
    except json.JSONDecodeError:
        found = None
    if not isinstance(found, list):
        return []  # uv could not say: no claim either way
    return not_installed(result.config.python, found)


def not_installed(pythons: Sequence[str], found: Sequence[Any]) -> list[str]:
    """Those of *pythons* none of uv's ``python list --output-format json`` entries is (pure).

    ``pypy3.11`` needs a PyPy and ``3.14t`` a free-threaded build; ``3.15-dev`` any 3.15.
    """
    installed = {
        ("pypy" if p.get("implementation") == "pypy" else "")
        + f"{p['version_parts']['major']}.{p['version_parts']['minor']}"
        + ("t" if p.get("variant") == "freethreaded" else "")
        for p in found
        if isinstance(p, dict) and isinstance(p.get("version_parts"), dict)
    }
    return [v for v in pythons if matrix.nox_python(v).removeprefix("cpython") not in installed]


def run(
    root: Path,
    *,
    ci_tasks_source: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    update_lock: bool = True,
    out: Output | None = None,
    timeout: float = 600,
) -> Plan:
    """Plan, write and lock: what ``ci-tasks init`` does. Returns the plan carried out.

    All or nothing: when writing or locking fails (or the run is interrupted), every
    file touched is restored and one :class:`CITasksError` names the cause.
    """
    out = out or default_output()
    result = plan(root, ci_tasks_source=ci_tasks_source, force=force)
    if not update_lock:
        result = _without_workflows(result)
    out.line(result.layout.describe())
    for line in result.kept:
        out.line(line)
    if dry_run:
        for change in result.changes:
            _show(change, out, dry_run=True)
        return result
    journal = _Journal(root)
    try:
        _write(result, journal, out)
        if update_lock:
            _lock(result, journal, out, timeout)
    except BaseException as exc:
        journal.restore()
        if isinstance(exc, OSError):
            msg = f"init could not write ({exc}); every file it touched is restored"
            raise CITasksError(msg) from None
        if isinstance(exc, CITasksError):
            msg = f"{exc.message}; every file init touched is restored"
            raise CITasksError(msg) from None
        raise
    _report(result, out, pythons=update_lock)
    return result


def _report(result: Plan, out: Output, *, pythons: bool) -> None:
    for note in result.notes:
        out.line(note, "warning")
    runner = Runner(cwd=result.root, output=out, timeout=60)
    missing = _missing_pythons(result, runner) if pythons else []
    if missing:
        out.line(
            f"Python {', '.join(missing)}: not installed here, so the tests session "
            "skips it locally; CI runs it"
        )
    skipped = [c.path for c in result.changes if c.action == "skip"]
    if skipped:
        out.line(f"kept {len(skipped)} existing file(s) as they were: {', '.join(skipped)}")
    held = [c.path for c in result.changes if c.action == "hold"]
    if held:
        out.line(
            f"not written without {scriptenv.LOCK}: {', '.join(held)}; run `ci-tasks init` "
            "again without --no-lock to lock the CI environment and write them",
            "warning",
        )
    elif result.noxfile_ours:
        out.line("run a session as CI does: uv run --locked --script noxfile.py -s lint")
    out.line(
        "before pushing, commit and check that adopting changed no verdict: `ci-tasks parity` "
        "runs your own test and lint commands beside the sessions (docs/parity.md)"
    )


TAKE_BASELINE = "ci-tasks baseline"
"""The command that takes a baseline by hand (every offline finding, the project's too)."""


def take_baseline(
    result: Plan,
    out: Output,
    *,
    timeout: float = 600,
    today: Callable[[], dt.date] = ignores.today,
) -> list[baseline.Entry] | None:
    """Accept ci_tasks' own policies' findings on files that predate *result* as entries.

    The project's own tools' findings (ruff, mypy: :func:`baseline.own_policy`) stay
    findings, as they do under the project's own commands; so do findings in a file
    init wrote. Each entry is listed, one line each. Returns the entries written, or
    ``None`` when the checks could not run (a tool missing, no network for a sync): then
    one line says so and how to take it, and ``pyproject.toml`` is as init left it.
    """
    root = result.root
    written = {c.path for c in result.changes if c.action in ("create", "overwrite")}
    init_lines = {c.path: _new_lines(c.old, c.text) for c in result.changes if c.action == "update"}
    try:
        config = load_config(root)
        runner = Runner(cwd=root, output=out, timeout=timeout, retry=config.retry.policy())
        found = baseline.take(
            config,
            runner,
            out,
            tools_dirs=scriptenv.tools_dirs(root, runner),
            venv=root / baseline.VENV,
        )
        ours = [
            c
            for c in found
            if baseline.own_policy(c, root)
            and c.file not in written
            and c.line not in init_lines.get(c.file or "", ())
        ]
        added = baseline.new_entries(ours, config, today())
        baseline.write(config, added)
    except (CITasksError, OSError) as exc:
        why = (exc.message if isinstance(exc, CITasksError) else str(exc)).strip()
        why = why.splitlines()[0] if why else type(exc).__name__
        out.line(f"baseline: none taken ({why}); take it later with `{TAKE_BASELINE}`", "warning")
        return None
    theirs = [c for c in found if c.check and not baseline.own_policy(c, root)]
    _report_baseline(added, theirs, out)
    return added


def _new_lines(old: str | None, new: str) -> frozenset[int]:
    """The 1-based lines of *new* that are not *old*'s: what init wrote into a file."""
    matcher = difflib.SequenceMatcher(
        a=(old or "").splitlines(), b=new.splitlines(), autojunk=False
    )
    return frozenset(
        line + 1
        for tag, _, _, start, end in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for line in range(start, end)
    )


def _report_baseline(
    added: Sequence[baseline.Entry], theirs: Sequence[ignores.Candidate], out: Output
) -> None:
    if added:
        out.line(
            f"baseline: accepted {len(added)} finding(s) of ci_tasks' own policies on files "
            f"that predate adoption, into {PYPROJECT} (listed by readiness; --no-baseline "
            "takes none):"
        )
        for entry in added:
            out.line(f"  {entry.describe()}")
    else:
        out.line("baseline: no finding of ci_tasks' own policies to accept", "ok")
    if theirs:
        checks = ", ".join(sorted({c.check for c in theirs}))
        out.line(
            f"baseline: {len(theirs)} finding(s) of the project's own tools ({checks}) are "
            f"not accepted: they fail its own commands too; fix them, or `{TAKE_BASELINE}`",
            "warning",
        )
