"""A real HTTP server on 127.0.0.1 for tests, scripted by a handler function.

Every test that needs a server (GitHub API, OSV, Slack, a staging deployment) starts
one of these; it binds port 0 on 127.0.0.1 only and is stopped when the test ends.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """A request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    """What the handler answers. ``delay`` sleeps before answering; ``reset`` drops the socket."""

    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        self.headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


class LocalServer:
    """The running server: its base URL and every request it received."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._stop = threading.Event()
        server = self

        class _RequestHandler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                server.requests.append(request)
                response = server.handler(request)
                if response.delay:
                    server._stop.wait(response.delay)
                if response.reset:
                    import socket  # noqa: PLC0415

                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                data = response.encoded()
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve  # noqa: N815

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


@contextmanager
def serve(handler: Handler) -> Iterator[LocalServer]:
    """Run a :class:`LocalServer` for the duration of the ``with`` block."""
    server = LocalServer(handler).start()
    try:
        yield server
    finally:
        server.stop()


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers.

    What a hung deployment looks like from outside: the connection succeeds, the
    request is sent, no byte comes back. ``accepted`` is set at the first connection.
    """

    def __init__(self) -> None:
        import socket  # noqa: PLC0415

        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._held: list[object] = []
        self._stop = threading.Event()
        self.accepted = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)  # kept open, never read, never answered
            self.accepted.set()

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()  # type: ignore[attr-defined]
        self._sock.close()


@contextmanager
def silent() -> Iterator[SilentServer]:
    """Run a :class:`SilentServer` for the duration of the ``with`` block."""
    server = SilentServer().start()
    try:
        yield server
    finally:
        server.stop()
