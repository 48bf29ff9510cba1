"""The provider's repository over the record store: the ``published`` rows (:mod:`fedcat.harvester.store.published`)
with their records read from the store and seen through the public's visibility once more, so a record
that left the public's sight since its dataset was last published is never sent (its dataset shows as
deleted until the next publication says so too)."""

from __future__ import annotations

from collections.abc import Sequence

from fedcat.harvester.config_schema import Config
from fedcat.harvester.model import Record
from fedcat.harvester.store import RecordStore
from fedcat.harvester.store.published import PublishedRow

from ..audience import Caller
from ..formats.view import caller_view
from .published import ListFilter, PublishedItem

#: Names of the parent sets (the set hierarchy's first level).
PARENT_SETS = {"center": "数据中心 Data centers", "openness": "开放程度 Openness", "area": "学科领域 Subject areas"}


class StorePublished:
    """``caller`` is the public (the anonymous audience): what it may see, and whose links it may follow."""

    def __init__(self, store: RecordStore, config: Config, caller: Caller) -> None:
        self.store = store
        self.config = config
        self.caller = caller
        self.visibility = caller.visibility

    def earliest(self) -> str | None:
        return self.store.published.earliest()

    def sets(self) -> list[tuple[str, str]]:
        specs = self.store.published.set_specs()
        names = {f"center:{s.id}": " / ".join(n for n in (s.name, s.name_en) if n) for s in self.config.sources}
        parents = sorted({spec.split(":", 1)[0] for spec in specs})
        out = [(p, PARENT_SETS.get(p, p)) for p in parents]
        out += [(spec, names.get(spec) or spec.split(":", 1)[-1]) for spec in specs]
        return sorted(out)

    def count(self, where: ListFilter) -> int:
        return self.store.published.count(where.from_, where.until, where.set_spec)

    def page(self, where: ListFilter, after: tuple[str, str] | None, limit: int, *,
             with_records: bool) -> Sequence[PublishedItem]:
        rows = self.store.published.page(where.from_, where.until, where.set_spec, after, limit)
        return [self.item(r, with_records) for r in rows]

    def get(self, key: str) -> PublishedItem | None:
        row = self.store.published.get(key)
        return self.item(row, True) if row is not None else None

    def item(self, row: PublishedRow, with_records: bool) -> PublishedItem:
        """A published row as an item, its records read and checked against the public's visibility."""
        records: list[Record] = []
        if with_records and not row.deleted:
            for rec_id in row.members:
                rec = self.store.records.get_visible(rec_id, self.visibility.allows)
                if rec is None or rec.deleted:
                    continue
                records.append(caller_view(rec, self.caller.sees_links(rec.access.security)))  # links withheld
        deleted = row.deleted or (with_records and not records)
        return PublishedItem(row.key, row.datestamp, deleted, row.sets, records)
