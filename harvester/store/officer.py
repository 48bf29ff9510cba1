"""The store's tables for people rather than records: officer overrides, API keys, the audit log.

An override that would lower a record's security out of ``important``, ``core`` or ``secret`` is
first a *pending* override (``pending_overrides``): it takes effect only when a second, different
officer confirms it (:meth:`Overrides.confirm`).

API keys are shown once and stored as SHA-256 digests (a key is 32 random
bytes, so a plain digest is as strong as a slow hash); a presented key is
looked up by its public prefix and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ..config_schema import Audience
from ..errors import OverrideError, StoreError
from ..tagging.engine import Override, check_override
from .connection import Db, Row

SCHEMA = """
CREATE TABLE IF NOT EXISTS overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    value TEXT NOT NULL,
    by TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    confirmed_by TEXT,
    UNIQUE(record_id, tag)
);
CREATE INDEX IF NOT EXISTS overrides_source ON overrides(source_id);
CREATE TABLE IF NOT EXISTS pending_overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    value TEXT,
    by TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE(record_id, tag)
);
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix TEXT NOT NULL UNIQUE,
    digest TEXT NOT NULL,
    name TEXT NOT NULL,
    audience TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    audience TEXT NOT NULL,
    action TEXT NOT NULL,
    record_ids TEXT NOT NULL,
    detail TEXT
);
"""

KEY_PREFIX = "fck_"


class _Db(Protocol):
    def transaction(self) -> AbstractContextManager[Db]: ...
    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]: ...


# -- overrides ---------------------------------------------------------------------------------


class Overrides:
    def __init__(self, db: _Db, now: Any) -> None:
        self._db = db
        self._now = now

    def put(self, record_id: str, source_id: str, tag: str, value: str, by: str, reason: str,
            *, confirmed_by: str | None = None) -> Override:
        """Set (or replace) the officer's value for one tag of one record (OverrideError if invalid)."""
        check_override(tag, value)
        if not reason.strip():
            raise OverrideError("an override needs a reason")
        at = self._now()
        with self._db.transaction() as db:
            cur = db.execute(
                "INSERT INTO overrides(record_id, source_id, tag, value, by, reason, at, confirmed_by)"
                " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(record_id, tag) DO UPDATE SET value=excluded.value,"
                " by=excluded.by, reason=excluded.reason, at=excluded.at, confirmed_by=excluded.confirmed_by"
                " RETURNING id",
                (record_id, source_id, tag, value, by, reason, at, confirmed_by),
            )
            row = cur.fetchone()
            db.execute("DELETE FROM pending_overrides WHERE record_id=? AND tag=?", (record_id, tag))
        return Override(record_id, tag, value, by, reason, at, id=int(row[0]), confirmed_by=confirmed_by)

    def propose(self, record_id: str, source_id: str, tag: str, value: str | None, by: str,
                reason: str) -> PendingOverride:
        """Keep a change (``value`` None: removing the override) until a second officer confirms it."""
        if value is not None:
            check_override(tag, value)
        if not reason.strip():
            raise OverrideError("an override needs a reason")
        at = self._now()
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO pending_overrides(record_id, source_id, tag, value, by, reason, at) VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT(record_id, tag) DO UPDATE SET value=excluded.value, by=excluded.by,"
                " reason=excluded.reason, at=excluded.at",
                (record_id, source_id, tag, value, by, reason, at),
            )
        return PendingOverride(record_id, source_id, tag, value, by, reason, at)

    def pending(self, record_id: str | None = None) -> list[PendingOverride]:
        """Changes waiting for a second officer (of one record, or all), oldest first."""
        where, args = ("WHERE record_id=?", (record_id,)) if record_id else ("", ())
        return [PendingOverride(r["record_id"], r["source_id"], r["tag"], r["value"], r["by"], r["reason"], r["at"])
                for r in self._db.read(f"SELECT * FROM pending_overrides {where} ORDER BY at, id", args)]

    def discard(self, record_id: str, tag: str) -> bool:
        """Drop a pending change (rejected, or withdrawn); False when there is none."""
        with self._db.transaction() as db:
            return db.execute("DELETE FROM pending_overrides WHERE record_id=? AND tag=?",
                              (record_id, tag)).rowcount > 0

    def remove(self, record_id: str, tag: str) -> bool:
        with self._db.transaction() as db:
            cur = db.execute("DELETE FROM overrides WHERE record_id=? AND tag=?", (record_id, tag))
            db.execute("DELETE FROM pending_overrides WHERE record_id=? AND tag=?", (record_id, tag))
            return cur.rowcount > 0

    def for_record(self, record_id: str) -> list[Override]:
        return [_override(r) for r in self._db.read(
            "SELECT * FROM overrides WHERE record_id=? ORDER BY tag", (record_id,))]

    def for_source(self, source_id: str) -> list[Override]:
        return [_override(r) for r in self._db.read(
            "SELECT * FROM overrides WHERE source_id=? ORDER BY record_id, tag", (source_id,))]


