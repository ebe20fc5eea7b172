"""The ``build`` stage: build, check, reproduce and install the distributions.

Registering the session imports none of :mod:`.session` (every nox start registers it;
it loads when build runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_tasks.core import matrix
from ci_tasks.core.stage import StageSpec, nox_session
from ci_tasks.stages.package.config import BuildConfig

if TYPE_CHECKING:
    from ci_tasks.core.config import Config
    from ci_tasks.core.stage import StageContext

USAGE = """\
usage: nox -s build [-- --no-reproduce]

uv build (sdist, then the wheel from it), twine check --strict, wheel and sdist contents,
a reproducibility rebuild, an install test and an SBOM (configured in
[tool.ci-tasks.build]).

options:
  --no-reproduce  build once; the reproducibility check is reported as skipped
"""


def build(ctx: StageContext) -> None:
    """Build sdist and wheel; twine/wheel/sdist checks; reproducibility; install test; SBOM."""
    from ci_tasks.stages.package import session  # noqa: PLC0415 - loaded when it runs

    session.build(ctx)


def register(config: Config) -> None:
    """Register the ``build`` nox session (no venv: its tools are the CI environment's).

    Tagged ``dist:<output-dir>``: CI's build job uploads that folder for the tests jobs.
    """
    dist = f"{matrix.DIST_TAG}{config.section(BuildConfig).output_dir}"
    nox_session(build, name="build", config=config, venv_backend="none", tags=("ci", dist))


STAGE: StageSpec = StageSpec(
    name="build",
    section=BuildConfig,
    register=register,
    run=build,
    report="build",
    usage=USAGE,
)

__all__ = ["STAGE", "build", "register"]
