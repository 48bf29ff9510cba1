"""A small JSON API server for the demo federation and the tests, with fault injection.

:class:`RestServer` serves one :class:`JsonApi` (an API shape: ScienceDB,
NODA, CKAN, ... in :mod:`.rest_apis`) on 127.0.0.1 from a daemon thread.
Faults, as for :class:`~.oai_server.OAIServer`:

* ``server.fault`` — a callable taking a :class:`~.oai_server.FaultContext`
  (query parameters and top-level JSON body fields as text) and returning a
  :class:`~.oai_server.FaultAction`: delay, dropped connection, another
  status, headers or body, a truncated body;
* ``server.mutate`` — a callable ``(request, body) -> body`` rewriting the JSON
  answer before it is sent: a failing envelope, a bad record in a page.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

from .oai_server import (
    HTML_CONTENT_TYPE, FaultAction, FaultContext, FaultHook, landing_page_html, missing_page_html,
)

logger = logging.getLogger(__name__)

__all__ = ["JsonApi", "RestReply", "RestRequest", "RestServer"]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class RestRequest:
    method: str
    path: str
    params: dict[str, str]
    body: Any = None


@dataclass
class RestReply:
    """A JSON answer (``body`` is JSON data) and its status and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class JsonApi(Protocol):
    """An API shape: answers one request (``base_url`` is the server's root, for links)."""

    def respond(self, request: RestRequest, base_url: str) -> RestReply: ...


Mutator = Callable[[RestRequest, Any], Any]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: RestServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fedcat-demo-rest/0.1"
    timeout = 30

    @property
    def owner(self) -> RestServer:
        return cast(_HTTPServer, self.server).owner

    def setup(self) -> None:
        super().setup()
        self.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve(None)

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._send(400, {"Content-Type": JSON_CONTENT_TYPE}, b'{"error": "request body is not JSON"}')
            return
        self._serve(body)

    def _serve(self, body: Any) -> None:
        owner = self.owner
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        request = RestRequest(self.command, parts.path, params, body)
        number = owner._count(request)
        if request.method == "GET" and request.path.startswith("/dataset/"):
            self._landing(unquote(request.path[len("/dataset/"):]))
            return
        action = self._fault(request, number)
        if action is not None and action.delay > 0:
            time.sleep(action.delay)
        if action is not None and action.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        reply = owner.api.respond(request, owner.base_url)
        data = reply.body
        if owner.mutate is not None:
            data = owner.mutate(request, data)
        payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": JSON_CONTENT_TYPE, **reply.headers}
        status = reply.status
        if action is None:
            self._send(status, headers, payload)
            return
        headers.update(action.headers)
        self._send(action.status or status, headers, payload if action.body is None else action.body,
                   truncate_at=action.truncate_at, honest_length=action.honest_length)

    def _landing(self, local_id: str) -> None:
        """The dataset's HTML landing page, when the API shape knows its records (``landing_record``)."""
        finder = getattr(self.owner.api, "landing_record", None)
        record = finder(local_id) if finder is not None else None
        if record is None:
            self._send(404, {"Content-Type": HTML_CONTENT_TYPE}, missing_page_html(local_id))
        else:
            self._send(200, {"Content-Type": HTML_CONTENT_TYPE}, landing_page_html(record))

    def _fault(self, request: RestRequest, number: int) -> FaultAction | None:
        hook = self.owner.fault
        if hook is None:
            return None
        fields = dict(request.params)
        if isinstance(request.body, dict):
            fields.update({str(k): str(v) for k, v in request.body.items()})
        try:
            return hook(FaultContext(fields, number, request.method, request.path))
        except Exception:  # a broken hook must not kill the server
            logger.exception("fault hook failed; serving a normal response")
            return None

    def _send(self, status: int, headers: Mapping[str, str], body: bytes, *, truncate_at: int | None = None,
              honest_length: bool = False) -> None:
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
            self.close_connection = True


class RestServer:
    """Serve a :class:`JsonApi` over HTTP on 127.0.0.1; ``port=0`` picks a free port at :meth:`start`."""

    def __init__(self, api: JsonApi, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        self._port = port
        self.fault: FaultHook | None = None
        self.mutate: Mutator | None = None
        self.requests: list[RestRequest] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    def start(self) -> RestServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self._port), self)
        self._port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"rest-{self._port}", daemon=True)
        self._thread.start()
        logger.info("JSON API demo server (%s) at %s", type(self.api).__name__, self.base_url)
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> RestServer:
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
        """The site root, e.g. ``http://127.0.0.1:8201``: a source's ``url``."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url

    def _count(self, request: RestRequest) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
