"""What every adapter yields: pages of harvested items, each with a checkpoint."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree


@dataclass
class HarvestedItem:
    """One record as fetched, before crosswalking.

    ``element`` is the parsed metadata (XML adapters) and ``data`` the parsed
    JSON (REST adapters); ``raw`` is the record's payload as received.
    """

    local_id: str
    datestamp: str | None
    deleted: bool
    raw: bytes
    format: str
    sets: list[str] = field(default_factory=list)
    element: etree._Element | None = None
    data: dict[str, Any] | None = None
    error: str | None = None
    source_identifier: str | None = None


@dataclass
class Page:
    """A page of items plus the state to resume after it (stored with the page)."""

    items: list[HarvestedItem]
    checkpoint: dict[str, Any]
    url: str
    total_hint: int | None = None


@dataclass
class ListingInfo:
    """What the adapter learnt about the listing when it finished."""

    complete: bool = False
    full: bool = False
    newest_datestamp: str | None = None
    supports_deletions: bool = True
    resumed: bool = False


class Adapter(abc.ABC):
    """Fetches one source. ``pages`` resumes from ``resume`` (a checkpoint) when given."""

    info: ListingInfo

    @abc.abstractmethod
    def pages(self, *, full: bool, since: str | None, resume: dict[str, Any] | None) -> Iterator[Page]:
        """Yield pages until the listing ends; raises HarvestError subclasses."""
