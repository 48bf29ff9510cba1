"""Numbered schema migrations: an ordered list of steps per backend, keyed on ``meta.schema_version``.

A store records the version of its layout in ``meta`` (``schema_version``, an integer; a store without
``meta`` is new, version 0). Opening a store runs the steps numbered above its version, in order, each
recording its number once done; a store whose version is above :data:`SCHEMA_VERSION` was made by a
newer fedcat and is refused (:func:`upgrade` raises a :class:`StoreError` naming both versions).

SQLite (:mod:`.schema`): 1 creates the tables; 2 brings a version-1 store, whichever release made it, to
the layout of version 2 (what releases of version 1 added as they opened a store); 3 adds harvest
leases and the term table; 4 adds the table of each live record's identifiers (DOI, CSTR) and groups
every record again by shared identifiers; 5 adds the published views. PostgreSQL (:mod:`.schema_pg`)
starts at 2. The steps an opening runs, and the version they record, are one transaction under the
store's write lock (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock): a migration cut short
leaves the store as it was, and two processes opening an old store at once migrate it once (the
second finds it done).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import StoreError
from . import schema, schema_pg
from .connection import StoreConnection
from .regrouping import regroup_all
from .schema import KeptRaw

#: The layout this code reads and writes.
SCHEMA_VERSION = 6


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    #: Given, inside the migration's transaction, the backend's connection (SQLite: the ``sqlite3``
    #: connection; PostgreSQL: the store's connection) and what record errors keep of a payload.
    apply: Callable[[Any, KeptRaw], None]


SQLITE: tuple[Migration, ...] = (
    Migration(1, "the tables, indexes and change-counting triggers", schema.create_v1),
    Migration(2, "runs' heartbeat and warnings, records' input, PID and group keys, the second officer of an "
                 "override, record errors kept once per record", schema.upgrade_v1),
    Migration(3, "harvest leases and the term table", schema.create_v3),
    Migration(4, "records' identifiers, every record grouped by shared identifiers", schema.create_v4),
    Migration(5, "the public view of each dataset (the OAI-PMH provider's)", schema.create_v5),
    Migration(6, "each harvest run's CPU seconds per stage; the live published datasets in key order",
              schema.create_v6),
)
POSTGRESQL: tuple[Migration, ...] = (
    Migration(2, "the tables, indexes and change-counting trigger function",
              lambda conn, _kept: schema_pg.create_v2(conn.script, conn.db)),
    Migration(3, "harvest leases and the term table", lambda conn, _kept: schema_pg.create_v3(conn.script)),
    Migration(4, "records' identifiers, every record grouped by shared identifiers", lambda conn, _kept: _v4_pg(conn)),
    Migration(5, "the public view of each dataset (the OAI-PMH provider's)",
              lambda conn, _kept: schema_pg.create_v5(conn.script)),
    Migration(6, "each harvest run's CPU seconds per stage; the live published datasets in key order",
              lambda conn, _kept: schema_pg.create_v6(conn.script)),
)


def _v4_pg(conn: Any) -> None:
    schema_pg.create_v4(conn.script)
    regroup_all(conn.db)


def steps(dialect: str) -> tuple[Migration, ...]:
    return SQLITE if dialect == "sqlite" else POSTGRESQL


def stored_version(conn: StoreConnection) -> int:
    """The version the store records (0: a new, empty store)."""
    if conn.dialect == "sqlite":
        has_meta = conn.read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
    else:
        has_meta = conn.read("SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'meta'")
    if not has_meta:
        return 0
    rows = conn.read("SELECT value FROM meta WHERE key = 'schema_version'")
    try:
        return int(rows[0]["value"]) if rows else 1
    except ValueError as exc:
        raise StoreError(f"the record store at {conn.describe()} has an unreadable schema version "
                         f"{rows[0]['value']!r}") from exc


def check_version(conn: StoreConnection, version: int) -> None:
    """Refuse a store made by a newer fedcat."""
    if version > SCHEMA_VERSION:
        raise StoreError(f"the record store at {conn.describe()} has schema version {version}, newer than this "
                         f"fedcat's ({SCHEMA_VERSION}): it was written by a newer release; run that release, "
                         "or upgrade fedcat")


def upgrade(conn: StoreConnection, kept_raw: KeptRaw) -> tuple[int, int]:
    """Bring the store to :data:`SCHEMA_VERSION`; returns (version before, version after)."""
    before = stored_version(conn)
    check_version(conn, before)
    if before == SCHEMA_VERSION:
        return before, before
    with conn.transaction() as tx:
        if conn.dialect == "postgresql":
            tx.execute("SET LOCAL statement_timeout = '1h'")
        before = stored_version(conn)  # under the write lock: another process may have upgraded meanwhile
        check_version(conn, before)
        for step in steps(conn.dialect):
            if step.version > before:
                step.apply(tx if conn.dialect == "sqlite" else conn, kept_raw)
                tx.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE"
                           " SET value = excluded.value", (str(step.version),))
    return before, SCHEMA_VERSION
