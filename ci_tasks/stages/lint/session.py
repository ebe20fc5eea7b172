"""The ``lint`` stage: ruff, a current lock, the pinning policy, and mypy where configured.

ruff, black (where the project formats with black) and mypy are the project's own when
its ``uv.lock`` locks them, else the CI environment's (:mod:`.toolchain`); the session has
a venv only when one of them needs the project's environment.

Every problem becomes a :class:`~ci_tasks.pinning.Finding` with a file and, where there
is one, a line: an ``::error file=,line=::`` annotation under GitHub Actions, a
``file:line: message`` line elsewhere, and an entry of ``.ci-tasks/lint-report.json``
(which ``readiness`` reads).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core import git, ignores, own_commands, reports, tools
from ci_tasks.core.errors import CheckFailed, CITasksError, ToolMissingError
from ci_tasks.core.pins import PRE_COMMIT, Pin
from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.core.stage import StageContext, write_stage_report
from ci_tasks.stages.lint import pinning, scope, toolchain
from ci_tasks.stages.lint.config import LintConfig, LintIgnore
from ci_tasks.stages.lint.pinning import Finding
from ci_tasks.stages.lint.toolchain import Toolchain

_MYPY_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? error: (?P<message>.*)$")
_MYPY_CODE = re.compile(r"\s\[(?P<code>[a-z][a-z-]*)\]$")
_WOULD_REFORMAT = "Would reformat: "
_UNFORMATTED_AT = re.compile(r"^\s*--> (?P<file>.+?):(?P<line>\d+):\d+$")
_BLACK_DIFF = re.compile(r"^--- (?P<file>[^\t]+?)(?::cell_\d+)?\t")
_BLACK_HUNK = re.compile(r"^@@ -(?P<line>\d+)")
_BLACK_ERROR = re.compile(r"^error: cannot format (?P<file>.+?): (?P<why>.*)$")
_VERSION = re.compile(r"\b(?P<version>\d+\.\d+(?:\.\d+)*(?:[a-z]+\d+)?)\b")


def parse_ruff_json(text: str, root: Path) -> list[Finding]:
    """Findings from ``ruff check --output-format=json``; ValueError if it is not that."""
    data: Any = json.loads(text or "[]")
    if not isinstance(data, list):
        msg = "ruff did not print a JSON list"
        raise ValueError(msg)  # noqa: TRY004 - a parse failure, reported as such by the caller
    findings = []
    for item in data:
        location = item.get("location") or {}
        code = item.get("code") or "syntax"
        findings.append(
            Finding(
                "ruff",
                reports.portable_path(str(item.get("filename", ".")), root),
                location.get("row"),
                f"{code} {item.get('message', '')}".strip(),
                code=item.get("code") or None,
            )
        )
    return findings


def parse_ruff_format(text: str, root: Path) -> list[Finding]:
    """Findings from ``ruff format --check`` (one per file it would reformat).

    ruff before 0.15 prints ``Would reformat: FILE``; later ones a diagnostic per file,
    ``unformatted: File would be reformatted`` then `` --> FILE:LINE:COL``.
    """
    files: dict[str, int | None] = {}
    for line in text.splitlines():
        if line.startswith(_WOULD_REFORMAT):
            files.setdefault(line[len(_WOULD_REFORMAT) :].strip(), None)
        elif match := _UNFORMATTED_AT.match(line):
            files.setdefault(match["file"], int(match["line"]))
    return [
        Finding("format", reports.portable_path(name, root), at, "not formatted; run `ruff format`")
        for name, at in files.items()
    ]


def parse_black(diff: str, tail: str, root: Path) -> list[Finding]:
    """Findings from ``black --check --diff``: each file it would reformat or cannot format.

    The diff (its standard output) names each file (``--- FILE``, a tab, a date) and where its first
    change is; the files it cannot format are its ``error: cannot format FILE: why`` lines.
    """
    files: dict[str, int | None] = {}
    current: str | None = None
    lines = diff.splitlines()
    for index, line in enumerate(lines):
        if match := _BLACK_DIFF.match(line):
            current = match["file"]
            files.setdefault(current, None)
        elif (hunk := _BLACK_HUNK.match(line)) and current is not None and files[current] is None:
            context = 0
            for following in lines[index + 1 :]:
                if not following.startswith(" "):
                    break
                context += 1
            files[current] = int(hunk["line"]) + context
    found = [
        Finding("format", path, at, f"not formatted; run `black {path}`")
        for path, at in ((reports.portable_path(n, root), at) for n, at in files.items())
    ]
    for line in tail.splitlines():
        if match := _BLACK_ERROR.match(line.strip()):
            path = reports.portable_path(match["file"], root)
            found.append(Finding("format", path, None, f"black cannot format it: {match['why']}"))
    return found


def parse_mypy(text: str, root: Path) -> list[Finding]:
    """Findings from mypy's ``file:line: error: message`` lines."""
    findings = []
    for line in text.splitlines():
        match = _MYPY_LINE.match(line.strip())
        if match:
            findings.append(
                Finding(
                    "mypy",
                    reports.portable_path(match["file"], root),
                    int(match["line"]),
                    match["message"],
                    code=code["code"] if (code := _MYPY_CODE.search(match["message"])) else None,
                )
            )
    return findings


