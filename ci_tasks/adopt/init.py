"""``ci-tasks init``: a Python project adopts the whole pipeline in one command.

:func:`plan` works out every file's new text without writing anything; :func:`apply`
writes it. An existing file is never overwritten unless ``force`` is given, and then a
``.bak`` copy is kept; ``pyproject.toml`` and ``.gitignore`` are only added to. A plan
whose every change is "unchanged" is what a second run finds: it changes nothing.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import tomllib
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from ci_tasks.adopt import project, workflows
from ci_tasks.core import __version__
from ci_tasks.core.actions import Output, default_output
from ci_tasks.core.config import PYPROJECT, Config, load_config, parse_config
from ci_tasks.core.errors import CITasksError, CommandFailed, ConfigError, ToolMissingError
from ci_tasks.core.reports import atomic_write
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.runner import Runner
from ci_tasks.registry import SESSIONS

Action = Literal["create", "update", "overwrite", "skip", "unchanged"]

# The tools each session runs from the project's locked dev group, pinned to the versions
# ci_tasks is tested with (a test keeps them equal to this repository's own pins).
SESSION_TOOLS: dict[str, tuple[str, ...]] = {
    "lint": ("ruff==0.17.6",),
    "tests": (
        "pytest==9.2.0",
        "pytest-cov==7.1.0",
        "pytest-rerunfailures==16.7",
        "pytest-xdist==3.8.0",
    ),
    "security": ("bandit[toml]==1.9.4", "pip-audit==2.10.1", "zizmor==1.32.0"),
    "build": ("twine==7.0.0", "check-wheel-contents==0.6.3"),
}

NOXFILE = '''\
"""CI stages as nox sessions from ci_tasks, configured in pyproject.toml [tool.ci-tasks]."""

import ci_tasks
import nox

nox.options.default_venv_backend = "uv"
ci_tasks.register()
'''

TASKS = '''\
"""Developer tasks (invoke) from ci_tasks: `invoke --list` shows them."""

from ci_tasks.adopt.invoke_tasks import namespace

__all__ = ["namespace"]
'''


def default_requirement() -> str:
    """The requirement written for ci_tasks itself: the running version, pinned."""
    # The dev group is pinned exactly, as the lint session's pinning policy requires.
    return f"ci-tasks=={__version__}"


def dev_requirements(requirement: str, project_name: str) -> list[str]:
    """ci_tasks, nox and the tools of the registered sessions, pinned."""
    wanted = [] if canonicalize_name(project_name) == "ci-tasks" else [requirement]
    wanted.append(f"nox=={importlib.metadata.version('nox')}")
    for name in SESSIONS:
        wanted += SESSION_TOOLS.get(name, ())
    return wanted


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

    @property
    def pyproject_changed(self) -> bool:
        """Whether ``pyproject.toml`` is edited (so ``uv.lock`` must follow)."""
        return any(c.path == PYPROJECT and c.writes for c in self.changes)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot be read ({exc})"
        raise ConfigError(msg) from None


def _generated(root: Path, relative: str, text: str, *, force: bool) -> Change:
    old = _read(root / relative)
    if old is None:
        return Change(relative, "create", text)
    if old == text:
        return Change(relative, "unchanged", text, old)
    if force:
        return Change(relative, "overwrite", text, old, "the old file is kept as a backup")
    note = "exists and differs; kept: --force overwrites it, keeping a .bak copy"
    if relative == "noxfile.py" and "ci_tasks" not in old:
        note += "; add `import ci_tasks` and `ci_tasks.register()` to it for the sessions"
    return Change(relative, "skip", text, old, note)


def _edited(relative: str, old: str | None, new: str, note: str = "") -> Change:
    if old is None:
        return Change(relative, "create", new, None, note)
    if old == new:
        return Change(relative, "unchanged", new, old)
    return Change(relative, "update", new, old, note)


def plan(root: Path, *, requirement: str | None = None, force: bool = False) -> Plan:
    """Work out what ``init`` writes in the project at *root*; writes nothing."""
    pyproject_path = root / PYPROJECT
    text = _read(pyproject_path)
    if text is None:
        msg = f"{pyproject_path}: no such file; run `ci-tasks init` in a Python project"
        raise ConfigError(msg)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{pyproject_path}: not valid TOML ({exc})"
        raise ConfigError(msg) from None
    spec = requirement or default_requirement()
    if canonicalize_name(project.parse_requirement(spec).name) != "ci-tasks":
        msg = f"--requirement {spec!r} must be a requirement for ci-tasks"
        raise ConfigError(msg)
    layout = project.detect_layout(root, data)
    table = project.render_config_table({"python": (layout.python, "from requires-python")})
    edit = project.edit_pyproject(
        text, dev_requirements(spec, layout.name), table, source=str(pyproject_path)
    )
    notes = []
    if edit.table_added:
        notes.append("added [tool.ci-tasks]")
    if edit.added:
        notes.append("dev group: " + ", ".join(f"+{r}" for r in edit.added))
    # The workflows follow the configuration as it will be, including a table just added.
    table_data = tomllib.loads(edit.text).get("tool", {}).get("ci-tasks", {})
    if not isinstance(table_data, dict):
        msg = f"{pyproject_path}: [tool.ci-tasks] must be a table"
        raise ConfigError(msg)
    config: Config = parse_config(table_data, pyproject_path.resolve())
    spec_wf = workflows.WorkflowSpec.from_config(config)
    changes = [_edited(PYPROJECT, text, edit.text, "; ".join(notes))]
    generated = {"noxfile.py": NOXFILE, "tasks.py": TASKS, **workflows.render_all(spec_wf)}
    changes += [_generated(root, rel, body, force=force) for rel, body in generated.items()]
    gitignore = _read(root / ".gitignore")
    ignores = "ignores " + " and ".join(project.GITIGNORE_ENTRIES)
    changes.append(
        _edited(".gitignore", gitignore, project.edit_gitignore(gitignore or ""), ignores)
    )
    return Plan(root, layout, tuple(changes))


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
    "unchanged": "unchanged",
}


def _show(change: Change, out: Output, *, dry_run: bool) -> None:
    verb = f"would {change.action}" if dry_run else _VERBS[change.action]
    note = f" ({change.note})" if change.note else ""
    out.line(f"{verb:>16}  {change.path}{note}", "warning" if change.action == "skip" else "")
    if not dry_run or not change.writes:
        return
    if change.old is None:
        out.write("".join(f"    | {line}\n" for line in change.text.splitlines()))
    else:
        diff = difflib.unified_diff(
            change.old.splitlines(), change.text.splitlines(), change.path, change.path, lineterm=""
        )
        out.write("".join(f"    {line}\n" for line in diff))


def apply(result: Plan, out: Output | None = None, *, dry_run: bool = False) -> None:
    """Write what *result* plans (print it instead when *dry_run*)."""
    out = out or default_output()
    out.line(result.layout.describe())
    for change in result.changes:
        if change.writes and not dry_run:
            target = result.root / change.path
            if change.action == "overwrite":
                backup = _backup(target)
                atomic_write(backup, target.read_bytes())
                change = dataclasses.replace(change, note=f"backup: {backup.name}")  # noqa: PLW2901
            atomic_write(target, change.text)
        _show(change, out, dry_run=dry_run)


def lock(root: Path, config: Config, out: Output | None = None, timeout: float = 600) -> None:
    """``uv lock``, so ``uv run --locked`` works with the requirements just added."""
    import uv  # noqa: PLC0415 - the uv wheel is a dependency; its binary is found through it

    try:
        uv_bin = uv.find_uv_bin()
    except FileNotFoundError:
        msg = "uv is not installed; install it and run `uv lock`"
        raise ToolMissingError(msg) from None
    runner = Runner(cwd=root, output=out, timeout=timeout, retry=config.retry.policy())
    try:
        runner.run([uv_bin, "lock"], retry_on=NETWORK_ERRORS)
    except CommandFailed as exc:
        msg = f"{PYPROJECT} was updated but `uv lock` failed ({exc.message}); fix, then `uv lock`"
        raise CITasksError(msg) from None


def run(
    root: Path,
    *,
    requirement: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    update_lock: bool = True,
    out: Output | None = None,
) -> Plan:
    """Plan, write and lock: what ``ci-tasks init`` does. Returns the plan carried out."""
    out = out or default_output()
    result = plan(root, requirement=requirement, force=force)
    apply(result, out, dry_run=dry_run)
    if result.pyproject_changed and update_lock and not dry_run:
        lock(root, load_config(root / PYPROJECT), out)
        out.line(f"{'locked':>16}  uv.lock")
    skipped = [c.path for c in result.changes if c.action == "skip"]
    if skipped:
        out.line(f"kept {len(skipped)} existing file(s) as they were: {', '.join(skipped)}")
    return result
