"""The one database connection the store's repositories share.

Every repository (records, index marks, runs, officers' tables, metrics) reads and writes through the
same connection: one connection and one lock, so writes are serialised and a write that spans
repositories (a page, its checkpoint and its run's report) is one transaction. :class:`Connection` is
SQLite in WAL mode; :class:`.postgres.PgConnection` has the same surface over PostgreSQL. Repositories
write their SQL once, with ``?`` placeholders, in the subset both databases read the same way (the
PostgreSQL connection rewrites the few SQLite spellings it does not: see :mod:`.dialect`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import StoreError


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class Row(Protocol):
    """A result row: its columns by name or position (``sqlite3.Row`` and the PostgreSQL rows)."""

    def __getitem__(self, key: str | int, /) -> Any: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """What a repository executes statements on: the connection inside a transaction, or for a read."""

    def execute(self, sql: str, args: Any = (), /) -> Cursor: ...
    def executemany(self, sql: str, args: Iterable[Sequence[Any]], /) -> Cursor: ...


class StoreConnection(Protocol):
    """The surface both backends' connections give the repositories."""

    #: The database's own exception classes (a repository wraps them in a :class:`StoreError`).
    errors: tuple[type[Exception], ...]
    lock: threading.RLock
    #: ``sqlite`` or ``postgresql``.
    dialect: str

    @property
    def db(self) -> Db: ...
    def now(self) -> str: ...
    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]: ...
    def transaction(self) -> AbstractContextManager[Db]: ...
    def close(self) -> None: ...
    def describe(self) -> str: ...


class Connection:
    """A SQLite connection and the lock that serialises its use; safe to share between threads.

    ``db`` and ``lock`` are open to the repositories: a read that takes the lock and runs its query
    itself raises :class:`sqlite3.Error` as it comes, :meth:`read` wraps it in a :class:`StoreError`.
    """

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self.lock = threading.RLock()

    @property
    def db(self) -> sqlite3.Connection:
        return self._db

    def describe(self) -> str:
        return str(self.path)

    @staticmethod
    def now() -> str:
        """The time a write is stamped with (:func:`now_iso`, looked up at each call)."""
        return now_iso()

    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of one read-only query."""
        try:
            with self.lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the record store: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self.lock:
            self._db.close()
