"""The index contract: every backend must pass these.

The embedded backend always runs; the Elasticsearch backend runs when
``FEDCAT_ES_URL`` names a live cluster (``FEDCAT_ES_URL=http://localhost:9200
pytest tests/test_index_contract.py``), each test in its own index prefix,
deleted afterwards. Optional: ``FEDCAT_ES_USERNAME``/``FEDCAT_ES_PASSWORD``,
``FEDCAT_ES_API_KEY``, ``FEDCAT_ES_CA_CERTS``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedcat.harvester.config_schema import ElasticSettings
from fedcat.harvester.grouping import DatasetGroup, groups_of
from fedcat.harvester.model import GeoScope, LangText, Openness, Record, Security
from fedcat.index.base import EVERYTHING, MAX_RESULT_WINDOW, FacetBucket, SearchIndex, SearchQuery, Sort, Visibility
from fedcat.index.elastic import ElasticsearchIndex
from fedcat.index.embedded import EmbeddedIndex
from fedcat.index.errors import BadQuery

ES_URL = os.environ.get("FEDCAT_ES_URL")
BACKENDS = [
    "embedded",
    "embedded-writer-process",  # the same index, its writes made by a child process (index/writer.py)
    pytest.param("elasticsearch", marks=[
        pytest.mark.elasticsearch,
        pytest.mark.skipif(not ES_URL,
                           reason="FEDCAT_ES_URL not set: Elasticsearch contract tests need a live cluster"),
    ]),
]


def make(i: int, title: str, *, desc: str = "", subjects: tuple[str, ...] = (), year: int = 2020,
         source: str = "s1", openness: Openness = Openness.OPEN, geo: GeoScope = GeoScope.INTERNATIONAL,
         security: Security = Security.GENERAL, licence: str | None = "CC-BY-4.0") -> Record:
    rec = Record(id=f"{source}:{i}", source_id=source, local_id=str(i), titles=[LangText(title, None)],
                 descriptions=[LangText(desc, None)] if desc else [], subjects=list(subjects), year=year,
                 published=f"{year}-06-{(i % 28) + 1:02d}")
    rec.access.openness, rec.access.geo_scope, rec.access.security = openness, geo, security
    rec.licence.normalised = licence
    return rec


CORPUS = [
    make(1, "青藏高原冰川物质平衡数据集", desc="Glacier mass balance of the Tibetan Plateau",
         subjects=("冰川", "glacier"), year=2019),
    make(2, "水稻全基因组重测序数据", desc="Whole-genome resequencing of rice",
         subjects=("基因组", "genome"), year=2021, source="s2", geo=GeoScope.DOMESTIC),
    make(3, "冰和川的照片", desc="ice; river", subjects=("photo",), year=2020),  # 冰 … 川 apart: no 冰川
    make(4, "Précis of <b>Arctic</b> sea-ice data", desc="CTD profiles, 海洋 温盐", subjects=("ocean", "海洋"),
         year=2022, openness=Openness.CONDITIONAL, licence=None),
    make(5, "人类基因组变异数据", desc="human genome variation", subjects=("基因组",), year=2022, source="s2",
         security=Security.SENSITIVE),
    make(6, "国家重要地理信息", desc="important geodata", year=2021, security=Security.IMPORTANT),
]


def es_settings(prefix: str) -> ElasticSettings:
    assert ES_URL
    return ElasticSettings(
        url=ES_URL, username=os.environ.get("FEDCAT_ES_USERNAME"), password=os.environ.get("FEDCAT_ES_PASSWORD"),
        api_key=os.environ.get("FEDCAT_ES_API_KEY"), ca_certs=os.environ.get("FEDCAT_ES_CA_CERTS"),
        index_prefix=prefix, replicas=0, timeout=30.0,
    )


def drop_es_indices(idx: ElasticsearchIndex) -> None:
    found = idx.client.indices.get(index=f"{idx.alias}-v*")
    if found:
        idx.client.indices.delete(index=",".join(found))


@pytest.fixture
def empty_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    """A fresh, empty index of the backend under test."""
    if request.param.startswith("embedded"):
        idx: SearchIndex = EmbeddedIndex(tmp_path / "index", write_process=request.param != "embedded")
        yield idx
        idx.close()
        return
    es = ElasticsearchIndex(es_settings(f"fedcat-test-{uuid.uuid4().hex[:12]}")).open()
    try:
        yield es
    finally:
        drop_es_indices(es)
        es.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "empty_index" in metafunc.fixturenames:
        metafunc.parametrize("empty_index", BACKENDS, indirect=True)


@pytest.fixture
def index(empty_index: SearchIndex) -> SearchIndex:
    result = empty_index.upsert(CORPUS)
    assert (result.indexed, result.errors) == (len(CORPUS), {})
    return empty_index


def ids(index: SearchIndex, text: str = "", **kw: object) -> set[str]:
    result = index.search(SearchQuery(text=text, size=100, **kw))  # type: ignore[arg-type]
    assert result.total == len(result.hits)
    return {h.id for h in result.hits}


def test_two_character_chinese_words_match(index: SearchIndex) -> None:
    assert ids(index, "冰川") == {"s1:1"}
    assert ids(index, "基因") == {"s2:2", "s2:5"}
    assert ids(index, "基因组") == {"s2:2", "s2:5"}
    assert ids(index, "温盐") == {"s1:4"}


def test_chinese_run_matches_as_phrase_not_scattered_characters(index: SearchIndex) -> None:
    assert "s1:3" not in ids(index, "冰川")


def ranked(index: SearchIndex, text: str) -> list[str]:
    return [h.id for h in index.search(SearchQuery(text=text, size=100)).hits]


def test_records_matching_every_query_word_come_first_then_those_matching_some(index: SearchIndex) -> None:
    assert ids(index, "冰川 glacier") == {"s1:1"}
    assert ranked(index, "基因组 rice") == ["s2:2", "s2:5"]  # both words, then one
    assert ids(index, "冰川 rice") == {"s1:1", "s2:2"}  # no record has both: each found by one
    assert ranked(index, "human genome variation rice")[0] == "s2:5"  # three words of four beat one


def test_a_long_chinese_word_also_finds_its_parts_after_every_whole_match(empty_index: SearchIndex) -> None:
    """海表温度 finds records saying only 温度 (or 海表) too, each ranked after every record holding the whole
    word, however often the part occurs; a quoted 海表温度 finds the whole word only; a two-character word
    has no parts."""
    empty_index.upsert([
        make(1, "南海海表温度日数据"),
        make(2, "东海海表温度月平均", desc="海表温度 海表温度 海表温度"),
        make(3, "土壤温度与水分观测", desc="温度 温度 温度 温度 温度 温度 温度", subjects=("温度",)),
        make(4, "海表盐度观测"),
        make(5, "冰川编目"),
    ])
    order = ranked(empty_index, "海表温度")
    assert set(order[:2]) == {"s1:1", "s1:2"} and set(order[2:]) == {"s1:3", "s1:4"}
    assert ids(empty_index, '"海表温度"') == {"s1:1", "s1:2"}
    assert ids(empty_index, "冰川") == {"s1:5"}
    assert ids(empty_index, "温度") == {"s1:1", "s1:2", "s1:3"}


def test_a_quoted_phrase_must_match_and_a_minus_word_must_not(index: SearchIndex) -> None:
    assert ids(index, '"mass balance"') == {"s1:1"} == ids(index, "\u201cmass balance\u201d")  # Chinese quotes too
    assert ids(index, '"balance mass"') == set()  # a phrase is in order
    assert ids(index, '基因组 -rice') == {"s2:5"}
    assert ids(index, '基因组 -"genome variation"') == {"s2:2"}
    assert "s1:1" not in ids(index, "-冰川") and len(ids(index, "-冰川")) == len(CORPUS) - 1


def test_title_words_outrank_a_center_name_in_every_description(empty_index: SearchIndex) -> None:
    """A center's name holds its field's words (冰川); its records are not about glaciers for that."""
    name = "国家冰川冻土沙漠科学数据中心"
    records = [make(i, f"沙漠气象站观测 {i}", desc=f"{name}发布的沙漠观测数据。") for i in range(1, 6)]
    records.append(make(6, "祁连山冰川编目", desc="冰川面积与冰储量"))
    for rec in records:
        rec.center_zh = name
    empty_index.upsert(records)
    assert ranked(empty_index, "冰川")[0] == "s1:6"
    assert ids(empty_index, "冰川") == {f"s1:{i}" for i in range(1, 7)}  # the center's records stay findable


def test_traditional_script_finds_exactly_what_simplified_finds(empty_index: SearchIndex) -> None:
    """Records in either script; a query in either script: the same hits, highlights on the original."""
    records = [make(1, "青藏高原气象站观测数据", desc="遥感 冻土"), make(2, "臺灣氣象觀測資料", desc="遙感影像"),
               make(3, "海水鹽度剖面", desc="蛋白質 基因組"), make(4, "海水盐度与蛋白质组", desc="基因组"),
               make(5, "冰川照片", desc="无关")]
    empty_index.upsert(records)
    for traditional, simple in (("氣象", "气象"), ("遙感", "遥感"), ("鹽度", "盐度"), ("蛋白質", "蛋白质"),
                                ("基因組", "基因组"), ("觀測", "观测")):
        assert ids(empty_index, traditional) == ids(empty_index, simple) != set(), traditional
    assert ids(empty_index, "氣象") == {"s1:1", "s1:2"}
    (hit,) = [h for h in empty_index.search(SearchQuery(text="气象", size=10)).hits if h.id == "s1:2"]
    assert "<mark>氣象</mark>" in hit.highlights["title"][0]


def test_a_translation_reaches_the_other_language_below_direct_matches(empty_index: SearchIndex) -> None:
    direct = make(1, "Glacier inventory of the Qilian Mountains")
    chinese_only = make(2, "祁连山冰川编目", desc="冰川面积与冰储量")
    empty_index.upsert([direct, chinese_only, make(3, "沙漠气象站观测")])
    assert ids(empty_index, "glacier") == {"s1:1"}
    query = SearchQuery(text="glacier", size=10, translations=(("glacier", "冰川"),))
    result = empty_index.search(query)
    assert [h.id for h in result.hits] == ["s1:1", "s1:2"]  # the word itself first, then its translation
    assert result.hits[1].translated == ["glacier → 冰川"] and result.hits[0].translated == []
    assert "<mark>冰川</mark>" in result.hits[1].highlights["title"][0]


def test_a_translation_in_the_title_outranks_the_word_in_a_keyword_list(empty_index: SearchIndex) -> None:
    """A translation counts as its word: a Chinese-only glacier inventory comes before a record that says
    glacier only among its keywords, and still after one that says it in the same fields."""
    titled = make(1, "Glacier inventory of the Qilian Mountains")
    chinese_only = make(2, "祁连山冰川编目", desc="冰川面积与冰储量")
    keyword = make(3, "沙漠气象站观测", subjects=("冰冻圈", "cryosphere", "冰川", "glacier"))
    empty_index.upsert([titled, chinese_only, keyword])
    query = SearchQuery(text="glacier", size=10, translations=(("glacier", "冰川"),))
    assert [h.id for h in empty_index.search(query).hits] == ["s1:1", "s1:2", "s1:3"]


def test_a_translation_of_two_words_counts_as_both(empty_index: SearchIndex) -> None:
    """``remote sensing`` → 遥感: a record saying 遥感 matches both words, above one that says only remote."""
    empty_index.upsert([make(1, "Remote stations of the Gobi desert"), make(2, "塔克拉玛干沙漠遥感监测")])
    query = SearchQuery(text="remote sensing", size=10, translations=(("remote sensing", "遥感"),))
    assert [h.id for h in empty_index.search(query).hits] == ["s1:2", "s1:1"]


def test_latin_is_case_and_accent_folded(index: SearchIndex) -> None:
    assert ids(index, "GLACIER") == {"s1:1"}
    assert ids(index, "precis") == {"s1:4"}
    assert ids(index, "Précis") == {"s1:4"}


def test_upsert_replaces_by_id(index: SearchIndex) -> None:
    before = index.count()
    index.upsert([make(1, "新标题 permafrost", year=2019)])
    assert index.count() == before
    assert ids(index, "permafrost") == {"s1:1"}
    assert ids(index, "冰川") == set()


def test_delete_and_deleted_or_gated_records_leave_the_index(index: SearchIndex) -> None:
    index.delete(["s1:3", "no-such-id"])
    assert "s1:3" not in ids(index)
    tomb = make(4, "x")
    tomb.deleted = True
    core = make(1, "核心数据", security=Security.CORE)
    index.upsert([tomb, core])
    assert ids(index) == {"s2:2", "s2:5", "s1:6"}


def test_filters_or_within_and_across_fields(index: SearchIndex) -> None:
    assert ids(index, filters={"source": ["s2"]}) == {"s2:2", "s2:5"}
    assert ids(index, filters={"year": ["2019", "2022"]}) == {"s1:1", "s1:4", "s2:5"}
    assert ids(index, filters={"year": ["2022"], "source": ["s1"]}) == {"s1:4"}
    assert ids(index, "基因组", filters={"openness": ["open"], "security": ["general"]}) == {"s2:2"}
    assert ids(index, filters={"licence": ["unspecified"]}) == {"s1:4"}
    assert ids(index, filters={"subject": ["海洋"]}) == {"s1:4"}


def test_facet_counts_match_the_hits(index: SearchIndex) -> None:
    result = index.search(SearchQuery(text="", size=100))
    for name, buckets in result.facets.items():
        for bucket in buckets:
            expected = ids(index, filters={name: [bucket.value]})
            assert bucket.count == len(expected), (name, bucket)
    assert sum(b.count for b in result.facets["source"]) == result.total
    years = [b.value for b in result.facets["year"]]
    assert years == sorted(years, reverse=True)


def test_visibility_is_applied_to_hits_totals_and_facets(index: SearchIndex) -> None:
    public = Visibility(security=frozenset({Security.GENERAL}), hide_domestic=True)
    result = index.search(SearchQuery(size=100, visibility=public))
    assert {h.id for h in result.hits} == {"s1:1", "s1:3", "s1:4"}
    assert result.total == 3
    assert {b.value for b in result.facets["security"]} == {"general"}
    assert {b.value for b in result.facets["source"]} == {"s1"}
    assert ids(index, "基因组", visibility=public) == set()
    officer = Visibility(security=frozenset({Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT}))
    assert "s1:6" in ids(index, visibility=officer)


def test_cursor_pages_through_everything_once(index: SearchIndex) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = index.search(SearchQuery(size=2, cursor=cursor, sort=Sort.NEWEST, facets=()))
        seen += [h.id for h in page.hits]
        assert page.total == len(CORPUS)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(CORPUS)


def test_a_numbered_page_starts_where_the_cursor_walk_reaches(index: SearchIndex) -> None:
    """``offset`` (the web pager's page numbers) gives the pages a cursor walk gives, and continues by cursor."""
    walked = []
    cursor = None
    while True:
        page = index.search(SearchQuery(size=2, cursor=cursor, sort=Sort.NEWEST, facets=()))
        walked.append([h.id for h in page.hits])
        cursor = page.next_cursor
        if cursor is None:
            break
    for number, expected in enumerate(walked):
        page = index.search(SearchQuery(size=2, offset=2 * number, sort=Sort.NEWEST, facets=()))
        assert [h.id for h in page.hits] == expected
        assert page.total == len(CORPUS)
        assert (page.next_cursor is None) == (number == len(walked) - 1)
    follow = index.search(SearchQuery(size=2, sort=Sort.NEWEST, facets=(),
                                      cursor=index.search(SearchQuery(size=2, offset=2, sort=Sort.NEWEST,
                                                                      facets=())).next_cursor))
    assert [h.id for h in follow.hits] == walked[2]
    with pytest.raises(BadQuery) as exc:
        index.search(SearchQuery(size=20, offset=MAX_RESULT_WINDOW - 10))
    assert exc.value.param == "page"


def test_cursor_from_another_query_is_refused(index: SearchIndex) -> None:
    page = index.search(SearchQuery(text="基因组", size=1))
    assert page.next_cursor
    with pytest.raises(BadQuery) as exc:
        index.search(SearchQuery(text="冰川", size=1, cursor=page.next_cursor))
    assert exc.value.param == "cursor"
    with pytest.raises(BadQuery):
        index.search(SearchQuery(size=1, cursor="not-a-cursor"))


def test_sort_newest_and_oldest(index: SearchIndex) -> None:
    newest = [h.doc["year"] for h in index.search(SearchQuery(size=100, sort=Sort.NEWEST)).hits]
    oldest = [h.doc["year"] for h in index.search(SearchQuery(size=100, sort=Sort.OLDEST)).hits]
    assert newest == sorted(newest, reverse=True)
    assert oldest == sorted(oldest)


def test_highlights_mark_matches_and_escape_html(index: SearchIndex) -> None:
    hit = index.search(SearchQuery(text="arctic", size=1)).hits[0]
    assert hit.highlights["title"] == ["Précis of &lt;b&gt;<mark>Arctic</mark>&lt;/b&gt; sea-ice data"]
    hit = index.search(SearchQuery(text="冰川", size=1)).hits[0]
    assert "<mark>冰川</mark>" in hit.highlights["title"][0]


def test_bad_size_filter_and_facet_are_refused(index: SearchIndex) -> None:
    for query, param in ((SearchQuery(size=0), "size"), (SearchQuery(size=101), "size"),
                         (SearchQuery(filters={"colour": ["red"]}), "colour"),
                         (SearchQuery(filters={"year": ["soon"]}), "year"),
                         (SearchQuery(facets=("colour",)), "facets")):
        with pytest.raises(BadQuery) as exc:
            index.search(query)
        assert exc.value.param == param


def test_rebuild_replaces_everything(index: SearchIndex) -> None:
    assert index.rebuild(CORPUS[:2]) == 2
    assert ids(index) == {"s1:1", "s2:2"}


def test_staged_changes_are_visible_after_flush(index: SearchIndex) -> None:
    index.upsert([make(7, "祁连山冻土观测", year=2023)], refresh=False)
    index.delete(["s1:3"], refresh=False)
    index.flush()
    assert ids(index, "冻土") == {"s1:7"}
    assert "s1:3" not in ids(index)
    assert index.count() == len(CORPUS)


def test_bulk_results_count_indexed_and_removed(empty_index: SearchIndex) -> None:
    tomb = make(9, "x")
    tomb.deleted = True
    result = empty_index.upsert([*CORPUS[:3], tomb, make(8, "机密", security=Security.SECRET)])
    assert (result.indexed, result.deleted, result.errors) == (3, 2, {})
    result = empty_index.delete(["s1:1", "never-indexed"])
    assert (result.deleted, result.errors) == (2, {})
    assert empty_index.count() == 2


def test_clear_empties_the_index(index: SearchIndex) -> None:
    index.clear()
    assert index.count() == 0
    assert index.search(SearchQuery(size=10)).total == 0


def test_english_and_chinese_titles_are_both_searchable(empty_index: SearchIndex) -> None:
    rec = make(1, "", desc="")
    rec.titles = [LangText("黑河流域生态水文数据", "zh"), LangText("Heihe River Basin ecohydrology data", "en")]
    empty_index.upsert([rec, *CORPUS[1:3]])
    assert ids(empty_index, "黑河") == {"s1:1"}
    assert ids(empty_index, "ecohydrology") == {"s1:1"}
    hit = empty_index.search(SearchQuery(text="heihe", size=1)).hits[0]
    assert (hit.doc["title"], hit.doc["title_en"]) == ("黑河流域生态水文数据", "Heihe River Basin ecohydrology data")
    assert hit.highlights["title_en"] == ["<mark>Heihe</mark> River Basin ecohydrology data"]


def test_cursor_pages_a_relevance_query_under_filters_and_visibility(empty_index: SearchIndex) -> None:
    survey = [make(100 + i, f"冰川调查 glacier survey {i}", year=2000 + i % 7,
                   geo=GeoScope.DOMESTIC if i % 5 == 0 else GeoScope.INTERNATIONAL,
                   security=Security.SENSITIVE if i % 4 == 0 else Security.GENERAL) for i in range(30)]
    empty_index.upsert([*CORPUS, *survey])
    public = Visibility(security=frozenset({Security.GENERAL}), hide_domestic=True)
    expected = {r.id for r in survey if public.allows_record(r) and r.year != 2003}
    query = SearchQuery(text="冰川 glacier", size=4, visibility=public,
                        filters={"year": [str(y) for y in range(2000, 2007) if y != 2003]})
    seen: list[str] = []
    while True:
        page = empty_index.search(query)
        assert page.total == len(expected)
        assert sum(b.count for b in page.facets["source"]) == len(expected)
        seen += [h.id for h in page.hits]
        if page.next_cursor is None:
            break
        query.cursor = page.next_cursor
    assert len(seen) == len(set(seen))
    assert set(seen) == expected


def test_facet_size_and_no_facets(index: SearchIndex) -> None:
    assert index.search(SearchQuery(facets=())).facets == {}
    result = index.search(SearchQuery(facets=("year", "subject"), facet_size=2))
    assert set(result.facets) == {"year", "subject"}
    assert len(result.facets["year"]) == 2
    assert len(result.facets["subject"]) == 2
    assert result.facets["subject"][0].value == "基因组"  # the most frequent (two records)
    assert result.facets["subject"][0].count == 2


def test_hits_carry_the_display_document(index: SearchIndex) -> None:
    hit = index.search(SearchQuery(text="水稻", highlight=False)).hits[0]
    assert hit.id == "s2:2"
    assert hit.highlights == {}
    assert hit.doc["title"] == "水稻全基因组重测序数据"
    assert (hit.doc["source_id"], hit.doc["year"], hit.doc["geo_scope"]) == ("s2", 2021, "domestic")
    assert hit.doc["description"] == "Whole-genome resequencing of rice"


def test_rebuild_leaves_gated_records_out_and_can_run_again(index: SearchIndex) -> None:
    secret = make(20, "机密数据", security=Security.SECRET)
    assert index.rebuild([*CORPUS, secret], batch=4) == len(CORPUS)
    assert index.count() == len(CORPUS)
    assert ids(index, "基因组") == {"s2:2", "s2:5"}
    assert index.rebuild(CORPUS[3:]) == 3
    assert ids(index) == {"s1:4", "s2:5", "s1:6"}
    index.upsert([make(21, "重建后新增")])
    assert ids(index, "新增") == {"s1:21"}


def test_embedded_index_persists_on_disk(tmp_path: Path) -> None:
    idx = EmbeddedIndex(tmp_path / "ix")
    idx.upsert(CORPUS)
    idx.close()
    again = EmbeddedIndex(tmp_path / "ix")
    assert again.count() == len(CORPUS)
    assert {h.id for h in again.search(SearchQuery(text="冰川", visibility=EVERYTHING)).hits} == {"s1:1"}


def test_fast_analysis_equals_query_analysis() -> None:
    from fedcat.index.analysis import analyse, term_groups

    for text in ("青藏高原冰川 Glacier Précis ＡＢＣ 2020年 J/ψ", "ǅemo İstanbul Ærø", "冰", "", "a_b-c"):
        assert analyse(text) == [t for g in term_groups(text) for t in g.tokens], text


#: Characters where the two analyses could part: CJK and its compatibility forms, full- and half-width
#: forms, punctuation, accents and combining marks, case and compatibility oddities.
_TRICKY = list("冰川青藏高原豈兀ＡＢｃ１２，。！（）＿：　ｱｲひカ한ÉéİßﬁΣσ²①㍻ⅷ\u0301\u0308_- .,aZ09"
               "、「」—…·“”℃°¨\u00a0\u200d\u302a々〇〡︰﹏")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(_TRICKY) | st.characters(), max_size=40))
