"""pip-audit over locked dependencies: the project's ``uv.lock`` and the CI environment's.

Each lock is exported with hashes (``uv export``) and audited without pip or resolving.
Local path packages (workspace members, ``file:`` requirements) are on no index: they are
left out of the export and listed as local, while their own dependencies are audited.
The CI environment's lock (``noxfile.py.lock``, written by ``uv lock --script
noxfile.py``) is the CI supply chain, audited the same way and reported on its own.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.stages.security._common import last_line, read_json_file, run_tool, tool_version
from ci_tasks.stages.security._model import Finding, ScanContext, ScanResult

NAME = "pip-audit"
CI_NAME = "ci-supply-chain"
CI_LOCK = "noxfile.py.lock"
CI_SCRIPT = "noxfile.py"
NO_DEPENDENCY_AUDITED = "no dependency could be audited"
NO_CI_LOCK = (
    f"not audited: the project has no {CI_LOCK}, so the CI environment is not locked "
    f"(`ci-tasks init` writes one; `uv lock --script {CI_SCRIPT}` makes it)"
)
# How pip-audit dies when its service cannot be reached or answers with an error: a
# traceback ending in requests' ConnectionError or its own ServiceError, and no report.
_UNREACHABLE = re.compile(
    r"ConnectionError|ServiceError|Could not connect|Max retries exceeded|"
    r"[Cc]onnection (?:refused|reset|aborted)|[Nn]ame or service not known|timed out"
)
_LOCAL_SOURCES = ("editable", "directory", "path", "virtual")


def lock_lines(lock_text: str) -> dict[str, int]:
    """The line of each package's ``name = "..."`` in ``uv.lock`` (pure), for annotations."""
    found: dict[str, int] = {}
    for number, line in enumerate(lock_text.splitlines(), start=1):
        match = re.fullmatch(r'name = "([^"]+)"', line.strip())
        if match:
            found.setdefault(_canonical(match.group(1)), number)
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def local_packages(lock_text: str) -> tuple[str, ...]:
    """The packages of a uv lock that come from a local path, the project itself aside (pure).

    uv records a workspace member or a path requirement with an ``editable``,
    ``directory``, ``path`` or ``virtual`` source; the project itself is the one at ``.``.
    """
    try:
        data = tomllib.loads(lock_text)
    except tomllib.TOMLDecodeError:
        return ()
    found = []
    for package in data.get("package", []):
        source = package.get("source", {})
        where = next((source[k] for k in _LOCAL_SOURCES if k in source), None)
        if where is not None and where != ".":
            found.append(str(package.get("name", "?")))
    return tuple(sorted(found))


def parse(report: Mapping[str, Any], lock_text: str = "", *, lock: str = "uv.lock") -> ScanResult:
    """A :class:`ScanResult` from pip-audit's ``-f json`` report on *lock* (pure).

    A dependency with a ``skip_reason`` was not audited: it becomes a finding
    ``skipped:<name>`` (accept it only through an ignore with a reason and a date), so a
    partly audited set fails and names what was skipped; when *no* dependency was
    audited the result is unverified, never a pass.
    """
    lines = lock_lines(lock_text)
    findings: list[Finding] = []
    audited = skipped = 0
    reasons: list[str] = []
    for dep in report.get("dependencies", []):
        name = str(dep.get("name", "?"))
        if "skip_reason" in dep:
            skipped += 1
            reasons.append(f"{name}: {dep['skip_reason']}")
            findings.append(
                Finding(
                    scanner=NAME,
                    id=f"skipped:{name}",
                    severity="unknown",
                    message=f"{name} could not be audited: {dep['skip_reason']}",
                    file=lock,
                    line=lines.get(_canonical(name)),
                )
            )
            continue
        audited += 1
        version = dep.get("version", "?")
        for vuln in dep.get("vulns", []):
            fixes = [str(v) for v in vuln.get("fix_versions", [])]
            fix = f"upgrade {name} to {' or '.join(fixes)}" if fixes else "no fixed version yet"
            description = str(vuln.get("description") or "").strip()
            findings.append(
                Finding(
                    scanner=NAME,
                    id=str(vuln.get("id", "?")),
                    severity="unknown",
                    message=f"{name} {version}: {description}".rstrip(": "),
                    file=lock,
                    line=lines.get(_canonical(name)),
                    fix=fix,
                    aliases=tuple(str(a) for a in vuln.get("aliases", [])),
                )
            )
    counts = {"audited": audited, "skipped": skipped, "vulnerabilities": len(findings) - skipped}
    if skipped and not audited:
        why = f"{NO_DEPENDENCY_AUDITED} ({skipped} skipped; first: {reasons[0]})"
        return ScanResult(NAME, "unverified", findings=(), errors=(why,), counts=counts)
    return ScanResult(NAME, "ran", findings=tuple(findings), counts=counts)


