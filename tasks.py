"""Developer tasks (invoke): `uv run inv --list` shows them."""

from ci_tasks.adopt.invoke_tasks import namespace

__all__ = ["namespace"]