def test_fast_analysis_equals_query_analysis_on_any_text(text: str) -> None:
    from fedcat.index.analysis import analyse, term_groups

    assert analyse(text) == [t for g in term_groups(text) for t in g.tokens]


# -- duplicates: one dataset from several sources ---------------------------------------------------

PUBLIC = Visibility(security=frozenset({Security.GENERAL}), hide_domestic=True)
REGISTERED = Visibility(security=frozenset({Security.GENERAL, Security.SENSITIVE}))


def twin(rec: Record, doi: str) -> Record:
    rec.identifiers.doi = doi
    return rec


def dataset_corpus() -> list[Record]:
    """A DOI provided by three sources with different tags, one by two alike, and a lone record."""
    return [
        twin(make(1, "祁连山冰川物质平衡数据", desc="glacier mass balance", source="center", year=2020), "10.1/qilian"),
        twin(make(2, "祁连山冰川物质平衡", desc="Qilian glacier mirror", source="sciencedb", year=2021,
                  security=Security.SENSITIVE, openness=Openness.CONDITIONAL, subjects=("秘密关键词",)), "10.1/qilian"),
        twin(make(3, "祁连山冰川 domestic copy", source="datacite", year=2020, geo=GeoScope.DOMESTIC,
                  licence="CC0-1.0"), "10.1/qilian"),
        twin(make(4, "黑河流域水文数据", source="center", year=2019), "10.1/heihe"),
        twin(make(5, "黑河流域水文数据", source="datacite", year=2019), "10.1/heihe"),
        make(6, "独立的海洋数据", source="marine", year=2022),
    ]


