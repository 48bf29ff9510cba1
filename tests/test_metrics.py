"""Metric computations: exact values on a small fixed corpus, and snapshots after real harvests."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date
from typing import Any

import pytest

from fedcat.api.catalog import Catalog
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.metrics import MAX_POINTS, MAX_SCORE, assess, center_metrics, rank, rating
from fedcat.harvester.metrics.compute import Tally, _reachability
from fedcat.harvester.metrics.quality import Dimension, Rating, Reach, valid_cstr, valid_doi
from fedcat.harvester.model import (
    Access,
    GeoScope,
    Identifiers,
    LangText,
    Licence,
    Openness,
    Provenance,
    Record,
    Security,
    Statement,
)
from fedcat.harvester.store import RunReport, RunStatus
from fedcat.harvester.store.link_results import LinkKind, LinkResult, LinkStatus

from .conftest import source_for

TODAY = date(2025, 1, 31)


def rec(local: str, **kw: Any) -> Record:
    r = Record(id=f"c:{local}", source_id="c", local_id=local, titles=[LangText(f"标题{local}", "zh")])
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def corpus() -> list[Record]:
    r1 = rec("1", access=Access(Openness.OPEN, GeoScope.INTERNATIONAL, Security.GENERAL),
             identifiers=Identifiers(doi="10.12072/ncdc.1", cstr="CSTR:31253.11.ncdc.1"),
             licence=Licence("CC-BY-4.0", "CC BY 4.0"), subjects=["冰川"], sets=["glacier"],
             descriptions=[LangText("描述", "zh")], creators=["张三"], publisher="NCDC", published="2020-01-01",
             modified="2024-12-22", version="V1", formats=["NetCDF"], rights=["CC BY 4.0"],
             statements=[Statement("dc:rights", "开放共享")], landing_page="http://127.0.0.1:1/d/1",
             provenance=Provenance("c", "oaipmh", "http://x", "oai_datacite"), citation="张三. 标题1[DS/OL].",
             year=2020)
    r2 = rec("2", access=Access(Openness.OPEN, GeoScope.DOMESTIC, Security.SENSITIVE),
             identifiers=Identifiers(doi="10.1234/bad doi"), licence=Licence("CC-BY-NC-4.0"), sets=["x"],
             datestamp="2024-12-01T00:00:00Z", formats=["text/csv"],
             provenance=Provenance("c", "oaipmh", "http://x", "oai_dc"), citation="标题2[DS/OL].")
    r3 = rec("3", access=Access(Openness.EMBARGOED, GeoScope.INTERNATIONAL, Security.GENERAL,
                                embargo_until="2024-12-31"),
             identifiers=Identifiers(cstr="CSTR:31253.11.sdb.3"), version="2", modified="2025-01-01",
             statements=[Statement("rights", "info:eu-repo/semantics/embargoedAccess")], subjects=["a"],
             descriptions=[LangText("d")], creators=["李四"], publisher="P", published="2021-05-05", year=2021,
             provenance=Provenance("c", "rest", "http://x", "json:sciencedb"))
    r4 = rec("4")
    r5 = rec("5", access=Access(Openness.REGISTERED, GeoScope.INTERNATIONAL, Security.IMPORTANT),
             identifiers=Identifiers(doi="10.11922/sciencedb.5"), licence=Licence("CC0-1.0"),
             modified="2024-01-31", access_url="http://127.0.0.1:1/f/5.nc")
    return [r1, r2, r3, r4, r5]


def links() -> dict[str, dict[LinkKind, LinkResult]]:
    def one(rid: str, status: LinkStatus, at: str) -> dict[LinkKind, LinkResult]:
        return {LinkKind.LANDING: LinkResult(rid, "c", LinkKind.LANDING, "http://x", status, checked_at=at)}
    return {"c:1": one("c:1", LinkStatus.OK, "2025-01-30T10:00:00+00:00"),
            "c:2": one("c:2", LinkStatus.LOGIN_WALL, "2025-01-30T11:00:00+00:00")}


def runs() -> list[RunReport]:
    return [RunReport("c", 4, RunStatus.RUNNING, started_at="2025-01-31T00:00:00+00:00"),
            RunReport("c", 3, RunStatus.SUCCEEDED, finished_at="2025-01-30T00:00:00+00:00"),
            RunReport("c", 2, RunStatus.FAILED, finished_at="2025-01-29T00:00:00+00:00"),
            RunReport("c", 1, RunStatus.PARTIAL, finished_at="2025-01-28T00:00:00+00:00")]


@pytest.fixture(scope="module")
def m() -> dict[str, Any]:
    return center_metrics(corpus(), gated={"core": 2}, runs=runs(), links=links(), today=TODAY)


def test_mqa_weights_add_up() -> None:
    assert MAX_POINTS == {Dimension.FINDABILITY: 100, Dimension.ACCESSIBILITY: 100,
                          Dimension.INTEROPERABILITY: 110, Dimension.REUSABILITY: 75, Dimension.CONTEXTUALITY: 20}
    assert MAX_SCORE == 405
    assert [rating(s) for s in (405, 351, 350.9, 221, 220, 121, 120.9, 0)] == [
        Rating.EXCELLENT, Rating.EXCELLENT, Rating.GOOD, Rating.GOOD, Rating.SUFFICIENT, Rating.SUFFICIENT,
        Rating.BAD, Rating.BAD]


def test_record_scores() -> None:
    r1, r2, r3, r4, r5 = corpus()
    q1 = assess(r1, Reach(landing_ok=True))
    assert dict(q1.points) == {Dimension.FINDABILITY: 100, Dimension.ACCESSIBILITY: 50,
                               Dimension.INTEROPERABILITY: 100, Dimension.REUSABILITY: 75,
                               Dimension.CONTEXTUALITY: 20}
    assert q1.score == 345 and "media_type" not in q1.passed
    assert assess(r1).score == 295  # unchecked: no reachability points
    q2 = assess(r2)
    assert q2.score == 145 and {"media_type", "format_vocabulary", "categories"} <= q2.passed
    assert assess(r3).score == 130
    assert assess(r4).score == 0
    assert assess(r5).score == 80


def test_pid_syntax() -> None:
    assert valid_doi("10.12072/ncdc.glacier.db0001.2019")
    assert not valid_doi("10.12/short-prefix") and not valid_doi("10.1234/with space") and not valid_doi(None)
    assert valid_cstr("CSTR:31253.11.sciencedb.06290")
    assert not valid_cstr("CSTR:3125.11.x") and not valid_cstr("31253.11.x") and not valid_cstr("CSTR:31253.1.x")


def test_distributions_and_shares(m: dict[str, Any]) -> None:
    assert m["records"] == 5
    assert m["openness"] == {"open": 2, "registered": 1, "conditional": 0, "embargoed": 1, "metadata_only": 0,
                             "unknown": 1}
    assert m["geo_scope"] == {"international": 3, "domestic": 1, "unknown": 1}
    assert m["security"] == {"general": 2, "sensitive": 1, "review": 0, "important": 1, "unknown": 1, "core": 2,
                             "secret": 0}
    assert m["gated"] == {"core": 2, "secret": 0}
    assert m["open_share"] == 0.6
    assert m["pid"] == {"doi": 2, "doi_invalid": 1, "cstr": 2, "cstr_invalid": 0, "any": 3, "doi_share": 0.4,
                        "cstr_share": 0.4, "any_share": 0.6}
    assert m["licence"] == {"present": 3, "open": 2, "present_share": 0.6, "open_share": 0.4,
                            "by_licence": {"CC-BY-4.0": 1, "CC-BY-NC-4.0": 1, "CC0-1.0": 1, "unspecified": 2}}
    assert m["citation"] == {"present": 2, "complete": 1, "present_share": 0.4, "complete_share": 0.2}
    assert m["version"] == {"present": 2, "share": 0.4}


def test_completeness(m: dict[str, Any]) -> None:
    c = m["completeness"]
    assert (c["score"], c["rating"], c["max"]) == (140.0, "sufficient", 405)
    assert {k: v["score"] for k, v in c["dimensions"].items()} == {
        "findability": 44.0, "accessibility": 14.0, "interoperability": 36.0, "reusability": 38.0,
        "contextuality": 8.0}
    assert c["checks"]["keywords"] == 0.4 and c["checks"]["landing_page_reachable"] == 0.2
    assert c["checks"]["access_rights_vocabulary"] == 0.8


def test_freshness_embargo_reachability(m: dict[str, Any]) -> None:
    assert m["freshness"] == {
        "records_dated": 4, "median_days_since_modified": 50.5, "max_days_since_modified": 366,
        "newest_modified": "2025-01-01", "oldest_modified": "2024-01-31",
        "last_harvest": "2025-01-30T00:00:00+00:00", "last_successful_harvest": "2025-01-30T00:00:00+00:00",
        "harvest_runs": 3, "harvest_success_rate": 0.6667}
    assert m["embargo"] == {"embargoed": 1, "passed_not_open": 1, "passed_not_open_ids": ["c:3"]}
    r = m["reachability"]
    assert (r["declared_open"], r["checked"], r["reachable"], r["unreachable"], r["login_wall"]) == (2, 2, 1, 1, 1)
    assert (r["reachable_share"], r["unreachable_share"]) == (0.5, 0.5)
    assert r["unreachable_ids"] == ["c:2"] and r["last_checked"] == "2025-01-30T11:00:00+00:00"
    assert r["by_status"]["login_wall"] == 1 and r["by_status"]["ok"] == 1


def test_ranking_score_and_rank(m: dict[str, Any]) -> None:
    # 100 × (0.3·0.6 + 0.2·0.5 + 0.2·140/405 + 0.15·0.6 + 0.15·0.4)
    assert m["ranking_score"] == 49.91
    empty = center_metrics([], gated={}, runs=[], links={}, today=TODAY)
    assert empty["ranking_score"] == 0 and empty["open_share"] is None and empty["completeness"]["rating"] is None
    ranked = rank({"b": empty, "a": m, "z": empty})
    assert [(r["rank"], r["center"]) for r in ranked] == [(1, "a"), (2, "b"), (3, "z")]


def test_snapshot_after_each_run(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)])
    cat.harvester.clock = lambda: TODAY
    cat.harvester.harvest()
    first = cat.store.snapshots.history("ncdc", "public_international")
    assert len(first) == 1 and first[0].run_id == cat.store.runs.recent("ncdc")[0].id
    live = sum(1 for r in oai_server.repository.records() if not r.deleted)
    assert first[0].metrics["records"] == live
    assert first[0].metrics["freshness"]["harvest_runs"] == 1
    # one more record at the source, a second run: a second snapshot per audience
    demo = oai_server.repository.records()[0]
    import dataclasses
    from datetime import datetime
    oai_server.repository.upsert(dataclasses.replace(demo, local_id="extra.1", identifier="oai:ncdc:extra.1",
                                                     deleted=False, datestamp=datetime.now(UTC)))
    cat.harvester.harvest()
    hist = cat.store.snapshots.history("ncdc", "public_international")
    assert [h.metrics["records"] for h in hist] == [live, live + 1]
    assert Counter(s.audience for s in (cat.store.snapshots.history("ncdc", a)[0] for a in
                   ("public_international", "public_domestic", "registered", "officer"))) == Counter(
        ["public_international", "public_domestic", "registered", "officer"])



def test_an_unchanged_run_reuses_the_record_figures_and_updates_the_run_figures(
        oai_server: OAIServer, catalog_factory: Any) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)])
    cat.harvester.clock = lambda: TODAY
    cat.harvester.harvest()
    cat.harvester.harvest()  # incremental: nothing new at the source
    runs = cat.store.runs.recent("ncdc")
    assert not any(runs[0].counts.get(k) for k in ("added", "updated", "deleted", "gated"))
    first, second = cat.store.snapshots.history("ncdc", "officer")
    assert second.metrics["basis"] == first.metrics["basis"]
    assert second.metrics["freshness"]["harvest_runs"] == 2 == first.metrics["freshness"]["harvest_runs"] + 1
    assert second.metrics["freshness"]["last_harvest"] == runs[0].finished_at
    fresh = {k: v for k, v in second.metrics.items() if k not in ("freshness", "ranking_score")}
    assert fresh == {k: v for k, v in first.metrics.items() if k not in ("freshness", "ranking_score")}


def test_reachable_share_is_unknown_until_a_link_is_checked() -> None:
    """Before any link check the share is not known (None, shown as –), not a measured 0%."""
    tally = Tally()
    tally.counts["declared_open"] = 10
    assert _reachability(tally)["reachable_share"] is None
    tally.counts["checked"], tally.counts["reachable"] = 10, 7
    assert _reachability(tally)["reachable_share"] == 0.7
