"""``[tool.ci-tasks.smoke]``: the smoke stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses
from typing import Literal

from ci_tasks.core.config import at_least, timeout_field
from ci_tasks.stages.smoke import conditions

HTTP_METHODS = Literal["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


@dataclasses.dataclass(frozen=True)
class SmokeEndpoint:
    """``[[tool.ci-tasks.smoke.endpoint]]``: one path and the conditions its answer must meet."""

    path: str = dataclasses.field(default="/", metadata={"nonempty": True})
    conditions: tuple[str, ...] = ("status < 500",)
    method: HTTP_METHODS = "GET"

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            msg = f"endpoint path {self.path!r} must start with '/'"
            raise ValueError(msg)
        # Parsed here so an invalid condition is a config error before any request is sent.
        for text in self.conditions:
            conditions.parse(text)


@dataclasses.dataclass(frozen=True)
class SmokeConfig:
    """``[tool.ci-tasks.smoke]``: the deployed URL to check, how long to wait, what to assert."""

    url: str | None = None
    """Used when neither ``--url`` nor ``STAGING_URL`` is given."""
    deadline: float = dataclasses.field(default=300.0, metadata=at_least(0))
    """Seconds to wait for the health endpoint to become ready."""
    interval: float = dataclasses.field(default=5.0, metadata=at_least(0))
    attempt_timeout: float = dataclasses.field(default=10.0, metadata=at_least(0.001))
    consecutive_successes: int = dataclasses.field(default=1, metadata=at_least(1))
    health_paths: tuple[str, ...] = ("/health", "/healthz", "/api/health")
    ready_conditions: tuple[str, ...] = ("status == 200",)
    """What the health endpoint must answer for the service to count as ready."""
    docs_path: str = "/docs"
    """The API documentation; an empty string leaves it out."""
    endpoint: tuple[SmokeEndpoint, ...] = ()
    notify: bool = False
    """Send a Slack message (``SLACK_WEBHOOK_URL``) when the run fails, as ``--notify`` does."""
    timeout: float = timeout_field(600.0)
    """The session's whole budget, in seconds (also ``[tool.ci-tasks.timeouts] smoke``)."""

    def __post_init__(self) -> None:
        for path in (*self.health_paths, *([self.docs_path] if self.docs_path else [])):
            if not path.startswith("/"):
                msg = f"path {path!r} must start with '/'"
                raise ValueError(msg)
        for text in self.ready_conditions:
            conditions.parse(text)
