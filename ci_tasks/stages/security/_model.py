"""The scanner interface and the plain data every scanner reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol

from ci_tasks.core import tools
from ci_tasks.core.actions import Output
from ci_tasks.core.runner import Runner
from ci_tasks.stages.security.config import SecurityConfig

Status = Literal["ran", "failed", "unverified", "skipped"]


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem a scanner reported."""

    scanner: str
    id: str
    severity: str
    message: str
    file: str | None = None
    line: int | None = None
    fix: str | None = None
    """A hint at the remedy: fix versions, a rule's documentation."""
    aliases: tuple[str, ...] = ()
    """Other ids naming the same problem (a CVE's GHSA); an ignore may use any of them."""

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id an ignore may match."""
        return (self.id, *self.aliases)


@dataclasses.dataclass(frozen=True)
class ScanResult:
    """What one scanner found, and whether it could look at all.

    ``failed`` means the scanner broke or reported errors (a file it could not parse);
    ``unverified`` means it could not look (the vulnerability service was unreachable),
    which is never a pass; ``skipped`` means there was nothing of its kind to scan (no
    ``noxfile.py.lock``), and ``errors`` says what.
    """

    scanner: str
    status: Status
    version: str | None = None
    findings: tuple[Finding, ...] = ()
    errors: tuple[str, ...] = ()
    """One-line reasons the scan failed or is unverified."""
    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)
    local: tuple[str, ...] = ()
    """Local path packages (workspace members, ``file:`` requirements): on no index, so
    not audited themselves; their own dependencies are."""


@dataclasses.dataclass(frozen=True)
class ScanContext:
    """What a scanner needs: the project, a runner, its tools and a scratch folder."""

    root: Path
    config: SecurityConfig
    runner: Runner
    output: Output
    workdir: Path
    """A private folder for the scanners' output files."""
    python: Path | None
    """The environment ``uv pip check`` checks (a venv folder or interpreter)."""
    groups: tuple[str, ...] = ()
    """Dependency groups exported for pip-audit."""
    tools_dirs: tuple[Path, ...] | None = None
    """Where the scanners are (default: the CI environment)."""
    python_problem: str = ""
    """Why there is no environment to check, when ``python`` is ``None``."""

    def tool(self, name: str) -> str:
        """The executable *name* (``bandit``, ``pip-audit``, ``zizmor``, ``uv``)."""
        return tools.find(name, self.tools_dirs)


class Scanner(Protocol):
    """A security scanner: runs its tool and turns its output into a :class:`ScanResult`.

    ``scan`` must not raise for anything the tool does: a crash, a missing output file or
    an unreachable service is a result (``failed``/``unverified``), so that every scanner
    runs and none's output is lost.
    """

    name: str

    def scan(self, ctx: ScanContext) -> ScanResult:
        """Run the scanner over the project."""
        ...
