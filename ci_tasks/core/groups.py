"""The project's dependency groups (PEP 735) as a test run needs them.

Pure functions over a parsed ``pyproject.toml``: which group holds pytest, what a group
includes, and which groups a test run syncs from ``uv.lock``: the group that lists
pytest and the groups it includes; ``[tool.uv] default-groups`` only when no group lists
pytest (a project's defaults often hold its type checker and pre-commit, which a test
run does not need). ``init`` and the sessions share them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = [
    "GroupChoice",
    "choose_test_groups",
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


# pytest itself, or the plugin init adds beside it: where pytest is the project's own
# runtime dependency (a pytest plugin), init's tests group cannot list it again.
_TEST_RUNNERS = frozenset({"pytest", "pytest-rerunfailures"})


def pytest_group(data: Mapping[str, Any]) -> str | None:
    """The group that lists pytest (or the rerun plugin beside it); the first in file order."""
    for name, entries in _groups(data).items():
        if isinstance(entries, list) and any(requirement_name(e) in _TEST_RUNNERS for e in entries):
            return str(name)
    return None


def _default_groups(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The groups uv syncs by default, each with where it comes from."""
    tool = data.get("tool", {})
    uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
    chosen = uv.get("default-groups") if isinstance(uv, dict) else None
    why = "[tool.uv] default-groups; no group lists pytest"
    if chosen == "all":
        return [(g, why) for g in group_names(data)]
    if isinstance(chosen, list):
        return [(g, why) for g in chosen if isinstance(g, str)]
    # uv's own default: the dev group, when there is one.
    return [("dev", "uv's default group; no group lists pytest")] if "dev" in _groups(data) else []


@dataclasses.dataclass(frozen=True)
class GroupChoice:
    """The groups a test run syncs, each with why it was chosen."""

    groups: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    """One per group: ``lists pytest``, ``included by tests``, ``[tool.uv] default-groups``."""

    def describe(self) -> str:
        """``tests (lists pytest), coverage (included by tests)`` (``none`` when empty)."""
        said = [f"{g} ({why})" for g, why in zip(self.groups, self.reasons, strict=True)]
        return ", ".join(said) or "none"

    @classmethod
    def configured(cls, names: tuple[str, ...], why: str) -> GroupChoice:
        """Groups the configuration names, all for one reason."""
        return cls(names, (why,) * len(names))


def _with_includes(data: Mapping[str, Any], first: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """*first* and, after each, the groups it includes (named by their includer)."""
    chosen: dict[str, str] = {}
    pending = list(first)
    while pending:
        group, why = pending.pop(0)
        if group in chosen:
            continue
        chosen[group] = why
        entries = _groups(data).get(group, [])
        for entry in entries if isinstance(entries, list) else []:
            name = entry.get("include-group") if isinstance(entry, dict) else None
            if isinstance(name, str):
                pending.append((name, f"included by {group}"))
    return list(chosen.items())


def choose_test_groups(data: Mapping[str, Any]) -> GroupChoice:
    """The groups a test run syncs, and why: pytest's and its includes, else uv's defaults.

    Only groups the project defines are named, so ``uv sync --group`` never fails on a
    group that does not exist.
    """
    found = pytest_group(data)
    first = [(found, "lists pytest")] if found is not None else _default_groups(data)
    defined = set(group_names(data))
    kept = [(g, why) for g, why in _with_includes(data, first) if g in defined]
    return GroupChoice(tuple(g for g, _ in kept), tuple(why for _, why in kept))


def synced_by_default(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The groups a plain ``uv sync`` installs: uv's default groups and what they include.

    Not what the tests need, but what every developer's environment holds, so the
    security stage audits them beside the test groups.
    """
    defined = set(group_names(data))
    return tuple(g for g, _ in _with_includes(data, _default_groups(data)) if g in defined)


def test_groups(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The names :func:`choose_test_groups` chooses."""
    return choose_test_groups(data).groups
