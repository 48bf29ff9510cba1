"""The harvest pipeline: fetch → crosswalk → tag → store → index, one page at a time.

Each step is its own component (adapter, crosswalk, tagger, store, index);
this module only moves pages between them and keeps the run report. Sources
are harvested concurrently on a bounded pool; the HTTP layer keeps each host
to one request at a time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fedcat.index.base import SearchIndex
from fedcat.index.errors import IndexBackendError

from .adapters.base import Adapter, HarvestedItem, Page, prefetch
from .adapters.registry import build_adapter
from .config import Config, SourceConfig
from .errors import HarvestError, StoreError
from .grouping import send_changes
from .http import HttpClient
from .mapper import RECORD_ERRORS, Mapped, MapperProcess, MapperUnavailable, map_item, map_raw
from .model import GATED_SECURITY, Record
from .store import Outcome, PageItem, RawPayload, RecordError, RecordStore, RunReport, RunStatus
from .tagging import Clock, Override, RuleBook, SourceTagger, today

log = logging.getLogger(__name__)

#: Part of every record's input key: bump when a crosswalk changes what it makes of the same payload
#: (or run ``fedcat reindex --remap``), so unchanged payloads are mapped again.
MAPPING_VERSION = "1"
#: Index commits are batched (each costs a segment write): at most this many staged documents or
#: seconds between commits, and one at the end of every run.
FLUSH_EVERY_DOCS = 20_000
FLUSH_EVERY_S = 30.0
#: Marks the checkpoint saved when a run's listing is complete (its last page stored, the run not yet
#: ended): the next run does not list that window again.
LISTING_COMPLETE = "listing_complete"


class Progress(Protocol):
    def started(self, source_id: str) -> None: ...
    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None: ...
    def finished(self, report: RunReport) -> None: ...


class NullProgress:
    def started(self, source_id: str) -> None:
        pass

    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None:
        pass

    def finished(self, report: RunReport) -> None:
        pass


def _input_key(item: HarvestedItem, fingerprint: bytes) -> str:
    digest = hashlib.sha256(fingerprint)
    digest.update(b"\0" + item.format.encode("utf-8") + b"\0")
    digest.update(item.raw)
    return digest.hexdigest()


@dataclass
class _SourceJob:
    """What every page of one source's run is processed with."""

    run: RunReport
    source: SourceConfig
    tagger: SourceTagger
    overrides: list[Override]
    fingerprint: bytes

    @property
    def tagger_id(self) -> int:
        """Names the run's tagger (its overrides) in the mapping process: the run id is unique."""
        return self.run.id or 0

    def error_raw(self, item: HarvestedItem) -> bytes | None:
        """The raw bytes kept with a record that could not be mapped: none when the record may be
        core or secret (its source or one of its sets defaults to that level, or an officer set it),
        since nothing but the id and level of such a record is ever kept."""
        gated = {s.value for s in GATED_SECURITY}
        policies = [self.source.policy, *(st.policy for st in self.source.tagging.sets)]
        if any(p.security in GATED_SECURITY for p in policies):
            return None
        rec_id = Record.make_id(self.source.id, item.local_id)
        if any(o.record_id == rec_id and o.tag == "security" and o.value in gated for o in self.overrides):
            return None
        return item.raw


@dataclass
class _PageWork:
    """A page between fetching and storing: its input keys, unchanged ids, the items to map."""

    page: Page
    keys: dict[str, str]
    unchanged: set[str]
    todo: list[HarvestedItem]
    future: Future[list[Mapped]] | None


