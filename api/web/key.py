"""``/key``: keep an API key in a cookie so the pages show what that key's audience may see; the CSS."""

from __future__ import annotations

from importlib import resources
from urllib.parse import parse_qs

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


@router.get("/key", include_in_schema=False)
@html_errors
def key_form(request: Request) -> Response:
    return Page(request).render("key.html")


@router.post("/key", include_in_schema=False)
async def key_submit(request: Request) -> Response:
    """Check the key, then keep it in an HttpOnly, SameSite=Strict cookie (or forget it)."""
    raw = (await request.body())[:MAX_FORM].decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in parse_qs(raw).items()}
    resp = RedirectResponse("/centers", status_code=303)
    if form.get("forget"):
        resp.delete_cookie(KEY_COOKIE)
        return resp
    key = form.get("key", "").strip()
    if not key or catalog_of(request).store.keys.verify(key) is None:
        return error_page(request, 401, "unknown or revoked API key")
    resp.set_cookie(KEY_COOKIE, key, httponly=True, samesite="strict", max_age=30 * 86400)
    return resp
