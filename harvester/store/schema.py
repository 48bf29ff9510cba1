"""The SQLite store's tables, its meta rows and its numbered migration steps (:mod:`.migrations` runs them).

The records, raw payloads, gated records, record errors, runs and checkpoints are defined here; the
officers' tables (:mod:`.officer`) and the metrics tables (:mod:`.metrics`) are defined next to their
repositories and created with the rest by :func:`create_v1`.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable

from ..grouping import group_key
from ..model import Record
from . import metrics, officer
from .regrouping import regroup_all

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    local_id TEXT NOT NULL,
    content_hash TEXT,
    access_json TEXT,
    datestamp TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    record_json TEXT,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seen_run INTEGER,
    index_pending INTEGER NOT NULL DEFAULT 1,
    input_key TEXT
);
-- (source_id, id): a source's records in id order, which keyset paging reads a batch at a time
CREATE INDEX IF NOT EXISTS records_source_id ON records(source_id, id);
-- records waiting for the index, in id order (the catch-up reads them a batch at a time)
CREATE INDEX IF NOT EXISTS records_pending_id ON records(id) WHERE index_pending = 1;
-- index_pending = 2: pending, and a rebuild under way reads it (see Indexing.start_rebuild)
CREATE INDEX IF NOT EXISTS records_rebuilding_id ON records(id) WHERE index_pending = 2;
-- embargoed records by end date, for lifting embargoes after each harvest (Records.embargo_due)
CREATE INDEX IF NOT EXISTS records_embargo ON records(json_extract(access_json, '$.embargo_until'))
    WHERE deleted = 0 AND json_extract(access_json, '$.openness') = 'embargoed';
CREATE TABLE IF NOT EXISTS raw_payloads (
    record_id TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gated (
    id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    level TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
-- records that could not be mapped: one row per record (source_id, local_id), replaced by its newest
-- error and deleted once the record is stored (distinct payloads of one run under one local id, records
-- without an identifier, keep a row each until the next run); raw keeps at most the payload's first
-- RecordStore.error_raw_limit bytes, raw_size and raw_sha256 describe the whole payload
CREATE TABLE IF NOT EXISTS record_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    local_id TEXT,
    message TEXT NOT NULL,
    url TEXT,
    raw BLOB,
    at TEXT NOT NULL,
    raw_size INTEGER,
    raw_sha256 TEXT
);
CREATE INDEX IF NOT EXISTS record_errors_record ON record_errors(source_id, local_id);
CREATE TABLE IF NOT EXISTS harvest_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    status TEXT NOT NULL,
    full INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    counts_json TEXT NOT NULL DEFAULT '{}',
    retries_json TEXT NOT NULL DEFAULT '{}',
    errors_json TEXT NOT NULL DEFAULT '[]',
    message TEXT,
    newest_datestamp TEXT,
    pid INTEGER,
    host TEXT,
    heartbeat_at TEXT,
    warnings_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_source ON harvest_runs(source_id, id);
CREATE TABLE IF NOT EXISTS checkpoints (
    source_id TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    state_json TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""
#: Each source's change counter: any change to what its metrics are computed from (a record's content
#: or tags, its deletion, its gating, a link check) counts one, whichever connection makes it. The
#: triggers fire only on real changes: an unchanged re-harvest leaves the counter as it was.
VERSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_versions (source_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
""" + "".join(f"""
CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table}{when} BEGIN
    INSERT INTO source_versions(source_id, version) VALUES ({row}.source_id, 1)
        ON CONFLICT(source_id) DO UPDATE SET version = version + 1;
END;""" for name, event, table, when, row in (
    ("records_added", "INSERT", "records", "", "NEW"),
    ("records_changed", "UPDATE OF record_json, deleted, access_json", "records",
     " WHEN OLD.record_json IS NOT NEW.record_json OR OLD.deleted IS NOT NEW.deleted"
     " OR OLD.access_json IS NOT NEW.access_json", "NEW"),
    ("records_removed", "DELETE", "records", "", "OLD"),
    ("gated_added", "INSERT", "gated", "", "NEW"),
    ("gated_changed", "UPDATE OF level", "gated", " WHEN OLD.level IS NOT NEW.level", "NEW"),
    ("gated_removed", "DELETE", "gated", "", "OLD"),
    ("links_added", "INSERT", "link_checks", "", "NEW"),
    ("links_changed", "UPDATE", "link_checks", "", "NEW"),
    ("links_removed", "DELETE", "link_checks", "", "OLD"),
))
#: What ``record_errors`` keeps of a payload: (head, size, SHA-256), see :meth:`.runs.Runs.kept_raw`.
KeptRaw = Callable[[bytes | None], tuple[bytes | None, int | None, str | None]]


