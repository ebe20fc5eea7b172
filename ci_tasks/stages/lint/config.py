"""``[tool.ci-tasks.lint]``: the lint stage's configuration section, with its defaults."""

from __future__ import annotations

import dataclasses
from typing import Literal

from ci_tasks.core.config import os_field, timeout_field
from ci_tasks.core.ignores import Ignore


@dataclasses.dataclass(frozen=True)
class LintIgnore(Ignore):
    """One ``[tool.ci-tasks.lint] ignore`` entry: an accepted lint finding, accounted for.

    ``rule`` is a ruff code (``E501``), a mypy error code (``arg-type``), a pinning rule
    (``unhashed-pip-install``) or a whole kind (``ruff``, ``format``, ``mypy``); ``file``
    (a glob), ``reason`` and ``until`` are :class:`~ci_tasks.core.ignores.Ignore`'s.
    """

    rule: str = ""
    key_name = "rule"

    @property
    def key(self) -> str:
        """The rule the entry accepts."""
        return self.rule


@dataclasses.dataclass(frozen=True)
class LintConfig:
    """``[tool.ci-tasks.lint]``: what the lint stage checks, and over which paths."""

    mypy: bool | Literal["auto"] = "auto"
    """Run ``mypy`` (with the project's own mypy configuration) as part of lint. ``auto``:
    where the project's own commands run mypy (a mypy pre-commit hook, a ``mypy`` command in
    its recipes, tox, nox, hatch scripts or workflows), with that command's targets and
    options; ``true``/``false`` force it."""
    mypy_targets: tuple[str, ...] = ()
    """What mypy checks (default: the project's own mypy command's targets, else its own
    ``files`` setting if the project has one, else ``.``)."""
    check_paths: tuple[str, ...] | None = None
    """What ``ruff check`` checks (``[]``: no ruff check); unset: the paths of the project's
    own ruff check (its command's, or ``.`` within its hook's ``files``), else ``.``."""
    formatter: Literal["ruff", "black", "none"] | None = None
    """The format check lint runs; unset: the formatter the project's own commands gate on
    (``ruff format``, ``black``, or none), else ``ruff``."""
    format_paths: tuple[str, ...] | None = None
    """What the format check checks (``[]``: no format check); unset: the paths of the
    project's own format check, else ``.``."""
    lock_check: bool = True
    """``uv lock --check``: a stale ``uv.lock`` is a lint failure."""
    pinning: bool = True
    """Check the pinning policy (dependency groups, workflow actions, ``pip install``)."""
    exact_groups: tuple[str, ...] = ()
    """Dependency groups whose every entry must also be pinned with ``==`` in pyproject
    (``"*"``: all). A current, committed ``uv.lock`` pins every group already."""
    ignore: tuple[LintIgnore, ...] = ()
    """Accepted findings, each with a reason and an expiry date (``ci-tasks baseline``)."""
    os: tuple[str, ...] | None = os_field()
    """The runner labels its CI jobs run on; unset: ``[tool.ci-tasks] os``."""
    timeout: float = timeout_field(900.0)
    """The session's whole budget, in seconds (also ``[tool.ci-tasks.timeouts] lint``)."""
