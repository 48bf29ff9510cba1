"""Export: every record a search matches, as JSON Lines or CSV, with the caller's visibility; or, for other
catalogs to take in, as DataCite JSON Lines or DCAT-AP Turtle with the public audience's.

The export pages through the index with the same query (and so the same
audience filter) as ``/api/v1/search``; it stops at the index's result window.
The DataCite and DCAT-AP exports write each record a hit stands for (every visible member of a duplicate
group) from the store, as :func:`public_caller` may see it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from fedcat.harvester.config import Audience
from fedcat.harvester.links import safe_url
from fedcat.harvester.model import Record
from fedcat.index.base import MAX_PAGE_SIZE, MAX_RESULT_WINDOW, SearchQuery, Sort

from .audience import Caller
from .catalog import Catalog
from .deps import audit_hits, caller_of, catalog_of
from .formats import caller_view, datacite, dcat
from .params import MAX_QUERY_LENGTH, search_filters
from .translate import translated

router = APIRouter()
CSV_COLUMNS = ("id", "title", "title_en", "center", "source_id", "openness", "geo_scope", "security",
               "embargo_until", "licence", "year", "published", "doi", "cstr", "landing_page")


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    DATACITE = "datacite"
    DCAT = "dcat"


#: The exports made for other catalogs to republish: they carry only what the public audience sees.
PUBLIC_FORMATS = frozenset({ExportFormat.DATACITE, ExportFormat.DCAT})


@router.get("/api/v1/export", summary="Every matching record as JSON Lines, CSV, DataCite JSON Lines or DCAT-AP",
            response_class=StreamingResponse,
            description="`datacite` (DataCite kernel 4.5 JSON, one record per line) and `dcat` (DCAT-AP Turtle) "
                        "are for other catalogs to take in: they hold only the records, and links, the public "
                        "audience sees, whatever key is sent.",
            responses={200: {"description": "One record per line (format=jsonl) or per row (format=csv, UTF-8 "
                                            "with a byte-order mark so that spreadsheets read Chinese)",
                             "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                         "text/csv": {"schema": {"type": "string"}},
                                         "application/vnd.datacite.datacite+json": {"schema": {"type": "string"}},
                                         "text/turtle": {"schema": {"type": "string"}}}}})
def export(
    request: Request,
    filters: Annotated[dict[str, list[str]], Depends(search_filters)],
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    sort: Sort = Sort.NEWEST,
    format: ExportFormat = ExportFormat.JSONL,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULT_WINDOW)] = MAX_RESULT_WINDOW,
) -> StreamingResponse:
    catalog = catalog_of(request)
    query = SearchQuery(text=q, filters=filters, facets=(), size=min(MAX_PAGE_SIZE, limit), sort=sort,
                        highlight=False)
    return export_response(catalog, caller_of(request), query, format, limit, base_url=str(request.base_url))


#: Audiences from the one that sees least to the one that sees most.
_AUDIENCE_ORDER = (Audience.PUBLIC_INTERNATIONAL, Audience.PUBLIC_DOMESTIC, Audience.REGISTERED, Audience.OFFICER)


def public_caller(catalog: Catalog, caller: Caller | None = None) -> Caller:
    """The public audience (the anonymous caller), or ``caller`` when it sees even less."""
    anonymous = Caller.anonymous(catalog.config.api)
    if caller is not None and _AUDIENCE_ORDER.index(caller.audience) < _AUDIENCE_ORDER.index(anonymous.audience):
        return caller
    return anonymous


def member_ids(doc: dict[str, Any]) -> list[str]:
    """The records a search hit stands for: each visible member of a duplicate group, or the hit itself."""
    if "sources" in doc:
        return [str(s["id"]) for s in doc["sources"]]
    return [str(doc["id"])]


def visible_records(catalog: Catalog, caller: Caller, query: SearchQuery, limit: int = MAX_RESULT_WINDOW,
                    ) -> Iterator[Record]:
    """The records ``query`` finds for ``caller``, from the store (read again with the caller's visibility),
    each as the caller may see it (:func:`.formats.caller_view`)."""
    query.visibility = caller.visibility
    query = translated(query, catalog.store)
    seen: set[str] = set()
    for doc in _docs(catalog, caller, query, limit):
        for record_id in member_ids(doc):
            if record_id in seen:
                continue
            seen.add(record_id)
            rec = catalog.store.records.get_visible(record_id, caller.visibility.allows)
            if rec is not None and not rec.deleted:
                yield caller_view(rec, caller.sees_links(rec.access.security))


def standard_export(catalog: Catalog, caller: Caller, query: SearchQuery, format: ExportFormat, base_url: str,
                    limit: int = MAX_RESULT_WINDOW) -> StreamingResponse:
    """DataCite JSON Lines or DCAT-AP Turtle of every record ``query`` finds that ``caller`` may see."""
    records = visible_records(catalog, caller, query, limit)
    first = next(records, None)  # a bad query fails here, before the response starts

    def all_records() -> Iterator[Record]:
        if first is not None:
            yield first
            yield from records

    if format is ExportFormat.DCAT:
        return StreamingResponse(dcat.turtle_stream(all_records(), base_url), media_type="text/turtle; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="fedcat-dcat.ttl"'})
    return StreamingResponse((json.dumps(datacite.to_json(r), ensure_ascii=False) + "\n" for r in all_records()),
                             media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="fedcat-datacite.jsonl"'})


def export_response(catalog: Catalog, caller: Caller, query: SearchQuery, format: ExportFormat,
                    limit: int = MAX_RESULT_WINDOW, *, base_url: str = "/") -> StreamingResponse:
    """Every record ``query`` finds that ``caller`` may see (the API's export, and the search page's button);
    the DataCite and DCAT-AP exports: that the public audience, or ``caller`` if it sees less, may see
    (``base_url``: this site's, for the IRIs of record pages)."""
    if format in PUBLIC_FORMATS:
        return standard_export(catalog, public_caller(catalog, caller), query, format, base_url, limit)
    query.visibility = caller.visibility
    query = translated(query, catalog.store)
    docs = _docs(catalog, caller, query, limit)
    first = next(docs, None)  # a bad query fails here, before the response starts

    def rows() -> Iterator[dict[str, Any]]:
        if first is not None:
            yield first
            yield from docs

    if format is ExportFormat.CSV:
        return StreamingResponse(_csv(rows()), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="fedcat-export.csv"'})
    return StreamingResponse((json.dumps(d, ensure_ascii=False) + "\n" for d in rows()),
                             media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="fedcat-export.jsonl"'})


def _docs(catalog: Catalog, caller: Caller, query: SearchQuery, limit: int) -> Iterator[dict[str, Any]]:
    sent = 0
    while sent < limit:
        result = catalog.index.search(query)
        audit_hits(catalog, caller, "export", result.hits)
        for hit in result.hits[: limit - sent]:
            yield caller.shape_hit(hit.doc)
            sent += 1
        if not result.next_cursor:
            return
        query.cursor = result.next_cursor


#: A spreadsheet runs a cell that starts with one of these as a formula: harvested text gets a quote first.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(column: str, value: Any) -> Any:
    """A CSV cell: URLs only through the scheme allowlist, text never read as a formula."""
    if column == "landing_page":
        return safe_url(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


#: Starts every CSV fedcat serves: without it, spreadsheet programs read UTF-8 as the local code page and
#: Chinese turns to mojibake; CSV readers that know UTF-8 skip it (``encoding="utf-8-sig"`` in Python).
UTF8_BOM = "\ufeff"


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buf = io.StringIO()
    buf.write(UTF8_BOM)
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(k, row.get(k)) for k in CSV_COLUMNS})
        if buf.tell() > 64 * 1024:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
