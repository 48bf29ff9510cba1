"""Cross-source duplicates: records of one dataset, reached through several sources, form a group.

A record names its dataset by its identifiers: its normalised DOI (``doi:10.11922/sciencedb.00001``)
and its CSTR (``cstr:31253.11.sciencedb.00001``) (:func:`identifier_keys`). Records that share any
identifier are one dataset, and so, transitively, are the records they share identifiers with: a
group is a connected component of records linked by shared identifiers, across sources. A
center's CSTR-only record, the ScienceDB copy with a DOI and the same CSTR, and the DataCite record
of that DOI are one group.

The group's key is chosen from its identifiers alone (:func:`component_key`): the smallest DOI key
among them, else the smallest CSTR key; a record that shares nothing keys its own group by its id
(``id:ncdc:glacier.0001``). The DOI comes first because it is the identifier most copies of a dataset
carry (a center's, ScienceDB's and DataCite's record), so a group's key stays what it was when a
record that only has a CSTR joins or leaves, and every group with a DOI keeps the key it had when
groups were keyed by one record's DOI. The smallest key makes the choice independent of the order
in which records arrive.

The store keeps every record as harvested, the identifiers of each live record and each record's
group key (:mod:`.store.records`, which recomputes the components a change may join or split); the
index holds one entry per group (:mod:`fedcat.index.groups`), rebuilt from the group's live
members whenever one of them changes or the group is re-keyed, so a search shows the dataset once
with every source providing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .model import Record

if TYPE_CHECKING:
    from fedcat.index.base import SearchIndex


def identifier_keys(record: Record) -> list[str]:
    """The keys of the identifiers a record names its dataset by: ``doi:<DOI>``, ``cstr:<CSTR>`` (lower case)."""
    ids = record.identifiers
    keys: list[str] = []
    if ids.doi:
        keys.append(f"doi:{ids.doi.lower()}")
    if ids.cstr:
        keys.append(f"cstr:{ids.cstr.split(':', 1)[-1].lower()}")
    return keys


def component_key(identifiers: Iterable[str]) -> str | None:
    """The key of a group holding these identifier keys: the smallest DOI key, else the smallest CSTR key
    (None when there is none)."""
    keys = set(identifiers)
    dois = [k for k in keys if k.startswith("doi:")]
    return min(dois) if dois else min(keys, default=None)


def group_key(record: Record) -> str:
    """The key of a record's group when it is alone: its DOI, else its CSTR, else its own id."""
    return component_key(identifier_keys(record)) or f"id:{record.id}"


def components(links: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Group records by shared identifiers, transitively: ``links`` gives each record's linking identifier
    keys; returns each record's group key (:func:`component_key`, ``id:<record id>`` for a record linked
    to nothing)."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    for rec_id, keys in links.items():
        for key in keys:
            a, b = find("r" + rec_id), find("k" + key)
            if a != b:
                parent[max(a, b)] = min(a, b)
    identifiers: dict[str, set[str]] = {}
    for rec_id, keys in links.items():
        for key in keys:
            identifiers.setdefault(find("r" + rec_id), set()).add(key)
    return {rec_id: component_key(identifiers.get(find("r" + rec_id), ())) or f"id:{rec_id}"
            for rec_id in links}


@dataclass
class DatasetGroup:
    """One dataset: its key and its live members (every source's record of it), in id order."""

    key: str
    members: list[Record] = field(default_factory=list)


Holdings = Mapping[str, Sequence[tuple[str, str]]]
"""Each record's identifiers with its source: record id → [(identifier key, source id)]."""


def count_holders(holders: dict[str, dict[str, int]], held: Iterable[tuple[str, str]]) -> None:
    """Add ``held`` ((identifier key, source id) of one record each) to how many records of each source
    hold each identifier."""
    for key, source in held:
        per_source = holders.setdefault(key, {})
        per_source[source] = per_source.get(source, 0) + 1


def linking_keys(holdings: Holdings, holders: Mapping[str, Mapping[str, int]]) -> dict[str, list[str]]:
    """Each record's identifiers that link it to other records: those no other record of its own source
    holds (``holders``, :func:`count_holders`). A DOI or CSTR that one source gives to several of its
    records names a collection, not a dataset, and links nothing."""
    return {rec_id: [key for key, source in held if holders[key][source] == 1] for rec_id, held in holdings.items()}


def groups_of(records: Iterable[Record]) -> list[DatasetGroup]:
    """The given records grouped by shared identifiers (the records are taken as the groups' whole
    membership). Unlike the store (:func:`linking_keys`), every shared identifier links here, one
    source's too."""
    recs = list(records)
    keys = components({r.id: identifier_keys(r) for r in recs})
    by_key: dict[str, DatasetGroup] = {}
    for rec in recs:
        key = keys[rec.id]
        by_key.setdefault(key, DatasetGroup(key)).members.append(rec)
    for group in by_key.values():
        group.members.sort(key=lambda r: r.id)
    return list(by_key.values())


class GroupReader(Protocol):
    """Where the groups are read from (the store's :class:`~fedcat.harvester.store.indexing.Indexing`)."""

    def group_keys_of(self, ids: Sequence[str]) -> dict[str, set[str]]: ...
    def groups(self, keys: Sequence[str], known: Mapping[str, Record] | None = None) -> list[DatasetGroup]: ...


#: Told the keys of the groups a change touched and those groups as they are now (a key without live
#: members has no group): the dataset's public view is published from them (:mod:`.pipeline.publishing`).
GroupsChanged = Callable[[Sequence[str], Sequence[DatasetGroup]], None]


def send_changes(store: GroupReader, index: SearchIndex, upserts: Sequence[Record], removals: Sequence[str], *,
                 refresh: bool, changed: GroupsChanged | None = None) -> dict[str, str]:
    """Rebuild in the index every group the changed (``upserts``, just stored) and removed records
    belong to, or belonged to when last indexed; ``changed`` is told of those groups first.

    Returns the records whose group the index rejected (they stay pending), with the reason.
    """
    record_ids = [r.id for r in upserts] + list(removals)
    if not record_ids:
        return {}
    touched = store.group_keys_of(record_ids)
    keys = sorted({k for ks in touched.values() for k in ks})
    if not keys:
        return {}
    groups = store.groups(keys, known={r.id: r for r in upserts})
    if changed is not None:
        changed(keys, groups)
    result = index.upsert_groups(groups, refresh=refresh)
    rejected: dict[str, str] = {}
    for rec_id, ks in touched.items():
        for k in ks:
            if k in result.errors:
                rejected[rec_id] = result.errors[k]
    return rejected
