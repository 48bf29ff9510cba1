"""The Elasticsearch backend's requests, compared with the expected query DSL (no cluster needed)."""

from __future__ import annotations

from typing import Any

import pytest

from fedcat.harvester.grouping import DatasetGroup
from fedcat.harvester.model import GeoScope, LangText, Openness, Record, Security
from fedcat.index import cursor
from fedcat.index.base import EVERYTHING, FACETS, SearchQuery, Sort, Visibility
from fedcat.index.elastic_dsl import (
    SCHEMA_VERSION,
    Page,
    create_index_body,
    delete_by_member,
    es_document,
    facet_buckets,
    group_actions,
    mapping,
    search_body,
)
from fedcat.index.errors import BadQuery
from fedcat.index.groups import ViewDoc, all_doc_ids, allowed_classes, views

PUBLIC = Visibility(security=frozenset({Security.GENERAL, Security.UNKNOWN}), hide_domestic=True)
TEXT = {"type": "text", "analyzer": "fedcat_text"}


def record(**kw: Any) -> Record:
    rec = Record(id="s1:7", source_id="s1", local_id="7",
                 titles=[LangText("青藏高原冰川数据", "zh"), LangText("Tibetan Plateau glacier data", "en")],
                 descriptions=[LangText("冰川物质平衡", None)], subjects=["冰川", "Glacier "], year=2019,
                 published="2019-06-03", creators=["张三"])
    rec.access.openness, rec.access.geo_scope, rec.access.security = Openness.OPEN, GeoScope.INTERNATIONAL, \
        Security.GENERAL
    rec.licence.normalised = "CC-BY-4.0"
    for k, v in kw.items():
        setattr(rec, k, v)
    return rec


def only_view(rec: Record) -> ViewDoc:
    (view,) = views(DatasetGroup(f"id:{rec.id}", [rec]))
    return view


def test_index_body_is_a_strict_mapping_with_cjk_bigram_analysis() -> None:
    keyword = {"type": "keyword", "ignore_above": 1024}
    assert create_index_body("fedcat-records", shards=3, replicas=1) == {
        "settings": {
            "number_of_shards": 3,
            "number_of_replicas": 1,
            "analysis": {
                "analyzer": {
                    "fedcat_text": {"type": "custom", "tokenizer": "standard",
                                    "filter": ["cjk_width", "lowercase", "asciifolding", "cjk_bigram"]},
                    "fedcat_english": {"type": "custom", "tokenizer": "standard",
                                       "filter": ["lowercase", "asciifolding", "fedcat_english_stemmer"]},
                },
                "filter": {"fedcat_english_stemmer": {"type": "stemmer", "language": "english"}},
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"fedcat_schema": SCHEMA_VERSION},
            "properties": {
                "id": {"type": "keyword"},
                "source": keyword, "openness": keyword, "geo_scope": keyword, "security": keyword,
                "licence": keyword, "subject": keyword,
                "group": {"type": "keyword"}, "member": {"type": "keyword"}, "vis_in": {"type": "keyword"},
                "vis_out": {"type": "keyword"}, "view": {"type": "keyword"},
                "year": {"type": "integer"},
                "published_key": {"type": "integer"},
                "title": {"properties": {
                    "all": TEXT, "zh": TEXT,
                    "en": {**TEXT, "fields": {"stemmed": {"type": "text", "analyzer": "fedcat_english"}}},
                }},
                "subjects": TEXT, "body": TEXT, "center": TEXT,
                "display": {"type": "object", "enabled": False},
            },
        },
        "aliases": {"fedcat-records": {}},
    }
    assert "aliases" not in create_index_body(None, shards=1, replicas=0)


def test_every_facet_is_a_mapped_field() -> None:
    props = mapping()["properties"]
    for name in FACETS:
        assert name in props


def test_document_fills_exactly_the_mapped_fields() -> None:
    doc = es_document(only_view(record()))
    assert {k: v for k, v in doc.items() if k not in ("display", "body", "subjects", "center")} == {
        "id": "id:s1:7|0", "group": "id:s1:7", "member": ["s1:7"], "vis_in": ["general.n"], "view": "all",
        "source": ["s1"], "openness": ["open"], "geo_scope": ["international"],
        "security": ["general"], "licence": ["CC-BY-4.0"], "subject": ["Glacier", "冰川"],
        "year": 2019, "published_key": 20190603,
        "title": {"all": "青藏高原冰川数据 Tibetan Plateau glacier data", "zh": "青藏高原冰川数据",
                  "en": "Tibetan Plateau glacier data"},
    }
    assert doc["body"].startswith("冰川物质平衡 张三") and doc["subjects"].split() == ["冰川", "Glacier"]
    assert doc["display"]["title"] == "青藏高原冰川数据"
    assert set(doc) <= set(mapping()["properties"])


