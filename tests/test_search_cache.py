"""Answers kept for repeated searches (index/search_cache.py): served again only while the index is
unchanged, whichever process changed it, and only to callers of the same visibility."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fedcat.harvester.model import GeoScope, LangText, Openness, Record, Security
from fedcat.index import embedded_search
from fedcat.index.base import EVERYTHING, SearchQuery, Visibility
from fedcat.index.embedded import EmbeddedIndex

PUBLIC = Visibility(security=frozenset({Security.GENERAL}))


def record(n: int, title: str, security: Security = Security.GENERAL) -> Record:
    rec = Record(id=f"s:{n}", source_id="s", local_id=str(n), titles=[LangText(title, "zh")], year=2020 + n % 3)
    rec.access.security = security
    rec.access.openness = Openness.OPEN
    rec.access.geo_scope = GeoScope.INTERNATIONAL
    return rec


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the engine was asked for hits and for facet counts."""
    calls = {"search": 0, "facets": 0}
    real_run, real_facets = embedded_search.run_search, embedded_search._facets

    def run(*args: Any, **kwargs: Any) -> Any:
        calls["search"] += 1
        return real_run(*args, **kwargs)

    def facets(*args: Any, **kwargs: Any) -> Any:
        calls["facets"] += 1
        return real_facets(*args, **kwargs)

    monkeypatch.setattr("fedcat.index.embedded.run_search", run)
    monkeypatch.setattr(embedded_search, "_facets", facets)
    return calls


def test_a_repeated_first_page_is_answered_from_the_cache(tmp_path: Path, counted: dict[str, int]) -> None:
    idx = EmbeddedIndex(tmp_path / "ix")
    idx.upsert([record(n, f"冰川观测 {n}") for n in range(30)])
    first = idx.search(SearchQuery(text="冰川", size=10))
    again = idx.search(SearchQuery(text="冰川", size=10))
    assert again is first and counted == {"search": 1, "facets": 1}
    assert idx.search(SearchQuery(text="冰川", size=11)) is not first
    idx.close()


def test_later_pages_count_only_their_hits(tmp_path: Path, counted: dict[str, int]) -> None:
    idx = EmbeddedIndex(tmp_path / "ix")
    idx.upsert([record(n, f"冰川观测 {n}") for n in range(30)])
    first = idx.search(SearchQuery(text="冰川", size=10))
    second = idx.search(SearchQuery(text="冰川", size=10, cursor=first.next_cursor))
    third = idx.search(SearchQuery(text="冰川", size=10, cursor=second.next_cursor))
    assert counted == {"search": 3, "facets": 1}
    assert second.facets == third.facets == first.facets
    assert len({h.id for h in first.hits + second.hits + third.hits}) == 30
    idx.close()


def test_a_commit_in_another_process_is_seen_at_once(tmp_path: Path) -> None:
    """The generation is read from the folder, not from this process's own writes: another process's
    commit (a harvest beside `fedcat serve`) changes what a repeated search answers."""
    serving = EmbeddedIndex(tmp_path / "ix")
    harvesting = EmbeddedIndex(tmp_path / "ix")
    harvesting.upsert([record(1, "冰川 一")])
    before = serving.search(SearchQuery(text="冰川"))
    assert before.total == 1 and serving.search(SearchQuery(text="冰川")) is before
    harvesting.upsert([record(2, "冰川 二")])
    after = serving.search(SearchQuery(text="冰川"))
    assert after.total == 2 and after.facets["year"] != before.facets["year"]
    harvesting.delete(["s:1"])
    assert {h.id for h in serving.search(SearchQuery(text="冰川")).hits} == {"s:2"}
    serving.close()
    harvesting.close()


def test_a_rebuild_swapped_in_elsewhere_is_seen_at_once(tmp_path: Path) -> None:
    serving = EmbeddedIndex(tmp_path / "ix")
    serving.upsert([record(1, "冰川 一")])
    assert serving.search(SearchQuery(text="冰川")).total == 1
    rebuilding = EmbeddedIndex(tmp_path / "ix")
    rebuilding.rebuild([record(1, "冰川 一"), record(2, "冰川 二"), record(3, "冰川 三")])
    assert serving.search(SearchQuery(text="冰川")).total == 3
    serving.close()
    rebuilding.close()


def test_each_visibility_has_its_own_answers(tmp_path: Path) -> None:
    idx = EmbeddedIndex(tmp_path / "ix")
    idx.upsert([record(1, "冰川 一"), record(2, "冰川 二", Security.IMPORTANT)])
    assert idx.search(SearchQuery(text="冰川", visibility=EVERYTHING)).total == 2
    public = idx.search(SearchQuery(text="冰川", visibility=PUBLIC))
    assert public.total == 1 and [b.value for b in public.facets["security"]] == ["general"]
    assert idx.search(SearchQuery(text="冰川", visibility=EVERYTHING)).total == 2
    idx.close()


def test_filters_and_translations_are_part_of_the_key(tmp_path: Path) -> None:
    idx = EmbeddedIndex(tmp_path / "ix")
    idx.upsert([record(n, f"冰川 {n}") for n in range(6)])
    every = idx.search(SearchQuery(text="冰川"))
    one_year = idx.search(SearchQuery(text="冰川", filters={"year": ["2021"]}))
    assert every.total == 6 and one_year.total == 2
    assert idx.search(SearchQuery(text="glacier")).total == 0
    assert idx.search(SearchQuery(text="glacier", translations=(("glacier", "冰川"),))).total == 6
    idx.close()


def test_no_cache_when_turned_off_and_a_bounded_one_otherwise(tmp_path: Path, counted: dict[str, int]) -> None:
    off = EmbeddedIndex(tmp_path / "off", search_cache=0)
    off.upsert([record(1, "冰川")])
    off.search(SearchQuery(text="冰川"))
    off.search(SearchQuery(text="冰川"))
    assert counted["search"] == 2
    off.close()
    small = EmbeddedIndex(tmp_path / "small", search_cache=4)
    small.upsert([record(1, "冰川")])
    for word in ("冰川", "冻土", "气象", "遥感", "土壤", "海洋"):
        small.search(SearchQuery(text=word))
    assert len(small._cache) == 4
    small.close()


def test_the_index_is_reloaded_only_when_its_generation_changed(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With no answers kept, searches of an unchanged index reuse the loaded searcher (a reload costs more
    than finding a rare word); a commit in another process is still seen by the next search."""
    reloads: list[int] = []
    real = EmbeddedIndex._reload

    def counting(self: EmbeddedIndex) -> None:
        reloads.append(1)
        real(self)

    monkeypatch.setattr(EmbeddedIndex, "_reload", counting)
    serving = EmbeddedIndex(tmp_path / "ix", search_cache=0)
    harvesting = EmbeddedIndex(tmp_path / "ix")
    harvesting.upsert([record(1, "冰川 一")])
    reloads.clear()
    for _ in range(3):
        assert serving.search(SearchQuery(text="冰川")).total == 1
    assert len(reloads) == 1
    harvesting.upsert([record(2, "冰川 二")])
    assert serving.search(SearchQuery(text="冰川")).total == 2
    assert serving.search(SearchQuery(text="冰川")).total == 2
    assert len(reloads) == 2
    serving.close()
    harvesting.close()
