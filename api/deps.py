"""What every route needs from a request: the catalog, and who the caller is."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request

from fedcat.harvester.errors import StoreError
from fedcat.index.base import Hit

from .audience import AUDITED_LEVELS, Caller
from .catalog import Catalog
from .errors import Forbidden, Unauthorized

#: Headers an API key may come in (``Authorization: Bearer <key>`` or ``X-API-Key: <key>``).
KEY_HEADER = "x-api-key"
#: The web pages (GET only) also take the key from this cookie, set by the page at /key.
KEY_COOKIE = "fedcat_key"


def catalog_of(request: Request) -> Catalog:
    cat: Catalog = request.app.state.catalog
    return cat


def caller_of(request: Request, *, cookie: bool = False) -> Caller:
    """The anonymous audience, or the audience of a presented API key (401 if the key is bad).

    ``cookie``: the key may also come from the web pages' cookie (never for API routes).
    """
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    cat = catalog_of(request)
    anonymous = Caller.anonymous(cat.config.api)
    presented = _presented_key(request)
    if presented is None and cookie:
        presented = request.cookies.get(KEY_COOKIE) or None
    if presented is None:
        caller = anonymous
    else:
        try:
            key = cat.store.keys.verify(presented)
        except StoreError as exc:
            raise Unauthorized(f"cannot check the API key: {exc}") from exc
        if key is None:
            raise Unauthorized("unknown or revoked API key")
        caller = Caller(key.audience, f"key:{key.name}", anonymous.unknown_as)
    request.state.caller = caller
    return caller


def officer_of(request: Request) -> Caller:
    caller = caller_of(request)
    if not caller.is_officer:
        raise Forbidden("only an officer's API key may do this")
    return caller


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <API key>'")
        return value.strip()
    header = request.headers.get(KEY_HEADER)
    return header.strip() if header else None


def audit_hits(catalog: Catalog, caller: Caller, action: str, hits: Iterable[Hit]) -> None:
    """An officer's view of ``important`` records (every member of a grouped hit) goes to the audit log."""
    if not caller.is_officer:
        return
    ids = [s["id"] for h in hits for s in h.doc.get("sources") or [h.doc]
           if s.get("security") in AUDITED_LEVELS]
    if ids:
        catalog.store.audit.add(caller.actor, caller.audience, action, ids)
