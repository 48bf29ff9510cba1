"""Numbered schema migrations: a store made by every earlier version opens, upgraded, with its data; a
store made by a newer fedcat is refused; ``fedcat migrate`` says from which version to which.

The earlier layouts are built here by code: version 1 as its first release created it (the tables of
the foundation), as a later release of version 1 left it (officers' and metrics tables, no change
counters, no group keys), and as the last release of version 1 left it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from fedcat.api.cli import main
from fedcat.harvester import serial
from fedcat.harvester.errors import StoreError
from fedcat.harvester.store import RecordStore, migrations, schema
from fedcat.harvester.store.migrations import POSTGRESQL, SCHEMA_VERSION, SQLITE

from .store_helpers import item, open_store, rec, started

#: Version 1 as the foundation created it.
V1_FIRST = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (id TEXT PRIMARY KEY, source_id TEXT NOT NULL, local_id TEXT NOT NULL, content_hash TEXT,
    access_json TEXT, datestamp TEXT, deleted INTEGER NOT NULL DEFAULT 0, record_json TEXT,
    first_seen_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_seen_run INTEGER,
    index_pending INTEGER NOT NULL DEFAULT 1);
CREATE INDEX records_source ON records(source_id);
CREATE INDEX records_pending ON records(index_pending) WHERE index_pending = 1;
CREATE TABLE raw_payloads (record_id TEXT PRIMARY KEY, format TEXT NOT NULL, body BLOB NOT NULL,
    received_at TEXT NOT NULL);
CREATE TABLE gated (id TEXT PRIMARY KEY, source_id TEXT NOT NULL, level TEXT NOT NULL, seen_at TEXT NOT NULL);
CREATE TABLE record_errors (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
    source_id TEXT NOT NULL, local_id TEXT, message TEXT NOT NULL, url TEXT, raw BLOB, at TEXT NOT NULL);
CREATE TABLE harvest_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, status TEXT NOT NULL,
    full INTEGER NOT NULL DEFAULT 0, started_at TEXT NOT NULL, finished_at TEXT,
    pages INTEGER NOT NULL DEFAULT 0, counts_json TEXT NOT NULL DEFAULT '{}',
    retries_json TEXT NOT NULL DEFAULT '{}', errors_json TEXT NOT NULL DEFAULT '[]', message TEXT,
    newest_datestamp TEXT);
CREATE INDEX runs_source ON harvest_runs(source_id, id);
CREATE TABLE checkpoints (source_id TEXT PRIMARY KEY, run_id INTEGER NOT NULL, state_json TEXT NOT NULL,
    updated_at TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
"""
#: Version 1 later on: officers' and metrics tables, the records' input key; no second officer, no
#: change counters, no group or PID keys.
V1_LATER = V1_FIRST + """
ALTER TABLE records ADD COLUMN input_key TEXT;
CREATE TABLE overrides (id INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, source_id TEXT NOT NULL,
    tag TEXT NOT NULL, value TEXT NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL,
    UNIQUE(record_id, tag));
CREATE TABLE api_keys (id INTEGER PRIMARY KEY AUTOINCREMENT, prefix TEXT NOT NULL UNIQUE, digest TEXT NOT NULL,
    name TEXT NOT NULL, audience TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT, last_used_at TEXT);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    audience TEXT NOT NULL, action TEXT NOT NULL, record_ids TEXT NOT NULL, detail TEXT);
CREATE TABLE link_checks (record_id TEXT NOT NULL, kind TEXT NOT NULL, source_id TEXT NOT NULL, url TEXT NOT NULL,
    status TEXT NOT NULL, http_status INTEGER, final_url TEXT, method TEXT, detail TEXT, elapsed_ms INTEGER,
    checked_at TEXT NOT NULL, PRIMARY KEY (record_id, kind));
CREATE TABLE metric_snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, run_id INTEGER,
    audience TEXT NOT NULL, at TEXT NOT NULL, metrics_json TEXT NOT NULL);
INSERT INTO overrides(record_id, source_id, tag, value, by, reason, at)
    VALUES ('lab:a', 'lab', 'security', 'sensitive', 'alice', 'checked', '2024-01-01T00:00:00+00:00');
"""
DOI = "10.1234/old"


