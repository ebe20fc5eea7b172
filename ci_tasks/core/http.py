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

from ci_tasks.core import __version__, masking
from ci_tasks.core.retry import RetryPolicy, is_testing

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = f"ci-tasks/{__version__}"


# A server may ask for any Retry-After; nothing here waits longer than this for one.
RETRY_AFTER_CAP = 60.0


class _Retry(Retry):
    """urllib3's Retry with a cap on ``Retry-After``; the testing switch turns sleeps off."""

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, RETRY_AFTER_CAP)

    def sleep(self, response: object = None) -> None:
        if is_testing():
            return
        super().sleep(response)  # type: ignore[arg-type]


class _Masked(logging.Filter):
    """Masks secrets in urllib3's log records, which quote every URL it requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = masking.mask(record.getMessage()), None
        return True


# Logger filters are not inherited: each of urllib3's loggers that names URLs gets one.
_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")


def _mask_urllib3_logs() -> None:
    """Keep URLs with secrets in them (a webhook, a signed download) out of the logs.

    nox sets the root logger to DEBUG with a handler, so urllib3's debug lines (every
    request's URL, query included) would be printed; they are noise too: INFO and up.
    """
    if logging.getLogger("urllib3").level == logging.NOTSET:
        logging.getLogger("urllib3").setLevel(logging.INFO)
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Masked) for f in logger.filters):
            logger.addFilter(_Masked())


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
    explain it in one line; connection errors still raise after the last attempt.
    """
    _mask_urllib3_logs()
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_for(policy, statuses=statuses, methods=methods))
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    http.headers["User-Agent"] = USER_AGENT
    return http
