"""Records, pages and runs for the tests that call the record store directly (both backends)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fedcat.harvester.model import Access, GeoScope, Identifiers, LangText, Openness, Record, Security
from fedcat.harvester.store import PageItem, RawPayload, RecordStore, RunReport

BACKENDS = ["sqlite", "postgresql"]


def open_store(request: pytest.FixtureRequest, backend: str, tmp_path: Path, **kw: Any) -> RecordStore:
    """A new, empty store of ``backend`` (PostgreSQL: a database of its own on the session's server)."""
    if backend == "sqlite":
        return RecordStore(tmp_path / "records.sqlite3", **kw)
    return RecordStore(url=request.getfixturevalue("pg_url"), **kw)


def reopen(store: RecordStore, **kw: Any) -> RecordStore:
    """A second store over the same database (another connection, as another process has)."""
    if store.path is not None:
        return RecordStore(store.path, **kw)
    return RecordStore(url=store.connection.url, **kw)  # type: ignore[attr-defined]


def rec(source: str, local: str, title: str = "Glacier mass balance", *, doi: str | None = None,
        security: Security = Security.GENERAL, openness: Openness = Openness.OPEN,
        embargo_until: str | None = None, deleted: bool = False, datestamp: str = "2024-01-01") -> Record:
    return Record(id=f"{source}:{local}", source_id=source, local_id=local, titles=[LangText(title, "en")],
                  identifiers=Identifiers(doi=doi), datestamp=datestamp, deleted=deleted,
                  access=Access(openness=openness, geo_scope=GeoScope.INTERNATIONAL, security=security,
                                embargo_until=embargo_until))


def item(record: Record, body: bytes | None = None, input_key: str | None = None) -> PageItem:
    raw = RawPayload("oai_dc", body) if body is not None else None
    return PageItem(record, raw, input_key)


def started(store: RecordStore, source: str = "lab", *, full: bool = False) -> RunReport:
    return store.runs.start_run(RunReport(source_id=source, full=full))
