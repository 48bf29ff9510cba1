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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from .httpd import DemoHandler, LoopbackServer
from .oai_server import (
    HTML_CONTENT_TYPE,
    FaultAction,
    FaultContext,
    FaultHook,
    landing_page_html,
    missing_page_html,
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


class _Handler(DemoHandler):
    server_version = "fedcat-demo-rest/0.1"

    @property
    def owner(self) -> RestServer:
        owner: RestServer = super().owner
        return owner

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
            self.send_bytes(400, {"Content-Type": JSON_CONTENT_TYPE}, b'{"error": "request body is not JSON"}')
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
            self.send_bytes(status, headers, payload)
            return
        headers.update(action.headers)
        self.send_bytes(action.status or status, headers, payload if action.body is None else action.body,
                   truncate_at=action.truncate_at, honest_length=action.honest_length)

    def _landing(self, local_id: str) -> None:
        """The dataset's HTML landing page, when the API shape knows its records (``landing_record``)."""
        finder = getattr(self.owner.api, "landing_record", None)
        record = finder(local_id) if finder is not None else None
        if record is None:
            self.send_bytes(404, {"Content-Type": HTML_CONTENT_TYPE}, missing_page_html(local_id))
        else:
            self.send_bytes(200, {"Content-Type": HTML_CONTENT_TYPE}, landing_page_html(record))

    def _fault(self, request: RestRequest, number: int) -> FaultAction | None:
        hook = self.owner.fault
        if hook is None:
            return None
        fields = dict(request.params)
        if isinstance(request.body, dict):
            fields.update({str(k): str(v) for k, v in request.body.items()})
        try:
            return hook(FaultContext(fields, number, request.method, request.path, dict(self.headers.items())))
        except Exception:  # a broken hook must not kill the server
            logger.exception("fault hook failed; serving a normal response")
            return None


class RestServer(LoopbackServer):
    """Serve a :class:`JsonApi` over HTTP on 127.0.0.1; ``port=0`` picks a free port at :meth:`start`."""

    handler = _Handler

    def __init__(self, api: JsonApi, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.api = api
        self.fault: FaultHook | None = None
        self.mutate: Mutator | None = None
        self.requests: list[RestRequest] = []

    def thread_name(self) -> str:
        return f"rest-{self._port}"

    @property
    def url(self) -> str:
        return self.base_url

    def _count(self, request: RestRequest) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)
