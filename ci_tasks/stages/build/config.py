"""``[tool.ci-tasks.build]``: the build stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    """``[tool.ci-tasks.build]``: what the ``build`` session checks."""

    import_names: tuple[str, ...] = ()
    """Modules imported from the installed wheel (default: its top-level packages)."""
    command: str = ""
    """A command run from the installed wheel's venv, e.g. ``"sample --version"``."""
    reproducible: bool = True
    """Build twice with ``SOURCE_DATE_EPOCH`` and require identical bytes."""
    sbom: bool = True
    """Write a CycloneDX SBOM of the locked runtime dependencies beside the artifacts."""
    output_dir: str = dataclasses.field(default="dist", metadata={"nonempty": True})
    """Where the verified artifacts are copied, relative to the project."""
