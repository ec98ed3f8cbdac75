"""A fault-injecting TCP proxy for the tests: Chronicle talks to PostgreSQL through it, and a test can

- ``cut()``: refuse new connections (the port is closed) and drop every open one, as a server that
  went away does, until ``restore()``;
- ``reset()``: drop every open connection (TCP reset) and go on accepting, as a restarted server
  leaves a pool's connections;
- ``delay(seconds)``: hold every chunk of data for a while in both directions.

It never touches the real server: the shared PostgreSQL keeps running for every other test.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator


class FaultProxy:
    """Forwards 127.0.0.1:<port> to ``target``, one pair of pump threads per connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.latency = 0.0
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._pumps: dict[tuple[socket.socket, socket.socket], list[threading.Thread]] = {}
        self._lock = threading.Lock()
        self._closed = False

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._listen()
        return self

    def close(self) -> None:
        self._closed = True
        self._stop_listening()
        self._drop_all()

    @property
    def url_host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    # --- faults -------------------------------------------------------------------------

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._stop_listening()
        self._drop_all()

    def restore(self) -> None:
        """Accept connections again (on the same port) after a ``cut``."""
        if self._listener is None:
            self._listen()

    def reset(self) -> None:
        """Drop every open connection with a TCP reset, and keep accepting new ones."""
        self._drop_all()

    def delay(self, seconds: float) -> None:
        self.latency = seconds

    @contextlib.contextmanager
    def outage(self, seconds: float) -> Iterator[None]:
        """A cut for at least ``seconds``, restored on leaving the block."""
        started = time.monotonic()
        self.cut()
        try:
            yield
        finally:
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            self.restore()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    # --- plumbing -----------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="fault-proxy-accept", daemon=True).start()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: a cut
            if self._listener is not listener:
                _drop(client)
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _drop(client)
                continue
            server.settimeout(None)
            pair = (client, server)
            pumps = [
                threading.Thread(target=self._pump, args=(pair, source, sink), daemon=True)
                for source, sink in ((client, server), (server, client))
            ]
            with self._lock:
                self._pairs.add(pair)
                self._pumps[pair] = pumps
            for pump in pumps:
                pump.start()

    def _pump(self, pair: tuple[socket.socket, socket.socket], source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if self.latency:
                    time.sleep(self.latency)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._forget(pair)

    def _forget(self, pair: tuple[socket.socket, socket.socket]) -> None:
        with self._lock:
            known = pair in self._pairs
            self._pairs.discard(pair)
            self._pumps.pop(pair, None)
        if known:
            for sock in pair:
                _drop(sock)

    def _drop_all(self) -> None:
        """Drop every open connection, and return once their resets are sent: a socket closed while its pump
        thread is still in ``recv`` stays open in the kernel until that ``recv`` returns, so the reset would
        otherwise go out later, after the test had already sent its next request on a connection thought dead
        (a fresh-clone CI run on a loaded machine saw that)."""
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
            pumps = [pump for pair in pairs for pump in self._pumps.pop(pair, [])]
        for pair in pairs:
            for sock in pair:
                _drop(sock)
        for pump in pumps:
            if pump is not threading.current_thread():
                pump.join(timeout=5)


def _drop(sock: socket.socket) -> None:
    """Close with a reset (no FIN handshake), waking any thread blocked reading it."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()
