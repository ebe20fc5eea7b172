"""``[tool.ci-tasks.build]``: the build stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses
from typing import Literal

from ci_tasks.core.config import os_field, timeout_field


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    """``[tool.ci-tasks.build]``: what the ``build`` session checks."""

    import_names: tuple[str, ...] = ()
    """Modules imported from the installed wheel (default: its top-level packages)."""
    command: str = ""
    """A command run from the installed wheel's venv, e.g. ``"sample --version"``."""
    reproducible: bool | Literal["contents", "bytes"] = "contents"
    """Build twice with ``SOURCE_DATE_EPOCH`` and compare. ``"contents"`` (or ``true``):
    the wheel byte for byte, the sdist by its members, their bytes, modes and links (its
    timestamps and gzip header may differ, with a note); ``"bytes"``: the sdist byte for
    byte too; ``false``: build once."""
    sbom: bool = True
    """Write a CycloneDX SBOM of the locked runtime dependencies beside the artifacts."""
    output_dir: str = dataclasses.field(default="dist", metadata={"nonempty": True})
    """Where the verified artifacts are copied, relative to the project."""
    os: tuple[str, ...] | None = os_field()
    """The runner labels its CI jobs run on; unset: ``[tool.ci-tasks] os``."""
    timeout: float = timeout_field(900.0)
    """The session's whole budget, in seconds (also ``[tool.ci-tasks.timeouts] build``)."""

    @property
    def reproduce_mode(self) -> Literal["contents", "bytes"]:
        """How the two builds are compared (``true`` means the default, ``"contents"``)."""
        return "bytes" if self.reproducible == "bytes" else "contents"
