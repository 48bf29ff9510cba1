"""Harvest run reports and their states, and the repository of runs, checkpoints and record errors.

:class:`Runs` keeps each harvest run's report, the checkpoint a source's next run resumes from and
the records a run could not map (``record_errors``). A page's checkpoint, errors and report are
written in the page's transaction (:meth:`.sqlite.RecordStore.store_page`), through the ``write_*``
methods, which take the open transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..errors import StoreError
from .connection import Db, Row, StoreConnection
from .leases import Lease, Leases, process_alive

#: How many bytes of an unmappable record's payload ``record_errors`` keeps (the head; its size and
#: SHA-256 are those of the whole payload).
ERROR_RAW_LIMIT = 64 * 1024


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, but some records errored
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the process died; found on the next start
    SKIPPED = "skipped"  # not run: another process holds the source's harvest lease (never stored)


class Outcome(StrEnum):
    """What storing one record did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    ERRORED = "errored"
    GATED = "gated"


@dataclass
class RecordError:
    local_id: str | None
    message: str
    url: str | None = None


@dataclass
class RunReport:
    """One harvest of one source."""

    source_id: str
    id: int | None = None
    status: RunStatus = RunStatus.RUNNING
    full: bool = False
    started_at: str | None = None
    finished_at: str | None = None
    pages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    errors: list[RecordError] = field(default_factory=list)
    message: str | None = None
    #: What was read other than as sent (an encoding fallback): the data are kept, the change is said.
    warnings: list[str] = field(default_factory=list)
    #: CPU seconds per stage of the pipeline on the run's thread (:mod:`..pipeline.stage_clock`).
    cpu_s: dict[str, float] = field(default_factory=dict)

    MAX_ERRORS = 50
    MAX_WARNINGS = 50

    def count(self, outcome: Outcome, n: int = 1) -> None:
        self.counts[outcome.value] += n

    def add_warning(self, warning: str) -> None:
        if len(self.warnings) < self.MAX_WARNINGS and warning not in self.warnings:
            self.warnings.append(warning)

    def add_error(self, error: RecordError) -> None:
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append(error)

    def after_page(self, outcomes: Iterable[Outcome], *, unchanged: int = 0,
                   errors: Iterable[RecordError] = ()) -> RunReport:
        """A copy of this report with one more page counted in: its records' outcomes, ``unchanged``
        records it listed and did not map again, and its records in error. The store writes the copy
        with the page, in the same transaction; the run takes its figures once the page is written."""
        after = replace(self, counts=self.counts.copy(), errors=list(self.errors))
        after.pages += 1
        after.count(Outcome.UNCHANGED, unchanged)
        for outcome in outcomes:
            after.count(outcome)
        for error in errors:
            after.count(Outcome.ERRORED)
            after.add_error(error)
        return after

    @property
    def duration_s(self) -> float | None:
        from datetime import datetime

        if not self.started_at or not self.finished_at:
            return None
        start = datetime.fromisoformat(self.started_at)
        end = datetime.fromisoformat(self.finished_at)
        return round((end - start).total_seconds(), 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_id": self.source_id,
            "status": self.status.value,
            "full": self.full,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "pages": self.pages,
            "added": self.counts.get("added", 0),
            "updated": self.counts.get("updated", 0),
            "unchanged": self.counts.get("unchanged", 0),
            "deleted": self.counts.get("deleted", 0),
            "errored": self.counts.get("errored", 0),
            "gated": self.counts.get("gated", 0),
            "retries": dict(self.retries),
            "cpu_s": dict(self.cpu_s),
            "errors": [e.__dict__ for e in self.errors],
            "warnings": list(self.warnings),
            "message": self.message,
        }


@dataclass
class RunTallies:
    """Runs by (source, status), records by (source, outcome), retries by (source, reason)."""

    runs: Counter[tuple[str, str]] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    retries: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def sources(self) -> set[str]:
        return {source for source, _ in self.runs}


