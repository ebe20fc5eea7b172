"""The ``smoke`` stage: wait until a deployment is ready, then assert its endpoints once.

Two phases, as Kubernetes startup probes and careful deploy checks do:

1. *wait until ready*: poll the health paths (the first that meets ``ready_conditions``
   counts) every ``interval`` seconds, each attempt bounded by ``attempt_timeout``, until
   ``consecutive_successes`` attempts in a row pass or ``deadline`` runs out; then fail
   saying what the last attempt on every path saw;
2. *assert*: check every endpoint once, concurrently, against its declarative
   conditions (:mod:`ci_tasks.conditions`). Assertions are not retried: that would hide
   instability. Only transport failures are (connection errors, 429/502/503/504),
   for idempotent methods, through :func:`ci_tasks.http.session`.

Writes ``.ci-tasks/smoke-report.json``; with ``--notify`` a failure goes to Slack.
Exit codes: 0 all passed, 1 a condition failed or the deadline passed, 2 bad
configuration or usage (no URL at all is exit 2: a smoke test that checked nothing
must not be green).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ci_tasks.core.errors import CheckFailed, ConfigError, ServiceUnavailable, UsageError
from ci_tasks.core.retry import NO_RETRY, Clock
from ci_tasks.core.stage import Flags, StageContext, write_stage_report
from ci_tasks.stages.smoke.conditions import Condition, Observation, Outcome, evaluate, parse
from ci_tasks.stages.smoke.config import SmokeConfig

if TYPE_CHECKING:
    from ci_tasks.core.actions import Output
    from ci_tasks.core.config import Config
    from ci_tasks.stages.smoke.probe import HttpProbe, Probe

URL_VARIABLE = "STAGING_URL"
ABSENT_STATUSES = frozenset({404, 405, 410})
"""A health path answering these does not exist; the next one is tried."""
MAX_WORKERS = 32
FINAL_ATTEMPT_TIMEOUT = 1.0
"""Seconds the attempt made at the deadline itself may take (at most ``attempt_timeout``)."""
DEFAULT_ROOT_CONDITIONS = ("status < 500",)
DEFAULT_HEALTH_CONDITIONS = ("status == 200",)


class PollClock:
    """The real clock for polling.

    Unlike :class:`ci_tasks.retry.SystemClock`, ``set_testing`` does not turn its sleep
    off: a poll interval is not a retry back-off, and a wait loop without sleeps would
    hammer the server until the deadline.
    """

    def monotonic(self) -> float:
        """Seconds on the system's monotonic clock."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait *seconds*."""
        time.sleep(seconds)


@dataclasses.dataclass(frozen=True)
class Options:
    """One run's settings: flags over environment over ``[tool.ci-tasks.smoke]``."""

    url: str
    deadline: float
    interval: float
    attempt_timeout: float
    consecutive_successes: int
    notify: bool = False


@dataclasses.dataclass(frozen=True)
class Check:
    """One endpoint to assert."""

    method: str
    path: str
    conditions: tuple[Condition, ...]

    @property
    def name(self) -> str:
        """``GET /health``."""
        return f"{self.method} {self.path}"


@dataclasses.dataclass(frozen=True)
class Result:
    """What one check saw and which of its conditions failed."""

    check: Check
    seen: Observation
    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> tuple[Outcome, ...]:
        """The conditions that did not hold."""
        return tuple(o for o in self.outcomes if not o.passed)

    @property
    def passed(self) -> bool:
        """Whether every condition held."""
        return not self.failed

    def describe(self) -> str:
        """The failed conditions (or the transport error), for tables and messages."""
        if self.seen.error is not None:
            return self.seen.error
        return "; ".join(str(o) for o in self.failed) or "ok"


@dataclasses.dataclass(frozen=True)
class Readiness:
    """How the wait phase ended."""

    ready: bool
    path: str | None
    attempts: int
    waited: float
    last: tuple[Result, ...]
    """The last attempt's result on every health path that was tried."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The smoke flags (shared by the nox session's posargs and ``ci-tasks smoke``)."""
    parser.add_argument("--url", help=f"the deployment to check (default: ${URL_VARIABLE})")
    parser.add_argument("--deadline", type=float, help="seconds to wait until ready")
    parser.add_argument("--interval", type=float, help="seconds between readiness attempts")
    parser.add_argument("--attempt-timeout", type=float, help="seconds one request may take")
    parser.add_argument(
        "--consecutive-successes", type=int, help="readiness attempts that must pass in a row"
    )
    parser.add_argument("--notify", action="store_true", help="send a Slack message on failure")
    parser.add_argument(
        "--verbose", action="store_true", help="show every HTTP request (secrets masked)"
    )


