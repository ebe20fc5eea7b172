"""pip-audit over the locked dependencies, exported from ``uv.lock`` with hashes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from ci_tasks.core.retry import NETWORK_ERRORS
from ci_tasks.stages.security._common import last_line, read_json_file, run_tool, tool_version
from ci_tasks.stages.security._model import Finding, ScanContext, ScanResult

NAME = "pip-audit"
NO_DEPENDENCY_AUDITED = "no dependency could be audited"
# How pip-audit dies when its service cannot be reached or answers with an error: a
# traceback ending in requests' ConnectionError or its own ServiceError, and no report.
_UNREACHABLE = re.compile(
    r"ConnectionError|ServiceError|Could not connect|Max retries exceeded|"
    r"[Cc]onnection (?:refused|reset|aborted)|[Nn]ame or service not known|timed out"
)


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


def parse(report: Mapping[str, Any], lock_text: str = "") -> ScanResult:
    """A :class:`ScanResult` from pip-audit's ``-f json`` report (pure).

    A dependency with a ``skip_reason`` was not audited: it becomes a finding
    ``skipped:<name>`` (accept it only through an ignore with a reason and a date), and
    when *no* dependency was audited the result is unverified, never a pass.
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
                    file="uv.lock",
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
                    file="uv.lock",
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


class PipAudit:
    """The :class:`~ci_tasks.security._model.Scanner` auditing ``uv.lock``."""

    name = NAME

    def scan(self, ctx: ScanContext) -> ScanResult:
        """Export the lock with hashes, audit it with pip-audit (no pip, no resolving)."""
        if not (ctx.root / "uv.lock").is_file():
            return ScanResult(NAME, "failed", errors=("uv.lock not found; run `uv lock`",))
        requirements = ctx.workdir / "requirements.txt"
        export = [ctx.tools["uv"], "export", "--frozen", "--format", "requirements-txt"]
        export += ["--no-emit-project", "--no-default-groups", "--quiet"]
        for group in ctx.groups:
            export += ["--group", group]
        export += ["-o", str(requirements)]
        done = run_tool(ctx, export)
        if isinstance(done, str) or not done.ok:
            why = done if isinstance(done, str) else last_line(done.tail)
            return ScanResult(NAME, "failed", errors=(f"uv export failed: {why}",))
        out = ctx.workdir / "pip-audit.json"
        out.unlink(missing_ok=True)
        command = [ctx.tools[NAME], "-r", str(requirements), "--disable-pip", "--require-hashes"]
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
            return ScanResult(NAME, "failed", errors=(done,))
        version = tool_version(ctx, NAME)
        report, problem = read_json_file(out)
        if problem:
            ctx.output.line(f"pip-audit exited {done.returncode}: {last_line(done.tail)}")
            result = classify_crash(done.returncode, done.tail)
        else:
            result = parse(report, (ctx.root / "uv.lock").read_text(encoding="utf-8"))
        return dataclasses.replace(result, version=version)
