"""``/metrics``: the catalog's operations figures for Prometheus (text format), for officers only.

Two kinds of figures, in one registry per app (never prometheus_client's global one, so that several
apps in one process keep their own):

* what the record store says, read at each scrape (:class:`StoreCollector`), so that every API replica
  and a harvest in another process (``fedcat schedule``) agree: harvest runs by source and status,
  records by source and outcome and retries by source and reason (summed over the store's run
  reports), records waiting for the index by source (the index lag);
* request latency of this process (:class:`RequestMetrics`): a histogram by route template
  (``/api/v1/records/{record_id}``, never the path asked for: one series per route, and no record id in
  a label), method and status class.

The counts cover records of every level, so, like a harvest run's record counts
(``RUN_PUBLIC_FIELDS`` in :mod:`.app`), they are shown only to an officer's API key
(``Authorization: Bearer <key>`` or ``X-API-Key``): a caller without a key gets 401, a key of another
audience 403, in the API's error envelope.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fedcat.harvester.store import Outcome, RunStatus

from .catalog import Catalog
from .deps import caller_of
from .errors import Forbidden, envelope

#: Request methods named in the latency histogram; any other is counted as ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The route label of a request no route matched (a 404): never the path asked for.
UNMATCHED = "unmatched"
#: Seconds: the API answers in milliseconds; exports and cold facet counts take longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class StoreCollector(Collector):
    """The store's figures, read at each scrape."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def describe(self) -> Iterable[Metric]:
        return ()  # registering must not read the store

    def collect(self) -> Iterable[Metric]:
        store = self.catalog.store
        tallies = store.runs.tallies()
        sources = sorted({s.id for s in self.catalog.config.sources} | tallies.sources)
        by_status, outcomes, retries = tallies.runs, tallies.outcomes, tallies.retries
        runs_family = GaugeMetricFamily("fedcat_harvest_runs", "Harvest runs in the record store, by status",
                                        labels=["source", "status"])
        records_family = CounterMetricFamily(
            "fedcat_harvest_records", "Records by what storing them did, summed over the harvest runs",
            labels=["source", "outcome"])
        retries_family = CounterMetricFamily(
            "fedcat_harvest_retries", "HTTP requests retried by the harvester, by reason, summed over the runs",
            labels=["source", "reason"])
        pending_family = GaugeMetricFamily(
            "fedcat_index_pending_records", "Records stored but not yet searchable: the index lag",
            labels=["source"])
        for source in sources:
            for status in RunStatus:
                runs_family.add_metric([source, status.value], by_status[source, status.value])
            for outcome in Outcome:
                records_family.add_metric([source, outcome.value], outcomes[source, outcome.value])
            pending_family.add_metric([source], store.indexing.pending_count(source))
        for (source, reason), n in sorted(retries.items()):
            retries_family.add_metric([source, reason], n)
        families: list[Metric] = [runs_family, records_family, retries_family, pending_family]
        if (counts := self.catalog.index.cache_counts()) is not None:
            cache_family = CounterMetricFamily(
                "fedcat_search_cache_answers", "Searches of this process answered from a kept first page "
                "(hit) or not (miss)", labels=["result"])
            cache_family.add_metric(["hit"], counts[0])
            cache_family.add_metric(["miss"], counts[1])
            families.append(cache_family)
        return families


class RequestMetrics:
    """ASGI middleware timing each HTTP request into ``fedcat_http_request_duration_seconds``."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        asked = dict(scope)  # routing changes the scope (a mount's root path): the request as it came
        status = 500  # what a request that raises becomes

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            method = scope.get("method", "")
            self.histogram.labels(route=route_template(scope, asked), method=method if method in METHODS else "other",
                                  status=f"{status // 100}xx").observe(time.perf_counter() - start)


def route_template(scope: Scope, asked: Scope) -> str:
    """The template of the route that answered (``/api/v1/records/{record_id}``), or ``unmatched``.

    API routes name themselves in the scope; the app's other routes (the OpenAPI document, the docs
    page and the mount of its files) are matched again against the request as it came.
    """
    route: Any = scope.get("route")
    if route is None:
        routes = getattr(getattr(asked.get("app"), "router", None), "routes", ())
        route = next((r for r in routes if getattr(r, "path_format", None) and r.matches(asked)[0] is Match.FULL),
                     None)
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) and template else UNMATCHED


def install(app: FastAPI, catalog: Catalog) -> CollectorRegistry:
    """The app's registry, its request timing middleware and the ``/metrics`` route."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(catalog))
    histogram = Histogram("fedcat_http_request_duration_seconds", "Time to answer an HTTP request, by route "
                          "template, method and status class", ["route", "method", "status"],
                          registry=registry, buckets=LATENCY_BUCKETS)
    app.add_middleware(RequestMetrics, histogram=histogram)
    app.state.prometheus = registry

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        caller = caller_of(request)  # a bad key: 401
        if not caller.is_officer:
            if caller.actor == "anonymous":
                return envelope(401, "unauthorized", "the metrics are served to an officer's API key "
                                "(Authorization: Bearer <key>)", headers={"WWW-Authenticate": "Bearer"})
            raise Forbidden("only an officer's API key may read the metrics")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return registry
