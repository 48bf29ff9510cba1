"""Metrics routes: the centers, one center's metrics and their history, the ranking; JSON or CSV.

Every figure is computed over the records the caller's audience may see
(``core``/``secret`` appear only as counts). The CLI's ``fedcat metrics``
prints the same bodies (:func:`center_body`, :func:`ranking_body`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from fedcat.harvester.config import SourceConfig
from fedcat.harvester.metrics import RANKING_WEIGHTS, rank

from .audience import Caller
from .catalog import Catalog
from .deps import caller_of, catalog_of
from .errors import NotFound
from .export import UTF8_BOM

router = APIRouter()


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


# -- bodies (shared with the CLI and the web pages) -------------------------------------------------


def _center(src: SourceConfig) -> dict[str, Any]:
    return {"id": src.id, "name": src.name, "name_en": src.name_en, "protocol": src.protocol.value}


def find_source(catalog: Catalog, center_id: str) -> SourceConfig:
    for src in catalog.config.sources:
        if src.id == center_id:
            return src
    raise NotFound(f"no center {center_id!r}")


def metrics_of(catalog: Catalog, caller: Caller, center_id: str) -> dict[str, Any]:
    """One center's metrics as the caller's audience sees them (its tally kept until the center changes)."""
    return catalog.metrics.source(center_id, (caller.audience, caller.unknown_as), caller.visibility.allows_record,
                                  catalog.harvester.clock())


def all_metrics(catalog: Catalog, caller: Caller) -> dict[str, dict[str, Any]]:
    return {s.id: metrics_of(catalog, caller, s.id) for s in catalog.config.sources}


def center_body(catalog: Catalog, caller: Caller, center_id: str) -> dict[str, Any]:
    src = find_source(catalog, center_id)
    return {"center": _center(src), "audience": caller.audience.value,
            "metrics": metrics_of(catalog, caller, src.id)}


def all_centers_metrics(catalog: Catalog, caller: Caller) -> dict[str, Any]:
    """The metrics of every configured center's records together (the centers' kept tallies, added up)."""
    ids = [s.id for s in catalog.config.sources]
    return catalog.metrics.overall(ids, (caller.audience, caller.unknown_as), caller.visibility.allows_record,
                                   catalog.harvester.clock())


def ranking_body(catalog: Catalog, caller: Caller) -> dict[str, Any]:
    per_center = all_metrics(catalog, caller)
    overall = all_centers_metrics(catalog, caller)
    return {"audience": caller.audience.value, "as_of": overall["as_of"], "weights": dict(RANKING_WEIGHTS),
            "ranking": rank(per_center), "overall": overall}


def centers_body(catalog: Catalog, caller: Caller) -> dict[str, Any]:
    per_center = all_metrics(catalog, caller)
    ranks = {r["center"]: r["rank"] for r in rank(per_center)}
    out = []
    for src in catalog.config.sources:
        m = per_center[src.id]
        out.append(dict(_center(src), records=m["records"], gated=sum(m["gated"].values()),
                        open_share=m["open_share"], completeness=m["completeness"]["score"],
                        rating=m["completeness"]["rating"], ranking_score=m["ranking_score"], rank=ranks[src.id],
                        unreachable=m["reachability"]["unreachable"],
                        last_successful_harvest=m["freshness"]["last_successful_harvest"],
                        metrics=f"/api/v1/centers/{src.id}/metrics"))
    return {"audience": caller.audience.value, "centers": out}


def history_body(catalog: Catalog, caller: Caller, center_id: str, limit: int = 100) -> dict[str, Any]:
    src = find_source(catalog, center_id)
    snaps = catalog.store.snapshots.history(src.id, caller.audience.value, limit)
    return {"center": _center(src), "audience": caller.audience.value,
            "snapshots": [{"run_id": s.run_id, "at": s.at, "metrics": s.metrics} for s in snaps]}


# -- CSV ------------------------------------------------------------------------------------------------


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings → dotted column names; lists joined with ``;``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = ";".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    flat = [flatten(r) for r in rows]
    columns: list[str] = []
    for row in flat:
        columns += [c for c in row if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return buf.getvalue()


def csv_rows(kind: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of a body's CSV form: one per center, per snapshot or per ranked center."""
    if kind == "center":
        return [dict(center=body["center"]["id"], audience=body["audience"], **body["metrics"])]
    if kind == "history":
        return [dict(center=body["center"]["id"], audience=body["audience"], run_id=s["run_id"], at=s["at"],
                     **s["metrics"]) for s in body["snapshots"]]
    if kind == "ranking":
        return [dict(r, audience=body["audience"], as_of=body["as_of"]) for r in body["ranking"]]
    return [dict(c, audience=body["audience"]) for c in body["centers"]]


def _respond(kind: str, body: dict[str, Any], fmt: Format) -> Response:
    if fmt is Format.CSV:
        return Response(UTF8_BOM + to_csv(csv_rows(kind, body)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="fedcat-{kind}.csv"'})
    return JSONResponse(body)


# -- routes ---------------------------------------------------------------------------------------------

#: Every metrics route answers JSON, or CSV with ``format=csv``.
JSON_OR_CSV: dict[int | str, dict[str, Any]] = {200: {
    "description": "JSON, or CSV (UTF-8 with a byte-order mark) with format=csv",
    "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}}}


@router.get("/api/v1/centers", summary="The data centers with their headline metrics (JSON or CSV)",
            responses=JSON_OR_CSV)
def centers(request: Request, format: Format = Format.JSON) -> Response:
    return _respond("centers", centers_body(catalog_of(request), caller_of(request)), format)


@router.get("/api/v1/centers/{center_id}/metrics", summary="Every metric of one center, for the caller's audience",
            responses=JSON_OR_CSV)
def center_metrics(request: Request, center_id: str, format: Format = Format.JSON) -> Response:
    return _respond("center", center_body(catalog_of(request), caller_of(request), center_id), format)


@router.get("/api/v1/centers/{center_id}/metrics/history", summary="A center's metrics after each harvest run",
            responses=JSON_OR_CSV)
def center_history(request: Request, center_id: str, format: Format = Format.JSON,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    return _respond("history", history_body(catalog_of(request), caller_of(request), center_id, limit), format)


@router.get("/api/v1/metrics/ranking", summary="Centers ranked by their openness score, and the overall figures",
            responses=JSON_OR_CSV)
def metrics_ranking(request: Request, format: Format = Format.JSON) -> Response:
    return _respond("ranking", ranking_body(catalog_of(request), caller_of(request)), format)
