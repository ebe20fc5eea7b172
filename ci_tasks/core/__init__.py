"""The shared helper layer: commands, retries, masking, Actions output, errors, config.

Also reports, HTTP, git and the Slack client. Every stage uses it; it knows no stage.
"""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]


@functools.cache
def _version() -> str:
    try:
        return version("ci-tasks")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata when first asked for.

    Looking it up costs a scan of the installed distributions and an email parser (~4 ms),
    which every nox start paid though only ``--version``, the SBOM, preflight's cache and
    ``init`` say it.
    """
    if name == "__version__":
        return _version()
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
