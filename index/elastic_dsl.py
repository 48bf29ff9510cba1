"""The Elasticsearch requests of the cluster backend, built as plain data (no client, no I/O).

Everything :class:`~fedcat.index.elastic.ElasticsearchIndex` sends is built
here: the index settings and mapping, bulk actions, the search body and the
cursor payload, so each can be checked against the expected query DSL without
a cluster.

Text analysis mirrors :mod:`.analysis`: the standard tokenizer splits CJK text
into single ideographs, ``cjk_width`` folds full- and half-width forms (as the
NFKC normalisation of the embedded backend does), ``lowercase`` and
``asciifolding`` fold Latin (Précis → precis), and ``cjk_bigram`` joins
adjacent CJK characters into overlapping bigrams (a lone character stays a
unigram). English stop words are kept (the built-in ``cjk`` analyzer drops
them, the embedded backend does not). Each query word must match as a phrase,
in the title (boosted) or the body, exactly as in the embedded backend.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fedcat.harvester.grouping import DatasetGroup

from .analysis import TermGroup, simplified
from .base import FACETS, MAX_PAGE_SIZE, SearchQuery, Sort, Visibility
from .errors import BadQuery
from .groups import ViewDoc, all_doc_ids, allowed_classes, views
from .query_plan import COORDINATION, FIELD_WEIGHTS, PARTIAL_WEIGHT, TRANSLATED_WEIGHT, QueryPlan, plan_query

#: Bumped when the mapping or analysis changes; an index with another version needs `fedcat reindex`.
SCHEMA_VERSION = 3  # 3: Traditional script folded to Simplified; subjects and center fields
TEXT_ANALYZER = "fedcat_text"
ENGLISH_ANALYZER = "fedcat_english"
KEYWORD_FIELDS: tuple[str, ...] = ("source", "openness", "geo_scope", "security", "licence", "subject")
#: Group bookkeeping (see :mod:`.groups`): the group, its members in this document, visibility classes.
GROUP_FIELDS: tuple[str, ...] = ("group", "member", "vis_in", "vis_out", "view")
#: Keyword values longer than this are kept in the document but not indexed (Lucene's term limit is 32 kB).
IGNORE_ABOVE = 1024


def index_settings(*, shards: int, replicas: int) -> dict[str, Any]:
    return {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "analysis": {
            "analyzer": {
                TEXT_ANALYZER: {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["cjk_width", "lowercase", "asciifolding", "cjk_bigram"],
                },
                ENGLISH_ANALYZER: {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["lowercase", "asciifolding", "fedcat_english_stemmer"],
                },
            },
            "filter": {"fedcat_english_stemmer": {"type": "stemmer", "language": "english"}},
        },
    }


def _text(analyzer: str = TEXT_ANALYZER) -> dict[str, Any]:
    return {"type": "text", "analyzer": analyzer}


def mapping() -> dict[str, Any]:
    """The strict mapping: unknown fields are refused instead of guessed."""
    properties: dict[str, Any] = {
        "id": {"type": "keyword"},
        **{name: {"type": "keyword", "ignore_above": IGNORE_ABOVE} for name in KEYWORD_FIELDS},
        **{name: {"type": "keyword"} for name in GROUP_FIELDS},
        "year": {"type": "integer"},
        "published_key": {"type": "integer"},
        "title": {
            "properties": {
                "all": _text(),
                "zh": _text(),
                "en": {**_text(), "fields": {"stemmed": _text(ENGLISH_ANALYZER)}},
            }
        },
        "subjects": _text(),
        "body": _text(),
        "center": _text(),
        "display": {"type": "object", "enabled": False},
    }
    return {"dynamic": "strict", "_meta": {"fedcat_schema": SCHEMA_VERSION}, "properties": properties}


def create_index_body(alias: str | None, *, shards: int, replicas: int) -> dict[str, Any]:
    """Settings and mappings for a new versioned index, with the alias when given."""
    body: dict[str, Any] = {"settings": index_settings(shards=shards, replicas=replicas), "mappings": mapping()}
    if alias:
        body["aliases"] = {alias: {}}
    return body


# -- documents and bulk actions ---------------------------------------------------------


def es_document(view: ViewDoc) -> dict[str, Any]:
    doc = view.doc
    # the cluster's analyzer makes the bigrams; the text it gets is already in one script (see .analysis)
    title: dict[str, str] = {"all": simplified(doc.title_text)}
    if doc.title_zh:
        title["zh"] = simplified(doc.title_zh)
    if doc.title_en:
        title["en"] = doc.title_en
    out: dict[str, Any] = {"id": view.doc_id, "published_key": doc.published_key, "title": title,
                           "subjects": simplified(doc.subjects_text), "body": simplified(doc.body_text),
                           "center": simplified(doc.center_text), "display": doc.display, "group": view.group,
                           "member": [m.id for m in view.members], "vis_in": view.vis_in,
                           "view": "all" if view.complete else "part"}
    if view.vis_out:
        out["vis_out"] = view.vis_out
    if doc.years:  # a list when a group's members were published in several years
        out["year"] = doc.years[0] if len(doc.years) == 1 else doc.years
    for name in KEYWORD_FIELDS:
        if doc.keywords.get(name):
            out[name] = doc.keywords[name]
    return out


def group_actions(groups: Iterable[DatasetGroup], index: str, *, replace: bool = True) -> Iterable[dict[str, Any]]:
    """An ``index`` action per view document of each group; with ``replace``, a ``delete`` for every
    other id the group's documents may have had (bulk deletes are real-time, unlike a query)."""
    for group in groups:
        docs = views(group)
        for view in docs:
            yield {"_op_type": "index", "_index": index, "_id": view.doc_id, "_source": es_document(view)}
        if replace:
            used = {v.doc_id for v in docs}
            for doc_id in all_doc_ids(group.key):
                if doc_id not in used:
                    yield {"_op_type": "delete", "_index": index, "_id": doc_id}


