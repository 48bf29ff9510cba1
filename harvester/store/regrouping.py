"""Duplicate groups in the store: each live record's identifiers (``record_pids``: one row per DOI or
CSTR) and its group key, kept in step when records change (:func:`regroup`) or a store is upgraded
(:func:`regroup_all`). Records are one dataset when they share an identifier, transitively, across
sources (:func:`..grouping.components`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..grouping import components, count_holders, identifier_keys, linking_keys
from ..model import Record
from .connection import Db, Row, chunks


def set_identifiers(db: Db, rec: Record, keys: Sequence[str]) -> None:
    """Keep a record's identifier rows equal to ``keys`` (none for a deleted or gated record)."""
    held = {r["pid"] for r in db.execute("SELECT pid FROM record_pids WHERE record_id = ?", (rec.id,))}
    if held == set(keys):
        return
    db.execute("DELETE FROM record_pids WHERE record_id = ?", (rec.id,))
    db.executemany("INSERT INTO record_pids(pid, record_id, source_id) VALUES (?,?,?)",
                   [(k, rec.id, rec.source_id) for k in dict.fromkeys(keys)])


class Before:
    """What records' grouping was before a change: their group keys and identifiers."""

    def __init__(self, keys: set[str], pids: set[str]) -> None:
        self.keys = keys
        self.pids = pids

    @classmethod
    def read(cls, db: Db, ids: Sequence[str]) -> Before:
        keys: set[str] = set()
        pids: set[str] = set()
        for chunk in chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            keys.update(r["group_key"] for r in db.execute(
                f"SELECT group_key FROM records WHERE id IN ({marks}) AND group_key IS NOT NULL", chunk))
            pids.update(r["pid"] for r in db.execute(f"SELECT pid FROM record_pids WHERE record_id IN ({marks})",
                                                     chunk))
        return cls(keys, pids)


def _select(db: Db, sql: str, values: Iterable[str]) -> list[Row]:
    """Rows of ``sql`` (holding one ``({marks})``) for the values, 500 at a time."""
    rows: list[Row] = []
    for chunk in chunks(sorted(set(values)), 500):
        rows += db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall()
    return rows


def regroup(db: Db, ids: Sequence[str], before: Before | None = None) -> int:
    """After records changed (``ids``; ``before``: their group keys and identifiers before the change),
    give every record whose group may have joined or split its group key again; returns how many
    records were re-keyed (they are marked pending: the index rebuilds their old and new groups).

    Records are one dataset when they share an identifier, transitively, across sources
    (:func:`..grouping.components`). An identifier links a record only when no other live record of
    its source holds it too: a DOI or CSTR that one source gives to several of its records names a
    collection, not a dataset. The records whose links may have changed are those holding an
    identifier the changed records held before or hold now; their groups as they were, and whatever
    their links reach now, are grouped again.
    """
    before = before or Before(set(), set())
    current = {r["pid"] for r in _select(db, "SELECT pid FROM record_pids WHERE record_id IN ({marks})", ids)}
    start = set(ids) | {r["record_id"] for r in _select(
        db, "SELECT record_id FROM record_pids WHERE pid IN ({marks})", before.pids | current)}
    old_keys = set(before.keys) | {r["group_key"] for r in _select(
        db, "SELECT group_key FROM records WHERE id IN ({marks}) AND group_key IS NOT NULL", start)}
    pending = start | {r["id"] for r in _select(
        db, "SELECT id FROM records WHERE group_key IN ({marks})", old_keys)}
    # every record reachable from those through linking identifiers: the components they belong to now
    pids_of: dict[str, list[tuple[str, str]]] = {}  # record -> (identifier, source)
    counts: dict[str, dict[str, int]] = {}  # identifier -> source -> how many of its records hold it
    while pending:
        rows = _select(db, "SELECT pid, record_id, source_id FROM record_pids WHERE record_id IN ({marks})", pending)
        for rec_id in pending:
            pids_of[rec_id] = []
        for r in rows:
            pids_of[r["record_id"]].append((r["pid"], r["source_id"]))
        new = {r["pid"] for r in rows} - counts.keys()
        reached: set[str] = set()
        held = _select(db, "SELECT pid, record_id, source_id FROM record_pids WHERE pid IN ({marks})", new)
        count_holders(counts, ((r["pid"], r["source_id"]) for r in held))
        for r in held:
            if counts[r["pid"]][r["source_id"]] == 1:
                reached.add(r["record_id"])
        pending = reached - pids_of.keys()
    keys = components(linking_keys(pids_of, counts))
    changed: list[tuple[str, str]] = []
    for r in _select(db, "SELECT id, group_key FROM records WHERE id IN ({marks})"
                         " AND deleted = 0 AND record_json IS NOT NULL", keys):
        if r["group_key"] != keys[r["id"]]:
            changed.append((keys[r["id"]], r["id"]))
    db.executemany("UPDATE records SET group_key = ?, index_pending = 1 WHERE id = ?", changed)
    return len(changed)


def regroup_all(db: Db) -> int:
    """Fill the identifier rows of every live record and group them all again (a store upgraded to
    version 4); returns how many records were re-keyed."""
    db.execute("DELETE FROM record_pids")
    last = ""
    while True:
        rows = db.execute("SELECT id, record_json FROM records WHERE deleted = 0 AND record_json IS NOT NULL"
                          " AND id > ? ORDER BY id LIMIT 500", (last,)).fetchall()
        if not rows:
            break
        for row in rows:
            rec = Record.from_json(row["record_json"])
            db.executemany("INSERT INTO record_pids(pid, record_id, source_id) VALUES (?,?,?)",
                           [(k, row["id"], rec.source_id) for k in dict.fromkeys(identifier_keys(rec))])
        last = rows[-1]["id"]
    rows = db.execute("SELECT pid, record_id, source_id FROM record_pids").fetchall()
    holders: dict[str, dict[str, int]] = {}
    count_holders(holders, ((r["pid"], r["source_id"]) for r in rows))
    pids_of: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        pids_of.setdefault(r["record_id"], []).append((r["pid"], r["source_id"]))
    keys = components(linking_keys(pids_of, holders))
    changed = [(keys.get(r["id"], f"id:{r['id']}"), r["id"]) for r in db.execute(
        "SELECT id, group_key FROM records WHERE deleted = 0 AND record_json IS NOT NULL")
        if r["group_key"] != keys.get(r["id"], f"id:{r['id']}")]
    db.executemany("UPDATE records SET group_key = ?, index_pending = 1 WHERE id = ?", changed)
    return len(changed)
