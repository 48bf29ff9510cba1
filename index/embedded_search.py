"""Searching the embedded index: a query planned into tantivy clauses, run, and its hits and facets read.

The plan is built before the searcher is taken (a bad filter or cursor is refused without touching the
index); the visibility clauses come from :func:`fedcat.index.groups.allowed_classes`, the one
visibility filter every output uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tantivy

from fedcat.harvester import serial

from . import cursor
from .analysis import TermGroup
from .base import (
    FACETS,
    MAX_RESULT_WINDOW,
    FacetBucket,
    Hit,
    SearchQuery,
    SearchResult,
    Sort,
    check_offset,
)
from .documents import display_highlights, matched_translations
from .errors import BadQuery
from .groups import allowed_classes
from .query_plan import COORDINATION, FIELD_WEIGHTS, PARTIAL_WEIGHT, TRANSLATED_WEIGHT, QueryPlan, plan_query


@dataclass(frozen=True)
class SearchPlan:
    """A query as tantivy runs it: the clauses, where the page starts, whether there is text to rank by."""

    query: tantivy.Query
    offset: int
    ranked: bool


def plan_search(schema: tantivy.Schema, query: SearchQuery) -> SearchPlan:
    offset = _decode_offset(query)
    plan = plan_query(query.text, query.translations)
    return SearchPlan(_build_query(schema, query, plan), offset, plan.ranked)


def run_search(searcher: tantivy.Searcher, plan: SearchPlan, query: SearchQuery, *,
               facets: dict[str, list[FacetBucket]] | None = None) -> SearchResult:
    """One page of hits, and the query's facets: counted here unless ``facets`` gives them already."""
    kwargs: dict[str, Any] = {"limit": query.size, "offset": plan.offset, "count": True}
    if query.sort is not Sort.RELEVANCE or not plan.ranked:
        kwargs["order_by_field"] = "published_key"
        kwargs["order"] = tantivy.Order.Asc if query.sort is Sort.OLDEST else tantivy.Order.Desc
    found = searcher.search(plan.query, **kwargs)
    hits = [_hit(searcher, score, addr, query) for score, addr in found.hits]
    total = int(getattr(found, "count", 0) or 0)
    next_offset = plan.offset + len(hits)
    more = next_offset < total and hits and next_offset < MAX_RESULT_WINDOW
    next_cursor = cursor.encode({"o": next_offset}, query) if more else None
    if facets is None:
        facets = _facets(searcher, plan.query, query) if query.facets else {}
    return SearchResult(total=total, hits=hits, facets=facets, next_cursor=next_cursor)


def _hit(searcher: tantivy.Searcher, score: Any, addr: tantivy.DocAddress, query: SearchQuery) -> Hit:
    stored = searcher.doc(addr).to_dict()
    display: dict[str, Any] = serial.loads(stored["display"][0])
    return Hit(id=display["id"], score=float(score) if isinstance(score, float) else 0.0, doc=display,
               highlights=display_highlights(display, query) if query.highlight else {},
               translated=matched_translations(display, query))


def _facets(searcher: tantivy.Searcher, tq: tantivy.Query, query: SearchQuery) -> dict[str, list[FacetBucket]]:
    aggs: dict[str, Any] = {}
    for name in query.facets:
        if name not in FACETS:
            raise BadQuery(f"unknown facet {name!r} (known: {', '.join(FACETS)})", param="facets")
        aggs[name] = {"terms": {"field": name, "size": query.facet_size}}
    raw = searcher.aggregate(tq, aggs)
    out: dict[str, list[FacetBucket]] = {}
    for name in query.facets:
        buckets = raw.get(name, {}).get("buckets", [])
        out[name] = [FacetBucket(value=str(b["key"]), count=int(b["doc_count"])) for b in buckets]
        if name == "year":
            out[name].sort(key=lambda b: b.value, reverse=True)
    return out


