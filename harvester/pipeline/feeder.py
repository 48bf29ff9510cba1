"""The index feeder: keeps the search index in step with the record store.

The store is the source of truth; the index is derived from it, one entry per dataset group
(:mod:`.grouping`). Every change the store makes marks its record pending
(:class:`.store.indexing.Indexing`); the feeder sends the changes of each stored page to the index
(:meth:`IndexFeeder.stage`), commits them in batches (:meth:`IndexFeeder.flush`), and clears the marks
once they are committed. Whatever an index outage, a failed write or a lost index left pending is sent
by :meth:`IndexFeeder.catch_up`. All index writes hold the feeder's lock.

With :attr:`IndexFeeder.publish_as` set (the public's visibility: the catalog sets it), every group sent
to the index is published too (:mod:`.publishing`, what the OAI-PMH provider serves), from the same
groups read for the index; a rebuild publishes them all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from fedcat.index.base import SearchIndex, Visibility
from fedcat.index.errors import IndexBackendError

from ..grouping import DatasetGroup, send_changes
from ..memory import MemoryReleaser
from ..model import Record
from ..store import Outcome, RecordStore
from .publishing import publish_groups, publish_keys

log = logging.getLogger(__name__)

#: Index commits are batched (each costs a segment write): at most this many staged documents or
#: seconds between commits, and one at the end of every run.
FLUSH_EVERY_DOCS = 20_000
FLUSH_EVERY_S = 30.0
#: Groups published in one store transaction during a rebuild.
PUBLISH_BATCH = 500


class IndexFeeder:
    """Sends the store's changes to the index (none when there is no index: every method does nothing)."""

    def __init__(self, store: RecordStore, index: SearchIndex | None) -> None:
        self.store = store
        self.index = index
        self._lock = threading.Lock()
        self._staged: list[str] = []
        self._last_flush = time.monotonic()
        #: Records :meth:`check` marked to be indexed again when the catalog opened (0: the index was in step).
        self.marked = 0
        #: The last index error met (said in the report of a run whose records wait for it).
        self.failure: str | None = None
        #: The public's visibility: when set, the groups sent to the index are published too.
        self.publish_as: Visibility | None = None
        #: Each source's subject area (``sources[].subject_area``), for the published ``area:`` sets.
        self.subject_areas: dict[str, str] = {}

    def stage(self, outcomes: Iterable[tuple[Record, Outcome]]) -> None:
        """Stage a page's changes in the index; commit them in batches (commits are costly)."""
        if self.index is None:
            return
        upserts = [r for r, o in outcomes if o in (Outcome.ADDED, Outcome.UPDATED)]
        removals = [r.id for r, o in outcomes if o in (Outcome.DELETED, Outcome.GATED)]
        if not upserts and not removals:
            return
        with self._lock:
            try:
                rejected = self._send(upserts, removals, refresh=False)
            except IndexBackendError as exc:
                # what was staged before may be lost with it (a writer process that died): the
                # store still marks those records pending, and the catch-up sends them again
                log.warning("index update failed, records stay pending: %s", exc)
                self.failure = str(exc)
                self._staged = []
                return
            self._staged += [i for i in [r.id for r in upserts] + removals if i not in rejected]
            if len(self._staged) >= FLUSH_EVERY_DOCS or time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
                self._flush_locked()

    def _send(self, upserts: list[Record], removals: list[str], *, refresh: bool) -> dict[str, str]:
        """Rebuild the groups of changed and removed records (see :mod:`.grouping`); returns the
        records whose group the index rejected (they stay pending)."""
        assert self.index is not None
        rejected = send_changes(self.store.indexing, self.index, upserts, removals, refresh=refresh,
                                changed=self._publish if self.publish_as is not None else None)
        if rejected:
            some = ", ".join(f"{i} ({why})" for i, why in list(rejected.items())[:3])
            log.warning("the index rejected %d records, they stay pending: %s", len(rejected), some)
        return rejected

    def _publish(self, keys: Sequence[str], groups: Sequence[DatasetGroup]) -> None:
        assert self.publish_as is not None
        publish_keys(self.store, keys, groups, self.publish_as, self.subject_areas)

    def _published_too(self, groups: Iterable[DatasetGroup]) -> Iterator[DatasetGroup]:
        """``groups`` as they pass, published in batches; then every dataset published before and not among
        them is published as gone."""
        visibility = self.publish_as
        if visibility is None:
            yield from groups
            return
        seen: set[str] = set()
        batch: list[DatasetGroup] = []
        for group in groups:
            seen.add(group.key)
            batch.append(group)
            yield group
            if len(batch) >= PUBLISH_BATCH:
                publish_groups(self.store, batch, visibility, self.subject_areas)
                batch = []
        publish_groups(self.store, batch, visibility, self.subject_areas)
        after = ""  # the datasets published before and not walked now are gone: read a page of keys at a time
        while keys := self.store.published.live_keys_after(after, PUBLISH_BATCH):
            after = keys[-1]
            publish_keys(self.store, [k for k in keys if k not in seen], [], visibility)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def forget_staged(self) -> None:
        """The index let go of its writer without a commit (a run that ended by an exception): what was
        staged is gone with it. Those records stay pending in the store and the next catch-up sends them
        again; they must not be marked indexed by a later flush."""
        with self._lock:
            if self._staged:
                log.info("%d staged index changes were not committed: their records stay pending",
                         len(self._staged))
            self._staged = []

    def _flush_locked(self) -> None:
        """Commit staged index changes, then clear their pending marks in the store."""
        self._last_flush = time.monotonic()
        if self.index is None or not self._staged:
            return
        try:
            self.index.flush()
        except IndexBackendError as exc:
            log.warning("index commit failed, records stay pending: %s", exc)
            self.failure = str(exc)
            self._staged = []  # not known to be committed: the catch-up sends them again
            return
        self.store.indexing.mark_indexed(self._staged)
        self._staged = []

    def catch_up(self) -> int:
        """Index every record still marked pending (after an index outage or a crash)."""
        if self.index is None:
            return 0
        done = 0
        with self._lock, self.index.writing():
            self._flush_locked()
            # a rebuild that another process began and did not finish leaves its marks (2): pending again
            # (if it is still running, this only costs it re-sending those records after its end)
            self.store.indexing.abandoned_rebuild()
            while True:
                pending = self.store.indexing.pending()
                if not pending:
                    return done
                live = [r for _, r in pending if r is not None]
                gone = [i for i, r in pending if r is None]
                try:
                    rejected = self._send(live, gone, refresh=True)
                except IndexBackendError as exc:
                    log.warning("index catch-up failed, %d records stay pending: %s", len(pending), exc)
                    return done
                indexed = [i for i, _ in pending if i not in rejected]
                self.store.indexing.mark_indexed(indexed)
                done += len(indexed)
                if not indexed:
                    return done  # only rejected records are left: the next catch-up tries them again

    def rebuild(self, *, seen: Callable[[Record], None] | None = None) -> int:
        """Rebuild the index from the store (beside the live one, swapped in at the end); ``seen`` is shown
        every live record of the store on the way (the term table is mined in the same walk)."""
        if self.index is None:
            return 0
        groups = _releasing(self.store.indexing.iter_groups(), MemoryReleaser(), PUBLISH_BATCH)
        if seen is not None:
            groups = _shown(groups, seen)
        with self._lock:
            self.index.bind_store(self.store.store_id)
            self.store.indexing.start_rebuild()
            try:
                count = self.index.rebuild_groups(self._published_too(groups))
                self.index.bind_store(self.store.store_id)  # a new Elasticsearch version starts unbound
            except BaseException:
                self.store.indexing.abandoned_rebuild()
                raise
            self.store.indexing.mark_all_indexed()
        return count

    def check(self) -> int:
        """Whether the index reflects this store (an invariant checked when the catalog opens): an index that
        is new, lost and recreated empty, or built from another store has every live record marked pending,
        so the next catch-up (every harvest, ``fedcat reindex``, ``fedcat status --repair``) fills it.
        Returns how many records were marked."""
        if self.index is None:
            return 0
        if self.store.indexing.abandoned_rebuild():
            log.info("a rebuild of the index ended early: the records it would have covered stay pending")
        if not self.index.tracks_store:
            return 0
        store_id = self.store.store_id
        try:
            bound = self.index.bound_store()
            if bound == store_id:
                return 0
            marked = self.store.indexing.mark_all_pending()
            self.index.bind_store(store_id)
        except IndexBackendError as exc:  # cannot tell now (a cluster down): checked again at the next open
            log.warning("cannot check which store the index reflects: %s", exc)
            return 0
        self.marked = marked
        if marked:
            why = "is new or was lost" if bound is None else f"was built from another record store ({bound})"
            log.warning("the index %s: %d records are marked to be indexed again", why, marked)
        return marked


def _releasing(groups: Iterable[DatasetGroup], memory: MemoryReleaser, every: int) -> Iterator[DatasetGroup]:
    """``groups`` as they pass, the memory freed on the way given back to the system every ``every``."""
    for n, group in enumerate(groups, 1):
        yield group
        if n % every == 0:
            memory.release()


def _shown(groups: Iterable[DatasetGroup], seen: Callable[[Record], None]) -> Iterator[DatasetGroup]:
    for group in groups:
        for member in group.members:
            seen(member)
        yield group
