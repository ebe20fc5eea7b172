"""Whether a tests session measures coverage: ``coverage = "auto"``, true or false.

``auto`` (the default) measures coverage when the project measures it, as ``hatch test``
(off unless ``--cover``) and pytest-cov (off unless ``--cov``) do; the evidence is
:mod:`ci_tasks.core.coverage_evidence`'s, which ``init`` reads too. The session says
which evidence decided on every run.

Where coverage is on, each pytest process runs under ``coverage run`` (measured from
interpreter start-up, so a package that pytest or its plugins import, such as packaging
or pluggy, is measured as the project's own ``coverage run -m pytest`` measures it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ci_tasks.core.coverage_evidence import evidence
from ci_tasks.stages.tests.config import TestsConfig

__all__ = ["Decision", "decide"]

NO_EVIDENCE = (
    "the project measures no coverage (no --cov in addopts, no fail_under, no coverage "
    "or pytest-cov in its test dependencies, no command of its own running coverage)"
)


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether coverage is measured, and why (one line the session prints)."""

    on: bool
    reason: str


def decide(root: Path, config: TestsConfig) -> Decision:
    """``coverage = true/false`` as set; ``auto``: on when :func:`evidence` finds some."""
    if config.coverage is True:
        return Decision(on=True, reason="coverage = true")
    if config.coverage is False:
        return Decision(on=False, reason="coverage = false")
    found = evidence(root, config.fail_under)
    if found is None:
        return Decision(
            on=False,
            reason=f"auto: off, {NO_EVIDENCE}",
        )
    return Decision(on=True, reason=f"auto: on, {found}")
