"""Testing the built wheel instead of the source tree (``--wheel dist/``), pure parts.

hynek's pattern: build once, and test the artifact that will be uploaded, so a module
left out of the wheel fails CI instead of the users. The session syncs the locked groups
without the project (``uv sync --no-install-project``), installs the wheel with
``uv pip install --no-deps`` (its dependencies come from the lock) and runs pytest so
the tests import the installed wheel:

- ``--import-mode=append``: pytest appends the test folders (and a ``conftest.py``'s) to
  ``sys.path`` instead of putting them first, so a flat layout's ``pkg/`` beside
  ``tests/`` does not shadow the installed ``pkg`` (pytest's documented way of testing
  an installed package); a project that sets ``--import-mode`` itself keeps its own;
- ``pythonpath`` (pytest's ini option, which always prepends) loses the entries that
  hold the wheel's packages (``src``, ``.``), and keeps the others (``tests/helpers``);
- ``PYTHONSAFEPATH=1``: ``coverage run -m pytest`` and ``python -m`` do not put the
  working directory first (Python 3.11+; older interpreters ignore it).

- the project folder goes at the *end* of ``sys.path`` (a ``.pth`` file in the venv), as
  the editable install it replaces had it: what the tests import from the tree that the
  wheel does not ship (``tests.support``, a top-level helper module) still imports, while
  every name the wheel holds comes from site-packages first.

What still imports the wheel's packages from the tree is a ``conftest.py`` or test that
edits ``sys.path`` itself; the session names where each of them was imported from.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from ci_tasks.core.errors import UsageError

TREE_PTH = "_ci_tasks_project_tree.pth"
"""The ``.pth`` file that puts the project folder last on the venv's ``sys.path``."""
PURE_TAGS = frozenset({"py3-none-any", "py2.py3-none-any"})
WHEEL_FLAG = "--wheel"
_MISSING = re.compile(r"No module named '([A-Za-z_][\w.]*)'")
_IMPORT_MODE = "--import-mode"


@dataclasses.dataclass(frozen=True)
class Wheel:
    """The wheel a session tests, and the importable names it holds."""

    path: Path
    packages: tuple[str, ...]
    """Its top-level packages and modules (``sample``), as ``import`` names them."""

    @property
    def pure(self) -> bool:
        """A pure-Python wheel (``py3-none-any``): the one build installs on every OS."""
        return wheel_tag(self.path.name) in PURE_TAGS


def wheel_tag(filename: str) -> str:
    """The ``python-abi-platform`` tag of a wheel's file name (``py3-none-any``)."""
    parts = filename.removesuffix(".whl").split("-")
    return "-".join(parts[-3:]) if len(parts) >= 5 else ""  # noqa: PLR2004 - the spec's 5


def choose(given: Path) -> Path | None:
    """The wheel ``--wheel`` names: the file itself, or a folder's one pure wheel.

    A folder holding no pure wheel gives ``None`` (a platform wheel, built on one OS, is
    not the wheel other OSes test); several pure wheels, or a missing path, are a
    :class:`UsageError`.
    """
    if given.is_file():
        if given.suffix != ".whl":
            msg = f"{WHEEL_FLAG} {given}: not a wheel (.whl)"
            raise UsageError(msg)
        return given
    if not given.is_dir():
        msg = f"{WHEEL_FLAG} {given}: no such file or folder (build it with `nox -s build`)"
        raise UsageError(msg)
    pure = sorted(p for p in given.glob("*.whl") if wheel_tag(p.name) in PURE_TAGS)
    if len(pure) > 1:
        names = ", ".join(p.name for p in pure)
        msg = f"{WHEEL_FLAG} {given}: more than one pure wheel ({names}); name the one to test"
        raise UsageError(msg)
    return pure[0] if pure else None


def top_level(names: Iterable[str]) -> tuple[str, ...]:
    """The importable top-level names among a wheel's members (pure).

    ``pkg/__init__.py`` gives ``pkg``, ``mod.py`` gives ``mod``, a namespace package's
    ``ns/pkg/x.py`` gives ``ns``; metadata (``*.dist-info``, ``*.data``) none.
    """
    found: dict[str, None] = {}
    for name in names:
        first, sep, _ = name.partition("/")
        if first.endswith((".dist-info", ".data")):
            continue
        if sep:
            found.setdefault(first, None)
        elif first.endswith(".py"):
            found.setdefault(first.removesuffix(".py"), None)
    return tuple(n for n in found if n.isidentifier())


def read(path: Path) -> Wheel:
    """*path* as a :class:`Wheel`; a file that is no zip is a :class:`UsageError`."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"{WHEEL_FLAG} {path}: not a readable wheel ({exc})"
        raise UsageError(msg) from None
    return Wheel(path, top_level(names))


def missing_modules(messages: Iterable[str], packages: Sequence[str]) -> list[str]:
    """The wheel's modules that collection errors say are missing (``pkg.sub``), pure.

    Only names under the wheel's own packages: a missing third-party module is a
    dependency problem, not the wheel's.
    """
    found: dict[str, None] = {}
    for message in messages:
        for name in _MISSING.findall(message):
            if name.split(".", 1)[0] in packages:
                found.setdefault(name, None)
    return list(found)


def lacks_message(wheel: Path, module: str) -> str:
    """The one line a tests job fails with when the wheel lacks *module*."""
    return (
        f"the wheel {wheel.as_posix()} lacks {module}: tests import it; "
        "add it to the build configuration"
    )


def pytest_flags(
    root: Path,
    packages: Sequence[str],
    pythonpath: Sequence[str],
    given: Sequence[str],
) -> list[str]:
    """The pytest options that make the tests import the installed wheel.

    Pure, but for looking at which ``pythonpath`` folders hold the wheel's packages.

    *pythonpath* is the project's ``pythonpath`` ini option; *given* the options pytest
    already gets (the project's addopts, the posargs): one naming an import mode wins.
    """
    flags = []
    if not any(arg.startswith(_IMPORT_MODE) for arg in given):
        flags.append(f"{_IMPORT_MODE}=append")
    kept = [entry for entry in pythonpath if not holds(root / entry, packages)]
    if list(kept) != list(pythonpath):
        flags += ["-o", f"pythonpath={' '.join(kept)}"]
    return flags


def holds(folder: Path, packages: Sequence[str]) -> bool:
    """Whether *folder* holds one of *packages* (a package folder or a module file)."""
    return any((folder / name).is_dir() or (folder / f"{name}.py").is_file() for name in packages)


def from_tree(imported: dict[str, str], root: Path, venv: Path | None) -> dict[str, str]:
    """The wheel's packages that were imported from the source tree, not the venv (pure).

    *imported* maps a package to the file it was imported from, as the recorder saw it.
    """
    shadowed = {}
    for name, file in imported.items():
        path = Path(file)
        inside_venv = venv is not None and path.is_relative_to(venv)
        if path.is_relative_to(root) and not inside_venv:
            shadowed[name] = path.relative_to(root).as_posix()
    return shadowed


def site_packages(venv: Path) -> Path | None:
    """The venv's site-packages folder (``lib/pythonX.Y/...``, Windows' ``Lib/...``)."""
    found = [*venv.glob("lib/*/site-packages"), venv / "Lib" / "site-packages"]
    return next((s for s in found if s.is_dir()), None)
