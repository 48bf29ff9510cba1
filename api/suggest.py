"""What the search offers besides hits, always among what the caller may see (the same visibility as the
search: a subject, center or title held only by records hidden from the caller is never offered):
"did you mean" for a query that finds nothing (:func:`did_you_mean`: the closest subjects), and the
search box's suggestions as a word is typed (:func:`suggest`, ``/api/v1/suggest``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from fedcat.index.analysis import term_key
from fedcat.index.base import SearchIndex, SearchQuery, SearchResult, Visibility

#: Subjects considered: the most frequent ones the caller may see.
VOCABULARY = 2000
#: How close a subject must be (difflib's ratio on folded text).
CUTOFF = 0.6
#: Best hits whose titles are offered.
TITLE_HITS = 5


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


class SuggestionKind(StrEnum):
    SUBJECT = "subject"
    CENTER = "center"
    TITLE = "title"


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: SuggestionKind
    #: Records the caller may see that hold it (subjects and centers; a title is one dataset).
    count: int = 1

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "kind": self.kind.value, "count": self.count}


def suggest(index: SearchIndex, centers: Mapping[str, Sequence[str]], text: str, visibility: Visibility,
            limit: int = 8) -> list[Suggestion]:
    """What the search box offers for ``text`` (typed so far): subjects, centers and titles of records the
    caller may see (``visibility``: the search's own filter, so nothing hidden is offered or counted).
    Matching is on folded text (Traditional = Simplified, case and width folded): what starts with the
    typed text first, then what contains it; more records first. ``centers`` maps a source id to its
    names (Chinese, English)."""
    wanted = term_key(text)
    if not wanted:
        return []
    everything = index.search(SearchQuery(text="", size=1, facets=("subject", "source"), facet_size=VOCABULARY,
                                          visibility=visibility))
    found: list[tuple[int, int, Suggestion]] = []
    for bucket in everything.facets.get("subject", []):
        if (rank := _match(wanted, bucket.value)) is not None:
            found.append((rank, -bucket.count, Suggestion(bucket.value, SuggestionKind.SUBJECT, bucket.count)))
    for bucket in everything.facets.get("source", []):
        names = [n for n in centers.get(bucket.value, ()) if n]
        ranks = [(r, n) for n in names if (r := _match(wanted, n)) is not None]
        if ranks:
            rank, name = min(ranks)
            found.append((rank, -bucket.count, Suggestion(name, SuggestionKind.CENTER, bucket.count)))
    hits = index.search(SearchQuery(text=text, size=TITLE_HITS, visibility=visibility))
    for hit in hits.hits:
        title = str(hit.doc.get("title") or "")
        if (rank := _match(wanted, title)) is not None:
            found.append((rank + 2, 0, Suggestion(title, SuggestionKind.TITLE)))  # after subjects and centers
    out: list[Suggestion] = []
    seen: set[str] = set()
    for _, _, suggestion in sorted(found, key=lambda f: (f[0], f[1], f[2].text)):
        if term_key(suggestion.text) not in seen:
            seen.add(term_key(suggestion.text))
            out.append(suggestion)
    return out[:limit]


def _match(wanted: str, value: str) -> int | None:
    """0: ``value`` starts with the typed text (folded), 1: contains it, None: neither."""
    folded = term_key(value)
    if folded.startswith(wanted):
        return 0
    return 1 if wanted in folded else None
