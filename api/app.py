"""The HTTP API (FastAPI): search, records, sources, harvest runs.

Every response that is not a success has the envelope of :mod:`.errors`.
The audience of a request decides what it may see; it is applied inside the
index query, so hits, totals and facet counts agree.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from fedcat.harvester.errors import StoreError
from fedcat.harvester.store import RunReport
from fedcat.harvester.version import VERSION
from fedcat.index.base import FACETS, MAX_PAGE_SIZE, SearchQuery, SearchResult, Sort
from fedcat.index.errors import IndexBackendError

from . import (
    dcat_catalog,
    docs_ui,
    errors,
    export,
    metrics,
    officer,
    openapi,
    prometheus,
    records,
    review,
    sitemap,
    web,
)
from .audience import Caller
from .catalog import Catalog
from .deps import audit_hits, caller_of
from .errors import BadParameter
from .fast_json import FastJSONResponse
from .metrics import metrics_of
from .oai import route as oai_route
from .params import MAX_QUERY_LENGTH, search_filters, strict_params
from .security_headers import SecurityHeaders
from .suggest import did_you_mean, suggest
from .translate import translated

log = logging.getLogger(__name__)

#: Elasticsearch cursors carry a point-in-time id, which grows with the number of shards.
MAX_CURSOR_LENGTH = 4096
#: The search box's text: a suggestion is for a few words.
MAX_SUGGEST_LENGTH = 100


def create_app(catalog: Catalog) -> FastAPI:
    app = FastAPI(
        title="fedcat",
        version=VERSION,
        description="Unified catalog of China's national science data centers.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # docs_ui serves the docs page and its files itself, not from a CDN
        redoc_url=None,
        dependencies=[Depends(strict_params)],
    )
    app.state.catalog = catalog
    app.add_middleware(SecurityHeaders)
    prometheus.install(app, catalog)  # /metrics (officers), and the request timing of every route
    errors.install(app)
    openapi.install(app)
    docs_ui.install(app)
    app.include_router(records.router)
    app.include_router(officer.router)
    app.include_router(review.router)
    app.include_router(export.router)
    app.include_router(metrics.router)
    app.include_router(web.router)
    app.include_router(sitemap.router)
    app.include_router(oai_route.router)
    app.include_router(dcat_catalog.router)

    @app.get("/api/v1", include_in_schema=False)
    def api_root() -> dict[str, Any]:
        return {"search": "/api/v1/search", "export": "/api/v1/export", "records": "/api/v1/records/{id}",
                "sources": "/api/v1/sources", "harvests": "/api/v1/harvests", "whoami": "/api/v1/whoami",
                "centers": "/api/v1/centers", "ranking": "/api/v1/metrics/ranking", "suggest": "/api/v1/suggest",
                "catalog": "/api/v1/catalog", "oai": "/oai"}

    @app.get("/api/v1/search", summary="Search the catalog", response_class=FastJSONResponse)
    def search(
        request: Request,
        filters: Annotated[dict[str, list[str]], Depends(search_filters)],
        q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH, description="Words in Chinese or English")] = "",
        size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
        cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
        sort: Sort = Sort.RELEVANCE,
        facets: Annotated[str | None, Query(description="Comma-separated facet names, or 'none'")] = None,
    ) -> FastJSONResponse:
        caller = caller_of(request)
        query = translated(SearchQuery(text=q, filters=filters, facets=_facet_list(facets), size=size, cursor=cursor,
                                       sort=sort, visibility=caller.visibility), catalog.store)
        result = catalog.index.search(query)
        audit_hits(catalog, caller, "search", result.hits)
        body = search_body(result, query, caller)
        if suggestions := did_you_mean(catalog.index, query, result):
            body["did_you_mean"] = suggestions
        return FastJSONResponse(body)

    @app.get("/api/v1/suggest", summary="What the search box offers for the text typed so far",
             description="Subjects, centers and titles of records the caller may see that start with, or "
                         "contain, `q` (Traditional and Simplified script alike); `count` is how many such "
                         "records hold a subject or come from a center.")
    def suggest_route(
        request: Request,
        q: Annotated[str, Query(max_length=MAX_SUGGEST_LENGTH, description="The text typed so far")] = "",
        size: Annotated[int, Query(ge=1, le=20)] = 8,
    ) -> dict[str, Any]:
        caller = caller_of(request)
        centers = {s.id: (s.name, s.name_en or "") for s in catalog.config.sources}
        found = suggest(catalog.index, centers, q, caller.visibility, limit=size)
        return {"q": q, "suggestions": [s.to_dict() for s in found]}

    @app.get("/api/v1/sources", summary="The federation's sources with their record counts and last run",
             description="`records` counts the records the caller's audience may see; a harvest run's record "
                         "counts and errors are shown to officers.")
    def sources(request: Request) -> dict[str, Any]:
        caller = caller_of(request)
        stats = catalog.store.records.source_stats()
        gated = catalog.store.records.gated_counts()
        out = []
        for src in catalog.config.sources:
            runs = catalog.store.runs.recent(src.id, limit=1)
            out.append({
                "id": src.id, "name": src.name, "name_en": src.name_en, "protocol": src.protocol.value,
                "url": src.url, "metadata_prefix": src.metadata_prefix, "enabled": src.enabled,
                "schedule": src.schedule,
                "records": metrics_of(catalog, caller, src.id)["records"],
                "deleted": stats.get(src.id, {}).get("deleted", 0),
                "gated": gated.get(src.id, {}),
                "last_run": run_view(runs[0], caller) if runs else None,
            })
        return {"sources": out}

    @app.get("/api/v1/harvests", summary="Harvest runs, newest first")
    def harvests(
        request: Request,
        source: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        if source is not None and source not in {s.id for s in catalog.config.sources}:
            raise BadParameter(f"unknown source {source!r}", parameter="source")
        caller = caller_of(request)
        return {"harvests": [run_view(r, caller) for r in catalog.store.runs.recent(source, limit=limit)]}

    @app.get("/livez", include_in_schema=False)
    def livez() -> dict[str, str]:
        """The process answers (a liveness probe: an index or store outage must not restart it)."""
        return {"status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """Whether this replica can serve searches: the store reads, the index answers and reflects this store
        (503 otherwise). Says whether records are waiting for the index, never how many."""
        checks = readiness(catalog)
        ready = all(checks[k] == "ok" for k in ("store", "index", "index_reflects_store"))
        return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                            status_code=200 if ready else 503)

    @app.get("/api/v1/health", include_in_schema=False)
    def health(request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok", "index": catalog.index.name}
        if caller_of(request).is_officer:  # the index's size counts every level: officers only
            body["documents"] = catalog.index.count()
        return body

    return app


def readiness(catalog: Catalog) -> dict[str, Any]:
    """The readiness checks, each ``ok`` or what failed; ``catching_up``: records wait for the index."""
    checks: dict[str, Any] = {"store": "ok", "index": "ok", "index_reflects_store": "ok", "catching_up": False}
    try:
        store_id = catalog.store.store_id
        checks["catching_up"] = catalog.store.indexing.waiting_for_index()
    except StoreError as exc:
        checks["store"] = str(exc)
        store_id = None
    try:
        catalog.index.count()
    except IndexBackendError as exc:
        checks["index"] = str(exc)
    if catalog.index.tracks_store and store_id is not None and catalog.index.bound_store() != store_id:
        checks["index_reflects_store"] = "the index is new, lost or of another store: it is being refilled"
    return checks


#: What a harvest run shows every caller; its record counts and errors (which count and name records of
#: every level) are for officers.
RUN_PUBLIC_FIELDS = ("id", "source_id", "status", "full", "started_at", "finished_at", "duration_s", "pages",
                     "message")


def run_view(run: RunReport, caller: Caller) -> dict[str, Any]:
    body = run.to_dict()
    if caller.is_officer:
        return body
    return {**{k: body.get(k) for k in RUN_PUBLIC_FIELDS}, "counts_withheld": "record counts are shown to officers"}


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


def search_body(result: SearchResult, query: SearchQuery, caller: Caller) -> dict[str, Any]:
    return {
        "total": result.total,
        "hits": [dict(caller.shape_hit(h.doc), score=round(h.score, 4), highlights=h.highlights,
                      **({"translated": h.translated} if h.translated else {}))
                 for h in result.hits],
        "facets": {k: [{"value": b.value, "count": b.count} for b in v] for k, v in result.facets.items()},
        "next_cursor": result.next_cursor,
        "query": {"q": query.text, "filters": query.filters, "size": query.size, "sort": query.sort.value,
                  "translations": [f"{term} → {target}" for term, target in query.translations]},
    }
