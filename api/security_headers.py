"""Security headers on every response: no sniffing, no framing, a strict Content-Security-Policy.

The pages need nothing but their own stylesheet, forms and one script file of their own (copy buttons;
no inline code runs on them; the JSON-LD block is data), so their policy allows only that. The interactive
API docs (Swagger UI, see :mod:`.docs_ui`) run scripts, all from this server: their policy
(:func:`docs_policy`) allows this server's scripts, styles, images and requests, and of inline code only
the start-up script the page names by its hash.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: ``connect-src 'self'``: the search box asks this server for suggestions (``/api/v1/suggest``).
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
#: Pages that run scripts (the OpenAPI docs page): they get :func:`docs_policy` instead.
SCRIPTED_PATHS = frozenset({"/api/v1/docs"})


def docs_policy(*script_hashes: str) -> str:
    """The docs page's policy: scripts, styles, images and requests from this server only; of inline
    scripts, only those named by ``script_hashes`` (CSP source expressions such as ``'sha256-…'``)."""
    scripts = " ".join(("'self'", *script_hashes))
    return (f"default-src 'none'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` and a content policy to every response that has none of its own:
    :data:`CONTENT_SECURITY_POLICY`, or on :data:`SCRIPTED_PATHS` :func:`docs_policy` with no inline script
    allowed (the docs page sets its own, naming its start-up script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        policy = (docs_policy() if path in SCRIPTED_PATHS else CONTENT_SECURITY_POLICY).encode("ascii")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in (*HEADERS, (b"content-security-policy", policy)) if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
