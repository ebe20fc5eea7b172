"""The ``build`` stage: build, verify, reproduce, install-test, SBOM.

``uv build`` runs into a fresh folder outside the source tree (a backend may sweep an
earlier ``dist*/`` into the sdist), and builds the wheel *from the sdist*, so the sdist
provably holds what the wheel was built from. Every check runs even when an earlier one
failed, so one run tells the whole story; the verdict, the artifacts' hashes and each
check go to ``.ci-tasks/build-report.json``.

The verification tools (twine, check-wheel-contents, uv) come from the CI environment,
where ci-tasks' own lock pins them: the result does not depend on whether an adopter
happens to lock twine, and nothing is installed at run time. The session needs no venv
of its own: the build is isolated and the install test makes its own clean venv.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tasks.core import __version__, git, own_commands, reports, tools
from ci_tasks.core.errors import (
    EXIT_ERROR,
    CheckFailed,
    CITasksError,
    CommandFailed,
    ServiceUnavailable,
    ToolMissingError,
    UsageError,
    exit_code_for,
)
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.stage import StageContext, write_stage_report
from ci_tasks.stages.package.archives import ArchiveError, read_archive, sha256_file, unpack_sdist
from ci_tasks.stages.package.config import BuildConfig
from ci_tasks.stages.package.model import MAX_FINDINGS, Artifacts, Check
from ci_tasks.stages.package.reproduce import build_backend, compare_builds
from ci_tasks.stages.package.sbom import LockError, make_sbom
from ci_tasks.stages.package.source import clean_copy

if TYPE_CHECKING:
    from ci_tasks.core.runner import Completed

FIXED_EPOCH = 315532800
"""1980-01-01T00:00:00Z, the earliest time a zip can store: the epoch without a git commit."""

STRAY_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "__pycache__", ".nox", ".tox", ".venv", ".pytest_cache",
        ".mypy_cache", ".ruff_cache", ".hatch", ".ci-tasks", ".eggs", "htmlcov",
    }
)  # fmt: skip
STRAY_TOP_DIRS = frozenset({"dist", "build"})
STRAY_SUFFIXES = (".pyc", ".pyo", ".whl", ".DS_Store", ".coverage")
DATA_SUFFIXES = (".whl",)
"""Stray only where git does not track the file: a wheel the project commits is its data
(pypa/twine's ``tests/fixtures/*.whl``), which its own ``python -m build`` ships too."""
OWN_OUTPUTS_FIX = (
    f"{reports.REPORT_DIR}/ holds ci-tasks' outputs: if git tracks it, "
    f"`git rm -r --cached {reports.REPORT_DIR}`; outside git, add `{reports.REPORT_DIR}/` to "
    "the top-level .gitignore (`ci-tasks init` does; hatchling reads only that one)"
)
"""What to change when an sdist holds ``.ci-tasks/``: in git, build copies only the files
git would commit, and the folder ignores itself, so it arrives only when committed."""
_IMPORT = "import importlib, sys; importlib.import_module(sys.argv[1])"
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def parse_posargs(posargs: Sequence[str]) -> bool:
    """Whether to build a second time (``--no-reproduce`` says no)."""
    reproduce = True
    for arg in posargs:
        if arg == "--no-reproduce":
            reproduce = False
        else:
            msg = f"build: unknown argument {arg!r} (known: --no-reproduce)"
            raise UsageError(msg)
    return reproduce


def stray_members(names: Sequence[str], tracked: Collection[str] = ()) -> list[str]:
    """What does not belong in an sdist: VCS folders, caches, build output (pure).

    Each stray folder is named once (``pkg-1.0/.git/``), not once per file in it.
    *tracked* are the files git tracks, relative to the project: one of
    :data:`DATA_SUFFIXES` there is the project's own file, not build output.
    """
    found: list[str] = []
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) != 1:
        found.append(f"more than one top-level folder: {', '.join(sorted(tops))}")
    elif not any(name.count("/") == 1 and name.endswith("/PKG-INFO") for name in names):
        found.append("no PKG-INFO at the top level")
    for name in names:
        parts = name.strip("/").split("/")
        relative = parts[1:]
        for depth, part in enumerate(relative):
            if part in STRAY_DIRS or (depth == 0 and part in STRAY_TOP_DIRS and len(relative) > 1):
                stray = "/".join(parts[: depth + 2]) + "/"
                break
        else:
            stray = name if relative and relative[-1].endswith(STRAY_SUFFIXES) else ""
            if stray and relative[-1].endswith(DATA_SUFFIXES) and "/".join(relative) in tracked:
                stray = ""
        if stray and stray not in found:
            found.append(stray)
    return found


