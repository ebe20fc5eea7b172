"""Secret masking: every value of a secret environment variable becomes ``***``.

Everything ci_tasks prints, logs, writes to a report or puts in an exception passes
through :func:`mask`. Values shorter than :data:`MIN_SECRET_LENGTH` are not masked:
replacing every ``1`` in a log would make it unreadable and protect nothing.

Masking understands URLs, because HTTP clients log them in pieces (urllib3 writes
``"POST /services/T0/B0/XYZ HTTP/1.1"``, without the host). A secret that is a URL (a
Slack webhook, whose path *is* the secret) is masked whole and also by its path and
query, its userinfo and each query value. A URL that only *carries* secrets
(``STAGING_URL``, see :data:`URL_SECRET_VARIABLES`) has its userinfo and query values
masked and keeps its host and path readable.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Iterable, Mapping

DEFAULT_SECRET_VARIABLES: tuple[str, ...] = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "CI_TASKS_GITHUB_TOKEN",
    "SLACK_WEBHOOK_URL",
    "CODECOV_TOKEN",
    "PYPI_TOKEN",
    "TWINE_PASSWORD",
)
URL_SECRET_VARIABLES: tuple[str, ...] = ("STAGING_URL",)
"""Variables holding a URL whose userinfo and query values are secret (not its host)."""
MIN_SECRET_LENGTH = 4
MASK = "***"
FRAGMENT_LENGTH = 6
"""A cut-off secret (``'s3cr3t-val...'``, as pytest and reprlib shorten long values) is
masked when at least this many of its characters are shown beside the ellipsis."""
_ELLIPSES = ("...", "\u2026")


def _is_url(value: str) -> bool:
    parts = urllib.parse.urlsplit(value.strip())
    return bool(parts.scheme and parts.netloc and "://" in value)


def url_secrets(url: str, *, whole: bool) -> list[str]:
    """The pieces of *url* that give a secret away (pure).

    Always its userinfo (``user:password``, each half too) and every query value, raw
    and decoded; when the whole URL is a secret (*whole*), also its path with and
    without the query, and the query. Never the scheme or the host.
    """
    parts = urllib.parse.urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return []
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        user, _, password = userinfo.partition(":")
        found += [userinfo, user, password]
        found += [urllib.parse.unquote(v) for v in (userinfo, user, password)]
    for pair in parts.query.split("&"):
        _, _, raw = pair.partition("=")
        found += [raw, urllib.parse.unquote_plus(raw)]
    if whole:
        path_query = parts.path + (f"?{parts.query}" if parts.query else "")
        found += [path_query, parts.path, parts.query]
    return [v for v in dict.fromkeys(found) if len(v) >= MIN_SECRET_LENGTH]


class Masker:
    """Replaces known secret values in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._ordered: tuple[str, ...] = ()
        self._windows: frozenset[str] = frozenset()

    def add(self, value: str | None) -> list[str]:
        """Register a secret value (a URL also by its pieces, see :func:`url_secrets`).

        Returns the values that were new and long enough to mask (empty, so false, when
        none was): what an Actions runner should be told to hide as well.
        """
        if not value or len(value) < MIN_SECRET_LENGTH:
            return []
        pieces = url_secrets(value, whole=True) if _is_url(value) else []
        return self._register([value, *pieces])

    def add_url(self, url: str | None) -> list[str]:
        """Register the secret pieces of a URL that is not itself secret (``STAGING_URL``).

        Its userinfo and query values are masked; its host and path stay readable.
        Returns the new values, as :meth:`add` does.
        """
        if not url or not _is_url(url):
            return []
        return self._register(url_secrets(url, whole=False))

    def _register(self, values: list[str]) -> list[str]:
        new = []
        with self._lock:
            for value in values:
                if len(value) < MIN_SECRET_LENGTH:
                    continue
                variants = {
                    value,
                    value.strip(),
                    urllib.parse.quote(value, safe=""),
                    urllib.parse.quote(value),
                }
                if value not in self._secrets:
                    new.append(value)
                self._secrets.update(v for v in variants if len(v) >= MIN_SECRET_LENGTH)
            # Longest first, so a secret that contains another is masked whole.
            self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))
            self._windows = _windows(self._ordered)
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
        """Return *text* with every registered secret replaced by ``***``.

        A secret cut short beside an ellipsis (its start before ``...``, or its end after
        it) is masked too: tools shorten long values that way, and a fragment is a leak.
        """
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        if self._windows and any(e in text for e in _ELLIPSES):
            text = self._mask_fragments(text)
        return text

    def _mask_fragments(self, text: str) -> str:
        long_enough = [s for s in self._ordered if len(s) > FRAGMENT_LENGTH]
        for ellipsis in _ELLIPSES:
            start = text.find(ellipsis)
            while start != -1:
                end = start + len(ellipsis)
                # Beside most ellipses ("...." in pytest's progress) no secret's piece
                # stands; one set lookup a side says so before any secret is compared.
                before = after = 0
                if text[max(start - FRAGMENT_LENGTH, 0) : start] in self._windows:
                    before = max(_shown(text, start, s, head=True) for s in long_enough)
                if text[end : end + FRAGMENT_LENGTH] in self._windows:
                    after = max(_shown(text, end, s, head=False) for s in long_enough)
                head = text[: start - before] + (MASK if before else "") + ellipsis
                text = head + (MASK if after else "") + text[end + after :]
                start = text.find(ellipsis, len(head))
        return text

    def clear(self) -> None:
        """Forget every secret (for tests)."""
        with self._lock:
            self._secrets.clear()
            self._ordered = ()
            self._windows = frozenset()


