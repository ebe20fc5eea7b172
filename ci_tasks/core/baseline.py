"""``ci-tasks baseline``: today's findings become dated, accountable ignore entries.

A project adopting ci_tasks usually has findings on day one (an unhashed ``pip install``
in an old workflow, a deliberate SHA-1). :func:`take` runs every stage's checks that need
no network (lint: ruff, mypy if configured, the pinning policy; security: bandit and
zizmor offline) and :func:`add_entries` writes each finding not yet accepted as an entry
of ``[tool.ci-tasks.<stage>] ignore`` with :data:`~ci_tasks.core.ignores.BASELINE_REASON`
and an ``until`` :data:`~ci_tasks.core.ignores.BASELINE_DAYS` days out. An entry covers
a rule (or id) in one file, so running it again adds nothing; an entry already there,
even an expired one, is never renewed: that is a decision for a person.

``ci-tasks init`` takes a narrower baseline by default: only what :func:`own_policy`
calls ci_tasks' own policy (the pinning policy, zizmor, bandit where the project runs no
bandit of its own), on files that were there before ``init``. A finding of the project's
own tools (ruff check and format, mypy) fails the project's own command too, so ci_tasks
keeps it red, giving the same verdict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core import ignores, own_commands
from ci_tasks.core.actions import Output
from ci_tasks.core.config import PYPROJECT, Config
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.ignores import Candidate
from ci_tasks.core.reports import atomic_write
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, baseline_stages

__all__ = [
    "PROJECT_TOOLS",
    "Entry",
    "add_entries",
    "new_entries",
    "own_policy",
    "run",
    "take",
    "write",
]

VENV = Path(".ci-tasks") / "baseline-env"
"""Where a baseline syncs the project's environment when lint needs it (under the root)."""

PROJECT_TOOLS = frozenset({("lint", "ruff"), ("lint", "format"), ("lint", "mypy")})
"""``(stage, check)`` of the project's own tools: lint runs them at the project's versions
and with its settings, so their findings fail the project's own commands too."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry to write: the stage's section, what it names, and until when."""

    stage: str
    key: str
    file: str | None
    until: dt.date
    what: str
    lines: tuple[int, ...] = ()
    """The lines of *file* the findings it covers are on, as they were found."""

    def describe(self) -> str:
        """``lint: E501 in src/x.py:3,9 until 2027-03-03 (line too long)``."""
        at = ":" + ",".join(map(str, self.lines)) if self.lines else ""
        where = f" in {self.file}{at}" if self.file else ""
        return f"{self.stage}: {self.key}{where} until {self.until} ({self.what})"


def _runs_bandit(root: Path) -> bool:
    """Whether the project configures bandit itself (``[tool.bandit]``, ``.bandit``, a hook)."""
    if (root / ".bandit").is_file():
        return True
    if "bandit" in own_commands.table(root, "tool"):
        return True
    return any("bandit" in h.id or "bandit" in h.repo for h in own_commands.hooks(root))


def own_policy(candidate: Candidate, root: Path) -> bool:
    """Whether *candidate* is a finding of ci_tasks' own policy, no check the project makes.

    The project's own tools (:data:`PROJECT_TOOLS`; bandit where the project configures
    it) are not; neither is a finding whose check is not named: what cannot be told
    apart is never accepted on the maintainer's behalf.
    """
    check = (candidate.stage, candidate.check)
    if not candidate.check or check in PROJECT_TOOLS:
        return False
    return not (check == ("security", "bandit") and _runs_bandit(root))


def take(
    config: Config,
    runner: Runner,
    output: Output,
    *,
    tools_dirs: tuple[Path, ...] | None = None,
    venv: Path | None = None,
) -> list[Candidate]:
    """Every stage's offline findings now, as candidates (runs the checks)."""
    found: list[Candidate] = []
    for name, collect in baseline_stages().items():
        ctx = StageContext(
            name=name,
            config=config,
            runner=runner,
            output=output,
            venv=venv,
            tools_dirs=tools_dirs,
        )
        with output.group(f"baseline: {name}"):
            found += collect(ctx)
    return found


