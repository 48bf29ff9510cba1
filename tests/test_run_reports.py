"""Run reports and what a run leaves in the store: unmappable records kept once and capped, counts and
checkpoints written with their page, an interrupted run's end, ``fedcat harvests --long``."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fedcat.api import cli
from fedcat.harvester.demo.corpus import generate_records
from fedcat.harvester.demo.oai_server import FaultAction, FaultContext, OAIRepository, OAIServer
from fedcat.harvester.model import Access, GeoScope, LangText, Openness, Record, Security
from fedcat.harvester.pipeline import run as pipeline
from fedcat.harvester.store import PageItem, RecordError, RecordStore, RunReport, RunStatus
from fedcat.harvester.store import connection as store_connection

from .conftest import center, search_ids, source_for

#: How many bytes of an unmappable record's payload the store keeps by default.
LIMIT = 64 * 1024


class Crash(Exception):
    """Stands for the harvesting process dying at that point."""


def error_rows(db_path: Path, local_id: str | None = None) -> list[sqlite3.Row]:
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    try:
        sql = "SELECT * FROM record_errors" + (" WHERE local_id = ?" if local_id else "") + " ORDER BY id"
        return db.execute(sql, (local_id,) if local_id else ()).fetchall()
    finally:
        db.close()


def run_row(db_path: Path, run_id: int) -> sqlite3.Row:
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    try:
        row: sqlite3.Row = db.execute("SELECT * FROM harvest_runs WHERE id = ?", (run_id,)).fetchone()
        return row
    finally:
        db.close()


def dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def orphan(store: RecordStore, run_id: int) -> None:
    """Make a run that was left 'running' by this process the run of a process that has exited."""
    with store.connection.transaction() as db:
        db.execute("UPDATE harvest_runs SET pid = ? WHERE id = ?", (dead_pid(), run_id))


def record(local_id: str) -> Record:
    return Record(id=f"lab:{local_id}", source_id="lab", local_id=local_id, titles=[LangText(f"冰川 {local_id}", "zh")],
                  access=Access(openness=Openness.OPEN, geo_scope=GeoScope.INTERNATIONAL, security=Security.GENERAL))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    s = RecordStore(tmp_path / "records.sqlite3")
    yield s
    s.close()


# -- 1. record errors: one copy per record, capped, pruned --------------------------------------------


def test_a_record_error_is_kept_once_capped_with_size_and_digest_and_dropped_once_stored(
        store: RecordStore) -> None:
    big = bytes(range(256)) * 1000  # 256,000 bytes
    first = store.runs.start_run(RunReport(source_id="lab"))
    store.store_page(first, [], checkpoint=None, errors=[(RecordError("x", "no title", "http://127.0.0.1/p1"), big)])
    store.runs.finish_run(first, RunStatus.PARTIAL)
    assert first.counts["errored"] == 1 and first.errors == [RecordError("x", "no title", "http://127.0.0.1/p1")]
    changed = b"<record>" + big
    second = store.runs.start_run(RunReport(source_id="lab"))
    store.store_page(second, [], checkpoint=None, errors=[(RecordError("x", "malformed record", None), changed)])
    store.runs.finish_run(second, RunStatus.PARTIAL)

    (row,) = error_rows(store.path, "x")
    assert (row["run_id"], row["message"], row["url"]) == (second.id, "malformed record", None), \
        "replaced, not appended: the newest run's error"
    assert bytes(row["raw"]) == changed[:LIMIT] and len(row["raw"]) == LIMIT == store.runs.error_raw_limit
    assert row["raw_size"] == len(changed) and row["raw_sha256"] == hashlib.sha256(changed).hexdigest()

    # a small payload is kept whole; a record that may be core keeps no bytes at all
    third = store.runs.start_run(RunReport(source_id="lab"))
    store.store_page(third, [], checkpoint=None, errors=[(RecordError("x", "still bad"), b"<small/>"),
                                                         (RecordError("y", "gated"), None)])
    rows = {r["local_id"]: r for r in error_rows(store.path)}
    assert set(rows) == {"x", "y"}
    assert (bytes(rows["x"]["raw"]), rows["x"]["raw_size"]) == (b"<small/>", 8)
    assert rows["y"]["raw"] is None and rows["y"]["raw_size"] is None and rows["y"]["raw_sha256"] is None

    # re-mapping stored payloads says nothing about the source's copy: the error stays
    store.store_page(third, [PageItem(record("x"), None)], checkpoint=None, from_source=False)
    assert [r["local_id"] for r in error_rows(store.path)] == ["x", "y"]
    # the source lists it again and it is stored (mapped, or listed unchanged): its error row goes
    fourth = store.runs.start_run(RunReport(source_id="lab"))
    store.store_page(fourth, [PageItem(record("y"), None)], checkpoint=None, seen=["lab:x"])
    assert error_rows(store.path) == []


def test_records_without_an_identifier_keep_a_row_each_until_the_next_run(store: RecordStore) -> None:
    run = store.runs.start_run(RunReport(source_id="lab"))
    errors = [(RecordError("unknown", "malformed record"), b"<a/>"),
              (RecordError("unknown", "malformed record"), b"<b/>"),
              (RecordError("unknown", "malformed record"), b"<a/>")]  # the same payload listed twice
    store.store_page(run, [], checkpoint=None, errors=errors)
    assert sorted(bytes(r["raw"]) for r in error_rows(store.path)) == [b"<a/>", b"<b/>"]
    nxt = store.runs.start_run(RunReport(source_id="lab"))
    store.store_page(nxt, [], checkpoint=None, errors=[(RecordError("unknown", "malformed record"), b"<c/>")])
    assert [(r["run_id"], bytes(r["raw"])) for r in error_rows(store.path)] == [(nxt.id, b"<c/>")]


def test_a_bad_record_does_not_grow_the_store_run_after_run(oai_server: OAIServer, catalog_factory: Any) -> None:
    victim = [r for r in oai_server.repository.records() if not r.deleted][60]  # on page 2
    oai_server.repository.upsert(replace(victim, title_zh="", title_en="", description_en="冰川" * 60_000))
    cat = catalog_factory([source_for(oai_server)])
    path = cat.store.path
    runs = []
    for _ in range(3):
        (run,) = cat.harvester.harvest(full=True)
        assert run.status is RunStatus.PARTIAL and run.counts["errored"] == 1
        runs.append(run)
        (row,) = error_rows(path, victim.local_id)
        assert row["run_id"] == run.id and "title" in row["message"]
        assert len(row["raw"]) == LIMIT and row["raw_size"] > 300_000 and len(row["raw_sha256"]) == 64
        assert victim.identifier.encode() in bytes(row["raw"])
    assert len(error_rows(path)) == 1

    # a later run: the record's XML is broken on the wire, a different error replaces the first
    ident = victim.identifier.encode()

    def break_victim(ctx: FaultContext) -> FaultAction | None:
        _, _, body = oai_server.repository.respond(ctx.params, oai_server.url, site_url=oai_server.base_url)
        at = body.find(b"<identifier>" + ident + b"</identifier>")
        if at < 0:
            return None
        meta = body.find(b"<metadata>", at) + len(b"<metadata>")
        return FaultAction(body=body[:meta] + b"<unclosed>" + body[meta:])

    oai_server.fault = break_victim
    (broken,) = cat.harvester.harvest(full=True)
    assert broken.counts["errored"] == 1
    (row,) = error_rows(path, victim.local_id)
    assert row["run_id"] == broken.id and "malformed" in row["message"] and len(row["raw"]) <= LIMIT
    assert broken.errors[0].local_id == victim.local_id  # what the API and `fedcat harvests` show

    # the source fixes the record: it is stored, and its error row goes
    oai_server.fault = None
    oai_server.repository.upsert(victim)
    (fixed,) = cat.harvester.harvest(full=True)
    assert fixed.status is RunStatus.SUCCEEDED and fixed.counts["errored"] == 0
    assert cat.store.records.get(f"ncdc:{victim.local_id}") is not None
    assert error_rows(path) == []


def test_an_existing_store_is_migrated_deduplicated_capped_and_pruned(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    RecordStore(path).close()
    big = b"x" * (LIMIT + 5000)
    db = sqlite3.connect(path)
    with db:  # the store as it was before: record_errors without size and digest, runs without heartbeat
        db.execute("DROP TABLE record_errors")
        db.execute("CREATE TABLE record_errors (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,"
                   " source_id TEXT NOT NULL, local_id TEXT, message TEXT NOT NULL, url TEXT, raw BLOB,"
                   " at TEXT NOT NULL)")
        db.execute("ALTER TABLE harvest_runs DROP COLUMN heartbeat_at")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        rows = [(1, "lab", "big", "old error", big), (2, "lab", "big", "newer error", big),
                (3, "lab", "big", "newest error", big + b"!"), (1, "lab", "fixed", "error", b"<x/>"),
                (2, "lab", "still", "error", b"<y/>"), (2, "lab", "still", "error", b"<y/>")]
        db.executemany("INSERT INTO record_errors(run_id, source_id, local_id, message, raw, at)"
                       " VALUES (?,?,?,?,?,'2025-01-01T00:00:00+00:00')", rows)
        db.execute("INSERT INTO records(id, source_id, local_id, deleted, first_seen_at, updated_at, last_seen_run)"
                   " VALUES ('lab:fixed', 'lab', 'fixed', 0, 'now', 'now', 2), "
                   " ('lab:still', 'lab', 'still', 0, 'now', 'now', 1)")
    db.close()

    s = RecordStore(path)
    try:
        rows_after = {r["local_id"]: r for r in error_rows(path)}
        assert set(rows_after) == {"big", "still"}, "one row per record, none for a record stored since"
        assert len(error_rows(path, "still")) == 1
        newest = rows_after["big"]
        assert (newest["run_id"], newest["message"]) == (3, "newest error")
        assert bytes(newest["raw"]) == big[:LIMIT]
        assert newest["raw_size"] == len(big) + 1 and newest["raw_sha256"] == hashlib.sha256(big + b"!").hexdigest()
        assert rows_after["still"]["raw_size"] == 4
        run = s.runs.start_run(RunReport(source_id="lab"))  # the runs table has its heartbeat column again
        assert run_row(path, run.id or 0)["heartbeat_at"] == run.started_at
    finally:
        s.close()
    RecordStore(path).close()  # opening a migrated store again changes nothing
    assert {r["local_id"] for r in error_rows(path)} == {"big", "still"}


# -- 2. run reports: counts with their page, heartbeat, the last checkpoint --------------------------------


class CrashOnPage:
    """A progress sink that kills the run (raises) after its ``n``-th page was stored."""

    def __init__(self, n: int, tick: Any = None) -> None:
        self.n, self.pages, self.tick = n, 0, tick

    def started(self, source_id: str) -> None:
        pass

    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None:
        self.pages += 1
        if self.tick is not None:
            self.tick()
        if self.pages == self.n:
            raise Crash(f"killed after page {self.n}")

    def finished(self, report: RunReport) -> None:
        pass


def test_a_killed_runs_counts_are_those_of_the_pages_it_stored(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server)])
    with pytest.raises(Crash):
        cat.harvester.harvest(progress=CrashOnPage(2))
    (run,) = cat.store.runs.recent("ncdc")
    assert run.status is RunStatus.RUNNING and run.pages == 2
    stored = cat.store.records.counts("ncdc")
    assert stored["records"] > 50
    assert (run.counts["added"], run.counts["deleted"]) == (stored["records"], stored["deleted"]), \
        "the report counts every page the store holds, the last one too"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)

    def __call__(self) -> str:
        return self.at.isoformat(timespec="seconds")

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def test_an_interrupted_run_ends_at_its_last_heartbeat(oai_server: OAIServer, catalog_factory: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(store_connection, "now_iso", clock)
    cat = catalog_factory([source_for(oai_server)])
    started = clock()
    with pytest.raises(Crash):  # each page takes 10 s; killed after the second
        cat.harvester.harvest(progress=CrashOnPage(2, tick=lambda: clock.advance(10)))
    (run,) = cat.store.runs.recent("ncdc")
    assert run.id is not None and run.started_at == started
    last_page = (clock.at - timedelta(seconds=10)).isoformat(timespec="seconds")
    clock.advance(3600)  # the crash is noticed an hour later
    orphan(cat.store, run.id)
    (found,) = cat.store.runs.recent("ncdc")
    assert found.status is RunStatus.INTERRUPTED
    assert found.finished_at == last_page and found.duration_s == 10.0, "not an hour: the run died after page 2"
    assert run_row(cat.store.path, run.id)["heartbeat_at"] == last_page


def test_a_run_killed_before_its_first_page_ends_at_its_start(catalog_factory: Any, oai_server: OAIServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(store_connection, "now_iso", clock)
    cat = catalog_factory([source_for(oai_server)])
    run = cat.store.runs.start_run(RunReport(source_id="ncdc"))
    assert run.id is not None
    clock.advance(600)
    orphan(cat.store, run.id)
    (found,) = cat.store.runs.recent("ncdc")
    assert found.status is RunStatus.INTERRUPTED and found.finished_at == found.started_at


@pytest.mark.parametrize("write_process", [False, True], ids=["in-process", "writer-process"])
def test_a_crash_after_the_last_page_does_not_list_the_window_again(oai_server: OAIServer, catalog_factory: Any,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   write_process: bool) -> None:
    """The crash also loses what was staged in the index and not committed: those records stay pending and
    the next run indexes them (they were once marked indexed by its first commit, and missing from search)."""
    cat = catalog_factory([source_for(oai_server)], index={"write_process": write_process})
    harvester = cat.harvester

    def die() -> None:
        raise Crash("killed after the listing, before the run ended")

    monkeypatch.setattr(harvester.feeder, "flush", die)  # runs after the last page, before the run ends
    with pytest.raises(Crash):
        harvester.harvest()
    monkeypatch.undo()
    (killed,) = cat.store.runs.recent("ncdc")
    assert killed.pages == 3 and killed.status is RunStatus.RUNNING
    saved = cat.store.runs.checkpoint("ncdc")
    assert saved is not None and saved[1][pipeline.LISTING_COMPLETE] is True
    newest = max(r.datestamp for r in oai_server.repository.records())
    assert saved[1]["newest"] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")

    listed: list[dict[str, str]] = []
    oai_server.fault = lambda ctx: listed.append(ctx.params) or None  # type: ignore[func-returns-value]
    (again,) = harvester.harvest()
    assert again.status is RunStatus.SUCCEEDED, again.message
    listing = [p for p in listed if p.get("verb") == "ListRecords"]
    assert listing and all("from" in p or "resumptionToken" in p for p in listing), \
        "incremental from the newest datestamp the finished listing saw, not the whole window again"
    assert sum(again.counts.values()) < len(oai_server.repository.records()) / 2
    assert cat.store.runs.checkpoint("ncdc") is None
    assert search_ids(cat) == {f"ncdc:{r.local_id}" for r in oai_server.repository.records() if not r.deleted}


def test_a_full_run_after_a_crash_after_the_listing_lists_everything(oai_server: OAIServer, catalog_factory: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cat = catalog_factory([source_for(oai_server)])
    monkeypatch.setattr(cat.harvester.feeder, "flush", lambda: (_ for _ in ()).throw(Crash("killed")))
    with pytest.raises(Crash):
        cat.harvester.harvest()
    monkeypatch.undo()
    (full,) = cat.harvester.harvest(full=True)
    assert full.status is RunStatus.SUCCEEDED and full.pages == 3
    assert sum(full.counts.values()) == len(oai_server.repository.records())


def test_a_killed_harvest_reports_what_it_stored_and_ends_at_its_last_page(tmp_path: Path) -> None:
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c), page_size=25)
    with OAIServer(repo) as server:
        server.fault = lambda ctx: FaultAction(delay=0.4) if ctx.params.get("verb") == "ListRecords" else None
        config = tmp_path / "fedcat.yaml"
        config.write_text(f"data_dir: ./data\nsources:\n  - id: ncdc\n    name: 冰川\n    url: {server.url}\n",
                          encoding="utf-8")
        db = tmp_path / "data" / "records.sqlite3"
        proc = subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--config", str(config), "harvest"],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            stored = 0
            while time.monotonic() < deadline and proc.poll() is None and stored == 0:
                try:
                    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as ro:
                        stored = ro.execute("SELECT COUNT(*) FROM records").fetchone()[0]
                except sqlite3.Error:
                    stored = 0
                time.sleep(0.01)
            assert proc.poll() is None and stored > 0, "no page was stored while the harvest ran"
            proc.send_signal(signal.SIGKILL)
            killed_at = datetime.now(UTC)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    time.sleep(1.1)  # noticed later (the store's times are in whole seconds)
    s = RecordStore(db)
    try:
        (run,) = s.runs.recent("ncdc")
        held = s.records.counts("ncdc")
    finally:
        s.close()
    assert run.status is RunStatus.INTERRUPTED
    assert run.counts["added"] == held["records"] and run.counts["deleted"] == held["deleted"]
    assert run.finished_at is not None and datetime.fromisoformat(run.finished_at) <= killed_at


# -- `fedcat harvests --long` ----------------------------------------------------------------------------


def test_harvests_cuts_messages_and_long_prints_them_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "fedcat.yaml"
    config.write_text("data_dir: ./data\nsources:\n  - id: ncdc\n    name: 冰川\n    url: http://127.0.0.1:9/oai\n",
                      encoding="utf-8")
    message = ("[ncdc] cannot store a page: database or disk is full, while writing the page of "
               "http://127.0.0.1:9/oai?verb=ListRecords&resumptionToken=ncdc-2 [/data/records.sqlite3]")
    s = RecordStore(tmp_path / "data" / "records.sqlite3")
    try:
        run = s.runs.start_run(RunReport(source_id="ncdc"))
        run.cpu_s = {"map": 1.5, "store": 0.25, "index": 2.0, "metrics": 0.0}
        s.runs.finish_run(run, RunStatus.FAILED, message=message)
    finally:
        s.close()

    assert cli.main(["--config", str(config), "harvests"]) == 0
    short = capsys.readouterr().out
    assert "[ncdc] cannot store a" in short, "a message is text, not markup"
    assert "while…" in short and "resumptionToken" not in short, "cut at 60 characters"
    hint = next(line for line in short.splitlines() if "messages cut" in line)
    assert hint.endswith(f"--config {config} harvests --long")

    assert cli.main(["--config", str(config), "harvests", "--long"]) == 0
    long = capsys.readouterr().out
    assert f"run {run.id} (ncdc) failed: {message}" in long.splitlines()
    assert f"run {run.id} (ncdc) CPU: map 1.50 s, store 0.25 s, index 2.00 s, metrics 0.00 s" in long.splitlines()
    assert "messages cut" not in long

    assert cli.main(["--config", str(config), "harvests", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["harvests"][0]["message"] == message
