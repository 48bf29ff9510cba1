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
