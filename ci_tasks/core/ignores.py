"""Accountable ignores: an accepted finding, with a reason and a last day (pure).

``[tool.ci-tasks.lint] ignore`` and ``[tool.ci-tasks.security] ignore`` hold entries of
the same kind: each names what it accepts (a lint ``rule``, a security ``id``), may
narrow it to a ``file`` (a glob, relative to the project), and must say why and until
when. After its ``until`` date an entry no longer ignores anything, and says so: the
finding counts again. ``ci-tasks baseline`` writes such entries for the findings a
project has when it adopts ci_tasks (:data:`BASELINE_REASON`, :data:`BASELINE_DAYS`);
``readiness`` lists every entry with its expiry, so the debt stays visible.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

__all__ = [
    "BASELINE_DAYS",
    "BASELINE_REASON",
    "Accountable",
    "Candidate",
    "Ignore",
    "Verdict",
    "configured",
    "expiry_note",
    "judge",
    "today",
]

BASELINE_REASON = "present when ci_tasks was adopted"
BASELINE_DAYS = 90


def today() -> dt.date:
    """The current date in UTC: the day ``until`` is compared with."""
    return dt.datetime.now(dt.UTC).date()


class Accountable:
    """An accepted exception to a check: what it names, why, and its last day.

    A frozen dataclass deriving from it declares ``reason`` and ``until`` (and what it
    names, as :attr:`key`); an entry without any of them is refused, in the words of the
    ``needs_*`` templates (``str.format`` with ``key``, ``key_name`` and ``article``).
    """

    reason: str
    until: dt.date | None

    key_name: ClassVar[str] = "id"
    """The key under which the entry names what it accepts."""
    needs_key: ClassVar[str] = "every ignore needs {article} {key_name!r}"
    needs_reason: ClassVar[str] = "ignore {key!r} has no 'reason'; say why it is accepted"
    needs_until: ClassVar[str] = (
        "ignore {key!r} has no 'until' date (YYYY-MM-DD); ignores must expire"
    )

    @property
    def key(self) -> str:
        """What the entry accepts (a rule or an id); a stage's entry type says which."""
        raise NotImplementedError

    def __post_init__(self) -> None:
        article = "an" if self.key_name[0] in "aeiou" else "a"
        said = {"key": self.key, "key_name": self.key_name, "article": article}
        if not self.key.strip():
            raise ValueError(self.needs_key.format(**said))
        if not self.reason.strip():
            raise ValueError(self.needs_reason.format(**said))
        if self.until is None:
            raise ValueError(self.needs_until.format(**said))

    def expired(self, on: dt.date) -> bool:
        """Whether the entry no longer holds *on* that day."""
        return self.until is not None and self.until < on


@dataclasses.dataclass(frozen=True)
class Ignore(Accountable):
    """An accepted finding, accounted for: a stage's entry type adds what it names."""

    reason: str = ""
    until: dt.date | None = None
    """The last day the ignore holds; after it the finding counts again."""
    file: str = ""
    """Only findings in this file (a glob, ``/``-separated, relative to the project)."""

    def covers(self, keys: Iterable[str], file: str | None) -> bool:
        """Whether the entry names one of *keys* and (if it names a file) *file*."""
        if self.key not in keys:
            return False
        return not self.file or fnmatch.fnmatchcase(file or "", self.file)

    def describe(self) -> str:
        """``E501 in src/x.py``: what the entry accepts, in words."""
        return f"{self.key} in {self.file}" if self.file else self.key

    def as_entry(self) -> dict[str, Any]:
        """The entry as ``pyproject.toml`` holds it (``until`` a date)."""
        entry: dict[str, Any] = {self.key_name: self.key}
        if self.file:
            entry["file"] = self.file
        entry["reason"] = self.reason
        entry["until"] = self.until
        return entry


E = TypeVar("E", bound=Ignore)


@dataclasses.dataclass(frozen=True)
class Verdict(Generic[E]):
    """Which entry (still in force) covers a finding, and which expired ones named it."""

    live: E | None
    expired: tuple[E, ...] = ()


def judge(keys: Iterable[str], file: str | None, entries: Sequence[E], on: dt.date) -> Verdict[E]:
    """The entries covering a finding known by *keys* in *file*, as of *on*."""
    wanted = tuple(keys)
    matching = [e for e in entries if e.covers(wanted, file)]
    live = next((e for e in matching if not e.expired(on)), None)
    return Verdict(live, () if live is not None else tuple(matching))


def expiry_note(entry: Ignore, what: str) -> str:
    """The one line saying an expired *entry* no longer ignores *what*."""
    return f"ignore {entry.describe()} expired on {entry.until}; {what} counts again"


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A finding a stage has now, which ``ci-tasks baseline`` may accept as an entry."""

    stage: str
    """The section whose ``ignore`` array takes the entry (``lint``, ``security``)."""
    key: str
    """What the entry names (its ``rule`` or ``id``)."""
    file: str | None
    what: str
    """The finding's message, shown when the entry is written."""
    line: int | None = None
    """Where in *file* (1-based), when the check says."""
    check: str = ""
    """The check that found it (lint's ``ruff``, ``mypy``, ``unhashed-pip-install``;
    security's ``bandit``, ``zizmor``): what tells ci_tasks' own policies from the
    project's own tools (:func:`ci_tasks.core.baseline.own_policy`)."""


def configured(sections: Mapping[str, Any]) -> list[tuple[str, Ignore]]:
    """``(stage, entry)`` for every ignore entry of every stage section, in order."""
    return [
        (name, entry)
        for name, section in sections.items()
        for entry in getattr(section, "ignore", ()) or ()
        if isinstance(entry, Ignore)
    ]
