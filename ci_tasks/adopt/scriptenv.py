"""The CI environment: the noxfile's own PEP 723 block, locked by uv beside it.

An adopted project's ``noxfile.py`` opens with a script block naming nox and ci-tasks (and
ci_tasks' own Python floor, whatever the project supports); ``uv lock --script
noxfile.py`` writes ``noxfile.py.lock``, and ``uv run --locked --script noxfile.py ARGS``
runs nox from exactly that lock. ci_tasks therefore never joins the project's own
dependency graph. Rendering, parsing and comparing locks are pure; running uv is the
caller's, through a :class:`~ci_tasks.core.runner.Runner`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_tasks.core import __version__, cilock
from ci_tasks.core.errors import CITasksError, CommandFailed, ConfigError
from ci_tasks.core.pins import PRE_COMMIT, Pin, ci_pins
from ci_tasks.core.reports import atomic_write
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.runner import Runner

# The lock's place and uv live in core (readiness asks whether the lock is current too);
# adoption code names them through this module.
NOXFILE = cilock.NOXFILE
LOCK = cilock.LOCK
uv_binary = cilock.uv_binary
FALLBACK_FLOOR = ">=3.11"

# PEP 723's reference regular expression for a metadata block.
_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")


def python_floor() -> str:
    """ci_tasks' own ``requires-python``: the CI environment needs it, not the project."""
    try:
        floor = importlib.metadata.metadata("ci-tasks")["Requires-Python"]
    except (importlib.metadata.PackageNotFoundError, KeyError):
        floor = None
    return floor or FALLBACK_FLOOR


@dataclasses.dataclass(frozen=True)
class ScriptSpec:
    """What the noxfile's block holds: its Python floor, its requirements, their sources."""

    requires_python: str
    dependencies: tuple[str, ...]
    sources: tuple[tuple[str, str], ...] = ()
    """``(name, inline table)``: where uv takes a requirement from instead of the index."""
    pins: tuple[Pin, ...] = ()
    """The tools the project pins in ``.pre-commit-config.yaml`` (:func:`apply_pins`)."""

    @classmethod
    def default(
        cls,
        ci_tasks_source: str | None = None,
        pins: Sequence[Pin] = (),
        tools: Sequence[str] = (),
    ) -> ScriptSpec:
        """Nox and ci-tasks pinned at the running versions; ci-tasks from *source* if given.

        *tools* are requirements the CI environment needs beside them (a black the project
        formats with and pins nowhere: the lock pins it).
        """
        sources = () if ci_tasks_source is None else (("ci-tasks", ci_tasks_source),)
        return cls(
            requires_python=python_floor(),
            dependencies=(
                f"ci-tasks=={__version__}",
                f"nox=={importlib.metadata.version('nox')}",
                *tools,
            ),
            sources=sources,
            pins=tuple(pins),
        )


def source_table(path: str, root: Path) -> str:
    """``[tool.uv.sources]`` value for ci-tasks at *path* (a checkout or a built wheel).

    A relative *path* is taken from the working directory and written relative to
    *root*, where uv reads it from; a checkout is editable, so the CI environment always
    runs the code in it.
    """
    target = Path(path).expanduser().resolve()
    if not target.exists():
        msg = f"--ci-tasks-source {path!r}: no such file or folder"
        raise ConfigError(msg)
    shown = target.as_posix() if Path(path).is_absolute() else os.path.relpath(target, root)
    shown = Path(shown).as_posix()
    if target.is_dir():
        if not (target / "pyproject.toml").is_file():
            msg = f"--ci-tasks-source {path!r}: not a ci-tasks checkout (no pyproject.toml)"
            raise ConfigError(msg)
        return f'{{ path = "{shown}", editable = true }}'
    return f'{{ path = "{shown}" }}'


def render_block(spec: ScriptSpec) -> str:
    """The PEP 723 block (each line at most 79 characters when the paths are short)."""
    lines = ["# /// script", f'# requires-python = "{spec.requires_python}"', "# dependencies = ["]
    lines += [f'#     "{d}",' for d in spec.dependencies]
    lines.append("# ]")
    if spec.sources:
        lines += ["#", "# [tool.uv.sources]"]
        lines += [f"# {name} = {table}" for name, table in spec.sources]
    lines.append("# ///")
    return apply_pins("\n".join(lines) + "\n", spec.pins)