def test_one_hit_per_dataset_listing_every_source(empty_index: SearchIndex) -> None:
    result = empty_index.upsert(dataset_corpus())
    assert (result.indexed, result.errors) == (6, {})
    assert empty_index.count() == 3
    found = empty_index.search(SearchQuery(size=10, visibility=EVERYTHING))
    assert found.total == len(found.hits) == 3
    by_group = {h.doc["group"]: h for h in found.hits}
    qilian = by_group["doi:10.1/qilian"]
    assert qilian.id == "center:1"  # the least restricted member is shown
    assert [s["id"] for s in qilian.doc["sources"]] == ["center:1", "datacite:3", "sciencedb:2"]
    assert {s["security"] for s in qilian.doc["sources"]} == {"general", "sensitive"}
    assert [s["source_id"] for s in by_group["doi:10.1/heihe"].doc["sources"]] == ["center", "datacite"]
    facets = {name: {b.value: b.count for b in buckets} for name, buckets in found.facets.items()}
    assert facets["source"] == {"center": 2, "datacite": 2, "sciencedb": 1, "marine": 1}  # datasets, not records
    assert facets["licence"] == {"CC-BY-4.0": 3, "CC0-1.0": 1}
    assert ids(empty_index, "祁连山", visibility=EVERYTHING) == {"center:1"}
    assert ids(empty_index, "mirror glacier", visibility=EVERYTHING) == {"center:1"}  # words of two members