def _pyproject(root: Path) -> dict[str, Any]:
    return own_commands.pyproject(root)


def project_name(root: Path) -> str:
    """The normalised ``[project].name`` of the project in *root* (``""`` when unknown)."""
    name = str(_pyproject(root).get("project", {}).get("name", ""))
    return re.sub(r"[-_.]+", "-", name).lower()


def source_date_epoch(ctx: StageContext) -> tuple[int, str]:
    """``SOURCE_DATE_EPOCH`` for both builds, and where it came from.

    An epoch already set in the environment wins (the reproducible-builds convention);
    then the last commit's time; without git or a commit, :data:`FIXED_EPOCH`.
    """
    given = ctx.runner.env.get("SOURCE_DATE_EPOCH", "")
    if given.isdigit():
        return int(given), "SOURCE_DATE_EPOCH from the environment"
    try:
        done = ctx.runner.run(
            ["git", "log", "-1", "--format=%ct %h"], cwd=ctx.root, check=False, capture_stdout=True
        )
    except ToolMissingError:
        return FIXED_EPOCH, "git is not installed: fixed epoch 1980-01-01"
    fields = (done.stdout or "").split()
    if done.ok and len(fields) == 2 and fields[0].isdigit():  # noqa: PLR2004 - "time hash"
        return int(fields[0]), f"last commit {fields[1]}"
    return FIXED_EPOCH, "no git commit: fixed epoch 1980-01-01"


def _tail_lines(completed: Completed | CommandFailed, count: int = 5) -> str:
    lines = [line.strip() for line in completed.tail.splitlines() if line.strip()]
    return " | ".join(lines[-count:])


def _network_trouble(failure: CommandFailed) -> None:
    reason = NETWORK_ERRORS.reason(failure.returncode, failure.tail)
    if reason:
        msg = f"`{failure.command}` could not reach the package index ({reason})"
        raise ServiceUnavailable(msg) from None


def _uv_build(ctx: StageContext, what: str, out_dir: Path, source: Path, epoch: int) -> None:
    ctx.runner.run(
        [ctx.tool("uv"), "build", what, "--out-dir", str(out_dir), str(source)],
        cwd=ctx.root,
        env={"SOURCE_DATE_EPOCH": str(epoch)},
        retry_on=NETWORK_ERRORS,
    )


def build_once(
    ctx: StageContext, out_dir: Path, epoch: int, workdir: Path, *, announce: bool = True
) -> Artifacts | Check:
    """The sdist from a clean copy, then the wheel from it, into *out_dir*; a failed check if not.

    The sdist is built from a fresh copy of the files git would commit
    (:func:`~ci_tasks.stages.package.source.clean_copy`), what a CI checkout holds, never
    from the working tree with its caches. The copy and the unpacked sdist are made at
    the same folders in *workdir* for both builds: a compiler records the source path in
    what it makes (debug information), and ``uv build`` would unpack the sdist in a new
    temporary folder each time. A fixed build path is reproducible-builds' own answer;
    the project has nothing to change for it.
    """
    try:
        source, note = clean_copy(ctx, workdir / "source")
        if announce:
            ctx.output.line(f"building from {note}")
        _uv_build(ctx, "--sdist", out_dir, source, epoch)
        sdists = sorted(out_dir.glob("*.tar.gz"))
        if len(sdists) != 1:
            found = ", ".join(p.name for p in sdists) or "nothing"
            return Check("build", "failed", f"expected one sdist, got {found}")
        unpacked = unpack_sdist(sdists[0], workdir / "unpacked")
        _uv_build(ctx, "--wheel", out_dir, unpacked, epoch)
    except CommandFailed as exc:
        _network_trouble(exc)
        return Check("build", "failed", f"uv build failed: {_tail_lines(exc)}")
    except ArchiveError as exc:
        return Check("build", "failed", str(exc))
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        found = ", ".join(p.name for p in wheels) or "nothing"
        return Check("build", "failed", f"expected one wheel, got {found}")
    return Artifacts(sdists[0], wheels[0])