def _could_not_run(tool: str, code: int, tail: str) -> CITasksError:
    last = tail.strip().splitlines()[-1] if tail.strip() else "no output"
    return CITasksError(f"{tool} could not run (exit code {code}): {last}")


def _lock_current(ctx: StageContext) -> bool:
    done = ctx.runner.run(
        [ctx.tool("uv"), "lock", "--check"], cwd=ctx.root, check=False, retry_on=NETWORK_ERRORS
    )
    if done.returncode > 1:
        raise _could_not_run("uv lock --check", done.returncode, done.tail)
    return done.returncode == 0


def _lock_committed(ctx: StageContext) -> bool:
    """Whether git tracks ``uv.lock`` (outside a git work tree there is nothing to commit)."""
    try:
        done = ctx.runner.run(
            ["git", "ls-files", "--error-unmatch", "uv.lock"],
            cwd=ctx.root,
            check=False,
            capture_stdout=True,
            stream=False,
        )
    except ToolMissingError:
        return True
    return done.ok or "not a git repository" in done.tail


def _lock_problem(
    ctx: StageContext, *, lock_current: bool, uncommitted_ok: bool = False
) -> str | None:
    """Why ``uv.lock`` does not pin the dependency groups (a missing one is pinning's to see)."""
    if not (ctx.root / "uv.lock").is_file():
        return None
    if not lock_current:
        return "uv.lock is out of date"
    if not uncommitted_ok and not _lock_committed(ctx):
        return "uv.lock is not committed"
    return None


def _sync(
    ctx: StageContext, chain: Toolchain, *, lock_current: bool, mypy: scope.Check | None = None
) -> Path:
    """Sync the groups *chain* needs from ``uv.lock``; the environment's folder.

    The session's venv, or the project's ``.venv`` outside a session. ``--inexact``: lint
    only needs its tools present. A stale lock is a finding, not a reason to lint
    nothing: then what it pins is installed as it is (``--frozen``).
    """
    target = ctx.venv or ctx.root / ".venv"
    command = [ctx.tool("uv"), "sync", "--locked" if lock_current else "--frozen", "--inexact"]
    command.append("--no-default-groups")
    flag = "--group" if chain.mypy_needs_project else "--only-group"  # ruff needs no project
    for group in chain.sync_groups(tuple(ctx.config.dependency_groups)):
        command += [flag, group]
    if mypy is not None and chain.mypy_needs_project:  # the extras the project's mypy sees
        command += ["--all-extras"] if mypy.all_extras else [f"--extra={e}" for e in mypy.extras]
    env = {"UV_PROJECT_ENVIRONMENT": str(target), "VIRTUAL_ENV": None}
    ctx.runner.run(command, env=env, cwd=ctx.root, retry_on=NETWORK_ERRORS)
    if mypy is not None and mypy.deps and chain.mypy_needs_project:
        # What the project's mypy environment installs beside it (stubs), as it does:
        # by name, at the versions its own command would take.
        install = [ctx.tool("uv"), "pip", "install", "--python", str(target), *mypy.deps]
        ctx.runner.run(install, env={"VIRTUAL_ENV": None}, cwd=ctx.root, retry_on=NETWORK_ERRORS)
    return target


def _ruff(ctx: StageContext, ruff: str, chosen: scope.Scope) -> list[Finding]:
    """Ruff's check and format check over what the project's own gates check."""
    cache = _ruff_cache(ctx)
    findings: list[Finding] = []
    if chosen.check is not None:
        findings += _ruff_check(ctx, ruff, chosen.check, cache)
    if chosen.format is not None:
        fmt = ctx.runner.run(
            [ruff, "format", "--check", *chosen.format.paths],
            cwd=ctx.root,
            check=False,
            capture_stdout=True,
            env=cache,
        )
        if fmt.returncode > 1:
            raise _could_not_run("ruff format", fmt.returncode, fmt.tail)
        found = parse_ruff_format(fmt.stdout or "", ctx.root)
        if fmt.returncode and not found:  # it would reformat something we could not read
            found = [Finding("format", ".", None, "ruff format --check would reformat files")]
        findings += [f for f in found if chosen.format.covers(f.file)]
    return findings


