"""Officers' decisions on tags: overrides, the review queue, and four eyes to declassify.

One place for what the CLI (``fedcat override``, ``fedcat review``) and the API (officer routes) do:

- **override**: an officer sets (or removes) one tag of one record, with a reason. The record is
  re-tagged at once and the index updated; the override survives re-harvests.
- **four eyes**: a change that would lower a record's security out of ``important``, ``core`` or
  ``secret`` (a lower value, or removing the override that holds it there) is *pending* until a
  second, different officer confirms it. Until then the record keeps its level (a gated record
  stays gated).
- **review**: records the rules could not decide (a restricted-category hint, nothing decisive)
  are tagged ``review``: only officers see them, until one decides their security, which is
  stored as an override.

Every step goes to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..config_schema import Audience
from ..errors import DecisionConflict, NothingToDecide, OverrideError
from ..model import SECURITY_ORDER, Record, Security
from ..store.officer import PendingOverride
from ..tagging.engine import TAGS, Override, check_override

if TYPE_CHECKING:
    from ..store import RecordStore
    from .run import Harvester

#: Levels a record leaves only when two officers agree.
FOUR_EYES_LEVELS = frozenset({Security.IMPORTANT.value, Security.CORE.value, Security.SECRET.value})
_RANK = {s.value: i for i, s in enumerate(SECURITY_ORDER)}


class Status(StrEnum):
    APPLIED = "applied"      # in effect now
    PENDING = "pending"      # waits for a second officer
    REMOVED = "removed"      # the override is gone, the rules decide again
    DISCARDED = "discarded"  # a pending change was rejected or withdrawn


@dataclass(frozen=True)
class Decision:
    status: Status
    record_id: str
    tag: str
    value: str | None
    by: str
    override: Override | None = None
    pending: PendingOverride | None = None
    #: The record's tags after the decision (None for a gated record, whose metadata is not kept).
    tags: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "record_id": self.record_id, "tag": self.tag, "value": self.value,
                "by": self.by, "override": self.override.__dict__ if self.override else None,
                "pending": self.pending.to_dict() if self.pending else None, "tags": self.tags}


def needs_second_officer(tag: str, current: str | None, value: str | None) -> bool:
    """Whether setting ``tag`` to ``value`` (None: removing its override) may lower the record out of a
    four-eyes level."""
    if tag != "security" or current not in FOUR_EYES_LEVELS:
        return False
    return value is None or _RANK[value] < _RANK[current]


class Decisions:
    def __init__(self, store: RecordStore, harvester: Harvester) -> None:
        self.store = store
        self.harvester = harvester

    def _source(self, record_id: str) -> str:
        source_id = self.store.records.source_of(record_id)
        if source_id is None:
            raise NothingToDecide(f"no record {record_id!r}")
        return source_id

    def _audit(self, by: str, action: str, record_id: str, detail: str) -> None:
        self.store.audit.add(by, Audience.OFFICER, action, [record_id], detail)

    def _retagged(self, record_id: str) -> dict[str, str] | None:
        for rec, _ in self.harvester.maintenance.retag([record_id]):
            return {t: getattr(rec.access, t).value for t in TAGS}
        level = self.store.records.gated_level(record_id)
        return {"security": level[1]} if level else None

    def override(self, record_id: str, tag: str, value: str, by: str, reason: str) -> Decision:
        """Set one tag (applied now, or pending when it lowers a record out of a four-eyes level)."""
        check_override(tag, value)  # before ranking the value (the store checks it, and the reason, again)
        source_id = self._source(record_id)
        if needs_second_officer(tag, self.store.records.current_security(record_id), value):
            pending = self.store.overrides.propose(record_id, source_id, tag, value, by, reason)
            self._audit(by, "override_proposed", record_id, f"{tag}={value}: {reason}")
            return Decision(Status.PENDING, record_id, tag, value, by, pending=pending)
        o = self.store.overrides.put(record_id, source_id, tag, value, by, reason)
        self._audit(by, "override_set", record_id, f"{tag}={value}: {reason}")
        return Decision(Status.APPLIED, record_id, tag, value, by, override=o, tags=self._retagged(record_id))

    def remove(self, record_id: str, tag: str, by: str, reason: str = "override removed") -> Decision:
        """Remove an override (pending when that may lower the record out of a four-eyes level)."""
        if not any(o.tag == tag for o in self.store.overrides.for_record(record_id)):
            raise NothingToDecide(f"no {tag} override on {record_id!r}")
        if needs_second_officer(tag, self.store.records.current_security(record_id), None):
            pending = self.store.overrides.propose(record_id, self._source(record_id), tag, None, by, reason)
            self._audit(by, "override_removal_proposed", record_id, f"{tag}: {reason}")
            return Decision(Status.PENDING, record_id, tag, None, by, pending=pending)
        self.store.overrides.remove(record_id, tag)
        self._audit(by, "override_removed", record_id, tag)
        return Decision(Status.REMOVED, record_id, tag, None, by, tags=self._retagged(record_id))

    def _pending(self, record_id: str, tag: str) -> PendingOverride:
        found = [p for p in self.store.overrides.pending(record_id) if p.tag == tag]
        if not found:
            raise NothingToDecide(f"no pending {tag} change on {record_id!r}")
        return found[0]

    def confirm(self, record_id: str, tag: str, by: str) -> Decision:
        """A second officer confirms a pending change: it takes effect now."""
        p = self._pending(record_id, tag)
        if p.by == by:
            raise DecisionConflict(f"{by} proposed this change: a second, different officer must confirm it")
        if p.value is None:
            self.store.overrides.remove(record_id, tag)
            self._audit(by, "override_removal_confirmed", record_id, f"{tag}: proposed by {p.by}: {p.reason}")
            return Decision(Status.REMOVED, record_id, tag, None, by, tags=self._retagged(record_id))
        o = self.store.overrides.put(record_id, p.source_id, tag, p.value, p.by, p.reason, confirmed_by=by)
        self._audit(by, "override_confirmed", record_id, f"{tag}={p.value}: proposed by {p.by}: {p.reason}")
        return Decision(Status.APPLIED, record_id, tag, p.value, by, override=o, tags=self._retagged(record_id))

    def reject(self, record_id: str, tag: str, by: str, reason: str = "") -> Decision:
        """Drop a pending change (a second officer disagrees, or the proposer withdraws it)."""
        p = self._pending(record_id, tag)
        self.store.overrides.discard(record_id, tag)
        detail = f"{tag}={p.value}: proposed by {p.by}" + (f"; {reason}" if reason.strip() else "")
        self._audit(by, "override_rejected", record_id, detail)
        return Decision(Status.DISCARDED, record_id, tag, p.value, by, pending=p)

    def review_queue(self, source_id: str | None = None, limit: int = 500) -> list[Record]:
        return self.store.records.awaiting_review(source_id, limit)

    def decide_review(self, record_id: str, value: str, by: str, reason: str) -> Decision:
        """An officer's decision on a record awaiting review: its security level, kept as an override."""
        if self.store.records.current_security(record_id) != Security.REVIEW.value:
            raise DecisionConflict(f"{record_id!r} is not awaiting review")
        if value == Security.REVIEW.value:
            raise OverrideError("a review decides a level: general, sensitive, important, core or secret")
        decision = self.override(record_id, "security", value, by, reason)
        self._audit(by, "review_decided", record_id, f"security={value}: {reason}")
        return decision