def test_document_without_year_or_english_title_omits_them() -> None:
    doc = es_document(only_view(record(year=None, titles=[LangText("冰川", None)])))
    assert "year" not in doc
    assert doc["title"] == {"all": "冰川", "zh": "冰川"}


def test_bulk_actions_write_each_view_and_delete_every_other_id_of_the_group() -> None:
    live, tomb, secret = record(), record(id="s1:8", deleted=True), record(id="s1:9")
    secret.access.security = Security.SECRET
    actions = list(group_actions([DatasetGroup("doi:10.1/x", [live, tomb, secret])], "fedcat-records"))
    assert [(a["_op_type"], a["_id"]) for a in actions if a["_op_type"] == "index"] == [("index", "doi:10.1/x|0")]
    assert actions[0]["_source"]["member"] == ["s1:7"]
    assert [a["_id"] for a in actions if a["_op_type"] == "delete"] == all_doc_ids("doi:10.1/x")[1:]
    assert {a["_index"] for a in actions} == {"fedcat-records"}
    gone = list(group_actions([DatasetGroup("doi:10.1/y", [tomb])], "x-records-v2"))
    assert [(a["_op_type"], a["_id"]) for a in gone] == [("delete", i) for i in all_doc_ids("doi:10.1/y")]
    fresh = list(group_actions([DatasetGroup("doi:10.1/x", [live])], "x-records-v2", replace=False))
    assert [a["_op_type"] for a in fresh] == ["index"]
    assert delete_by_member(["a", "b"]) == {"terms": {"member": ["a", "b"]}}


def phrase(surface: str) -> dict[str, Any]:
    return {"bool": {"should": [{"match_phrase": {"title.all": {"query": surface, "boost": 3.0}}},
                                {"match_phrase": {"subjects": {"query": surface, "boost": 2.0}}},
                                {"match_phrase": {"body": {"query": surface, "boost": 1.0}}},
                                {"match_phrase": {"center": {"query": surface, "boost": 0.3}}}],
                     "minimum_should_match": 1}}


def part_of(surface: str) -> dict[str, Any]:
    """Any bigram of a long Chinese word, at a fifth of its weight, not counted."""
    return {"bool": {"should": [{"match": {"title.all": {"query": surface, "boost": 3.0}}},
                                {"match": {"subjects": {"query": surface, "boost": 2.0}}},
                                {"match": {"body": {"query": surface, "boost": 1.0}}},
                                {"match": {"center": {"query": surface, "boost": 0.3}}}],
                     "boost": 0.2}}


def any_of(*surfaces: str) -> dict[str, Any]:
    """At least one of the words (or a part of a long Chinese one); each word matched adds 100 to the score."""
    long_cjk = [w for w in surfaces if len(w) > 2 and all("\u4e00" <= c <= "\u9fff" for c in w)]
    return {"bool": {"should": [{"bool": {"should": [{"constant_score": {"filter": phrase(w), "boost": 100.0}},
                                                     phrase(w)]}} for w in surfaces]
                     + [part_of(w) for w in long_cjk],
                     "minimum_should_match": 1}}


def test_text_filters_visibility_facets_and_sort() -> None:
    query = SearchQuery(text="青藏高原 Précis", filters={"source": ["s1", "s2"], "year": ["2019", "2021"]},
                        facets=("source", "year"), facet_size=5, size=10, visibility=PUBLIC)
    assert search_body(query, Page(), keep_alive="5m") == {
        "query": {"bool": {
            "must": [any_of("青藏高原", "Précis")],
            "filter": [{"terms": {"source": ["s1", "s2"]}}, {"terms": {"year": [2019, 2021]}},
                       {"terms": {"vis_in": ["general.n", "unknown.n"]}}],
            "must_not": [{"terms": {"vis_in": [c for c in allowed_classes(PUBLIC)[1]]}},
                         {"terms": {"vis_out": ["general.n", "unknown.n"]}}],
            "should": [{"match": {"title.zh": {"query": "青藏高原 Précis"}}},
                       {"match": {"title.en.stemmed": {"query": "青藏高原 Précis"}}}],
        }},
        "sort": [{"_score": "desc"}, {"id": "asc"}],
        "size": 10,
        "track_total_hits": True,
        "_source": ["display"],
        "aggs": {"source": {"terms": {"field": "source", "size": 5}},
                 "year": {"terms": {"field": "year", "size": 5}}},
    }


