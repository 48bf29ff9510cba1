"""What the OAI-PMH provider serves: the catalog's datasets as the public sees them, with the time each
one's public view last changed, and those that left it (deleted at their source, gated, or moved out of
the public's sight) as deleted items, so nothing a harvester once took silently vanishes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from fedcat.harvester.model import Record


@dataclass(frozen=True)
class ListFilter:
    """``from``/``until`` as UTC datestamps to the second (inclusive), and a set spec."""

    from_: str | None = None
    until: str | None = None
    set_spec: str | None = None


@dataclass
class PublishedItem:
    """One dataset: its OAI identifier's local part (the dataset's key), when its public view last
    changed (``YYYY-MM-DDThh:mm:ssZ``), the sets it is in, and, unless deleted, its records as the public
    sees them (the lead first)."""

    key: str
    datestamp: str
    deleted: bool
    sets: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)


class Published(Protocol):
    """The provider's repository (the record store's ``published`` table and records)."""

    def earliest(self) -> str | None: ...
    def sets(self) -> list[tuple[str, str]]: ...
    def count(self, where: ListFilter) -> int: ...
    def page(self, where: ListFilter, after: tuple[str, str] | None, limit: int, *,
             with_records: bool) -> Sequence[PublishedItem]: ...
    def get(self, key: str) -> PublishedItem | None: ...
