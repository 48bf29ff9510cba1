"""The record store's contract, run on both backends (SQLite and PostgreSQL): every repository, through
the store's own API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fedcat.harvester.config_schema import Audience
from fedcat.harvester.errors import LeaseLost, OverrideError, StoreError
from fedcat.harvester.model import Openness, Record, Security
from fedcat.harvester.store import Outcome, RecordError, RecordStore, RunReport, RunStatus
from fedcat.harvester.store.link_results import LinkKind, LinkResult, LinkStatus
from fedcat.harvester.store.migrations import SCHEMA_VERSION

from .store_helpers import item, open_store, rec, reopen, started

BINARY = bytes(range(256)) + b"\x00<oai>\xff\xfe</oai>"


def test_records_and_raw_payloads_round_trip(any_store: RecordStore) -> None:
    s = any_store
    run = started(s)
    out = s.store_page(run, [item(rec("lab", "b"), BINARY), item(rec("lab", "a"), b"<a/>")], checkpoint=None)
    assert [o for _, o in out] == [Outcome.ADDED, Outcome.ADDED]
    assert run.pages == 1 and run.counts["added"] == 2
    got = s.records.get("lab:b")
    assert got is not None and got.titles[0].value == "Glacier mass balance" and got.content_hash
    raw = s.records.raw("lab:b")
    assert raw is not None and raw.body == BINARY and raw.format == "oai_dc"
    assert [i for i, _ in s.records.iter_raw("lab", batch=1)] == ["lab:a", "lab:b"]
    assert [r.id for r in s.records.iter_records(batch=1)] == ["lab:a", "lab:b"]
    assert [r.id for r in s.records.iter_records("other")] == []
    again = s.store_page(run, [item(rec("lab", "a"), b"<a/>"), item(rec("lab", "b", "New title"), b"<b2/>")],
                         checkpoint=None)
    assert [o for _, o in again] == [Outcome.UNCHANGED, Outcome.UPDATED]
    assert s.records.raw("lab:b") == type(raw)("oai_dc", b"<b2/>")
    assert s.records.counts() == {"records": 2, "deleted": 0} == s.records.counts("lab")
    stats = s.records.source_stats()
    assert stats == {"lab": {"records": 2, "deleted": 0, "newest_datestamp": "2024-01-01"}}
    assert s.records.source_of("lab:a") == "lab" and s.records.source_of("lab:zz") is None
    assert s.records.get("lab:zz") is None and s.records.raw("lab:zz") is None


def test_unicode_and_quotes_survive(any_store: RecordStore) -> None:
    s = any_store
    title = "冰川 '100%' ?;\" \\ 物质平衡"
    s.store_page(started(s), [item(rec("lab", "q'1?", title), b"x")], checkpoint=None)
    got = s.records.get("lab:q'1?")
    assert got is not None and got.titles[0].value == title


def test_tombstones(any_store: RecordStore) -> None:
    s = any_store
    run = started(s)
    s.store_page(run, [item(rec("lab", str(i)), b"<x/>") for i in range(3)], checkpoint=None)
    out = s.store_page(run, [item(rec("lab", "0", deleted=True)), item(rec("lab", "new", deleted=True))],
                       checkpoint=None)
    assert [o for _, o in out] == [Outcome.DELETED, Outcome.DELETED]
    assert s.records.get("lab:0") is None and s.records.raw("lab:0") is None
    out = s.store_page(run, [item(rec("lab", "0", deleted=True))], checkpoint=None)
    assert [o for _, o in out] == [Outcome.UNCHANGED]
    s.records.tombstone(["lab:1"])
    assert s.records.counts() == {"records": 1, "deleted": 3}
    assert s.records.live_ids_not_seen("lab", run.id or 0) == []
    later = started(s)
    s.store_page(later, [], checkpoint=None, seen=[])
    assert s.records.live_ids_not_seen("lab", later.id or 0) == ["lab:2"]
    s.store_page(later, [], checkpoint=None, seen=["lab:2"])
    assert s.records.live_ids_not_seen("lab", later.id or 0) == []


def test_unchanged_inputs_are_recognised(any_store: RecordStore) -> None:
    s = any_store
    s.store_page(started(s), [item(rec("lab", "a"), b"<a/>", input_key="k1"), item(rec("lab", "b"), b"<b/>")],
                 checkpoint=None)
    assert s.records.unchanged({"lab:a": "k1", "lab:b": "k1", "lab:c": "k1"}) == {"lab:a"}
    assert s.records.unchanged({"lab:a": "k2"}) == set()
    assert s.records.unchanged({}) == set()


def test_gated_records_keep_only_their_level(any_store: RecordStore) -> None:
    s = any_store
    run = started(s)
    s.store_page(run, [item(rec("lab", "a"), b"<a/>")], checkpoint=None)
    out = s.store_page(run, [item(rec("lab", "a", security=Security.CORE), b"<a/>"),
                             item(rec("lab", "b", security=Security.SECRET), b"<b/>")], checkpoint=None)
    assert [o for _, o in out] == [Outcome.GATED, Outcome.GATED]
    assert s.records.get("lab:a") is None and s.records.raw("lab:a") is None
    assert s.records.gated_level("lab:a") == ("lab", "core")
    assert s.records.gated_counts() == {"lab": {"core": 1, "secret": 1}}
    assert s.records.source_of("lab:b") == "lab" and s.records.current_security("lab:b") == "secret"
    out = s.store_page(run, [item(rec("lab", "a"), b"<a/>")], checkpoint=None)  # lowered again
    assert [o for _, o in out] == [Outcome.UPDATED]
    assert s.records.gated_level("lab:a") is None and s.records.current_security("lab:a") == "general"


def test_access_reads(any_store: RecordStore) -> None:
    s = any_store
    s.store_page(started(s), [
        item(rec("lab", "open"), b"x"),
        item(rec("lab", "rev", security=Security.REVIEW), b"x"),
        item(rec("lab", "emb", openness=Openness.EMBARGOED, embargo_until="2024-06-01"), b"x"),
        item(rec("lab", "emb2", openness=Openness.EMBARGOED, embargo_until="2030-01-01"), b"x"),
    ], checkpoint=None)
    seen: list[tuple[Security, object]] = []

    def allows(security: Security, geo: object) -> bool:
        seen.append((security, geo))
        return security is Security.GENERAL

    got = s.records.get_visible("lab:open", allows)
    assert got is not None and got.id == "lab:open"
    assert s.records.get_visible("lab:rev", allows) is None
    assert s.records.get_visible("lab:none", allows) is None
    assert [sec for sec, _ in seen] == [Security.GENERAL, Security.REVIEW, Security.UNKNOWN]
    assert [r.id for r in s.records.awaiting_review()] == ["lab:rev"]
    assert [r.id for r in s.records.awaiting_review("lab")] == ["lab:rev"]
    assert s.records.awaiting_review("other") == []
    assert [r.id for r in s.records.embargo_due("2025-01-01")] == ["lab:emb"]
    # the sitemap's walk: the visible ids in id order, by the access tags alone, a batch at a time
    assert list(s.records.visible_ids(allows, batch=1)) == ["lab:emb", "lab:emb2", "lab:open"]
    s.records.tombstone(["lab:emb2"])
    assert list(s.records.visible_ids(allows, batch=2)) == ["lab:emb", "lab:open"]


def test_checkpoints_and_run_reports(any_store: RecordStore) -> None:
    s = any_store
    run = started(s, full=True)
    assert run.id is not None and run.status is RunStatus.RUNNING
    s.store_page(run, [item(rec("lab", "a"), b"x")], checkpoint={"token": "t1", "n": 1})
    assert s.runs.checkpoint("lab") == (run.id, {"token": "t1", "n": 1})
    s.runs.save_checkpoint(run, {"token": None, "complete": True})
    assert s.runs.checkpoint("lab") == (run.id, {"token": None, "complete": True})
    s.runs.finish_run(run, RunStatus.SUCCEEDED, newest_datestamp="2024-01-01", message="done",
                      clear_checkpoint=True)
    assert s.runs.checkpoint("lab") is None
    assert s.runs.last_successful_datestamp("lab") == "2024-01-01"
    (report,) = s.runs.recent("lab")
    assert report.id == run.id and report.status is RunStatus.SUCCEEDED and report.full
    assert report.pages == 1 and report.counts["added"] == 1 and report.message == "done"
    other = started(s, "other")
    s.runs.save_checkpoint(other, {"n": 2})
    s.runs.clear_checkpoint("other")
    assert s.runs.checkpoint("other") is None
    assert [r.source_id for r in s.runs.recent()] == ["other", "lab"] and len(s.runs.recent(limit=1)) == 1


def test_a_dead_process_run_is_interrupted(any_store: RecordStore) -> None:
    s = any_store
    run = started(s)
    with s.connection.transaction() as db:
        db.execute("UPDATE harvest_runs SET pid = ? WHERE id = ?", (2 ** 22 + os.getpid() % 1000 + 7, run.id))
    assert s.runs.mark_interrupted() == 1
    (report,) = s.runs.recent()
    assert report.status is RunStatus.INTERRUPTED and report.finished_at == report.started_at


def test_harvest_leases(any_store: RecordStore) -> None:
    """One holder at a time per source; renewing extends it, an expired one is taken over, a lost one
    cannot be renewed, and a page is written only under a lease still held."""
    s = any_store
    mine = s.leases.acquire("lab", "node-a:1:x", 60)
    assert mine is not None and s.leases.acquire("lab", "node-a:1:x", 60) is not None  # the holder again
    assert s.leases.acquire("lab", "node-b:2:y", 60) is None
    assert s.leases.acquire("other", "node-b:2:y", 60) is not None  # another source is free
    info = s.leases.get("lab")
    assert info is not None and info.holder == "node-a:1:x" and 59 < info.expires_in <= 60 and info.live
    assert s.leases.renew(mine)
    run = s.runs.start_run(RunReport(source_id="lab"), lease=mine)
    assert s.leases.live_runs() == {run.id}
    s.store_page(run, [item(rec("lab", "a"), b"<a/>")], checkpoint={"n": 1}, lease=mine)

    with s.connection.transaction() as db:  # the holder stalls past its expiry: another process takes over
        db.execute("UPDATE leases SET expires_at = expires_at - 61 WHERE source_id = 'lab'")
    assert s.leases.live_runs() == set()
    theirs = s.leases.acquire("lab", "node-b:2:y", 60)
    assert theirs is not None and not s.leases.renew(mine)
    with pytest.raises(LeaseLost, match="lease expired"):
        s.store_page(run, [item(rec("lab", "b"), b"<b/>")], checkpoint={"n": 2}, lease=mine)
    assert s.records.get("lab:b") is None and s.runs.checkpoint("lab") == (run.id, {"n": 1})
    s.leases.release(mine)  # not the holder: nothing happens
    assert s.leases.acquire("lab", "node-a:1:x", 60) is None
    s.leases.release(theirs)
    assert s.leases.get("lab") is None and s.leases.acquire("lab", "node-a:1:x", 60) is not None


def test_a_run_of_another_node_is_live_while_its_lease_is(any_store: RecordStore) -> None:
    s = any_store
    lease = s.leases.acquire("lab", "elsewhere:7:z", 60)
    assert lease is not None
    run = s.runs.start_run(RunReport(source_id="lab"), lease=lease)
    unleased = started(s, "other")
    with s.connection.transaction() as db:  # both runs are of processes on another node
        db.execute("UPDATE harvest_runs SET host = 'elsewhere', pid = 7")
    assert s.runs.mark_interrupted() == 1
    assert {r.source_id: r.status for r in s.runs.recent()} == {"lab": RunStatus.RUNNING,
                                                                 "other": RunStatus.INTERRUPTED}
    assert unleased.id != run.id
    with s.connection.transaction() as db:
        db.execute("UPDATE leases SET expires_at = expires_at - 61")
    assert s.runs.mark_interrupted() == 1 and s.runs.recent("lab")[0].status is RunStatus.INTERRUPTED


def test_record_errors_one_per_record_capped(request: pytest.FixtureRequest, any_store: RecordStore) -> None:
    s = reopen(any_store, error_raw_limit=10)
    try:
        run = started(s)
        big = b"y" * 100
        s.store_page(run, [], checkpoint=None, errors=[(RecordError("bad", "cannot map", "http://x"), big),
                                                       (RecordError("bad", "cannot map", "http://x"), big),
                                                       (RecordError(None, "no id"), None)])
        rows = s.connection.read("SELECT local_id, raw, raw_size, raw_sha256 FROM record_errors ORDER BY id")
        assert [(r["local_id"], bytes(r["raw"]) if r["raw"] is not None else None, r["raw_size"]) for r in rows] \
            == [("bad", b"y" * 10, 100), (None, None, None)]
        assert run.counts["errored"] == 3 and len(run.errors) == 3
        s.store_page(run, [item(rec("lab", "bad"), b"x")], checkpoint=None)
        assert [r["local_id"] for r in s.connection.read("SELECT local_id FROM record_errors")] == [None]
        later = started(s)
        s.store_page(later, [], checkpoint=None, errors=[(RecordError(None, "still no id"), None)])
        assert [r["message"] for r in s.connection.read("SELECT message FROM record_errors")] == ["still no id"]
    finally:
        s.close()


def test_change_counters(any_store: RecordStore) -> None:
    s = any_store
    assert s.source_version("lab") == 0
    run = started(s)
    s.store_page(run, [item(rec("lab", "a"), b"x"), item(rec("lab", "b"), b"x")], checkpoint=None)
    assert s.source_version("lab") == 2
    s.store_page(run, [item(rec("lab", "a"), b"x")], checkpoint=None, seen=["lab:b"])
    assert s.source_version("lab") == 2, "an unchanged re-harvest counts nothing"
    other = reopen(s)
    try:
        other.store_page(started(other), [item(rec("lab", "a", "changed"), b"x")], checkpoint=None)
        assert s.source_version("lab") == 3, "a change through another connection counts too"
    finally:
        other.close()
    s.records.tombstone(["lab:b"])
    assert s.source_version("lab") == 4
    s.store_page(run, [item(rec("lab", "c", security=Security.CORE))], checkpoint=None)
    assert s.source_version("lab") == 5
    s.links.put([LinkResult("lab:a", "lab", LinkKind.LANDING, "http://x", LinkStatus.OK, checked_at="t")])
    assert s.source_version("lab") == 6 and s.source_version("other") == 0


def test_overrides_and_four_eyes(any_store: RecordStore) -> None:
    s = any_store
    o = s.overrides.put("lab:a", "lab", "security", "important", "alice", "sensitive data")
    assert o.id is not None and [x.value for x in s.overrides.for_record("lab:a")] == ["important"]
    again = s.overrides.put("lab:a", "lab", "security", "sensitive", "alice", "checked")
    assert again.id == o.id and [x.value for x in s.overrides.for_source("lab")] == ["sensitive"]
    with pytest.raises(OverrideError):
        s.overrides.put("lab:a", "lab", "security", "nonsense", "alice", "why")
    p = s.overrides.propose("lab:a", "lab", "security", "general", "alice", "public after all")
    s.overrides.propose("lab:b", "lab", "openness", None, "bob", "remove it")
    assert [(x.record_id, x.value) for x in s.overrides.pending()] == [("lab:a", "general"), ("lab:b", None)]
    assert s.overrides.pending("lab:a") == [p]
    confirmed = s.overrides.put("lab:a", "lab", "security", "general", "alice", "public", confirmed_by="carol")
    assert confirmed.confirmed_by == "carol" and s.overrides.pending("lab:a") == []
    assert s.overrides.for_record("lab:a")[0].confirmed_by == "carol"
    assert s.overrides.discard("lab:b", "openness") and not s.overrides.discard("lab:b", "openness")
    assert s.overrides.remove("lab:a", "security") and s.overrides.for_record("lab:a") == []


def test_api_keys(any_store: RecordStore) -> None:
    s = any_store
    key, secret = s.keys.create("lab team", Audience.REGISTERED)
    assert key.id >= 1 and secret.startswith("fck_")
    found = s.keys.verify(secret)
    assert found is not None and found.audience is Audience.REGISTERED
    assert s.keys.verify(secret + "x") is None and s.keys.verify("fck_0000_zz") is None
    assert s.keys.list()[0].last_used_at is not None
    second, _ = s.keys.create("officers", Audience.OFFICER)
    assert second.id > key.id
    assert s.keys.revoke(str(key.id)).revoked_at is not None
    assert s.keys.verify(secret) is None
    with pytest.raises(StoreError):
        s.keys.revoke("lab team")
    assert [k.name for k in s.keys.list()] == ["lab team", "officers"]


def test_audit_log(any_store: RecordStore) -> None:
    s = any_store
    s.audit.add("alice", Audience.OFFICER, "read", ["lab:a"], "review queue")
    s.audit.add("bob", Audience.OFFICER, "override", ["lab:a", "lab:b"])
    entries = s.audit.entries()
    assert [(e.actor, e.record_ids) for e in entries] == [("bob", ["lab:a", "lab:b"]), ("alice", ["lab:a"])]
    assert len(s.audit.entries(limit=1)) == 1


def test_link_checks_and_snapshots(any_store: RecordStore) -> None:
    s = any_store
    ok = LinkResult("lab:a", "lab", LinkKind.LANDING, "http://a", LinkStatus.OK, 200, "http://a/", "HEAD", None, 12,
                    "t1")
    wall = LinkResult("lab:a", "lab", LinkKind.ACCESS, "http://b", LinkStatus.LOGIN_WALL, 403, checked_at="t1")
    s.links.replace("lab", [ok, wall])
    s.links.put([LinkResult("x:1", "x", LinkKind.LANDING, "http://c", LinkStatus.TIMEOUT, checked_at="t1")])
    assert s.links.for_record("lab:a") == [wall, ok]
    assert set(s.links.for_source()) == {"lab:a", "x:1"}
    s.links.replace("lab", [ok])
    assert s.links.for_source("lab") == {"lab:a": {LinkKind.LANDING: ok}}
    s.links.replace(None, [])
    assert s.links.for_source() == {}
    at = s.snapshots.add("lab", 1, {"public_international": {"open": 0.5}, "officer": {"open": 0.75}})
    s.snapshots.add("lab", 1, {"public_international": {"open": 0.6}}, replace=True)
    s.snapshots.add("lab", None, {"public_international": {"open": 0.7}})
    s.snapshots.add("lab", None, {"public_international": {"open": 0.8}}, replace=True)
    hist = s.snapshots.history("lab", "public_international")
    assert [h.metrics["open"] for h in hist] == [0.6, 0.8] and [h.run_id for h in hist] == [1, None]
    assert s.snapshots.history("lab", "officer") == [] and at


def test_index_pending_marks_and_rebuild_marks(any_store: RecordStore) -> None:
    s = any_store
    run = started(s)
    s.store_page(run, [item(rec("lab", str(i)), b"x") for i in range(3)], checkpoint=None)
    assert [i for i, r in s.indexing.pending(batch=2)] == ["lab:0", "lab:1"]
    assert s.indexing.index_counts() == (3, 3) and s.indexing.pending_count("lab") == 3
    assert s.indexing.waiting_for_index() and s.indexing.pending_count("other") == 0
    s.indexing.mark_indexed(["lab:0", "lab:1", "lab:2"])
    assert s.indexing.pending() == [] and not s.indexing.waiting_for_index()
    s.records.tombstone(["lab:2"])
    assert s.indexing.pending() == [("lab:2", None)]
    assert s.indexing.mark_all_pending() == 2 and s.indexing.index_counts() == (2, 3)
    s.indexing.start_rebuild()
    assert s.indexing.pending() == []
    s.store_page(run, [item(rec("lab", "0", "changed during the rebuild"), b"x")], checkpoint=None)
    assert s.indexing.abandoned_rebuild() == 2 and s.indexing.abandoned_rebuild() == 0
    s.indexing.start_rebuild()
    s.store_page(run, [item(rec("lab", "1", "changed during the rebuild"), b"x")], checkpoint=None)
    s.indexing.mark_all_indexed()
    assert [i for i, _ in s.indexing.pending()] == ["lab:1"]


def test_duplicate_groups(any_store: RecordStore) -> None:
    s = any_store
    doi = "10.1234/Glacier"
    run = started(s)
    s.store_page(run, [item(rec("tpdc", "g", doi=doi), b"x"), item(rec("sdb", "1", doi=doi), b"x"),
                       item(rec("sdb", "solo"), b"x")], checkpoint=None)
    key = "doi:10.1234/glacier"
    (group,) = s.indexing.groups([key])
    assert [m.id for m in group.members] == ["sdb:1", "tpdc:g"]
    assert [r.id for r in s.records.same_dataset("tpdc:g")] == ["sdb:1"]
    assert s.indexing.group_keys_of(["tpdc:g"]) == {"tpdc:g": {key}}
    assert [(g.key, len(g.members)) for g in s.indexing.iter_groups(batch=1)] == [(key, 2), ("id:sdb:solo", 1)]
    known = {"tpdc:g": rec("tpdc", "g", "known copy", doi=doi)}
    assert [m.titles[0].value for m in s.indexing.groups([key], known)[0].members] == [
        "Glacier mass balance", "known copy"]
    # one source giving the DOI to a second record: a collection, not a dataset; no longer grouped
    s.store_page(run, [item(rec("sdb", "2", doi=doi), b"x")], checkpoint=None)
    assert [m.id for m in s.indexing.groups([key])[0].members] == ["tpdc:g"]
    assert s.indexing.group_keys_of(["sdb:1"]) == {"sdb:1": {"id:sdb:1"}}
    s.indexing.mark_indexed(["sdb:1"])
    assert s.indexing.group_keys_of(["sdb:1"]) == {"sdb:1": {"id:sdb:1"}}


def pids(source: str, local: str, *, doi: str | None = None, cstr: str | None = None) -> Record:
    r = rec(source, local, doi=doi)
    r.identifiers.cstr = cstr
    return r


def group_keys(s: RecordStore) -> dict[str, str]:
    return {r["id"]: r["group_key"] for r in s.connection.read("SELECT id, group_key FROM records WHERE deleted = 0")}


def test_records_sharing_any_identifier_are_one_group(any_store: RecordStore) -> None:
    s = any_store
    run = started(s)
    # a center's record with only a CSTR, an aggregator's copy with a DOI and the same CSTR
    s.store_page(run, [item(pids("ncdc", "g", cstr="CSTR:31253.11.G")),
                       item(pids("sdb", "1", doi="10.1/Lake", cstr="31253.11.g"))], checkpoint=None)
    assert group_keys(s) == {"ncdc:g": "doi:10.1/lake", "sdb:1": "doi:10.1/lake"}
    assert [r.id for r in s.records.same_dataset("ncdc:g")] == ["sdb:1"]
    # two groups, then a record holding one's CSTR and the other's DOI: one group, every member re-keyed
    s.store_page(run, [item(pids("tpdc", "x", cstr="CSTR:1.x")), item(pids("dc", "y", doi="10.2/y"))],
                 checkpoint=None)
    s.indexing.mark_indexed(list(group_keys(s)))
    s.store_page(run, [item(pids("sdb", "bridge", doi="10.2/Y", cstr="1.X"))], checkpoint=None)
    assert {i: k for i, k in group_keys(s).items() if i in ("tpdc:x", "dc:y", "sdb:bridge")} == {
        "tpdc:x": "doi:10.2/y", "dc:y": "doi:10.2/y", "sdb:bridge": "doi:10.2/y"}
    (group,) = s.indexing.groups(["doi:10.2/y"])
    assert [m.id for m in group.members] == ["dc:y", "sdb:bridge", "tpdc:x"]
    # the index entry of the CSTR's group is stale: the change names it, with the record re-keyed
    assert s.indexing.group_keys_of(["sdb:bridge"]) == {"sdb:bridge": {"doi:10.2/y"},
                                                        "tpdc:x": {"doi:10.2/y", "cstr:1.x"}}
    assert [i for i, _ in s.indexing.pending()] == ["sdb:bridge", "tpdc:x"]
    s.indexing.mark_indexed(["sdb:bridge", "tpdc:x"])
    # the bridge loses its CSTR: the groups split again; then it is deleted
    s.store_page(run, [item(pids("sdb", "bridge", doi="10.2/Y"))], checkpoint=None)
    assert group_keys(s)["tpdc:x"] == "cstr:1.x" and group_keys(s)["dc:y"] == "doi:10.2/y"
    assert s.indexing.group_keys_of(["sdb:bridge"])["tpdc:x"] == {"doi:10.2/y", "cstr:1.x"}
    s.store_page(run, [item(pids("sdb", "bridge", doi="10.2/Y", cstr="1.X"))], checkpoint=None)
    assert group_keys(s)["tpdc:x"] == "doi:10.2/y"
    s.indexing.mark_indexed(["sdb:bridge", "tpdc:x"])
    s.records.tombstone(["sdb:bridge"])
    assert {i: k for i, k in group_keys(s).items() if i in ("tpdc:x", "dc:y")} == {"tpdc:x": "cstr:1.x",
                                                                                  "dc:y": "doi:10.2/y"}
    assert s.indexing.group_keys_of(["sdb:bridge"]) == {"sdb:bridge": {"doi:10.2/y"},
                                                        "tpdc:x": {"doi:10.2/y", "cstr:1.x"}}
    assert [(g.key, [m.id for m in g.members]) for g in s.indexing.iter_groups()] == [
        ("cstr:1.x", ["tpdc:x"]), ("doi:10.1/lake", ["ncdc:g", "sdb:1"]), ("doi:10.2/y", ["dc:y"])]


def test_retag_stores_new_tags(any_store: RecordStore) -> None:
    s = any_store
    s.store_page(started(s), [item(rec("lab", "a"), b"x")], checkpoint=None)
    r = s.records.get("lab:a")
    assert r is not None
    r.access.security = Security.SENSITIVE
    assert [o for _, o in s.records.retag([r])] == [Outcome.UPDATED]
    assert s.records.current_security("lab:a") == "sensitive"
    assert s.records.raw("lab:a") is not None, "new tags keep the payload"


def test_retag_never_writes_back_content_a_harvest_replaced(any_store: RecordStore) -> None:
    """Tags computed on a record read before a harvest rewrote it are not written over the harvest's
    newer content (nor over its tombstone): the record is named for the caller to read again."""
    s = any_store
    s.store_page(started(s), [item(rec("lab", "a"), b"x"), item(rec("lab", "b"), b"x")], checkpoint=None)
    stale_a, stale_b = s.records.get("lab:a"), s.records.get("lab:b")
    assert stale_a is not None and stale_b is not None
    s.store_page(started(s), [item(rec("lab", "a", "Glacier mass balance, revised"), b"y")], checkpoint=None)
    s.records.tombstone(["lab:b"])
    stale_a.access.security = stale_b.access.security = Security.SENSITIVE
    changed: list[str] = []
    assert s.records.retag([stale_a, stale_b], changed=changed) == []
    assert changed == ["lab:a", "lab:b"]
    now = s.records.get("lab:a")
    assert now is not None and now.titles[0].value == "Glacier mass balance, revised"
    assert s.records.current_security("lab:a") != "sensitive" and s.records.get("lab:b") is None


def test_identity_and_schema_version(request: pytest.FixtureRequest, any_store: RecordStore) -> None:
    s = any_store
    assert s.backend == request.node.callspec.params["any_store"]
    assert len(s.store_id) == 32 and s.schema_versions == (0, SCHEMA_VERSION)
    other = reopen(s)
    try:
        assert other.store_id == s.store_id and other.schema_versions == (SCHEMA_VERSION, SCHEMA_VERSION)
        assert other.backend == s.backend and other.location == s.location
    finally:
        other.close()


def test_a_failed_page_leaves_nothing(any_store: RecordStore) -> None:
    s = any_store
    run = started(s)
    bad = rec("lab", "b")
    bad.titles = None  # type: ignore[assignment]  # cannot be serialised: the page fails half-way
    with pytest.raises((StoreError, TypeError, AttributeError)):
        s.store_page(run, [item(rec("lab", "a"), b"x"), item(bad, b"x")], checkpoint={"n": 1})
    assert s.records.get("lab:a") is None and s.runs.checkpoint("lab") is None
    assert s.source_version("lab") == 0


def test_postgresql_connects_again_after_the_server_dropped_it(request: pytest.FixtureRequest,
                                                               tmp_path: Path) -> None:
    s = open_store(request, "postgresql", tmp_path)
    try:
        s.store_page(started(s), [item(rec("lab", "a"), b"x")], checkpoint=None)
        pid = s.connection.read("SELECT pg_backend_pid() AS pid")[0]["pid"]
        other = reopen(s)
        other.connection.read("SELECT pg_terminate_backend(?)", (pid,))
        other.close()
        with pytest.raises(StoreError):
            s.connection.read("SELECT 1")
        assert s.records.counts() == {"records": 1, "deleted": 0}
        s.store_page(started(s), [item(rec("lab", "b"), b"x")], checkpoint=None)
        assert s.records.counts() == {"records": 2, "deleted": 0}
    finally:
        s.close()


def test_an_unreachable_postgresql_is_a_store_error() -> None:
    from .pg_server import free_port

    with pytest.raises(StoreError, match=r"cannot connect to the record store at postgresql://127\.0\.0\.1:\d+/x"):
        RecordStore(url=f"postgresql://nobody@127.0.0.1:{free_port()}/x?connect_timeout=2")


def test_published_views(any_store: RecordStore) -> None:
    """A view's datestamp moves only when the view changes; a dataset that leaves the public is kept as
    deleted; one never shown is never recorded; lists page by (datestamp, key) and filter by set."""
    from fedcat.harvester.store.published import PublicView

    p = any_store.published
    assert p.apply([PublicView("doi:b", ("lab:b",), ("center:lab", "openness:open"), "h1"),
                    PublicView("doi:a", ("lab:a",), ("center:lab",), "h2"),
                    PublicView("doi:never")], now="2026-01-01T00:00:00Z") == 2
    assert p.apply([PublicView("doi:b", ("lab:b",), ("center:lab", "openness:open"), "h1")],
                   now="2026-01-02T00:00:00Z") == 0  # unchanged: keeps its datestamp
    assert p.apply([PublicView("doi:a", ("lab:a", "other:a"), ("center:lab", "center:other"), "h3")],
                   now="2026-01-03T00:00:00Z") == 1
    assert p.apply([PublicView("doi:b")], now="2026-01-04T00:00:00Z") == 1  # gone from the public
    assert p.apply([PublicView("doi:b"), PublicView("doi:never")], now="2026-01-05T00:00:00Z") == 0
    assert p.earliest() == "2026-01-03T00:00:00Z" and p.live_keys() == ["doi:a"]
    rows = p.page(None, None, None, None, 10)
    assert [(r.key, r.datestamp, r.deleted) for r in rows] == [
        ("doi:a", "2026-01-03T00:00:00Z", False), ("doi:b", "2026-01-04T00:00:00Z", True)]
    assert rows[0].members == ["lab:a", "other:a"] and rows[0].sets == ["center:lab", "center:other"]
    assert rows[1].sets == ["center:lab", "openness:open"], "a deleted item keeps the sets it was in"
    assert [r.key for r in p.page(None, None, None, ("2026-01-03T00:00:00Z", "doi:a"), 10)] == ["doi:b"]
    assert [r.key for r in p.page(None, None, "center:other", None, 10)] == ["doi:a"]
    assert p.count(None, None, "center") == 2 and p.count(None, None, "cent") == 0
    assert p.count("2026-01-04T00:00:00Z", None, None) == 1 and p.count(None, "2026-01-03T00:00:00Z", None) == 1
    assert p.get("doi:never") is None and p.set_specs() == ["center:lab", "center:other", "openness:open"]


def test_walking_the_groups_reads_a_batch_not_the_rest_of_the_store(tmp_path: Path) -> None:
    """Each batch of the group walk (reindex, rebuild) is one index range from where the last one ended:
    its cost does not grow with the store (SQLite read the whole rest of the table for an OR of keys)."""
    s = RecordStore(tmp_path / "records.sqlite3")
    try:
        for page in range(6):
            s.store_page(started(s), [item(rec("lab", f"{page}.{i:04d}", doi=f"10.1/{page}.{i}"), b"x")
                                      for i in range(1000)], checkpoint=None)
        s.connection.db.execute("ANALYZE")  # the statistics a store that has lived a while has
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        walk = s.indexing.iter_groups(batch=50)
        for _ in range(3000):  # halfway through the store
            next(walk)
        s.connection.db.set_progress_handler(count, 100)  # called every 100 virtual-machine steps
        following = [next(walk) for _ in range(50)]
        s.connection.db.set_progress_handler(None, 0)
        assert len(following) == 50 and steps[0] < 100, steps[0]  # a batch of 50 rows, not the 3,000 left
    finally:
        s.close()


def test_the_catalog_documents_pages_and_count_read_an_index_not_every_row(tmp_path: Path) -> None:
    """At a million datasets a page deep in the DCAT catalog document walked the table row by row to skip
    the rows before it (0.8 s a page); the live datasets in key order are an index of their own."""
    from fedcat.harvester.store.published import PublicView

    s = RecordStore(tmp_path / "records.sqlite3")
    try:
        s.published.apply([PublicView(f"doi:{i:03d}", (f"lab:{i}",), ("center:lab",), str(i)) for i in range(30)]
                          + [PublicView(f"doi:{i:03d}") for i in range(0, 30, 3)])
        assert [r.key for r in s.published.live_page(5, 3)] == ["doi:008", "doi:010", "doi:011"]
        assert s.published.live_count() == 20
        db = s.connection.db
        for sql in ("SELECT key, datestamp, deleted, members_json FROM published WHERE deleted = 0"
                    " ORDER BY key LIMIT 3 OFFSET 5", "SELECT COUNT(*) AS n FROM published WHERE deleted = 0"):
            plan = " ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + sql))
            assert "published_live" in plan, plan
    finally:
        s.close()
