"""Query parameters shared by the search and export routes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated

from fastapi import Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from fedcat.harvester.model import GeoScope, Openness, Security
from fedcat.index.base import FACETS

from .errors import BadParameter

MAX_QUERY_LENGTH = 500
#: The years a year filter may name (a larger number would overflow the engines' 64-bit integers).
MIN_YEAR, MAX_YEAR = 1, 9999


#: The facets whose values are a fixed vocabulary: any other value is a mistake, not an empty result.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "openness": tuple(o.value for o in Openness),
    "geo_scope": tuple(g.value for g in GeoScope),
    "security": tuple(s.value for s in Security),
}


def check_vocabulary(name: str, values: list[str]) -> None:
    """A 400 naming the allowed values when a vocabulary facet is given a value outside it."""
    allowed = VOCABULARIES.get(name)
    bad = [v for v in values if allowed is not None and v not in allowed]
    if bad:
        raise BadParameter(f"{name}={bad[0]!r} is not a value of {name} (allowed: {', '.join(allowed or ())})",
                           parameter=name)


def valid_year(value: int | str) -> bool:
    text = str(value)
    return text.isdigit() and len(text) <= 4 and MIN_YEAR <= int(text) <= MAX_YEAR


#: The longest facet value taken (a subject or licence is a few words; anything longer is a mistake, or an
#: attempt to make every link of the search page huge).
MAX_FILTER_VALUE_LENGTH = 200


def checked_filters(raw: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The facet filters of a search, export or search page, checked once for all of them: years in range,
    values no longer than :data:`MAX_FILTER_VALUE_LENGTH`, vocabulary facets within their vocabulary; blank
    and repeated values dropped."""
    out: dict[str, list[str]] = {}
    for name in FACETS:
        values = list(dict.fromkeys(v for v in raw.get(name, ()) if v.strip()))
        if name == "year" and any(not valid_year(v) for v in values):
            raise BadParameter(f"year must be a number between {MIN_YEAR} and {MAX_YEAR}", parameter="year")
        if any(len(v) > MAX_FILTER_VALUE_LENGTH for v in values):
            raise BadParameter(f"a {name} value is longer than {MAX_FILTER_VALUE_LENGTH} characters", parameter=name)
        check_vocabulary(name, values)
        if values:
            out[name] = values
    return out


async def search_filters(  # async: checks, no I/O, so FastAPI runs it without a thread hop
    source: Annotated[list[str] | None, Query()] = None,
    openness: Annotated[list[str] | None, Query()] = None,
    geo_scope: Annotated[list[str] | None, Query()] = None,
    security: Annotated[list[str] | None, Query()] = None,
    licence: Annotated[list[str] | None, Query()] = None,
    year: Annotated[list[int] | None, Query()] = None,
    subject: Annotated[list[str] | None, Query()] = None,
) -> dict[str, list[str]]:
    """The facet filters of a search or export (OR within a facet, AND across facets)."""
    return checked_filters({"source": source or [], "openness": openness or [], "geo_scope": geo_scope or [],
                            "security": security or [], "licence": licence or [],
                            "year": [str(y) for y in year or []], "subject": subject or []})


#: The facet filters: the only parameters that may be given more than once (OR within a facet).
REPEATABLE = frozenset(FACETS)


_ROUTE_PARAMS: dict[int, frozenset[str]] = {}


def declared_params(route: APIRoute) -> frozenset[str]:
    """The query parameters a route declares (its own and its dependencies')."""
    known = _ROUTE_PARAMS.get(id(route))
    if known is None:
        known = _ROUTE_PARAMS[id(route)] = frozenset(_query_params(route.dependant))
    return known


def _query_params(dependant: Dependant) -> list[str]:
    names = [p.alias for p in dependant.query_params]
    for sub in dependant.dependencies:
        names += _query_params(sub)
    return names


async def strict_params(request: Request) -> None:  # async: no I/O, so no thread hop per request
    """Every API route's rule (an app-wide dependency): a parameter it does not declare is a 400, and so is
    one given twice that takes one value. The web pages are lenient (links from elsewhere add their own)."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and route.path.startswith("/api/"):
        reject_unknown_params(request, declared_params(route))


def reject_unknown_params(request: Request, known: frozenset[str]) -> None:
    """A 400 for a parameter the route does not know, or for one given twice that takes one value
    (``?q=a&q=b`` would otherwise silently mean ``q=b``)."""
    names = request.query_params.keys()
    unknown = sorted(set(names) - known)
    if unknown:
        raise BadParameter(f"unknown parameter {unknown[0]!r} (known: {', '.join(sorted(known))})",
                           parameter=unknown[0])
    repeated = sorted(n for n in set(names) - REPEATABLE if len(request.query_params.getlist(n)) > 1)
    if repeated:
        raise BadParameter(f"parameter {repeated[0]!r} given more than once; it takes one value",
                           parameter=repeated[0])
