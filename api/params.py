"""Query parameters shared by the search and export routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from .errors import BadParameter

MAX_QUERY_LENGTH = 500


def search_filters(
    source: Annotated[list[str] | None, Query()] = None,
    openness: Annotated[list[str] | None, Query()] = None,
    geo_scope: Annotated[list[str] | None, Query()] = None,
    security: Annotated[list[str] | None, Query()] = None,
    licence: Annotated[list[str] | None, Query()] = None,
    year: Annotated[list[int] | None, Query()] = None,
    subject: Annotated[list[str] | None, Query()] = None,
) -> dict[str, list[str]]:
    """The facet filters of a search or export (OR within a facet, AND across facets)."""
    return {
        name: [str(v) for v in values]
        for name, values in (("source", source), ("openness", openness), ("geo_scope", geo_scope),
                             ("security", security), ("licence", licence), ("year", year),
                             ("subject", subject))
        if values
    }


def reject_unknown_params(request: Request, known: frozenset[str]) -> None:
    unknown = sorted(set(request.query_params.keys()) - known)
    if unknown:
        raise BadParameter(f"unknown parameter {unknown[0]!r} (known: {', '.join(sorted(known))})",
                           parameter=unknown[0])
