"""Secret masking: every value of a secret environment variable becomes ``***``.

Everything ci_tasks prints, logs, writes to a report or puts in an exception passes
through :func:`mask`. Values shorter than :data:`MIN_SECRET_LENGTH` are not masked:
replacing every ``1`` in a log would make it unreadable and protect nothing.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Iterable, Mapping

DEFAULT_SECRET_VARIABLES: tuple[str, ...] = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "SLACK_WEBHOOK_URL",
    "CODECOV_TOKEN",
    "PYPI_TOKEN",
    "TWINE_PASSWORD",
)
MIN_SECRET_LENGTH = 4
MASK = "***"


class Masker:
    """Replaces known secret values in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._ordered: tuple[str, ...] = ()

    def add(self, value: str | None) -> bool:
        """Register a secret value; returns whether it was new and long enough to mask."""
        if not value or len(value) < MIN_SECRET_LENGTH:
            return False
        variants = {
            value,
            value.strip(),
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote(value),
        }
        with self._lock:
            new = value not in self._secrets
            self._secrets.update(v for v in variants if len(v) >= MIN_SECRET_LENGTH)
            # Longest first, so a secret that contains another is masked whole.
            self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))
        return new

    def add_from_env(self, names: Iterable[str], env: Mapping[str, str] | None = None) -> list[str]:
        """Register the values of the named environment variables; returns the new ones."""
        environ = os.environ if env is None else env
        added = []
        for name in names:
            value = environ.get(name)
            if value and self.add(value):
                added.append(value)
        return added

    def mask(self, text: str) -> str:
        """Return *text* with every registered secret replaced by ``***``."""
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def clear(self) -> None:
        """Forget every secret (for tests)."""
        with self._lock:
            self._secrets.clear()
            self._ordered = ()


_default = Masker()
_default.add_from_env(DEFAULT_SECRET_VARIABLES)


def default_masker() -> Masker:
    """The process-wide masker used by every ci_tasks output."""
    return _default


def mask(text: str) -> str:
    """Mask *text* with the process-wide masker."""
    return _default.mask(text)


def register_secret_variables(names: Iterable[str], env: Mapping[str, str] | None = None) -> None:
    """Register the values of *names* (plus the defaults) as secrets."""
    _default.add_from_env((*DEFAULT_SECRET_VARIABLES, *names), env)
