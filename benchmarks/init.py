"""How long `ci-tasks init` takes without its `uv lock` step: rendering, planning, writing.

Run: uv run python benchmarks/init.py
"""

import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ci_tasks.adopt import init, workflows
from ci_tasks.core.actions import Output
from ci_tasks.core.config import Config

PYPROJECT = """\
[project]
name = "bench"  # a comment to keep
version = "0.1.0"
requires-python = ">=3.11"

[dependency-groups]
dev = ["pytest==9.2.0"]
"""


def timed(func: Callable[[], object], repeat: int = 50) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def fresh_project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "bench").mkdir()
    (root / "bench/__init__.py").write_text("")
    return root


def main() -> None:
    spec = workflows.WorkflowSpec.from_config(Config())
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))
        quiet = Output(stream=io.StringIO(), env={})
        done = fresh_project(Path(tmp) / "done")
        init.run(done, update_lock=False, out=quiet)
        figures = {
            "render all workflows": timed(lambda: workflows.render_all(spec)),
            "plan (fresh project)": timed(
                lambda: init.plan(fresh_project(Path(tmp) / str(next(counter))))
            ),
            "init, no lock (fresh)": timed(
                lambda: init.run(
                    fresh_project(Path(tmp) / str(next(counter))), update_lock=False, out=quiet
                )
            ),
            "init re-run (no-op)": timed(lambda: init.run(done, update_lock=False, out=quiet)),
        }
    for name, ms in figures.items():
        print(f"{name:<24} {ms:8.2f} ms (median of 50)")


if __name__ == "__main__":
    main()
