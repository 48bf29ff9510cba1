"""What every adapter yields: pages of harvested items, each with a checkpoint."""

from __future__ import annotations

import abc
import contextvars
import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lxml import etree

T = TypeVar("T")


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
    #: What the adapter had to change to read the page (an encoding fallback): kept in the run's report.
    warnings: list[str] = field(default_factory=list)


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


_DONE = object()


def prefetch(source: Iterator[T], depth: int = 1) -> Prefetch[T]:
    """Run ``source`` in a thread, ``depth`` items ahead, so fetching overlaps with processing."""
    return Prefetch(source, depth)


class Prefetch(Iterator[T]):
    """``source`` run in a thread, ``depth`` items ahead; :meth:`ready` says whether the next item waits.

    Memory stays bounded (at most ``depth`` + 1 items alive); an exception in
    ``source`` is raised in the consumer; :meth:`close` (or the end) stops the thread.
    """

    def __init__(self, source: Iterator[T], depth: int = 1) -> None:
        self._q: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._items: Generator[T, None, None] = self._consume(source)

    def __next__(self) -> T:
        return next(self._items)

    def ready(self) -> bool:
        """Whether the next item (or the end) has already arrived: ``next`` will not wait."""
        return not self._q.empty()

    def close(self) -> None:
        self._items.close()

    def _consume(self, source: Iterator[T]) -> Generator[T, None, None]:
        q = self._q
        stop = threading.Event()

        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def worker() -> None:
            try:
                for item in source:
                    if not put(item):
                        return
                    del item  # held by the queue and then the consumer only: let it go once they are done
                put(_DONE)
            except BaseException as exc:  # handed to the consumer, which re-raises it
                put(_Failure(exc))

        # the thread logs as the consumer would: about the same run (``..logcontext``)
        thread = threading.Thread(target=contextvars.copy_context().run, args=(worker,), name="prefetch", daemon=True)
        thread.start()
        try:
            while True:
                box = [q.get()]
                if box[0] is _DONE:
                    return
                if isinstance(box[0], _Failure):
                    raise box[0].exc
                yield box.pop()  # type: ignore[misc]  # not kept here while the consumer works on it
        finally:
            stop.set()
            thread.join(timeout=5)


@dataclass
class _Failure:
    exc: BaseException