def test_a_grouped_hit_shows_only_the_members_the_caller_may_see(empty_index: SearchIndex) -> None:
    empty_index.upsert(dataset_corpus())
    public = empty_index.search(SearchQuery(text="祁连山", size=10, visibility=PUBLIC))
    (hit,) = public.hits
    assert [s["id"] for s in hit.doc["sources"]] == ["center:1"]
    assert public.facets["source"] == [FacetBucket("center", 1)]
    assert {b.value for b in public.facets["security"]} == {"general"}
    assert {b.value for b in public.facets["geo_scope"]} == {"international"}
    assert "秘密关键词" not in {b.value for b in public.facets["subject"]}
    # nothing of a hidden member matches: not its text, its source, its tags or its words
    for text, filters in (("mirror", {}), ("秘密关键词", {}), ("", {"source": ["sciencedb"]}),
                          ("", {"source": ["datacite"], "licence": ["CC0-1.0"]}), ("", {"security": ["sensitive"]}),
                          ("domestic", {})):
        assert ids(empty_index, text, filters=filters, visibility=PUBLIC) == set(), (text, filters)
    registered = empty_index.search(SearchQuery(text="祁连山", size=10, visibility=REGISTERED))
    (hit,) = registered.hits
    assert [s["id"] for s in hit.doc["sources"]] == ["center:1", "datacite:3", "sciencedb:2"]
    assert ids(empty_index, "mirror", visibility=REGISTERED) == {"center:1"}
    sensitive_only = Visibility(security=frozenset({Security.SENSITIVE}))
    (hit,) = empty_index.search(SearchQuery(text="祁连山", visibility=sensitive_only)).hits
    assert (hit.id, [s["id"] for s in hit.doc["sources"]]) == ("sciencedb:2", ["sciencedb:2"])
    nobody = Visibility(security=frozenset())
    assert empty_index.search(SearchQuery(visibility=nobody)).total == 0


