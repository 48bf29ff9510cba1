"""Answers kept for repeated searches while the index stays as it was.

The landing page and common words cost the engine tens to hundreds of milliseconds, nearly all of it
counting facets over every matching document, and every visitor asks for the same page. An answer
depends only on the query (text, translations, filters, sort, page, facets), the caller's visibility
and the index's contents, so it is kept under those: the first two as the query's key, the third as
the index's **generation**, which changes at every commit (and with a rebuild swapped in) whichever
process made it. Two kinds of entry:

- a **first page** (no cursor, offset 0): the whole answer, hits and facets;
- the **facets** of a query, whatever the page: a later page counts only its hits.

The caller reads the generation *before* it opens a searcher: an answer is then never kept under a
generation newer than the index it was read from (at worst it was read from a newer one, and is kept
under a generation no later request will ask for). Entries of an older generation are dropped when a
newer one is first seen. Kept answers are shared: callers must not change them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from .base import FacetBucket, SearchQuery, SearchResult

Facets = dict[str, list[FacetBucket]]


def folder_generation(folder: Path) -> Hashable | None:
    """The generation of the embedded index in ``folder``: the digest of tantivy's ``meta.json``, rewritten
    by every commit (in any process) and different in a swapped-in rebuild; ``None`` when it cannot be read."""
    try:
        return hashlib.blake2b((folder / "meta.json").read_bytes(), digest_size=16).digest()
    except OSError:
        return None


def _filters(query: SearchQuery) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((name, tuple(values)) for name, values in query.filters.items() if values))


def facets_key(query: SearchQuery) -> Hashable:
    """What a query's facet counts depend on."""
    return ("facets", query.text, query.translations, _filters(query), query.visibility, query.facets,
            query.facet_size)


def page_key(query: SearchQuery) -> Hashable | None:
    """What a first page depends on; ``None`` for any other page (not kept)."""
    if query.cursor is not None or query.offset:
        return None
    return ("page", query.text, query.translations, _filters(query), query.visibility, query.facets,
            query.facet_size, query.size, query.sort, query.highlight)


class SearchCache:
    """A bounded least-recently-used map of answers of one generation of the index."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self._generation: Hashable | None = None
        self._lock = threading.Lock()
        #: Searches answered whole from a kept first page, and the others.
        self.hits = 0
        self.misses = 0

    def _get(self, generation: Hashable, key: Hashable) -> Any:
        if not self.entries:
            return None
        with self._lock:
            if generation != self._generation:
                self._kept.clear()
                self._generation = generation
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def _put(self, generation: Hashable, key: Hashable, value: Any) -> None:
        if not self.entries:
            return
        with self._lock:
            if generation != self._generation:
                return  # read from an index a newer answer has already replaced
            self._kept[key] = value
            self._kept.move_to_end(key)
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)

    def page(self, generation: Hashable, query: SearchQuery) -> SearchResult | None:
        """The kept first page of ``query``; counted as a hit or a miss (any other page: a miss)."""
        key = page_key(query)
        found = self._get(generation, key) if key is not None else None
        kept = found if isinstance(found, SearchResult) else None
        with self._lock:
            if kept is None:
                self.misses += 1
            else:
                self.hits += 1
        return kept

    def keep_page(self, generation: Hashable, query: SearchQuery, result: SearchResult) -> None:
        if (key := page_key(query)) is not None:
            self._put(generation, key, result)

    def facets(self, generation: Hashable, query: SearchQuery) -> Facets | None:
        found = self._get(generation, facets_key(query))
        return found if isinstance(found, dict) else None

    def keep_facets(self, generation: Hashable, query: SearchQuery, facets: Facets) -> None:
        self._put(generation, facets_key(query), facets)

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)
