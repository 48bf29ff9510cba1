"""Export: every record a search matches, as JSON Lines or CSV, with the caller's visibility.

The export pages through the index with the same query (and so the same
audience filter) as ``/api/v1/search``; it stops at the index's result window.
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

from fedcat.harvester.links import safe_url
from fedcat.index.base import MAX_PAGE_SIZE, MAX_RESULT_WINDOW, SearchQuery, Sort

from .audience import Caller
from .catalog import Catalog
from .deps import audit_hits, caller_of, catalog_of
from .params import MAX_QUERY_LENGTH, search_filters
from .translate import translated

router = APIRouter()
CSV_COLUMNS = ("id", "title", "title_en", "center", "source_id", "openness", "geo_scope", "security",
               "embargo_until", "licence", "year", "published", "doi", "cstr", "landing_page")


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


@router.get("/api/v1/export", summary="Every matching record as JSON Lines or CSV",
            response_class=StreamingResponse,
            responses={200: {"description": "One record per line (format=jsonl) or per row (format=csv, UTF-8 "
                                            "with a byte-order mark so that spreadsheets read Chinese)",
                             "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                         "text/csv": {"schema": {"type": "string"}}}}})
def export(
    request: Request,
    filters: Annotated[dict[str, list[str]], Depends(search_filters)],
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    sort: Sort = Sort.NEWEST,
    format: ExportFormat = ExportFormat.JSONL,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULT_WINDOW)] = MAX_RESULT_WINDOW,
) -> StreamingResponse:
    return export_response(catalog_of(request), caller_of(request), SearchQuery(
        text=q, filters=filters, facets=(), size=min(MAX_PAGE_SIZE, limit), sort=sort, highlight=False), format, limit)


def export_response(catalog: Catalog, caller: Caller, query: SearchQuery, format: ExportFormat,
                    limit: int = MAX_RESULT_WINDOW) -> StreamingResponse:
    """Every record ``query`` finds that ``caller`` may see (the API's export, and the search page's button)."""
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
