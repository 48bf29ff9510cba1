"""The index interface every backend implements, and the values it exchanges.

The operations are the intersection of what tantivy and Elasticsearch do well:
bulk upsert and delete by id, a full-text query with term filters, terms
aggregations for facets, highlighting, and cursor paging with an opaque token.
Audience visibility is part of the query (:class:`Visibility`), so totals and
facet counts never include what the caller may not see.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fedcat.harvester.model import GeoScope, Record, Security

#: Facets (and filters) every backend supports, in display order.
FACETS: tuple[str, ...] = ("source", "openness", "geo_scope", "security", "licence", "year", "subject")
MAX_PAGE_SIZE = 100
#: Deepest result a cursor may reach (Elasticsearch's default max_result_window).
MAX_RESULT_WINDOW = 10_000


class Sort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    OLDEST = "oldest"


@dataclass(frozen=True)
class Visibility:
    """Which records a caller may see; applied inside the index query.

    ``security`` lists the visible levels; ``hide_domestic`` hides records whose
    geo scope is ``domestic``.
    """

    security: frozenset[Security]
    hide_domestic: bool = False

    def allows(self, security: Security, geo_scope: GeoScope) -> bool:
        if security not in self.security:
            return False
        return not (self.hide_domestic and geo_scope is GeoScope.DOMESTIC)

    def allows_record(self, record: Record) -> bool:
        return self.allows(record.access.security, record.access.geo_scope)

    def key(self) -> str:
        levels = ",".join(sorted(s.value for s in self.security))
        return f"{levels}|{int(self.hide_domestic)}"


#: What anyone may see without restriction (used by the CLI, which runs as the operator).
EVERYTHING = Visibility(
    security=frozenset({Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT, Security.UNKNOWN})
)


@dataclass
class SearchQuery:
    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    facets: tuple[str, ...] = FACETS
    facet_size: int = 20
    size: int = 20
    cursor: str | None = None
    sort: Sort = Sort.RELEVANCE
    visibility: Visibility = EVERYTHING
    highlight: bool = True


@dataclass
class Hit:
    id: str
    score: float
    doc: dict[str, Any]
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class FacetBucket:
    value: str
    count: int


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetBucket]]
    next_cursor: str | None = None


@dataclass
class BulkResult:
    indexed: int = 0
    deleted: int = 0
    errors: dict[str, str] = field(default_factory=dict)


class SearchIndex(abc.ABC):
    """A search index derived from the record store; rebuildable at any time."""

    name: str = "index"

    @abc.abstractmethod
    def upsert(self, records: Iterable[Record], *, refresh: bool = True) -> BulkResult:
        """Index records (replacing any with the same id). Deleted or gated records are removed.

        With ``refresh=False`` the change may stay staged until :meth:`flush`.
        """

    @abc.abstractmethod
    def delete(self, ids: Iterable[str], *, refresh: bool = True) -> BulkResult:
        """Remove documents by id; unknown ids are ignored."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Make every staged change durable and visible to searches."""

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; raises :class:`~fedcat.index.errors.BadQuery` for a bad filter or cursor."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of documents in the index."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove every document (used by a rebuild)."""

    def rebuild(self, records: Iterable[Record], batch: int = 1000) -> int:
        """Replace the whole content with ``records``; returns how many were indexed."""
        self.clear()
        total = 0
        chunk: list[Record] = []
        for rec in records:
            chunk.append(rec)
            if len(chunk) >= batch:
                total += self.upsert(chunk).indexed
                chunk = []
        if chunk:
            total += self.upsert(chunk).indexed
        return total

    def close(self) -> None:
        """Release resources (writers, connections)."""