# A requirement line ci_tasks wrote from the pre-commit configuration ends with this.
_PIN_MARK = PRE_COMMIT
_MARKED = re.compile(rf",\s+# .*{re.escape(_PIN_MARK)}$")


# The tools ci-tasks itself requires (an override moves them); any other is a dependency.
_OWN_TOOLS = frozenset({"ruff", "mypy"})


def _pin_lines(pins: Sequence[Pin]) -> tuple[list[str], list[str]]:
    """The marked lines for the block: (extra dependencies, overrides).

    A tool ci-tasks requires (ruff, mypy) is an override, so the pin wins over ci-tasks'
    own floor; one it does not (black) is a dependency, or nothing would install it.
    """
    overrides = [
        f'#     "{p.requirement}",  # pinned in {_PIN_MARK}' for p in pins if p.tool in _OWN_TOOLS
    ]
    added = [
        f'#     "{p.requirement}",  # pinned in {_PIN_MARK}'
        for p in pins
        if p.tool not in _OWN_TOOLS
    ]
    extras = dict.fromkeys(e for p in pins for e in p.extras)
    tool = {e: p.tool for p in pins for e in p.extras}
    added += [f'#     "{e}",  # {tool[e]} needs it, per {_PIN_MARK}' for e in extras]
    return added, overrides


def _closing(lines: list[str], opener: str) -> int | None:
    """The index of the ``# ]`` closing the multi-line array opened by *opener*."""
    if opener not in lines:
        return None
    start = lines.index(opener)
    return next((i for i in range(start + 1, len(lines)) if _closes(lines[i])), None)


def _closes(line: str) -> bool:
    """``# ]``, maybe with a comment after it."""
    return line == "# ]" or line.startswith("# ]  #")


_ARRAYS = (("dependencies",), ("tool", "uv", "override-dependencies"))


def _one_entry_a_line(block: list[str]) -> list[str]:
    """*block* (a script block's lines) with its requirement arrays one entry a line.

    PEP 723 allows any TOML (``dependencies = ["nox>=2025.02.09"]`` on one line, most
    often); the pins go in line by line, so an array in another layout is laid out again
    with tomlkit, which keeps every other line, comment and key as it was.
    """
    openers = [f"# {path[-1]} = [" for path in _ARRAYS]
    if all(_closing(block, o) is not None or not _has_key(block, o) for o in openers):
        return block
    import tomlkit  # noqa: PLC0415 - only for a block in another layout

    content = "".join(
        line[2:] + "\n" if line.startswith("# ") else line[1:] + "\n" for line in block[1:-1]
    )
    document = tomlkit.parse(content)
    for path in _ARRAYS:
        table: object = document
        for key in path:
            table = table.get(key) if isinstance(table, Mapping) else None
        if isinstance(table, tomlkit.items.Array):
            table.multiline(True)  # noqa: FBT003 - tomlkit's own signature
    lines = [f"# {line}" if line else "#" for line in tomlkit.dumps(document).splitlines()]
    return [block[0], *lines, block[-1]]


def _has_key(block: list[str], opener: str) -> bool:
    key = opener.removeprefix("# ").removesuffix(" = [")
    return any(re.match(rf"^#\s*{re.escape(key)}\s*=", line) for line in block)


def _drop_empty(lines: list[str]) -> list[str]:
    """Remove an override array left empty, and a ``[tool.uv]`` table left with nothing."""
    opener = "# override-dependencies = ["
    end = _closing(lines, opener)
    if end is not None and end == lines.index(opener) + 1:
        del lines[end - 1 : end + 1]
    if "# [tool.uv]" in lines:
        at = lines.index("# [tool.uv]")
        rest = lines[at + 1 :]
        if not rest or rest[0] in ("#", "# ///") or rest[0].startswith("# ["):
            del lines[at]
            if at > 0 and lines[at - 1] == "#":
                del lines[at - 1]
    return lines