def check_twine(ctx: StageContext, artifacts: Artifacts) -> Check:
    """``twine check --strict`` on both artifacts; the failure names twine's warnings."""
    done = ctx.runner.run(
        [ctx.tool("twine"), "check", "--strict", *map(str, artifacts.all())],
        check=False,
        env={"NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"},
    )
    if done.ok:
        return Check("twine", "passed")
    problems = []
    for line in done.tail.splitlines():
        text = line.strip()
        if text.startswith(("WARNING", "ERROR")) and text not in problems:
            problems.append(text)
    return Check("twine", "failed", "; ".join(problems) or _tail_lines(done))


def check_wheel_contents(ctx: StageContext, wheel: Path) -> Check:
    """``check-wheel-contents`` (run in the project, so its own configuration applies)."""
    command = [ctx.tool("check-wheel-contents"), str(wheel)]
    done = ctx.runner.run(command, cwd=ctx.root, check=False)
    if done.ok:
        return Check("wheel-contents", "passed")
    return Check("wheel-contents", "failed", _tail_lines(done))


def check_sdist(sdist: Path, root: Path) -> Check:
    """The sdist holds no VCS folders, caches or build output (of the project in *root*)."""
    names = [member.name for member in read_archive(sdist).members]
    try:
        tracked = frozenset(git.tracked_files(root))
    except (git.GitError, ToolMissingError):  # outside git: nothing is the project's data
        tracked = frozenset()
    stray = stray_members(names, tracked)
    if stray:
        shown = ", ".join(stray[:MAX_FINDINGS])
        more = f" (and {len(stray) - MAX_FINDINGS} more)" if len(stray) > MAX_FINDINGS else ""
        ours = any(s.endswith(f"/{reports.REPORT_DIR}/") for s in stray)
        fix = f"; {OWN_OUTPUTS_FIX}" if ours else ""
        return Check("sdist-contents", "failed", f"{sdist.name} contains {shown}{more}{fix}")
    return Check("sdist-contents", "passed", f"{len(names)} members")


def top_level_names(wheel: Path) -> list[str]:
    """The importable top-level packages and modules in *wheel*."""
    names: set[str] = set()
    for member in read_archive(wheel).members:
        first = member.name.split("/", 1)[0]
        if first.endswith((".dist-info", ".data")):
            continue
        is_package = "/" in member.name
        stem = first if is_package else first.removesuffix(".py")
        if (is_package or first.endswith(".py")) and _MODULE_NAME.match(stem):
            names.add(stem)
    return sorted(names)


def locked_constraints(ctx: StageContext, workdir: Path) -> list[str]:
    """``-c <file>`` holding the runtime versions ``uv.lock`` pins (none without a lock).

    The install test then installs the wheel's dependencies at the locked versions, as a
    synced environment would, rather than whatever the index offers today.
    """
    if not (ctx.root / "uv.lock").is_file():
        return []
    target = workdir / "constraints.txt"
    command = [ctx.tool("uv"), "export", "--frozen", "--format", "requirements-txt"]
    command += ["--no-emit-project", "--no-emit-local", "--no-default-groups", "--no-hashes"]
    command += ["--quiet", "-o", str(target)]
    ctx.runner.run(command, cwd=ctx.root)
    return ["-c", str(target)]


