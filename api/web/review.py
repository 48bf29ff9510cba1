"""The review queue page for officers: records awaiting review with the evidence, and four-eyes changes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..errors import Forbidden
from .pages import Page, html_errors

router = APIRouter()


@router.get("/review", include_in_schema=False)
@html_errors
def review_page(request: Request) -> Response:
    page = Page(request)
    if not page.caller.is_officer:
        raise Forbidden(page.t("review_officers_only"))
    source = request.query_params.get("source") or None
    queue = page.catalog.decisions.review_queue(source)
    pending = page.catalog.store.overrides.pending()
    return page.render("review.html", queue=queue, pending=pending, source=source)
