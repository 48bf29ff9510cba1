""""Did you mean" offers the subjects closest to a query that found nothing, among those the caller may see."""

from __future__ import annotations

from fedcat.api.audience import visibility_for
from fedcat.api.suggest import did_you_mean
from fedcat.harvester.config_schema import Audience
from fedcat.harvester.model import LangText, Record, Security
from fedcat.index.base import SearchQuery
from fedcat.index.embedded import EmbeddedIndex


def rec(i: int, subjects: list[str], security: Security = Security.GENERAL) -> Record:
    r = Record(id=f"s:{i}", source_id="s", local_id=str(i), titles=[LangText(f"数据集 {i}", None)],
               subjects=subjects)
    r.access.security = security
    return r


def suggest(index: EmbeddedIndex, query: SearchQuery) -> list[str]:
    return did_you_mean(index, query, index.search(query))


def test_close_subjects_are_offered_only_from_records_the_caller_may_see() -> None:
    index = EmbeddedIndex(None)
    index.upsert([rec(1, ["冰川", "glacier"]), rec(2, ["冻土", "permafrost"]),
                  rec(3, ["geomagnetic survey"], Security.IMPORTANT)])
    public = visibility_for(Audience.PUBLIC_INTERNATIONAL, Security.GENERAL)
    officer = visibility_for(Audience.OFFICER, Security.GENERAL)
    assert index.search(SearchQuery(text="glacer", visibility=public)).total == 0
    assert suggest(index, SearchQuery(text="glacer", visibility=public)) == ["glacier"]
    assert suggest(index, SearchQuery(text="Permafrst", visibility=public)) == ["permafrost"]
    assert suggest(index, SearchQuery(text="geomagnetc survy", visibility=public)) == []
    assert suggest(index, SearchQuery(text="geomagnetc survy", visibility=officer)) == ["geomagnetic survey"]
    assert suggest(index, SearchQuery(text="-glacier", visibility=public)) == []


def test_the_search_box_is_offered_subjects_centers_and_titles_the_caller_may_see() -> None:
    from fedcat.api.suggest import SuggestionKind
    from fedcat.api.suggest import suggest as box

    index = EmbeddedIndex(None)
    records = [rec(1, ["冰川", "glacier"]), rec(2, ["冰川", "glacier mass balance"]), rec(3, ["冰川变化"]),
               rec(4, ["glacial lakes"], Security.IMPORTANT), rec(5, ["冻土"])]
    records[0].titles = [LangText("祁连山冰川编目", None)]
    index.upsert(records)
    centers = {"s": ("国家冰川冻土沙漠科学数据中心", "National Cryosphere Desert Data Center")}
    public = visibility_for(Audience.PUBLIC_INTERNATIONAL, Security.GENERAL)
    officer = visibility_for(Audience.OFFICER, Security.GENERAL)

    found = box(index, centers, "GLAC", public)
    assert [(s.text, s.kind, s.count) for s in found] == [
        ("glacier", SuggestionKind.SUBJECT, 1), ("glacier mass balance", SuggestionKind.SUBJECT, 1)]
    assert "glacial lakes" in [s.text for s in box(index, centers, "glac", officer)]  # officers only

    found = box(index, centers, "冰川", public)  # starts-with first, then contains; titles last
    assert [s.text for s in found] == ["冰川", "冰川变化", "国家冰川冻土沙漠科学数据中心", "祁连山冰川编目"]
    assert [s.text for s in box(index, centers, "氷川", public)] == []  # not Chinese: nothing
    assert [s.text for s in box(index, centers, "冰川變化", public)] == ["冰川变化"]  # Traditional = Simplified
    assert [(s.text, s.count) for s in box(index, centers, "national cryo", public)] == [
        ("National Cryosphere Desert Data Center", 4)]  # the center's visible records
    assert box(index, centers, "  ", public) == []
