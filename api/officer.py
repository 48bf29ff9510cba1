"""Routes about the caller and for officers: who am I, the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from .deps import caller_of, catalog_of, officer_of

router = APIRouter()


@router.get("/api/v1/whoami", summary="The caller's audience (anonymous or from an API key)")
def whoami(request: Request) -> dict[str, Any]:
    caller = caller_of(request)
    vis = caller.visibility
    return {"audience": caller.audience.value, "actor": caller.actor,
            "sees_security": sorted(s.value for s in vis.security), "hides_domestic": vis.hide_domestic}


@router.get("/api/v1/audit", summary=("The audit log: officer reads of review and important records, "
                                      "and officers' decisions, newest first (officer)"))
def audit(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    officer_of(request)
    return {"entries": [e.to_dict() for e in catalog_of(request).store.audit.entries(limit)]}
