"""What ``build`` builds: a clean copy holding exactly the files git would commit.

CI builds a fresh checkout; the working tree also holds what the other sessions and the
maintainer's tools left (``.ruff_cache/`` in an example folder, ``.ci-tasks/``,
``__pycache__``), and a backend that walks the tree (flit_core, hatchling without the
right ``.gitignore``) would put it in the sdist. So the build runs from a copy, made in a
fresh temporary folder outside the project, of the files ``git ls-files --cached --others
--exclude-standard`` lists (tracked ones and new ones git does not ignore, with the
working tree's content; deleted ones are skipped). A committed stray file is listed, so
the ``sdist-contents`` check still flags it.

The copy is a git repository too, a local clone of the project's, so the version a
VCS-versioned backend (setuptools-scm, hatch-vcs) computes there is the one a clean
checkout computes: the same commits and tags. The copy's index is set to the copied files
(what ``git add -A`` would stage), so a file finder reading ``git ls-files`` sees the same
files, and the version is marked dirty only when the working tree does differ from the
last commit. Nothing is written into the project's repository: the clone shares its
objects read-only (``--shared``) and keeps its own index and refs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tasks.core import git
from ci_tasks.core.errors import ToolMissingError

if TYPE_CHECKING:
    from ci_tasks.core.stage import StageContext

LIST_TIMEOUT = 300.0
"""``git ls-files`` over a large tree; the clone and the staging go through the runner."""
_NOT_INHERITED: dict[str, str | None] = {
    "GIT_DIR": None,
    "GIT_INDEX_FILE": None,
    "GIT_WORK_TREE": None,
    "GIT_OBJECT_DIRECTORY": None,
}
"""Set by git for a hook (build run from pre-push): they would point the copy's git at the
project's own index."""


def work_tree(root: Path) -> tuple[Path, Path] | None:
    """The git work tree holding *root* and *root* relative to it; ``None`` outside git."""
    try:
        top = git.text(root, "rev-parse", "--show-toplevel")
        prefix = git.text(root, "rev-parse", "--show-prefix")
    except (git.GitError, ToolMissingError):
        return None
    if not top:
        return None
    return Path(top), Path(prefix or ".")


def committable_files(root: Path) -> list[str]:
    """The files under *root* git would commit, relative to it; deleted ones left out.

    Tracked files (the index) and untracked ones no ignore rule excludes, the same
    ``git add -A`` takes; a tracked file gone from the working tree is skipped.
    """
    listed = git.run(
        root,
        "ls-files", "--cached", "--others", "--exclude-standard", "-z",
        timeout=LIST_TIMEOUT,
    )  # fmt: skip
    names = dict.fromkeys(os.fsdecode(name) for name in listed.split(b"\0") if name)
    return [name for name in names if os.path.lexists(root / name)]


def _copy_entry(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        target.symlink_to(source.readlink())
    elif source.is_dir():
        # A submodule (git lists its folder): its files, without its own git metadata.
        shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    else:
        shutil.copy2(source, target)


def copy_files(root: Path, names: list[str], into: Path) -> None:
    """Copy *names* (relative to *root*) into *into*, links kept as links, modes kept."""
    for name in names:
        _copy_entry(root / name, into / name)


def clean_copy(ctx: StageContext, into: Path) -> tuple[Path, str]:
    """Make the copy to build in *into* (emptied first); its project folder and a note.

    Outside a git work tree there is nothing to tell committed files from the rest: the
    project folder is built as it is, and the note says so.
    """
    shutil.rmtree(into, ignore_errors=True)
    found = work_tree(ctx.root)
    if found is None:
        return ctx.root, "not a git work tree: building the project folder as it is"
    top, prefix = found
    names = committable_files(ctx.root)
    has_commit = git.head(ctx.root) is not None
    if not has_commit:
        # Nothing to clone: a clean checkout has no version to derive either.
        project = into / prefix
        project.mkdir(parents=True)
        copy_files(ctx.root, names, project)
        return project, f"{len(names)} files git would commit (no commit yet: no git history)"
    run = ctx.runner.run
    env = _NOT_INHERITED
    clone = ["git", "clone", "--quiet", "--shared", "--no-checkout", str(top), str(into)]
    run(clone, env=env, cwd=into.parent)
    project = into / prefix
    if prefix != Path():
        # Around the project (a workspace root, a parent's configuration): the last commit.
        run(["git", "checkout", "--quiet", "HEAD", "--", "."], env=env, cwd=into)
        shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True, exist_ok=True)
    copy_files(ctx.root, names, project)
    # The index is what would be committed: exactly the files just copied.
    run(["git", "add", "--all", "--force", "--", "."], env=env, cwd=into)
    return project, f"{len(names)} files git would commit, in a clone of {top.name}'s repository"