class Runs:
    """Harvest runs, the checkpoint of each source's run, the records a run could not map."""

    def __init__(self, conn: StoreConnection, *, error_raw_limit: int = ERROR_RAW_LIMIT) -> None:
        self._conn = conn
        self.error_raw_limit = error_raw_limit

    def start_run(self, run: RunReport, *, lease: Lease | None = None) -> RunReport:
        """Record the run as running; with ``lease`` (its source's, held by this process), the lease
        names the run in the same transaction, so every process sees the run as live at once."""
        run.started_at = self._conn.now()
        run.status = RunStatus.RUNNING
        with self._conn.transaction() as db:
            cur = db.execute(
                "INSERT INTO harvest_runs(source_id, status, \"full\", started_at, pid, host, heartbeat_at)"
                " VALUES (?,?,?,?,?,?,?) RETURNING id",
                (run.source_id, run.status.value, int(run.full), run.started_at, os.getpid(), socket.gethostname(),
                 run.started_at),
            )
            run.id = int(cur.fetchone()[0])
            if lease is not None:
                Leases.attach_in(db, lease, run.id)
        return run

    def finish_run(self, run: RunReport, status: RunStatus, *, newest_datestamp: str | None = None,
                   message: str | None = None, clear_checkpoint: bool = False) -> None:
        """Write the run's final report; with ``clear_checkpoint``, drop its source's checkpoint in the
        same transaction (a crash in between would leave a finished run with a checkpoint, or the
        reverse)."""
        run.status = status
        run.finished_at = ts = self._conn.now()
        if message:
            run.message = message
        with self._conn.transaction() as db:
            self.write_report(db, run, heartbeat=ts)
            if newest_datestamp:
                db.execute("UPDATE harvest_runs SET newest_datestamp=? WHERE id=?", (newest_datestamp, run.id))
            if clear_checkpoint:
                db.execute("DELETE FROM checkpoints WHERE source_id = ?", (run.source_id,))

    def record_cpu(self, run: RunReport) -> None:
        """Write the run's CPU seconds per stage again (the metrics snapshot is taken after the report)."""
        try:
            with self._conn.transaction() as db:
                db.execute("UPDATE harvest_runs SET cpu_json=? WHERE id=?", (json.dumps(run.cpu_s), run.id))
        except self._conn.errors as exc:
            raise StoreError(f"[{run.source_id}] cannot record the run's CPU seconds: {exc}") from exc

    def save_checkpoint(self, run: RunReport, state: dict[str, Any]) -> None:
        """Save a checkpoint that comes with no page (the end of a complete listing); a heartbeat too."""
        ts = self._conn.now()
        try:
            with self._conn.transaction() as db:
                self.write_checkpoint(db, run, state, ts)
                db.execute("UPDATE harvest_runs SET heartbeat_at=? WHERE id=?", (ts, run.id))
        except self._conn.errors as exc:
            raise StoreError(f"[{run.source_id}] cannot save a checkpoint: {exc}") from exc

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process that is gone become 'interrupted'; returns how many.

        A run of this host is left alone while its process lives; a run of another node while its
        harvest lease is live (:mod:`.leases`: its process renews it). Any other run's process is gone.
        An interrupted run ends at its last heartbeat (its start, or the last page it stored), not when
        it is found.
        """
        host = socket.gethostname()
        rows = self._conn.read("SELECT id, pid, host FROM harvest_runs WHERE status=?", (RunStatus.RUNNING.value,))
        if not rows:
            return 0
        leased = Leases(self._conn).live_runs()
        dead = [r["id"] for r in rows
                if not (bool(r["pid"]) and process_alive(r["pid"]) if r["host"] == host else r["id"] in leased)]
        if not dead:  # the common case takes no write lock (readers call this too, through recent())
            return 0
        marked = 0
        with self._conn.transaction() as db:
            for run_id in dead:  # unless another process marked it meanwhile
                marked += db.execute(
                    "UPDATE harvest_runs SET status=?, finished_at=COALESCE(heartbeat_at, ?), message=?"
                    " WHERE id=? AND status=?",
                    (RunStatus.INTERRUPTED.value, self._conn.now(),
                     "the harvesting process stopped before the run ended", run_id, RunStatus.RUNNING.value),
                ).rowcount
        return marked

    def recent(self, source_id: str | None = None, limit: int = 50) -> list[RunReport]:
        """The newest ``limit`` runs (of one source when given), newest first."""
        self.mark_interrupted()
        sql = "SELECT * FROM harvest_runs"
        args: tuple[Any, ...] = ()
        if source_id:
            sql += " WHERE source_id = ?"
            args = (source_id,)
        with self._conn.lock:
            rows = self._conn.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_run_from_row(r) for r in rows]

    def tallies(self) -> RunTallies:
        """Every run's status, record outcomes and retries, summed per source (what ``/metrics`` reports):
        the report columns only, one pass, nothing else of a run read."""
        self.mark_interrupted()
        tallies = RunTallies()
        with self._conn.lock:
            rows = self._conn.db.execute("SELECT source_id, status, counts_json, retries_json FROM harvest_runs")
            for row in rows:
                source = row["source_id"]
                tallies.runs[source, row["status"]] += 1
                for outcome, n in json.loads(row["counts_json"]).items():
                    tallies.outcomes[source, outcome] += n
                for reason, n in json.loads(row["retries_json"]).items():
                    tallies.retries[source, reason] += n
        return tallies

    def last_successful_datestamp(self, source_id: str) -> str | None:
        with self._conn.lock:
            row = self._conn.db.execute(
                "SELECT newest_datestamp FROM harvest_runs WHERE source_id=? AND status IN (?,?)"
                " AND newest_datestamp IS NOT NULL ORDER BY id DESC LIMIT 1",
                (source_id, RunStatus.SUCCEEDED.value, RunStatus.PARTIAL.value),
            ).fetchone()
        return row["newest_datestamp"] if row else None

    def checkpoint(self, source_id: str) -> tuple[int, dict[str, Any]] | None:
        with self._conn.lock:
            row = self._conn.db.execute(
                "SELECT run_id, state_json FROM checkpoints WHERE source_id = ?", (source_id,)
            ).fetchone()
        return (int(row["run_id"]), json.loads(row["state_json"])) if row else None

    def clear_checkpoint(self, source_id: str) -> None:
        with self._conn.transaction() as db:
            db.execute("DELETE FROM checkpoints WHERE source_id = ?", (source_id,))

    # -- writes inside a transaction the caller holds (a page's) ------------------------------------

    @staticmethod
    def write_report(db: Db, run: RunReport, *, heartbeat: str) -> None:
        """Write the run's report; ``heartbeat`` is when the run was last known alive (an interrupted
        run ends there)."""
        db.execute(
            "UPDATE harvest_runs SET status=?, finished_at=?, pages=?, counts_json=?, retries_json=?,"
            " errors_json=?, warnings_json=?, message=?, heartbeat_at=?, cpu_json=? WHERE id=?",
            (run.status.value, run.finished_at, run.pages, json.dumps(dict(run.counts)),
             json.dumps(dict(run.retries)), json.dumps([e.__dict__ for e in run.errors], ensure_ascii=False),
             json.dumps(run.warnings, ensure_ascii=False), run.message, heartbeat, json.dumps(run.cpu_s),
             run.id),
        )

    @staticmethod
    def write_checkpoint(db: Db, run: RunReport, state: dict[str, Any], ts: str) -> None:
        db.execute(
            "INSERT INTO checkpoints(source_id, run_id, state_json, updated_at) VALUES (?,?,?,?)"
            " ON CONFLICT(source_id) DO UPDATE SET run_id=excluded.run_id,"
            " state_json=excluded.state_json, updated_at=excluded.updated_at",
            (run.source_id, run.id, json.dumps(state), ts),
        )

    def write_error(self, db: Db, run: RunReport, err: RecordError, raw: bytes | None,
                    ts: str) -> None:
        """Keep one row per record in error: this one replaces the record's rows of earlier runs (and a
        copy of the same payload from this run). Distinct payloads of one run under one local id (records
        without an identifier) keep a row each, until the next run."""
        head, size, digest = self.kept_raw(raw)
        db.execute("DELETE FROM record_errors WHERE source_id = ? AND local_id IS ?"
                   " AND (run_id != ? OR raw_sha256 IS ?)", (run.source_id, err.local_id, run.id, digest))
        db.execute(
            "INSERT INTO record_errors(run_id, source_id, local_id, message, url, raw, at, raw_size, raw_sha256)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (run.id, run.source_id, err.local_id, err.message, err.url, head, ts, size, digest),
        )

    @staticmethod
    def forget_errors(db: Db, stored: Sequence[tuple[str, str]]) -> None:
        """Drop the ``record_errors`` rows of these (source id, local id) records, just stored."""
        sources = {source_id for source_id, _ in stored}
        if not any(db.execute("SELECT 1 FROM record_errors WHERE source_id = ? LIMIT 1", (s,)).fetchone()
                   for s in sources):
            return  # the common case: the source has no record in error
        db.executemany("DELETE FROM record_errors WHERE source_id = ? AND local_id = ?", stored)

    def kept_raw(self, raw: bytes | None) -> tuple[bytes | None, int | None, str | None]:
        """What ``record_errors`` keeps of a payload: its head (at most :attr:`error_raw_limit` bytes),
        the whole payload's size and SHA-256."""
        if raw is None:
            return None, None, None
        return raw[:self.error_raw_limit], len(raw), hashlib.sha256(raw).hexdigest()


def _run_from_row(row: Row) -> RunReport:
    return RunReport(
        source_id=row["source_id"],
        id=row["id"],
        status=RunStatus(row["status"]),
        full=bool(row["full"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        pages=row["pages"],
        counts=Counter(json.loads(row["counts_json"])),
        retries=Counter(json.loads(row["retries_json"])),
        errors=[RecordError(**e) for e in json.loads(row["errors_json"])],
        warnings=json.loads(row["warnings_json"] or "[]"),
        cpu_s=json.loads(row["cpu_json"] or "{}"),
        message=row["message"],
    )
