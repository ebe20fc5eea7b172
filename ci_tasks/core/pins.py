"""Where a project pins its own lint tools: ``uv.lock``, else ``.pre-commit-config.yaml``.

A project's ruff and mypy are the versions it pins itself. The first source is its
``uv.lock`` (a dependency group listing the tool, locked there); the second, for a tool
the lock does not pin, the ``rev:`` of its pre-commit hook (``astral-sh/ruff-pre-commit``
``v0.15.16`` pins ruff 0.15.16; ``pre-commit/mirrors-mypy`` pins mypy, and its
``additional_dependencies`` are what mypy needs beside it, stubs mostly). A pre-commit
pin is written into the CI environment's script block (``ci-tasks init``, ``ci-tasks
lock``), so it is locked and hashed in ``noxfile.py.lock``. Reading is pure or reads
files; nothing here runs a tool.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core import groups as groups_mod
from ci_tasks.core import own_commands
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.own_commands import Hook

__all__ = [
    "PRE_COMMIT",
    "TOOLS",
    "Pin",
    "ci_pins",
    "locked_groups",
    "parse_pre_commit",
    "pins_of",
    "read_pre_commit",
]

PRE_COMMIT = own_commands.PRE_COMMIT
TOOLS = ("ruff", "mypy", "black")


@dataclasses.dataclass(frozen=True)
class Pin:
    """A tool's version as ``.pre-commit-config.yaml`` pins it."""

    tool: str
    version: str
    line: int | None = None
    """The 1-based line of the hook's ``rev:``."""
    extras: tuple[str, ...] = ()
    """The hooks' ``additional_dependencies`` (what the tool needs beside it)."""

    @property
    def requirement(self) -> str:
        """``ruff==0.15.16``."""
        return f"{self.tool}=={self.version}"


def pins_of(hooks: Sequence[Hook]) -> dict[str, Pin]:
    """The tools *hooks* (:func:`own_commands.parse_hooks`) pin, by tool name (pure).

    A repository of :data:`~own_commands.TOOL_REPOS` pins its tool by its rev (or the
    version of its ``# frozen:`` comment); a rev that is neither (a branch) pins nothing
    installable. The first repository pinning a tool wins; the ``additional_dependencies``
    of its hooks named for the tool come along.
    """
    found: dict[str, Pin] = {}
    for hook in hooks:
        name = own_commands.repo_name(hook.repo)
        tool = next((t for t, known in own_commands.TOOL_REPOS.items() if name in known), None)
        version = hook.version
        if tool is None or version is None or (tool in found and found[tool].line != hook.line):
            continue
        extras = hook.additional_dependencies if hook.id.startswith(tool) else ()
        pin = found.get(tool, Pin(tool, version, hook.line))
        found[tool] = dataclasses.replace(pin, extras=tuple(dict.fromkeys(pin.extras + extras)))
    return found


def parse_pre_commit(text: str, source: str = PRE_COMMIT) -> dict[str, Pin]:
    """The tools *text* (a pre-commit configuration) pins, by tool name (:func:`pins_of`).

    Invalid YAML is a :class:`ConfigError` naming *source* and its line: pre-commit itself
    refuses such a file, so the lint gate does too.
    """
    import yaml  # noqa: PLC0415 - read only where a pre-commit configuration exists

    try:
        hooks = own_commands.parse_hooks(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        msg = f"{source}{at}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
        raise ConfigError(msg) from None
    return pins_of(hooks)


def read_pre_commit(root: Path) -> dict[str, Pin]:
    """The tools the project in *root* pins in its pre-commit configuration."""
    path = root / PRE_COMMIT
    if not path.exists():
        return {}
    text = own_commands.text(root, PRE_COMMIT)
    if text is None:
        msg = f"{path}: cannot be read (not a UTF-8 text file)"
        raise ConfigError(msg)
    return parse_pre_commit(text, PRE_COMMIT)


# uv writes every package of its lock as a `[[package]]` table whose first key is its name.
_LOCKED_PACKAGE = re.compile(r'^\[\[package\]\]\r?\nname = "([^"\r\n]+)"', re.MULTILINE)


@functools.lru_cache(maxsize=4)
def _locked_names(lock_text: str | None) -> frozenset[str]:
    """The package names *lock_text* locks; one read per text (registration asks 4 times).

    A lock as uv writes it is read by its layout: parsing the whole TOML of a 160 KB lock
    costs every nox start ~0.03 s. Any other layout (a hand-edited lock) is parsed; one
    that is not TOML locks nothing here, and ``uv lock --check`` reports it.
    """
    if not lock_text:
        return frozenset()
    names = _LOCKED_PACKAGE.findall(lock_text)
    if len(names) != lock_text.count("[[package]]"):
        try:
            data = tomllib.loads(lock_text)
        except tomllib.TOMLDecodeError:
            return frozenset()
        names = [p["name"] for p in data.get("package", []) if isinstance(p.get("name"), str)]
    from packaging.utils import canonicalize_name  # noqa: PLC0415 - as requirement_name

    return frozenset(str(canonicalize_name(name)) for name in names)


def locked_groups(document: Mapping[str, Any], lock_text: str | None, tool: str) -> tuple[str, ...]:
    """The project's dependency groups listing *tool*, when its ``uv.lock`` locks it (pure)."""
    table = document.get("dependency-groups", {})
    if not isinstance(table, dict):
        return ()
    listing = tuple(
        str(name)
        for name, entries in table.items()
        if isinstance(entries, list)
        and any(groups_mod.requirement_name(e) == tool for e in entries)
    )
    # No group lists it: the lock need not be parsed at all.
    return listing if listing and tool in _locked_names(lock_text) else ()


def read_project(root: Path) -> tuple[dict[str, Any], str | None]:
    """The project's parsed ``pyproject.toml`` and its ``uv.lock`` text (unreadable: absent)."""
    return own_commands.pyproject(root), own_commands.text(root, "uv.lock")


def ci_pins(root: Path) -> list[Pin]:
    """The pre-commit pins the CI environment must carry: tools ``uv.lock`` does not pin."""
    pins = read_pre_commit(root)
    if not pins:
        return []
    document, lock_text = read_project(root)
    return [pin for tool, pin in pins.items() if not locked_groups(document, lock_text, tool)]


def black_pinned_nowhere(root: Path, own: own_commands.OwnCommands) -> str | None:
    """Where the project gates on a black that neither ``uv.lock`` nor pre-commit pins.

    The gate's command and its source (``tox.ini [testenv:lint]: black --check twine``),
    or ``None``. Its own command installs whatever black is newest; ``init`` puts black in
    the CI environment, whose lock pins that version, so lint has one to run. Where ruff's
    format check is the gate, black is not the formatter (lint's scope says the same).
    *own* is the project's own commands, read from *root*.
    """
    black = own_commands.gate(own, "black")
    if black is None or own_commands.gate(own, "ruff", "format") is not None:
        return None
    if isinstance(black, Hook) or "black" in read_pre_commit(root):
        return None
    document, lock_text = read_project(root)
    return (
        None if locked_groups(document, lock_text, "black") else f"{black.source}: {black.shown()}"
    )
