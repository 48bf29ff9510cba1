"""Harvest leases: a source is harvested by at most one process of the whole deployment.

A process takes a source's lease (one ``leases`` row) before it starts a run, renews it while the run
goes on and gives it back when the run ends. A lease names its holder (host, process, and a random part,
so two harvesters of one process are told apart) and expires ``lease_seconds`` after its last renewal: a
holder killed with ``kill -9`` or cut off from the store loses the source after that long, and the next
run resumes from the checkpoint its last page left.

Taking, renewing and giving back are one conditional statement each, atomic in both databases: the
``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` takes a lease only when there is none, it has expired,
or its holder is the caller. Expiry is read on the database's clock when the store is PostgreSQL (the
processes of a deployment run on several nodes whose clocks may differ), on the machine's with SQLite
(one machine).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

from ..errors import StoreError
from .connection import Db, StoreConnection


def holder_name() -> str:
    """A name for a new holder: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_alive(pid: int) -> bool:
    """Whether a process of this host with this id runs."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder_gone(holder: str) -> bool:
    """A holder of this host whose process has ended (killed, or crashed): its lease need not be waited for."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    return parts[0] == socket.gethostname() and not process_alive(int(parts[1]))


@dataclass(frozen=True)
class Lease:
    """A lease held: whose, on which source, for how long a renewal extends it."""

    source_id: str
    holder: str
    seconds: float


@dataclass(frozen=True)
class LeaseInfo:
    """A lease as the store has it (whoever holds it)."""

    source_id: str
    holder: str
    run_id: int | None
    expires_in: float

    @property
    def live(self) -> bool:
        return self.expires_in > 0


class Leases:
    """The ``leases`` table."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def clock(self) -> float:
        """Now, in seconds since the epoch, on the clock every holder compares expiries with."""
        if self._conn.dialect == "postgresql":
            return float(self._conn.read("SELECT EXTRACT(EPOCH FROM clock_timestamp()) AS now")[0]["now"])
        return time.time()

    def acquire(self, source_id: str, holder: str, seconds: float) -> Lease | None:
        """Take the source's lease for ``seconds``; None when another holder has it and it has not
        expired. A holder of this host whose process has ended is not waited for."""
        got = self._take(source_id, holder, seconds, "leases.expires_at <= ? OR leases.holder = excluded.holder")
        if got is None:
            info = self.get(source_id)
            if info is not None and _holder_gone(info.holder):
                got = self._take(source_id, holder, seconds, "leases.holder = ?", info.holder)
        return got

    def _take(self, source_id: str, holder: str, seconds: float, condition: str,
              arg: str | None = None) -> Lease | None:
        now = self.clock()
        try:
            with self._conn.transaction() as db:
                row = db.execute(
                    "INSERT INTO leases(source_id, holder, run_id, acquired_at, expires_at) VALUES (?,?,NULL,?,?)"
                    " ON CONFLICT (source_id) DO UPDATE SET holder = excluded.holder, run_id = NULL,"
                    f" acquired_at = excluded.acquired_at, expires_at = excluded.expires_at WHERE {condition}"
                    " RETURNING holder",
                    (source_id, holder, now, now + seconds, now if arg is None else arg),
                ).fetchone()
        except self._conn.errors as exc:
            raise StoreError(f"[{source_id}] cannot take the harvest lease: {exc}") from exc
        return Lease(source_id, holder, seconds) if row is not None else None

    def renew(self, lease: Lease) -> bool:
        """Extend the lease by its ``seconds`` from now; False when it was lost (expired and taken, or
        released)."""
        now = self.clock()
        with self._conn.transaction() as db:
            return self.renew_in(db, lease, now)

    def renew_in(self, db: Db, lease: Lease, now: float | None = None) -> bool:
        """:meth:`renew` inside a transaction the caller holds (a page's: the page is written only by the
        lease's holder)."""
        now = self.clock() if now is None else now
        return db.execute("UPDATE leases SET expires_at = ? WHERE source_id = ? AND holder = ?",
                          (now + lease.seconds, lease.source_id, lease.holder)).rowcount == 1

    @staticmethod
    def attach_in(db: Db, lease: Lease, run_id: int) -> None:
        """Name the run the lease is for, inside a transaction the caller holds (the run's start): a run
        whose lease is live counts as running, whatever node its process is on."""
        db.execute("UPDATE leases SET run_id = ? WHERE source_id = ? AND holder = ?",
                   (run_id, lease.source_id, lease.holder))

    def release(self, lease: Lease) -> None:
        """Give the lease back (if still held)."""
        with self._conn.transaction() as db:
            db.execute("DELETE FROM leases WHERE source_id = ? AND holder = ?", (lease.source_id, lease.holder))

    def get(self, source_id: str) -> LeaseInfo | None:
        """The source's lease, live or expired; None when there is none."""
        rows = self._conn.read("SELECT source_id, holder, run_id, expires_at FROM leases WHERE source_id = ?",
                               (source_id,))
        if not rows:
            return None
        now = self.clock()
        row = rows[0]
        return LeaseInfo(row["source_id"], row["holder"], row["run_id"], float(row["expires_at"]) - now)

    def live_runs(self) -> set[int]:
        """The runs whose leases are live: running, wherever their process is."""
        now = self.clock()
        rows = self._conn.read("SELECT run_id FROM leases WHERE expires_at > ? AND run_id IS NOT NULL", (now,))
        return {int(r["run_id"]) for r in rows}
