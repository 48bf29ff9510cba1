"""The record page: all metadata, the badges with their evidence, providing centers, citations, JSON-LD."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from fedcat.harvester.citation import bibtex
from fedcat.harvester.links import safe_url
from fedcat.harvester.model import Openness, Record, pick_lang
from fedcat.index.base import SearchQuery

from ..formats import caller_view, negotiate
from ..formats.negotiation import HTML, PAGE_FORMATS
from ..records import formatted, visible_record
from .jsonld import script
from .pages import Page, html_errors

router = APIRouter()


def providers(page: Page, record: Record) -> list[dict[str, Any]]:
    """Visible records of other centers carrying the same DOI or CSTR (the same dataset, provided twice)."""
    out: list[dict[str, Any]] = []
    for ident in (record.identifiers.doi, record.identifiers.cstr):
        if not ident:
            continue
        result = page.catalog.index.search(SearchQuery(text=ident, facets=(), size=20, highlight=False,
                                                       visibility=page.caller.visibility))
        for hit in result.hits:
            same = ident in (hit.doc.get("doi"), hit.doc.get("cstr"))
            if same and hit.id != record.id and all(o["id"] != hit.id for o in out):
                out.append({"id": hit.id, "source_id": hit.doc["source_id"],
                            "center": page.center_name(hit.doc["source_id"])})
    return out


@dataclass(frozen=True)
class AccessAction:
    """The record page's "access data" action: what access needs, said before the click, and where it goes."""

    kind: str  # open, registered, conditional, offline, embargoed, metadata_only, unknown
    url: str | None
    date: str | None = None


#: Words in a source's own access statement that mean the application is made outside the web.
OFFLINE_WORDS = ("离线", "線下", "线下", "offline")


def access_action(record: Record, sees_links: bool) -> AccessAction:
    openness = record.access.openness
    url = (safe_url(record.access_url) or safe_url(record.landing_page)) if sees_links else None
    if openness is Openness.CONDITIONAL and any(
            word in (ev.source_value or "").lower() for ev in record.access.evidence if ev.tag == "openness"
            for word in OFFLINE_WORDS):
        return AccessAction("offline", url)
    if openness is Openness.EMBARGOED:
        return AccessAction("embargoed", url, record.access.embargo_until)
    return AccessAction(openness.value, url)


@router.get("/record/{record_id:path}", include_in_schema=False)
@html_errors
def record_page(request: Request, record_id: str,
                fmt: Annotated[str | None, Query(alias="format", max_length=40)] = None) -> Response:
    """The record page, or the record in another format (``Accept`` or ``?format=``, as the API offers)."""
    chosen = negotiate(request.headers.get("accept"), fmt, PAGE_FORMATS)
    page = Page(request)
    rec, caller = visible_record(request, record_id)
    if chosen is not HTML:
        return formatted(request, rec, caller, chosen)
    sees_links = caller.sees_links(rec.access.security)
    view = caller_view(rec, sees_links)
    evidence: dict[str, list[Any]] = {}
    for ev in rec.access.evidence:
        evidence.setdefault(ev.tag, []).append(ev)
    desc_zh = pick_lang(rec.descriptions, "zh", fallback=False)
    desc_en = pick_lang(rec.descriptions, "en", fallback=False)
    response = page.render(
        "record.html", rec=view, sees_links=sees_links, evidence=evidence, action=access_action(rec, sees_links),
        link_check_due=rec.access.openness is Openness.OPEN,
        links=page.catalog.store.links.for_record(rec.id), center=page.center_name(rec.source_id),
        providers=providers(page, rec), bibtex=bibtex(view), jsonld=script(view),
        description=(desc_en or desc_zh) if page.lang.value == "en" else (desc_zh or desc_en),
        description_other=desc_zh if page.lang.value == "en" and desc_en else desc_en if desc_zh else None,
    )
    response.headers.add_vary_header("Accept")
    return response
