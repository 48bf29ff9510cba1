"""The bilingual term table searches read (mined by :mod:`fedcat.index.terms`), kept in the store.

Every process that serves the catalog, on whatever node, reads the same table: ``fedcat reindex`` on one
machine writes it, API replicas elsewhere see it at their next search. Each write raises ``version``, so
a reader keeps its parsed copy until the version moves (one small read per search).
"""

from __future__ import annotations

from .connection import StoreConnection


class TermTableStore:
    """The ``term_table`` row: the table as JSON text, and its version (0: none written yet)."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def version(self) -> int:
        rows = self._conn.read("SELECT version FROM term_table WHERE id = 1")
        return int(rows[0]["version"]) if rows else 0

    def load(self) -> tuple[int, str] | None:
        """(version, JSON text), or None before the first write."""
        rows = self._conn.read("SELECT version, body FROM term_table WHERE id = 1")
        return (int(rows[0]["version"]), str(rows[0]["body"])) if rows else None

    def save(self, body: str) -> int:
        """Replace the table; returns its new version."""
        with self._conn.transaction() as db:
            row = db.execute(
                "INSERT INTO term_table(id, version, body, built_at) VALUES (1, 1, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET version = term_table.version + 1, body = excluded.body,"
                " built_at = excluded.built_at RETURNING version",
                (body, self._conn.now()),
            ).fetchone()
        return int(row[0])
