"""The smoke session's concurrency: 20 endpoints of 200 ms each, session vs. a curl loop.

The seed checked endpoints one after another with ``curl -fsSL --max-time 10``; the
session asserts them concurrently, so its time should stay near the slowest endpoint
(target: within 1.5x of 200 ms). Run: ``uv run python benchmarks/smoke_concurrency.py``.
"""

from __future__ import annotations

import http.server
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ci_tasks.core.actions import Output
from ci_tasks.core.config import parse_config
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, run_stage
from ci_tasks.stages.smoke.config import SmokeConfig
from ci_tasks.stages.smoke.probe import HttpProbe
from ci_tasks.stages.smoke.session import PollClock, assert_all, plan, smoke

ENDPOINTS = 20
DELAY = 0.2


class Handler(http.server.BaseHTTPRequestHandler):
    """/health answers at once; every other path after DELAY seconds."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        """Answer JSON, late unless it is the health check."""
        if not self.path.startswith("/health"):
            time.sleep(DELAY)
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def curl_loop(url: str, paths: list[str]) -> tuple[float, str]:
    curl = shutil.which("curl")
    start = time.perf_counter()
    if curl:
        for path in paths:
            subprocess.run(
                [curl, "-fsSL", "--max-time", "10", "-o", "/dev/null", url + path], check=True
            )
        return time.perf_counter() - start, "curl"
    import urllib.request  # noqa: PLC0415

    for path in paths:
        with urllib.request.urlopen(url + path, timeout=10) as answer:  # noqa: S310
            answer.read()
    return time.perf_counter() - start, "python urllib loop (no curl)"


class Server(http.server.ThreadingHTTPServer):
    """A threading server with a listen backlog for 21 simultaneous connections.

    http.server's default backlog is 5: the extra SYNs would be dropped and retried
    after 1 s, measuring the kernel instead of the session.
    """

    request_queue_size = 128


def main() -> None:
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    paths = [f"/e{i}" for i in range(ENDPOINTS)]
    endpoints = [{"path": p, "conditions": ["status == 200"]} for p in paths]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = parse_config(
            {"smoke": {"docs_path": "", "endpoint": endpoints, "health_paths": ["/health"]}},
            root / "pyproject.toml",
        )
        # The root "/" is a default check too; it answers after DELAY like the others.
        _, checks = plan(config.section(SmokeConfig))
        probe = HttpProbe(url, policy=config.retry.policy(), clock=PollClock())
        start = time.perf_counter()
        results = assert_all(checks, probe, 10)
        assert_phase = time.perf_counter() - start
        probe.close()
        assert all(r.passed for r in results)

        output = Output(stream=io.StringIO(), env={})
        ctx = StageContext(
            name="smoke",
            config=config,
            runner=Runner(env={}, cwd=root, output=output),
            posargs=["--url", url],
            output=output,
        )
        start = time.perf_counter()
        code = run_stage(smoke, ctx)
        session = time.perf_counter() - start
        assert code == 0, output.stream.getvalue()  # type: ignore[attr-defined]

    sequential, how = curl_loop(url, ["/", *paths])
    server.shutdown()
    print(f"{len(checks)} endpoints, each answering in {DELAY * 1000:.0f} ms")
    print(f"{'sequential ' + how:<40} {sequential * 1000:8.0f} ms")
    print(f"{'smoke session (whole stage, report too)':<40} {session * 1000:8.0f} ms")
    print(f"{'smoke assert phase only':<40} {assert_phase * 1000:8.0f} ms")
    print(f"{'ratio sequential / session':<40} {sequential / session:8.1f}x")
    print(f"{'session / slowest endpoint':<40} {session / DELAY:8.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