def _black_binary(ctx: StageContext, chain: Toolchain, env: Path | None) -> str:
    """The black to run: the project's (``uv.lock``), else the CI environment's."""
    if env is not None and chain.black_needs_project:
        return tools.find("black", (tools.venv_scripts(env),))
    try:
        return ctx.tool("black")
    except ToolMissingError:
        msg = (
            "the project formats with black, but no black is pinned for lint to run: pin it "
            f"in {PRE_COMMIT} (psf/black-pre-commit-mirror) and run `ci-tasks lock`, or list "
            "it in a dependency group locked in uv.lock"
        )
        raise ToolMissingError(msg) from None


def _black(ctx: StageContext, black: str, chosen: scope.Check) -> list[Finding]:
    """``black --check --diff`` with the project's options over what its own gate checks."""
    cache = {"BLACK_CACHE_DIR": str(reports.report_dir(ctx.root) / "cache" / "black")}
    done = ctx.runner.run(
        [black, "--check", "--diff", "--no-color", *chosen.options, *chosen.paths],
        cwd=ctx.root,
        check=False,
        capture_stdout=True,
        env=cache,
    )
    found = parse_black(done.stdout or "", done.tail, ctx.root)
    if done.returncode not in (0, 1) and not found:
        raise _could_not_run("black", done.returncode, done.tail)
    if done.returncode and not found:  # it would reformat something we could not read
        found = [Finding("format", ".", None, "black --check would reformat files")]
    return [f for f in found if chosen.covers(f.file)]


def _ruff_cache(ctx: StageContext) -> dict[str, str | None]:
    """Its cache under .ci-tasks/, not a .ruff_cache/ in every folder holding a pyproject.toml."""
    return {"RUFF_CACHE_DIR": str(reports.report_dir(ctx.root) / "cache" / "ruff")}


def _ruff_check(
    ctx: StageContext, ruff: str, chosen: scope.Check, cache: dict[str, str | None]
) -> list[Finding]:
    check = ctx.runner.run(
        [ruff, "check", "--output-format=json", *ctx.posargs, *chosen.paths],
        cwd=ctx.root,
        check=False,
        capture_stdout=True,
        env=cache,
    )
    if check.returncode > 1:
        raise _could_not_run("ruff check", check.returncode, check.tail)
    try:
        findings = parse_ruff_json(check.stdout or "", ctx.root)
    except (ValueError, AttributeError):
        # posargs asked for another output format: ruff printed it; keep its verdict.
        findings = []
        if check.returncode:
            findings.append(Finding("ruff", ".", None, "ruff check found problems"))
    return [f for f in findings if chosen.covers(f.file)]


def mypy_command(root: Path, targets: tuple[str, ...]) -> list[str]:
    """``mypy`` with *targets*, else with the project's ``files`` setting, else over ``.``."""
    if targets:
        return ["mypy", *targets]
    if own_commands.table(root, "tool", "mypy").get("files"):
        return ["mypy"]
    if any((root / name).is_file() for name in ("mypy.ini", ".mypy.ini")):
        return ["mypy"]  # its own configuration says what to check, or mypy says what's missing
    return ["mypy", "."]


def _mypy_binary(ctx: StageContext, chain: Toolchain, env: Path | None) -> list[str]:
    """The mypy to run: the project's, the CI environment's looking at *env*, or alone."""
    pin = chain.pin("mypy")
    if chain.mypy_isolated and pin is not None:
        return isolated_mypy(ctx.tool("uv"), pin, sys.executable)
    if env is None:
        return [ctx.tool("mypy")]
    if chain.mypy_groups:
        return [tools.find("mypy", (tools.venv_scripts(env),))]
    # The CI environment's mypy, looking at the project's environment for imports.
    return [ctx.tool("mypy"), "--python-executable", str(tools.venv_python(env))]


def isolated_mypy(uv: str, pin: Pin, python: str) -> list[str]:
    """The mypy pre-commit runs: an environment of mypy and the hook's extras only.

    The CI environment holds ci_tasks and its own dependencies too; a mypy run from it
    would see them (an ``import tomli_w`` resolves, its ``type: ignore`` is then unused)
    where the project's hook does not (pure).
    """
    extras = [w for extra in pin.extras for w in ("--with", extra)]
    head = [uv, "tool", "run", "--isolated", "--python", python]
    return [*head, "--from", pin.requirement, *extras, "mypy"]


