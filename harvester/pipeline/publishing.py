"""Keeping the public view of each dataset (:mod:`..store.published`) in step with the store: the record
store's groups, seen through the public's visibility, become :class:`~..store.published.PublicView` s.

The view of a group is its members the public may see, in the group's order (the lead first), the sets
they put it in (``center:<source id>`` for each member's source, ``area:<subject area>`` of those sources
that name one, ``openness:<level>`` of the lead) and a
hash of what a harvester would be sent (the members' records, the sets). The feeder publishes the groups
it sends to the index, in the same step; ``fedcat reindex`` publishes every group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from fedcat.index.base import Visibility

from .. import serial
from ..grouping import DatasetGroup
from ..store import RecordStore
from ..store.published import PublicView

#: Parts of a record that are not part of what the public is sent.
UNPUBLISHED = frozenset({"provenance", "raw_ref", "content_hash", "datestamp"})


def public_view(group: DatasetGroup, visibility: Visibility, areas: Mapping[str, str] | None = None) -> PublicView:
    """``areas``: each source's subject area (``sources[].subject_area``), for the ``area:`` sets."""
    members = [m for m in group.members if not m.deleted and visibility.allows_record(m)]
    if not members:
        return PublicView(group.key)
    areas = areas or {}
    sets = sorted({f"center:{m.source_id}" for m in members} | {f"openness:{members[0].access.openness.value}"}
                  | {f"area:{areas[m.source_id]}" for m in members if m.source_id in areas})
    digest = hashlib.sha256()
    for member in members:  # what a harvester is sent: not when or by which run it was harvested
        shown = {k: v for k, v in member.to_dict().items() if k not in UNPUBLISHED}
        digest.update(serial.dumps(shown, sort_keys=True).encode("utf-8"))
        digest.update(b"\0")
    digest.update("\0".join(sets).encode("utf-8"))
    return PublicView(group.key, tuple(m.id for m in members), tuple(sets), digest.hexdigest())


def publish_keys(store: RecordStore, keys: Sequence[str], groups: Sequence[DatasetGroup],
                 visibility: Visibility, areas: Mapping[str, str] | None = None) -> int:
    """Publish the groups a change touched: ``groups`` as they are now; a key among ``keys`` without a
    group has no live member left (its dataset is gone, or merged into another)."""
    by_key = {g.key: g for g in groups}
    touched = set(keys)
    views = [public_view(by_key[k], visibility, areas) if k in by_key else PublicView(k) for k in sorted(touched)]
    views += [public_view(g, visibility, areas) for k, g in by_key.items() if k not in touched]
    return store.published.apply(views) if views else 0


def publish_groups(store: RecordStore, groups: Sequence[DatasetGroup], visibility: Visibility,
                   areas: Mapping[str, str] | None = None) -> int:
    """Publish these groups (read by the caller: a rebuild walks them all)."""
    return store.published.apply([public_view(g, visibility, areas) for g in groups]) if groups else 0
