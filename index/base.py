"""The index interface every backend implements, and the values it exchanges.

The operations are the intersection of what tantivy and Elasticsearch do well:
bulk upsert and delete by id, a full-text query with term filters, terms
aggregations for facets, highlighting, and cursor paging with an opaque token.
Audience visibility is part of the query (:class:`Visibility`), so totals and
facet counts never include what the caller may not see.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fedcat.harvester.grouping import DatasetGroup, groups_of
from fedcat.harvester.model import GATED_SECURITY, GeoScope, Record, Security

from .errors import BadQuery

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
    security=frozenset({Security.GENERAL, Security.SENSITIVE, Security.REVIEW, Security.IMPORTANT, Security.UNKNOWN})
)


@dataclass
class SearchQuery:
    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    facets: tuple[str, ...] = FACETS
    facet_size: int = 20
    size: int = 20
    cursor: str | None = None
    #: Where the first page starts when there is no cursor (the web pages' numbered pager); with
    #: ``size``, at most MAX_RESULT_WINDOW.
    offset: int = 0
    sort: Sort = Sort.RELEVANCE
    visibility: Visibility = EVERYTHING
    highlight: bool = True
    #: (query term, translation) pairs from the term table (:mod:`.terms`): the translations are looked
    #: for too, ranked below the words themselves.
    translations: tuple[tuple[str, str], ...] = ()


def check_offset(query: SearchQuery) -> None:
    """Both backends refuse an offset past the result window (BadQuery naming ``page``)."""
    if query.offset < 0 or query.offset + query.size > MAX_RESULT_WINDOW:
        raise BadQuery(f"pages reach at most {MAX_RESULT_WINDOW} results; narrow the query", param="page")


@dataclass
class Hit:
    id: str
    score: float
    doc: dict[str, Any]
    highlights: dict[str, list[str]] = field(default_factory=dict)
    #: The translations this hit was found by (``glacier → 冰川``), when they are in its text.
    translated: list[str] = field(default_factory=list)


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
    """A search index derived from the record store; rebuildable at any time.

    The index holds datasets, not records: records of one dataset from several sources (same DOI
    or CSTR, see :mod:`fedcat.harvester.grouping`) are one group and one search hit listing every
    source (``display["sources"]``), each member visible only to callers that may see it (see
    :mod:`fedcat.index.groups`). Hit ids are record ids (the group's member shown first).
    """

    name: str = "index"

    @abc.abstractmethod
    def upsert_groups(self, groups: Iterable[DatasetGroup], *, refresh: bool = True) -> BulkResult:
        """Replace each group's entry by one built from its members (no indexable member: removed).

        ``indexed`` counts the member records indexed, ``deleted`` the groups removed; ``errors``
        is keyed by group key. With ``refresh=False`` the change may stay staged until :meth:`flush`.
        """

    def upsert(self, records: Iterable[Record], *, refresh: bool = True) -> BulkResult:
        """Index records, grouped by dataset; the records given are their groups' whole membership.

        Deleted or gated records are left out of their group (``deleted`` counts them); ``errors``
        is keyed by record id.
        """
        recs = list(records)
        groups = groups_of(recs)
        result = self.upsert_groups(groups, refresh=refresh)
        members = {g.key: [r.id for r in g.members] for g in groups}
        errors = {rid: why for key, why in result.errors.items() for rid in members.get(key, [key])}
        gone = sum(1 for r in recs if r.deleted or r.access.security in GATED_SECURITY)
        return BulkResult(indexed=result.indexed, deleted=gone, errors=errors)

    @abc.abstractmethod
    def delete(self, ids: Iterable[str], *, refresh: bool = True) -> BulkResult:
        """Remove the entries of the groups holding these record ids; unknown ids are ignored.

        The pipeline never calls this: it rebuilds a group from its remaining members instead.
        """

    @abc.abstractmethod
    def flush(self) -> None:
        """Make every staged change durable and visible to searches."""

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; raises :class:`~fedcat.index.errors.BadQuery` for a bad filter or cursor."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of datasets (groups) in the index."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove every document (used by a rebuild)."""

    @property
    def tracks_store(self) -> bool:
        """Whether the backend records which record store it reflects (:meth:`bound_store`); a backend that
        does not is trusted to be in step (its pending marks still bring it up to date)."""
        return False

    def bound_store(self) -> str | None:
        """The id of the record store this index was built from; None when unknown (a new, empty index)."""
        return None

    def bind_store(self, store_id: str) -> None:  # noqa: B027 - an optional hook, a no-op by default
        """Record that this index reflects the store ``store_id`` (its pending marks say what is missing)."""

    def rebuild(self, records: Iterable[Record], batch: int = 1000) -> int:
        """Replace the whole content with ``records`` (held in memory to group them); returns how many
        were indexed. The pipeline streams groups from the store with :meth:`rebuild_groups`."""
        return self.rebuild_groups(groups_of(records), batch)

    def rebuild_groups(self, groups: Iterable[DatasetGroup], batch: int = 1000) -> int:
        """Replace the whole content with ``groups``; returns how many member records were indexed."""
        self.clear()
        total = 0
        chunk: list[DatasetGroup] = []
        for group in groups:
            chunk.append(group)
            if len(chunk) >= batch:
                total += self.upsert_groups(chunk).indexed
                chunk = []
        if chunk:
            total += self.upsert_groups(chunk).indexed
        return total

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A run of writes (a harvest, a catch-up). The index may keep what writing needs (the embedded
        index's writer, and the lock that goes with it) from one write to the next until the last such
        run ends. A write outside any run lets go of it once committed, so that another process (a
        harvest beside ``fedcat serve``, one of several API workers) can write next."""
        yield

    def cache_counts(self) -> tuple[int, int] | None:
        """Searches answered from kept answers and searches that were not, in this process (``None``: this
        backend keeps none)."""
        return None

    def close(self) -> None:  # noqa: B027 - an optional hook, a no-op by default
        """Release resources (writers, connections)."""
