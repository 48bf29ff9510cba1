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
