"""Security headers on every response: no sniffing, no framing, a strict Content-Security-Policy.

The pages need nothing but their own stylesheet and forms (no script runs on them; the JSON-LD block
is data), so their policy allows only that. The interactive API docs (Swagger UI) load their script
from a CDN and run inline code; they get everything but the content policy, which would blank them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
#: Paths that run a script of their own (the OpenAPI docs page).
SCRIPTED_PATHS = ("/api/v1/docs",)


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` (and the content policy, except on :data:`SCRIPTED_PATHS`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        policy = (b"frame-ancestors 'none'" if path.startswith(SCRIPTED_PATHS)
                  else CONTENT_SECURITY_POLICY.encode("ascii"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in (*HEADERS, (b"content-security-policy", policy)) if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
