"""The store's side of the index: which records wait for it, and the dataset groups it is built from.

A record whose index copy is stale carries ``index_pending = 1`` (every write marks it); the index
catches up with :meth:`Indexing.pending` and clears the marks with :meth:`Indexing.mark_indexed`. The
index holds one entry per dataset group (:mod:`..grouping`), read here from the records' group keys.
A rebuild marks what it reads ``2`` (:meth:`Indexing.start_rebuild`), so that a record written while it
runs stays pending.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ..grouping import DatasetGroup
from ..model import Record
from .connection import StoreConnection, chunks


class Indexing:
    """Index-pending marks and duplicate groups of the records table."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def pending(self, batch: int = 500) -> list[tuple[str, Record | None]]:
        """Up to ``batch`` records whose index copy is stale: (id, record or None when deleted)."""
        with self._conn.lock:
            rows = self._conn.db.execute(
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
        with self._conn.transaction() as db:
            db.executemany("UPDATE records SET index_pending = 0, indexed_group = group_key WHERE id = ?",
                           [(i,) for i in ids])

    def index_counts(self) -> tuple[int, int]:
        """(live records, records whose index copy is stale)."""
        row = self._conn.read("SELECT SUM(CASE WHEN deleted = 0 AND record_json IS NOT NULL THEN 1 ELSE 0 END),"
                              " SUM(CASE WHEN index_pending = 1 THEN 1 ELSE 0 END) "
                              "FROM records")[0]
        return int(row[0] or 0), int(row[1] or 0)

    def pending_count(self, source_id: str) -> int:
        """How many of a source's records wait for the index (the partial index on pending rows keeps it cheap)."""
        where = " FROM records INDEXED BY records_pending_id WHERE index_pending = 1 AND source_id = ?"
        if not self._conn.read("SELECT 1" + where + " LIMIT 1", (source_id,)):
            return 0  # the usual answer, without counting anything
        return int(self._conn.read("SELECT COUNT(*)" + where, (source_id,))[0][0])

    def waiting_for_index(self) -> bool:
        """Whether any record waits for the index (one row of the partial index read, at most)."""
        return bool(self._conn.read("SELECT 1 FROM records INDEXED BY records_pending_id "
                                    "WHERE index_pending = 1 LIMIT 1"))

    def mark_all_pending(self) -> int:
        """The index holds none of this store (lost, new, or built from another store): every live record is
        to be indexed again; returns how many."""
        with self._conn.transaction() as db:
            cur = db.execute("UPDATE records SET index_pending = 1, indexed_group = NULL"
                             " WHERE deleted = 0 AND record_json IS NOT NULL")
            return int(cur.rowcount)

    def start_rebuild(self) -> None:
        """A rebuild starts reading the store: the records waiting for the index become "waiting, and the
        rebuild reads them" (2). A record written while the rebuild runs is marked 1 again by that write, so
        :meth:`mark_all_indexed` leaves it waiting (its group may have been read before the write)."""
        with self._conn.transaction() as db:
            db.execute("UPDATE records SET index_pending = 2 WHERE index_pending = 1")

    def abandoned_rebuild(self) -> int:
        """Marks a rebuild killed before its end left (2) become plain pending marks again; returns how many."""
        if not self._conn.read("SELECT 1 FROM records INDEXED BY records_rebuilding_id "
                               "WHERE index_pending = 2 LIMIT 1"):
            return 0
        with self._conn.transaction() as db:
            return int(db.execute("UPDATE records SET index_pending = 1 WHERE index_pending = 2").rowcount)

    def mark_all_indexed(self) -> None:
        """After a rebuild from the store, every record's index copy is current, except those written while
        it ran (marked 1 since :meth:`start_rebuild`): they stay pending for the catch-up."""
        with self._conn.transaction() as db:
            db.execute("UPDATE records SET index_pending = 0, indexed_group = group_key"
                       " WHERE index_pending = 2 OR (index_pending = 0 AND indexed_group IS NOT group_key)")

    # -- duplicate groups ----------------------------------------------------------------------

    def group_keys_of(self, ids: Sequence[str]) -> dict[str, set[str]]:
        """Per record: the group it belongs to and the group its index entry was built under.

        Records these groups gained or lost by a re-keying (groups joined or split by the change of
        one of them, see :func:`.regrouping.regroup`) are listed too, with both their keys: every group
        whose index entry the change makes stale is named.
        """
        out: dict[str, set[str]] = {}
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self._conn.read(f"SELECT id, group_key, indexed_group FROM records WHERE id IN ({marks})",
                                 tuple(chunk)):
                out[row["id"]] = {k for k in (row["group_key"], row["indexed_group"]) if k}
        keys = sorted({k for ks in out.values() for k in ks})
        named = set(keys)
        for chunk in chunks(keys, 250):
            marks = ",".join("?" * len(chunk))
            for row in self._conn.read(
                    f"SELECT id, group_key, indexed_group FROM records WHERE (group_key IN ({marks})"
                    f" OR indexed_group IN ({marks})) AND group_key IS NOT indexed_group", tuple(chunk) * 2):
                own = {k for k in (row["group_key"], row["indexed_group"]) if k}
                if not own <= named:  # it names another group
                    out.setdefault(row["id"], set()).update(own)
        return out

    def groups(self, keys: Sequence[str], known: Mapping[str, Record] | None = None) -> list[DatasetGroup]:
        """The groups of these keys with their live members (a group nobody is left in has none).

        Members found in ``known`` (records just written, by id) are not read back from the store.
        """
        known = known or {}
        found: dict[str, DatasetGroup] = {k: DatasetGroup(k) for k in keys}
        for chunk in chunks(list(keys), 500):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.read(f"SELECT id, group_key FROM records WHERE group_key IN ({marks})"
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
        rows = self._conn.read(f"SELECT record_json FROM records WHERE id IN ({marks}) AND deleted = 0"
                         " AND record_json IS NOT NULL", tuple(ids))
        return [Record.from_json(r["record_json"]) for r in rows]

    def iter_groups(self, batch: int = 500) -> Iterator[DatasetGroup]:
        """Every group with live members, streamed in key order (bounded memory)."""
        last_key, last_id = "", ""
        current: DatasetGroup | None = None
        while True:
            rows = self._conn.read(
                "SELECT id, group_key, record_json FROM records WHERE deleted = 0 AND group_key IS NOT NULL"
                " AND record_json IS NOT NULL AND (group_key, id) > (?, ?)"  # a row value: one index range
                " ORDER BY group_key, id LIMIT ?", (last_key, last_id, batch))
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
