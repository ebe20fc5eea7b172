"""HTTP sessions with retries, for every client ci_tasks has (GitHub, Slack, smoke checks).

Retries come from urllib3's ``Retry`` rather than a hand-written loop: it already knows
how to back off exponentially with jitter, honour ``Retry-After`` on 429/503, and retry
only idempotent methods on connection errors. We configure it from a :class:`RetryPolicy`
and make :func:`ci_tasks.retry.set_testing` turn its sleeps off too.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ci_tasks.core import __version__
from ci_tasks.core.actions import Output, default_output
from ci_tasks.core.retry import RetryPolicy, is_testing

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = f"ci-tasks/{__version__}"


# A server may ask for any Retry-After; nothing here waits longer than this for one.
RETRY_AFTER_CAP = 60.0
CLIENT_LOGGERS = ("urllib3", "requests", "charset_normalizer")
"""Loggers of the HTTP client libraries, whose lines name request paths and queries."""


class _MaskedLog(logging.Handler):
    """Writes HTTP client log records to an :class:`Output`, which masks them."""

    def __init__(self, output: Output | None) -> None:
        super().__init__()
        self._output = output
        self.setFormatter(logging.Formatter("http: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never break a request
            self.handleError(record)
            return
        style = "warning" if record.levelno >= logging.WARNING else ""
        (self._output or default_output()).line(text, style)


def route_client_logs(*, verbose: bool = False, output: Output | None = None) -> None:
    """Send the HTTP clients' log lines through the masker, and only there.

    urllib3 logs every request line (``"POST /services/T0/B0/XYZ HTTP/1.1" 200``) at
    DEBUG, and nox sets the root logger to DEBUG, so without this a webhook's path or a
    token in a query would be printed raw. Here the client loggers stop propagating to
    the root logger and write to *output* (masked); their connection chatter (DEBUG)
    is shown only when *verbose*, warnings always. Calling it again replaces the setup.
    """
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, _MaskedLog)]:
            logger.removeHandler(handler)
        logger.addHandler(_MaskedLog(output))
        logger.propagate = False
        logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


def _routed() -> bool:
    return all(
        any(isinstance(h, _MaskedLog) for h in logging.getLogger(name).handlers)
        for name in CLIENT_LOGGERS
    )


class _Retry(Retry):
    """urllib3's Retry with a cap on ``Retry-After``; the testing switch turns sleeps off."""

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, RETRY_AFTER_CAP)

    def sleep(self, response: object = None) -> None:
        if is_testing():
            return
        super().sleep(response)  # type: ignore[arg-type]


def retry_for(
    policy: RetryPolicy,
    *,
    statuses: Collection[int] = RETRY_STATUSES,
    methods: Collection[str] = IDEMPOTENT_METHODS,
) -> Retry:
    """A urllib3 ``Retry`` with *policy*'s attempts, cap and jitter.

    urllib3 retries the first failure at once and then backs off with base 2; we set its
    factor so the second retry waits ``initial_delay``. A ``Retry-After`` header wins.
    """
    retries = policy.attempts - 1
    return _Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=policy.initial_delay / 2,
        backoff_max=policy.max_delay,
        backoff_jitter=policy.jitter,
        status_forcelist=frozenset(statuses),
        allowed_methods=frozenset(m.upper() for m in methods),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def session(
    policy: RetryPolicy,
    *,
    statuses: Collection[int] = RETRY_STATUSES,
    methods: Collection[str] = IDEMPOTENT_METHODS,
) -> requests.Session:
    """A ``requests.Session`` that retries per *policy* and names ci-tasks as its agent.

    The final response of a retried status is returned (not raised), so callers can
    explain it in one line; connection errors still raise after the last attempt. The
    clients' log lines are routed through the masker (:func:`route_client_logs`) unless
    they already are.
    """
    if not _routed():
        route_client_logs()
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_for(policy, statuses=statuses, methods=methods))
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    http.headers["User-Agent"] = USER_AGENT
    return http
