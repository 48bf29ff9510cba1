"""After each harvest run, a snapshot of the source's metrics as every audience sees it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from fedcat.harvester.config import Audience, Config
from fedcat.harvester.errors import StoreError
from fedcat.harvester.metrics import snapshot
from fedcat.harvester.metrics.report import Visible
from fedcat.harvester.store import RecordStore, RunReport

from .audience import visibility_for

log = logging.getLogger(__name__)


def audience_views(config: Config) -> dict[str, Visible]:
    """Each audience's record filter, with the configured reading of ``unknown`` security."""
    return {aud.value: visibility_for(aud, config.api.unknown_security).allows_record for aud in Audience}


class SnapshotAfterRun:
    """The harvester's ``after_run`` hook: a failed snapshot is logged, never fails the run."""

    def __init__(self, store: RecordStore, config: Config, clock: Callable[[], date]) -> None:
        self.store = store
        self.views = audience_views(config)
        self.clock = clock

    def __call__(self, run: RunReport) -> None:
        try:
            snapshot(self.store, run.source_id, run.id, self.views, self.clock())
        except StoreError as exc:
            log.warning("[%s] no metrics snapshot after run %s: %s", run.source_id, run.id, exc)


def refresh_after_link_check(store: RecordStore, config: Config, today: date, source_ids: list[str]) -> None:
    """A link check changes what the last run's snapshot says about reachability: take it again, in place
    (the trend then shows each run as now known, not a 0% reachable point from before any check)."""
    views = audience_views(config)
    for source_id in source_ids:
        runs = store.runs.recent(source_id, limit=1)
        if not runs:
            continue
        try:
            snapshot(store, source_id, runs[0].id, views, today, replace=True)
        except StoreError as exc:
            log.warning("[%s] no metrics snapshot after the link check: %s", source_id, exc)
