"""Report files: atomic writes, one envelope for every stage's JSON report, safe reading.

Every stage writes its evidence as ``.ci-tasks/<kind>-report.json`` with the same
envelope, so ``readiness`` can tell a fresh report from a stale one:
``{"schema": "ci-tasks/<kind>-report", "version": N, "commit": sha|null,
"generated_at": ISO-8601 UTC, "verdict": "passed"|"failed"|"unverified", ...}``.
Files are written atomically (temporary file, fsync, rename), so a crash never leaves
a half-written report, cache or checklist; an unreadable file is set aside, not trusted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ci_tasks.core import git, masking
from ci_tasks.core.actions import Output, default_output

REPORT_DIR = ".ci-tasks"
REPORT_DIR_GITIGNORE = "# Written by ci-tasks: this folder holds the sessions' outputs only.\n*\n"
"""``.ci-tasks/.gitignore``: git never lists or commits the folder (as pytest's cache does),
so a backend taking its files from git (setuptools-scm, flit) never ships it."""
ARTIFACT_PREFIX = "ci-tasks-"
"""CI uploads each session's ``REPORT_DIR`` as the artifact ``ci-tasks-<session>-<os>``;
``ci-tasks init`` writes that name into ``ci.yml`` and ``readiness`` looks for it."""
DURATIONS_FILE = "test-durations.json"
"""The tests stage's recorded durations, in ``REPORT_DIR`` (a shard's in its own folder)."""
DURATIONS_ARTIFACT_PREFIX = "durations-"
"""CI also uploads a tests session's ``DURATIONS_FILE`` files alone, as the artifact
``durations-<session>-<os>``: the next run's jobs download those, not the whole reports."""
JOBS_DIR = f"{REPORT_DIR}/ci-jobs"
"""Where CI's readiness gate downloads every job's artifact: ``<JOBS_DIR>/<artifact>/``,
one folder per job, so the same session's reports from several OSes never collide."""


def parse_time(value: object) -> dt.datetime | None:
    """An ISO-8601 timestamp (``generated_at``, GitHub's ``Z`` suffix) as an aware datetime.

    ``None`` for anything else: a report or an API answer may hold anything.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _new_file_mode() -> int:
    # The mode open() would give a new file; os.umask can only be read by setting it.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace *path* with *data* so readers see the old file or the new one, never half.

    The file keeps its permissions (a new one gets the usual ones, not mkstemp's 0600):
    ``ci-tasks init`` rewrites files such as ``pyproject.toml`` with it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = _new_file_mode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # chmod by name, not fchmod: Windows' Python (before 3.13) has no os.fchmod.
        Path(tmp).chmod(mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def write_json(path: Path, payload: Any, *, compact: bool = False) -> None:
    """Write *payload* as stable, masked JSON (sorted keys, trailing newline), atomically.

    *compact* drops the indentation for files only programs read: json's C encoder then
    writes them, about ten times faster (a 62,000-test durations file: 1.2 s to 0.1 s).
    """
    spacing: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, **spacing) + "\n"
    atomic_write(path, masking.mask(text))


def portable_path(name: str, root: Path | None = None) -> str:
    """A path a tool printed, as reports carry it: ``/``-separated, relative to *root*.

    The same file reads the same in a report from Linux, macOS or Windows, so reports and
    annotations from several OSes' jobs name it alike. An absolute path outside *root*
    stays absolute.
    """
    path = Path(name)
    if root is not None and path.is_absolute():
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def set_aside(path: Path, why: str, output: Output | None = None) -> Path:
    """Rename an unreadable *path* to ``<name>.corrupt-<timestamp>`` and warn; returns it."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.replace(target)
    (output or default_output()).annotate(
        "warning", f"{path} was unreadable ({why}); set aside as {target.name}, starting afresh"
    )
    return target


def read_json(path: Path, output: Output | None = None) -> Any | None:
    """The JSON in *path*; ``None`` when it does not exist or was unreadable (then set aside)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        set_aside(path, str(exc), output)
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        set_aside(path, f"invalid JSON: {exc}", output)
        return None


def current_commit(root: Path) -> str | None:
    """The commit checked out in *root* (``GITHUB_SHA`` outside a repository), or ``None``."""
    return git.head(root) or os.environ.get("GITHUB_SHA")


def now_iso() -> str:
    """The current UTC time, ISO-8601, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def report_dir(root: Path, output: Output | None = None) -> Path:  # noqa: ARG001
    """``.ci-tasks/`` in *root*, made (with its ``.gitignore``) if it has none yet.

    The one place the folder is made: whatever writes there asks for it first (the
    reports, the preflight cache, readiness' CI evidence, the tools' caches, the tests
    stage before pytest writes its files). Its ``.gitignore`` (``*``, written atomically)
    makes git ignore the folder in every project, ``ci-tasks init`` or not, and ``build``
    builds only the files git would commit, so nothing here reaches an sdist. *output* is
    kept for callers; there is nothing left to warn about.
    """
    folder = root / REPORT_DIR
    marker = folder / ".gitignore"
    if not marker.is_file():
        atomic_write(marker, REPORT_DIR_GITIGNORE)
    return folder


def report_path(root: Path, kind: str) -> Path:
    """Where the ``<kind>`` report of the project in *root* lives."""
    return root / REPORT_DIR / f"{kind}-report.json"


def report_schema(kind: str) -> str:
    """The ``schema`` of a ``<kind>`` report (``ci-tasks/tests-report``)."""
    return f"ci-tasks/{kind}-report"


def write_report(
    root: Path,
    kind: str,
    *,
    verdict: str,
    body: dict[str, Any],
    version: int,
    path: Path | None = None,
    commit: str | None = None,
) -> Path:
    """Write the ``<kind>`` report in the shared envelope; returns its path.

    *version* has no default: a stage's comes from its spec
    (:func:`ci_tasks.core.stage.write_stage_report`), so it is declared in one place.
    *commit*: the one the caller already asked git for (else it is asked here).
    """
    payload = {
        "schema": report_schema(kind),
        "version": version,
        "commit": commit or current_commit(root),
        "generated_at": now_iso(),
        "verdict": verdict,
        **body,
    }
    if path is None:
        report_dir(root)
    target = path or report_path(root, kind)
    write_json(target, payload)
    return target