FLAGS = Flags(
    "smoke",
    "Wait until the deployment is ready, then assert its endpoints "
    "(configured in [tool.ci-tasks.smoke]).",
    add_arguments,
)


def options_from(args: argparse.Namespace, config: SmokeConfig, env: Mapping[str, str]) -> Options:
    """Resolve flags, ``STAGING_URL`` and the configuration into :class:`Options`."""
    url = (args.url or env.get(URL_VARIABLE, "") or config.url or "").strip()
    if not url:
        msg = (
            f"no URL to check; pass --url, set {URL_VARIABLE}, or set url in "
            "[tool.ci-tasks.smoke] (a smoke test that checked nothing must not pass)"
        )
        raise ConfigError(msg)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"URL {display_url(url)!r} is not an http:// or https:// URL"
        raise ConfigError(msg)
    values = {
        "deadline": config.deadline if args.deadline is None else args.deadline,
        "interval": config.interval if args.interval is None else args.interval,
        "attempt_timeout": (
            config.attempt_timeout if args.attempt_timeout is None else args.attempt_timeout
        ),
    }
    for name, value in values.items():
        if value < 0 or (name == "attempt_timeout" and value == 0):
            flag = "--" + name.replace("_", "-")
            msg = f"{flag} must be a positive number of seconds, got {value:g}"
            raise UsageError(msg)
    consecutive = (
        config.consecutive_successes
        if args.consecutive_successes is None
        else args.consecutive_successes
    )
    if consecutive < 1:
        msg = f"--consecutive-successes must be at least 1, got {consecutive}"
        raise UsageError(msg)
    notify = bool(args.notify) or config.notify
    return Options(url=url, consecutive_successes=consecutive, notify=notify, **values)