def new_entries(candidates: Sequence[Candidate], config: Config, today: dt.date) -> list[Entry]:
    """The entries to add: one per stage, key and file no entry (live or expired) covers."""
    existing = ignores.configured(config.sections)
    until = today + dt.timedelta(days=ignores.BASELINE_DAYS)
    chosen: dict[tuple[str, str, str | None], Entry] = {}
    lines: dict[tuple[str, str, str | None], list[int]] = {}
    for c in candidates:
        covered = any(s == c.stage and e.covers((c.key,), c.file) for s, e in existing)
        if not covered:
            where = (c.stage, c.key, c.file)
            chosen.setdefault(where, Entry(c.stage, c.key, c.file, until, c.what))
            at = lines.setdefault(where, [])
            if c.line is not None and c.line not in at:
                at.append(c.line)
    return [
        dataclasses.replace(entry, lines=tuple(sorted(lines[where])))
        for where, entry in chosen.items()
    ]


def _key_name(config: Config, stage: str) -> str:
    """The key a stage's ignore entries name what they accept by (``rule``, ``id``)."""
    section = config.sections.get(stage)
    if section is None:
        return "id"
    args = typing.get_args(typing.get_type_hints(type(section)).get("ignore"))
    return str(getattr(args[0], "key_name", "id")) if args else "id"


def _ignore_array(doc: Any, stage: str) -> Any:
    """``tool.ci-tasks.<stage>.ignore`` of a tomlkit document, made when absent."""
    import tomlkit  # noqa: PLC0415 - only writing a baseline edits pyproject.toml
    from tomlkit.items import AoT, Array  # noqa: PLC0415

    table: Any = doc
    for name, super_table in (("tool", True), ("ci-tasks", False), (stage, False)):
        inner = table.get(name)
        if inner is None:
            inner = tomlkit.table(is_super_table=super_table)
            table[name] = inner
        if not isinstance(inner, MutableMapping):  # a Table, or tomlkit's out-of-order proxy
            msg = f"{PYPROJECT}: [tool.ci-tasks.{stage}] must be a table"
            raise ConfigError(msg)
        table = inner
    current = table.get("ignore")
    if current is None:
        current = tomlkit.array()
        current.multiline(True)  # noqa: FBT003 - tomlkit's API
        table["ignore"] = current
    if not isinstance(current, AoT | Array):
        msg = f"{PYPROJECT}: tool.ci-tasks.{stage}.ignore must be an array of tables"
        raise ConfigError(msg)
    return current


def add_entries(text: str, entries: Sequence[Entry], config: Config) -> str:
    """*text* (``pyproject.toml``) with *entries* appended to each stage's ``ignore``.

    Edited with tomlkit, so every other line keeps its formatting; an ``ignore`` written
    as an array of tables (``[[tool.ci-tasks.security.ignore]]``) stays one.
    """
    import tomlkit  # noqa: PLC0415 - only writing a baseline edits pyproject.toml
    from tomlkit.items import AoT  # noqa: PLC0415

    doc = tomlkit.parse(text)
    for entry in entries:
        current = _ignore_array(doc, entry.stage)
        values: dict[str, Any] = {_key_name(config, entry.stage): entry.key}
        if entry.file:
            values["file"] = entry.file
        values["reason"] = ignores.BASELINE_REASON
        values["until"] = entry.until
        if isinstance(current, AoT):
            current.append(tomlkit.item(values))
        else:
            inline = tomlkit.inline_table()
            inline.update(values)
            current.append(inline)
    return tomlkit.dumps(doc)


def run(
    config: Config,
    runner: Runner,
    output: Output,
    *,
    tools_dirs: tuple[Path, ...] | None = None,
    today: Callable[[], dt.date] = ignores.today,
) -> list[Entry]:
    """Take the baseline of the project *config* describes and write it; what was added."""
    candidates = take(config, runner, output, tools_dirs=tools_dirs, venv=config.root / VENV)
    added = new_entries(candidates, config, today())
    write(config, added)
    return added


def write(config: Config, entries: Sequence[Entry]) -> None:
    """Append *entries* to the project's ``pyproject.toml`` in one atomic write (none: none)."""
    if entries:
        path = config.root / PYPROJECT
        text = path.read_text(encoding="utf-8")
        atomic_write(path, add_entries(text, entries, config))
