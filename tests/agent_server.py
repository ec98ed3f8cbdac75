"""A local HTTP service for the HTTP agent's tests: a real server on 127.0.0.1, run by the test in a thread.

Each request is answered by the test's ``respond`` function (given the request, it answers a
``Reply``: status, headers, body, and an optional delay before answering or between body chunks);
every request is recorded with its path, headers and JSON body, and the calls are counted per
``Idempotency-Key``. The server lives in the test's process, so it outlives any worker the test kills.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: Any
    number: int  # 1 for the server's first request, ...


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str | Any = b"{}"  # bytes and str are sent as they are, anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    chunks: int = 1  # the body sent in this many pieces, ``chunk_delay`` apart
    chunk_delay: float = 0.0
    declare_length: bool = True  # False: no Content-Length, the body ends when the connection closes

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


class AgentServer:
    def __init__(self, respond: Callable[[Request], Reply]) -> None:
        self.respond = respond
        self.requests: list[Request] = []
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url(self, path: str = "/agent", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def _record(self, path: str, headers: dict[str, str], raw: bytes) -> Request:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            request = Request(path, headers, body, len(self.requests) + 1)
            self.requests.append(request)
            key = headers.get("idempotency-key")
            if key is not None:
                self.calls[key] += 1
        return request

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                reply = server.respond(server._record(self.path, headers, raw))
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.payload()
                try:
                    self.send_response(reply.status)
                    sent = {name.lower() for name in reply.headers}
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if "content-type" not in sent:
                        self.send_header("Content-Type", "application/json")
                    if not reply.declare_length:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    elif "content-length" not in sent:
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    step = max(1, -(-len(payload) // reply.chunks))
                    for start in range(0, len(payload), step):
                        self.wfile.write(payload[start : start + step])
                        self.wfile.flush()
                        if reply.chunk_delay:
                            time.sleep(reply.chunk_delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout, a size limit): what the test is about

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[AgentServer]:
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(5)
