"""The record store: the source of truth the index is derived from, in SQLite (WAL mode, the embedded
default) or PostgreSQL (``store: {backend: postgresql, url: ...}``: :mod:`.postgres`).

It keeps raw payloads as received, normalised records, provenance, harvest runs and per-source
checkpoints. :class:`RecordStore` opens the store (:mod:`.connection`, :mod:`.postgres`), brings its
layout up to date (:mod:`.migrations`) and holds its repositories, which share the one connection:

- ``records`` (:mod:`.records`): records, raw payloads, gated records, tombstones;
- ``indexing`` (:mod:`.indexing`): the records waiting for the index, the dataset groups it is built from;
- ``runs`` (:mod:`.runs`): harvest runs, checkpoints, records a run could not map;
- ``overrides``, ``keys``, ``audit`` (:mod:`.officer`): officers' overrides, API keys, the audit log;
- ``links``, ``snapshots`` (:mod:`.metrics`): link checks, metric snapshots;
- ``leases`` (:mod:`.leases`): which process harvests which source;
- ``terms`` (:mod:`.term_table`): the bilingual term table searches read;
- ``published`` (:mod:`.published`): each dataset's public view, what the OAI-PMH provider serves.

A page of records and the checkpoint that follows it are written in one transaction
(:meth:`RecordStore.store_page`), so a crash leaves the store at a page boundary. Records whose index
copy is not yet up to date carry ``index_pending = 1``; :meth:`.indexing.Indexing.pending` lists them
for the index to catch up.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config_schema import StoreBackend, StoreConfig
from ..errors import LeaseLost, StoreError
from ..model import Record
from . import metrics, migrations, officer
from .connection import Connection, StoreConnection
from .indexing import Indexing
from .leases import Lease, Leases
from .published import Publication
from .records import PageItem, Records
from .runs import ERROR_RAW_LIMIT, Outcome, RecordError, RunReport, Runs
from .term_table import TermTableStore


class RecordStore:
    """The record store; safe to share between threads (writes are serialised).

    ``RecordStore(path)`` opens (or creates) a SQLite store; ``RecordStore(url=...)`` a PostgreSQL one.
    Either is brought to the current schema version on opening; one made by a newer fedcat is refused.
    """

    def __init__(self, path: str | Path | None = None, *, url: str | None = None,
                 error_raw_limit: int = ERROR_RAW_LIMIT) -> None:
        if (path is None) == (url is None):
            raise StoreError("a record store is a SQLite file (path) or a PostgreSQL database (url)")
        self.path = Path(path) if path is not None else None
        self.connection: StoreConnection
        if url is not None:
            from .postgres import PgConnection  # psycopg loads only for a PostgreSQL store

            self.connection = PgConnection(url)
        else:
            assert self.path is not None
            try:
                self.connection = Connection(self.path)
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(f"cannot open the record store at {self.path}: {exc}") from exc
        self.runs = Runs(self.connection, error_raw_limit=error_raw_limit)
        try:  # the migration cuts kept payloads as runs does
            #: (version found, version now): what opening did to the store's layout.
            self.schema_versions = migrations.upgrade(self.connection, self.runs.kept_raw)
        except self.connection.errors as exc:
            self.connection.close()
            raise StoreError(f"cannot open the record store at {self.location}: {exc}") from exc
        except StoreError:
            self.connection.close()
            raise
        self.records = Records(self.connection)
        self.indexing = Indexing(self.connection)
        now = self.connection.now
        self.overrides = officer.Overrides(self.connection, now)
        self.keys = officer.ApiKeys(self.connection, now)
        self.audit = officer.AuditLog(self.connection, now)
        self.links = metrics.LinkResults(self.connection)
        self.snapshots = metrics.Snapshots(self.connection, now)
        self.leases = Leases(self.connection)
        self.terms = TermTableStore(self.connection)
        self.published = Publication(self.connection)

    @property
    def location(self) -> str:
        """Where the store is: the SQLite file, or the PostgreSQL server and database (no password)."""
        return self.connection.describe()

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.connection.dialect

    def close(self) -> None:
        self.connection.close()

    @property
    def store_id(self) -> str:
        """This store's identity (made once, when it was created): an index records which store it reflects."""
        rows = self.connection.read("SELECT value FROM meta WHERE key = 'store_id'")
        return str(rows[0]["value"])

    def source_version(self, source_id: str) -> int:
        """The source's change counter (:data:`.schema.VERSIONS_SCHEMA`, :data:`.schema_pg.COUNTER`): it moves
        whenever the source's records, gated records or link checks change, here or through another
        connection; 0 before any."""
        rows = self.connection.read("SELECT version FROM source_versions WHERE source_id = ?", (source_id,))
        return int(rows[0]["version"]) if rows else 0

    def source_versions(self) -> tuple[tuple[str, int], ...]:
        """Every source's change counter (:meth:`source_version`), in source order: equal tuples, an
        unchanged store."""
        rows = self.connection.read("SELECT source_id, version FROM source_versions ORDER BY source_id")
        return tuple((str(r["source_id"]), int(r["version"])) for r in rows)

    def store_page(
        self,
        run: RunReport,
        items: Sequence[PageItem],
        *,
        checkpoint: dict[str, Any] | None,
        errors: Sequence[tuple[RecordError, bytes | None]] = (),
        seen: Sequence[str] = (),
        from_source: bool = True,
        lease: Lease | None = None,
    ) -> list[tuple[Record, Outcome]]:
        """Write one page, its checkpoint and the run's report counting it in, in one transaction;
        returns each record's outcome (``run`` takes the page's counts once it is written).

        ``seen`` are ids of records the page listed unchanged (not re-mapped): only their last
        run is noted. ``errors`` are the page's records that could not be mapped, with their raw
        payloads. A record the source listed and that is stored (``from_source``: not re-mapped from
        the stored payloads) is no longer in error: its ``record_errors`` row goes. With ``lease``, the
        page is written only if the lease is still this holder's (it is renewed in the same transaction);
        otherwise nothing is written and :class:`LeaseLost` is raised.
        """
        assert run.id is not None
        ts = self.connection.now()
        try:
            with self.connection.transaction() as db:
                if lease is not None and not self.leases.renew_in(db, lease):
                    raise LeaseLost(f"[{run.source_id}] the harvest lease expired and was taken by another process"
                                    f" ({lease.seconds:g} s without renewal): this run stops, the page is not"
                                    " written")
                outcomes = self.records.write_page(db, run.id, items, seen, ts)
                if from_source:
                    prefix = f"{run.source_id}:"
                    self.runs.forget_errors(db, [(r.source_id, r.local_id) for r, _ in outcomes]
                                            + [(run.source_id, i[len(prefix):]) for i in seen
                                               if i.startswith(prefix)])
                for err, raw in errors:
                    self.runs.write_error(db, run, err, raw, ts)
                if checkpoint is not None:
                    self.runs.write_checkpoint(db, run, checkpoint, ts)
                after = run.after_page([o for _, o in outcomes], unchanged=len(seen), errors=[e for e, _ in errors])
                self.runs.write_report(db, after, heartbeat=ts)
        except self.connection.errors as exc:
            raise StoreError(f"[{run.source_id}] cannot store a page: {exc}") from exc
        run.pages, run.counts, run.errors = after.pages, after.counts, after.errors
        return outcomes


def open_store(settings: StoreConfig, data_path: Path) -> RecordStore:
    """The store the config names: SQLite in the data folder (the default), or a PostgreSQL database."""
    if settings.backend is StoreBackend.POSTGRESQL:
        if not settings.url:
            raise StoreError("store.url is required when store.backend is postgresql")
        return RecordStore(url=settings.url)
    return RecordStore(data_path / "records.sqlite3")


def stored_schema_version(settings: StoreConfig, data_path: Path) -> tuple[str, int]:
    """(where the store is, the schema version it records), read without migrating it (0: no store yet)."""
    connection: StoreConnection
    if settings.backend is StoreBackend.POSTGRESQL:
        from .postgres import PgConnection

        connection = PgConnection(settings.url or "")
    else:
        path = data_path / "records.sqlite3"
        if not path.exists():
            return str(path), 0
        connection = Connection(path)
    try:
        return connection.describe(), migrations.stored_version(connection)
    finally:
        connection.close()
