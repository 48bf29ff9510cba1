"""Work on stored records between harvests: map them again, tag them again, lift ended embargoes.

Nothing here fetches from a source. :meth:`Maintenance.remap` applies the current crosswalks and
taggers to the stored raw payloads; :meth:`Maintenance.retag` and :meth:`Maintenance.lift_embargoes`
run the taggers over stored records. Each ends by letting the index catch up (:mod:`.feeder`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from fedcat.index import dictionary, terms

from ..config_schema import Config, SourceConfig
from ..model import Record
from ..store import Outcome, PageItem, RecordError, RecordStore, RunReport, RunStatus
from ..store.leases import Lease
from ..tagging import Clock, SourceTagger
from .feeder import IndexFeeder
from .mapper import map_raw

log = logging.getLogger(__name__)

#: How often re-tagging reads again a record that a harvest rewrote in the meantime.
RETAG_ATTEMPTS = 3


class Maintenance:
    """Re-mapping and re-tagging of stored records; ``tagger_for`` gives a source's tagger as of
    ``today`` (both asked at each use: the harvester's clock may be set after this is made)."""

    def __init__(self, config: Config, store: RecordStore, feeder: IndexFeeder, *,
                 tagger_for: Callable[[SourceConfig], SourceTagger], today: Clock, holder: str) -> None:
        self.config = config
        self.store = store
        self.feeder = feeder
        self._tagger_for = tagger_for
        self._today = today
        #: The harvester's name in the leases it takes.
        self.holder = holder

    def write_terms(self) -> int:
        """Mine the bilingual term table from the stored records, complete it from the dictionary, and write
        it into the store, where every process's searches read it (:mod:`fedcat.index.terms`); how many
        terms it holds."""
        miner = terms.Miner(dictionary.cedict())
        for record in self.store.records.iter_records():
            self._mine(miner, record)
        return self._save_terms(miner)

    def reindex(self) -> tuple[int, int]:
        """Rebuild the index and mine the term table in one walk of the store (``fedcat reindex``): (records
        indexed, terms written)."""
        if self.feeder.index is None:
            return 0, self.write_terms()
        miner = terms.Miner(dictionary.cedict())
        count = self.feeder.rebuild(seen=lambda record: self._mine(miner, record))
        return count, self._save_terms(miner)

    def _mine(self, miner: terms.Miner, record: Record) -> None:
        """Only what the public may see is mined: the table's translations are shown to every caller, and a
        word only hidden records hold must not come up as one (nor make a dictionary sense count)."""
        public = self.feeder.publish_as
        if public is None or public.allows_record(record):
            miner.add(record)

    def _save_terms(self, miner: terms.Miner) -> int:
        table = miner.table()
        version = self.store.terms.save(terms.dumps(table))
        log.info("term table: %d terms written to the record store (version %d)", len(table), version)
        return len(table)

    def remap(self, source_id: str | None = None) -> RunReport:
        """Apply the current crosswalks and taggers to the stored raw payloads, without harvesting. Each
        source is re-mapped under its harvest lease (a harvest writing the same records meanwhile would
        be overwritten by mappings of the payloads it replaced); a source being harvested is left out,
        said in the report's warnings."""
        sources = [self.config.source(source_id)] if source_id else list(self.config.sources)
        report = RunReport(source_id=source_id or "*")
        for source in sources:
            lease = self.store.leases.acquire(source.id, self.holder, self.config.store.lease_seconds)
            if lease is None:
                info = self.store.leases.get(source.id)
                report.add_warning(f"[{source.id}] not re-mapped: being harvested by "
                                   f"{info.holder if info else 'another process'}; run it again afterwards")
                log.warning("%s", report.warnings[-1])
                continue
            try:
                self._remap_source(source, lease, report)
            finally:
                self.store.leases.release(lease)
        self.feeder.catch_up()
        return report

    def _remap_source(self, source: SourceConfig, lease: Lease, report: RunReport) -> None:
        run = self.store.runs.start_run(RunReport(source_id=source.id, full=True), lease=lease)
        tagger = self._tagger_for(source)
        batch: list[PageItem] = []
        for rec_id, raw in self.store.records.iter_raw(source.id):
            record = map_raw(raw.body, raw.format, source, run.id, tagger)
            if isinstance(record, str):
                run.count(Outcome.ERRORED)
                run.add_error(RecordError(rec_id, record))
                continue
            batch.append(PageItem(record, raw))
            if len(batch) >= 500:
                self._store_remapped(run, batch, lease)
                batch = []
        if batch:
            self._store_remapped(run, batch, lease)
        status = RunStatus.PARTIAL if run.counts.get(Outcome.ERRORED.value) else RunStatus.SUCCEEDED
        self.store.runs.finish_run(run, status, message="re-mapped from stored raw payloads")
        report.counts.update(run.counts)

    def _store_remapped(self, run: RunReport, batch: list[PageItem], lease: Lease) -> None:
        # counted into the run there; written only while the lease is held
        self.store.store_page(run, batch, checkpoint=None, from_source=False, lease=lease)

    def retag(self, record_ids: Sequence[str]) -> list[tuple[Record, Outcome]]:
        """Re-run the taggers over stored records (after an override changed); updates the index."""
        records = [r for r in (self.store.records.get(i) for i in record_ids) if r is not None]
        return self._store_retagged(records)

    def lift_embargoes(self) -> list[tuple[Record, Outcome]]:
        """Records whose embargo ended by the clock's today take their post-embargo level."""
        due = self.store.records.embargo_due(self._today().isoformat())
        if due:
            log.info("%d embargoes have ended: re-tagging", len(due))
        return self._store_retagged(due)

    def _store_retagged(self, records: Sequence[Record]) -> list[tuple[Record, Outcome]]:
        taggers: dict[str, SourceTagger] = {}
        configured = {s.id: s for s in self.config.sources}
        outcomes: list[tuple[Record, Outcome]] = []
        for _ in range(RETAG_ATTEMPTS):
            kept: list[Record] = []
            for rec in records:
                source = configured.get(rec.source_id)
                if source is None:
                    log.warning("%s: its source is no longer configured; tags left as they are", rec.id)
                    continue
                if rec.source_id not in taggers:
                    taggers[rec.source_id] = self._tagger_for(source)
                taggers[rec.source_id].tag(rec)
                kept.append(rec)
            changed: list[str] = []
            outcomes += self.store.records.retag(kept, changed=changed)
            if not changed:
                break
            # a harvest rewrote these since they were read: tag what it wrote
            records = [r for r in (self.store.records.get(i) for i in changed) if r is not None]
        self.feeder.catch_up()
        return outcomes
