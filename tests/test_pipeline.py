"""Harvest → store → tag → index, end to end against real OAI-PMH servers on loopback."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fedcat.harvester.demo.oai_server import FaultAction, FaultContext, OAIServer
from fedcat.harvester.model import Security
from fedcat.harvester.pipeline import run as pipeline
from fedcat.harvester.pipeline.mapper import MapperProcess
from fedcat.harvester.pipeline.run import map_item
from fedcat.harvester.sources.oaipmh import item_from_raw
from fedcat.harvester.store import RunStatus
from fedcat.index.base import SearchQuery

from .conftest import search_ids, source_for


def live(server: OAIServer) -> list[Any]:
    return [r for r in server.repository.records() if not r.deleted]


def test_full_harvest_stores_and_indexes_every_live_record(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server, metadata_prefix="oai_datacite")])
    (run,) = cat.harvester.harvest()
    expected = {f"ncdc:{r.local_id}" for r in live(oai_server)}
    deleted = {f"ncdc:{r.local_id}" for r in oai_server.repository.records() if r.deleted}
    assert deleted, "the demo repository should contain deleted records"
    assert run.status is RunStatus.SUCCEEDED
    assert run.counts["added"] == len(expected)
    assert run.pages == 3
    assert search_ids(cat) == expected
    assert cat.store.records.counts("ncdc") == {"records": len(expected), "deleted": len(deleted)}
    assert all(cat.store.records.get(i) is None for i in deleted)


def test_second_harvest_changes_nothing(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    before = cat.store.records.counts()
    (again,) = cat.harvester.harvest()
    assert again.status is RunStatus.SUCCEEDED
    assert again.counts["added"] == again.counts["updated"] == again.counts["deleted"] == 0
    assert cat.store.records.counts() == before
    (full,) = cat.harvester.harvest(full=True)
    assert full.counts["added"] == full.counts["updated"] == 0
    assert full.counts["unchanged"] == len(oai_server.repository.records())


def test_incremental_harvest_sends_from_and_picks_up_changes_and_deletions(
        oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    repo = oai_server.repository
    victim, changed = live(oai_server)[:2]
    later = datetime.now(UTC) + timedelta(minutes=1)
    repo.upsert(replace(changed, title_zh="祁连山冰川新标题数据", datestamp=later))
    repo.delete(victim.identifier, when=later)
    seen: list[dict[str, str]] = []

    def spy(ctx: FaultContext) -> FaultAction | None:
        seen.append(ctx.params)
        return None

    oai_server.fault = spy
    (run,) = cat.harvester.harvest()
    listing = [p for p in seen if p.get("verb") == "ListRecords"]
    assert listing and "from" in listing[0], "an incremental run must send from="
    assert run.counts["updated"] == 1 and run.counts["deleted"] == 1
    assert f"ncdc:{changed.local_id}" in search_ids(cat, "祁连山冰川新标题")
    assert f"ncdc:{victim.local_id}" not in search_ids(cat)
    assert cat.store.records.get(f"ncdc:{victim.local_id}") is None


def test_raw_payload_is_kept_and_remapped_without_harvesting(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server, metadata_prefix="oai_datacite")])
    cat.harvester.harvest()
    rec_id = f"ncdc:{live(oai_server)[0].local_id}"
    stored = cat.store.records.get(rec_id)
    raw = cat.store.records.raw(rec_id)
    assert stored is not None and raw is not None and raw.format == "oai_datacite"
    again = map_item(item_from_raw(raw.body, raw.format), cat.config.sources[0], None,
                     cat.harvester.tagger_for(cat.config.sources[0]))
    assert again.compute_hash() == stored.content_hash
    requests_before = oai_server.request_count
    cat.config.sources[0].policy.security = Security.SENSITIVE  # a changed policy: remap applies it
    report = cat.harvester.maintenance.remap("ncdc")
    assert oai_server.request_count == requests_before, "remap must not touch the source"
    assert report.counts["updated"] == len(live(oai_server))
    assert {h.doc["security"] for h in cat.index.search(SearchQuery(size=100)).hits} == {"sensitive"}


def test_datacite_and_dc_crosswalks_normalise_identifiers_and_licences(
        oai_server: OAIServer, catalog_factory: Any) -> None:
    demo = live(oai_server)[0]
    for prefix in ("oai_dc", "oai_datacite"):
        cat = catalog_factory([source_for(oai_server, source_id=prefix.replace("_", "-"), metadata_prefix=prefix)])
        cat.harvester.harvest()
        rec = cat.store.records.get(f"{prefix.replace('_', '-')}:{demo.local_id}")
        assert rec is not None, prefix
        assert rec.identifiers.doi == demo.doi.lower()
        assert rec.identifiers.cstr == demo.cstr
        assert {(t.value, t.lang) for t in rec.titles} >= {(demo.title_zh, "zh"), (demo.title_en, "en")}
        assert rec.year == demo.year
        assert rec.landing_page and rec.landing_page.endswith(demo.landing_url)
        if demo.license_url:
            assert rec.licence.normalised and rec.licence.normalised.startswith("CC")
        assert rec.citation and "[DS/OL]" in rec.citation and demo.doi.lower() in rec.citation
        assert rec.provenance is not None and rec.provenance.metadata_prefix == prefix
        assert rec.access.evidence, "every tag carries evidence"


def test_a_record_without_title_is_isolated_and_the_page_kept(oai_server: OAIServer, catalog_factory: Any) -> None:
    bad = live(oai_server)[5]
    oai_server.repository.upsert(replace(bad, title_zh="", title_en=""))
    cat = catalog_factory([source_for(oai_server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.PARTIAL
    assert run.counts["errored"] == 1
    assert run.counts["added"] == len(live(oai_server)) - 1
    assert run.errors[0].local_id == bad.local_id and "title" in run.errors[0].message


def test_503_with_retry_after_is_retried(oai_server: OAIServer, catalog_factory: Any) -> None:
    def flaky(ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") == "ListRecords" and ctx.request_number % 2 == 0:
            return FaultAction(status=503, headers={"Retry-After": "0"}, body=b"busy")
        return None

    oai_server.fault = flaky
    cat = catalog_factory([source_for(oai_server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    assert run.retries["http_503"] >= 1
    assert len(search_ids(cat)) == len(live(oai_server))


def test_a_dead_source_fails_alone(oai_server: OAIServer, catalog_factory: Any) -> None:
    dead = {"id": "dead", "name": "离线中心", "url": "http://127.0.0.1:9/oai"}
    cat = catalog_factory([source_for(oai_server), dead])
    reports = {r.source_id: r for r in cat.harvester.harvest()}
    assert reports["dead"].status is RunStatus.FAILED
    assert reports["dead"].message and "127.0.0.1:9" in reports["dead"].message
    assert reports["ncdc"].status is RunStatus.SUCCEEDED


def test_failed_run_resumes_from_its_checkpoint(oai_server: OAIServer, catalog_factory: Any) -> None:
    calls: list[dict[str, str]] = []

    def die_on_third_page(ctx: FaultContext) -> FaultAction | None:
        calls.append(ctx.params)
        if "resumptionToken" in ctx.params and sum("resumptionToken" in c for c in calls) == 2:
            return FaultAction(drop=True)
        return None

    oai_server.fault = die_on_third_page
    cat = catalog_factory([source_for(oai_server)], http={"max_retries": 0})
    (failed,) = cat.harvester.harvest()
    assert failed.status is RunStatus.FAILED
    assert failed.pages == 2
    checkpoint = cat.store.runs.checkpoint("ncdc")
    assert checkpoint is not None and checkpoint[1]["token"]
    calls.clear()
    oai_server.fault = lambda ctx: calls.append(ctx.params) or None  # type: ignore[func-returns-value]
    (resumed,) = cat.harvester.harvest()
    assert resumed.status is RunStatus.SUCCEEDED
    listing = [c for c in calls if c.get("verb") == "ListRecords"]
    assert listing[0].get("resumptionToken") == checkpoint[1]["token"], "resume must not restart from page 1"
    assert cat.store.runs.checkpoint("ncdc") is None
    assert search_ids(cat) == {f"ncdc:{r.local_id}" for r in live(oai_server)}


def test_reindex_rebuilds_the_index_from_the_store(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    expected = search_ids(cat)
    cat.index.clear()
    assert search_ids(cat) == set()
    assert cat.harvester.feeder.rebuild() == len(expected)
    assert search_ids(cat) == expected


@pytest.mark.parametrize("map_process", [False, True], ids=["mapped here", "mapped in a child process"])
def test_unchanged_payloads_are_not_mapped_again_until_the_rules_change(
        oai_server: OAIServer, catalog_factory: Any, monkeypatch: pytest.MonkeyPatch, map_process: bool) -> None:
    cat = catalog_factory([source_for(oai_server)], map_process=map_process)
    cat.harvester.harvest()
    mapped: list[str] = []
    if map_process:
        real_submit = MapperProcess.submit

        def spy_submit(self: MapperProcess, source: Any, run_id: Any, tagger_id: int, overrides: Any, day: Any,
                       items: list[Any]) -> Any:  # the real method, its items counted
            mapped.extend(item.local_id for item in items)
            return real_submit(self, source, run_id, tagger_id, overrides, day, items)

        monkeypatch.setattr(MapperProcess, "submit", spy_submit)
    else:
        real = pipeline.map_item

        def spy(item: Any, *args: Any) -> Any:  # the real function, counted
            mapped.append(item.local_id)
            return real(item, *args)

        monkeypatch.setattr(pipeline, "map_item", spy)
    victim = live(oai_server)[3]
    oai_server.repository.upsert(dataclasses.replace(victim, title_zh="祁连山冰川编目（修订）"))
    (run,) = cat.harvester.harvest(full=True)
    deleted = {r.local_id for r in oai_server.repository.records() if r.deleted}
    assert [m for m in mapped if m not in deleted] == [victim.local_id]  # only the changed payload
    assert run.counts["updated"] == 1
    assert run.counts["unchanged"] == len(oai_server.repository.records()) - 1  # tombstones too
    assert cat.store.records.live_ids_not_seen("ncdc", run.id) == []  # skipped records still count as seen

    mapped.clear()
    cat.config.sources[0].policy.security = Security.SENSITIVE  # new rules: every record is mapped again
    (run,) = cat.harvester.harvest(full=True)
    assert len([m for m in mapped if m not in deleted]) == len(live(oai_server))
    assert run.counts["updated"] == len(live(oai_server))


def test_record_to_dict_is_asdict_and_shares_no_list() -> None:
    from fedcat.harvester.model import (
        Access,
        Evidence,
        Identifiers,
        LangText,
        Licence,
        Openness,
        Provenance,
        Record,
        Statement,
    )

    rec = Record(
        id="s:1", source_id="s", local_id="1", titles=[LangText("冰川", "zh")], descriptions=[LangText("d")],
        creators=["王"], subjects=["冰川"], identifiers=Identifiers(doi="10.1/x", accession=["A"], urls=["u"],
                                                                   other=["o"]),
        licence=Licence("CC-BY-4.0"), rights=["r"], statements=[Statement("dc:rights", "v", "openness:open")],
        access=Access(openness=Openness.OPEN, flags=["f"], conflicts=["c"],
                      evidence=[Evidence("openness", "open", "rule", "f", "v", "rule")]),
        formats=["csv"], sets=["s1"], provenance=Provenance("s", "oaipmh", "http://x", run_id=1),
    )
    data = rec.to_dict()
    assert data == dataclasses.asdict(rec)
    data["access"]["flags"].append("x")
    data["identifiers"]["urls"].append("x")
    data["subjects"].append("x")
    assert rec.access.flags == ["f"] and rec.identifiers.urls == ["u"] and rec.subjects == ["冰川"]
    assert Record.from_json(rec.to_json()) == rec


def test_streaming_a_source_reads_each_batch_through_an_index(oai_server: OAIServer, catalog_factory: Any) -> None:
    """Keyset paging must not sort the whole source per batch (metrics snapshots, --remap, reindex)."""
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    db = cat.store.connection.db
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        records = list(cat.store.records.iter_records("ncdc", batch=50))
        raws = list(cat.store.records.iter_raw("ncdc", batch=50))
        everything = list(cat.store.records.iter_records(batch=50))
    finally:
        db.set_trace_callback(None)
    assert len(records) == len(raws) == len(everything) == len(live(oai_server)) > 100
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) >= 3 * 3
    for sql in selects:
        plan = " | ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "TEMP B-TREE" not in plan and "SCAN r" not in plan, (sql, plan)


def test_due_embargoes_are_found_through_an_index(oai_server: OAIServer, catalog_factory: Any) -> None:
    """Lifting embargoes runs after every harvest: it must not read every record."""
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    db = cat.store.connection.db
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        due = cat.store.records.embargo_due("2999-12-31")
    finally:
        db.set_trace_callback(None)
    embargoed = [r for r in cat.store.records.iter_records() if r.access.openness.value == "embargoed"]
    assert embargoed and {r.id for r in due} == {r.id for r in embargoed if r.access.embargo_until}
    (sql,) = [s for s in statements if "embargo" in s]
    plan = " | ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
    assert "USING INDEX records_embargo" in plan, plan


def test_an_unchanged_re_harvest_never_scans_the_records_table(oai_server: OAIServer,
                                                               catalog_factory: Any) -> None:
    """Whatever a harvest reads per run (prior rows, embargoes) goes through an index; the metrics
    basis reads no record at all."""
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    db = cat.store.connection.db
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        (run,) = cat.harvester.harvest()
    finally:
        db.set_trace_callback(None)
    assert run.counts["unchanged"] > 0 and run.counts["added"] == run.counts["updated"] == 0
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "records" in s]
    assert reads
    for sql in reads:
        plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]
        # the scans allowed walk the partial indexes of records still waiting for the index (or a rebuild)
        scans = [step for step in plan if step.startswith("SCAN records")
                 and "records_pending_id" not in step and "records_rebuilding_id" not in step]
        assert not scans and not any("TEMP B-TREE" in step for step in plan), (sql, plan)
    # the metrics basis is the source's change counter: one row, no records read
    assert any("source_versions" in s for s in statements)
    assert not [s for s in statements if "SELECT" in s.upper() and "COUNT(" in s.upper() and "records" in s]


@pytest.mark.parametrize(("overlap_days", "back"), [(None, timedelta(days=1)), (0, timedelta(0)),
                                                    (0.25, timedelta(hours=6))])
def test_incremental_from_is_the_newest_datestamp_minus_the_overlap(
        overlap_days: float | None, back: timedelta, oai_server: OAIServer, catalog_factory: Any) -> None:
    extra = {} if overlap_days is None else {"overlap_days": overlap_days}
    cat = catalog_factory([source_for(oai_server, **extra)])
    cat.harvester.harvest()
    stamp = cat.store.runs.last_successful_datestamp("ncdc")
    assert stamp
    seen: list[dict[str, str]] = []

    def spy(ctx: FaultContext) -> FaultAction | None:
        seen.append(ctx.params)
        return None

    oai_server.fault = spy
    cat.harvester.harvest()
    (sent,) = [p["from"] for p in seen if p.get("verb") == "ListRecords" and "from" in p]
    newest = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert datetime.fromisoformat(sent.replace("Z", "+00:00")) == newest - back


def test_a_negative_overlap_is_a_config_error(tmp_path: Any, oai_server: OAIServer) -> None:
    from fedcat.harvester.errors import ConfigError

    from .conftest import make_config

    with pytest.raises(ConfigError, match="overlap_days"):
        make_config(tmp_path, [source_for(oai_server, overlap_days=-1)])


def test_sources_harvested_at_once_take_turns_page_by_page(oai_server: OAIServer, catalog_factory: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Mapping in this process, one page is processed at a time across sources (the work holds the
    interpreter's lock anyway); the fetching of every source still goes on meanwhile."""
    import threading
    import time

    inside, most, lock = [0], [0], threading.Lock()
    finish = pipeline.Harvester._finish_page

    def counted(self: Any, *args: Any) -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.02)  # lets the other threads run: without turns, another source's page would start here
        try:
            finish(self, *args)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(pipeline.Harvester, "_finish_page", counted)
    cat = catalog_factory([source_for(oai_server, f"s{i}") for i in range(3)], workers=3)
    runs = cat.harvester.harvest()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 3 and all(r.pages == 3 for r in runs)
    assert most[0] == 1


