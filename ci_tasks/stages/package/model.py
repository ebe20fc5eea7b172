"""The build stage's plain data: one check's outcome, one build's artifacts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

Status = Literal["passed", "failed", "skipped"]
MAX_FINDINGS = 10
"""At most this many findings are named in one check's message."""


@dataclasses.dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    status: Status
    message: str = ""
    artifacts: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Per artifact, what the check found (reproducible: ``byte-identical``...)."""


@dataclasses.dataclass(frozen=True)
class Artifacts:
    """One build's sdist and wheel."""

    sdist: Path
    wheel: Path

    def all(self) -> tuple[Path, Path]:
        """Both artifacts, sdist first."""
        return (self.sdist, self.wheel)
