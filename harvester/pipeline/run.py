"""The harvest pipeline: fetch → crosswalk → tag → store → index, one page at a time.

Each step is its own component (adapter, crosswalk, tagger, store, index);
this module only moves pages between them and keeps the run report. Sources
are harvested concurrently on a bounded pool; the HTTP layer keeps each host
to one request at a time.

:class:`Harvester` is the run loop; it holds the two other parts of the pipeline: ``feeder``
(:mod:`.feeder`, which keeps the index in step with the store) and ``maintenance``
(:mod:`.maintenance`: re-mapping, re-tagging and ended embargoes between harvests).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from fedcat.index.base import SearchIndex

from ..config_schema import Config, SourceConfig
from ..errors import HarvestError, LeaseLost, StoreError
from ..logcontext import about_run
from ..memory import MemoryReleaser
from ..model import GATED_SECURITY, Record
from ..sources.base import Adapter, HarvestedItem, Page, prefetch
from ..sources.http import HttpClient
from ..sources.registry import build_adapter
from ..store import Outcome, PageItem, RawPayload, RecordError, RecordStore, RunReport, RunStatus
from ..store.leases import Lease, holder_name
from ..tagging import Clock, Override, RuleBook, SourceTagger, today
from .feeder import IndexFeeder
from .leasing import LEASE_LOST_MESSAGE, renewing
from .maintenance import Maintenance
from .mapper import RECORD_ERRORS, Mapped, MapperProcess, MapperUnavailable, map_item, map_raw
from .progress import NullProgress, Progress
from .stage_clock import Stage, StageClock

log = logging.getLogger(__name__)

#: Part of every record's input key: bump when a crosswalk changes what it makes of the same payload
#: (or run ``fedcat reindex --remap``), so unchanged payloads are mapped again.
MAPPING_VERSION = "1"
#: Marks the checkpoint saved when a run's listing is complete (its last page stored, the run not yet
#: ended): the next run does not list that window again.
LISTING_COMPLETE = "listing_complete"
#: The message of a run stopped on request (:attr:`Harvester.stop`) before its listing ended.
STOPPED_MESSAGE = "stopped on request after the page in progress: the next run resumes from the checkpoint"
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
    #: The source's harvest lease, held by this run; ``lost`` is set when a renewal fails.
    lease: Lease | None = None
    lost: threading.Event = field(default_factory=threading.Event)
    clock: StageClock = field(default_factory=StageClock)

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
        #: Keeps the index in step with the store (each page's changes, catch-up, rebuild).
        self.feeder = IndexFeeder(store, index)
        #: Names this harvester in the harvest leases it takes (one per source it harvests at a time).
        self.holder = holder_name()
        #: Work on stored records between harvests (with this harvester's taggers and clock).
        self.maintenance = Maintenance(config, store, self.feeder, tagger_for=self.tagger_for,
                                       today=lambda: self.clock(), holder=self.holder)
        #: Called with each finished run report (the catalog takes a metrics snapshot there).
        self.after_run: Callable[[RunReport], None] | None = None
        self._mapper: MapperProcess | None = None
        self._mapper_lock = threading.Lock()
        self.memory = MemoryReleaser()  # a stored page's memory goes back to the system
        #: Mapping in this process, the pages of sources harvested at once are processed one at a time: the
        #: work holds the interpreter's lock anyway, and taking turns page by page saves switching threads
        #: within pages; their fetching goes on meanwhile.
        self._page_lock = threading.Lock()
        self._runs_in_progress = 0
        #: Set when the process is asked to stop (the CLI sets it on SIGTERM): each run in progress stores
        #: the page it is on and ends ``interrupted`` (the next run resumes from its checkpoint); no run starts.
        self.stop = threading.Event()

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
            with self.index.writing() if self.index is not None else nullcontext():
                yield
        finally:
            with self._mapper_lock:
                self._runs_in_progress -= 1
                last = self._runs_in_progress == 0
            if last:
                self.feeder.forget_staged()  # committed at each run's end; otherwise lost with the writer
                self.close()  # the index let go of its writer as the run of writes ended

    # -- many sources -------------------------------------------------------------------

    def harvest(self, source_ids: Sequence[str] | None = None, *, full: bool = False,
                progress: Progress | None = None) -> list[RunReport]:
        sources = [self.config.source(s) for s in source_ids] if source_ids else \
            [s for s in self.config.sources if s.enabled]
        self.store.runs.mark_interrupted()
        sink = progress or NullProgress()
        workers = max(1, min(self.config.workers, len(sources)))
        with self.running():
            self.feeder.catch_up()  # first what an outage, a failed write or a lost index left waiting
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="harvest") as pool:
                started = list(pool.map(lambda s: None if self.stop.is_set()
                                        else self.harvest_source(s, full=full, progress=sink), sources))
            reports = [r for r in started if r is not None]
            if self.stop.is_set():  # what waits for the index, and ended embargoes, are the next run's
                return reports
            self.feeder.catch_up()
            self.maintenance.lift_embargoes()  # unchanged records are not re-tagged: ended embargoes flip here
        return reports

    # -- one source ------------------------------------------------------------------------

    def harvest_source(self, source: SourceConfig, *, full: bool = False,
                       progress: Progress | None = None) -> RunReport:
        """One run of one source, under the source's harvest lease: when another process holds it, the
        run is skipped (a report with status ``skipped``, nothing stored)."""
        sink = progress or NullProgress()
        lease = self.store.leases.acquire(source.id, self.holder, self.config.store.lease_seconds)
        if lease is None:
            return self._skipped(source, sink)
        try:
            run = self.store.runs.start_run(RunReport(source_id=source.id, full=full), lease=lease)
            with about_run(source.id, run.id), renewing(self.store, lease) as lost:  # the run's log events name it
                return self._harvest_run(run, source, full, sink, lease, lost)
        finally:
            try:
                self.store.leases.release(lease)
            except self.store.connection.errors as exc:  # it expires on its own
                log.warning("[%s] cannot give the harvest lease back (%s): it expires in %g s", source.id, exc,
                            lease.seconds)

    def _skipped(self, source: SourceConfig, sink: Progress) -> RunReport:
        info = self.store.leases.get(source.id)
        holder = info.holder if info is not None else "another process"
        left = f", its lease runs {info.expires_in:.0f} s more without renewal" if info is not None else ""
        report = RunReport(source_id=source.id, status=RunStatus.SKIPPED,
                           message=f"[{source.id}] skipped: being harvested by {holder}{left}")
        report.started_at = report.finished_at = self.store.connection.now()
        log.warning("%s", report.message)
        sink.finished(report)
        return report

    def _harvest_run(self, run: RunReport, source: SourceConfig, full: bool, sink: Progress,
                     lease: Lease | None = None, lost: threading.Event | None = None) -> RunReport:
        sink.started(source.id)
        client = HttpClient(self.config.http, source_id=source.id, min_delay=source.min_delay)
        adapter = build_adapter(source, client)
        overrides = self.store.overrides.for_source(source.id)
        tagger = self.tagger_for(source, overrides)
        job = _SourceJob(run, source, tagger, overrides, self.input_fingerprint(source, tagger), lease,
                         lost or threading.Event())
        resume = self._resume_state(source, full)
        since = None if full else self.store.runs.last_successful_datestamp(source.id)
        if resume is not None and resume.get(LISTING_COMPLETE):
            # the run before listed all its window and stopped before it ended: this run does not list
            # that window again, it lists from the newest datestamp seen there (a full run lists all)
            newest = resume.get("newest")
            since = None if full else newest if isinstance(newest, str) else since
            resume = None
        status, message = RunStatus.SUCCEEDED, None
        try:
            if self._run_pages(job, adapter.pages(full=full, since=since, resume=resume), sink):
                status, message = RunStatus.INTERRUPTED, LEASE_LOST_MESSAGE if job.lost.is_set() else STOPPED_MESSAGE
            elif adapter.info.complete:  # a crash before the run ends must not list it all again
                self.store.runs.save_checkpoint(run, {LISTING_COMPLETE: True, "full": adapter.info.full,
                                                 "newest": adapter.info.newest_datestamp or since})
        except HarvestError as exc:
            status, message = RunStatus.FAILED, str(exc)
            run.add_error(RecordError(local_id=None, message=message, url=exc.url))
        except LeaseLost:  # the page in progress was not written
            status, message = RunStatus.INTERRUPTED, LEASE_LOST_MESSAGE
        except StoreError as exc:
            status, message = RunStatus.FAILED, str(exc)
        finally:
            client.close()
            run.retries.update(client.retries)
        if status is RunStatus.FAILED:
            log.error("%s", message)  # the checkpoint stays: the next run resumes there
        elif status is RunStatus.INTERRUPTED:
            log.warning("[%s] %s", source.id, message)  # so does it here
        elif run.counts.get(Outcome.ERRORED.value):
            status = RunStatus.PARTIAL
        elif self._may_delete_by_absence(source, adapter):
            self._delete_absent(run, source)
        with job.clock.timing(Stage.INDEX):
            self.feeder.flush()
        if status is RunStatus.SUCCEEDED and self.index is not None:
            waiting = self.store.indexing.pending_count(source.id)
            if waiting:  # the index failed (or refused some records): stored, not yet searchable
                status = RunStatus.PARTIAL
                message = (f"{waiting} records stored but not yet searchable: the index failed"
                           f"{f' ({self.feeder.failure})' if self.feeder.failure else ''}; the next run "
                           "or `fedcat status --repair` indexes them")
        ended = status not in (RunStatus.FAILED, RunStatus.INTERRUPTED)
        run.cpu_s = job.clock.rounded()
        self.store.runs.finish_run(run, status, message=message,
                              newest_datestamp=adapter.info.newest_datestamp or since if ended else None,
                              clear_checkpoint=ended)
        if self.after_run is not None and status is not RunStatus.INTERRUPTED:  # stopping: no snapshot to wait for
            with job.clock.timing(Stage.METRICS):
                self.after_run(run)
            run.cpu_s = job.clock.rounded()
            try:
                self.store.runs.record_cpu(run)
            except StoreError as exc:
                log.warning("%s", exc)
        log.info("[%s] CPU per stage: %s", source.id, ", ".join(f"{k} {v:.2f} s" for k, v in run.cpu_s.items()),
                 extra={"cpu_s": run.cpu_s, "source_id": source.id, "run_id": run.id})
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
        gone = self.store.records.live_ids_not_seen(source.id, run.id)
        if not gone:
            return
        log.info("[%s] %d records absent from a complete listing: tombstoned", source.id, len(gone))
        self.store.records.tombstone(gone)
        run.count(Outcome.DELETED, len(gone))
        self.feeder.catch_up()  # the tombstones are pending: remove them from the index

    def _resume_state(self, source: SourceConfig, full: bool) -> dict[str, object] | None:
        saved = self.store.runs.checkpoint(source.id)
        if saved is None:
            return None
        _, state = saved
        if full and not state.get("full"):
            self.store.runs.clear_checkpoint(source.id)
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

    def _run_pages(self, job: _SourceJob, pages: Iterator[Page], sink: Progress) -> bool:
        """With a mapping process, map a page while the one before it is stored: when page N+1 has
        already arrived, it is sent to the mapping process before page N is written, so fetching,
        mapping and storing overlap. A page is never held back waiting for the next one to arrive.
        Pages are stored in order, each with its checkpoint; a page already fetched is stored even if
        the next one fails. Returns True when :attr:`stop` ended the listing before its end (checked
        after each page is stored; a page already fetched is stored first), or the run lost its lease."""
        if self._mapper_for_run() is None:  # mapping here: nothing to overlap, no thread to add
            try:
                for page in pages:
                    with self._page_lock:
                        self._finish_page(job, self._start_page(job, page), sink)
                    if self.stop.is_set() or job.lost.is_set():
                        return True
            finally:
                if isinstance(pages, Generator):
                    pages.close()  # the adapter's fetching thread stops now
            return False
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
                if self.stop.is_set() or job.lost.is_set():
                    return True
        finally:
            ahead.close()
            if waiting is not None:
                self._finish_page(job, waiting, sink)
        return False

    def _start_page(self, job: _SourceJob, page: Page) -> _PageWork:
        """Find the page's unchanged records; send the others to be mapped."""
        source = job.source
        for warning in page.warnings:
            job.run.add_warning(warning)
        keys = {Record.make_id(source.id, hi.local_id): _input_key(hi, job.fingerprint)
                for hi in page.items if not hi.error and not hi.deleted}
        unchanged = self.store.records.unchanged(keys)
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
        with job.clock.timing(Stage.MAP):
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
        with job.clock.timing(Stage.STORE):
            outcomes = self.store.store_page(run, items, checkpoint=page.checkpoint, errors=errors,
                                             seen=sorted(work.unchanged), lease=job.lease)
        with job.clock.timing(Stage.INDEX):
            self.feeder.stage(outcomes)
        sink.advanced(source.id, len(page.items), page.total_hint)
        self.memory.release()
