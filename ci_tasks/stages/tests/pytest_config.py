"""What pytest is asked to do besides our command: the user's arguments, the project's addopts.

The project's ``addopts`` are read as pytest reads them (its first configuration file) by
:func:`ci_tasks.core.coverage_evidence.pytest_addopts`, which ``init`` reads too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ci_tasks.core.coverage_evidence import pytest_addopts


def asks_for_xdist(args: Sequence[str]) -> str | None:
    """The xdist option among pytest arguments *args* (``-n auto``), unless it is ``-n 0``."""
    for index, arg in enumerate(args):
        value = None
        if arg in ("-n", "--numprocesses") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--numprocesses="):
            value = arg.partition("=")[2]
        elif arg.startswith("-n") and not arg.startswith("--"):  # -nauto, -n=4
            value = arg[2:].lstrip("=")
        if value is not None and value not in ("0", ""):
            return f"-n {value}"
    return None


def xdist_in_addopts(root: Path) -> str | None:
    """The xdist option in the project's own pytest ``addopts``, if it asks for workers."""
    return asks_for_xdist(pytest_addopts(root))


def cov_in_addopts(root: Path) -> bool:
    """Whether the project's own pytest ``addopts`` start pytest-cov (``--cov``)."""
    return any(opt == "--cov" or opt.startswith("--cov=") for opt in pytest_addopts(root))
