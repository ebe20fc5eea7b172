"""The smoke stage against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ci_tasks.core.actions import Output
from ci_tasks.core.config import parse_config
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, run_stage
from ci_tasks.stages.smoke import session as smoke_session
from ci_tasks.stages.smoke.conditions import Observation, parse
from ci_tasks.stages.smoke.session import Options, smoke, wait_until_ready
from tests.support.leaks import leaks
from tests.support.localserver import Request, Response, serve, silent
from tests.support.sample import clean_env

FAST = {"deadline": 3, "interval": 0.2, "attempt_timeout": 2}


class Run:
    """One in-process run of the stage: exit code, printed text, the report."""

    def __init__(self, tmp_path: Path, smoke_config: dict[str, Any], *posargs: str, **env: str):
        config = parse_config({"smoke": {**FAST, **smoke_config}}, tmp_path / "pyproject.toml")
        self.stream = io.StringIO()
        output = Output(stream=self.stream, env={})
        runner = Runner(env=env, cwd=tmp_path, output=output)
        self.ctx = StageContext(
            name="smoke", config=config, runner=runner, posargs=list(posargs), output=output
        )
        self.tmp_path = tmp_path
        start = time.monotonic()
        self.code = run_stage(smoke, self.ctx)
        self.seconds = time.monotonic() - start

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def report(self) -> Any:
        return json.loads((self.tmp_path / ".ci-tasks" / "smoke-report.json").read_text())


def site(health: Response | None = None, **paths: Response):
    """A handler: /health answers *health*, other paths from *paths*, the rest 200."""

    def handler(request: Request) -> Response:
        path = request.path.split("?")[0]
        if path == "/health" and health is not None:
            return health
        key = path.strip("/").replace("/", "_") or "root"
        return paths.get(key, Response(404, "not found") if "health" in path else Response(200))

    return handler


def test_ready_after_two_seconds_passes_within_the_deadline(tmp_path):
    """503 for 2 s, then 200: the wait phase polls through it and the run passes."""
    start = time.monotonic()

    def handler(request: Request) -> Response:
        if request.path == "/health":
            if time.monotonic() - start < 2:
                return Response(503, "starting")
            return Response(200, {"status": "ok"})
        return Response(404) if "health" in request.path else Response(200, "hello")

    with serve(handler) as server:
        run = Run(tmp_path, {"deadline": 6}, "--url", server.url)
    assert run.code == 0, run.text
    assert "/health: status (503) == 200" in run.text
    assert "/healthz" not in run.text  # /health exists: a 503 there is not skipped
    report = run.report
    assert report["verdict"] == "passed"
    assert report["ready"]["path"] == "/health"
    assert report["ready"]["attempts"] > 2
    assert [e["path"] for e in report["endpoints"]] == ["/health", "/", "/docs"]
    assert all(e["status"] == 200 for e in report["endpoints"])


def test_never_ready_fails_at_the_deadline_with_the_last_status(tmp_path):
    """Never healthy: exit 1 once the deadline passed, naming every health path's last answer."""
    with serve(site(Response(503, "down"))) as server:
        run = Run(tmp_path, {"deadline": 1.5}, "--url", server.url)
    assert run.code == 1
    assert run.seconds >= 1.5
    assert re.search(
        r"not ready after 1\.\d s \(\d+ attempts\): /health: status \(503\) == 200$",
        run.text,
        re.MULTILINE,
    ), run.text
    assert run.report["verdict"] == "failed"
    assert run.report["ready"]["last"][0]["status"] == 503
    assert run.report["endpoints"] == []


def test_no_health_path_at_all_names_all_three(tmp_path):
    """Every health path 404: the failure names each of them."""
    with serve(site(None)) as server:
        run = Run(tmp_path, {"deadline": 0.5}, "--url", server.url)
    assert run.code == 1
    assert (
        "/health: status (404) == 200; /healthz: status (404) == 200; "
        "/api/health: status (404) == 200"
    ) in run.text


