"""The record page: all metadata, the badges with their evidence, providing centers, citations, JSON-LD."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fedcat.harvester.citation import bibtex, gbt7714
from fedcat.harvester.links import safe_url
from fedcat.harvester.model import Openness, Record, pick_lang
from fedcat.index.base import SearchQuery

from ..records import visible_record
from .jsonld import script
from .pages import Page, html_errors

router = APIRouter()


def caller_view(record: Record, sees_links: bool) -> Record:
    """The record as the caller may see it: without access links (and a citation without them) if withheld."""
    if sees_links:
        return record
    view = copy.deepcopy(record)
    view.landing_page = view.access_url = None
    view.identifiers.urls = []
    view.citation = gbt7714(view)
    return view


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
def record_page(request: Request, record_id: str) -> Response:
    page = Page(request)
    rec, caller = visible_record(request, record_id)
    sees_links = caller.sees_links(rec.access.security)
    view = caller_view(rec, sees_links)
    evidence: dict[str, list[Any]] = {}
    for ev in rec.access.evidence:
        evidence.setdefault(ev.tag, []).append(ev)
    desc_zh = pick_lang(rec.descriptions, "zh", fallback=False)
    desc_en = pick_lang(rec.descriptions, "en", fallback=False)
    return page.render(
        "record.html", rec=view, sees_links=sees_links, evidence=evidence, action=access_action(rec, sees_links),
        link_check_due=rec.access.openness is Openness.OPEN,
        links=page.catalog.store.links.for_record(rec.id), center=page.center_name(rec.source_id),
        providers=providers(page, rec), bibtex=bibtex(view), jsonld=script(view),
        description=(desc_en or desc_zh) if page.lang.value == "en" else (desc_zh or desc_en),
        description_other=desc_zh if page.lang.value == "en" and desc_en else desc_en if desc_zh else None,
    )