def delete_by_member(ids: Iterable[str]) -> dict[str, Any]:
    """The query of the documents holding any of these records."""
    return {"terms": {"member": list(ids)}}


# -- search ---------------------------------------------------------------------------------


@dataclass
class Page:
    """Where a page starts: Elasticsearch sort values of the last hit, a point in time, hits seen."""

    search_after: list[Any] | None = None
    pit: str | None = None
    seen: int = 0

    def payload(self) -> dict[str, Any]:
        return {"a": self.search_after, "p": self.pit, "n": self.seen}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Page:
        after, pit, seen = data.get("a"), data.get("p"), data.get("n")
        if (not isinstance(after, list) or not all(isinstance(v, (str, int, float)) for v in after)
                or not (pit is None or isinstance(pit, str)) or not isinstance(seen, int) or seen < 0):
            raise BadQuery("not a cursor returned by this index", param="cursor")
        return cls(search_after=after, pit=pit, seen=seen)


def validate(query: SearchQuery) -> None:
    """The checks both backends make before running a query (same parameters named)."""
    if not 1 <= query.size <= MAX_PAGE_SIZE:
        raise BadQuery(f"must be between 1 and {MAX_PAGE_SIZE}", param="size")
    for name in query.facets:
        if name not in FACETS:
            raise BadQuery(f"unknown facet {name!r} (known: {', '.join(FACETS)})", param="facets")


#: Where each text field of the plan lives in the mapping.
_FIELD_PATHS = {"title": "title.all"}


def text_clause(group: TermGroup) -> dict[str, Any]:
    """One query word or phrase in any text field, weighted by field (see :mod:`.query_plan`); a CJK run
    matches as a phrase of its bigrams."""
    text = simplified(group.surface)
    return {
        "bool": {
            "should": [
                {"match_phrase": {_FIELD_PATHS.get(field, field): {"query": text, "boost": weight}}}
                for field, weight in FIELD_WEIGHTS
            ],
            "minimum_should_match": 1,
        }
    }


def _counted(group: TermGroup, alternatives: tuple[TermGroup, ...] = (), weight: float = 1.0, *,
             scored: bool = True) -> dict[str, Any]:
    """A word that adds ``weight`` × COORDINATION to a record's score where it or one of its
    ``alternatives`` (translations) matches, and (``scored``) the word's own text score."""
    clause = text_clause(group)
    either = clause if not alternatives else {
        "bool": {"should": [clause, *map(text_clause, alternatives)], "minimum_should_match": 1}}
    counted = {"constant_score": {"filter": either, "boost": COORDINATION * weight}}
    if not scored:
        return counted
    return {"bool": {"should": [counted, clause]}}


def _translation(group: TermGroup) -> dict[str, Any]:
    """A translation's text score, TRANSLATED_WEIGHT of a word's."""
    clause = text_clause(group)
    return {"bool": {**clause["bool"], "boost": TRANSLATED_WEIGHT}}


def any_token_clause(group: TermGroup) -> dict[str, Any]:
    """Any of the word's tokens in any text field, weighted by field (a part of a long Chinese word)."""
    text = simplified(group.surface)
    return {"bool": {"should": [{"match": {_FIELD_PATHS.get(field, field): {"query": text, "boost": weight}}}
                                for field, weight in FIELD_WEIGHTS],
                     "boost": PARTIAL_WEIGHT}}


