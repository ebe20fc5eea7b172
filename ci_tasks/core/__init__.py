"""The shared helper layer: commands, retries, masking, Actions output, errors, config.

Also reports, HTTP, git and the Slack client. Every stage uses it; it knows no stage.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ci-tasks")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
