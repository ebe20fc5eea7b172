"""HTTP probes for the smoke stage: one request in, one :class:`Observation` out.

A probe never raises for transport failures: connection refused, a timeout or a TLS
error become the observation's ``error``, which conditions then report as the value
observed (``status (connection refused) == 200``).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable

import requests
import urllib3

from ci_tasks.core import http
from ci_tasks.core.retry import Clock, RetryPolicy
from ci_tasks.stages.smoke.conditions import Observation

TRANSPORT_STATUSES = frozenset({429, 502, 503, 504})
"""Statuses that mean "the proxy or server could not answer now"; a 500 is an answer."""

Probe = Callable[[str, str, float], Observation]
"""``probe(method, path, timeout)``: one request, never raising for transport errors."""


def _error_text(exc: requests.RequestException, timeout: float) -> str:
    # requests wraps urllib3's last error in MaxRetryError inside a ConnectionError even
    # for a read timeout, so the reason is looked at, not only the exception's type.
    reason: object = exc
    if exc.args and isinstance(exc.args[0], urllib3.exceptions.MaxRetryError):
        reason = exc.args[0].reason
    text = str(reason).lower()
    if isinstance(reason, urllib3.exceptions.NewConnectionError) or "refused" in text:
        return "connection refused" if "refused" in text else "could not connect"
    if isinstance(exc, requests.ConnectTimeout) or isinstance(
        reason, urllib3.exceptions.ConnectTimeoutError
    ):
        return f"could not connect within {timeout:.3g} s"
    if isinstance(exc, requests.Timeout) or isinstance(reason, urllib3.exceptions.TimeoutError):
        return f"no answer within {timeout:.3g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if "reset" in text or "aborted" in text or "disconnected" in text:
        return "connection reset"
    return f"request failed ({type(exc).__name__})"


def certificate_expires_in(url: str, timeout: float, now: float | None = None) -> float:
    """Seconds until the TLS certificate of *url*'s server expires (verified chain)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    context = ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE") or None)
    with (
        socket.create_connection((host, parts.port or 443), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cert = tls.getpeercert() or {}
    expires = ssl.cert_time_to_seconds(str(cert["notAfter"]))
    return expires - (dt.datetime.now(dt.UTC).timestamp() if now is None else now)


class HttpProbe:
    """Real requests against *base_url*, one ``requests.Session`` per thread."""

    def __init__(
        self,
        base_url: str,
        *,
        policy: RetryPolicy,
        clock: Clock,
        want_certificate: bool = False,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self._base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        self._prefix = parts.path.rstrip("/")
        self._query = parts.query
        self._policy = policy
        self._clock = clock
        self._want_certificate = want_certificate and parts.scheme == "https"
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        client: requests.Session | None = getattr(self._local, "session", None)
        if client is None:
            client = http.session(self._policy, statuses=TRANSPORT_STATUSES)
            self._local.session = client
            with self._lock:
                self._sessions.append(client)
        return client

    def url_for(self, path: str) -> str:
        """The full URL of *path* (the base URL's path prefix and query kept)."""
        url = f"{self._base}{self._prefix}{path}"
        if self._query:
            url += ("&" if "?" in path else "?") + self._query
        return url

    def __call__(self, method: str, path: str, timeout: float) -> Observation:
        """One request (with transport retries per the policy); errors become observations."""
        url = self.url_for(path)
        start = self._clock.monotonic()
        try:
            response = self._session().request(method, url, timeout=timeout)
        except requests.RequestException as exc:
            elapsed = (self._clock.monotonic() - start) * 1000
            return Observation(time_ms=elapsed, error=_error_text(exc, timeout))
        elapsed = (self._clock.monotonic() - start) * 1000
        expires: float | None = None
        if self._want_certificate:
            try:
                expires = certificate_expires_in(url, timeout)
            except (OSError, KeyError, ValueError):
                expires = None
        return Observation(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.text,
            time_ms=elapsed,
            certificate_expires_in=expires,
        )

    def close(self) -> None:
        """Close every thread's session."""
        with self._lock:
            for client in self._sessions:
                client.close()
            self._sessions.clear()
