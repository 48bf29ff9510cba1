"""The store's tables for metrics: link-check results and per-run metric snapshots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from .connection import Db, Row
from .link_results import LinkKind, LinkResult, LinkStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS link_checks (
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER,
    final_url TEXT,
    method TEXT,
    detail TEXT,
    elapsed_ms INTEGER,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (record_id, kind)
);
CREATE INDEX IF NOT EXISTS link_checks_source ON link_checks(source_id);
CREATE TABLE IF NOT EXISTS metric_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    run_id INTEGER,
    audience TEXT NOT NULL,
    at TEXT NOT NULL,
    metrics_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_source ON metric_snapshots(source_id, audience, id);
"""


class _Db(Protocol):
    def transaction(self) -> AbstractContextManager[Db]: ...
    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]: ...


class LinkResults:
    """The last check of each record's landing page and access URL."""

    def __init__(self, db: _Db) -> None:
        self._db = db

    def replace(self, source_id: str | None, results: Sequence[LinkResult]) -> None:
        """The results of a new check of one source (or of all): earlier results of it are dropped."""
        with self._db.transaction() as db:
            if source_id is None:
                db.execute("DELETE FROM link_checks")
            else:
                db.execute("DELETE FROM link_checks WHERE source_id = ?", (source_id,))
            self._insert(db, results)

    def put(self, results: Sequence[LinkResult]) -> None:
        with self._db.transaction() as db:
            self._insert(db, results)

    @staticmethod
    def _insert(db: Db, results: Sequence[LinkResult]) -> None:
        db.executemany(
            "INSERT INTO link_checks(record_id, kind, source_id, url, status, http_status, final_url, method,"
            " detail, elapsed_ms, checked_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(record_id, kind) DO UPDATE SET source_id=excluded.source_id, url=excluded.url,"
            " status=excluded.status, http_status=excluded.http_status, final_url=excluded.final_url,"
            " method=excluded.method, detail=excluded.detail, elapsed_ms=excluded.elapsed_ms,"
            " checked_at=excluded.checked_at",
            [(r.record_id, r.kind.value, r.source_id, r.url, r.status.value, r.http_status, r.final_url,
              r.method, r.detail, r.elapsed_ms, r.checked_at or "") for r in results],
        )

    def for_source(self, source_id: str | None = None) -> dict[str, dict[LinkKind, LinkResult]]:
        """Results by record id and kind (of one source when given)."""
        sql = "SELECT * FROM link_checks"
        args: tuple[Any, ...] = ()
        if source_id is not None:
            sql, args = sql + " WHERE source_id = ?", (source_id,)
        out: dict[str, dict[LinkKind, LinkResult]] = {}
        for row in self._db.read(sql, args):
            res = _link(row)
            out.setdefault(res.record_id, {})[res.kind] = res
        return out

    def for_record(self, record_id: str) -> list[LinkResult]:
        return [_link(r) for r in self._db.read("SELECT * FROM link_checks WHERE record_id = ? ORDER BY kind",
                                                (record_id,))]


def _link(row: Row) -> LinkResult:
    return LinkResult(row["record_id"], row["source_id"], LinkKind(row["kind"]), row["url"],
                      LinkStatus(row["status"]), row["http_status"], row["final_url"], row["method"],
                      row["detail"], row["elapsed_ms"], row["checked_at"])


@dataclass(frozen=True)
class Snapshot:
    id: int
    source_id: str
    run_id: int | None
    audience: str
    at: str
    metrics: dict[str, Any]


class Snapshots:
    """Every metric of a source, as one audience sees it, after each harvest run."""

    def __init__(self, db: _Db, now: Any) -> None:
        self._db = db
        self._now = now

    def add(self, source_id: str, run_id: int | None, by_audience: dict[str, dict[str, Any]], *,
            replace: bool = False) -> str:
        """Store a snapshot; ``replace``: in place of the run's earlier one (a link check after the run)."""
        at: str = self._now()
        with self._db.transaction() as db:
            if replace:
                db.execute("DELETE FROM metric_snapshots WHERE source_id = ? AND run_id IS ?", (source_id, run_id))
            db.executemany(
                "INSERT INTO metric_snapshots(source_id, run_id, audience, at, metrics_json) VALUES (?,?,?,?,?)",
                [(source_id, run_id, aud, at, json.dumps(m, ensure_ascii=False)) for aud, m in by_audience.items()],
            )
        return at

    def history(self, source_id: str, audience: str, limit: int = 100) -> list[Snapshot]:
        """Oldest first, the newest ``limit`` snapshots."""
        rows = self._db.read(
            "SELECT * FROM metric_snapshots WHERE source_id = ? AND audience = ? ORDER BY id DESC LIMIT ?",
            (source_id, audience, limit))
        return [Snapshot(r["id"], r["source_id"], r["run_id"], r["audience"], r["at"], json.loads(r["metrics_json"]))
                for r in reversed(rows)]
