"""The project's dependency groups (PEP 735) as a test run needs them.

Pure functions over a parsed ``pyproject.toml``: which group holds pytest, what a group
includes, and which groups a test run syncs from ``uv.lock`` (the pytest group, the groups
it includes, and ``[tool.uv] default-groups``). ``init`` and the sessions share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "group_names",
    "includes",
    "pytest_group",
    "requirement_name",
    "test_groups",
]


def requirement_name(entry: object) -> str | None:
    """The normalised project name of a requirement string.

    ``None`` for an include table (``{include-group = "..."}``) or an invalid requirement.
    """
    if not isinstance(entry, str):
        return None
    # packaging is what pip and uv parse requirements with; imported here, not at start-up.
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415
    from packaging.utils import canonicalize_name  # noqa: PLC0415

    try:
        return str(canonicalize_name(Requirement(entry).name))
    except InvalidRequirement:
        return None


def _groups(data: Mapping[str, Any]) -> Mapping[str, Any]:
    groups = data.get("dependency-groups", {})
    return groups if isinstance(groups, dict) else {}


def group_names(data: Mapping[str, Any]) -> list[str]:
    """The groups ``[dependency-groups]`` defines, in file order."""
    return list(_groups(data))


def includes(data: Mapping[str, Any], group: str) -> list[str]:
    """The groups *group* includes (``{include-group = "..."}``), transitively, in order."""
    seen: list[str] = []
    pending = [group]
    while pending:
        entries = _groups(data).get(pending.pop(0), [])
        for entry in entries if isinstance(entries, list) else []:
            name = entry.get("include-group") if isinstance(entry, dict) else None
            if isinstance(name, str) and name not in seen and name != group:
                seen.append(name)
                pending.append(name)
    return seen


def pytest_group(data: Mapping[str, Any]) -> str | None:
    """The group that lists pytest itself; the first such group in file order."""
    for name, entries in _groups(data).items():
        if isinstance(entries, list) and any(requirement_name(e) == "pytest" for e in entries):
            return str(name)
    return None


def _default_groups(data: Mapping[str, Any]) -> list[str]:
    tool = data.get("tool", {})
    uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
    chosen = uv.get("default-groups") if isinstance(uv, dict) else None
    if chosen == "all":
        return group_names(data)
    if isinstance(chosen, list):
        return [g for g in chosen if isinstance(g, str)]
    # uv's own default: the dev group, when there is one.
    return ["dev"] if "dev" in _groups(data) else []


def test_groups(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The groups a test run syncs: pytest's group, what it includes, and uv's defaults.

    Only groups the project defines are named, so ``uv sync --group`` never fails on a
    group that does not exist.
    """
    wanted: list[str] = []
    found = pytest_group(data)
    if found is not None:
        wanted += [found, *includes(data, found)]
    wanted += _default_groups(data)
    defined = set(group_names(data))
    return tuple(dict.fromkeys(g for g in wanted if g in defined))
