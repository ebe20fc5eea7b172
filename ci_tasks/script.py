"""``ci_tasks.main()``: start nox for a noxfile run as a script (``uv run --script``).

A noxfile ``init`` writes ends in ``if __name__ == "__main__": ci_tasks.main()``. Run as
``uv run --locked --script noxfile.py -s ...``, uv has made the environment its PEP 723
block asks for before Python starts. nox then checks that block again: it walks the whole
dependency tree of every requirement (~0.13 s of every start with ci-tasks' tree of
scanners) and, where something is missing, makes an environment and starts over in it.

Here the block's own requirements (with their markers) and its ``requires-python`` are
checked against this interpreter, as the tree's roots; when they are met, nox is told to
skip its walk (``--script-mode none``). When they are not (the noxfile run by some other
Python), or when the block cannot be judged here (a URL requirement, no block, a
``--noxfile`` or ``--script-mode`` of the user's own), nox checks as it always does.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = ["block_satisfied", "main", "nox_argv"]

_OWN_CHOICE = ("-f", "--noxfile", "--script-mode")


def block_satisfied(block: Mapping[str, Any]) -> bool:
    """Whether this interpreter meets a PEP 723 *block*'s requirements and Python version.

    Each requirement whose marker holds here must be installed at a version its specifier
    allows; a requirement by URL cannot be judged by version, so it is not met here.
    """
    # packaging is nox's own import by now: nothing to add.
    import platform  # noqa: PLC0415

    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415

    dependencies = block.get("dependencies", [])
    python = block.get("requires-python") or ""
    if not isinstance(dependencies, list) or not isinstance(python, str):
        return False
    try:
        here = SpecifierSet(python).contains(platform.python_version(), prereleases=True)
        required = [Requirement(str(entry)) for entry in dependencies]
    except (InvalidRequirement, InvalidSpecifier):
        return False
    return here and all(_installed(r) for r in required)


def _installed(requirement: Requirement) -> bool:
    """Whether *requirement* is met here (one whose marker does not hold here is)."""
    import importlib.metadata  # noqa: PLC0415 - nox's own import by now

    if requirement.marker is not None and not requirement.marker.evaluate():
        return True
    if requirement.url:
        return False
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(version, prereleases=True)


def _user_chose(argv: Sequence[str]) -> bool:
    """Whether *argv* names a noxfile or a script mode itself (its choice stands)."""
    before = argv[: argv.index("--")] if "--" in argv else argv
    return any(arg == flag or arg.startswith(f"{flag}=") for arg in before for flag in _OWN_CHOICE)


def nox_argv(argv: Sequence[str], script: Path) -> list[str]:
    """The arguments for nox: *argv*, after ``--script-mode none`` when *script*'s block is met."""
    import nox.project  # noqa: PLC0415

    if _user_chose(argv) or not script.is_file():
        return list(argv)
    try:
        block = nox.project.load_toml(script, missing_ok=True)
    except (OSError, ValueError):  # nox itself says what is wrong with the block
        return list(argv)
    return ["--script-mode", "none", *argv] if block and block_satisfied(block) else list(argv)


def main() -> None:
    """Start nox for the noxfile run as ``__main__``; see the module's docstring."""
    import nox  # noqa: PLC0415

    script = Path(getattr(sys.modules["__main__"], "__file__", "") or "noxfile.py")
    sys.argv[1:] = nox_argv(sys.argv[1:], script)
    nox.main()
