"""The ``build`` stage: build, check, reproduce and install the distributions."""

from __future__ import annotations

from ci_tasks.core.stage import StageSpec
from ci_tasks.stages.build.config import BuildConfig
from ci_tasks.stages.build.session import build, register

USAGE = """\
usage: nox -s build [-- --no-reproduce]

uv build (sdist, then the wheel from it), twine check --strict, wheel and sdist contents,
a reproducibility rebuild, an install test and an SBOM (configured in
[tool.ci-tasks.build]).

options:
  --no-reproduce  build once; the reproducibility check is reported as skipped
"""

STAGE: StageSpec = StageSpec(
    name="build",
    section=BuildConfig,
    register=register,
    run=build,
    report="build",
    usage=USAGE,
)

__all__ = ["STAGE", "build", "register"]