def apply_pins(text: str, pins: Sequence[Pin]) -> str:
    """*text* (a noxfile) with its script block carrying exactly *pins*.

    Each pin becomes a ``[tool.uv] override-dependencies`` entry, so it wins over
    ci-tasks' own floor (``ruff>=0.6``): a project pinning an older ruff still gets it.
    The tools' extra requirements (mypy's ``additional_dependencies``) are dependencies.
    Every such line is marked, so the next call replaces what the last one wrote and
    leaves the rest of the block as it was.
    """
    match = next((m for m in _BLOCK.finditer(text) if m.group("type") == "script"), None)
    if match is None:
        return text
    block = match.group(0).splitlines()
    kept = [line for line in block if not _MARKED.search(line)]
    lines = _drop_empty(_one_entry_a_line(kept) if pins else kept)
    extras, overrides = _pin_lines(pins)
    if extras:
        end = _closing(lines, "# dependencies = [")
        if end is None:
            msg = (
                f"{NOXFILE}: the script block's dependencies must be an array with one "
                f"entry a line to take the requirements {PRE_COMMIT} pins"
            )
            raise ConfigError(msg)
        lines[end:end] = extras
    if overrides:
        end = _closing(lines, "# override-dependencies = [")
        if end is not None:
            lines[end:end] = overrides
        elif "# [tool.uv]" in lines:
            at = lines.index("# [tool.uv]") + 1
            lines[at:at] = ["# override-dependencies = [", *overrides, "# ]"]
        else:
            lines[-1:-1] = ["#", "# [tool.uv]", "# override-dependencies = [", *overrides, "# ]"]
    new = text[: match.start()] + "\n".join(lines) + text[match.end() :]
    if read_block(new) is None:
        msg = f"{NOXFILE}: its script block is not valid TOML once the {PRE_COMMIT} pins are in"
        raise ConfigError(msg)
    return new


def script_blocks(text: str) -> list[re.Match[str]]:
    """Every PEP 723 metadata block of *text* (``type`` and ``content`` groups), in order."""
    return list(_BLOCK.finditer(text))


def block_content(match: re.Match[str]) -> str:
    """A metadata block's TOML: its content lines without their ``# `` (or ``#``)."""
    return "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in match.group("content").splitlines(keepends=True)
    )


def read_block(text: str) -> dict[str, object] | None:
    """The parsed ``script`` block of *text*, or ``None`` when it has none."""
    for match in script_blocks(text):
        if match.group("type") != "script":
            continue
        try:
            return tomllib.loads(block_content(match))
        except tomllib.TOMLDecodeError:
            return None
    return None


def lock_versions(text: str) -> dict[str, str]:
    """``{package: version}`` from a uv lock file's text (a directory source says so)."""
    data = tomllib.loads(text) if text else {}
    found: dict[str, str] = {}
    for package in data.get("package", []):
        version = str(package.get("version", "?"))
        source = package.get("source", {})
        if "directory" in source or "editable" in source:
            version += " (local)"
        found[str(package.get("name"))] = version
    return found


@dataclasses.dataclass(frozen=True)
class PackageChange:
    """One package whose locked version moved: added (no *before*), removed (no *after*)."""

    name: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"

    @property
    def line(self) -> str:
        """As ``ci-tasks lock`` prints it: ``+ new 1.0``, ``- gone 2.1``, ``  nox a -> b``."""
        if self.before is None:
            return f"+ {self.name} {self.after}"
        if self.after is None:
            return f"- {self.name} {self.before}"
        return f"  {self.name} {self.before} -> {self.after}"


