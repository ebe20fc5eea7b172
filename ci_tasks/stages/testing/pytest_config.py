"""What pytest is asked to do besides our command: the user's arguments, the project's addopts.

The project's pytest configuration file is found as pytest finds it by
:mod:`ci_tasks.core.pytest_files`, which ``init`` reads too: its ``addopts`` through
:func:`ci_tasks.core.coverage_evidence.pytest_addopts`, its other ini options (how strict
it is) through :func:`pytest_ini`.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from ci_tasks.core import pytest_files
from ci_tasks.core.coverage_evidence import pytest_addopts
from ci_tasks.core.pytest_files import PytestIni

STRICT_FLAGS = ("--strict-markers", "--strict-config", "--strict")
"""The strictness flags of pytest's command line (``--strict``: pytest 9's ``strict``,
earlier pytest's alias of ``--strict-markers``)."""
FORCED_STRICT = ("--strict-markers", "--strict-config")
"""What ``strict = true`` adds."""
STRICT_INI_KEYS = ("strict", "strict_markers", "strict_config")
"""pytest 9's ini keys (``strict`` turns on both others, unless they are set)."""
_TRUE = frozenset({"y", "yes", "t", "true", "on", "1"})  # pytest's own reading of a bool


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


def pytest_ini(root: Path) -> PytestIni | None:
    """The ini options of the project's own pytest configuration file, as pytest finds it.

    :func:`ci_tasks.core.pytest_files.find`, the file addopts are read from too (pytest 9's
    order: ``pytest.toml``, ``.pytest.toml``, ``pytest.ini``, ``.pytest.ini``,
    ``pyproject.toml``, ``tox.ini``, ``setup.cfg``). ``None``: no such file.
    """
    return pytest_files.find(root)


def _true(value: object) -> bool:
    """An ini value pytest reads as true (TOML's ``true``, or ``"true"``, ``"1"``...)."""
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


@dataclasses.dataclass(frozen=True)
class Strictness:
    """The strict flags a session adds to pytest's command line, and why (one line)."""

    flags: tuple[str, ...]
    reason: str


def decide_strict(
    addopts: Sequence[tuple[str, Sequence[str]]],
    ini: PytestIni | None,
    *,
    setting: bool | Literal["auto"],
) -> Strictness:
    """``strict = true/false`` as set; ``auto``: as strict as the project's own pytest (pure).

    *addopts* are the project's pytest options by where they come from
    (``("pyproject.toml addopts", [...])``, ``("PYTEST_ADDOPTS", [...])``); *ini* its
    configuration file. ``auto`` adds exactly the strict flags those addopts use; the ini's
    ``strict``, ``strict_markers`` and ``strict_config`` pytest applies itself, whatever
    its version makes of them, so they are named and nothing is added for them.
    """
    if setting is True:
        return Strictness(FORCED_STRICT, f"{' '.join(FORCED_STRICT)} (strict = true)")
    if setting is False:
        return Strictness((), "off (strict = false)")
    flags: list[str] = []
    said: list[str] = []
    for where, words in addopts:
        used = [flag for flag in STRICT_FLAGS if flag in words and flag not in flags]
        flags += used
        said += [f"{' '.join(used)} ({where})"] if used else []
    keys = [key for key in STRICT_INI_KEYS if ini is not None and _true(ini.options.get(key))]
    if ini is not None and keys:
        keys_said = ", ".join(f"{key} = true" for key in keys)
        said.append(f"{keys_said} in {ini.file} {ini.section}, which pytest applies itself")
    if said:
        return Strictness(tuple(flags), "; ".join(said))
    ini_said = (
        f"no {'/'.join(STRICT_INI_KEYS)} = true in {ini.file} {ini.section}"
        if ini is not None
        else "no pytest configuration file"
    )
    return Strictness(
        (),
        "off (the project's pytest is not strict: no --strict-markers/--strict-config/"
        f"--strict in its addopts, {ini_said})",
    )


def strictness(root: Path, *, setting: bool | Literal["auto"]) -> Strictness:
    """:func:`decide_strict` on the project's own pytest configuration in *root*."""
    ini = pytest_ini(root)
    words = pytest_addopts(root)  # the file's addopts, then PYTEST_ADDOPTS'
    try:
        env = shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    except ValueError:
        env = os.environ.get("PYTEST_ADDOPTS", "").split()
    own = words[: len(words) - len(env)]
    where = f"{ini.file} addopts" if ini is not None else "addopts"
    return decide_strict([(where, own), ("PYTEST_ADDOPTS", env)], ini, setting=setting)
