"""One search hit per dataset, whatever the caller may see: the index documents of a duplicate group.

A group (:class:`~fedcat.harvester.grouping.DatasetGroup`) holds every source's record of one dataset.
Its members may carry different tags (a center says ``sensitive``, ScienceDB ``general``), and a
caller must never learn of a member it may not see — not in the hit, the total or a facet count.

fedcat filters members per audience, inside the index: a group is indexed as one document per
distinct *view*, the set of members some visibility lets through. Each document holds only its
view's members (their text, facet values, sources) and two keyword fields naming the members'
visibility classes: ``vis_in`` for the members it holds, ``vis_out`` for the group's other
members. A member's class is its security level and whether its geo scope is domestic (all a
:class:`~.base.Visibility` looks at). A query lets a document through only when every class in
``vis_in`` is allowed and none in ``vis_out`` is — so for any visibility exactly one document of a
group matches (the one holding exactly the members that visibility allows), or none when it
allows no member. Hits, totals and facets therefore count datasets, each showing only visible
members, and nothing needs filtering after the query. A group with members of one class (the
usual case, and every group of one record) has one document.

Documents have predictable ids, ``<group key>|<view>``, where ``<view>`` numbers the visibility
class (of :data:`VIEW_CLASSES`) that first yields that member set; rewriting a group replaces
its documents in place and deletes the ids its new views no longer use, without reading the
index first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from fedcat.harvester.grouping import DatasetGroup, group_key
from fedcat.harvester.model import GeoScope, Record, Security

from .base import Visibility
from .documents import IndexDoc, indexable, to_index_doc

#: Levels a document may hold (core and secret never enter an index).
INDEXED_LEVELS: tuple[Security, ...] = (
    Security.GENERAL, Security.SENSITIVE, Security.REVIEW, Security.IMPORTANT, Security.UNKNOWN)
#: Every visibility class a query can express: (levels allowed, domestic hidden), fixed order.
VIEW_CLASSES: tuple[tuple[frozenset[Security], bool], ...] = tuple(
    (frozenset(levels), hide)
    for hide in (False, True)
    for n in range(len(INDEXED_LEVELS), 0, -1)
    for levels in combinations(INDEXED_LEVELS, n)
)
#: The class that sees every member: its document is the group's complete view.
FULL_VIEW = 0
#: Fields of a member shown in a hit's ``sources`` list.
SOURCE_FIELDS = ("id", "source_id", "center", "center_en", "openness", "geo_scope", "security", "licence",
                 "landing_page")


def vis_class(security: Security, geo_scope: GeoScope) -> str:
    """A member's visibility class: ``general.d`` (domestic) or ``general.n`` (not domestic)."""
    return f"{security.value}.{'d' if geo_scope is GeoScope.DOMESTIC else 'n'}"


def member_class(record: Record) -> str:
    return vis_class(record.access.security, record.access.geo_scope)


ALL_CLASSES: tuple[str, ...] = tuple(f"{s.value}.{g}" for s in Security for g in ("d", "n"))


def allowed_classes(vis: Visibility) -> tuple[list[str], list[str]]:
    """The member classes a visibility lets through, and those it does not."""
    allowed = [c for c in ALL_CLASSES if _allows(vis.security, vis.hide_domestic, c)]
    return allowed, [c for c in ALL_CLASSES if c not in allowed]


def _allows(levels: frozenset[Security], hide_domestic: bool, cls: str) -> bool:
    level, geo = cls.rsplit(".", 1)
    return Security(level) in levels and not (hide_domestic and geo == "d")


#: The member classes each of VIEW_CLASSES lets through, worked out once.
_VIEW_ALLOWED: tuple[frozenset[str], ...] = tuple(
    frozenset(c for c in ALL_CLASSES if _allows(levels, hide, c)) for levels, hide in VIEW_CLASSES
)


@dataclass
class ViewDoc:
    """One document of a group: the members of one view."""

    doc_id: str
    group: str
    view: int
    members: list[Record]
    vis_in: list[str]
    vis_out: list[str]
    doc: IndexDoc

    @property
    def complete(self) -> bool:
        return not self.vis_out


def views(group: DatasetGroup) -> list[ViewDoc]:
    """The documents of a group (none when it has no indexable member)."""
    members = [m for m in group.members if indexable(m)]
    if not members:
        return []
    classes = {m.id: member_class(m) for m in members}
    if len(set(classes.values())) == 1:  # one class (every one-record group): one document, the first view
        cls = next(iter(classes.values()))
        number = next(n for n, allowed in enumerate(_VIEW_ALLOWED) if cls in allowed)
        return [ViewDoc(doc_id=doc_id(group.key, number), group=group.key, view=number, members=members,
                        vis_in=[cls], vis_out=[], doc=group_document(group.key, members))]
    out: list[ViewDoc] = []
    seen: set[frozenset[str]] = set()
    for number, allowed in enumerate(_VIEW_ALLOWED):
        chosen = [m for m in members if classes[m.id] in allowed]
        ids = frozenset(m.id for m in chosen)
        if not chosen or ids in seen:
            continue
        seen.add(ids)
        inside = sorted({classes[m.id] for m in chosen})
        outside = sorted({classes[m.id] for m in members if m.id not in ids})
        out.append(ViewDoc(doc_id=doc_id(group.key, number), group=group.key, view=number, members=chosen,
                           vis_in=inside, vis_out=outside, doc=group_document(group.key, chosen)))
    return out


def doc_id(key: str, view: int) -> str:
    return f"{key}|{view}"


def all_doc_ids(key: str) -> list[str]:
    """Every id a group's documents may have."""
    return [doc_id(key, n) for n in range(len(VIEW_CLASSES))]


def primary(members: list[Record]) -> Record:
    """The member a hit is shown as: the least restricted, then the one with most titles, then by id."""
    order = {s: i for i, s in enumerate(INDEXED_LEVELS)}
    return min(members, key=lambda m: (order.get(m.access.security, len(order)),
                                       m.access.geo_scope is GeoScope.DOMESTIC, -len(m.titles), m.id))


def group_document(key: str, members: list[Record]) -> IndexDoc:
    """The searchable document of some members of a group: the primary's display, everyone's text and facet
    values (their years too: the group is found under each year one of these members was published)."""
    lead = primary(members)
    base = to_index_doc(lead)
    docs = [base] + [to_index_doc(m) for m in members if m is not lead]
    keywords = {name: sorted({v for d in docs for v in d.keywords.get(name, [])}) for name in base.keywords}
    display: dict[str, Any] = dict(base.display, group=key,
                                   sources=[_source(d.display) for d in sorted(docs, key=lambda d: d.id)])
    return IndexDoc(
        id=base.id, keywords=keywords, years=sorted({y for d in docs for y in d.years}),
        published_key=base.published_key,
        title_text=" ".join(_unique(d.title_text for d in docs)),
        subjects_text=" ".join(_unique(d.subjects_text for d in docs)),
        body_text=" ".join(_unique(d.body_text for d in docs)),
        center_text=" ".join(_unique(d.center_text for d in docs)),
        title_zh=base.title_zh, title_en=base.title_en, display=display,
    )


def _source(display: dict[str, Any]) -> dict[str, Any]:
    return {k: display.get(k) for k in SOURCE_FIELDS}


def _unique(values: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for v in values:
        if v and v not in seen:
            seen.append(v)
    return seen


__all__ = ["DatasetGroup", "group_key", "views", "allowed_classes", "primary", "all_doc_ids", "ViewDoc"]
