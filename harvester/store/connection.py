"""The one SQLite connection the store's repositories share.

Every repository (records, index marks, runs, officers' tables, metrics) reads and writes through the
same :class:`Connection`: one connection in WAL mode and one lock, so writes are serialised and a
write that spans repositories (a page, its checkpoint and its run's report) is one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StoreError


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class Connection:
    """A SQLite connection and the lock that serialises its use; safe to share between threads.

    ``db`` and ``lock`` are open to the repositories: a read that takes the lock and runs its query
    itself raises :class:`sqlite3.Error` as it comes, :meth:`read` wraps it in a :class:`StoreError`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.lock = threading.RLock()

    @staticmethod
    def now() -> str:
        """The time a write is stamped with (:func:`now_iso`, looked up at each call)."""
        return now_iso()

    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of one read-only query."""
        try:
            with self.lock:
                return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the record store: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self.lock:
            self.db.close()