def words_clause(plan: QueryPlan) -> dict[str, Any]:
    """At least one of the plan's plain words (or their translations, weighted less; or a part of a long
    Chinese word, weighted less again and not counted); each word matched adds COORDINATION to the score."""
    return {
        "bool": {
            "should": [_counted(g, plan.alternatives(i)) for i, g in enumerate(plan.optional)]
            + [_translation(g) for g in plan.translated]
            + [_counted(g, (), TRANSLATED_WEIGHT, scored=False) for g in plan.uncovered]
            + [any_token_clause(g) for g in plan.partial],
            "minimum_should_match": 1,
        }
    }


def filter_clause(name: str, values: list[str]) -> dict[str, Any]:
    if name not in FACETS:
        raise BadQuery(f"unknown filter {name!r} (known: {', '.join(FACETS)})", param=name)
    if name != "year":
        return {"terms": {name: list(values)}}
    years: list[int] = []
    for v in values:
        try:
            years.append(int(v))
        except ValueError:
            raise BadQuery(f"{v!r} is not a year", param="year") from None
    return {"terms": {"year": years}}


def visibility_clauses(vis: Visibility) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The filter and the must_not clauses of an audience: the one document of each group holding
    exactly the members it may see (see :mod:`.groups`)."""
    allowed, denied = allowed_classes(vis)
    hidden: list[dict[str, Any]] = [{"terms": {"vis_out": allowed}}]
    if denied:
        hidden.insert(0, {"terms": {"vis_in": denied}})
    return {"terms": {"vis_in": allowed}}, hidden


def build_query(query: SearchQuery) -> dict[str, Any]:
    plan = plan_query(query.text, query.translations)
    filters = []
    for name, values in query.filters.items():
        clause = filter_clause(name, values)  # an unknown name is refused even with no values
        if values:
            filters.append(clause)
    allowed, hidden = visibility_clauses(query.visibility)
    must = ([words_clause(plan)] if plan.optional else []) + [text_clause(g) for g in plan.required]
    bool_query: dict[str, Any] = {"must": must or [{"match_all": {}}], "filter": [*filters, allowed]}
    excluded = [text_clause(g) for g in plan.excluded]
    if hidden or excluded:
        bool_query["must_not"] = excluded + hidden
    if plan.ranked:
        # Scoring only (the must clauses decide what matches): a title in the query's language ranks higher.
        bool_query["should"] = [
            {"match": {"title.zh": {"query": simplified(query.text)}}},
            {"match": {"title.en.stemmed": {"query": simplified(query.text)}}},
        ]
    return {"bool": bool_query}


def sort_clause(query: SearchQuery) -> list[dict[str, str]]:
    """The sort, ending with the unique ``id`` so ``search_after`` never skips or repeats a hit."""
    if query.sort is Sort.RELEVANCE and plan_query(query.text).ranked:
        first = {"_score": "desc"}
    elif query.sort is Sort.OLDEST:
        first = {"published_key": "asc"}
    else:
        first = {"published_key": "desc"}
    return [first, {"id": "asc"}]


def aggregations(query: SearchQuery) -> dict[str, Any]:
    return {name: {"terms": {"field": name, "size": query.facet_size}} for name in query.facets}


def search_body(query: SearchQuery, page: Page, *, keep_alive: str) -> dict[str, Any]:
    """The ``_search`` body for one page (the index is named only when there is no point in time)."""
    validate(query)
    body: dict[str, Any] = {
        "query": build_query(query),
        "sort": sort_clause(query),
        "size": query.size,
        "track_total_hits": True,
        "_source": ["display"],
    }
    if query.facets:
        body["aggs"] = aggregations(query)
    if page.search_after is not None:
        body["search_after"] = page.search_after
    elif page.seen:
        body["from"] = page.seen  # a numbered page: the first request starts at an offset
    if page.pit is not None:
        body["pit"] = {"id": page.pit, "keep_alive": keep_alive}
    return body


def facet_buckets(aggs: dict[str, Any], query: SearchQuery) -> dict[str, list[tuple[str, int]]]:
    """``aggregations`` of a response as (value, count) pairs; years newest first, as in the embedded backend."""
    out: dict[str, list[tuple[str, int]]] = {}
    for name in query.facets:
        buckets = aggs.get(name, {}).get("buckets", [])
        pairs = [(str(b["key"]), int(b["doc_count"])) for b in buckets]
        if name == "year":
            pairs.sort(key=lambda p: p[0], reverse=True)
        out[name] = pairs
    return out
