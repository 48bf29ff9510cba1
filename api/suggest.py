""""Did you mean": for a query that finds nothing, the subjects closest to its words among those the
caller may see (the same visibility as the search: a subject held only by records hidden from the
caller is never offered)."""

from __future__ import annotations

import difflib
from dataclasses import replace

from fedcat.index.analysis import term_key
from fedcat.index.base import SearchIndex, SearchQuery, SearchResult

#: Subjects considered: the most frequent ones the caller may see.
VOCABULARY = 2000
#: How close a subject must be (difflib's ratio on folded text).
CUTOFF = 0.6


def did_you_mean(index: SearchIndex, query: SearchQuery, result: SearchResult, limit: int = 3) -> list[str]:
    """Up to ``limit`` subjects close to the words of ``query`` when its ``result`` is empty (else none)."""
    words = [w for w in query.text.split() if not w.startswith("-") and w.strip('"')]
    if result.total or not words:
        return []
    vocabulary = index.search(replace(query, text="", filters={}, cursor=None, offset=0, size=1,
                                      facets=("subject",), facet_size=VOCABULARY, translations=()))
    subjects = [b.value for b in vocabulary.facets.get("subject", [])]
    folded = {term_key(s): s for s in reversed(subjects)}  # the most frequent spelling wins
    wanted = term_key(" ".join(w.strip('"') for w in words))
    close = difflib.get_close_matches(wanted, list(folded), n=limit, cutoff=CUTOFF)
    return [folded[c] for c in close if folded[c] != query.text]