def _mypy(ctx: StageContext, binary: list[str], chosen: scope.Check) -> list[Finding]:
    """Run mypy with the project's own options, over its targets (:func:`mypy_command`).

    A hook's check is given the tracked files it covers, as pre-commit gives them; none:
    pre-commit skips the hook, and so does lint.
    """
    targets = chosen.paths
    if not targets and chosen.listed:
        try:
            targets = tuple(f for f in git.tracked_files(ctx.root) if chosen.covers(f))
        except (git.GitError, ToolMissingError):  # no repository: mypy's own `files`, or .
            targets = ()
        else:
            if not targets:
                return []
    command = mypy_command(ctx.root, targets)
    command[0:1] = binary
    ours = ["--cache-dir", f"{reports.REPORT_DIR}/cache/mypy", *chosen.options]
    command[len(binary) : len(binary)] = ours
    done = ctx.runner.run(command, cwd=ctx.root, check=False, capture_stdout=True)
    if done.returncode > 1:
        raise _could_not_run("mypy", done.returncode, done.tail)
    findings = parse_mypy(done.stdout or "", ctx.root)
    if done.returncode and not findings:
        findings.append(Finding("mypy", ".", None, "mypy reported errors (see its output)"))
    return [f for f in findings if f.file == "." or chosen.covers(f.file)]


def tool_version(ctx: StageContext, binary: str | Sequence[str]) -> str | None:
    """The version ``BINARY --version`` prints (``ruff 0.15.16``, ``mypy 1.10.0 (...)``)."""
    argv = [binary] if isinstance(binary, str) else list(binary)
    done = ctx.runner.run(
        [*argv, "--version"], cwd=ctx.root, check=False, capture_stdout=True, stream=False
    )
    match = _VERSION.search(done.stdout or "") if done.ok else None
    return match["version"] if match else None


def drift(tool: str, pin: Pin, ran: str | None) -> Finding | None:
    """A finding when the CI environment's *tool* is not the version pre-commit pins (pure)."""
    if ran is None or ran == pin.version:
        return None
    return Finding(
        "tool-drift",
        PRE_COMMIT,
        pin.line,
        f"{PRE_COMMIT} pins {tool} {pin.version} but the CI environment has {ran}; "
        "run `ci-tasks lock` and commit noxfile.py and noxfile.py.lock",
    )


@dataclasses.dataclass(frozen=True)
class Collected:
    """What lint's checks found, before any ignore is applied."""

    findings: tuple[Finding, ...]
    lock_current: bool
    tools: dict[str, dict[str, str | None]]
    """``{tool: {"version", "pinned_in", "source"}}``: which version ran, pinned where."""


def collect(ctx: StageContext, config: LintConfig, *, for_baseline: bool = False) -> Collected:
    """Run every lint check over the project; its findings and the tools that ran.

    *for_baseline*: an uncommitted ``uv.lock`` still pins (``init`` has just written it,
    and the commit adopting ci_tasks commits it): that is no finding to accept.
    """
    chosen = scope.choose(own_commands.read(ctx.root), config)
    mypy_on = chosen.mypy is not None
    chain = toolchain.read(ctx.root, mypy=mypy_on, black=chosen.black is not None)
    findings: list[Finding] = []
    lock_current = _lock_current(ctx) if config.lock_check else True
    if not lock_current:
        findings.append(
            Finding(
                "stale-lock",
                "uv.lock",
                None,
                "uv.lock is out of date with pyproject.toml; run `uv lock` and commit it",
            )
        )
    _say(ctx, chain, chosen)
    env = (
        _sync(ctx, chain, lock_current=lock_current, mypy=chosen.mypy) if chain.needs_env else None
    )
    if env is not None and chain.ruff_groups:
        ruff = tools.find("ruff", (tools.venv_scripts(env),))
    else:
        ruff = ctx.tool("ruff")
    binaries: dict[str, str | list[str]] = {"ruff": ruff}
    findings += _ruff(ctx, ruff, chosen)
    if chosen.black is not None:
        black = binaries["black"] = _black_binary(ctx, chain, env)
        findings += _black(ctx, black, chosen.black)
    if config.pinning:
        problem = _lock_problem(ctx, lock_current=lock_current, uncommitted_ok=for_baseline)
        findings += pinning.check(ctx.root, exact_groups=config.exact_groups, lock_problem=problem)
    if chosen.mypy is not None and (env is not None or chain.mypy_isolated):
        mypy = _mypy_binary(ctx, chain, env)
        binaries["mypy"] = mypy
        findings += _mypy(ctx, mypy, chosen.mypy)
    ran, drifted = _versions(ctx, chain, binaries)
    return Collected((*findings, *drifted), lock_current, ran)


