"""The search page: one box, facets with counts, highlighted snippets, badges, paging; the URL is the query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from fedcat.harvester.model import Security
from fedcat.index.base import FACETS, MAX_PAGE_SIZE, MAX_RESULT_WINDOW, SearchQuery, Sort

from ..deps import audit_hits
from ..errors import BadParameter
from ..export import ExportFormat, export_response
from ..params import MAX_QUERY_LENGTH, checked_filters
from ..suggest import did_you_mean
from ..translate import translated
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


#: The page numbers the pager reaches: the engines stop at MAX_RESULT_WINDOW results.
MAX_PAGE = MAX_RESULT_WINDOW // PAGE_SIZE


def _default_sort(q: str) -> Sort:
    return Sort.RELEVANCE if q else Sort.NEWEST


@dataclass(frozen=True)
class SearchState:
    """What the page was asked, validated: every link the page renders is built from this, never from the raw
    query string (so a 60 KB ``q`` is cut once, to MAX_QUERY_LENGTH, and not repeated in every link)."""

    q: str
    filters: dict[str, list[str]]
    sort: Sort
    number: int

    @classmethod
    def of(cls, request: Request) -> SearchState:
        q = request.query_params.get("q", "").strip()[:MAX_QUERY_LENGTH]
        raw_sort = request.query_params.get("sort")
        if raw_sort is not None and raw_sort not in {s.value for s in Sort}:
            raise BadParameter(f"sort must be one of {', '.join(s.value for s in Sort)}", parameter="sort")
        sort = Sort(raw_sort) if raw_sort else _default_sort(q)
        raw_number = request.query_params.get("page", "1")
        if not raw_number.isdigit() or not 1 <= int(raw_number) <= MAX_PAGE:
            raise BadParameter(f"page must be a number between 1 and {MAX_PAGE}", parameter="page")
        filters = checked_filters({name: request.query_params.getlist(name) for name in FACETS})
        return cls(q=q, filters=filters, sort=sort, number=int(raw_number))

    def params(self, *, sort: Sort | None = None, number: int = 1,
               toggle: tuple[str, str] | None = None) -> list[tuple[str, str]]:
        """The query string of this search with one thing changed (page number, sort, one facet value)."""
        out = [("q", self.q)] if self.q else []
        for name, values in self.filters.items():
            out += [(name, v) for v in values if (name, v) != toggle]
        if toggle is not None and toggle[1] not in self.filters.get(toggle[0], []):
            out.append(toggle)
        chosen = sort or self.sort
        if chosen is not _default_sort(self.q):
            out.append(("sort", chosen.value))
        if number > 1:
            out.append(("page", str(number)))
        return out


def _facets_for(page: Page) -> tuple[str, ...]:
    """The security facet only for callers who may see more than one level."""
    levels = page.caller.visibility.security - {Security.UNKNOWN}
    return tuple(f for f in FACETS if f != "security" or len(levels) > 1)


def _toggle(page: Page, state: SearchState, name: str, value: str) -> str:
    return page.url("/", state.params(toggle=(name, value)))


def _label(page: Page, name: str, value: str) -> str:
    if name == "source":
        return page.center_name(value)
    if name in ("openness", "geo_scope", "security"):
        return page.t.tag(value)
    if name == "licence" and value == "unspecified":
        return "未注明" if page.lang.value == "zh" else "not stated"
    return value


def _hit(page: Page, doc: dict[str, Any], highlights: dict[str, list[str]], translated: list[str]) -> dict[str, Any]:
    def marked(key: str) -> Markup | None:
        frags = highlights.get(key)
        return Markup(frags[0]) if frags else None  # the index escapes the text and adds only <mark>

    desc_key = "description_en" if page.lang.value == "en" and doc.get("description_en") else "description"
    text = doc.get(desc_key) or ""
    return dict(doc, center_name=page.center_name(doc["source_id"]),
                title_html=marked("title") or doc.get("title"),
                title_en_html=marked("title_en") or doc.get("title_en"),
                snippet=marked(desc_key) or (text[:220] + ("…" if len(text) > 220 else "")), translated=translated)


@router.get("/", include_in_schema=False)
@html_errors
def search_page(request: Request) -> Response:
    page = Page(request)
    state = SearchState.of(request)
    query = translated(SearchQuery(text=state.q, filters=state.filters, facets=_facets_for(page), size=PAGE_SIZE,
                                   offset=(state.number - 1) * PAGE_SIZE, sort=state.sort,
                                   visibility=page.caller.visibility), page.catalog.store)
    result = page.catalog.index.search(query)
    audit_hits(page.catalog, page.caller, "search", result.hits)
    facets = {
        name: [FacetValue(b.value, _label(page, name, b.value), b.count, b.value in state.filters.get(name, []),
                          _toggle(page, state, name, b.value)) for b in buckets]
        for name, buckets in result.facets.items() if buckets
    }
    pages = max(1, min(MAX_PAGE, -(-result.total // PAGE_SIZE)))
    sorts = [(s, page.url("/", state.params(sort=s)), s is state.sort)
             for s in (Sort.RELEVANCE, Sort.NEWEST, Sort.OLDEST) if s is not Sort.RELEVANCE or state.q]
    export = [(fmt, page.url("/export", [*state.params(), ("format", fmt)])) for fmt in ("csv", "jsonl")]
    return page.render(
        "search.html", params=state.params(number=state.number), q=state.q, total=result.total,
        number=state.number, pages=pages, sorts=sorts, export=export if result.total else [],
        prev_url=page.url("/", state.params(number=state.number - 1)) if state.number > 1 else None,
        next_url=page.url("/", state.params(number=state.number + 1)) if state.number < pages else None,
        hits=[_hit(page, page.caller.shape_hit(h.doc), h.highlights, h.translated) for h in result.hits],
        translations=[f"{term} → {target}" for term, target in query.translations],
        suggestions=[(s, page.url("/", [("q", s)])) for s in did_you_mean(page.catalog.index, query, result)],
        facets=facets, selected=[(k, v, _label(page, k, v), _toggle(page, state, k, v))
                                 for k, vs in state.filters.items() for v in vs],
        clear_url=page.url("/", [("q", state.q)] if state.q else None),
    )


@router.get("/export", include_in_schema=False)
@html_errors
def export_page(request: Request) -> Response:
    """The search page's export button: the API's export of this search, as the page's caller (cookie key)."""
    page = Page(request)
    state = SearchState.of(request)
    raw_format = request.query_params.get("format", ExportFormat.CSV.value)
    if raw_format not in {f.value for f in ExportFormat}:
        raise BadParameter(f"format must be one of {', '.join(f.value for f in ExportFormat)}", parameter="format")
    query = SearchQuery(text=state.q, filters=state.filters, facets=(), size=MAX_PAGE_SIZE, sort=state.sort,
                        highlight=False)
    return export_response(page.catalog, page.caller, query, ExportFormat(raw_format))
