"""A scripted HTTP responder on loopback for checking what the Elasticsearch backend sends.

It is not Elasticsearch: it records each request (method, path, query, JSON or
NDJSON body) and answers with the response a test scripted for that route, so
tests can check the requests on the wire and the backend's handling of the
answers (errors, retries, per-document failures). Index behaviour itself is
tested by the contract suite against a live cluster.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


Answer = tuple[int, Any]
Route = Callable[[Request], Answer]


@dataclass
class Script:
    routes: dict[tuple[str, str], Route | Answer] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    default: Answer = (404, {"error": {"type": "unscripted", "reason": "no route"}, "status": 404})

    def on(self, method: str, path: str, answer: Route | Answer) -> None:
        self.routes[(method, path)] = answer

    def answer(self, req: Request) -> Answer:
        self.requests.append(req)
        route = self.routes.get((req.method, req.path), self.default)
        return route(req) if callable(route) else route

    def sent(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [r for r in self.requests if (method is None or r.method == method)
                and (path is None or r.path == path)]


def _parse(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8")
    if "ndjson" in content_type:  # bulk: one JSON value per line
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        payload = _parse(self.rfile.read(length), self.headers.get("Content-Type", ""))
        req = Request(self.command, unquote(parts.path), parse_qs(parts.query), payload)
        status, body = self.server.script.answer(req)  # type: ignore[attr-defined]
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815 - stdlib naming

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class WireServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.script = script  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WireServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
