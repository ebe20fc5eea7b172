"""The ``smoke`` stage: wait until a deployed service is ready, then check it.

Registering the session imports none of :mod:`.session` (every nox start registers it;
it loads when smoke runs or prints its help).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_tasks.core.stage import StageSpec, nox_session
from ci_tasks.stages.smoke.config import SmokeConfig

if TYPE_CHECKING:
    from ci_tasks.core.config import Config
    from ci_tasks.core.stage import StageContext


def smoke(ctx: StageContext) -> None:
    """Wait until the deployment is healthy, then assert its endpoints (Slack on failure)."""
    from ci_tasks.stages.smoke import session  # noqa: PLC0415 - loaded when it runs

    session.smoke(ctx)


def usage() -> str:
    """What ``nox -s smoke -- --help`` prints."""
    from ci_tasks.stages.smoke import session  # noqa: PLC0415 - loaded when asked

    return session.FLAGS.usage()


def register(config: Config) -> None:
    """Register the ``smoke`` nox session (no virtualenv: it runs no tools)."""
    nox_session(smoke, name="smoke", config=config, tags=("deploy",), venv_backend="none")


STAGE: StageSpec = StageSpec(
    name="smoke",
    section=SmokeConfig,
    register=register,
    report="smoke",
    exports={"url": lambda section, _config: section.url},
    usage=usage,
    ci=False,
)

__all__ = ["STAGE", "register", "smoke"]
