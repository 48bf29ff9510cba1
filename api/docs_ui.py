"""The interactive API docs (Swagger UI), with its script, stylesheet and icon served by fedcat itself.

The page works offline and where public CDNs are slow or blocked. Swagger UI's files come from the
``fastapi-offline`` package, which ships a current swagger-ui 5 build (``swagger-ui-bundle`` still ships
swagger-ui 4, which cannot read the OpenAPI 3.1 document FastAPI writes); only its static files are
used, not its app factory.

The page's one inline script (Swagger UI's start-up call) is allowed by its SHA-256 hash in the page's
Content-Security-Policy (see :func:`.security_headers.docs_policy`); no other inline code may run.

Both routes are plain Starlette routes, not API routes: the rule against unknown query parameters
(:func:`.params.strict_params`) is for the API's operations, and a link to the docs page may carry any.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from .security_headers import docs_policy

DOCS_PATH = "/api/v1/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
#: The package whose ``static`` folder holds swagger-ui's dist files (swagger-ui-bundle.js, swagger-ui.css).
DIST_PACKAGE = ("fastapi_offline", "static")
FAVICON = "favicon.png"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hashes(html: str) -> list[str]:
    """The CSP source expressions (``'sha256-…'``) of the inline scripts of ``html``."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body.encode('utf-8')).digest()).decode('ascii')}'"
            for body in _INLINE_SCRIPT.findall(html)]


def docs_page(app: FastAPI, root_path: str = "") -> Response:
    """Swagger UI's page for ``app``'s OpenAPI document, every URL on this server."""
    assert app.openapi_url is not None, "the docs page needs the OpenAPI document"
    root = root_path.rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=root + app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/{FAVICON}",
        swagger_ui_parameters=app.swagger_ui_parameters,
    )
    html = bytes(page.body).decode("utf-8")
    page.headers["content-security-policy"] = docs_policy(*script_hashes(html))
    return page


def install(app: FastAPI) -> None:
    """Serve the docs page at :data:`DOCS_PATH` and swagger-ui's files under :data:`ASSETS_PATH`.

    The app must be created with ``docs_url=None`` (FastAPI's own page loads its files from a CDN).
    """
    app.mount(ASSETS_PATH, StaticFiles(packages=[DIST_PACKAGE]), name="docs-assets")

    async def swagger_ui(request: Request) -> Response:
        return docs_page(app, str(request.scope.get("root_path", "")))

    app.add_route(DOCS_PATH, swagger_ui, include_in_schema=False)