class Harvester:
    def __init__(self, config: Config, store: RecordStore, index: SearchIndex | None, *,
                 clock: Clock = today) -> None:
        self.config = config
        self.store = store
        self.index = index
        self.rules = RuleBook.from_config(config)
        self.clock = clock
        self._index_lock = threading.Lock()
        self._staged: list[str] = []
        self._last_flush = time.monotonic()
        #: Records :meth:`check_index` marked to be indexed again when the catalog opened (0: the index was in step).
        self.index_marked = 0
        #: The last index error this harvester met (said in the report of a run whose records wait for it).
        self._index_failure: str | None = None
        #: Called with each finished run report (the catalog takes a metrics snapshot there).
        self.after_run: Callable[[RunReport], None] | None = None
        self._mapper: MapperProcess | None = None
        self._mapper_lock = threading.Lock()
        self._runs_in_progress = 0

    def _mapper_for_run(self) -> MapperProcess | None:
        """The mapping process (started at its first page), or None when mapping stays in this process."""
        if not self.config.map_process:
            return None
        with self._mapper_lock:
            if self._mapper is None:
                self._mapper = MapperProcess(self.config)
            return self._mapper

    def close(self) -> None:
        """Stop the mapping process, if one runs (the next harvest starts another)."""
        with self._mapper_lock:
            mapper, self._mapper = self._mapper, None
        if mapper is not None:
            mapper.close()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Scope of harvest work. When the last scope open ends (runs may overlap: the scheduler's
        jobs), the child processes stop and the index lets go of its writer; the next run starts
        them again, so a long-lived scheduler does not keep them between runs."""
        with self._mapper_lock:
            self._runs_in_progress += 1
        try:
            yield
        finally:
            with self._mapper_lock:
                self._runs_in_progress -= 1
                last = self._runs_in_progress == 0
            if last:
                self.close()
                if self.index is not None:
                    self.index.idle()

    # -- many sources -------------------------------------------------------------------

    def harvest(self, source_ids: Sequence[str] | None = None, *, full: bool = False,
                progress: Progress | None = None) -> list[RunReport]:
        sources = [self.config.source(s) for s in source_ids] if source_ids else \
            [s for s in self.config.sources if s.enabled]
        self.store.mark_interrupted()
        sink = progress or NullProgress()
        workers = max(1, min(self.config.workers, len(sources)))
        with self.running():
            self.catch_up_index()  # first what an outage, a failed write or a lost index left waiting
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="harvest") as pool:
                reports = list(pool.map(lambda s: self.harvest_source(s, full=full, progress=sink), sources))
            self.catch_up_index()
            self.lift_embargoes()  # unchanged records are not re-tagged: ended embargoes flip here
        return reports

    # -- one source ------------------------------------------------------------------------

    def harvest_source(self, source: SourceConfig, *, full: bool = False,
                       progress: Progress | None = None) -> RunReport:
        sink = progress or NullProgress()
        run = self.store.start_run(RunReport(source_id=source.id, full=full))
        sink.started(source.id)
        client = HttpClient(self.config.http, source_id=source.id, min_delay=source.min_delay)
        adapter = build_adapter(source, client)
        overrides = self.store.overrides.for_source(source.id)
        tagger = self.tagger_for(source, overrides)
        job = _SourceJob(run, source, tagger, overrides, self.input_fingerprint(source, tagger))
        resume = self._resume_state(source, full)
        since = None if full else self.store.last_successful_datestamp(source.id)
        if resume is not None and resume.get(LISTING_COMPLETE):
            # the run before listed all its window and stopped before it ended: this run does not list
            # that window again, it lists from the newest datestamp seen there (a full run lists all)
            newest = resume.get("newest")
            since = None if full else newest if isinstance(newest, str) else since
            resume = None
        status, message = RunStatus.SUCCEEDED, None
        try:
            self._run_pages(job, adapter.pages(full=full, since=since, resume=resume), sink)
            if adapter.info.complete:  # a crash before the run ends must not list it all again
                self.store.save_checkpoint(run, {LISTING_COMPLETE: True, "full": adapter.info.full,
                                                 "newest": adapter.info.newest_datestamp or since})
        except HarvestError as exc:
            status, message = RunStatus.FAILED, str(exc)
            run.add_error(RecordError(local_id=None, message=message, url=exc.url))
        except StoreError as exc:
            status, message = RunStatus.FAILED, str(exc)
        finally:
            client.close()
            run.retries.update(client.retries)
        if status is RunStatus.FAILED:
            log.error("%s", message)  # the checkpoint stays: the next run resumes there
        elif run.counts.get(Outcome.ERRORED.value):
            status = RunStatus.PARTIAL
        elif self._may_delete_by_absence(source, adapter):
            self._delete_absent(run, source)
        self.flush_index()
        if status is RunStatus.SUCCEEDED and self.index is not None:
            waiting = self.store.pending_count(source.id)
            if waiting:  # the index failed (or refused some records): stored, not yet searchable
                status = RunStatus.PARTIAL
                message = (f"{waiting} records stored but not yet searchable: the index failed"
                           f"{f' ({self._index_failure})' if self._index_failure else ''}; the next run "
                           "or `fedcat status --repair` indexes them")
        self.store.finish_run(run, status, message=message,
                              newest_datestamp=None if status is RunStatus.FAILED
                              else adapter.info.newest_datestamp or since,
                              clear_checkpoint=status is not RunStatus.FAILED)
        if self.after_run is not None:
            self.after_run(run)
        sink.finished(run)
        return run

    @staticmethod
    def _may_delete_by_absence(source: SourceConfig, adapter: Adapter) -> bool:
        """Only after a complete, successful, full listing of a server that cannot report deletions."""
        info = adapter.info
        return (source.delete_by_absence and info.complete and info.full and not info.resumed
                and not info.supports_deletions)

    def _delete_absent(self, run: RunReport, source: SourceConfig) -> None:
        assert run.id is not None
        gone = self.store.live_ids_not_seen(source.id, run.id)
        if not gone:
            return
        log.info("[%s] %d records absent from a complete listing: tombstoned", source.id, len(gone))
        self.store.tombstone(gone)
        run.count(Outcome.DELETED, len(gone))
        self.catch_up_index()  # the tombstones are pending: remove them from the index

    def _resume_state(self, source: SourceConfig, full: bool) -> dict[str, object] | None:
        saved = self.store.checkpoint(source.id)
        if saved is None:
            return None
        _, state = saved
        if full and not state.get("full"):
            self.store.clear_checkpoint(source.id)
            return None
        if state.get(LISTING_COMPLETE):
            log.info("[%s] the last run listed everything before it stopped: not listing that again", source.id)
        else:
            log.info("[%s] resuming from checkpoint", source.id)
        return state

    def input_fingerprint(self, source: SourceConfig, tagger: SourceTagger) -> bytes:
        """What besides the raw payload decides a mapped record: code version, names, profile, rules."""
        parts = [MAPPING_VERSION, source.id, source.name, source.name_en or "", tagger.fingerprint]
        if source.profile:
            try:
                parts.append(hashlib.sha256(Path(source.profile).read_bytes()).hexdigest())
            except OSError:
                parts.append(source.profile)  # a shipped profile's name: versioned with the code
        return "\0".join(parts).encode("utf-8")

    def tagger_for(self, source: SourceConfig, overrides: Sequence[Override] | None = None) -> SourceTagger:
        """The source's tagger with today's clock and its officers' overrides (read from the store
        unless given)."""
        if overrides is None:
            overrides = self.store.overrides.for_source(source.id)
        return self.rules.for_source(source, clock=self.clock, overrides=overrides)

    def _run_pages(self, job: _SourceJob, pages: Iterator[Page], sink: Progress) -> None:
        """With a mapping process, map a page while the one before it is stored: when page N+1 has
        already arrived, it is sent to the mapping process before page N is written, so fetching,
        mapping and storing overlap. A page is never held back waiting for the next one to arrive.
        Pages are stored in order, each with its checkpoint; a page already fetched is stored even if
        the next one fails."""
        if self._mapper_for_run() is None:  # mapping here: nothing to overlap, no thread to add
            for page in pages:
                self._finish_page(job, self._start_page(job, page), sink)
            return
        ahead = prefetch(pages)
        waiting: _PageWork | None = None
        try:
            for page in ahead:
                work = self._start_page(job, page)
                if waiting is not None:
                    done, waiting = waiting, None
                    self._finish_page(job, done, sink)
                if ahead.ready():
                    waiting = work
                else:
                    self._finish_page(job, work, sink)
        finally:
            ahead.close()
            if waiting is not None:
                self._finish_page(job, waiting, sink)

    def _start_page(self, job: _SourceJob, page: Page) -> _PageWork:
        """Find the page's unchanged records; send the others to be mapped."""
        source = job.source
        for warning in page.warnings:
            job.run.add_warning(warning)
        keys = {Record.make_id(source.id, hi.local_id): _input_key(hi, job.fingerprint)
                for hi in page.items if not hi.error and not hi.deleted}
        unchanged = self.store.unchanged(keys)
        todo = [hi for hi in page.items
                if not hi.error and Record.make_id(source.id, hi.local_id) not in unchanged]
        future = None
        mapper = self._mapper_for_run()
        if todo and mapper is not None:
            try:
                future = mapper.submit(source, job.run.id, job.tagger_id, job.overrides, self.clock(), todo)
            except MapperUnavailable as exc:
                log.warning("[%s] %s: mapping in this process", source.id, exc)
            else:
                for hi in page.items:  # the parsed payloads (a page's XML tree) are not needed here now
                    hi.element = hi.data = None
        return _PageWork(page, keys, unchanged, todo, future)

    def _mapped(self, job: _SourceJob, work: _PageWork) -> list[Record | str]:
        """The page's mapped records (or why each could not be mapped), in ``work.todo`` order."""
        if work.future is not None:
            try:
                return [Record.from_json(m.record_json) if m.record_json is not None else m.error or "not mapped"
                        for m in work.future.result()]
            except MapperUnavailable as exc:
                log.warning("[%s] %s: mapping the page in this process", job.source.id, exc)
        if work.future is not None:  # the parsed payloads were let go: map the items from their bytes
            return [map_raw(hi.raw, hi.format, job.source, job.run.id, job.tagger) for hi in work.todo]
        out: list[Record | str] = []
        for hi in work.todo:
            try:
                out.append(map_item(hi, job.source, job.run.id, job.tagger))
            except RECORD_ERRORS as exc:
                out.append(f"{type(exc).__name__}: {exc}")
        return out

    def _finish_page(self, job: _SourceJob, work: _PageWork, sink: Progress) -> None:
        """Store the mapped page with its checkpoint and the run's counts (one transaction), stage the
        index changes."""
        run, source, page = job.run, job.source, work.page
        mapped = dict(zip(map(id, work.todo), self._mapped(job, work)))
        for hi in page.items:  # mapped: the parsed payloads (a page's XML tree) can go before the page is stored
            hi.element = hi.data = None
        items: list[PageItem] = []
        errors: list[tuple[RecordError, bytes | None]] = []
        for hi in page.items:
            result = mapped.get(id(hi))
            if hi.error:
                errors.append((RecordError(hi.local_id, hi.error, page.url), job.error_raw(hi)))
            elif isinstance(result, str):
                log.warning("[%s] record %s not mapped: %s", source.id, hi.local_id, result)
                errors.append((RecordError(hi.local_id, result, page.url), job.error_raw(hi)))
            elif result is not None:  # None: unchanged, not re-mapped
                items.append(PageItem(result, RawPayload(hi.format, hi.raw),
                                      work.keys.get(Record.make_id(source.id, hi.local_id))))
        # the store counts the page into the run's report, written in the page's transaction
        outcomes = self.store.store_page(run, items, checkpoint=page.checkpoint, errors=errors,
                                         seen=sorted(work.unchanged))
        self._index_changes(outcomes)
        sink.advanced(source.id, len(page.items), page.total_hint)

    # -- index -----------------------------------------------------------------------------

    def _index_changes(self, outcomes: Iterable[tuple[Record, Outcome]]) -> None:
        """Stage a page's changes in the index; commit them in batches (commits are costly)."""
        if self.index is None:
            return
        upserts = [r for r, o in outcomes if o in (Outcome.ADDED, Outcome.UPDATED)]
        removals = [r.id for r, o in outcomes if o in (Outcome.DELETED, Outcome.GATED)]
        if not upserts and not removals:
            return
        with self._index_lock:
            try:
                rejected = self._send(upserts, removals, refresh=False)
            except IndexBackendError as exc:
                # what was staged before may be lost with it (a writer process that died): the
                # store still marks those records pending, and the catch-up sends them again
                log.warning("index update failed, records stay pending: %s", exc)
                self._index_failure = str(exc)
                self._staged = []
                return
            self._staged += [i for i in [r.id for r in upserts] + removals if i not in rejected]
            if len(self._staged) >= FLUSH_EVERY_DOCS or time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
                self._flush_locked()

    def _send(self, upserts: list[Record], removals: list[str], *, refresh: bool) -> dict[str, str]:
        """Rebuild the groups of changed and removed records (see :mod:`.grouping`); returns the
        records whose group the index rejected (they stay pending)."""
        assert self.index is not None
        rejected = send_changes(self.store, self.index, upserts, removals, refresh=refresh)
        if rejected:
            some = ", ".join(f"{i} ({why})" for i, why in list(rejected.items())[:3])
            log.warning("the index rejected %d records, they stay pending: %s", len(rejected), some)
        return rejected

    def flush_index(self) -> None:
        with self._index_lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        """Commit staged index changes, then clear their pending marks in the store."""
        self._last_flush = time.monotonic()
        if self.index is None or not self._staged:
            return
        try:
            self.index.flush()
        except IndexBackendError as exc:
            log.warning("index commit failed, records stay pending: %s", exc)
            self._index_failure = str(exc)
            self._staged = []  # not known to be committed: the catch-up sends them again
            return
        self.store.mark_indexed(self._staged)
        self._staged = []

    def catch_up_index(self) -> int:
        """Index every record still marked pending (after an index outage or a crash)."""
        if self.index is None:
            return 0
        done = 0
        with self._index_lock:
            self._flush_locked()
            # a rebuild that another process began and did not finish leaves its marks (2): pending again
            # (if it is still running, this only costs it re-sending those records after its end)
            self.store.abandoned_rebuild()
            while True:
                pending = self.store.pending()
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
                self.store.mark_indexed(indexed)
                done += len(indexed)
                if not indexed:
                    return done  # only rejected records are left: the next catch-up tries them again

    def remap(self, source_id: str | None = None) -> RunReport:
        """Apply the current crosswalks and taggers to the stored raw payloads, without harvesting."""
        sources = [self.config.source(source_id)] if source_id else list(self.config.sources)
        report = RunReport(source_id=source_id or "*")
        for source in sources:
            run = self.store.start_run(RunReport(source_id=source.id, full=True))
            tagger = self.tagger_for(source)
            batch: list[PageItem] = []
            for rec_id, raw in self.store.iter_raw(source.id):
                record = map_raw(raw.body, raw.format, source, run.id, tagger)
                if isinstance(record, str):
                    run.count(Outcome.ERRORED)
                    run.add_error(RecordError(rec_id, record))
                    continue
                batch.append(PageItem(record, raw))
                if len(batch) >= 500:
                    self._store_remapped(run, batch)
                    batch = []
            if batch:
                self._store_remapped(run, batch)
            status = RunStatus.PARTIAL if run.counts.get(Outcome.ERRORED.value) else RunStatus.SUCCEEDED
            self.store.finish_run(run, status, message="re-mapped from stored raw payloads")
            report.counts.update(run.counts)
        self.catch_up_index()
        return report

    def _store_remapped(self, run: RunReport, batch: list[PageItem]) -> None:
        self.store.store_page(run, batch, checkpoint=None, from_source=False)  # counted into the run there

    # -- tags between harvests --------------------------------------------------------------

    def retag(self, record_ids: Sequence[str]) -> list[tuple[Record, Outcome]]:
        """Re-run the taggers over stored records (after an override changed); updates the index."""
        records = [r for r in (self.store.get(i) for i in record_ids) if r is not None]
        return self._store_retagged(records)

    def lift_embargoes(self) -> list[tuple[Record, Outcome]]:
        """Records whose embargo ended by the clock's today take their post-embargo level."""
        due = self.store.embargo_due(self.clock().isoformat())
        if due:
            log.info("%d embargoes have ended: re-tagging", len(due))
        return self._store_retagged(due)

    def _store_retagged(self, records: Sequence[Record]) -> list[tuple[Record, Outcome]]:
        taggers: dict[str, SourceTagger] = {}
        configured = {s.id: s for s in self.config.sources}
        kept: list[Record] = []
        for rec in records:
            source = configured.get(rec.source_id)
            if source is None:
                log.warning("%s: its source is no longer configured; tags left as they are", rec.id)
                continue
            if rec.source_id not in taggers:
                taggers[rec.source_id] = self.tagger_for(source)
            taggers[rec.source_id].tag(rec)
            kept.append(rec)
        outcomes = self.store.retag(kept)
        self.catch_up_index()
        return outcomes

    def reindex(self) -> int:
        """Rebuild the index from the store (beside the live one, swapped in at the end)."""
        if self.index is None:
            return 0
        with self._index_lock:
            self.index.bind_store(self.store.store_id)
            self.store.start_rebuild()
            try:
                count = self.index.rebuild_groups(self.store.iter_groups())
                self.index.bind_store(self.store.store_id)  # a new Elasticsearch version starts unbound
            except BaseException:
                self.store.abandoned_rebuild()
                raise
            self.store.mark_all_indexed()
        return count

    def check_index(self) -> int:
        """Whether the index reflects this store (an invariant checked when the catalog opens): an index that
        is new, lost and recreated empty, or built from another store has every live record marked pending,
        so the next catch-up (every harvest, ``fedcat reindex``, ``fedcat status --repair``) fills it.
        Returns how many records were marked."""
        if self.index is None:
            return 0
        if self.store.abandoned_rebuild():
            log.info("a rebuild of the index ended early: the records it would have covered stay pending")
        if not self.index.tracks_store:
            return 0
        store_id = self.store.store_id
        try:
            bound = self.index.bound_store()
            if bound == store_id:
                return 0
            marked = self.store.mark_all_pending()
            self.index.bind_store(store_id)
        except IndexBackendError as exc:  # cannot tell now (a cluster down): checked again at the next open
            log.warning("cannot check which store the index reflects: %s", exc)
            return 0
        self.index_marked = marked
        if marked:
            why = "is new or was lost" if bound is None else f"was built from another record store ({bound})"
            log.warning("the index %s: %d records are marked to be indexed again", why, marked)
        return marked
