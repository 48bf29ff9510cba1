"""Cross-source duplicates: records of one dataset, reached through several sources, form a group.

A record's group key is its normalised DOI (``doi:10.11922/sciencedb.00001``), else its CSTR
(``cstr:31253.11.sciencedb.00001``), else its own id (``id:ncdc:glacier.0001``): a center's record
and the ScienceDB or DataCite record of the same DOI share a key. The store keeps every record as
harvested; the index holds one entry per group (:mod:`fedcat.index.groups`), rebuilt from the
group's live members whenever one of them changes, so a search shows the dataset once with every
source providing it. A record whose key changes (a DOI added) or that is deleted or gated has its
old group rebuilt from the members left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .model import Record

if TYPE_CHECKING:
    from fedcat.index.base import SearchIndex


def group_key(record: Record) -> str:
    """The key of the dataset a record describes: DOI, else CSTR, else the record's own id."""
    ids = record.identifiers
    if ids.doi:
        return f"doi:{ids.doi.lower()}"
    if ids.cstr:
        return f"cstr:{ids.cstr.split(':', 1)[-1].lower()}"
    return f"id:{record.id}"


@dataclass
class DatasetGroup:
    """One dataset: its key and its live members (every source's record of it), in id order."""

    key: str
    members: list[Record] = field(default_factory=list)


def groups_of(records: Iterable[Record]) -> list[DatasetGroup]:
    """The given records grouped by key (the records are taken as the groups' whole membership)."""
    by_key: dict[str, DatasetGroup] = {}
    for rec in records:
        group = by_key.setdefault(group_key(rec), DatasetGroup(group_key(rec)))
        group.members.append(rec)
    for group in by_key.values():
        group.members.sort(key=lambda r: r.id)
    return list(by_key.values())


class GroupReader(Protocol):
    """Where the groups are read from (the store's :class:`~fedcat.harvester.store.indexing.Indexing`)."""

    def group_keys_of(self, ids: Sequence[str]) -> dict[str, set[str]]: ...
    def groups(self, keys: Sequence[str], known: Mapping[str, Record] | None = None) -> list[DatasetGroup]: ...


def send_changes(store: GroupReader, index: SearchIndex, upserts: Sequence[Record], removals: Sequence[str], *,
                 refresh: bool) -> dict[str, str]:
    """Rebuild in the index every group the changed (``upserts``, just stored) and removed records
    belong to, or belonged to when last indexed.

    Returns the records whose group the index rejected (they stay pending), with the reason.
    """
    record_ids = [r.id for r in upserts] + list(removals)
    if not record_ids:
        return {}
    touched = store.group_keys_of(record_ids)
    keys = sorted({k for ks in touched.values() for k in ks})
    if not keys:
        return {}
    result = index.upsert_groups(store.groups(keys, known={r.id: r for r in upserts}), refresh=refresh)
    rejected: dict[str, str] = {}
    for rec_id, ks in touched.items():
        for k in ks:
            if k in result.errors:
                rejected[rec_id] = result.errors[k]
    return rejected
