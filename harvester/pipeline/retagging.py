"""Re-tagging the store after a rule change: tags only, no crosswalk, no fetch.

Every stored live record is read back, tagged again with the current rules, policies and overrides,
and written only when its tags, flags or evidence changed; those records are then sent to the index.
The report says how many moved in each direction, per tag and per record:

- **more restricted**: a tag moved later in its order (``open`` → ``conditional``, ``general`` →
  ``review``, ``international`` → ``domestic``);
- **more open**: a tag moved earlier;
- **relabelled**: only the evidence, the flags or an equivalent value changed (``unknown``
  security is shown as ``general``, so ``unknown`` → ``general`` is not a move).

``openness: unknown`` ranks after ``metadata_only`` (nothing is promised); ``geo_scope: unknown``
with ``international`` and ``security: unknown`` with ``general``, as the default audience sees them.
A record that became ``core`` or ``secret`` is gated on the spot (only its id and level are kept).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..model import (
    GEO_ORDER,
    OPENNESS_ORDER,
    SECURITY_ORDER,
    Access,
    GeoScope,
    Openness,
    Record,
    Security,
)
from ..store import Outcome
from ..tagging.engine import TAGS, SourceTagger

if TYPE_CHECKING:
    from .run import Harvester

log = logging.getLogger(__name__)

BATCH = 1000

_RANKS: dict[str, dict[str, int]] = {
    "openness": {**{o.value: i for i, o in enumerate(OPENNESS_ORDER)}, Openness.UNKNOWN.value: len(OPENNESS_ORDER)},
    "geo_scope": {**{g.value: i for i, g in enumerate(GEO_ORDER)}, GeoScope.UNKNOWN.value: 0},
    "security": {**{s.value: i for i, s in enumerate(SECURITY_ORDER)}, Security.UNKNOWN.value: 0},
}


class Move(StrEnum):
    MORE_OPEN = "more_open"
    MORE_RESTRICTED = "more_restricted"
    MIXED = "mixed"            # one tag more open, another more restricted
    RELABELLED = "relabelled"  # evidence, flags or an equivalent value only


def direction(tag: str, before: str, after: str) -> int:
    """-1 more open, 1 more restricted, 0 neither."""
    rank = _RANKS[tag]
    return (rank[after] > rank[before]) - (rank[after] < rank[before])


@dataclass
class RetagReport:
    records: int = 0
    changed: int = 0
    gated: int = 0
    #: per tag: {"more_open": n, "more_restricted": n}
    per_tag: dict[str, dict[str, int]] = field(
        default_factory=lambda: {t: {Move.MORE_OPEN.value: 0, Move.MORE_RESTRICTED.value: 0} for t in TAGS})
    moves: dict[str, int] = field(default_factory=lambda: {m.value: 0 for m in Move})
    #: (record id, tag, before, after) of the first moves, for the operator to look at
    examples: list[tuple[str, str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "changed": self.changed, "gated": self.gated, "moves": self.moves,
                "per_tag": self.per_tag,
                "examples": [{"id": i, "tag": t, "before": b, "after": a} for i, t, b, a in self.examples]}

    def count(self, rec_id: str, before: Access, after: Access) -> None:
        self.changed += 1
        signs = set()
        for tag in TAGS:
            b, a = getattr(before, tag).value, getattr(after, tag).value
            sign = direction(tag, b, a)
            if sign:
                signs.add(sign)
                self.per_tag[tag][Move.MORE_OPEN.value if sign < 0 else Move.MORE_RESTRICTED.value] += 1
                if len(self.examples) < 20:
                    self.examples.append((rec_id, tag, b, a))
        move = (Move.MIXED if len(signs) > 1 else Move.MORE_OPEN if signs == {-1}
                else Move.MORE_RESTRICTED if signs == {1} else Move.RELABELLED)
        self.moves[move.value] += 1


def _same(a: Access, b: Access) -> bool:
    return (a.openness, a.geo_scope, a.security, a.flags, a.evidence, a.conflicts, a.embargo_until,
            a.openness_after_embargo) == (b.openness, b.geo_scope, b.security, b.flags, b.evidence,
                                          b.conflicts, b.embargo_until, b.openness_after_embargo)


def retag_store(harvester: Harvester, source_ids: Sequence[str] | None = None) -> RetagReport:
    """Tag every stored live record again (of ``source_ids``, else of every configured source)."""
    config = harvester.config
    sources = [config.source(s) for s in source_ids] if source_ids else list(config.sources)
    report = RetagReport()
    for source in sources:
        tagger = harvester.tagger_for(source)
        batch: list[Record] = []
        for rec in harvester.store.records.iter_records(source.id, batch=BATCH):
            report.records += 1
            if _retag_one(tagger, rec, report):
                batch.append(rec)
            if len(batch) >= BATCH:
                _store(harvester, batch, report)
                batch = []
        if batch:
            _store(harvester, batch, report)
    harvester.feeder.catch_up()
    log.info("re-tagged %d records: %d changed (%s)", report.records, report.changed, report.moves)
    return report


def _retag_one(tagger: SourceTagger, rec: Record, report: RetagReport) -> bool:
    before = rec.access
    tagger.tag(rec)
    if _same(before, rec.access):
        return False
    report.count(rec.id, before, rec.access)
    return True


def _store(harvester: Harvester, batch: list[Record], report: RetagReport) -> None:
    for _, outcome in harvester.store.records.retag(batch):
        if outcome is Outcome.GATED:
            report.gated += 1