def install_test(ctx: StageContext, wheel: Path, workdir: Path) -> list[Check]:
    """Install *wheel* into a brand-new venv, away from the source tree; import; run.

    Its dependencies are installed at the versions ``uv.lock`` pins, when there is one.
    """
    venv, away = workdir / "install-venv", workdir / "elsewhere"
    away.mkdir()
    constraints = locked_constraints(ctx, workdir)
    isolated: dict[str, str | None] = {
        "VIRTUAL_ENV": None,
        "PYTHONPATH": None,
        "UV_PROJECT_ENVIRONMENT": None,
    }
    base = tools.venv_python(ctx.venv) if ctx.venv is not None else Path(sys.executable)
    uv = ctx.tool("uv")
    ctx.runner.run([uv, "venv", "--quiet", "--python", str(base), str(venv)], cwd=away)
    python = tools.venv_python(venv)
    try:
        ctx.runner.run(
            [uv, "pip", "install", "--python", str(python), *constraints, str(wheel)],
            cwd=away,
            env=isolated,
            retry_on=NETWORK_ERRORS,
        )
    except CommandFailed as exc:
        _network_trouble(exc)
        failed = Check("install", "failed", f"{wheel.name} did not install: {_tail_lines(exc)}")
        return [failed, Check("command", "skipped", "the wheel did not install")]
    names = list(ctx.section(BuildConfig).import_names) or top_level_names(wheel)
    problems = []
    if not names:
        problems.append(
            "the wheel has no top-level package; set [tool.ci-tasks.build] import-names"
        )
    for name in names:
        done = ctx.runner.run([str(python), "-I", "-c", _IMPORT, name], cwd=away, check=False)
        if not done.ok:
            problems.append(f"import {name} failed: {_tail_lines(done, 1)}")
    locked = " (dependencies at uv.lock's versions)" if constraints else ""
    install = (
        Check("install", "failed", "; ".join(problems))
        if problems
        else (Check("install", "passed", f"imported {', '.join(names)}{locked}"))
    )
    return [install, run_command(ctx, venv, away, isolated)]


def run_command(ctx: StageContext, venv: Path, away: Path, env: dict[str, str | None]) -> Check:
    """The configured command, from the install venv's scripts."""
    command = ctx.section(BuildConfig).command
    if not command:
        return Check("command", "skipped", "no command configured")
    argv = shlex.split(command)
    script = tools.venv_python(venv).parent / argv[0]
    if not script.exists():
        return Check("command", "failed", f"{argv[0]!r} is not installed by the wheel")
    path = f"{script.parent}:{ctx.runner.env.get('PATH', '')}"
    done = ctx.runner.run(
        [str(script), *argv[1:]], cwd=away, check=False, env={**env, "PATH": path}
    )
    if done.ok:
        return Check("command", "passed", f"`{command}` exited 0")
    return Check("command", "failed", f"`{command}` exited {done.returncode}: {_tail_lines(done)}")


def write_sbom(ctx: StageContext, epoch: int) -> tuple[Check, dict[str, object]]:
    """The CycloneDX SBOM of the locked runtime dependencies, as JSON text in a dict."""
    if not ctx.section(BuildConfig).sbom:
        return Check("sbom", "skipped", "sbom = false"), {}
    lock = ctx.root / "uv.lock"
    try:
        text = lock.read_text(encoding="utf-8")
        document = make_sbom(text, project_name(ctx.root), epoch=epoch, tool_version=__version__)
    except FileNotFoundError:
        return Check("sbom", "failed", f"{lock} is missing; run `uv lock` or set sbom = false"), {}
    except LockError as exc:
        return Check("sbom", "failed", f"{lock}: {exc}"), {}
    count = len(document["components"])
    return Check("sbom", "passed", f"{count} runtime dependencies"), document


def publish(out: Path, artifacts: Artifacts, sbom: dict[str, object]) -> list[Path]:
    """Copy the verified artifacts (and SBOM) into *out*, replacing earlier ones.

    A folder made here ignores itself (a ``.gitignore`` holding ``*``, as ``uv build``
    writes in the folder it makes): the artifacts are never files git would commit, so
    the next build's copy never holds them, whatever the project's ``.gitignore`` says.
    """
    if not out.is_dir():
        reports.atomic_write(out / ".gitignore", "# Written by ci-tasks build.\n*\n")
    for pattern in ("*.whl", "*.tar.gz", "*.cdx.json"):
        for old in out.glob(pattern):
            old.unlink()
    written = []
    for path in artifacts.all():
        target = out / path.name
        reports.atomic_write(target, path.read_bytes())
        written.append(target)
    if sbom:
        target = out / (artifacts.sdist.name.removesuffix(".tar.gz") + ".cdx.json")
        reports.write_json(target, sbom)
        written.append(target)
    return written


def _check_entry(check: Check) -> dict[str, object]:
    entry: dict[str, object] = {"status": check.status, "message": check.message}
    if check.artifacts:
        entry["artifacts"] = dict(check.artifacts)
    return entry