def test_health_absent_but_healthz_present_passes(tmp_path):
    """The first health path that answers counts."""
    with serve(site(None, healthz=Response(200, "ok"))) as server:
        run = Run(tmp_path, {}, "--url", server.url)
    assert run.code == 0, run.text
    assert run.report["ready"]["path"] == "/healthz"
    assert "GET /healthz" in run.text


def test_wrong_json_field_fails_naming_field_and_value(tmp_path):
    """A health answer with the wrong JSON value fails the assert phase, value shown."""
    endpoint = {"path": "/health", "conditions": ["status == 200", 'body.status == "ok"']}
    with serve(site(Response(200, {"status": "degraded"}))) as server:
        run = Run(tmp_path, {"endpoint": [endpoint]}, "--url", server.url)
    assert run.code == 1
    assert 'body.status ("degraded") == "ok"' in run.text
    [health] = [e for e in run.report["endpoints"] if e["path"] == "/health"]
    assert health["failed"] == ['body.status ("degraded") == "ok"']


def test_slow_beyond_response_time_fails(tmp_path):
    """An answer slower than response_time fails with the time it took."""
    endpoint = {"path": "/slow", "conditions": ["status == 200", "response_time < 300"]}
    with serve(site(Response(200), slow=Response(200, "late", delay=0.8))) as server:
        run = Run(tmp_path, {"endpoint": [endpoint]}, "--url", server.url)
    assert run.code == 1
    match = re.search(r"response_time \((\d+)\) < 300", run.text)
    assert match, run.text
    assert int(match.group(1)) >= 700


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retried_then_fails_clearly(tmp_path):
    """Nothing listening: polled until the deadline, then one clear line."""
    run = Run(tmp_path, {"deadline": 1}, "--url", f"http://127.0.0.1:{free_port()}")
    assert run.code == 1
    assert run.report["ready"]["attempts"] >= 2
    assert re.search(r"not ready after 1\.\d s", run.text)
    assert "/health: connection refused" in run.text
    assert "Traceback" not in run.text


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose kernel accepts connections that nobody ever answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])


def test_port_that_never_answers_hits_the_attempt_timeout(tmp_path, silent_port):
    """Each attempt gives up after --attempt-timeout; the run fails instead of hanging."""
    run = Run(
        tmp_path,
        {"health_paths": ["/health"]},
        "--url",
        f"http://127.0.0.1:{silent_port}",
        "--attempt-timeout",
        "0.5",
        "--deadline",
        "1",
    )
    assert run.code == 1
    assert "/health: no answer within 0.5 s" in run.text
    assert run.seconds < 10


def test_an_attempt_never_waits_past_the_deadline(tmp_path):
    """Against a server that accepts and never answers, the wait ends at --deadline, not later."""
    with silent() as server:
        run = Run(
            tmp_path,
            {"health_paths": ["/health"]},
            "--url",
            server.url,
            "--attempt-timeout",
            "10",
            "--deadline",
            "1",
        )
    assert run.code == 1
    assert "/health: no answer within 1 s" in run.text
    assert run.report["ready"]["attempts"] == 1


def test_endpoints_are_asserted_concurrently(tmp_path):
    """The assert phase has several requests in flight at once."""
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def handler(request: Request) -> Response:
        if request.path == "/health":
            return Response(200)
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.3)
        with lock:
            state["now"] -= 1
        return Response(200)

    endpoints = [{"path": f"/e{i}", "conditions": ["status == 200"]} for i in range(6)]
    with serve(handler) as server:
        run = Run(tmp_path, {"endpoint": endpoints}, "--url", server.url)
    assert run.code == 0, run.text
    assert state["max"] >= 4


def test_staging_url_from_the_environment_and_credentials_hidden(tmp_path):
    """STAGING_URL is used when --url is absent; its password and query values are masked."""
    with serve(site(Response(200))) as server:
        url = server.url.replace("http://", "http://deploy:hunter2secret@") + "/?token=t0ps3cret"
        run = Run(tmp_path, {}, STAGING_URL=url)
    assert run.code == 0, run.text
    report_text = (tmp_path / ".ci-tasks" / "smoke-report.json").read_text()
    for secret in ("hunter2secret", "t0ps3cret"):
        assert secret not in run.text
        assert secret not in report_text
    assert run.report["url"].startswith("http://***@127.0.0.1:")
    assert server.requests[0].path.endswith("?token=t0ps3cret")


