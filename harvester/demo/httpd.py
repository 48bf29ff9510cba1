"""What every demo server shares: a threaded HTTP server on loopback, its lifecycle, raw sends.

:class:`LoopbackServer` starts and stops the server (a daemon thread; ``port=0``
picks a free port, kept across restarts) and tracks open connections so that
``stop()`` also wakes keep-alive handler threads. :class:`DemoHandler` gives
handlers their owner and :meth:`DemoHandler.send_bytes`, which can cut a body
short while announcing its full length (the truncation fault).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast

logger = logging.getLogger(__name__)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: LoopbackServer, handler: type[DemoHandler]) -> None:
        self.owner = owner
        super().__init__(address, handler)


class DemoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    @property
    def owner(self) -> Any:
        return cast(_HTTPServer, self.server).owner

    def setup(self) -> None:
        super().setup()
        self.owner.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.owner.track(self.connection, add=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)

    def send_bytes(self, status: int, headers: Mapping[str, str], body: bytes, *,
                   truncate_at: int | None = None, honest_length: bool = False) -> None:
        """Send a response; with ``truncate_at`` only that many bytes (and close the connection)."""
        payload = body if truncate_at is None else body[: max(0, truncate_at)]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "content-length" not in {k.lower() for k in headers}:
            self.send_header("Content-Length", str(len(payload) if honest_length else len(body)))
        if truncate_at is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client went away while sending the response")
            self.close_connection = True


class LoopbackServer:
    """A demo server's lifecycle and addresses; subclasses name their handler and thread."""

    handler: type[DemoHandler] = DemoHandler

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    def thread_name(self) -> str:
        return f"demo-{self._port}"

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self._port), self, self.handler)
        self._port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.thread_name(), daemon=True)
        self._thread.start()
        logger.info("%s at %s", type(self).__name__, self.base_url)
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:  # wake keep-alive handler threads
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        logger.debug("stopped %s on port %d", type(self).__name__, self._port)

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("server not started yet (port 0 is assigned at start())")
        return self._port

    @property
    def base_url(self) -> str:
        """The site root, e.g. ``http://127.0.0.1:8101``."""
        return f"http://{self.host}:{self.port}"

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
