"""Where a harvest run's CPU goes: the seconds each stage of the pipeline took on the run's thread.

A run's pages pass through three stages on the thread that harvests the source (docs/architecture.md):
``map`` (crosswalk, tagging and quality; with ``map_process`` only reading back what the mapping process
sent), ``store`` (the page's transaction) and ``index`` (public views, index documents and their analysis,
the writer's work and commits); ``metrics`` is the snapshot taken after the run. Each is timed with the
thread's own CPU clock, so waiting for the network, for the store's lock or for another source's page is
not counted. What the process spends elsewhere (the listing's fetching and parsing thread, tantivy's
merging threads, start-up) is not in any stage. The figures are kept in the run's report (``cpu_s``:
``fedcat harvests --json`` and ``/api/v1/harvests`` for officers) and logged at the end of each run
(``cpu_s`` in ``--log-format json``); ``bench/harvest.py`` reports them per record.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum


class Stage(StrEnum):
    MAP = "map"
    STORE = "store"
    INDEX = "index"
    METRICS = "metrics"


class StageClock:
    """CPU seconds per stage of one run, on the threads that did the work."""

    def __init__(self) -> None:
        self.seconds: dict[Stage, float] = dict.fromkeys(Stage, 0.0)

    @contextmanager
    def timing(self, stage: Stage) -> Iterator[None]:
        start = time.thread_time()
        try:
            yield
        finally:
            self.seconds[stage] += time.thread_time() - start

    def rounded(self) -> dict[str, float]:
        """Seconds per stage, to the millisecond: what the run's log event carries."""
        return {stage.value: round(seconds, 3) for stage, seconds in self.seconds.items()}
