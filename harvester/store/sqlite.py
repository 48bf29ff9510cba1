"""The record store: SQLite in WAL mode, the source of truth the index is derived from.

It keeps raw payloads as received, normalised records, provenance, harvest
runs and per-source checkpoints. A page of records and the checkpoint that
follows it are written in one transaction, so a crash leaves the store at a
page boundary. Records whose index copy is not yet up to date carry
``index_pending = 1``; :meth:`RecordStore.pending` lists them for the index to
catch up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from enum import Enum
from typing import Any, TypeVar

from .. import serial
from ..errors import StoreError
from ..grouping import DatasetGroup, group_key
from ..model import GATED_SECURITY, GeoScope, Record, Security, content_hash
from . import metrics, officer
from .runs import Outcome, RecordError, RunReport, RunStatus

log = logging.getLogger(__name__)

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
-- index_pending = 2: pending, and a rebuild under way reads it (see RecordStore.start_rebuild)
CREATE INDEX IF NOT EXISTS records_rebuilding_id ON records(id) WHERE index_pending = 2;
-- embargoed records by end date, for lifting embargoes after each harvest (RecordStore.embargo_due)
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
SCHEMA_VERSION = "1"
#: How many bytes of an unmappable record's payload ``record_errors`` keeps (the head; its size and
#: SHA-256 are those of the whole payload).
ERROR_RAW_LIMIT = 64 * 1024


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RawPayload:
    format: str
    body: bytes


@dataclass
class PageItem:
    """One record of a page as the pipeline hands it to the store."""

    record: Record
    raw: RawPayload | None
    #: What the record was mapped from (raw payload + mapping fingerprint), see :meth:`RecordStore.unchanged`.
    input_key: str | None = None


class RecordStore:
    """SQLite record store; safe to share between threads (writes are serialised)."""

    def __init__(self, path: str | Path, *, error_raw_limit: int = ERROR_RAW_LIMIT) -> None:
        self.path = Path(path)
        self.error_raw_limit = error_raw_limit
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA + officer.SCHEMA + metrics.SCHEMA + VERSIONS_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the record store at {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self.overrides = officer.Overrides(self, now_iso)
        self.keys = officer.ApiKeys(self, now_iso)
        self.audit = officer.AuditLog(self, now_iso)
        self.links = metrics.LinkResults(self)
        self.snapshots = metrics.Snapshots(self, now_iso)

    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of one read-only query."""
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the record store: {exc}") from exc

    def source_version(self, source_id: str) -> int:
        """The source's change counter (:data:`VERSIONS_SCHEMA`): it moves whenever the source's records,
        gated records or link checks change, here or through another connection; 0 before any."""
        rows = self.read("SELECT version FROM source_versions WHERE source_id = ?", (source_id,))
        return int(rows[0]["version"]) if rows else 0

    def _migrate(self) -> None:
        for table, name, kind in (("harvest_runs", "pid", "INTEGER"), ("harvest_runs", "host", "TEXT"),
                                  ("harvest_runs", "heartbeat_at", "TEXT"),
                                  ("harvest_runs", "warnings_json", "TEXT NOT NULL DEFAULT '[]'"),
                                  ("records", "input_key", "TEXT"), ("records", "pid_key", "TEXT"),
                                  ("overrides", "confirmed_by", "TEXT")):
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if name not in columns:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        if "group_key" not in columns:
            self._add_group_columns()
        self._migrate_record_errors()
        self._db.execute("CREATE INDEX IF NOT EXISTS records_group ON records(group_key)")
        self._db.execute("CREATE INDEX IF NOT EXISTS records_pid ON records(source_id, pid_key)")
        # replaced by records_source_id and records_pending_id: paging by id through them sorted every
        # row of the source, or every pending row, for each batch
        self._db.execute("DROP INDEX IF EXISTS records_source")
        self._db.execute("DROP INDEX IF EXISTS records_pending")
        # the metrics basis read a source's last change through it; source_versions counts changes now
        self._db.execute("DROP INDEX IF EXISTS records_updated")

    def _migrate_record_errors(self) -> None:
        """Stores from before record errors were kept once per record: add the size and digest columns,
        keep only each record's newest error, drop the errors of records stored since, and cut the kept
        payloads to :attr:`error_raw_limit` bytes. Space freed is reused by the store."""
        if "raw_sha256" in {row[1] for row in self._db.execute("PRAGMA table_info(record_errors)")}:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if "raw_sha256" not in {row[1] for row in self._db.execute("PRAGMA table_info(record_errors)")}:
                self._db.execute("ALTER TABLE record_errors ADD COLUMN raw_size INTEGER")
                self._db.execute("ALTER TABLE record_errors ADD COLUMN raw_sha256 TEXT")
                self._db.execute(
                    "DELETE FROM record_errors WHERE EXISTS (SELECT 1 FROM record_errors AS newer"
                    " WHERE newer.source_id = record_errors.source_id AND newer.local_id IS record_errors.local_id"
                    " AND (newer.run_id > record_errors.run_id OR (newer.run_id = record_errors.run_id"
                    " AND newer.id > record_errors.id AND newer.raw IS record_errors.raw)))")
                self._db.execute(
                    "DELETE FROM record_errors WHERE EXISTS (SELECT 1 FROM records AS r"
                    " WHERE r.id = record_errors.source_id || ':' || record_errors.local_id"
                    " AND r.last_seen_run > record_errors.run_id)")
                ids = [row[0] for row in self._db.execute("SELECT id FROM record_errors WHERE raw IS NOT NULL")]
                for row_id in ids:  # one payload in memory at a time
                    raw = bytes(self._db.execute("SELECT raw FROM record_errors WHERE id = ?", (row_id,)).fetchone()[0])
                    self._db.execute("UPDATE record_errors SET raw = ?, raw_size = ?, raw_sha256 = ? WHERE id = ?",
                                     (*self._error_raw(raw), row_id))
            self._db.execute("COMMIT")
        except sqlite3.Error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _error_raw(self, raw: bytes | None) -> tuple[bytes | None, int | None, str | None]:
        """What ``record_errors`` keeps of a payload: its head (at most :attr:`error_raw_limit` bytes),
        the whole payload's size and SHA-256."""
        if raw is None:
            return None, None, None
        return raw[:self.error_raw_limit], len(raw), hashlib.sha256(raw).hexdigest()

    def _add_group_columns(self) -> None:
        """Stores from before duplicate grouping: compute every live record's group key once.

        ``group_key`` is the dataset a record belongs to now, ``indexed_group`` the one its index
        entry was built under (both NULL for deleted and gated records once indexed).
        """
        self._db.execute("ALTER TABLE records ADD COLUMN group_key TEXT")
        self._db.execute("ALTER TABLE records ADD COLUMN indexed_group TEXT")
        rows = self._db.execute("SELECT id, record_json FROM records WHERE deleted = 0 AND record_json IS NOT NULL")
        keys = [(group_key(Record.from_json(r["record_json"])), r["id"]) for r in rows]
        self._db.execute("BEGIN")
        self._db.executemany("UPDATE records SET group_key = ?, indexed_group = ? WHERE id = ?",
                             [(k, f"id:{i}", i) for k, i in keys])
        self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    # -- records -------------------------------------------------------------------

    def store_page(
        self,
        run: RunReport,
        items: Sequence[PageItem],
        *,
        checkpoint: dict[str, Any] | None,
        errors: Sequence[tuple[RecordError, bytes | None]] = (),
        seen: Sequence[str] = (),
        from_source: bool = True,
    ) -> list[tuple[Record, Outcome]]:
        """Write one page, its checkpoint and the run's report counting it in, in one transaction;
        returns each record's outcome (``run`` takes the page's counts once it is written).

        ``seen`` are ids of records the page listed unchanged (not re-mapped): only their last
        run is noted. ``errors`` are the page's records that could not be mapped, with their raw
        payloads. A record the source listed and that is stored (``from_source``: not re-mapped from
        the stored payloads) is no longer in error: its ``record_errors`` row goes.
        """
        assert run.id is not None
        outcomes: list[tuple[Record, Outcome]] = []
        ts = now_iso()
        try:
            with self.transaction() as db:
                prior = self._prior(db, [item.record.id for item in items])
                for item in items:
                    outcome = self._upsert(db, item, run.id, ts, prior)
                    outcomes.append((item.record, outcome))
                db.executemany("UPDATE records SET last_seen_run=? WHERE id=?", [(run.id, i) for i in seen])
                if from_source:
                    prefix = f"{run.source_id}:"
                    self._forget_errors(db, [(r.source_id, r.local_id) for r, _ in outcomes]
                                        + [(run.source_id, i[len(prefix):]) for i in seen if i.startswith(prefix)])
                for err, raw in errors:
                    self._save_error(db, run, err, raw, ts)
                if checkpoint is not None:
                    self._save_checkpoint(db, run, checkpoint, ts)
                after = run.after_page([o for _, o in outcomes], unchanged=len(seen), errors=[e for e, _ in errors])
                self._save_run(db, after, heartbeat=ts)
        except sqlite3.Error as exc:
            raise StoreError(f"[{run.source_id}] cannot store a page: {exc}") from exc
        run.pages, run.counts, run.errors = after.pages, after.counts, after.errors
        return outcomes

    @staticmethod
    def _forget_errors(db: sqlite3.Connection, stored: Sequence[tuple[str, str]]) -> None:
        """Drop the ``record_errors`` rows of these (source id, local id) records, just stored."""
        sources = {source_id for source_id, _ in stored}
        if not any(db.execute("SELECT 1 FROM record_errors WHERE source_id = ? LIMIT 1", (s,)).fetchone()
                   for s in sources):
            return  # the common case: the source has no record in error
        db.executemany("DELETE FROM record_errors WHERE source_id = ? AND local_id = ?", stored)

    def _save_error(self, db: sqlite3.Connection, run: RunReport, err: RecordError, raw: bytes | None,
                    ts: str) -> None:
        """Keep one row per record in error: this one replaces the record's rows of earlier runs (and a
        copy of the same payload from this run). Distinct payloads of one run under one local id (records
        without an identifier) keep a row each, until the next run."""
        head, size, digest = self._error_raw(raw)
        db.execute("DELETE FROM record_errors WHERE source_id = ? AND local_id IS ?"
                   " AND (run_id != ? OR raw_sha256 IS ?)", (run.source_id, err.local_id, run.id, digest))
        db.execute(
            "INSERT INTO record_errors(run_id, source_id, local_id, message, url, raw, at, raw_size, raw_sha256)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (run.id, run.source_id, err.local_id, err.message, err.url, head, ts, size, digest),
        )

    @staticmethod
    def _save_checkpoint(db: sqlite3.Connection, run: RunReport, state: dict[str, Any], ts: str) -> None:
        db.execute(
            "INSERT INTO checkpoints(source_id, run_id, state_json, updated_at) VALUES (?,?,?,?)"
            " ON CONFLICT(source_id) DO UPDATE SET run_id=excluded.run_id,"
            " state_json=excluded.state_json, updated_at=excluded.updated_at",
            (run.source_id, run.id, json.dumps(state), ts),
        )

    @staticmethod
    def _prior(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[sqlite3.Row | None, bool]]:
        """What the store holds of a page's records, read in two queries: id → (records row, gated?)."""
        rows: dict[str, sqlite3.Row] = {}
        gated: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows.update((r["id"], r) for r in db.execute(
                f"SELECT id, content_hash, access_json, deleted FROM records WHERE id IN ({marks})", chunk))
            gated.update(r["id"] for r in db.execute(f"SELECT id FROM gated WHERE id IN ({marks})", chunk))
        return {i: (rows.get(i), i in gated) for i in ids}

    def _upsert(self, db: sqlite3.Connection, item: PageItem, run_id: int | None, ts: str,
                prior: dict[str, tuple[sqlite3.Row | None, bool]] | None = None) -> Outcome:
        """Write one record; ``prior`` (from :meth:`_prior`) saves reading its current row, once."""
        rec = item.record
        if prior is not None and rec.id in prior:
            row, was_gated = prior.pop(rec.id)  # popped: a second copy in the page reads the row anew
        else:
            row = db.execute(
                "SELECT content_hash, access_json, deleted FROM records WHERE id = ?", (rec.id,)
            ).fetchone()
            was_gated = True
        if rec.access.security in GATED_SECURITY:
            return self._gate(db, rec, ts, existed=row is not None)
        if rec.deleted:
            if row is None:
                db.execute(
                    "INSERT INTO records(id, source_id, local_id, datestamp, deleted, first_seen_at, updated_at,"
                    " last_seen_run, index_pending) VALUES (?,?,?,?,1,?,?,?,0)",
                    (rec.id, rec.source_id, rec.local_id, rec.datestamp, ts, ts, run_id),
                )
                return Outcome.DELETED
            db.execute(
                "UPDATE records SET deleted=1, datestamp=?, updated_at=?, last_seen_run=?, group_key=NULL,"
                " index_pending=CASE WHEN deleted=1 THEN index_pending ELSE 1 END WHERE id=?",
                (rec.datestamp, ts, run_id, rec.id),
            )
            db.execute("DELETE FROM raw_payloads WHERE record_id = ?", (rec.id,))
            return Outcome.UNCHANGED if row["deleted"] else Outcome.DELETED
        data = rec.to_dict()
        rec.content_hash = data["content_hash"] = content_hash(data)
        access_json = serial.dumps(data["access"], sort_keys=True)
        if row is not None and not row["deleted"] and row["content_hash"] == rec.content_hash \
                and row["access_json"] == access_json:
            db.execute("UPDATE records SET last_seen_run=?, input_key=COALESCE(?, input_key) WHERE id=?",
                       (run_id, item.input_key, rec.id))
            return Outcome.UNCHANGED
        record_json = serial.dumps(data)
        if was_gated:
            db.execute("DELETE FROM gated WHERE id = ?", (rec.id,))
        db.execute(
            "INSERT INTO records(id, source_id, local_id, content_hash, access_json, datestamp, deleted,"
            " record_json, first_seen_at, updated_at, last_seen_run, index_pending, input_key, group_key,"
            " pid_key) VALUES (?,?,?,?,?,?,0,?,?,?,?,1,?,?,?)"
            " ON CONFLICT(id) DO UPDATE SET content_hash=excluded.content_hash, access_json=excluded.access_json,"
            " datestamp=excluded.datestamp, deleted=0, record_json=excluded.record_json,"
            " updated_at=excluded.updated_at, last_seen_run=excluded.last_seen_run, index_pending=1,"
            " input_key=COALESCE(excluded.input_key, records.input_key), group_key=excluded.group_key,"
            " pid_key=excluded.pid_key",
            (rec.id, rec.source_id, rec.local_id, rec.content_hash, access_json, rec.datestamp,
             record_json, ts, ts, run_id, item.input_key, self._group_key(db, rec), group_key(rec)),
        )
        if item.raw is not None:
            db.execute(
                "INSERT INTO raw_payloads(record_id, format, body, received_at) VALUES (?,?,?,?)"
                " ON CONFLICT(record_id) DO UPDATE SET format=excluded.format, body=excluded.body,"
                " received_at=excluded.received_at",
                (rec.id, item.raw.format, item.raw.body, ts),
            )
        if row is None:
            return Outcome.ADDED
        return Outcome.UPDATED

    @staticmethod
    def _group_key(db: sqlite3.Connection, rec: Record) -> str:
        """The record's group key, unless its source gives the same DOI/CSTR to several records.

        Duplicates are one dataset reached through different sources; a PID that one source puts on
        many records names a collection, not a dataset, so those records are not grouped (and the
        ones already grouped under it are taken out, their index entries made pending).
        """
        key = group_key(rec)
        if key.startswith("id:"):
            return key
        shared = db.execute("SELECT 1 FROM records WHERE source_id=? AND pid_key=? AND id != ? AND deleted=0 LIMIT 1",
                            (rec.source_id, key, rec.id)).fetchone()
        if shared is None:
            return key
        db.execute("UPDATE records SET group_key='id:'||id, index_pending=1"
                   " WHERE source_id=? AND pid_key=? AND id != ? AND group_key=?", (rec.source_id, key, rec.id, key))
        return f"id:{rec.id}"

    def _gate(self, db: sqlite3.Connection, rec: Record, ts: str, *, existed: bool) -> Outcome:
        """Keep only id, source, level and time of a core/secret record; drop everything else."""
        db.execute(
            "INSERT INTO gated(id, source_id, level, seen_at) VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE"
            " SET level=excluded.level, seen_at=excluded.seen_at",
            (rec.id, rec.source_id, rec.access.security.value, ts),
        )
        if existed:
            db.execute(
                "UPDATE records SET deleted=1, record_json=NULL, content_hash=NULL, access_json=NULL,"
                " group_key=NULL, index_pending=1 WHERE id=?",
                (rec.id,),
            )
            db.execute("DELETE FROM raw_payloads WHERE record_id = ?", (rec.id,))
        return Outcome.GATED

    def retag(self, records: Sequence[Record]) -> list[tuple[Record, Outcome]]:
        """Store new tags of stored records (overrides, lifted embargoes); changed ones become pending."""
        ts = now_iso()
        out: list[tuple[Record, Outcome]] = []
        try:
            with self.transaction() as db:
                for rec in records:
                    row = db.execute("SELECT last_seen_run FROM records WHERE id=?", (rec.id,)).fetchone()
                    run_id = row["last_seen_run"] if row else None
                    out.append((rec, self._upsert(db, PageItem(rec, None), run_id, ts)))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot store new tags: {exc}") from exc
        return out

    def unchanged(self, keys: dict[str, str]) -> set[str]:
        """Of ``{record id: input key}``, the live records last mapped from exactly that input."""
        if not keys:
            return set()
        ids = list(keys)
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self.read(
                f"SELECT id, input_key FROM records WHERE deleted = 0 AND id IN ({','.join('?' * len(chunk))})",
                tuple(chunk))
            found.update(r["id"] for r in rows if r["input_key"] is not None and r["input_key"] == keys[r["id"]])
        return found

    def embargo_due(self, day: str) -> list[Record]:
        """Live records still tagged embargoed whose embargo ended on or before ``day``."""
        rows = self.read(
            "SELECT record_json FROM records WHERE deleted = 0"
            " AND json_extract(access_json, '$.openness') = 'embargoed'"
            " AND json_extract(access_json, '$.embargo_until') <= ?", (day,))
        return [Record.from_json(r["record_json"]) for r in rows]

    def source_of(self, record_id: str) -> str | None:
        """The source of a stored record, live or gated (None when there is no such record)."""
        rows = self.read("SELECT source_id FROM records WHERE id = ? AND deleted = 0 UNION ALL"
                         " SELECT source_id FROM gated WHERE id = ?", (record_id, record_id))
        return rows[0]["source_id"] if rows else None

    def current_security(self, record_id: str) -> str | None:
        """The security level a stored record has now (live or gated), or None when there is no such record."""
        rows = self.read("SELECT json_extract(access_json, '$.security') AS level FROM records WHERE id = ?"
                         " AND deleted = 0 UNION ALL SELECT level FROM gated WHERE id = ?", (record_id, record_id))
        return str(rows[0]["level"]) if rows else None

    def awaiting_review(self, source_id: str | None = None, limit: int = 500) -> list[Record]:
        """Live records tagged ``review`` (a restricted-category hint, nothing decisive), oldest change first."""
        where = " AND source_id = ?" if source_id else ""
        rows = self.read(
            "SELECT record_json FROM records WHERE deleted = 0 AND json_extract(access_json, '$.security') = 'review'"
            f"{where} ORDER BY updated_at, id LIMIT ?", (*([source_id] if source_id else []), limit))
        return [Record.from_json(r["record_json"]) for r in rows]

    def gated_level(self, record_id: str) -> tuple[str, str] | None:
        """(source id, level) of a gated record, else None."""
        rows = self.read("SELECT source_id, level FROM gated WHERE id = ?", (record_id,))
        return (rows[0]["source_id"], rows[0]["level"]) if rows else None

    def gated_counts(self) -> dict[str, dict[str, int]]:
        """Per source, how many records each gated level holds (all metrics may know of them)."""
        out: dict[str, dict[str, int]] = {}
        for r in self.read("SELECT source_id, level, COUNT(*) AS n FROM gated GROUP BY source_id, level"):
            out.setdefault(r["source_id"], {})[r["level"]] = r["n"]
        return out

    def get(self, record_id: str) -> Record | None:
        """A live (not deleted) record, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT record_json FROM records WHERE id = ? AND deleted = 0", (record_id,)
            ).fetchone()
        if row is None or row["record_json"] is None:
            return None
        return Record.from_json(row["record_json"])

    def get_visible(self, record_id: str, allows: Callable[[Security, GeoScope], bool]) -> Record | None:
        """A live record that ``allows`` accepts, or None: missing and hidden cost the same work.

        The access tags are read first (one indexed lookup, two short strings) and tested; only a visible
        record is then read and parsed, so a hidden id cannot be told from a missing one by its timing.
        """
        with self._lock:
            row = self._db.execute(
                "SELECT json_extract(access_json, '$.security') AS security,"
                " json_extract(access_json, '$.geo_scope') AS geo_scope"
                " FROM records WHERE id = ? AND deleted = 0 AND record_json IS NOT NULL", (record_id,)
            ).fetchone()
        found = row is not None
        security, geo_scope = (row["security"], row["geo_scope"]) if found else _NO_ACCESS
        visible = allows(_enum(Security, security), _enum(GeoScope, geo_scope))
        if not (found and visible):
            return None
        return self.get(record_id)

    def raw(self, record_id: str) -> RawPayload | None:
        with self._lock:
            row = self._db.execute(
                "SELECT format, body FROM raw_payloads WHERE record_id = ?", (record_id,)
            ).fetchone()
        return RawPayload(row["format"], bytes(row["body"])) if row else None

    def _keyset(self, sql: str, args: tuple[Any, ...], batch: int) -> Iterator[sqlite3.Row]:
        """Rows of ``sql`` (which filters on ``r.id > ?`` last and orders by id), a batch at a time."""
        last = ""
        while True:
            with self._lock:
                rows = self._db.execute(sql + " ORDER BY r.id LIMIT ?", (*args, last, batch)).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1]["id"]

    def iter_raw(self, source_id: str, batch: int = 500) -> Iterator[tuple[str, RawPayload]]:
        """Raw payloads of a source's live records, streamed in id order."""
        sql = ("SELECT r.id, p.format, p.body FROM records r JOIN raw_payloads p ON p.record_id = r.id"
               " WHERE r.source_id = ? AND r.deleted = 0 AND r.id > ?")
        for row in self._keyset(sql, (source_id,), batch):
            yield row["id"], RawPayload(row["format"], bytes(row["body"]))

    def iter_records(self, source_id: str | None = None, batch: int = 500) -> Iterator[Record]:
        """All live records (of one source when given), streamed in id order (bounded memory)."""
        sql = "SELECT r.id, r.record_json FROM records r WHERE r.deleted = 0"
        args: tuple[Any, ...] = ()
        if source_id:
            sql += " AND r.source_id = ?"
            args = (source_id,)
        for row in self._keyset(sql + " AND r.id > ?", args, batch):
            yield Record.from_json(row["record_json"])

    def pending(self, batch: int = 500) -> list[tuple[str, Record | None]]:
        """Up to ``batch`` records whose index copy is stale: (id, record or None when deleted)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, deleted, record_json FROM records WHERE index_pending = 1 ORDER BY id LIMIT ?",
                (batch,),
            ).fetchall()
        out: list[tuple[str, Record | None]] = []
        for row in rows:
            live = not row["deleted"] and row["record_json"]
            out.append((row["id"], Record.from_json(row["record_json"]) if live else None))
        return out

    def mark_indexed(self, ids: Sequence[str]) -> None:
        """The records' index entries are current: built under their present group."""
        with self.transaction() as db:
            db.executemany("UPDATE records SET index_pending = 0, indexed_group = group_key WHERE id = ?",
                           [(i,) for i in ids])

    @property
    def store_id(self) -> str:
        """This store's identity (made once, when it was created): an index records which store it reflects."""
        rows = self.read("SELECT value FROM meta WHERE key = 'store_id'")
        return str(rows[0]["value"])

    def index_counts(self) -> tuple[int, int]:
        """(live records, records whose index copy is stale)."""
        row = self.read("SELECT SUM(deleted = 0 AND record_json IS NOT NULL), SUM(index_pending = 1) FROM records")[0]
        return int(row[0] or 0), int(row[1] or 0)

    def pending_count(self, source_id: str) -> int:
        """How many of a source's records wait for the index (the partial index on pending rows keeps it cheap)."""
        where = " FROM records INDEXED BY records_pending_id WHERE index_pending = 1 AND source_id = ?"
        if not self.read("SELECT 1" + where + " LIMIT 1", (source_id,)):
            return 0  # the usual answer, without counting anything
        return int(self.read("SELECT COUNT(*)" + where, (source_id,))[0][0])

    def waiting_for_index(self) -> bool:
        """Whether any record waits for the index (one row of the partial index read, at most)."""
        return bool(self.read("SELECT 1 FROM records INDEXED BY records_pending_id WHERE index_pending = 1 LIMIT 1"))

    def mark_all_pending(self) -> int:
        """The index holds none of this store (lost, new, or built from another store): every live record is
        to be indexed again; returns how many."""
        with self.transaction() as db:
            cur = db.execute("UPDATE records SET index_pending = 1, indexed_group = NULL"
                             " WHERE deleted = 0 AND record_json IS NOT NULL")
            return int(cur.rowcount)

    def start_rebuild(self) -> None:
        """A rebuild starts reading the store: the records waiting for the index become "waiting, and the
        rebuild reads them" (2). A record written while the rebuild runs is marked 1 again by that write, so
        :meth:`mark_all_indexed` leaves it waiting (its group may have been read before the write)."""
        with self.transaction() as db:
            db.execute("UPDATE records SET index_pending = 2 WHERE index_pending = 1")

    def abandoned_rebuild(self) -> int:
        """Marks a rebuild killed before its end left (2) become plain pending marks again; returns how many."""
        if not self.read("SELECT 1 FROM records INDEXED BY records_rebuilding_id WHERE index_pending = 2 LIMIT 1"):
            return 0
        with self.transaction() as db:
            return int(db.execute("UPDATE records SET index_pending = 1 WHERE index_pending = 2").rowcount)

    def mark_all_indexed(self) -> None:
        """After a rebuild from the store, every record's index copy is current, except those written while
        it ran (marked 1 since :meth:`start_rebuild`): they stay pending for the catch-up."""
        with self.transaction() as db:
            db.execute("UPDATE records SET index_pending = 0, indexed_group = group_key"
                       " WHERE index_pending = 2 OR (index_pending = 0 AND indexed_group IS NOT group_key)")

    # -- duplicate groups --------------------------------------------------------------

    def group_keys_of(self, ids: Sequence[str]) -> dict[str, set[str]]:
        """Per record: the group it belongs to and the group its index entry was built under."""
        out: dict[str, set[str]] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.read(f"SELECT id, group_key, indexed_group FROM records WHERE id IN ({marks})",
                                 tuple(chunk)):
                out[row["id"]] = {k for k in (row["group_key"], row["indexed_group"]) if k}
        return out

    def groups(self, keys: Sequence[str], known: Mapping[str, Record] | None = None) -> list[DatasetGroup]:
        """The groups of these keys with their live members (a group nobody is left in has none).

        Members found in ``known`` (records just written, by id) are not read back from the store.
        """
        known = known or {}
        found: dict[str, DatasetGroup] = {k: DatasetGroup(k) for k in keys}
        for chunk in _chunks(list(keys), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.read(f"SELECT id, group_key FROM records WHERE group_key IN ({marks})"
                             " AND deleted = 0 AND record_json IS NOT NULL ORDER BY id", tuple(chunk))
            missing = [r["id"] for r in rows if r["id"] not in known]
            loaded = {rec.id: rec for rec in self._records(missing)}
            for row in rows:
                member = known.get(row["id"]) or loaded.get(row["id"])
                if member is not None:
                    found[row["group_key"]].members.append(member)
        return list(found.values())

    def _records(self, ids: Sequence[str]) -> list[Record]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.read(f"SELECT record_json FROM records WHERE id IN ({marks}) AND deleted = 0"
                         " AND record_json IS NOT NULL", tuple(ids))
        return [Record.from_json(r["record_json"]) for r in rows]

    def iter_groups(self, batch: int = 500) -> Iterator[DatasetGroup]:
        """Every group with live members, streamed in key order (bounded memory)."""
        last_key, last_id = "", ""
        current: DatasetGroup | None = None
        while True:
            rows = self.read(
                "SELECT id, group_key, record_json FROM records WHERE deleted = 0 AND group_key IS NOT NULL"
                " AND record_json IS NOT NULL AND (group_key > ? OR (group_key = ? AND id > ?))"
                " ORDER BY group_key, id LIMIT ?", (last_key, last_key, last_id, batch))
            if not rows:
                break
            for row in rows:
                if current is None or current.key != row["group_key"]:
                    if current is not None:
                        yield current
                    current = DatasetGroup(row["group_key"])
                current.members.append(Record.from_json(row["record_json"]))
            last_key, last_id = rows[-1]["group_key"], rows[-1]["id"]
        if current is not None:
            yield current

    def same_dataset(self, record_id: str) -> list[Record]:
        """The other live records of the dataset ``record_id`` describes (other sources' copies)."""
        rows = self.read(
            "SELECT record_json FROM records WHERE deleted = 0 AND record_json IS NOT NULL AND id != ?"
            " AND group_key = (SELECT group_key FROM records WHERE id = ?) ORDER BY id", (record_id, record_id))
        return [Record.from_json(r["record_json"]) for r in rows]

    def counts(self, source_id: str | None = None) -> dict[str, int]:
        sql = "SELECT SUM(deleted = 0), SUM(deleted = 1) FROM records"
        args: tuple[Any, ...] = ()
        if source_id:
            sql += " WHERE source_id = ?"
            args = (source_id,)
        with self._lock:
            live, deleted = self._db.execute(sql, args).fetchone()
        return {"records": live or 0, "deleted": deleted or 0}

    def tombstone(self, ids: Sequence[str]) -> None:
        """Mark records deleted (their payloads dropped); the index copy becomes pending."""
        ts = now_iso()
        with self.transaction() as db:
            for rec_id in ids:
                db.execute("UPDATE records SET deleted=1, updated_at=?, index_pending=1, group_key=NULL WHERE id=?",
                           (ts, rec_id))
                db.execute("DELETE FROM raw_payloads WHERE record_id = ?", (rec_id,))

    def live_ids_not_seen(self, source_id: str, run_id: int) -> list[str]:
        """Live records of a source that the given run did not see (for delete-by-absence)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM records WHERE source_id = ? AND deleted = 0 AND"
                " (last_seen_run IS NULL OR last_seen_run != ?)",
                (source_id, run_id),
            ).fetchall()
        return [r["id"] for r in rows]

    # -- runs and checkpoints ----------------------------------------------------------

    def start_run(self, run: RunReport) -> RunReport:
        run.started_at = now_iso()
        run.status = RunStatus.RUNNING
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO harvest_runs(source_id, status, full, started_at, pid, host, heartbeat_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (run.source_id, run.status.value, int(run.full), run.started_at, os.getpid(), socket.gethostname(),
                 run.started_at),
            )
            run.id = int(cur.lastrowid or 0)
        return run

    def finish_run(self, run: RunReport, status: RunStatus, *, newest_datestamp: str | None = None,
                   message: str | None = None, clear_checkpoint: bool = False) -> None:
        """Write the run's final report; with ``clear_checkpoint``, drop its source's checkpoint in the
        same transaction (a crash in between would leave a finished run with a checkpoint, or the
        reverse)."""
        run.status = status
        run.finished_at = ts = now_iso()
        if message:
            run.message = message
        with self.transaction() as db:
            self._save_run(db, run, heartbeat=ts)
            if newest_datestamp:
                db.execute("UPDATE harvest_runs SET newest_datestamp=? WHERE id=?", (newest_datestamp, run.id))
            if clear_checkpoint:
                db.execute("DELETE FROM checkpoints WHERE source_id = ?", (run.source_id,))

    def _save_run(self, db: sqlite3.Connection, run: RunReport, *, heartbeat: str) -> None:
        """Write the run's report; ``heartbeat`` is when the run was last known alive (an interrupted
        run ends there)."""
        db.execute(
            "UPDATE harvest_runs SET status=?, finished_at=?, pages=?, counts_json=?, retries_json=?,"
            " errors_json=?, warnings_json=?, message=?, heartbeat_at=? WHERE id=?",
            (run.status.value, run.finished_at, run.pages, json.dumps(dict(run.counts)),
             json.dumps(dict(run.retries)), json.dumps([e.__dict__ for e in run.errors], ensure_ascii=False),
             json.dumps(run.warnings, ensure_ascii=False), run.message, heartbeat, run.id),
        )

    def save_checkpoint(self, run: RunReport, state: dict[str, Any]) -> None:
        """Save a checkpoint that comes with no page (the end of a complete listing); a heartbeat too."""
        ts = now_iso()
        try:
            with self.transaction() as db:
                self._save_checkpoint(db, run, state, ts)
                db.execute("UPDATE harvest_runs SET heartbeat_at=? WHERE id=?", (ts, run.id))
        except sqlite3.Error as exc:
            raise StoreError(f"[{run.source_id}] cannot save a checkpoint: {exc}") from exc

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process that is gone become 'interrupted'; returns how many.

        A run of a live process on this host (a harvest going on elsewhere) is left alone. An
        interrupted run ends at its last heartbeat (its start, or the last page it stored), not when
        it is found.
        """
        host = socket.gethostname()
        rows = self.read("SELECT id, pid, host FROM harvest_runs WHERE status=?", (RunStatus.RUNNING.value,))
        dead = [r["id"] for r in rows if not (r["host"] == host and r["pid"] and _alive(r["pid"]))]
        if not dead:  # the common case takes no write lock (readers call this too, through runs())
            return 0
        marked = 0
        with self.transaction() as db:
            for run_id in dead:  # unless another process marked it meanwhile
                marked += db.execute(
                    "UPDATE harvest_runs SET status=?, finished_at=COALESCE(heartbeat_at, ?), message=?"
                    " WHERE id=? AND status=?",
                    (RunStatus.INTERRUPTED.value, now_iso(), "the harvesting process stopped before the run ended",
                     run_id, RunStatus.RUNNING.value),
                ).rowcount
        return marked

    def runs(self, source_id: str | None = None, limit: int = 50) -> list[RunReport]:
        self.mark_interrupted()
        sql = "SELECT * FROM harvest_runs"
        args: tuple[Any, ...] = ()
        if source_id:
            sql += " WHERE source_id = ?"
            args = (source_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_run_from_row(r) for r in rows]

    def last_successful_datestamp(self, source_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT newest_datestamp FROM harvest_runs WHERE source_id=? AND status IN (?,?)"
                " AND newest_datestamp IS NOT NULL ORDER BY id DESC LIMIT 1",
                (source_id, RunStatus.SUCCEEDED.value, RunStatus.PARTIAL.value),
            ).fetchone()
        return row["newest_datestamp"] if row else None

    def checkpoint(self, source_id: str) -> tuple[int, dict[str, Any]] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT run_id, state_json FROM checkpoints WHERE source_id = ?", (source_id,)
            ).fetchone()
        return (int(row["run_id"]), json.loads(row["state_json"])) if row else None

    def clear_checkpoint(self, source_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM checkpoints WHERE source_id = ?", (source_id,))

    def source_stats(self) -> dict[str, dict[str, Any]]:
        """Per source: live and deleted record counts and the newest datestamp."""
        with self._lock:
            rows = self._db.execute(
                "SELECT source_id, SUM(deleted = 0) AS live, SUM(deleted = 1) AS deleted,"
                " MAX(datestamp) AS newest FROM records GROUP BY source_id"
            ).fetchall()
        return {r["source_id"]: {"records": r["live"] or 0, "deleted": r["deleted"] or 0,
                                 "newest_datestamp": r["newest"]} for r in rows}


#: What :meth:`RecordStore.get_visible` tests for a missing id, so that it does the work a hidden one does.
_NO_ACCESS = (Security.UNKNOWN.value, GeoScope.UNKNOWN.value)
_E = TypeVar("_E", bound=Enum)


def _enum(kind: type[_E], value: Any) -> _E:
    try:
        return kind(value)
    except ValueError:
        return kind("unknown")


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_from_row(row: sqlite3.Row) -> RunReport:
    from collections import Counter

    run = RunReport(
        source_id=row["source_id"],
        id=row["id"],
        status=RunStatus(row["status"]),
        full=bool(row["full"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        pages=row["pages"],
        counts=Counter(json.loads(row["counts_json"])),
        retries=Counter(json.loads(row["retries_json"])),
        errors=[RecordError(**e) for e in json.loads(row["errors_json"])],
        warnings=json.loads(row["warnings_json"] or "[]"),
        message=row["message"],
    )
    return run