def test_empty_text_matches_everything_newest_first_and_without_should() -> None:
    officer = Visibility(security=frozenset({Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT}))
    body = search_body(SearchQuery(text="  ", facets=(), visibility=officer, size=3), Page(), keep_alive="1m")
    seen = ["general.d", "general.n", "sensitive.d", "sensitive.n", "important.d", "important.n"]
    assert allowed_classes(officer)[0] == seen
    assert body == {
        "query": {"bool": {"must": [{"match_all": {}}],
                           "filter": [{"terms": {"vis_in": seen}}],
                           "must_not": [{"terms": {"vis_in": allowed_classes(officer)[1]}},
                                        {"terms": {"vis_out": seen}}]}},
        "sort": [{"published_key": "desc"}, {"id": "asc"}],
        "size": 3, "track_total_hits": True, "_source": ["display"],
    }


@pytest.mark.parametrize(("sort", "text", "first"), [
    (Sort.NEWEST, "冰川", {"published_key": "desc"}),
    (Sort.OLDEST, "冰川", {"published_key": "asc"}),
    (Sort.OLDEST, "", {"published_key": "asc"}),
    (Sort.RELEVANCE, "", {"published_key": "desc"}),
])
def test_sorts_end_with_the_unique_id(sort: Sort, text: str, first: dict[str, str]) -> None:
    body = search_body(SearchQuery(text=text, sort=sort, facets=()), Page(), keep_alive="1m")
    assert body["sort"] == [first, {"id": "asc"}]


def test_next_page_searches_after_the_last_hit_inside_the_point_in_time() -> None:
    query = SearchQuery(text="冰川", facets=(), size=2)
    page = Page(search_after=[1.25, "s1:3"], pit="cGl0LWlk", seen=2)
    token = cursor.encode(page.payload(), query)
    query.cursor = token
    again = Page.from_payload(cursor.decode(token, query))
    assert again == page
    body = search_body(query, again, keep_alive="5m")
    assert body["search_after"] == [1.25, "s1:3"]
    assert body["pit"] == {"id": "cGl0LWlk", "keep_alive": "5m"}
    assert set(body) == {"query", "sort", "size", "track_total_hits", "_source", "search_after", "pit"}


def test_a_numbered_page_starts_from_an_offset_and_later_pages_search_after() -> None:
    body = search_body(SearchQuery(text="冰川", facets=(), size=20, offset=40), Page(seen=40), keep_alive="5m")
    assert body["from"] == 40 and "search_after" not in body
    later = search_body(SearchQuery(text="冰川", facets=(), size=20),
                        Page(search_after=[1.0, "s1:3"], pit="cGl0", seen=60), keep_alive="5m")
    assert "from" not in later
    assert "from" not in search_body(SearchQuery(text="冰川", facets=()), Page(), keep_alive="5m")


@pytest.mark.parametrize("payload", [
    {"a": "s1:3", "p": None, "n": 2}, {"a": [{"x": 1}], "p": None, "n": 2}, {"a": [], "p": 5, "n": 2},
    {"a": [], "p": None, "n": -1}, {"a": [], "p": None}, {"o": 20},
])
def test_malformed_cursor_payloads_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(BadQuery) as exc:
        Page.from_payload(payload)
    assert exc.value.param == "cursor"


def test_cursor_of_another_query_or_garbage_is_refused() -> None:
    token = cursor.encode(Page([1, "a"], None, 1).payload(), SearchQuery(text="冰川"))
    for other in (SearchQuery(text="基因组"), SearchQuery(text="冰川", size=5),
                  SearchQuery(text="冰川", visibility=PUBLIC), SearchQuery(text="冰川", sort=Sort.OLDEST)):
        with pytest.raises(BadQuery, match="different query"):
            cursor.decode(token, other)
    for garbage in ("not-a-cursor", "e30", "WzFd", "!!!"):
        with pytest.raises(BadQuery):
            cursor.decode(garbage, SearchQuery(text="冰川"))


