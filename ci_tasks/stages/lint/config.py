"""``[tool.ci-tasks.lint]``: the lint stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class LintConfig:
    """``[tool.ci-tasks.lint]``: what the lint stage checks besides ruff."""

    mypy: bool = False
    """Run ``mypy`` (with the project's own mypy configuration) as part of lint."""
    mypy_targets: tuple[str, ...] = ()
    """What mypy checks (default: its own ``files`` setting if the project has one, else ``.``)."""
    lock_check: bool = True
    """``uv lock --check``: a stale ``uv.lock`` is a lint failure."""
    pinning: bool = True
    """Check the pinning policy (dependency groups, workflow actions, ``pip install``)."""
    exact_groups: tuple[str, ...] = ()
    """Dependency groups whose every entry must also be pinned with ``==`` in pyproject
    (``"*"``: all). A current, committed ``uv.lock`` pins every group already."""
