"""The store's connection to PostgreSQL (psycopg 3), with the surface of :class:`.connection.Connection`.

One connection and one lock, shared by the repositories as the SQLite connection is; a connection the
server dropped (a restart) fails the statement that finds it so and is opened again at the next use.
Reads run in autocommit; :meth:`PgConnection.transaction` is one transaction that first takes the store's write
lock (an advisory lock held until it ends), so writers are serialised across processes as SQLite's
``BEGIN IMMEDIATE`` serialises them. Every wait is bounded: connecting (``connect_timeout``), a
statement (``statement_timeout``), a lock (``lock_timeout``), a transaction left idle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from ..errors import StoreError
from .connection import now_iso
from .dialect import to_postgres

#: The advisory lock every write transaction takes (an arbitrary constant: "fedcat" in ASCII).
WRITE_LOCK = 0x666564636174


class PgRow:
    """A row read by column name or position, like ``sqlite3.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = tuple(values)

    def __getitem__(self, key: str | int) -> Any:
        return self._values[self._names[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: PgRow(names, values)


class PgDb:
    """Statements in the repositories' spelling, run on the PostgreSQL connection (see :mod:`.dialect`)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Any = (), /) -> Any:
        return self._conn.execute(to_postgres(sql), tuple(args))

    def executemany(self, sql: str, args: Iterable[Sequence[Any]], /) -> Any:
        cur = self._conn.cursor()
        cur.executemany(to_postgres(sql), [tuple(a) for a in args])
        return cur


class PgConnection:
    """A PostgreSQL connection and the lock that serialises its use; safe to share between threads."""

    errors: tuple[type[Exception], ...] = (psycopg.Error,)
    dialect = "postgresql"

    def __init__(self, url: str, *, connect_timeout: int = 10, statement_timeout_s: int = 300,
                 lock_timeout_s: int = 30) -> None:
        self.url = url
        self._options = (f"-c statement_timeout={statement_timeout_s * 1000} -c lock_timeout={lock_timeout_s * 1000}"
                         f" -c idle_in_transaction_session_timeout={statement_timeout_s * 1000}")
        self._connect_timeout = connect_timeout
        self.lock = threading.RLock()
        self._closed = False
        self._conn: Any = self._connect()
        self._db = PgDb(self._conn)

    def _connect(self) -> Any:
        try:
            given = psycopg.conninfo.conninfo_to_dict(self.url)
            timeout: dict[str, Any] = {} if "connect_timeout" in given else {"connect_timeout": self._connect_timeout}
            return psycopg.connect(self.url, autocommit=True, options=self._options, row_factory=_row_factory,
                                   **timeout)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the record store at {self.describe()}: {exc}") from exc

    def _alive(self) -> None:
        """Connect again when the server dropped the connection (a restart, an idle timeout), between uses."""
        if self._conn.closed and not self._closed:
            self._conn = self._connect()
            self._db = PgDb(self._conn)

    @property
    def db(self) -> PgDb:
        with self.lock:
            self._alive()
            return self._db

    def describe(self) -> str:
        """The server and database, without a password."""
        try:
            info = psycopg.conninfo.conninfo_to_dict(self.url)
        except psycopg.Error:
            return "postgresql (unreadable url)"
        host, port, name = info.get("host", ""), info.get("port", ""), info.get("dbname", "")
        return f"postgresql://{host}{':' if port else ''}{port}/{name}"

    @staticmethod
    def now() -> str:
        return now_iso()

    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            with self.lock:
                self._alive()
                rows: list[Any] = self._db.execute(sql, args).fetchall()
                return rows
        except psycopg.Error as exc:
            raise StoreError(f"cannot read the record store: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[PgDb]:
        with self.lock:
            self._alive()
            with self._conn.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
                yield self._db

    def script(self, sql: str) -> None:
        """Run several statements as they are written (a migration's DDL: no placeholders, no rewriting),
        inside the caller's transaction."""
        with self.lock:
            self._conn.execute(sql)

    def close(self) -> None:
        with self.lock:
            self._closed = True
            self._conn.close()
