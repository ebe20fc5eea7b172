"""bandit over the project's source, with ``[tool.bandit]`` from ``pyproject.toml``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_tasks.core import reports
from ci_tasks.stages.security._common import last_line, read_json_file, run_tool
from ci_tasks.stages.security._model import Finding, ScanContext, ScanResult

NAME = "bandit"
# bandit: 0 nothing found, 1 issues found; anything else is bandit failing.
_OK_CODES = (0, 1)
_SKIP_DIRS = {"tests", "test", "docs", "benchmarks", "build", "dist"}


def parse(report: Mapping[str, Any]) -> ScanResult:
    """A :class:`ScanResult` from bandit's ``-f json`` report (pure).

    bandit exits 0 when a file has a syntax error or a target does not exist; both only
    appear in ``errors[]``, and here each one fails the scan: a file bandit could not
    read is a file nobody checked.
    """
    findings = tuple(
        Finding(
            scanner=NAME,
            id=str(item.get("test_id", "?")),
            severity=str(item.get("issue_severity", "undefined")).lower(),
            message=str(item.get("issue_text", "")).strip(),
            # bandit names files as its targets were given (relative), with the OS's `\`.
            file=reports.portable_path(str(item["filename"])) if item.get("filename") else None,
            line=item.get("line_number"),
            fix=item.get("more_info"),
        )
        for item in report.get("results", [])
    )
    errors = tuple(
        f"{e.get('filename', '?')}: {e.get('reason', 'error')}" for e in report.get("errors", [])
    )
    version = None
    for finding in findings:
        # bandit's JSON does not carry its version; its documentation links do.
        parts = (finding.fix or "").split("/en/")
        if len(parts) == 2:  # noqa: PLR2004 - before and after the one separator
            version = parts[1].split("/")[0]
            break
    totals = report.get("metrics", {}).get("_totals", {})
    counts = {"findings": len(findings), "errors": len(errors), "loc": int(totals.get("loc", 0))}
    return ScanResult(
        scanner=NAME,
        status="failed" if errors else "ran",
        version=version,
        findings=findings,
        errors=errors,
        counts=counts,
    )


def default_paths(root: Path) -> list[str]:
    """The project's package directories: flat layout (``pkg/__init__.py``) or ``src/``."""
    if (root / "src").is_dir():
        return ["src"]
    return sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir() and (d / "__init__.py").is_file() and d.name not in _SKIP_DIRS
    )


class Bandit:
    """The :class:`~ci_tasks.security._model.Scanner` running bandit."""

    name = NAME

    def scan(self, ctx: ScanContext) -> ScanResult:
        """Run bandit over the configured paths (default: the package directories)."""
        paths = list(ctx.config.paths) or default_paths(ctx.root)
        if not paths:
            why = "no package directory found; set [tool.ci-tasks.security] paths"
            return ScanResult(NAME, "failed", errors=(why,))
        out = ctx.workdir / "bandit.json"
        command = [ctx.tool(NAME), "-r", *paths, "-f", "json", "-o", str(out), "-q"]
        command += ["--severity-level", ctx.config.severity]
        command += ["--confidence-level", ctx.config.confidence]
        if (ctx.root / "pyproject.toml").is_file():
            # bandit reads [tool.bandit] only when told to.
            command[1:1] = ["-c", "pyproject.toml"]
        done = run_tool(ctx, command)
        if isinstance(done, str):
            return ScanResult(NAME, "failed", errors=(done,))
        report, problem = read_json_file(out)
        if done.returncode not in _OK_CODES or problem:
            why = problem or f"exited {done.returncode}"
            return ScanResult(NAME, "failed", errors=(f"bandit {why}: {last_line(done.tail)}",))
        return parse(report)