def display_url(url: str) -> str:
    """*url* without credentials and with query values hidden, for output and reports."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if "@" in parts.netloc:
        netloc = "***@" + netloc
    query = urllib.parse.urlencode(
        [(k, "***") for k, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)],
        safe="*",
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def plan(config: SmokeConfig) -> tuple[tuple[Condition, ...], tuple[Check, ...]]:
    """The readiness conditions and the endpoints to assert (health added once found).

    The defaults are the seed's: the root ``/`` and the docs (``status < 500``); an
    ``[[endpoint]]`` with the same method and path replaces a default.
    """
    ready = tuple(parse(c) for c in config.ready_conditions)
    defaults = [("GET", "/", DEFAULT_ROOT_CONDITIONS)]
    if config.docs_path:
        defaults.append(("GET", config.docs_path, DEFAULT_ROOT_CONDITIONS))
    checks: dict[tuple[str, str], Check] = {}
    for method, path, texts in defaults:
        checks[method, path] = Check(method, path, tuple(parse(t) for t in texts))
    for endpoint in config.endpoint:
        conds = tuple(parse(t) for t in endpoint.conditions)
        checks[endpoint.method, endpoint.path] = Check(endpoint.method, endpoint.path, conds)
    return ready, tuple(checks.values())


def _check(check: Check, probe: Probe, timeout: float) -> Result:
    seen = probe(check.method, check.path, timeout)
    return Result(check, seen, tuple(evaluate(c, seen) for c in check.conditions))


def attempt_timeout(options: Options, waited: float) -> float:
    """One request's timeout during the wait: ``attempt_timeout`` cut to the deadline (pure).

    A request that started 2 s before a 5 s deadline gives up after 2 s, not after
    ``attempt_timeout``: nothing waits past the deadline. The attempt made at the
    deadline itself still gets :data:`FINAL_ATTEMPT_TIMEOUT`, enough for a healthy
    service to answer; with ``deadline = 0`` (one attempt, no waiting) it gets the whole
    ``attempt_timeout``.
    """
    if options.deadline <= 0:
        return options.attempt_timeout
    left = max(options.deadline - waited, FINAL_ATTEMPT_TIMEOUT)
    return min(options.attempt_timeout, left)


def wait_until_ready(
    paths: Sequence[str],
    ready: Sequence[Condition],
    probe: Probe,
    *,
    options: Options,
    clock: Clock,
    log: Callable[[str], None],
) -> Readiness:
    """Poll *paths* until one meets *ready* ``consecutive_successes`` times in a row.

    An attempt tries the paths in order: one that is absent (404, 405, 410) passes the
    turn to the next, so an absent ``/health`` is fine when ``/healthz`` answers; the
    first that answers otherwise decides the attempt. No attempt starts after the
    deadline; the last one may start at it. Each request's timeout is cut to what is
    left of the deadline (:func:`attempt_timeout`).
    """
    start = clock.monotonic()
    attempts = streak = 0
    streak_path: str | None = None
    while True:
        attempts += 1
        passed: str | None = None
        last: dict[str, Result] = {}
        for path in paths:
            timeout = attempt_timeout(options, clock.monotonic() - start)
            result = _check(Check("GET", path, tuple(ready)), probe, timeout)
            last[path] = result
            if result.passed:
                passed = path
                break
            if result.seen.status not in ABSENT_STATUSES:
                # This path exists and is not ready (or the server is unreachable, where
                # the other paths would only spend the deadline on the same error).
                break
        waited = clock.monotonic() - start
        if passed is not None:
            streak = streak + 1 if passed == streak_path else 1
            streak_path = passed
            if streak >= options.consecutive_successes:
                return Readiness(
                    ready=True,
                    path=passed,
                    attempts=attempts,
                    waited=waited,
                    last=tuple(last.values()),
                )
        else:
            streak, streak_path = 0, None
            seen = "; ".join(f"{r.check.path}: {r.describe()}" for r in last.values())
            log(f"not ready yet (attempt {attempts}, {waited:.1f} s): {seen}")
        if waited >= options.deadline:
            return Readiness(
                ready=False, path=None, attempts=attempts, waited=waited, last=tuple(last.values())
            )
        clock.sleep(min(options.interval, options.deadline - waited))


def assert_all(checks: Sequence[Check], probe: Probe, timeout: float) -> list[Result]:
    """Check every endpoint once, concurrently; results in the order of *checks*."""
    if not checks:
        return []
    workers = min(MAX_WORKERS, len(checks))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smoke") as pool:
        return list(pool.map(lambda c: _check(c, probe, timeout), checks))


def table(results: Sequence[Result]) -> list[str]:
    """The result table as text lines."""
    rows = [("endpoint", "status", "time", "result")]
    for r in results:
        status = "-" if r.seen.status is None else str(r.seen.status)
        rows.append((r.check.name, status, f"{r.seen.time_ms:.0f} ms", r.describe()))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}"
        for row in rows
    ]


def _markdown(url: str, readiness: Readiness, results: Sequence[Result]) -> str:
    lines = [f"### Smoke test of {url}", ""]
    if not readiness.ready:
        lines.append(f"Not ready after {readiness.waited:.1f} s ({readiness.attempts} attempts).")
        results = readiness.last
    lines += ["", "| endpoint | status | time | result |", "|---|---|---|---|"]
    for r in results:
        status = "-" if r.seen.status is None else str(r.seen.status)
        mark = "✅" if r.passed else "❌"
        detail = r.describe().replace("|", "\\|")
        lines.append(f"| `{r.check.name}` | {status} | {r.seen.time_ms:.0f} ms | {mark} {detail} |")
    return "\n".join(lines) + "\n"


def _report_entry(result: Result) -> dict[str, Any]:
    return {
        "method": result.check.method,
        "path": result.check.path,
        "status": result.seen.status,
        "time_ms": round(result.seen.time_ms, 1),
        "passed": result.passed,
        "error": result.seen.error,
        "failed": [str(o) for o in result.failed],
    }


def _notify(ctx: StageContext, url: str, problems: Sequence[str], env: Mapping[str, str]) -> None:
    from ci_tasks.core import slack  # noqa: PLC0415 - requests costs 0.2 s at start-up; only a run needs it

    webhook = slack.webhook_from_env(env)
    if webhook is None:
        ctx.output.annotate(
            "warning", f"--notify: {slack.WEBHOOK_VARIABLE} is not set; no Slack message sent"
        )
        return
    text = f"Smoke test failed: {url}"
    body = "\n".join(f"• {p}" for p in problems)
    blocks = [slack.header("Smoke test failed"), slack.section(f"*{url}*\n{body}")]
    try:
        slack.notify(webhook, text, blocks, output=ctx.output)
    except ServiceUnavailable as exc:
        ctx.output.annotate("error", f"--notify: {exc.message}")
    else:
        ctx.output.line("smoke: failure sent to Slack")


def smoke(
    ctx: StageContext,
    *,
    clock: Clock | None = None,
    probe: Probe | None = None,
    args: argparse.Namespace | None = None,
) -> None:
    """Wait until the deployment is healthy, then assert its endpoints (Slack on failure).

    Flags come from *args* (``ci-tasks smoke``) or else the session's posargs; *clock*
    and *probe* replace the real clock and HTTP requests in tests.
    """
    args = FLAGS.parse(ctx.posargs) if args is None else args
    config: Config = ctx.config
    env = ctx.runner.env
    section = config.section(SmokeConfig)
    options = options_from(args, section, env)
    ready, checks = plan(section)  # invalid conditions fail here, before any request
    out = ctx.output
    out.add_url_mask(options.url)
    shown = display_url(options.url)
    clock = clock or PollClock()
    if probe is None:
        verbose = bool(getattr(args, "verbose", False))
        probes = _http_probes(config, options, checks, clock, verbose=verbose, out=out)
        wait_probe, assert_probe, closers = probes
    else:
        wait_probe, assert_probe, closers = probe, probe, []
    try:
        out.line(f"smoke: checking {shown}")
        paths = section.health_paths
        if paths:
            readiness = wait_until_ready(
                paths, ready, wait_probe, options=options, clock=clock, log=out.line
            )
        else:
            readiness = Readiness(ready=True, path=None, attempts=0, waited=0.0, last=())
        results = _assert_when_ready(readiness, checks, assert_probe, options, log=out.line)
    finally:
        for closer in closers:
            closer.close()
    _finish(ctx, options=options, shown=shown, readiness=readiness, results=results, env=env)


def _http_probes(
    config: Config,
    options: Options,
    checks: Sequence[Check],
    clock: Clock,
    *,
    verbose: bool,
    out: Output,
) -> tuple[Probe, Probe, list[HttpProbe]]:
    """The real probes for waiting and for asserting, and what must be closed after."""
    from ci_tasks.core.http import route_client_logs  # noqa: PLC0415 - as below
    from ci_tasks.stages.smoke.probe import HttpProbe  # noqa: PLC0415 - requests costs 0.2 s at start-up; only a run needs it

    route_client_logs(verbose=verbose, output=out)
    wants_cert = any(
        c.subject.kind == "certificate_expires_in" for check in checks for c in check.conditions
    )
    # Waiting is itself the retry loop, so its requests are not retried underneath.
    waiting = HttpProbe(options.url, policy=NO_RETRY, clock=clock)
    asserting = HttpProbe(
        options.url, policy=config.retry.policy(), clock=clock, want_certificate=wants_cert
    )
    return waiting, asserting, [waiting, asserting]


def _assert_when_ready(
    readiness: Readiness,
    checks: Sequence[Check],
    probe: Probe,
    options: Options,
    *,
    log: Callable[[str], None],
) -> list[Result]:
    """Every endpoint's result once the deployment is ready (none when it never was).

    The health path that made it ready is asserted too, under its default conditions
    unless an endpoint names it.
    """
    if not readiness.ready:
        return []
    if readiness.path is not None:
        log(f"smoke: ready ({readiness.path}) after {readiness.waited:.1f} s")
        health = [c for c in checks if c.path == readiness.path and c.method == "GET"]
        if not health:
            conds = tuple(parse(t) for t in DEFAULT_HEALTH_CONDITIONS)
            checks = (Check("GET", readiness.path, conds), *checks)
    return assert_all(checks, probe, options.attempt_timeout)


def _finish(
    ctx: StageContext,
    *,
    options: Options,
    shown: str,
    readiness: Readiness,
    results: Sequence[Result],
    env: Mapping[str, str],
) -> None:
    out = ctx.output
    if readiness.ready:
        for line in table(results):
            out.line(line)
        problems = [f"{r.check.name}: {r.describe()}" for r in results if not r.passed]
    else:
        seen = "; ".join(f"{r.check.path}: {r.describe()}" for r in readiness.last)
        problems = [
            f"not ready after {readiness.waited:.1f} s ({readiness.attempts} attempts): {seen}"
        ]
    verdict = "failed" if problems else "passed"
    write_stage_report(
        ctx.root,
        "smoke",
        verdict=verdict,
        body={
            "url": shown,
            "ready": {
                "passed": readiness.ready,
                "path": readiness.path,
                "attempts": readiness.attempts,
                "waited_s": round(readiness.waited, 2),
                "last": [_report_entry(r) for r in readiness.last],
            },
            "endpoints": [_report_entry(r) for r in results],
        },
    )
    out.summary(_markdown(shown, readiness, results))
    if not problems:
        return
    if out.in_actions and readiness.ready:  # run_stage annotates the overall failure
        for problem in problems:
            out.annotate("error", problem, title="smoke")
    if options.notify:
        _notify(ctx, shown, problems, env)
    if not readiness.ready:
        raise CheckFailed(problems[0])
    count = len(problems)
    first = problems[0]
    raise CheckFailed(f"{count} of {len(results)} endpoints failed; first: {first}")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    """``ci-tasks smoke``: the stage outside nox, with the same verdict and exit codes."""
    from ci_tasks.core.runner import Runner  # noqa: PLC0415
    from ci_tasks.core.stage import register_secrets, run_stage  # noqa: PLC0415

    ctx = StageContext(name="smoke", config=config, runner=Runner(cwd=config.root))
    register_secrets(config, ctx.output)
    return run_stage(lambda c: smoke(c, args=args), ctx)


__all__ = ["Check", "Options", "Readiness", "Result", "smoke"]
