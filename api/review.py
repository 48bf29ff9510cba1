"""Officer routes for the review queue and four-eyes changes.

``GET /api/v1/review`` lists the records awaiting review (a restricted-category hint the rules could
not decide) with the evidence behind the hint, and the changes waiting for a second officer.
``POST /api/v1/review/decide`` settles a record's security; ``/confirm`` and ``/reject`` act on a
pending change. Officers only: everyone else gets 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fedcat.harvester.errors import DecisionConflict, NothingToDecide, OverrideError
from fedcat.harvester.model import Record
from fedcat.harvester.pipeline.decisions import Decision

from .deps import catalog_of, officer_of
from .errors import BadParameter, Conflict, NotFound

router = APIRouter()


class DecideIn(BaseModel):
    record_id: str
    value: Annotated[str, Field(description="the security level: general, sensitive, important, core or secret")]
    reason: Annotated[str, Field(min_length=3, max_length=2000)]


class PendingIn(BaseModel):
    record_id: str
    tag: Annotated[str, Field(description="the tag of the pending change (security)")] = "security"
    reason: Annotated[str, Field(max_length=2000)] = ""


def queue_entry(rec: Record) -> dict[str, Any]:
    """A record awaiting review as the queue shows it: what it is, and why it is there."""
    return {"id": rec.id, "source_id": rec.source_id, "title": rec.title, "flags": list(rec.access.flags),
            "evidence": [e.__dict__ for e in rec.access.evidence if e.tag == "security"],
            "record": f"/api/v1/records/{rec.id}"}


@router.get("/api/v1/review", summary="Records awaiting review, and changes awaiting a second officer (officer)")
def review_queue(request: Request, source: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    officer_of(request)
    cat = catalog_of(request)
    return {"records": [queue_entry(r) for r in cat.decisions.review_queue(source, limit)],
            "pending": [p.to_dict() for p in cat.store.overrides.pending()]}


@contextmanager
def decision_errors(parameter: str = "value") -> Iterator[None]:
    """An officer decision's errors as API errors: 404 nothing to decide, 409 conflict, 400 bad value."""
    try:
        yield
    except NothingToDecide as exc:
        raise NotFound(str(exc)) from exc
    except DecisionConflict as exc:
        raise Conflict(str(exc)) from exc
    except OverrideError as exc:
        raise BadParameter(str(exc), parameter=parameter) from exc


def _act(fn: Callable[..., Decision], *args: str) -> dict[str, Any]:
    with decision_errors():
        return fn(*args).to_dict()


@router.post("/api/v1/review/decide", summary="Settle the security of a record awaiting review (officer)")
def decide(request: Request, body: DecideIn) -> dict[str, Any]:
    caller = officer_of(request)
    return _act(catalog_of(request).decisions.decide_review, body.record_id, body.value, caller.actor, body.reason)


@router.post("/api/v1/review/confirm", summary="Confirm another officer's pending change (officer)")
def confirm(request: Request, body: PendingIn) -> dict[str, Any]:
    caller = officer_of(request)
    return _act(catalog_of(request).decisions.confirm, body.record_id, body.tag, caller.actor)


@router.post("/api/v1/review/reject", summary="Reject (or withdraw) a pending change (officer)")
def reject(request: Request, body: PendingIn) -> dict[str, Any]:
    caller = officer_of(request)
    return _act(catalog_of(request).decisions.reject, body.record_id, body.tag, caller.actor, body.reason)
