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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import groups as groups_mod
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.own_commands import frozen_versions

__all__ = [
    "PRE_COMMIT",
    "TOOLS",
    "Pin",
    "ci_pins",
    "locked_groups",
    "parse_pre_commit",
    "read_pre_commit",
]

PRE_COMMIT = ".pre-commit-config.yaml"
TOOLS = ("ruff", "mypy", "black")
# The hook repositories that pin each tool by their rev (ruff's moved from charliermarsh).
_HOOK_REPOS = {
    "ruff": ("astral-sh/ruff-pre-commit", "charliermarsh/ruff-pre-commit"),
    "mypy": ("pre-commit/mirrors-mypy",),
    "black": ("psf/black-pre-commit-mirror", "psf/black"),
}
_REV = re.compile(r"^v?(?P<version>\d+(?:\.\d+)*(?:[a-z]+\d+)?(?:\.post\d+)?)$")


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


def _repo_name(url: str) -> str:
    """``owner/name`` of a hook repository URL (``https://github.com/owner/name(.git)``)."""
    parts = url.rstrip("/").removesuffix(".git").split("/")
    return "/".join(parts[-2:]).lower()


def _extras(repo: Mapping[str, Any], tool: str) -> tuple[str, ...]:
    found: list[str] = []
    for hook in repo.get("hooks") or ():
        if isinstance(hook, dict) and str(hook.get("id", "")).startswith(tool):
            found += [str(d) for d in hook.get("additional_dependencies") or () if d]
    return tuple(dict.fromkeys(found))


def parse_pre_commit(text: str, source: str = PRE_COMMIT) -> dict[str, Pin]:
    """The tools *text* (a pre-commit configuration) pins, by tool name.

    A hook whose ``rev:`` is not a version (a branch, a SHA without a ``# frozen: v1.2``
    comment) pins nothing we can install; it is left out. Invalid YAML is a
    :class:`ConfigError` naming *source*.
    """
    import yaml  # noqa: PLC0415 - read only where a pre-commit configuration exists

    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        msg = f"{source}{at}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
        raise ConfigError(msg) from None
    repos = data.get("repos") if isinstance(data, dict) else None
    if not isinstance(repos, list):
        return {}
    lines = _rev_lines(document)
    frozen = frozen_versions(text)  # a commit rev's version, from its `# frozen:` comment
    found: dict[str, Pin] = {}
    for index, repo in enumerate(repos):
        if not isinstance(repo, dict):
            continue
        name = _repo_name(str(repo.get("repo", "")))
        for tool, known in _HOOK_REPOS.items():
            rev = str(repo.get("rev", "")).strip()
            match = _REV.match(rev) or _REV.match(frozen.get(rev, ""))
            if name in known and match and tool not in found:
                found[tool] = Pin(tool, match["version"], lines.get(index), _extras(repo, tool))
    return found


def _rev_lines(document: Any) -> dict[int, int]:
    """``{index of the repo: line of its rev}`` from the composed YAML node tree."""
    import yaml  # noqa: PLC0415

    lines: dict[int, int] = {}
    if not isinstance(document, yaml.MappingNode):
        return lines
    for key, value in document.value:
        if key.value != "repos" or not isinstance(value, yaml.SequenceNode):
            continue
        for index, item in enumerate(value.value):
            if not isinstance(item, yaml.MappingNode):
                continue
            for k, v in item.value:
                if k.value == "rev":
                    lines[index] = v.start_mark.line + 1
    return lines


def read_pre_commit(root: Path) -> dict[str, Pin]:
    """The tools the project in *root* pins in its pre-commit configuration."""
    path = root / PRE_COMMIT
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot be read ({exc})"
        raise ConfigError(msg) from None
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
    try:
        document = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        document = {}
    try:
        lock_text: str | None = (root / "uv.lock").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        lock_text = None
    return document, lock_text


def ci_pins(root: Path) -> list[Pin]:
    """The pre-commit pins the CI environment must carry: tools ``uv.lock`` does not pin."""
    pins = read_pre_commit(root)
    if not pins:
        return []
    document, lock_text = read_project(root)
    return [pin for tool, pin in pins.items() if not locked_groups(document, lock_text, tool)]
