"""The index contract: every backend must pass these (Elasticsearch when FEDCAT_ES_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fedcat.harvester.model import GeoScope, LangText, Openness, Record, Security
from fedcat.index.base import EVERYTHING, SearchIndex, SearchQuery, Sort, Visibility
from fedcat.index.embedded import EmbeddedIndex
from fedcat.index.errors import BadQuery

BACKENDS = ["embedded"]


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
    make(1, "青藏高原冰川物质平衡数据集", desc="Glacier mass balance of the Tibetan Plateau", subjects=("冰川", "glacier"),
         year=2019),
    make(2, "水稻全基因组重测序数据", desc="Whole-genome resequencing of rice", subjects=("基因组", "genome"), year=2021,
         source="s2", geo=GeoScope.DOMESTIC),
    make(3, "冰和川的照片", desc="ice; river", subjects=("photo",), year=2020),  # 冰 … 川 apart: no 冰川
    make(4, "Précis of <b>Arctic</b> sea-ice data", desc="CTD profiles, 海洋 温盐", subjects=("ocean", "海洋"), year=2022,
         openness=Openness.CONDITIONAL, licence=None),
    make(5, "人类基因组变异数据", desc="human genome variation", subjects=("基因组",), year=2022, source="s2",
         security=Security.SENSITIVE),
    make(6, "国家重要地理信息", desc="important geodata", year=2021, security=Security.IMPORTANT),
]


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    idx: SearchIndex = EmbeddedIndex(tmp_path / "index")
    idx.upsert(CORPUS)
    yield idx
    idx.close()


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


def test_mixed_chinese_english_query_needs_all_words(index: SearchIndex) -> None:
    assert ids(index, "冰川 glacier") == {"s1:1"}
    assert ids(index, "基因组 rice") == {"s2:2"}
    assert ids(index, "冰川 rice") == set()


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