def _say(ctx: StageContext, chain: Toolchain, chosen: scope.Scope) -> None:
    """Where each tool comes from, where its pins disagree, and what each check covers."""
    sources = chain.sources()
    for tool, source in sources.items():
        ctx.output.line(f"{tool}: {source}")
    for tool in sources:
        disagreement = chain.disagreement(tool)
        if disagreement is not None:
            pin, said = disagreement
            ctx.output.annotate("warning", said, file=PRE_COMMIT, line=pin.line, title="lint")
    for line in chosen.said():
        ctx.output.line(line)


def _versions(
    ctx: StageContext, chain: Toolchain, binaries: Mapping[str, str | Sequence[str]]
) -> tuple[dict[str, dict[str, str | None]], list[Finding]]:
    """The version of each tool that ran, pinned where; a drift from its pre-commit pin."""
    sources = chain.sources()
    ran: dict[str, dict[str, str | None]] = {}
    drifted: list[Finding] = []
    for tool, binary in binaries.items():
        version = tool_version(ctx, binary)
        ran[tool] = {
            "version": version,
            "pinned_in": chain.pinned_in(tool),
            "source": sources[tool],
        }
        pin = chain.pin(tool)
        found = drift(tool, pin, version) if pin is not None else None
        if found is not None:
            drifted.append(found)
    return ran, drifted


@dataclasses.dataclass(frozen=True)
class Judged:
    """Lint's findings split by the ignores in force, and the expired ones said out loud."""

    active: tuple[Finding, ...]
    ignored: tuple[tuple[Finding, LintIgnore], ...]
    notes: tuple[str, ...]


def judge(findings: Sequence[Finding], entries: Sequence[LintIgnore], on: dt.date) -> Judged:
    """Apply the ``[tool.ci-tasks.lint] ignore`` entries as of *on* (pure)."""
    active: list[Finding] = []
    ignored: list[tuple[Finding, LintIgnore]] = []
    notes: list[str] = []
    for finding in findings:
        verdict = ignores.judge(finding.ids, finding.file, entries, on)
        if verdict.live is None:
            active.append(finding)
            where = f"{finding.file}:{finding.line}" if finding.line else finding.file
            what = f"{finding.code or finding.rule} in {where}"
            notes.extend(ignores.expiry_note(e, what) for e in verdict.expired)
        else:
            ignored.append((finding, verdict.live))
    return Judged(tuple(active), tuple(ignored), tuple(dict.fromkeys(notes)))


def lint(ctx: StageContext) -> None:
    """Ruff check and format, a current uv.lock, the pinning policy (and mypy if asked)."""
    config = ctx.section(LintConfig)
    collected = collect(ctx, config)
    judged = judge(collected.findings, config.ignore, ctx.today())
    findings = judged.active
    write_stage_report(
        ctx.root,
        "lint",
        verdict="failed" if findings else "passed",
        body={
            "lock_current": collected.lock_current,
            "tools": collected.tools,
            "findings": [f.as_dict() for f in findings],
            "ignored": [
                {**f.as_dict(), "reason": e.reason, "until": str(e.until)}
                for f, e in judged.ignored
            ],
            "notes": list(judged.notes),
        },
    )
    if judged.ignored:
        ctx.output.line(f"{len(judged.ignored)} finding(s) ignored by [tool.ci-tasks.lint] ignore")
    for note in judged.notes:
        ctx.output.annotate("warning", note, title="lint")
    for finding in findings:
        ctx.output.annotate(
            "error",
            finding.message,
            file=finding.file,
            line=finding.line,
            title=f"lint: {finding.rule}",
        )
    if findings:
        rules = sorted({f.rule for f in findings})
        msg = f"lint found {len(findings)} problem(s) ({', '.join(rules)})"
        raise CheckFailed(msg)


# Fixed by a command (`uv lock`, `ci-tasks lock`), never accepted as a baseline.
_NOT_BASELINED = frozenset({"stale-lock", "tool-drift"})


def baseline(ctx: StageContext) -> list[ignores.Candidate]:
    """What lint finds offline (no ``uv lock --check``), as baseline candidates."""
    config = dataclasses.replace(ctx.section(LintConfig), lock_check=False)
    collected = collect(ctx, config, for_baseline=True)
    return [
        ignores.Candidate("lint", f.code or f.rule, f.file, f.message, f.line, f.rule)
        for f in collected.findings
        if f.rule not in _NOT_BASELINED
    ]