def script() -> str:
    """Every table, index and trigger, each created when missing."""
    return SCHEMA + officer.SCHEMA + metrics.SCHEMA + VERSIONS_SCHEMA


def run_script(db: sqlite3.Connection, sql: str) -> None:
    """Run a script statement by statement, inside the caller's transaction (``executescript`` would
    commit it first)."""
    statement = ""
    for line in sql.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)


def create_v1(db: sqlite3.Connection, kept_raw: KeptRaw) -> None:
    """Version 1: the tables and the meta rows (the store's id, made once)."""
    run_script(db, script())
    db.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))


def upgrade_v1(db: sqlite3.Connection, kept_raw: KeptRaw) -> None:
    """Version 2: a version-1 store, whichever release made it, gets what later releases of version 1
    added as they opened it: the tables and triggers it lacks, the run columns (process, host, heartbeat,
    warnings), the records' input, PID and group keys, the overrides' second officer, record errors kept
    once per record; indexes replaced by better ones are dropped. Every part is skipped when done
    (a release of version 1 may have added it already)."""
    create_v1(db, kept_raw)
    for table, name, kind in (("harvest_runs", "pid", "INTEGER"), ("harvest_runs", "host", "TEXT"),
                              ("harvest_runs", "heartbeat_at", "TEXT"),
                              ("harvest_runs", "warnings_json", "TEXT NOT NULL DEFAULT '[]'"),
                              ("records", "input_key", "TEXT"), ("records", "pid_key", "TEXT"),
                              ("overrides", "confirmed_by", "TEXT")):
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if name not in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
    if "group_key" not in columns:
        _add_group_columns(db)
    _migrate_record_errors(db, kept_raw)
    db.execute("CREATE INDEX IF NOT EXISTS records_group ON records(group_key)")
    db.execute("CREATE INDEX IF NOT EXISTS records_pid ON records(source_id, pid_key)")
    # replaced by records_source_id and records_pending_id: paging by id through them sorted every
    # row of the source, or every pending row, for each batch
    db.execute("DROP INDEX IF EXISTS records_source")
    db.execute("DROP INDEX IF EXISTS records_pending")
    # the metrics basis read a source's last change through it; source_versions counts changes now
    db.execute("DROP INDEX IF EXISTS records_updated")


