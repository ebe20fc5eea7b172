"""A cheap fingerprint of a project's files, from git's own bookkeeping.

The content of every tracked file and every untracked file git does not ignore, hashed
without reading what git already knows: ``git ls-files -s`` gives the blob hash of every
index entry, and ``git diff-files`` names the entries whose file no longer matches its
stat data (git compares the content itself for racily-clean entries). Only those, and
the untracked files, are read and hashed here, with git's blob hash, so a file that was
touched but not changed hashes exactly as its index entry does.

Output directories of ci_tasks and nox, and the caches of the tools the stages run, are
never part of the fingerprint, even when a project's ``.gitignore`` forgets them:
otherwise every run would change the inputs of the next one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import git

# Written by ci_tasks, nox and the tools stages run; never an input.
EXCLUDED_DIRS: tuple[str, ...] = (
    ".ci-tasks",
    ".nox",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
)
# Files tools write at the top of a project (pytest-cov's data file and its parallel parts).
EXCLUDED_FILE_PREFIXES: tuple[str, ...] = (".coverage",)


@dataclasses.dataclass(frozen=True)
class TreeState:
    """What the working tree holds: path → git blob hash (or a marker)."""

    files: Mapping[str, str]

    def digest(self) -> str:
        """One SHA-256 over every path and its hash, in path order."""
        h = hashlib.sha256()
        for path in sorted(self.files):
            h.update(path.encode(errors="surrogateescape"))
            h.update(b"\0")
            h.update(self.files[path].encode())
            h.update(b"\n")
        return h.hexdigest()


def blob_hash(data: bytes) -> str:
    """Git's blob hash (SHA-1 of ``blob <size>``, a NUL byte, then the content) of *data*."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def excluded(path: str, outputs: Collection[str] = ()) -> bool:
    """Whether *path* (relative, ``/``-separated) is never an input.

    It lies in one of :data:`EXCLUDED_DIRS`, is compiled bytecode, a coverage data file,
    or one of *outputs* (the files the configured stages write, e.g. ``junit.xml``).
    """
    parts = path.split("/")
    if any(part in EXCLUDED_DIRS for part in parts[:-1]) or parts[-1].endswith(".pyc"):
        return True
    return path in outputs or path.startswith(EXCLUDED_FILE_PREFIXES)


def _hash_file(path: Path) -> str:
    try:
        if path.is_symlink():
            return blob_hash(os.fsencode(path.readlink()))
        return blob_hash(path.read_bytes())
    except FileNotFoundError:
        return "deleted"
    except IsADirectoryError:
        return "directory"
    except OSError as exc:
        # Unreadable: a fingerprint that can never match a recorded one.
        return f"unreadable:{exc.errno}:{os.urandom(8).hex()}"


def _records(raw: bytes) -> Iterable[str]:
    for item in raw.split(b"\0"):
        if item:
            yield item.decode(errors="surrogateescape")


def tree_state(root: Path, outputs: Collection[str] = ()) -> TreeState:
    """The state of the work tree containing *root*, limited to *root* and below.

    *outputs* are paths relative to *root* that stages write and that are not inputs.

    Raises :class:`ToolMissingError` when git is missing or *root* is not in a repository.
    """
    files: dict[str, str] = {}
    # Paths relative to root ("--full-name" is not given); submodules show as gitlinks.
    for record in _records(git.run(root, "ls-files", "-s", "-z", "--", ".")):
        meta, _, path = record.partition("\t")
        mode, sha, stage = meta.split()
        if excluded(path, outputs):
            continue
        # An unmerged path has several entries; any of them makes the tree unlike a clean one.
        files[path] = sha if stage == "0" else f"unmerged:{mode}:{sha}"
    # Entries whose file differs from the index by stat; git checks racy ones by content.
    for record in _records(
        git.run(root, "diff-files", "--name-only", "-z", "--relative", "--", ".")
    ):
        if excluded(record, outputs):
            continue
        target = root / record
        if target.is_dir() and not target.is_symlink():
            # A submodule: its checked-out commit stands for its content.
            head = git.text(target, "rev-parse", "HEAD")
            files[record] = f"submodule:{head}"
        else:
            files[record] = _hash_file(target)
    others = git.run(root, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    for record in _records(others):
        if not excluded(record, outputs):
            files[record] = "untracked:" + _hash_file(root / record)
    return TreeState(files)


def stage_fingerprint(
    tree: TreeState | str,
    *,
    stage: str,
    settings: Any,
    posargs: Iterable[str],
    python: str,
    ci_tasks_version: str,
    lock: bytes | None,
) -> str:
    """The fingerprint of one stage's inputs (pure: everything is passed in).

    *settings* is the stage's configuration as plain JSON-able data; *lock* the bytes of
    ``uv.lock`` (``None`` when there is none).
    """
    payload = {
        "tree": tree if isinstance(tree, str) else tree.digest(),
        "stage": stage,
        "settings": settings,
        "posargs": list(posargs),
        "python": python,
        "ci_tasks": ci_tasks_version,
        "lock": hashlib.sha256(lock).hexdigest() if lock is not None else None,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["EXCLUDED_DIRS", "TreeState", "blob_hash", "stage_fingerprint", "tree_state"]