def package_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[PackageChange]:
    """What changed between two locks' ``{package: version}``, sorted by name."""
    return [
        PackageChange(name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def lock_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """What changed between two locks, one line a package, sorted by name."""
    return [change.line for change in package_changes(old, new)]


def launcher(project: Path, python: str | None = None) -> list[str]:
    """The command that starts nox for *project*, before nox's own arguments.

    With a ``noxfile.py.lock`` it is the locked script environment; without one (a
    noxfile of the old kind), nox from *python*'s environment.
    """
    if (project / LOCK).is_file():
        return [uv_binary(), "run", "--locked", "--script", NOXFILE]
    import sys  # noqa: PLC0415

    return [python or sys.executable, "-m", "nox"]


def failure_cause(tail: str) -> str:
    """The one line of uv's output that says why it failed."""
    # uv draws its error chain with box characters (U+00D7, U+2570, U+2500, U+25B6, U+2502).
    lines = [line.strip(" \u00d7\u2570\u2500\u25b6\u2502") for line in tail.splitlines()]
    lines = [line.removeprefix("cause:").strip() for line in lines if line]
    for line in lines:
        if line.startswith("Because"):
            return line
    for line in lines:
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    return lines[-1] if lines else "no output"


def run_uv(runner: Runner, args: Sequence[str], what: str) -> None:
    """``uv ARGS``, retried on network errors; a failure is one line naming the cause."""
    try:
        runner.run([uv_binary(), *args], retry_on=NETWORK_ERRORS)
    except CommandFailed as exc:
        msg = f"`uv {' '.join(args)}` failed for {what}: {failure_cause(exc.tail)}"
        raise CITasksError(msg) from None


def lock_script(runner: Runner, *, upgrade: bool = False) -> None:
    """``uv lock --script noxfile.py`` (``--upgrade``: the newest versions allowed)."""
    args = ["lock", "--script", NOXFILE, *(["--upgrade"] if upgrade else [])]
    run_uv(runner, args, f"{LOCK} (the CI environment)")


@dataclasses.dataclass(frozen=True)
class Refreshed:
    """What locking the CI environment again did."""

    changes: list[PackageChange]
    """Each package whose locked version moved."""
    rewritten: bool
    """Whether the lock's text changed: with no version moved, ci-tasks' own requirements."""


def refresh(root: Path, runner: Runner, *, upgrade: bool = False) -> Refreshed:
    """Lock the CI environment of the project at *root* again; what moved.

    Dependabot does not update script locks: ``ci-tasks lock --upgrade`` is how the
    CI environment moves to newer nox, ci-tasks and tool versions. The tools the
    project pins in ``.pre-commit-config.yaml`` (and ``uv.lock`` does not) are written
    into the block first (:func:`apply_pins`), so a bumped pre-commit rev follows.
    """
    noxfile = root / NOXFILE
    text = noxfile.read_text(encoding="utf-8") if noxfile.is_file() else ""
    if read_block(text) is None:
        msg = (
            f"{noxfile}: no PEP 723 script block to lock; `ci-tasks init` writes one "
            "(merged into your own noxfile when you have one)"
        )
        raise ConfigError(msg)
    pinned = apply_pins(text, ci_pins(root))
    lock = root / LOCK
    before = lock.read_text(encoding="utf-8") if lock.is_file() else ""
    if pinned != text:
        atomic_write(noxfile, pinned)
    try:
        lock_script(runner, upgrade=upgrade)
    except BaseException:
        if pinned != text:
            atomic_write(noxfile, text)  # all or nothing: the block as it was
        raise
    if pinned != text:
        runner.output.line(f"{NOXFILE}: script block now pins what {PRE_COMMIT} pins")
    after = lock.read_text(encoding="utf-8")
    changes = package_changes(lock_versions(before), lock_versions(after))
    if changes:
        # `uv run --script` syncs inexactly: a package the lock dropped (a stub package
        # pre-commit no longer lists) would stay in the environment it reuses.
        run_uv(runner, ["sync", "--script", NOXFILE, "--locked", "--quiet"], LOCK)
    return Refreshed(changes, rewritten=after != before)


def tools_dirs(root: Path, runner: Runner) -> tuple[Path, ...] | None:
    """Where the CI environment's tools are, synced from ``noxfile.py.lock``.

    The same environment ``uv run --locked --script noxfile.py`` runs, so a command run
    outside nox (``ci-tasks baseline``) uses the ruff the sessions will. Without a lock,
    ``None``: the running environment's tools.
    """
    if not (root / LOCK).is_file():
        return None
    run_uv(runner, ["sync", "--script", NOXFILE, "--locked", "--quiet"], LOCK)
    done = runner.run(
        [uv_binary(), "python", "find", "--script", NOXFILE],
        check=False,
        capture_stdout=True,
        stream=False,
    )
    found = (done.stdout or "").strip().splitlines()
    if not done.ok or not found:
        msg = f"uv found no environment for {NOXFILE}: {failure_cause(done.tail)}"
        raise CITasksError(msg)
    return (Path(found[-1]).parent,)


def pins_current(root: Path) -> bool:
    """Whether the noxfile's block carries exactly what ``.pre-commit-config.yaml`` pins.

    A bumped pre-commit rev makes the CI lock stale: ``ci-tasks lock`` writes the new pin.
    """
    noxfile = root / NOXFILE
    text = noxfile.read_text(encoding="utf-8") if noxfile.is_file() else ""
    return not text or apply_pins(text, ci_pins(root)) == text
