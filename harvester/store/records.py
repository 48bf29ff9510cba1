"""The records repository: normalised records, their raw payloads, gated records, tombstones.

A record is written with its raw payload, its identifiers (``record_pids``: one row per DOI or CSTR
of a live record) and its group key (:mod:`..grouping`); a core or secret record keeps only its id,
source, level and time (``gated``). Every change marks the record ``index_pending`` for the index to
catch up (:class:`.indexing.Indexing`); a change that joins or splits groups re-keys the members
concerned in the same transaction and marks them pending too (:func:`.regrouping.regroup`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from .. import serial
from ..errors import StoreError
from ..grouping import group_key, identifier_keys
from ..model import GATED_SECURITY, GeoScope, Record, Security, content_hash
from .connection import Db, Row, StoreConnection
from .regrouping import Before, regroup, set_identifiers
from .runs import Outcome


@dataclass
class RawPayload:
    format: str
    body: bytes


@dataclass
class PageItem:
    """One record of a page as the pipeline hands it to the store."""

    record: Record
    raw: RawPayload | None
    #: What the record was mapped from (raw payload + mapping fingerprint), see :meth:`Records.unchanged`.
    input_key: str | None = None


class Records:
    """Records as harvested and mapped; safe to share between threads (the connection serialises writes)."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    # -- writes --------------------------------------------------------------------------------

    def write_page(self, db: Db, run_id: int, items: Sequence[PageItem], seen: Sequence[str],
                   ts: str) -> list[tuple[Record, Outcome]]:
        """Inside the page's transaction (``db``): write its records, note the last run of those it
        listed unchanged (``seen``, not re-mapped); returns each record's outcome."""
        ids = [item.record.id for item in items]
        prior = self._prior(db, ids)
        before = Before.read(db, ids)
        outcomes = [(item.record, self._upsert(db, item, run_id, ts, prior)) for item in items]
        db.executemany("UPDATE records SET last_seen_run=? WHERE id=?", [(run_id, i) for i in seen])
        regroup(db, ids, before)
        return outcomes

    @staticmethod
    def _prior(db: Db, ids: Sequence[str]) -> dict[str, tuple[Row | None, bool]]:
        """What the store holds of a page's records, read in two queries: id → (records row, gated?)."""
        rows: dict[str, Row] = {}
        gated: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows.update((r["id"], r) for r in db.execute(
                f"SELECT id, content_hash, access_json, deleted FROM records WHERE id IN ({marks})", chunk))
            gated.update(r["id"] for r in db.execute(f"SELECT id FROM gated WHERE id IN ({marks})", chunk))
        return {i: (rows.get(i), i in gated) for i in ids}

    def _upsert(self, db: Db, item: PageItem, run_id: int | None, ts: str,
                prior: dict[str, tuple[Row | None, bool]] | None = None) -> Outcome:
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
            set_identifiers(db, rec, [])
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
             record_json, ts, ts, run_id, item.input_key, group_key(rec), group_key(rec)),
        )
        set_identifiers(db, rec, identifier_keys(rec))
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

    def _gate(self, db: Db, rec: Record, ts: str, *, existed: bool) -> Outcome:
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
            set_identifiers(db, rec, [])
        return Outcome.GATED

    def retag(self, records: Sequence[Record], *, changed: list[str] | None = None) -> list[tuple[Record, Outcome]]:
        """Store new tags of stored records (overrides, lifted embargoes); changed ones become pending.

        Each record is written only if the store still holds the content it was read with (its
        ``content_hash``): a record a harvest rewrote, or deleted, since it was read is left as the harvest
        wrote it, not overwritten with the older content, and its id goes to ``changed`` (the caller
        reads it again and tags that)."""
        ts = self._conn.now()
        out: list[tuple[Record, Outcome]] = []
        try:
            with self._conn.transaction() as db:
                current = []
                for rec in records:
                    row = db.execute("SELECT last_seen_run, content_hash, deleted FROM records WHERE id=?",
                                     (rec.id,)).fetchone()
                    if row is not None and (row["deleted"] or row["content_hash"] != rec.content_hash):
                        if changed is not None:
                            changed.append(rec.id)
                        continue
                    current.append((rec, row["last_seen_run"] if row else None))
                before = Before.read(db, [r.id for r, _ in current])
                for rec, run_id in current:
                    out.append((rec, self._upsert(db, PageItem(rec, None), run_id, ts)))
                regroup(db, [r.id for r, _ in current], before)
        except self._conn.errors as exc:
            raise StoreError(f"cannot store new tags: {exc}") from exc
        return out

    def tombstone(self, ids: Sequence[str]) -> None:
        """Mark records deleted (their payloads dropped); the index copy becomes pending."""
        ts = self._conn.now()
        with self._conn.transaction() as db:
            before = Before.read(db, ids)
            for rec_id in ids:
                db.execute("UPDATE records SET deleted=1, updated_at=?, index_pending=1, group_key=NULL WHERE id=?",
                           (ts, rec_id))
                db.execute("DELETE FROM raw_payloads WHERE record_id = ?", (rec_id,))
                db.execute("DELETE FROM record_pids WHERE record_id = ?", (rec_id,))
            regroup(db, ids, before)

    def live_ids_not_seen(self, source_id: str, run_id: int) -> list[str]:
        """Live records of a source that the given run did not see (for delete-by-absence)."""
        with self._conn.lock:
            rows = self._conn.db.execute(
                "SELECT id FROM records WHERE source_id = ? AND deleted = 0 AND"
                " (last_seen_run IS NULL OR last_seen_run != ?)",
                (source_id, run_id),
            ).fetchall()
        return [r["id"] for r in rows]

    def unchanged(self, keys: dict[str, str]) -> set[str]:
        """Of ``{record id: input key}``, the live records last mapped from exactly that input."""
        if not keys:
            return set()
        ids = list(keys)
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._conn.read(
                f"SELECT id, input_key FROM records WHERE deleted = 0 AND id IN ({','.join('?' * len(chunk))})",
                tuple(chunk))
            found.update(r["id"] for r in rows if r["input_key"] is not None and r["input_key"] == keys[r["id"]])
        return found

    # -- reads ---------------------------------------------------------------------------------

    def get(self, record_id: str) -> Record | None:
        """A live (not deleted) record, or None."""
        with self._conn.lock:
            row = self._conn.db.execute(
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
        with self._conn.lock:
            row = self._conn.db.execute(
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
        with self._conn.lock:
            row = self._conn.db.execute(
                "SELECT format, body FROM raw_payloads WHERE record_id = ?", (record_id,)
            ).fetchone()
        return RawPayload(row["format"], bytes(row["body"])) if row else None

    def _keyset(self, sql: str, args: tuple[Any, ...], batch: int, after: str = "") -> Iterator[Row]:
        """Rows of ``sql`` (which filters on ``r.id > ?`` last and orders by id), a batch at a time, from
        the first id after ``after``."""
        last = after
        while True:
            with self._conn.lock:
                rows = self._conn.db.execute(sql + " ORDER BY r.id LIMIT ?", (*args, last, batch)).fetchall()
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

    def visible_ids(self, allows: Callable[[Security, GeoScope], bool], batch: int = 5000,
                    after: str = "") -> Iterator[str]:
        """The ids after ``after`` of the live records whose pages ``allows`` lets a caller see (the test of
        :meth:`get_visible`), streamed in id order from the access tags alone (bounded memory)."""
        sql = ("SELECT r.id, json_extract(r.access_json, '$.security') AS security,"
               " json_extract(r.access_json, '$.geo_scope') AS geo_scope FROM records r"
               " WHERE r.deleted = 0 AND r.record_json IS NOT NULL AND r.id > ?")
        decided: dict[tuple[Any, Any], bool] = {}  # the test of each pair of tags, asked once
        for row in self._keyset(sql, (), batch, after):
            tags = (row["security"], row["geo_scope"])
            visible = decided.get(tags)
            if visible is None:
                visible = decided[tags] = allows(_enum(Security, tags[0]), _enum(GeoScope, tags[1]))
            if visible:
                yield row["id"]

    def same_dataset(self, record_id: str) -> list[Record]:
        """The other live records of the dataset ``record_id`` describes (other sources' copies)."""
        rows = self._conn.read(
            "SELECT record_json FROM records WHERE deleted = 0 AND record_json IS NOT NULL AND id != ?"
            " AND group_key = (SELECT group_key FROM records WHERE id = ?) ORDER BY id", (record_id, record_id))
        return [Record.from_json(r["record_json"]) for r in rows]

    def embargo_due(self, day: str) -> list[Record]:
        """Live records still tagged embargoed whose embargo ended on or before ``day``."""
        rows = self._conn.read(
            "SELECT record_json FROM records WHERE deleted = 0"
            " AND json_extract(access_json, '$.openness') = 'embargoed'"
            " AND json_extract(access_json, '$.embargo_until') <= ?", (day,))
        return [Record.from_json(r["record_json"]) for r in rows]

    def awaiting_review(self, source_id: str | None = None, limit: int = 500) -> list[Record]:
        """Live records tagged ``review`` (a restricted-category hint, nothing decisive), oldest change first."""
        where = " AND source_id = ?" if source_id else ""
        rows = self._conn.read(
            "SELECT record_json FROM records WHERE deleted = 0 AND json_extract(access_json, '$.security') = 'review'"
            f"{where} ORDER BY updated_at, id LIMIT ?", (*([source_id] if source_id else []), limit))
        return [Record.from_json(r["record_json"]) for r in rows]

    def source_of(self, record_id: str) -> str | None:
        """The source of a stored record, live or gated (None when there is no such record)."""
        rows = self._conn.read("SELECT source_id FROM records WHERE id = ? AND deleted = 0 UNION ALL"
                         " SELECT source_id FROM gated WHERE id = ?", (record_id, record_id))
        return rows[0]["source_id"] if rows else None

    def current_security(self, record_id: str) -> str | None:
        """The security level a stored record has now (live or gated), or None when there is no such record."""
        rows = self._conn.read("SELECT json_extract(access_json, '$.security') AS level FROM records WHERE id = ?"
                         " AND deleted = 0 UNION ALL SELECT level FROM gated WHERE id = ?", (record_id, record_id))
        return str(rows[0]["level"]) if rows else None

    def gated_level(self, record_id: str) -> tuple[str, str] | None:
        """(source id, level) of a gated record, else None."""
        rows = self._conn.read("SELECT source_id, level FROM gated WHERE id = ?", (record_id,))
        return (rows[0]["source_id"], rows[0]["level"]) if rows else None

    def gated_counts(self) -> dict[str, dict[str, int]]:
        """Per source, how many records each gated level holds (all metrics may know of them)."""
        out: dict[str, dict[str, int]] = {}
        for r in self._conn.read("SELECT source_id, level, COUNT(*) AS n FROM gated GROUP BY source_id, level"):
            out.setdefault(r["source_id"], {})[r["level"]] = r["n"]
        return out

    def counts(self, source_id: str | None = None) -> dict[str, int]:
        sql = f"SELECT {LIVE}, {DELETED} FROM records"
        args: tuple[Any, ...] = ()
        if source_id:
            sql += " WHERE source_id = ?"
            args = (source_id,)
        with self._conn.lock:
            live, deleted = self._conn.db.execute(sql, args).fetchone()
        return {"records": live or 0, "deleted": deleted or 0}

    def source_stats(self) -> dict[str, dict[str, Any]]:
        """Per source: live and deleted record counts and the newest datestamp."""
        with self._conn.lock:
            rows = self._conn.db.execute(
                f"SELECT source_id, {LIVE} AS live, {DELETED} AS deleted,"
                " MAX(datestamp) AS newest FROM records GROUP BY source_id"
            ).fetchall()
        return {r["source_id"]: {"records": r["live"] or 0, "deleted": r["deleted"] or 0,
                                 "newest_datestamp": r["newest"]} for r in rows}


#: Live and deleted rows counted (a sum of a comparison is SQLite's only).
LIVE = "SUM(CASE WHEN deleted = 0 THEN 1 ELSE 0 END)"
DELETED = "SUM(CASE WHEN deleted = 1 THEN 1 ELSE 0 END)"
#: What :meth:`Records.get_visible` tests for a missing id, so that it does the work a hidden one does.
_NO_ACCESS = (Security.UNKNOWN.value, GeoScope.UNKNOWN.value)
_E = TypeVar("_E", bound=Enum)


def _enum(kind: type[_E], value: Any) -> _E:
    try:
        return kind(value)
    except ValueError:
        return kind("unknown")