def summary_markdown(checks: Sequence[Check], files: Sequence[Path], verdict: str) -> str:
    """The job summary: one row per check, one per artifact (pure)."""
    icon = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
    rows = [f"### build: {verdict}", "", "| check | result | detail |", "|---|---|---|"]
    rows += [f"| {c.name} | {icon[c.status]} {c.status} | {c.message} |" for c in checks]
    rows += ["", "| artifact | size | sha256 |", "|---|---|---|"]
    rows += [f"| {p.name} | {p.stat().st_size} | `{sha256_file(p)}` |" for p in files]
    return "\n".join(rows) + "\n"


def build(ctx: StageContext) -> None:
    """Build sdist and wheel; twine/wheel/sdist checks; reproducibility; install test; SBOM."""
    reproduce = parse_posargs(ctx.posargs) and ctx.section(BuildConfig).reproducible is not False
    workdir = Path(tempfile.mkdtemp(prefix="ci-tasks-build-"))
    try:
        epoch, epoch_source = source_date_epoch(ctx)
        ctx.output.line(f"SOURCE_DATE_EPOCH={epoch} ({epoch_source})")
        checks, files = run_checks(ctx, workdir, epoch, reproduce=reproduce)
    except CITasksError as exc:
        # An earlier green report must not outlive a run that could not finish.
        could_not_run = exit_code_for(exc) == EXIT_ERROR
        write_stage_report(
            ctx.root,
            "build",
            verdict="unverified" if could_not_run else "failed",
            body={"artifacts": [], "checks": {}, "error": str(exc)},
        )
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [c for c in checks if c.status == "failed"]
    verdict = "failed" if failed else "passed"
    for check in checks:
        style = {"passed": "ok", "failed": "error", "skipped": "warning"}[check.status]
        ctx.output.line(f"{check.name}: {check.status} {check.message}".rstrip(), style)
    write_stage_report(
        ctx.root,
        "build",
        verdict=verdict,
        body={
            "artifacts": [
                {"name": p.name, "size": p.stat().st_size, "sha256": sha256_file(p)}
                for p in files
                if not p.name.endswith(".cdx.json")
            ],
            "checks": {c.name: _check_entry(c) for c in checks},
            "output_dir": ctx.section(BuildConfig).output_dir,
            "sbom": next((p.name for p in files if p.name.endswith(".cdx.json")), None),
            "source_date_epoch": {"value": epoch, "source": epoch_source},
        },
    )
    ctx.output.summary(summary_markdown(checks, files, verdict))
    if failed:
        detail = "; ".join(f"{c.name}: {c.message}" for c in failed)
        msg = f"build checks failed ({detail})"
        raise CheckFailed(msg)


def run_checks(
    ctx: StageContext, workdir: Path, epoch: int, *, reproduce: bool
) -> tuple[list[Check], list[Path]]:
    """Every check, in order; the artifacts published to the output folder."""
    config = ctx.section(BuildConfig)
    first = build_once(ctx, workdir / "first", epoch, workdir)
    if isinstance(first, Check):
        later = ("twine", "wheel-contents", "sdist-contents", "reproducible", "install")
        return [first, *(Check(n, "skipped", "nothing was built") for n in later)], []
    checks = [
        Check("build", "passed", f"{first.sdist.name}, {first.wheel.name}"),
        check_twine(ctx, first),
        check_wheel_contents(ctx, first.wheel),
        check_sdist(first.sdist, ctx.root),
    ]
    if reproduce:
        second = build_once(ctx, workdir / "second", epoch, workdir, announce=False)
        if isinstance(second, Check):
            checks.append(dataclasses.replace(second, name="reproducible"))
        else:
            backend = build_backend(_pyproject(ctx.root))
            checks.append(
                compare_builds(first, second, mode=config.reproduce_mode, backend=backend)
            )
    else:
        checks.append(Check("reproducible", "skipped", "--no-reproduce or reproducible = false"))
    checks += install_test(ctx, first.wheel, workdir)
    sbom_check, sbom = write_sbom(ctx, epoch)
    checks.append(sbom_check)
    files = publish(ctx.root / config.output_dir, first, sbom)
    return checks, files