def test_notify_posts_the_failure_to_slack_without_printing_the_webhook(tmp_path):
    """--notify sends blocks and a text fallback on failure; the webhook URL is never printed."""
    posted: list[Request] = []

    def slack_handler(request: Request) -> Response:
        posted.append(request)
        return Response(200, "ok")

    with serve(site(Response(500))) as target, serve(slack_handler) as receiver:
        webhook = f"{receiver.url}/services/T000/B000/smokeWebhookSecret"
        run = Run(
            tmp_path,
            {"health_paths": ["/health"], "ready_conditions": ["status < 600"]},
            "--url",
            target.url,
            "--notify",
            SLACK_WEBHOOK_URL=webhook,
        )
    assert run.code == 1
    [message] = [r.json() for r in posted]
    assert "Smoke test failed" in message["text"]
    assert any("status (500) == 200" in json.dumps(b) for b in message["blocks"])
    assert "smokeWebhookSecret" not in run.text
    assert "sent to Slack" in run.text


def test_notify_without_a_webhook_is_a_warning(tmp_path):
    """With `notify = true` (as --notify) and no SLACK_WEBHOOK_URL: a warning, still exit 1."""
    with serve(site(Response(500))) as target:
        run = Run(
            tmp_path,
            {"health_paths": ["/health"], "ready_conditions": ["status < 600"], "notify": True},
            "--url",
            target.url,
        )
    assert run.code == 1
    assert "warning: --notify: SLACK_WEBHOOK_URL is not set" in run.text