def _windows(secrets: Iterable[str]) -> frozenset[str]:
    """Every run of :data:`FRAGMENT_LENGTH` characters in a secret long enough to be cut."""
    return frozenset(
        secret[i : i + FRAGMENT_LENGTH]
        for secret in secrets
        if len(secret) > FRAGMENT_LENGTH
        for i in range(len(secret) - FRAGMENT_LENGTH + 1)
    )


def _shown(text: str, at: int, secret: str, *, head: bool) -> int:
    """How much of *secret* stands beside an ellipsis at *at*: 0 below FRAGMENT_LENGTH.

    With *head*, the secret's start ending at *at*; else its end starting at *at*.
    """
    for size in range(len(secret) - 1, FRAGMENT_LENGTH - 1, -1):
        if head and text.endswith(secret[:size], 0, at):
            return size
        if not head and text.startswith(secret[-size:], at):
            return size
    return 0


def _add_url_variables(
    masker: Masker, names: Iterable[str], env: Mapping[str, str] | None
) -> list[str]:
    environ = os.environ if env is None else env
    added = []
    for name in names:
        url = environ.get(name)
        masker.add_url(url)
        if url and _is_url(url):
            added += url_secrets(url, whole=False)
    return added


_default = Masker()
_default.add_from_env(DEFAULT_SECRET_VARIABLES)
_add_url_variables(_default, URL_SECRET_VARIABLES, None)


def default_masker() -> Masker:
    """The process-wide masker used by every ci_tasks output."""
    return _default


def mask(text: str) -> str:
    """Mask *text* with the process-wide masker."""
    return _default.mask(text)


def register_secret_variables(
    names: Iterable[str], env: Mapping[str, str] | None = None
) -> list[str]:
    """Register the values of *names* (plus the defaults) as secrets; returns them all.

    The :data:`URL_SECRET_VARIABLES` give their secret pieces (userinfo, query values),
    and a secret that is a URL its pieces too: every one of them is returned, new or
    not, so an Actions runner can be told to hide them (it knows only whole values).
    """
    environ = os.environ if env is None else env
    values = []
    for name in dict.fromkeys((*DEFAULT_SECRET_VARIABLES, *names)):
        value = environ.get(name)
        if value and len(value) >= MIN_SECRET_LENGTH:
            _default.add(value)
            pieces = url_secrets(value, whole=True) if _is_url(value) else []
            values += [value, *pieces]
    values += _add_url_variables(_default, URL_SECRET_VARIABLES, env)
    return list(dict.fromkeys(values))