def fill_v1(db: sqlite3.Connection) -> None:
    """Rows every version-1 layout has: two records of one dataset, a payload, a run, a checkpoint, errors."""
    for local, source in (("a", "lab"), ("b", "other")):
        r = rec(source, local, doi=DOI)
        data = r.to_dict()
        db.execute("INSERT INTO records(id, source_id, local_id, content_hash, access_json, datestamp, deleted,"
                   " record_json, first_seen_at, updated_at, last_seen_run, index_pending)"
                   " VALUES (?,?,?,'h',?,'2024-01-01',0,?,'t','t',1,0)",
                   (r.id, source, local, serial.dumps(data["access"], sort_keys=True), serial.dumps(data)))
    db.execute("INSERT INTO raw_payloads VALUES ('lab:a', 'oai_dc', ?, 't')", (b"\x00<old/>\xff",))
    db.execute("INSERT INTO harvest_runs(source_id, status, started_at, finished_at, pages, newest_datestamp)"
               " VALUES ('lab', 'succeeded', '2024-01-01T00:00:00+00:00', '2024-01-01T00:01:00+00:00', 1,"
               " '2024-01-01')")
    db.execute("INSERT INTO checkpoints VALUES ('lab', 1, '{\"token\": \"t9\"}', 't')")
    db.executemany("INSERT INTO record_errors(run_id, source_id, local_id, message, raw, at) VALUES (?,?,?,?,?,'t')",
                   [(1, "lab", "bad", "old error", b"z" * 50), (1, "lab", "bad", "old error", b"z" * 50)])


def last_v1(path: Path) -> None:
    """Version 1 as its last release left a store: today's tables, recorded as version 1."""
    db = sqlite3.connect(path, isolation_level=None)
    schema.create_v1(db, lambda raw: (raw, len(raw), "x") if raw is not None else (None, None, None))
    schema.upgrade_v1(db, lambda raw: (raw, len(raw), "x") if raw is not None else (None, None, None))
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '1')")
    with db:
        fill_v1(db)
        db.execute("UPDATE records SET group_key = ?, indexed_group = ?", (f"doi:{DOI}", f"doi:{DOI}"))
    db.close()


def from_script(ddl: str) -> object:
    def build(path: Path) -> None:
        db = sqlite3.connect(path)
        db.executescript(ddl)
        with db:
            fill_v1(db)
        db.close()
    return build