class FakeClock:
    """Time that passes only when slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(statuses: list[int]):
    answers = iter(statuses)

    def probe(method: str, path: str, timeout: float) -> Observation:
        assert (method, path, timeout) == ("GET", "/health", 1)
        return Observation(status=next(answers))

    return probe


def options(**changes: Any) -> Options:
    values: dict[str, Any] = {
        "url": "http://x",
        "deadline": 10,
        "interval": 3,
        "attempt_timeout": 1,
        "consecutive_successes": 1,
    }
    return Options(**{**values, **changes})


def test_consecutive_successes_must_be_in_a_row():
    """A failure in between resets the streak of successes."""
    clock = FakeClock()
    result = wait_until_ready(
        ["/health"],
        [parse("status == 200")],
        scripted([200, 503, 200, 200]),
        options=options(consecutive_successes=2, deadline=100),
        clock=clock,
        log=lambda _: None,
    )
    assert result.ready
    assert result.attempts == 4
    assert clock.sleeps == [3, 3, 3]


def test_the_last_attempt_is_at_the_deadline_and_none_after():
    """With deadline 10 and interval 3: attempts at 0, 3, 6, 9 and 10, then failure."""
    clock = FakeClock()
    result = wait_until_ready(
        ["/health"],
        [parse("status == 200")],
        scripted([503] * 10),
        options=options(),
        clock=clock,
        log=lambda _: None,
    )
    assert not result.ready
    assert result.attempts == 5
    assert clock.sleeps == [3, 3, 3, 1]
    assert result.last[0].describe() == "status (503) == 200"


def silent_after(answers: list[int], clock: FakeClock, timeouts: list[float]):
    """A probe answering *answers*, then never: each silent request uses up its timeout."""
    queue = iter(answers)

    def probe(_method: str, _path: str, timeout: float) -> Observation:
        timeouts.append(timeout)
        status = next(queue, None)
        if status is None:
            clock.now += timeout
            return Observation(error=f"no answer within {timeout:.3g} s")
        return Observation(status=status)

    return probe


@pytest.mark.parametrize(
    ("answers", "interval", "expected"),
    [
        ([], 5, [5]),  # the first request is cut to the 5 s deadline, not 10
        ([503], 2, [5, 3]),  # at 2 s, 3 s are left
        ([503, 503, 503], 2, [5, 3, 1, 1]),  # at 4 s, 1 s left; the one at 5 s gets 1 s
    ],
)
def test_each_request_is_cut_to_what_is_left_of_the_deadline(answers, interval, expected):
    """The wait never runs past its deadline because one request took attempt_timeout."""
    clock = FakeClock()
    timeouts: list[float] = []
    result = wait_until_ready(
        ["/health"],
        [parse("status == 200")],
        silent_after(answers, clock, timeouts),
        options=options(deadline=5, interval=interval, attempt_timeout=10),
        clock=clock,
        log=lambda _: None,
    )
    assert not result.ready
    assert timeouts == expected
    assert clock.now <= 5 + smoke_session.FINAL_ATTEMPT_TIMEOUT


def cli(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci_tasks.cli", "smoke", *args],
        cwd=project,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_no_url_anywhere_is_exit_2(tmp_path):
    """No --url, no STAGING_URL, no config url: one line and exit 2, never a green run."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    done = cli(tmp_path, env_clear="1")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no URL to check; pass --url, set STAGING_URL" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_invalid_condition_is_exit_2_before_any_request(tmp_path):
    """A condition outside the grammar stops the run before the target sees a request."""
    with serve(site(Response(200))) as server:
        (tmp_path / "pyproject.toml").write_text(
            "[tool.ci-tasks.smoke]\n"
            f'url = "{server.url}"\n'
            "[[tool.ci-tasks.smoke.endpoint]]\n"
            'path = "/"\n'
            'conditions = ["status = 200"]\n'
        )
        done = cli(tmp_path)
    assert done.returncode == 2
    assert server.requests == []
    [line] = done.stderr.strip().splitlines()
    assert "tool.ci-tasks.smoke.endpoint[0]" in line
    assert "condition 'status = 200': unexpected '= 200' at column 8" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--deadline", "-1"], "--deadline must be"),
        (["--interval", "soon"], "invalid float"),
        (["--consecutive-successes", "0"], "at least 1"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_flags_are_exit_2(tmp_path, args, says):
    """Bad flag values are usage errors (exit 2), one line."""
    run = Run(tmp_path, {}, "--url", "http://127.0.0.1:9", *args)
    assert run.code == 2
    assert says in run.text


def test_nox_session_runs_smoke_without_a_virtualenv(tmp_path):
    """`nox -s smoke -- --url ...` registers and runs the stage (no venv: it runs no tools)."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\n[tool.ci-tasks.smoke]\ninterval = 0.2\n'
    )
    (tmp_path / "noxfile.py").write_text("import ci_tasks\n\nci_tasks.register()\n")
    with serve(site(Response(200))) as server:
        done = subprocess.run(
            [sys.executable, "-m", "nox", "-s", "smoke", "--", "--url", server.url],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / ".ci-tasks" / "smoke-report.json").read_text())["verdict"] == (
        "passed"
    )


@pytest.fixture
def https_server(tmp_path, monkeypatch) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 whose self-signed certificate expires in 30 days."""
    import datetime as dt  # noqa: PLC0415
    import http.server  # noqa: PLC0415
    import ipaddress  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_certificate_expiry_condition_reads_the_real_certificate(tmp_path, https_server):
    """certificate_expires_in sees the server's certificate: 30 days passes 14d, fails 60d."""
    endpoints = [
        {"path": "/", "conditions": ["status == 200", "certificate_expires_in > 14d"]},
        {"path": "/docs", "conditions": ["certificate_expires_in > 60d"]},
    ]
    run = Run(tmp_path, {"endpoint": endpoints}, "--url", https_server)
    assert run.code == 1, run.text
    by_path = {e["path"]: e for e in run.report["endpoints"]}
    assert by_path["/"]["passed"]
    [failed] = by_path["/docs"]["failed"]
    assert re.fullmatch(r"certificate_expires_in \((29\.9|30\.0)d\) > 60d", failed), failed


def test_actions_get_a_step_summary_and_annotations(tmp_path):
    """Under Actions: a markdown table in the step summary and one ::error per failure."""
    summary = tmp_path / "summary.md"
    endpoint = {"path": "/broken", "conditions": ["status == 200"]}
    with serve(site(Response(200), broken=Response(500))) as server:
        config = parse_config(
            {"smoke": {**FAST, "endpoint": [endpoint]}}, tmp_path / "pyproject.toml"
        )
        stream = io.StringIO()
        output = Output(
            stream=stream, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        )
        ctx = StageContext(
            name="smoke",
            config=config,
            runner=Runner(env={}, cwd=tmp_path, output=output),
            posargs=["--url", server.url],
            output=output,
        )
        assert run_stage(smoke, ctx) == 1
    assert "::error title=smoke::GET /broken: status (500) == 200" in stream.getvalue()
    table = summary.read_text()
    assert "| `GET /broken` | 500 |" in table
    assert "❌ status (500) == 200" in table


def test_transport_statuses_are_retried_but_a_500_is_an_answer(tmp_path):
    """In the assert phase a 502 is retried (transport), a 500 is reported (no retry)."""
    counts = {"/flaky": 0, "/error": 0}

    def handler(request: Request) -> Response:
        if request.path in counts:
            counts[request.path] += 1
            if counts[request.path] == 1:
                return Response(502 if request.path == "/flaky" else 500, "first")
        return Response(200, "ok")

    endpoints = [
        {"path": "/flaky", "conditions": ["status == 200"]},
        {"path": "/error", "conditions": ["status == 200"]},
    ]
    with serve(handler) as server:
        run = Run(tmp_path, {"endpoint": endpoints}, "--url", server.url)
    assert run.code == 1
    by_path = {e["path"]: e for e in run.report["endpoints"]}
    assert by_path["/flaky"]["passed"]
    assert by_path["/error"]["failed"] == ["status (500) == 200"]
    assert counts == {"/flaky": 2, "/error": 1}


# Secrets in every part of a URL: userinfo, a query, a webhook's path and its query.
STAGING_PASSWORD, STAGING_QUERY = "st4gingPassw0rd", "qu3rySecretTok"
HOOK_PATH, HOOK_QUERY = "T0SECRET/B0SECRET/webhookPathSecret", "webhookQuerySecret"
URL_SECRETS = (STAGING_PASSWORD, STAGING_QUERY, "webhookPathSecret", HOOK_QUERY, "T0SECRET")


@pytest.mark.parametrize("actions", [False, True], ids=["local", "actions"])
def test_no_fragment_of_a_secret_url_reaches_output_or_files(tmp_path, actions):
    """Under real nox, with HTTP logging on: no password, query value or webhook path leaks."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\n[tool.ci-tasks.smoke]\ninterval = 0.2\n'
    )
    (tmp_path / "noxfile.py").write_text("import ci_tasks\n\nci_tasks.register()\n")
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"

    def slack(_request: Request) -> Response:
        return Response(200, "ok")

    with serve(site(Response(200), docs=Response(500))) as target, serve(slack) as receiver:
        staging = target.url.replace("http://", f"http://deploy:{STAGING_PASSWORD}@")
        env = {
            "STAGING_URL": f"{staging}/?token={STAGING_QUERY}",
            "SLACK_WEBHOOK_URL": f"{receiver.url}/services/{HOOK_PATH}?sig={HOOK_QUERY}",
        }
        if actions:
            env |= {
                "GITHUB_ACTIONS": "true",
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_OUTPUT": str(outputs),
            }
        done = subprocess.run(
            [sys.executable, "-m", "nox", "-s", "smoke", "--", "--notify", "--verbose"],
            cwd=tmp_path,
            env=clean_env(env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert target.requests[0].path.endswith(f"?token={STAGING_QUERY}")
        assert receiver.requests, done.stdout
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "http: " in output  # the client's request lines were shown, masked
    assert "/docs" in output  # paths of a URL that is not itself secret stay readable
    assert "127.0.0.1" in output  # and so does its host
    assert leaks(URL_SECRETS, output, tmp_path, [summary, outputs]) == []
    if actions:
        assert f"::add-mask::{HOOK_QUERY}" in output
