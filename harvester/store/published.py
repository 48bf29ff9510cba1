"""The public view of each dataset, as other aggregators harvest it (the OAI-PMH provider), and when it
last changed.

A row per dataset that was ever shown to the public: its key (the group key), the datestamp of the last
change of its public view (to the second, UTC), the records the public sees (the lead first), the sets it
is in, and a hash of that view. Publishing a dataset (:meth:`Publication.apply`) compares the new view's
hash with the row's: a new or changed view takes the current time; an unchanged one keeps its datestamp;
a dataset the public no longer sees (deleted at its source, gated, moved out of the public's sight,
merged into another) is kept as deleted, with the time it left, so a harvester learns of it. A dataset
the public never saw gets no row: its key is never revealed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .connection import Db, Row, StoreConnection


@dataclass(frozen=True)
class PublicView:
    """A dataset as the public sees it now: ``members`` empty when it sees none of its records."""

    key: str
    members: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    view_hash: str | None = None


@dataclass
class PublishedRow:
    key: str
    datestamp: str
    deleted: bool
    sets: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)


def oai_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Publication:
    """The ``published`` and ``published_sets`` tables."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def apply(self, views: Sequence[PublicView], now: str | None = None) -> int:
        """Record these views; returns how many rows changed (new, changed or newly deleted)."""
        now = now or oai_now()
        changed = 0
        with self._conn.transaction() as db:
            for view in views:
                changed += self._apply_one(db, view, now)
        return changed

    def _apply_one(self, db: Db, view: PublicView, now: str) -> int:
        row = db.execute("SELECT view_hash, deleted FROM published WHERE key = ?", (view.key,)).fetchone()
        if not view.members:
            if row is None or row["deleted"]:
                return 0  # never shown, or already gone: nothing to tell
            db.execute("UPDATE published SET deleted = 1, datestamp = ?, view_hash = NULL, members_json = '[]'"
                       " WHERE key = ?", (now, view.key))
            return 1
        if row is not None and row["view_hash"] == view.view_hash and not row["deleted"]:
            return 0
        db.execute(
            "INSERT INTO published(key, datestamp, deleted, members_json, view_hash) VALUES (?,?,0,?,?)"
            " ON CONFLICT (key) DO UPDATE SET datestamp = excluded.datestamp, deleted = 0,"
            " members_json = excluded.members_json, view_hash = excluded.view_hash",
            (view.key, now, json.dumps(list(view.members)), view.view_hash))
        db.execute("DELETE FROM published_sets WHERE key = ?", (view.key,))
        db.executemany("INSERT INTO published_sets(key, spec) VALUES (?, ?)", [(view.key, s) for s in view.sets])
        return 1

    def live_keys(self) -> list[str]:
        """Datasets the public sees (as last published)."""
        return [r["key"] for r in self._conn.read("SELECT key FROM published WHERE deleted = 0")]

    def live_keys_after(self, after: str, limit: int) -> list[str]:
        """Datasets the public sees, in key order, the first ``limit`` after ``after`` (a walk over all of
        them holds one page at a time)."""
        rows = self._conn.read("SELECT key FROM published WHERE deleted = 0 AND key > ? ORDER BY key LIMIT ?",
                               (after, limit))
        return [r["key"] for r in rows]

    def live_page(self, offset: int, limit: int) -> list[PublishedRow]:
        """Datasets the public sees, in key order, ``limit`` from ``offset`` (the catalog document's pages)."""
        rows = self._conn.read("SELECT key, datestamp, deleted, members_json FROM published WHERE deleted = 0"
                               " ORDER BY key LIMIT ? OFFSET ?", (limit, offset))
        return [_row(r) for r in rows]

    def live_count(self) -> int:
        return int(self._conn.read("SELECT COUNT(*) AS n FROM published WHERE deleted = 0")[0]["n"])

    def earliest(self) -> str | None:
        rows = self._conn.read("SELECT MIN(datestamp) AS first FROM published")
        return rows[0]["first"] if rows and rows[0]["first"] else None

    def set_specs(self) -> list[str]:
        return [r["spec"] for r in self._conn.read("SELECT DISTINCT spec FROM published_sets ORDER BY spec")]

    def count(self, from_: str | None, until: str | None, set_spec: str | None) -> int:
        where, args = _where(from_, until, set_spec, None)
        return int(self._conn.read(f"SELECT COUNT(*) AS n FROM published{where}", args)[0]["n"])

    def page(self, from_: str | None, until: str | None, set_spec: str | None, after: tuple[str, str] | None,
             limit: int) -> list[PublishedRow]:
        """Rows in (datestamp, key) order after ``after``."""
        where, args = _where(from_, until, set_spec, after)
        rows = self._conn.read(f"SELECT key, datestamp, deleted, members_json FROM published{where}"
                               " ORDER BY datestamp, key LIMIT ?", (*args, limit))
        out = [_row(r) for r in rows]
        self._add_sets(out)
        return out

    def get(self, key: str) -> PublishedRow | None:
        rows = self._conn.read("SELECT key, datestamp, deleted, members_json FROM published WHERE key = ?", (key,))
        if not rows:
            return None
        out = [_row(rows[0])]
        self._add_sets(out)
        return out[0]

    def _add_sets(self, rows: list[PublishedRow]) -> None:
        if not rows:
            return
        marks = ",".join("?" * len(rows))
        by_key = {r.key: r for r in rows}
        for s in self._conn.read(f"SELECT key, spec FROM published_sets WHERE key IN ({marks}) ORDER BY spec",
                                 tuple(by_key)):
            by_key[s["key"]].sets.append(s["spec"])


def _row(r: Row) -> PublishedRow:
    return PublishedRow(key=r["key"], datestamp=r["datestamp"], deleted=bool(r["deleted"]),
                        members=json.loads(r["members_json"]))


def _where(from_: str | None, until: str | None, set_spec: str | None,
           after: tuple[str, str] | None) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    args: list[Any] = []
    if from_:
        clauses.append("datestamp >= ?")
        args.append(from_)
    if until:
        clauses.append("datestamp <= ?")
        args.append(until)
    if set_spec:  # the set, or a set below it in the hierarchy (center: holds center:ncdc)
        clauses.append("EXISTS (SELECT 1 FROM published_sets AS s WHERE s.key = published.key"
                       " AND (s.spec = ? OR substr(s.spec, 1, ?) = ?))")
        args += [set_spec, len(set_spec) + 1, f"{set_spec}:"]
    if after:
        clauses.append("(datestamp, key) > (?, ?)")
        args += list(after)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)
