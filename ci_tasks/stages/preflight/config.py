"""``[tool.ci-tasks.preflight]``: the preflight stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses

from ci_tasks.core.config import at_least, timeout_field


@dataclasses.dataclass(frozen=True)
class PreflightConfig:
    """``[tool.ci-tasks.preflight]``: the local gate and its result cache."""

    stages: tuple[str, ...] | None = None
    """Stages run in order; default: lint, tests and security (those this version has)."""
    fail_fast: bool = False
    """Stop at the first stage that does not pass (default: run all, show everything)."""
    cache: bool = True
    """Answer a stage from the cache when its inputs match its last green run."""
    cache_in_ci: bool = False
    """Use the cache under ``CI=true`` too (off by default: CI starts from nothing)."""
    security_cache_hours: float = dataclasses.field(default=24.0, metadata=at_least(0))
    """How long a security pass answers from the cache: new advisories appear every day
    while the inputs stay the same. ``0``: security always runs."""
    timeout: float = timeout_field(1800.0)
    """The session's whole budget, in seconds (also ``[tool.ci-tasks.timeouts] preflight``)."""

    def __post_init__(self) -> None:
        if self.stages is not None:
            if not self.stages:
                msg = "stages must name at least one stage"
                raise ValueError(msg)
            repeated = sorted({s for s in self.stages if self.stages.count(s) > 1})
            if repeated:
                msg = f"stages lists {repeated[0]!r} twice"
                raise ValueError(msg)
