"""``/key``: keep an API key in a cookie so the pages show what that key's audience may see; the CSS."""

from __future__ import annotations

from importlib import resources
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from ..deps import KEY_COOKIE, catalog_of
from .pages import Page, error_page, html_errors

router = APIRouter()
MAX_FORM = 4096


@router.get("/static/fedcat.css", include_in_schema=False)
def stylesheet() -> Response:
    css = resources.files("fedcat.api.web").joinpath("static/fedcat.css").read_text(encoding="utf-8")
    return PlainTextResponse(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"})


@router.get("/static/fedcat.js", include_in_schema=False)
def script() -> Response:
    js = resources.files("fedcat.api.web").joinpath("static/fedcat.js").read_text(encoding="utf-8")
    return PlainTextResponse(js, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "max-age=3600"})


@router.get("/key", include_in_schema=False)
@html_errors
def key_form(request: Request) -> Response:
    return Page(request).render("key.html")


def cross_site(request: Request) -> bool:
    """Whether a form post comes from another site: its Origin (else Referer) names another host.

    Browsers send Origin with every form POST (``null`` when a page hides it), so a cross-site form
    cannot set or forget the key cookie of a visitor (login CSRF). A client that sends neither (curl)
    is not a browser acting for a victim and is let through.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return False
    host = request.headers.get("host", "")
    return source == "null" or urlsplit(source).netloc.lower() != host.lower()


async def _form(request: Request) -> dict[str, str] | None:
    """The posted form, or None when the body is over :data:`MAX_FORM` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", errors="replace")).items()}


@router.post("/key", include_in_schema=False)
async def key_submit(request: Request) -> Response:
    """Check the key, then keep it in an HttpOnly, SameSite=Strict cookie (or forget it); the cookie is
    Secure when the page was reached over HTTPS (directly, or through a proxy uvicorn trusts)."""
    if cross_site(request):
        return error_page(request, 403, "a form on another site cannot set or forget your API key")
    form = await _form(request)
    if form is None:
        return error_page(request, 413, f"the form is larger than {MAX_FORM} bytes")
    resp = RedirectResponse("/centers", status_code=303)
    if form.get("forget"):
        resp.delete_cookie(KEY_COOKIE, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return resp
    key = form.get("key", "").strip()
    if not key or catalog_of(request).store.keys.verify(key) is None:
        return error_page(request, 401, "unknown or revoked API key")
    resp.set_cookie(KEY_COOKIE, key, httponly=True, samesite="strict", max_age=30 * 86400,
                    secure=request.url.scheme == "https")
    return resp