def last_v2(path: Path) -> None:
    """Version 2 (before harvest leases and the term table)."""
    last_v1(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.close()


EARLIER = {"v1-first": from_script(V1_FIRST), "v1-later": from_script(V1_LATER), "v1-last": last_v1,
           "v2": last_v2}


def test_the_versions_are_numbered_in_order() -> None:
    for steps in (SQLITE, POSTGRESQL):
        numbers = [s.version for s in steps]
        assert numbers == sorted(set(numbers)) and numbers[-1] == SCHEMA_VERSION


@pytest.mark.parametrize("layout", sorted(EARLIER))
def test_a_store_of_every_earlier_version_is_upgraded(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "records.sqlite3"
    EARLIER[layout](path)  # type: ignore[operator]
    s = RecordStore(path, error_raw_limit=10)
    try:
        assert s.schema_versions == (2 if layout == "v2" else 1, SCHEMA_VERSION)
        got = s.records.get("lab:a")
        assert got is not None and got.identifiers.doi == DOI
        raw = s.records.raw("lab:a")
        assert raw is not None and raw.body == b"\x00<old/>\xff"
        assert s.runs.checkpoint("lab") == (1, {"token": "t9"})
        (run,) = s.runs.recent("lab")
        assert run.pages == 1 and run.warnings == []
        assert s.runs.last_successful_datestamp("lab") == "2024-01-01"
        (group,) = s.indexing.groups([f"doi:{DOI}"])
        assert [m.id for m in group.members] == ["lab:a", "other:b"]
        if layout not in ("v1-last", "v2"):  # the errors of a version-1 store before errors were kept once, cut down
            rows = s.connection.read("SELECT raw, raw_size FROM record_errors")
            assert [(bytes(r["raw"]), r["raw_size"]) for r in rows] == [(b"z" * 10, 50)]
        if layout == "v1-later":
            assert [o.confirmed_by for o in s.overrides.for_record("lab:a")] == [None]
        assert len(s.store_id) == 32
        before = s.source_version("lab")
        out = s.store_page(started(s), [item(rec("lab", "c"), b"<c/>")], checkpoint=None)
        assert out[0][1].value == "added" and s.source_version("lab") == before + 1
        assert s.records.counts() == {"records": 3, "deleted": 0}
        lease = s.leases.acquire("lab", "here:1:a", 60)  # version 3: harvest leases
        assert lease is not None and s.leases.acquire("lab", "there:2:b", 60) is None
        store_id = s.store_id
    finally:
        s.close()
    again = RecordStore(path)
    try:
        assert again.schema_versions == (SCHEMA_VERSION, SCHEMA_VERSION) and again.store_id == store_id
    finally:
        again.close()


def test_a_version_1_store_with_parts_of_version_2_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    from_script(V1_LATER)(path)  # type: ignore[operator]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("ALTER TABLE records ADD COLUMN pid_key TEXT")  # as a release of version 1 added them
    db.execute("CREATE TABLE source_versions (source_id TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    db.close()
    s = RecordStore(path)
    try:
        assert s.schema_versions == (1, SCHEMA_VERSION) and s.records.get("lab:a") is not None
    finally:
        s.close()


def test_a_migration_that_fails_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "records.sqlite3"
    from_script(V1_FIRST)(path)  # type: ignore[operator]

    def half_done(db: sqlite3.Connection, kept_raw: object) -> None:
        db.execute("ALTER TABLE records ADD COLUMN pid_key TEXT")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(migrations, "SQLITE", (SQLITE[0], replace(SQLITE[1], apply=half_done)))
    with pytest.raises(StoreError, match="disk I/O error"):
        RecordStore(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    assert "pid_key" not in {row[1] for row in db.execute("PRAGMA table_info(records)")}
    db.close()
    monkeypatch.undo()
    s = RecordStore(path)
    try:
        assert s.schema_versions == (1, SCHEMA_VERSION)
    finally:
        s.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_store_of_a_newer_version_is_refused(request: pytest.FixtureRequest, tmp_path: Path,
                                               backend: str) -> None:
    s = open_store(request, backend, tmp_path)
    with s.connection.transaction() as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    s.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer than this fedcat's "
                                         rf"\({SCHEMA_VERSION}\)"):
        if backend == "sqlite":
            RecordStore(tmp_path / "records.sqlite3")
        else:
            RecordStore(url=s.connection.url)  # type: ignore[attr-defined]


def write_config(tmp_path: Path, store: dict[str, str] | None = None) -> str:
    cfg = {"data_dir": str(tmp_path / "data"), "sources": []}
    if store:
        cfg["store"] = store  # type: ignore[assignment]
    path = tmp_path / "fedcat.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return str(path)


def test_fedcat_migrate_says_from_and_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    (tmp_path / "data").mkdir()
    store = tmp_path / "data" / "records.sqlite3"
    assert main(["--config", config, "migrate", "--check"]) == 1
    from_script(V1_FIRST)(store)  # type: ignore[operator]
    assert main(["--config", config, "migrate", "--check"]) == 1
    out = capsys.readouterr().out.replace("\n", " ")
    assert f"schema version 1; `fedcat migrate` brings it to {SCHEMA_VERSION}" in out
    assert main(["--config", config, "migrate"]) == 0
    assert f"migrated from schema version 1 to {SCHEMA_VERSION}" in capsys.readouterr().out
    assert main(["--config", config, "migrate"]) == 0
    assert "current; nothing to do" in capsys.readouterr().out
    assert main(["--config", config, "migrate", "--check"]) == 0
    db = sqlite3.connect(store)
    with db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    assert main(["--config", config, "migrate", "--check"]) == 2
    assert main(["--config", config, "migrate"]) == 2
    assert "schema version 99, newer than this fedcat's" in capsys.readouterr().err.replace("\n", " ")


def test_fedcat_migrate_creates_a_postgresql_store(tmp_path: Path, pg_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {"backend": "postgresql", "url": pg_url})
    assert main(["--config", config, "migrate", "--check"]) == 1
    assert main(["--config", config, "migrate"]) == 0
    out = capsys.readouterr().out
    assert f"created at schema version {SCHEMA_VERSION}" in out and "postgresql://127.0.0.1:" in out
    assert main(["--config", config, "migrate", "--check"]) == 0


def test_a_postgresql_store_of_version_2_is_upgraded(pg_url: str) -> None:
    s = RecordStore(url=pg_url)
    with s.connection.transaction() as db:  # as version 2 left it
        db.execute("DROP TABLE leases")
        db.execute("DROP TABLE term_table")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    s.store_page(started(s), [item(rec("lab", "a"), b"<a/>")], checkpoint=None)
    s.close()
    again = RecordStore(url=pg_url)
    try:
        assert again.schema_versions == (2, SCHEMA_VERSION) and again.records.get("lab:a") is not None
        assert again.leases.acquire("lab", "here:1:a", 60) is not None
    finally:
        again.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_3_store_is_grouped_by_shared_identifiers(request: pytest.FixtureRequest, tmp_path: Path,
                                                           backend: str) -> None:
    s = open_store(request, backend, tmp_path)
    centre, copy, alone = rec("ncdc", "g"), rec("sdb", "1", doi="10.1/Lake"), rec("dc", "z", doi="10.9/z")
    centre.identifiers.cstr = copy.identifiers.cstr = "CSTR:31253.11.g"
    s.store_page(started(s), [item(r, b"<x/>") for r in (centre, copy, alone)], checkpoint=None)
    s.indexing.mark_indexed(["ncdc:g", "sdb:1", "dc:z"])
    with s.connection.transaction() as db:  # as version 3 left it: one key per record, DOI first
        db.execute("DROP TABLE record_pids")
        db.execute("DROP INDEX records_indexed_group")
        db.execute("UPDATE records SET group_key = 'cstr:31253.11.g', indexed_group = 'cstr:31253.11.g'"
                   " WHERE id = 'ncdc:g'")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    location = s.path or s.connection.url  # type: ignore[attr-defined]
    s.close()
    again = RecordStore(location) if backend == "sqlite" else RecordStore(url=location)
    try:
        assert again.schema_versions == (3, SCHEMA_VERSION)
        (group,) = again.indexing.groups(["doi:10.1/lake"])
        assert [m.id for m in group.members] == ["ncdc:g", "sdb:1"]
        # the re-keyed record waits for the index, which rebuilds its old group and its new one
        assert [i for i, _ in again.indexing.pending()] == ["ncdc:g"]
        assert again.indexing.group_keys_of(["ncdc:g"]) == {"ncdc:g": {"doi:10.1/lake", "cstr:31253.11.g"}}
        # and later changes keep the identifiers: the copy losing its CSTR splits the group
        copy.identifiers.cstr = None
        again.store_page(started(again, "sdb"), [item(copy, b"<y/>")], checkpoint=None)
        assert again.indexing.groups(["cstr:31253.11.g"])[0].members[0].id == "ncdc:g"
    finally:
        again.close()