#: Version 3: harvest leases (:mod:`.leases`) and the bilingual term table searches read (:mod:`.term_table`),
#: kept in the store so that every process serving the catalog, on any node, reads the same one.
V3_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    source_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    run_id INTEGER,
    acquired_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS term_table (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    built_at TEXT NOT NULL
);
"""


def create_v3(db: sqlite3.Connection, kept_raw: KeptRaw) -> None:
    """Version 3: the leases and term table."""
    run_script(db, V3_SCHEMA)


#: Version 4: the identifiers of each live record (its DOI and CSTR keys, see :mod:`..grouping`), which
#: records are grouped by: records sharing any of them, transitively, are one dataset.
V4_SCHEMA = """
CREATE TABLE IF NOT EXISTS record_pids (
    pid TEXT NOT NULL,
    record_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    PRIMARY KEY (pid, record_id)
);
CREATE INDEX IF NOT EXISTS record_pids_record ON record_pids(record_id);
-- the groups a record's index entry was built under (the feeder looks up the entries a re-keying made stale)
CREATE INDEX IF NOT EXISTS records_indexed_group ON records(indexed_group);
"""


def create_v4(db: sqlite3.Connection, kept_raw: KeptRaw) -> None:
    """Version 4: the identifier table, filled from the live records, and every record grouped again by
    shared identifiers (the records re-keyed are marked pending, so the index rebuilds their groups)."""
    run_script(db, V4_SCHEMA)
    regroup_all(db)


#: Version 5: the public view of each dataset (:mod:`.published`), what the OAI-PMH provider serves.
V5_SCHEMA = """
CREATE TABLE IF NOT EXISTS published (
    key TEXT PRIMARY KEY,
    datestamp TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    members_json TEXT NOT NULL DEFAULT '[]',
    view_hash TEXT
);
CREATE INDEX IF NOT EXISTS published_order ON published(datestamp, key);
CREATE TABLE IF NOT EXISTS published_sets (
    key TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (key, spec)
);
CREATE INDEX IF NOT EXISTS published_sets_spec ON published_sets(spec, key);
"""


def create_v5(db: sqlite3.Connection, kept_raw: KeptRaw) -> None:
    """Version 5: the published views (filled by the next ``fedcat reindex`` or harvest)."""
    run_script(db, V5_SCHEMA)


def create_v6(db: sqlite3.Connection, kept_raw: KeptRaw) -> None:
    """Version 6: each run's CPU seconds per stage of the pipeline (runs from before have none; skipped
    where the column is there already); the live published datasets in key order, so the catalog
    document's pages and its count read an index, not every row of ``published``."""
    if "cpu_json" not in {row[1] for row in db.execute("PRAGMA table_info(harvest_runs)")}:
        db.execute("ALTER TABLE harvest_runs ADD COLUMN cpu_json TEXT NOT NULL DEFAULT '{}'")
    db.execute("CREATE INDEX IF NOT EXISTS published_live ON published(deleted, key)")


def _migrate_record_errors(db: sqlite3.Connection, kept_raw: KeptRaw) -> None:
    """Stores from before record errors were kept once per record: add the size and digest columns,
    keep only each record's newest error, drop the errors of records stored since, and cut the kept
    payloads to what ``kept_raw`` keeps (the store's ``error_raw_limit`` bytes). Space freed is reused
    by the store."""
    if "raw_sha256" in {row[1] for row in db.execute("PRAGMA table_info(record_errors)")}:
        return
    db.execute("ALTER TABLE record_errors ADD COLUMN raw_size INTEGER")
    db.execute("ALTER TABLE record_errors ADD COLUMN raw_sha256 TEXT")
    db.execute(
        "DELETE FROM record_errors WHERE EXISTS (SELECT 1 FROM record_errors AS newer"
        " WHERE newer.source_id = record_errors.source_id AND newer.local_id IS record_errors.local_id"
        " AND (newer.run_id > record_errors.run_id OR (newer.run_id = record_errors.run_id"
        " AND newer.id > record_errors.id AND newer.raw IS record_errors.raw)))")
    db.execute(
        "DELETE FROM record_errors WHERE EXISTS (SELECT 1 FROM records AS r"
        " WHERE r.id = record_errors.source_id || ':' || record_errors.local_id"
        " AND r.last_seen_run > record_errors.run_id)")
    ids = [row[0] for row in db.execute("SELECT id FROM record_errors WHERE raw IS NOT NULL")]
    for row_id in ids:  # one payload in memory at a time
        raw = bytes(db.execute("SELECT raw FROM record_errors WHERE id = ?", (row_id,)).fetchone()[0])
        db.execute("UPDATE record_errors SET raw = ?, raw_size = ?, raw_sha256 = ? WHERE id = ?",
                   (*kept_raw(raw), row_id))


def _add_group_columns(db: sqlite3.Connection) -> None:
    """Stores from before duplicate grouping: compute every live record's group key once.

    ``group_key`` is the dataset a record belongs to now, ``indexed_group`` the one its index
    entry was built under (both NULL for deleted and gated records once indexed).
    """
    db.execute("ALTER TABLE records ADD COLUMN group_key TEXT")
    db.execute("ALTER TABLE records ADD COLUMN indexed_group TEXT")
    rows = db.execute("SELECT id, record_json FROM records WHERE deleted = 0 AND record_json IS NOT NULL")
    keys = [(group_key(Record.from_json(r["record_json"])), r["id"]) for r in rows]
    db.executemany("UPDATE records SET group_key = ?, indexed_group = ? WHERE id = ?",
                   [(k, f"id:{i}", i) for k, i in keys])

