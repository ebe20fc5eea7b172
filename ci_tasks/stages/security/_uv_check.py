"""``uv pip check``: the installed environment's requirements are all satisfied."""

from __future__ import annotations

import dataclasses

from ci_tasks.stages.security._common import last_line, run_tool, tool_version
from ci_tasks.stages.security._model import Finding, ScanContext, ScanResult

NAME = "uv-pip-check"
_INCOMPATIBLE = 1


def parse(output: str) -> ScanResult:
    """A :class:`ScanResult` from ``uv pip check``'s text output, exit code 1 (pure)."""
    # dict.fromkeys: the same line may arrive on both streams; keep each once, in order.
    stripped = (raw.strip() for raw in output.splitlines())
    lines = dict.fromkeys(line for line in stripped if line.startswith("The package"))
    findings = tuple(
        Finding(scanner=NAME, id="incompatible-requirement", severity="high", message=line)
        for line in lines
    )
    return ScanResult(NAME, "ran", findings=findings, counts={"findings": len(findings)})


class UvPipCheck:
    """The :class:`~ci_tasks.security._model.Scanner` checking the session environment."""

    name = NAME

    def scan(self, ctx: ScanContext) -> ScanResult:
        """Check the environment the project was installed into (uv venvs have no pip)."""
        if ctx.python is None:
            if ctx.python_problem:
                return ScanResult(NAME, "failed", errors=(ctx.python_problem,))
            return ScanResult(NAME, "unverified", errors=("no environment to check",))
        command = [ctx.tool("uv"), "pip", "check", "--python", str(ctx.python)]
        done = run_tool(ctx, command, capture_stdout=True)
        if isinstance(done, str):
            return ScanResult(NAME, "failed", errors=(done,))
        text = f"{done.stdout or ''}\n{done.tail}"
        version = tool_version(ctx, "uv")
        if done.returncode == 0:
            return ScanResult(NAME, "ran", version, counts={"findings": 0})
        result = parse(text)
        if done.returncode != _INCOMPATIBLE or not result.findings:
            why = f"uv pip check exited {done.returncode}: {last_line(done.tail)}"
            return ScanResult(NAME, "failed", version, errors=(why,))
        return dataclasses.replace(result, version=version)
