"""``[tool.ci-tasks.security]``: the security stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses
from typing import Literal

from ci_tasks.core.config import os_field, timeout_field
from ci_tasks.core.ignores import Ignore

Level = Literal["low", "medium", "high"]


@dataclasses.dataclass(frozen=True)
class SecurityIgnore(Ignore):
    """One ``[[tool.ci-tasks.security.ignore]]`` entry: an accepted finding, accounted for.

    ``reason``, ``until`` and the optional ``file`` are :class:`~ci_tasks.core.ignores.Ignore`'s.
    """

    id: str = ""
    """A CVE/GHSA/PYSEC id, a bandit test id (B602), a zizmor rule or ``skipped:<package>``."""

    @property
    def key(self) -> str:
        """The id the entry accepts."""
        return self.id


VERSIONS_REMOVED = (
    "'versions' is no longer read: the scanners come from the CI environment, pinned in "
    "noxfile.py.lock; remove it, and change a version with "
    "`uv lock --script noxfile.py --upgrade-package <scanner>`"
)


@dataclasses.dataclass(frozen=True)
class ScannerVersions:
    """``[tool.ci-tasks.security.versions]``: removed; a one-line error says where versions live.

    The scanners used to be installed at run time at these versions; they are now
    dependencies of ci-tasks, pinned by the CI environment's lock.
    """

    bandit: str | None = None
    pip_audit: str | None = None
    zizmor: str | None = None


@dataclasses.dataclass(frozen=True)
class SecurityConfig:
    """``[tool.ci-tasks.security]``: what the ``security`` session scans and how strictly."""

    severity: Level = "medium"
    """bandit's minimum issue severity."""
    confidence: Level = "medium"
    """bandit's minimum issue confidence."""
    paths: tuple[str, ...] = ()
    """What bandit scans (default: the project's package directories)."""
    groups: tuple[str, ...] | None = None
    """Dependency groups exported for pip-audit besides the project's own (default:
    ``dependency_groups`` and the groups a plain ``uv sync`` installs)."""
    service: Literal["pypi", "osv"] = "pypi"
    osv_url: str | None = None
    """An OSV-compatible query endpoint (a mirror); implies ``service = "osv"``."""
    workflows: str = ".github/workflows"
    ignore: tuple[SecurityIgnore, ...] = ()
    unverified: Literal["fail", "warn"] | None = None
    """Whether an unverified result fails (default: fail when ``CI=true``, else warn)."""
    versions: ScannerVersions | None = None
    """Removed (see :class:`ScannerVersions`): setting it is a configuration error."""
    os: tuple[str, ...] | None = os_field()
    """The runner labels its CI jobs run on; unset: ``[tool.ci-tasks] os``."""
    timeout: float = timeout_field(900.0)
    """The session's whole budget, in seconds (also ``[tool.ci-tasks.timeouts] security``)."""

    def __post_init__(self) -> None:
        if self.versions is not None:
            raise ValueError(VERSIONS_REMOVED)