def _override(row: Row) -> Override:
    return Override(row["record_id"], row["tag"], row["value"], row["by"], row["reason"], row["at"], id=row["id"],
                    confirmed_by=row["confirmed_by"])


@dataclass(frozen=True)
class PendingOverride:
    """A change to one tag that waits for a second officer; ``value`` None removes the override."""

    record_id: str
    source_id: str
    tag: str
    value: str | None
    by: str
    reason: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- API keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    audience: Audience
    prefix: str
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "audience": self.audience.value, "prefix": self.prefix,
                "created_at": self.created_at, "revoked_at": self.revoked_at, "last_used_at": self.last_used_at}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiKeys:
    def __init__(self, db: _Db, now: Any) -> None:
        self._db = db
        self._now = now

    def create(self, name: str, audience: Audience) -> tuple[ApiKey, str]:
        """A new key; the returned secret is the only copy (the store keeps its digest)."""
        if not name.strip():
            raise StoreError("an API key needs a name")
        public = secrets.token_hex(4)
        secret = f"{KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}"
        at = self._now()
        with self._db.transaction() as db:
            cur = db.execute(
                "INSERT INTO api_keys(prefix, digest, name, audience, created_at) VALUES (?,?,?,?,?) RETURNING id",
                (public, _digest(secret), name.strip(), audience.value, at),
            )
            key_id = int(cur.fetchone()[0])
        return ApiKey(key_id, name.strip(), audience, public, at), secret

    def verify(self, presented: str) -> ApiKey | None:
        """The live key matching ``presented``, or None (unknown, malformed or revoked)."""
        parts = presented.strip().split("_")
        if len(parts) < 3 or f"{parts[0]}_" != KEY_PREFIX:
            return None
        rows = self._db.read("SELECT * FROM api_keys WHERE prefix=?", (parts[1],))
        if not rows:
            _digest(presented)  # same work whether or not the prefix exists
            return None
        row = rows[0]
        if not hmac.compare_digest(row["digest"], _digest(presented.strip())) or row["revoked_at"]:
            return None
        with self._db.transaction() as db:
            db.execute("UPDATE api_keys SET last_used_at=? WHERE id=?", (self._now(), row["id"]))
        return _key(row)

    def revoke(self, ident: str) -> ApiKey:
        """Revoke by name, id or prefix; StoreError when nothing (live) matches."""
        rows = self._db.read(
            "SELECT * FROM api_keys WHERE revoked_at IS NULL AND (name=? OR prefix=? OR CAST(id AS TEXT)=?)",
            (ident, ident, ident))
        if not rows:
            raise StoreError(f"no live API key named {ident!r}")
        if len(rows) > 1:
            raise StoreError(f"{len(rows)} live keys are named {ident!r}: revoke by id")
        with self._db.transaction() as db:
            db.execute("UPDATE api_keys SET revoked_at=? WHERE id=?", (self._now(), rows[0]["id"]))
        return _key(self._db.read("SELECT * FROM api_keys WHERE id=?", (rows[0]["id"],))[0])

    def list(self) -> list[ApiKey]:
        return [_key(r) for r in self._db.read("SELECT * FROM api_keys ORDER BY id")]


def _key(row: Row) -> ApiKey:
    return ApiKey(row["id"], row["name"], Audience(row["audience"]), row["prefix"], row["created_at"],
                  row["revoked_at"], row["last_used_at"])


# -- audit log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    audience: str
    action: str
    record_ids: list[str]
    detail: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AuditLog:
    def __init__(self, db: _Db, now: Any) -> None:
        self._db = db
        self._now = now

    def add(self, actor: str, audience: Audience, action: str, record_ids: Sequence[str],
            detail: str | None = None) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO audit_log(at, actor, audience, action, record_ids, detail) VALUES (?,?,?,?,?,?)",
                (self._now(), actor, audience.value, action, json.dumps(list(record_ids)), detail),
            )

    def entries(self, limit: int = 100) -> list[AuditEntry]:
        return list(self._iter(limit))

    def _iter(self, limit: int) -> Iterator[AuditEntry]:
        for r in self._db.read("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)):
            yield AuditEntry(r["id"], r["at"], r["actor"], r["audience"], r["action"],
                             json.loads(r["record_ids"]), r["detail"])
