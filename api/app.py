"""The HTTP API (FastAPI): search, records, sources, harvest runs.

Every response that is not a success has the envelope of :mod:`.errors`.
The audience of a request decides what it may see; it is applied inside the
index query, so hits, totals and facet counts agree.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from fedcat.harvester.config import Audience
from fedcat.harvester.model import Record
from fedcat.index.base import FACETS, MAX_PAGE_SIZE, SearchQuery, SearchResult, Sort, Visibility

from . import errors
from .audience import visibility_for
from .catalog import Catalog
from .errors import BadParameter, NotFound

log = logging.getLogger(__name__)

SEARCH_PARAMS = frozenset({"q", "size", "cursor", "sort", "facets", *FACETS})
MAX_QUERY_LENGTH = 500
#: Elasticsearch cursors carry a point-in-time id, which grows with the number of shards.
MAX_CURSOR_LENGTH = 4096


def create_app(catalog: Catalog) -> FastAPI:
    app = FastAPI(
        title="fedcat",
        version="0.1.0",
        description="Unified catalog of China's national science data centers.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.catalog = catalog
    errors.install(app)

    def audience(request: Request) -> Audience:
        return catalog.config.api.anonymous_audience

    def visibility(request: Request) -> Visibility:
        return visibility_for(audience(request))

    def visible_record(request: Request, record_id: str) -> Record:
        """The record, or 404 when it is missing or the caller may not see it (indistinguishable)."""
        rec = catalog.store.get(record_id)
        if rec is None or not visibility(request).allows_record(rec):
            raise NotFound(f"no record {record_id!r}")
        return rec

    @app.get("/", include_in_schema=False)
    def root() -> dict[str, Any]:
        return {
            "name": "fedcat",
            "api": "/api/v1",
            "search": "/api/v1/search?q=冰川",
            "docs": "/api/v1/docs",
            "openapi": "/api/v1/openapi.json",
        }

    @app.get("/api/v1", include_in_schema=False)
    def api_root() -> dict[str, Any]:
        return {"search": "/api/v1/search", "records": "/api/v1/records/{id}",
                "sources": "/api/v1/sources", "harvests": "/api/v1/harvests"}

    @app.get("/api/v1/search", summary="Search the catalog")
    def search(
        request: Request,
        q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH, description="Words in Chinese or English")] = "",
        size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
        cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
        sort: Sort = Sort.RELEVANCE,
        facets: Annotated[str | None, Query(description="Comma-separated facet names, or 'none'")] = None,
        source: Annotated[list[str] | None, Query()] = None,
        openness: Annotated[list[str] | None, Query()] = None,
        geo_scope: Annotated[list[str] | None, Query()] = None,
        security: Annotated[list[str] | None, Query()] = None,
        licence: Annotated[list[str] | None, Query()] = None,
        year: Annotated[list[int] | None, Query()] = None,
        subject: Annotated[list[str] | None, Query()] = None,
    ) -> dict[str, Any]:
        unknown = sorted(set(request.query_params.keys()) - SEARCH_PARAMS)
        if unknown:
            raise BadParameter(f"unknown parameter {unknown[0]!r} (known: {', '.join(sorted(SEARCH_PARAMS))})",
                               parameter=unknown[0])
        filters = {
            name: [str(v) for v in values]
            for name, values in (("source", source), ("openness", openness), ("geo_scope", geo_scope),
                                 ("security", security), ("licence", licence), ("year", year),
                                 ("subject", subject))
            if values
        }
        query = SearchQuery(text=q, filters=filters, facets=_facet_list(facets), size=size,
                            cursor=cursor, sort=sort, visibility=visibility(request))
        result = catalog.index.search(query)
        return search_body(result, query)

    @app.get("/api/v1/records/{record_id:path}/raw", summary="A record's payload as harvested")
    def record_raw(request: Request, record_id: str) -> Response:
        visible_record(request, record_id)
        raw = catalog.store.raw(record_id)
        if raw is None:
            raise NotFound(f"no raw payload for {record_id!r}")
        return Response(raw.body, media_type="application/xml")

    @app.get("/api/v1/records/{record_id:path}", summary="One record with its tags and their evidence")
    def record(request: Request, record_id: str) -> dict[str, Any]:
        rec = visible_record(request, record_id)
        body = rec.to_dict()
        body["title"] = rec.title
        body["raw_url"] = f"/api/v1/records/{rec.id}/raw"
        return body

    @app.get("/api/v1/sources", summary="The federation's sources with their record counts and last run")
    def sources() -> dict[str, Any]:
        stats = catalog.store.source_stats()
        out = []
        for src in catalog.config.sources:
            runs = catalog.store.runs(src.id, limit=1)
            out.append({
                "id": src.id, "name": src.name, "name_en": src.name_en, "protocol": src.protocol.value,
                "url": src.url, "metadata_prefix": src.metadata_prefix, "enabled": src.enabled,
                "schedule": src.schedule,
                "records": stats.get(src.id, {}).get("records", 0),
                "deleted": stats.get(src.id, {}).get("deleted", 0),
                "last_run": runs[0].to_dict() if runs else None,
            })
        return {"sources": out}

    @app.get("/api/v1/harvests", summary="Harvest runs, newest first")
    def harvests(
        source: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        if source is not None and source not in {s.id for s in catalog.config.sources}:
            raise BadParameter(f"unknown source {source!r}", parameter="source")
        return {"harvests": [r.to_dict() for r in catalog.store.runs(source, limit=limit)]}

    @app.get("/api/v1/health", include_in_schema=False)
    def health() -> dict[str, Any]:
        return {"status": "ok", "index": catalog.index.name, "documents": catalog.index.count()}

    return app


def _facet_list(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return FACETS
    if raw.strip().lower() == "none":
        return ()
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    for n in names:
        if n not in FACETS:
            raise BadParameter(f"unknown facet {n!r} (known: {', '.join(FACETS)})", parameter="facets")
    return names


def search_body(result: SearchResult, query: SearchQuery) -> dict[str, Any]:
    return {
        "total": result.total,
        "hits": [dict(h.doc, score=round(h.score, 4), highlights=h.highlights) for h in result.hits],
        "facets": {k: [{"value": b.value, "count": b.count} for b in v] for k, v in result.facets.items()},
        "next_cursor": result.next_cursor,
        "query": {"q": query.text, "filters": query.filters, "size": query.size, "sort": query.sort.value},
    }
