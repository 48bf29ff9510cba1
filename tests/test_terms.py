"""The bilingual term table: mined from keywords written in both languages side by side, looked up for
a query's words (longest English terms first), and used by a search to reach the other language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fedcat.harvester.model import LangText, Record
from fedcat.index import terms


def rec(i: int, *subjects: str) -> Record:
    return Record(id=f"s:{i}", source_id="s", local_id=str(i), titles=[LangText(f"数据 {i}", None)],
                  subjects=list(subjects))


def test_aligned_keywords_pair_up_and_chance_neighbours_do_not() -> None:
    records = [rec(1, "冰川", "glacier", "遥感", "remote sensing"), rec(2, "冰川", "Glacier", "遙感", "Remote Sensing"),
               rec(3, "冰川", "ice"), rec(4, "glacier", "冰川", "冻土", "permafrost")]
    table = terms.mine(records)
    assert table["冰川"] == ("glacier",) and table["glacier"] == ("冰川",)  # 3 of 4 pairings; ice once
    assert table["remote sensing"] == ("遥感",) and table["遥感"] == ("remote sensing",)  # Traditional folded
    assert "ice" not in table and "permafrost" not in table  # seen once: not enough


def test_translations_take_the_longest_english_term_and_skip_excluded_words() -> None:
    table = {"mass balance": ("物质平衡",), "glacier": ("冰川",), "mass": ("质量",), "冰川": ("glacier",)}
    assert terms.translations("glacier mass balance", table) == (("mass balance", "物质平衡"), ("glacier", "冰川"))
    assert terms.translations("GLACIER -mass", table) == (("GLACIER", "冰川"),)
    assert terms.translations("冰川", table) == (("冰川", "glacier"),)
    assert terms.translations("glacier", {}) == ()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_table_is_kept_in_the_store_and_every_process_reads_the_same(
        request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> None:
    """Written through one connection (``fedcat reindex`` on one node), read through another (an API
    replica elsewhere) at its next search; a broken one is no table."""
    from fedcat.api.translate import table_of, translated
    from fedcat.index.base import SearchQuery

    from .store_helpers import open_store, reopen

    writer = open_store(request, backend, tmp_path)
    reader = reopen(writer)
    try:
        assert table_of(reader) == {} and reader.terms.version() == 0
        assert writer.terms.save(terms.dumps({"冰川": ("glacier",)})) == 1
        assert table_of(reader) == {"冰川": ("glacier",)}
        assert translated(SearchQuery(text="冰川"), reader).translations == (("冰川", "glacier"),)
        writer.terms.save(terms.dumps({"冰川": ("glacier", "ice")}))
        assert table_of(reader) == {"冰川": ("glacier", "ice")}, "a new version is read again"
        writer.terms.save("{not json")
        assert table_of(reader) == {} and reader.terms.version() == 3
    finally:
        reader.close()
        writer.close()


def test_a_table_an_earlier_release_kept_beside_the_store_moves_into_it(tmp_path: Path) -> None:
    from fedcat.api.translate import adopt_file, table_of
    from fedcat.harvester.store import RecordStore

    (tmp_path / terms.FILE_NAME).write_text('{"冰川": ["glacier"]}', encoding="utf-8")
    store = RecordStore(tmp_path / "records.sqlite3")
    try:
        assert adopt_file(store, tmp_path) and not (tmp_path / terms.FILE_NAME).exists()
        assert table_of(store) == {"冰川": ("glacier",)}
        assert not adopt_file(store, tmp_path)
    finally:
        store.close()


def test_the_cli_search_says_which_translations_it_searched_too(tmp_path: Path) -> None:
    from fedcat.api.cli import _showing
    from fedcat.index.base import SearchQuery, SearchResult

    query = SearchQuery(text="glacier", translations=(("glacier", "冰川"),))
    line = _showing(SearchResult(total=0, hits=[], facets={}, next_cursor=None), query, "glacier").plain
    assert line == "showing 0 of 0 records matching 'glacier', also searching glacier → 冰川"


def test_the_dictionary_completes_what_the_catalog_does_not_pair_and_never_replaces_it() -> None:
    records = [rec(1, "冰川", "glacier"), rec(2, "冰川", "glacier"), rec(3, "土壤", "冻土"), rec(4, "蛋白质")]
    dictionary = [("冰川", ["ice river", "glacier"]), ("土壤", ["soil", "CL:個|个[ge4]"]),
                  ("凍土", ["frozen earth", "permafrost", "tundra", "frozen ground"]),
                  ("基因组", ["genome"]), ("蛋白质", ["protein (biology)", "see 蛋白[dan4 bai2]"])]
    table = terms.mine(records, dictionary)
    assert table["冰川"] == ("glacier",) and table["glacier"] == ("冰川",)  # the catalog's own pair stands
    assert table["ice river"] == ("冰川",)  # another sense of a word the catalog uses: English finds it
    assert table["土壤"] == ("soil",) and table["soil"] == ("土壤",)
    assert table["冻土"] == ("frozen earth", "permafrost", "tundra")  # Traditional headword folded; 3 senses
    assert table["permafrost"] == ("冻土",) and table["蛋白质"] == ("protein",)
    assert "基因组" not in table and "genome" not in table  # not a keyword of this catalog


def test_a_word_of_the_titles_is_translated_from_chinese_and_reached_from_english_by_its_best_word() -> None:
    """温度 is no keyword, but the titles say it (海表温度): a query for 温度 also looks for temperature. The
    English term leads to the words the catalog uses most for it (at most two), as before."""
    records = [Record(id=f"s:{i}", source_id="s", local_id=str(i), titles=[LangText(title, None)])
               for i, title in enumerate(["南海海表温度产品", "北冰洋海表温度产品", "大豆蛋白质组"])]
    dictionary = [("温度", ["temperature"]), ("蛋白", ["protein", "egg white"]), ("蛋白质", ["protein"]),
                  ("基因组", ["genome"])]
    table = terms.mine(records, dictionary)
    assert table["温度"] == ("temperature",) and table["temperature"] == ("温度",)
    assert table["蛋白"] == ("protein", "egg white") and table["蛋白质"] == ("protein",)
    assert table["protein"] == ("蛋白", "蛋白质")  # both used once; the first sense of each, as mined before
    assert "基因组" not in table and "genome" not in table  # no title says it


def test_the_shipped_dictionary_translates_the_catalogs_words() -> None:
    from fedcat.index.dictionary import cedict

    table = terms.mine([rec(1, "冰川", "遥感", "蛋白质", "土壤")], cedict())
    assert table["glacier"] == ("冰川",) and table["remote sensing"] == ("遥感",)
    assert table["protein"][0] == "蛋白质" and table["soil"] == ("土壤",)


def test_the_table_is_mined_from_what_the_public_sees_only(catalog_factory: Any) -> None:
    """Translations are shown to every caller ("gut → 肠道"): a word that only hidden records hold must not
    come up as one, neither as a pair of their keywords nor as a dictionary word their titles use. The
    table `fedcat reindex` mines in its walk of the store is the one `write_terms` mines alone."""
    from fedcat.api.app import create_app
    from fedcat.harvester.model import Access, GeoScope, Openness, Security
    from fedcat.harvester.store import PageItem, RunReport

    from .web_helpers import Client

    def stored(i: int, title: str, subjects: tuple[str, ...], security: Security) -> Record:
        return Record(id=f"lab:{i}", source_id="lab", local_id=str(i), titles=[LangText(title, "zh")],
                      subjects=list(subjects), access=Access(openness=Openness.OPEN,
                                                             geo_scope=GeoScope.INTERNATIONAL, security=security))

    cat = catalog_factory([])
    run = cat.store.runs.start_run(RunReport(source_id="lab", full=True))
    cat.store.store_page(run, [PageItem(r, None) for r in [
        stored(1, "人体肠道宏基因组", ("肠道", "gut", "宏基因组", "metagenome"), Security.REVIEW),
        stored(2, "人体肠道菌群样本", ("肠道", "gut"), Security.IMPORTANT),
        stored(3, "青藏高原冰川编目", ("冰川", "glacier"), Security.GENERAL),
        stored(4, "祁连山冰川物质平衡", ("冰川", "glacier"), Security.GENERAL),
    ]], checkpoint=None)
    maintenance = cat.harvester.maintenance
    maintenance.write_terms()
    alone = terms.loads(cat.store.terms.load()[1])
    _, written = maintenance.reindex()
    table = terms.loads(cat.store.terms.load()[1])
    assert table == alone and written == len(table)
    assert table["glacier"] == ("冰川",)
    assert not {"gut", "intestines", "human body", "metagenome", "gene", "genome", "肠道", "人体"} & table.keys()
    body = Client(create_app(cat)).get("/api/v1/search", params={"q": "gut"}).json()
    assert body["total"] == 0 and body["query"]["translations"] == []
