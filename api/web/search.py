"""The search page: one box, facets with counts, highlighted snippets, badges, paging; the URL is the query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from fedcat.harvester.model import Security
from fedcat.index.base import FACETS, SearchQuery, Sort

from ..deps import audit_hits
from ..errors import BadParameter
from ..params import MAX_QUERY_LENGTH, MAX_YEAR, MIN_YEAR, check_vocabulary, valid_year
from .pages import Page, html_errors

router = APIRouter()
PAGE_SIZE = 20


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str


def _filters(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in FACETS:
        values = [v for v in request.query_params.getlist(name) if v.strip()]
        if name == "year" and any(not valid_year(v) for v in values):
            raise BadParameter(f"year must be a number between {MIN_YEAR} and {MAX_YEAR}", parameter="year")
        check_vocabulary(name, values)
        if values:
            out[name] = values
    return out


def _facets_for(page: Page) -> tuple[str, ...]:
    """The security facet only for callers who may see more than one level."""
    levels = page.caller.visibility.security - {Security.UNKNOWN}
    return tuple(f for f in FACETS if f != "security" or len(levels) > 1)


def _toggle(page: Page, name: str, value: str) -> str:
    params = [(k, v) for k, v in page.request.query_params.multi_items() if k not in ("cursor", "page", "lang")]
    if (name, value) in params:
        params.remove((name, value))
    else:
        params.append((name, value))
    return page.url("/", params)


def _label(page: Page, name: str, value: str) -> str:
    if name == "source":
        return page.center_name(value)
    if name in ("openness", "geo_scope", "security"):
        return page.t.tag(value)
    if name == "licence" and value == "unspecified":
        return "未注明" if page.lang.value == "zh" else "not stated"
    return value


def _hit(page: Page, doc: dict[str, Any], highlights: dict[str, list[str]]) -> dict[str, Any]:
    def marked(key: str) -> Markup | None:
        frags = highlights.get(key)
        return Markup(frags[0]) if frags else None  # the index escapes the text and adds only <mark>

    desc_key = "description_en" if page.lang.value == "en" and doc.get("description_en") else "description"
    text = doc.get(desc_key) or ""
    return dict(doc, center_name=page.center_name(doc["source_id"]),
                title_html=marked("title") or doc.get("title"),
                title_en_html=marked("title_en") or doc.get("title_en"),
                snippet=marked(desc_key) or (text[:220] + ("…" if len(text) > 220 else "")))


@router.get("/", include_in_schema=False)
@html_errors
def search_page(request: Request) -> Response:
    page = Page(request)
    q = request.query_params.get("q", "").strip()[:MAX_QUERY_LENGTH]
    filters = _filters(request)
    cursor = request.query_params.get("cursor") or None
    number = int(request.query_params.get("page", "1")) if request.query_params.get("page", "1").isdigit() else 1
    query = SearchQuery(text=q, filters=filters, facets=_facets_for(page), size=PAGE_SIZE, cursor=cursor,
                        sort=Sort.RELEVANCE if q else Sort.NEWEST, visibility=page.caller.visibility)
    result = page.catalog.index.search(query)

    audit_hits(page.catalog, page.caller, "search", result.hits)
    facets = {
        name: [FacetValue(b.value, _label(page, name, b.value), b.count, b.value in filters.get(name, []),
                          _toggle(page, name, b.value)) for b in buckets]
        for name, buckets in result.facets.items() if buckets
    }
    base = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "page", "lang")]
    next_url = page.url("/", [*base, ("cursor", result.next_cursor), ("page", str(number + 1))]) \
        if result.next_cursor else None
    return page.render(
        "search.html", q=q, total=result.total, number=number, next_url=next_url,
        first_url=page.url("/", base) if cursor else None,
        hits=[_hit(page, page.caller.shape_hit(h.doc), h.highlights) for h in result.hits],
        facets=facets, selected=[(k, v, _label(page, k, v), _toggle(page, k, v))
                                 for k, vs in filters.items() for v in vs],
        clear_url=page.url("/", [("q", q)] if q else None),
    )
