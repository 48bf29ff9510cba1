"""Record routes: one record with its tags and evidence, its raw payload, officer overrides.

A record the caller may not see is a 404 exactly like a missing one. Officer
reads of ``review`` and ``important`` records are written to the audit log; setting an override goes
through :mod:`fedcat.harvester.pipeline.decisions` (four eyes to lower a record out of important/core/secret).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from fedcat.harvester.model import Record, access_labels
from fedcat.harvester.pipeline.decisions import Status
from fedcat.harvester.tagging.engine import TAGS

from .audience import AUDITED_LEVELS, Caller
from .deps import caller_of, catalog_of, officer_of
from .errors import Forbidden, NotFound
from .formats import caller_view, negotiate, record_response
from .formats.negotiation import API_FORMATS, JSON, RECORD_FORMATS, Format
from .formats.render import VARY
from .review import decision_errors

router = APIRouter()


class OverrideIn(BaseModel):
    tag: Annotated[str, Field(description="openness, geo_scope or security")]
    value: Annotated[str, Field(description="a value of the tag's vocabulary")]
    reason: Annotated[str, Field(min_length=3, max_length=2000)]


def visible_record(request: Request, record_id: str) -> tuple[Record, Caller]:
    """The record and caller, or 404 when it is missing or the caller may not see it (indistinguishable)."""
    caller = caller_of(request)
    rec = catalog_of(request).store.records.get_visible(record_id, caller.visibility.allows)
    if rec is None:
        raise NotFound(f"no record {record_id!r}")
    if caller.is_officer and rec.access.security in AUDITED_LEVELS:
        catalog_of(request).store.audit.add(caller.actor, caller.audience, "read_record", [rec.id])
    return rec, caller


@router.get("/api/v1/records/{record_id:path}/raw", summary="A record's payload as harvested")
def record_raw(request: Request, record_id: str) -> Response:
    rec, caller = visible_record(request, record_id)
    if not caller.sees_links(rec.access.security):
        raise Forbidden("the raw payload of this record is shown to registered users")
    raw = catalog_of(request).store.records.raw(record_id)
    if raw is None:
        raise NotFound(f"no raw payload for {record_id!r}")
    media = "application/json" if raw.format.startswith("json") else "application/xml"
    return Response(raw.body, media_type=media)


@router.get("/api/v1/records/{record_id:path}/overrides", summary="Officer overrides of a record (officer)")
def list_overrides(request: Request, record_id: str) -> dict[str, Any]:
    officer_of(request)
    return {"overrides": [o.__dict__ for o in catalog_of(request).store.overrides.for_record(record_id)]}


@router.post("/api/v1/records/{record_id:path}/overrides", status_code=201,
             summary="Set one tag of a record, with a reason (officer); survives re-harvests",
             description="Lowering a record out of important, core or secret waits for a second officer: "
                         "the answer is then 202 with status pending (confirm at /api/v1/review/confirm).")
def put_override(request: Request, response: Response, record_id: str, body: OverrideIn) -> dict[str, Any]:
    caller = officer_of(request)
    with decision_errors("tag" if body.tag not in TAGS else "value"):
        decision = catalog_of(request).decisions.override(record_id, body.tag, body.value, caller.actor, body.reason)
    if decision.status is Status.PENDING:
        response.status_code = 202
    return {**decision.to_dict(), "record": f"/api/v1/records/{record_id}"}


@router.delete("/api/v1/records/{record_id:path}/overrides/{tag}", summary="Remove an override (officer)")
def delete_override(request: Request, response: Response, record_id: str, tag: str) -> dict[str, Any]:
    caller = officer_of(request)
    with decision_errors("tag"):
        decision = catalog_of(request).decisions.remove(record_id, tag, caller.actor)
    if decision.status is Status.PENDING:
        response.status_code = 202
    return {**decision.to_dict(), "removed": {"record_id": record_id, "tag": tag}}


def same_dataset(request: Request, rec: Record, caller: Caller) -> list[dict[str, Any]]:
    """The other sources' records of this dataset (same DOI or CSTR) that the caller may see."""
    return [{"id": other.id, "source_id": other.source_id, "center": other.center_zh, "center_en": other.center_en,
             "record": f"/api/v1/records/{other.id}"}
            for other in catalog_of(request).store.records.same_dataset(rec.id)
            if caller.visibility.allows_record(other)]


def record_body(request: Request, rec: Record, caller: Caller) -> dict[str, Any]:
    """The record's own JSON, as ``caller`` may see it."""
    body = rec.to_dict()
    body["title"] = rec.title
    body["access"]["labels"] = access_labels(rec)
    body["raw_url"] = f"/api/v1/records/{rec.id}/raw"
    body["same_dataset"] = same_dataset(request, rec, caller)
    if caller.is_officer:
        body["overrides"] = [o.__dict__ for o in catalog_of(request).store.overrides.for_record(rec.id)]
    return caller.shape_record(body, rec)


def formatted(request: Request, rec: Record, caller: Caller, fmt: Format) -> Response:
    """The record in ``fmt``: its own JSON, or a standard format written from the caller's view of it."""
    if fmt is JSON:
        return JSONResponse(record_body(request, rec, caller), headers=dict(VARY))
    view = caller_view(rec, caller.sees_links(rec.access.security))
    return record_response(fmt, view, str(request.base_url))


FORMAT_DOC = ("Another format than the record's JSON: " + ", ".join(f"`{f.name}` ({f.title})" for f in RECORD_FORMATS)
              + ". `Accept` chooses one too (quality values honoured); `format` wins over it.")


@router.get("/api/v1/records/{record_id:path}", summary="One record with its tags and their evidence",
            response_class=JSONResponse,
            description="The record's JSON, or (by `Accept` or `format`) DataCite XML or JSON, DCAT-AP (Turtle, "
                        "RDF/XML, JSON-LD), schema.org JSON-LD, RIS, BibTeX, CSL-JSON or GB/T 7714 text. Access "
                        "links withheld from the caller are absent from every format. An `Accept` matching none "
                        "is a 406.",
            responses={200: {"content": {f.media_type: {} for f in RECORD_FORMATS}},
                       406: {"description": "Accept matches none of the formats"}})
def record(request: Request, record_id: str,
           fmt: Annotated[str | None, Query(alias="format", max_length=40, description=FORMAT_DOC)] = None,
           ) -> Response:
    chosen = negotiate(request.headers.get("accept"), fmt, API_FORMATS)  # a bad format is a 400 before any lookup
    rec, caller = visible_record(request, record_id)
    return formatted(request, rec, caller, chosen)