def test_a_run_logs_the_cpu_seconds_of_each_stage(oai_server: OAIServer, catalog_factory: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The event that ends a run carries the CPU seconds of mapping, storing, indexing and the metrics
    snapshot (the JSON log writes them as ``cpu_s``; bench/harvest.py reports them per record)."""
    import json
    import logging

    from fedcat.api.logs import JsonFormatter

    cat = catalog_factory([source_for(oai_server)])
    with caplog.at_level(logging.INFO, logger="fedcat.harvester.pipeline.run"):
        (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    (event,) = [r for r in caplog.records if hasattr(r, "cpu_s")]
    cpu = event.cpu_s
    assert set(cpu) == {"map", "store", "index", "metrics"}
    assert all(cpu[stage] > 0 for stage in ("map", "store", "index")), cpu
    line = json.loads(JsonFormatter().format(event))
    assert line["cpu_s"] == cpu and line["source_id"] == run.source_id
    assert "CPU per stage: map" in line["message"]


def test_the_cpu_seconds_of_each_stage_are_kept_in_the_run_report(oai_server: OAIServer,
                                                                    catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server)])
    (run,) = cat.harvester.harvest()
    (stored,) = cat.store.runs.recent(run.source_id, limit=1)
    assert stored.cpu_s == run.cpu_s and set(stored.cpu_s) == {"map", "store", "index", "metrics"}
    assert stored.cpu_s["map"] > 0 and stored.to_dict()["cpu_s"] == stored.cpu_s


def test_a_rebuild_publishes_as_gone_every_dataset_it_no_longer_walks(oai_server: OAIServer, catalog_factory: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Datasets published before and absent from the store now become deleted items, read a page of keys at
    a time (pages of two here), before, between and after the live ones; the live ones stay."""
    from fedcat.harvester.pipeline import feeder
    from fedcat.harvester.store.published import PublicView

    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    published = cat.store.published
    live = published.live_keys()
    assert len(live) > 4
    stale = ["!first", sorted(live)[1] + "~between", "~last", "~last2", "~last3"]
    published.apply([PublicView(k, ("s:gone",), ("center:gone",), "x") for k in stale])
    assert set(stale) <= set(published.live_keys())
    monkeypatch.setattr(feeder, "PUBLISH_BATCH", 2)
    cat.harvester.feeder.rebuild()
    assert sorted(published.live_keys()) == sorted(live)
    assert published.live_keys_after("", 3) == sorted(live)[:3]