@pytest.mark.parametrize(("query", "param"), [
    (SearchQuery(size=0), "size"), (SearchQuery(size=101), "size"),
    (SearchQuery(filters={"colour": ["red"]}), "colour"), (SearchQuery(filters={"colour": []}), "colour"),
    (SearchQuery(filters={"year": ["soon"]}), "year"), (SearchQuery(facets=("colour",)), "facets"),
])
def test_bad_queries_name_the_parameter(query: SearchQuery, param: str) -> None:
    with pytest.raises(BadQuery) as exc:
        search_body(query, Page(), keep_alive="1m")
    assert exc.value.param == param


def test_empty_filter_lists_add_no_clause() -> None:
    body = search_body(SearchQuery(filters={"source": []}, facets=()), Page(), keep_alive="1m")
    assert body["query"]["bool"]["filter"] == [{"terms": {"vis_in": allowed_classes(EVERYTHING)[0]}}]


def test_facet_buckets_keep_counts_and_sort_years_newest_first() -> None:
    aggs = {"year": {"buckets": [{"key": 2019, "doc_count": 5}, {"key": 2022, "doc_count": 3}]},
            "licence": {"buckets": [{"key": "CC-BY-4.0", "doc_count": 4}]}}
    query = SearchQuery(facets=("year", "licence", "subject"))
    assert facet_buckets(aggs, query) == {"year": [("2022", 3), ("2019", 5)], "licence": [("CC-BY-4.0", 4)],
                                          "subject": []}


def test_traditional_text_and_queries_reach_the_cluster_in_simplified_script() -> None:
    """The cluster's own analyzer makes the bigrams; what it is sent is already in one script."""
    rec = Record(id="s:1", source_id="s", local_id="1", titles=[LangText("臺灣氣象觀測", "zh")],
                 descriptions=[LangText("遙感影像", None)])
    (view,) = views(DatasetGroup("id:s:1", [rec]))
    doc = es_document(view)
    assert doc["title"]["all"] == "台湾气象观测" and doc["title"]["zh"] == "台湾气象观测"
    assert "遥感影像" in doc["body"] and "遙" not in doc["body"]
    assert doc["display"]["title"] == "臺灣氣象觀測"  # shown as written
    assert (search_body(SearchQuery(text="氣象 遙感"), Page(), keep_alive="1m")
            == search_body(SearchQuery(text="气象 遥感"), Page(), keep_alive="1m"))


def test_quoted_phrases_are_required_and_minus_words_excluded() -> None:
    body = search_body(SearchQuery(text='冰川 "mass balance" -photo', facets=()), Page(), keep_alive="1m")
    query = body["query"]["bool"]
    assert query["must"] == [any_of("冰川"), phrase("mass balance")]
    assert query["must_not"][0] == phrase("photo")


def test_a_translation_counts_as_its_word_and_scores_half_its_text() -> None:
    body = search_body(SearchQuery(text="glacier", facets=(), translations=(("glacier", "冰川"),)), Page(),
                       keep_alive="1m")
    (words,) = body["query"]["bool"]["must"]
    counted, translated = words["bool"]["should"]
    either = {"bool": {"should": [phrase("glacier"), phrase("冰川")], "minimum_should_match": 1}}
    assert counted == {"bool": {"should": [{"constant_score": {"filter": either, "boost": 100.0}},
                                           phrase("glacier")]}}
    assert translated == {"bool": {**phrase("冰川")["bool"], "boost": 0.5}}


def test_a_translation_of_several_words_counts_for_each_of_them() -> None:
    body = search_body(SearchQuery(text="remote sensing data", facets=(),
                                   translations=(("remote sensing", "遥感"),)), Page(), keep_alive="1m")
    (words,) = body["query"]["bool"]["must"]
    remote, sensing, data, translated = words["bool"]["should"]
    for clause, word in ((remote, "remote"), (sensing, "sensing")):
        either = {"bool": {"should": [phrase(word), phrase("遥感")], "minimum_should_match": 1}}
        assert clause["bool"]["should"][0] == {"constant_score": {"filter": either, "boost": 100.0}}
    assert data == any_of("data")["bool"]["should"][0]
    assert translated == {"bool": {**phrase("遥感")["bool"], "boost": 0.5}}
