"""``ci-tasks baseline``: today's findings become dated, accountable ignore entries.

A project adopting ci_tasks usually has findings on day one (an unhashed ``pip install``
in an old workflow, a deliberate SHA-1). :func:`take` runs every stage's checks that need
no network (lint: ruff, mypy if configured, the pinning policy; security: bandit and
zizmor offline) and :func:`add_entries` writes each finding not yet accepted as an entry
of ``[tool.ci-tasks.<stage>] ignore`` with :data:`~ci_tasks.core.ignores.BASELINE_REASON`
and an ``until`` :data:`~ci_tasks.core.ignores.BASELINE_DAYS` days out. An entry covers
a rule (or id) in one file, so running it again adds nothing; an entry already there,
even an expired one, is never renewed: that is a decision for a person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core import ignores
from ci_tasks.core.actions import Output
from ci_tasks.core.config import PYPROJECT, Config
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.ignores import Candidate
from ci_tasks.core.reports import atomic_write
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, baseline_stages

__all__ = ["Entry", "add_entries", "new_entries", "run", "take"]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry to write: the stage's section, what it names, and until when."""

    stage: str
    key: str
    file: str | None
    until: dt.date
    what: str

    def describe(self) -> str:
        """``lint: E501 in src/x.py until 2027-03-03 (line too long)``."""
        where = f" in {self.file}" if self.file else ""
        return f"{self.stage}: {self.key}{where} until {self.until} ({self.what})"


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
    for c in candidates:
        covered = any(s == c.stage and e.covers((c.key,), c.file) for s, e in existing)
        if not covered:
            chosen.setdefault(
                (c.stage, c.key, c.file), Entry(c.stage, c.key, c.file, until, c.what)
            )
    return list(chosen.values())


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
    path = config.root / PYPROJECT
    venv = config.root / ".ci-tasks" / "baseline-env"
    candidates = take(config, runner, output, tools_dirs=tools_dirs, venv=venv)
    added = new_entries(candidates, config, today())
    if added:
        text = path.read_text(encoding="utf-8")
        atomic_write(path, add_entries(text, added, config))
    return added