def classify_crash(returncode: int, tail: str) -> ScanResult:
    """The result of a pip-audit run that wrote no report (pure).

    An unreachable or failing vulnerability service means nothing was audited
    (unverified); any other crash is pip-audit failing.
    """
    if _UNREACHABLE.search(tail):
        why = f"vulnerability service unreachable: {NO_DEPENDENCY_AUDITED}"
        return ScanResult(NAME, "unverified", errors=(why,), counts={"audited": 0, "skipped": 0})
    why = f"pip-audit exited {returncode} without a report: {last_line(tail)}"
    return ScanResult(NAME, "failed", errors=(why,))


def audit(ctx: ScanContext, name: str, lock: Path, export: Sequence[str]) -> ScanResult:
    """Export *lock* with hashes by the ``uv export`` arguments *export*, then audit it."""
    requirements = ctx.workdir / f"{name}-requirements.txt"
    command = [ctx.tool("uv"), "export", "--frozen", "--format", "requirements-txt"]
    command += [*export, "--no-emit-local", "--quiet", "-o", str(requirements)]
    done = run_tool(ctx, command)
    if isinstance(done, str) or not done.ok:
        why = done if isinstance(done, str) else last_line(done.tail)
        return ScanResult(name, "failed", errors=(f"uv export failed: {why}",))
    out = ctx.workdir / f"{name}.json"
    out.unlink(missing_ok=True)
    command = [ctx.tool(NAME), "-r", str(requirements), "--disable-pip", "--require-hashes"]
    command += ["-f", "json", "--desc", "on", "--aliases", "on", "--output", str(out)]
    command += ["--progress-spinner", "off"]
    if ctx.config.osv_url:
        command += ["-s", "osv", "--osv-url", ctx.config.osv_url]
    else:
        command += ["-s", ctx.config.service]
    # Not streamed: a dead service makes pip-audit print a long traceback; its last
    # line is enough, and the verdict says what it means.
    done = run_tool(ctx, command, retry_on=NETWORK_ERRORS, stream=False)
    if isinstance(done, str):
        return ScanResult(name, "failed", errors=(done,))
    version = tool_version(ctx, NAME)
    report, problem = read_json_file(out)
    lock_text = lock.read_text(encoding="utf-8")
    if problem:
        ctx.output.line(f"pip-audit exited {done.returncode}: {last_line(done.tail)}")
        result = classify_crash(done.returncode, done.tail)
    else:
        result = parse(report, lock_text, lock=lock.relative_to(ctx.root).as_posix())
    local = local_packages(lock_text)
    counts = {**result.counts, "local": len(local)}
    findings = tuple(dataclasses.replace(f, scanner=name) for f in result.findings)
    return dataclasses.replace(
        result, scanner=name, version=version, findings=findings, counts=counts, local=local
    )


class PipAudit:
    """The :class:`~ci_tasks.security._model.Scanner` auditing the project's ``uv.lock``."""

    name = NAME

    def scan(self, ctx: ScanContext) -> ScanResult:
        """The project's locked dependencies and groups; local path packages listed."""
        lock = ctx.root / "uv.lock"
        if not lock.is_file():
            return ScanResult(NAME, "failed", errors=("uv.lock not found; run `uv lock`",))
        export = ["--no-emit-project", "--no-default-groups"]
        for group in ctx.groups:
            export += ["--group", group]
        return audit(ctx, NAME, lock, export)


class CiLockAudit:
    """The :class:`~ci_tasks.security._model.Scanner` auditing ``noxfile.py.lock``.

    That lock pins the CI environment (nox, ci-tasks and every tool the stages run): a
    vulnerability there is a vulnerability in what runs with the repository's secrets.
    """

    name = CI_NAME

    def scan(self, ctx: ScanContext) -> ScanResult:
        """The CI environment's lock, or a ``skipped`` result saying there is none."""
        lock = ctx.root / CI_LOCK
        if not lock.is_file() or not (ctx.root / CI_SCRIPT).is_file():
            return ScanResult(CI_NAME, "skipped", errors=(NO_CI_LOCK,))
        return audit(ctx, CI_NAME, lock, ["--script", CI_SCRIPT])