def _build_query(schema: tantivy.Schema, query: SearchQuery, plan: QueryPlan) -> tantivy.Query:
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
    if plan.optional:  # at least one of the words; each one matched counts COORDINATION more
        words = [_counted(schema, g, plan.alternatives(i)) for i, g in enumerate(plan.optional)]
        words += [tantivy.Query.boost_query(_text_clause(schema, g), TRANSLATED_WEIGHT) for g in plan.translated]
        words += [_counted(schema, g, (), TRANSLATED_WEIGHT, scored=False) for g in plan.uncovered]
        words += [tantivy.Query.boost_query(_any_token(schema, g), PARTIAL_WEIGHT) for g in plan.partial]
        clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query([(tantivy.Occur.Should, w) for w in words])))
    clauses += [(tantivy.Occur.Must, _text_clause(schema, g)) for g in plan.required]
    clauses += [(tantivy.Occur.MustNot, _text_clause(schema, g)) for g in plan.excluded]
    for name, values in query.filters.items():
        if name not in FACETS:
            raise BadQuery(f"unknown filter {name!r} (known: {', '.join(FACETS)})", param=name)
        if not values:
            continue
        clauses.append((tantivy.Occur.Must, _any_of(schema, name, values)))
    allowed, denied = allowed_classes(query.visibility)
    clauses.append((tantivy.Occur.Must, _one_of(schema, "vis_in", allowed)))
    clauses += [(tantivy.Occur.MustNot, tantivy.Query.term_query(schema, "vis_in", c)) for c in denied]
    clauses += [(tantivy.Occur.MustNot, tantivy.Query.term_query(schema, "vis_out", c)) for c in allowed]
    if not plan.optional and not plan.required:
        clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
    return tantivy.Query.boolean_query(clauses)


def _counted(schema: tantivy.Schema, group: TermGroup, alternatives: tuple[TermGroup, ...] = (),
             weight: float = 1.0, *, scored: bool = True) -> tantivy.Query:
    """A word that adds ``weight`` × COORDINATION to a record's score where it or one of its
    ``alternatives`` (translations) matches, and (``scored``) the word's own text score."""
    clause = _text_clause(schema, group)
    either = clause if not alternatives else tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, q) for q in [clause, *(_text_clause(schema, a) for a in alternatives)]])
    counted = tantivy.Query.const_score_query(either, COORDINATION * weight)
    if not scored:
        return counted
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, counted), (tantivy.Occur.Should, clause)])


def _any_token(schema: tantivy.Schema, group: TermGroup) -> tantivy.Query:
    """Any of the word's tokens in any text field, weighted by field (a part of a long Chinese word)."""
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.term_query(schema, field, token) if weight == 1.0
          else tantivy.Query.boost_query(tantivy.Query.term_query(schema, field, token), weight))
         for field, weight in FIELD_WEIGHTS for token in group.tokens])


def _any_of(schema: tantivy.Schema, name: str, values: list[str]) -> tantivy.Query:
    if name == "year":
        terms: list[Any] = []
        for v in values:
            try:
                terms.append(int(v))
            except ValueError:
                raise BadQuery(f"{v!r} is not a year", param="year") from None
        return _one_of(schema, "year", terms)
    return _one_of(schema, name, list(values))


def _one_of(schema: tantivy.Schema, name: str, values: list[Any]) -> tantivy.Query:
    """Documents holding any of ``values`` in the keyword field ``name``, each scored 1 (it only filters).

    A union of term queries, not ``term_set_query``: the term set reads its terms' postings in full
    whatever the rest of the query, a cost that grows with the index; the union is advanced with the
    other clauses (bench/search.py, docs/performance.md)."""
    return tantivy.Query.const_score_query(tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.term_query(schema, name, v)) for v in values]), 1.0)


def _text_clause(schema: tantivy.Schema, group: TermGroup) -> tantivy.Query:
    """The word (or phrase) in any text field, weighted by field; several tokens match as a phrase."""

    def on(field: str) -> tantivy.Query:
        if len(group.tokens) == 1:
            return tantivy.Query.term_query(schema, field, group.tokens[0])
        return tantivy.Query.phrase_query(schema, field, list(group.tokens))

    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, on(field) if weight == 1.0 else tantivy.Query.boost_query(on(field), weight))
         for field, weight in FIELD_WEIGHTS])


def _decode_offset(query: SearchQuery) -> int:
    if not query.cursor:
        check_offset(query)
        return query.offset
    data = cursor.decode(query.cursor, query)
    offset = data.get("o")
    if not isinstance(offset, int):
        raise BadQuery("not a cursor returned by this index", param="cursor")
    if not 0 <= offset <= MAX_RESULT_WINDOW:
        raise BadQuery(f"cursors reach at most {MAX_RESULT_WINDOW} results; narrow the query", param="cursor")
    return offset