def test_totals_and_facets_count_datasets_under_every_visibility(empty_index: SearchIndex) -> None:
    empty_index.upsert(dataset_corpus())
    for vis in (EVERYTHING, PUBLIC, REGISTERED):
        result = empty_index.search(SearchQuery(size=100, visibility=vis))
        assert result.total == len(result.hits) == len({h.doc["group"] for h in result.hits})
        for name, buckets in result.facets.items():
            for bucket in buckets:
                assert bucket.count == len(ids(empty_index, filters={name: [bucket.value]}, visibility=vis))


def test_rewriting_a_group_replaces_its_views(empty_index: SearchIndex) -> None:
    recs = dataset_corpus()
    empty_index.upsert(recs)
    # the sensitive copy is withdrawn and the domestic one reclassified: the group is rewritten without them
    general = recs[0]
    domestic = recs[2]
    domestic.access.geo_scope = GeoScope.INTERNATIONAL
    result = empty_index.upsert_groups([DatasetGroup("doi:10.1/qilian", [general, domestic])])
    assert (result.indexed, result.deleted) == (2, 0)
    (hit,) = empty_index.search(SearchQuery(text="祁连山", visibility=PUBLIC)).hits
    assert [s["id"] for s in hit.doc["sources"]] == ["center:1", "datacite:3"]
    assert ids(empty_index, "mirror", visibility=EVERYTHING) == set()
    assert empty_index.upsert_groups([DatasetGroup("doi:10.1/qilian", [])]).deleted == 1
    assert ids(empty_index, "祁连山", visibility=EVERYTHING) == set()
    assert empty_index.count() == 2
    empty_index.delete(["datacite:5"])
    assert empty_index.count() == 1
    assert ids(empty_index, visibility=EVERYTHING) == {"marine:6"}


def test_rebuild_groups_and_cursor_over_datasets(empty_index: SearchIndex) -> None:
    recs = dataset_corpus() + [make(10 + i, f"冰川 survey {i}", source=f"s{i % 3}", year=2000 + i) for i in range(7)]
    assert empty_index.rebuild_groups(groups_of(recs), batch=2) == len(recs)
    seen: list[str] = []
    query = SearchQuery(size=3, facets=(), visibility=REGISTERED, sort=Sort.OLDEST)
    while True:
        page = empty_index.search(query)
        assert page.total == 10
        seen += [h.doc["group"] for h in page.hits]
        if page.next_cursor is None:
            break
        query.cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 10
