"""Metrics read from the record store: one center, all centers, the ranking, snapshots after a run."""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date
from typing import Any

from ..model import Record
from ..store import RecordStore, RunReport, RunStatus
from .compute import (
    RUNS_WINDOW,
    Tally,
    center_metrics_by_view,
    finish,
    merge,
    rank,
    ranking_score,
    run_freshness,
    tally,
)

log = logging.getLogger(__name__)

#: Decides which records a metric counts (an audience's visibility).
Visible = Callable[[Record], bool]


def source_tally(store: RecordStore, source_id: str, visible: Visible, today: date) -> Tally:
    """The counts of one source's records that ``visible`` lets through (reads every one of them)."""
    return tally((r for r in store.records.iter_records(source_id) if visible(r)), store.links.for_source(source_id),
                 today)


def finish_source(store: RecordStore, source_id: str, counted: Tally, today: date) -> dict[str, Any]:
    """One source's metrics from its tally, its gated counts and its runs."""
    return finish(counted, gated=store.records.gated_counts().get(source_id, {}),
                  runs=store.runs.recent(source_id, limit=RUNS_WINDOW), today=today)


def finish_overall(store: RecordStore, source_ids: Sequence[str], tallies: Sequence[Tally], today: date
                   ) -> dict[str, Any]:
    """The metrics of several sources together, from their tallies (one per source)."""
    wanted = set(source_ids)
    gated: Counter[str] = Counter()
    for sid, levels in store.records.gated_counts().items():
        if sid in wanted:
            gated.update(levels)
    runs = [r for r in store.runs.recent(None, limit=RUNS_WINDOW * max(1, len(wanted))) if r.source_id in wanted]
    return finish(merge(tallies), gated=dict(gated), runs=runs, today=today)


def source_metrics(store: RecordStore, source_id: str, visible: Visible, today: date) -> dict[str, Any]:
    """The metrics of one source's records that ``visible`` lets through (gated levels as counts)."""
    return finish_source(store, source_id, source_tally(store, source_id, visible, today), today)


def overall_metrics(store: RecordStore, source_ids: Sequence[str], visible: Visible, today: date) -> dict[str, Any]:
    """The same metrics over every configured source's records together."""
    return finish_overall(store, source_ids, [source_tally(store, sid, visible, today) for sid in source_ids],
                          today)


def ranking(store: RecordStore, source_ids: Sequence[str], visible: Visible, today: date) -> list[dict[str, Any]]:
    return rank({sid: source_metrics(store, sid, visible, today) for sid in source_ids})


def basis(store: RecordStore, source_id: str, today: date) -> str:
    """What a source's record-derived figures depend on: its change counter (records, gated records,
    link checks: :meth:`RecordStore.source_version`) and the day (ages, embargoes)."""
    return json.dumps([store.source_version(source_id), today.isoformat()])


def snapshot(store: RecordStore, source_id: str, run_id: int | None, views: Mapping[str, Visible],
             today: date, *, replace: bool = False) -> str:
    """Store the source's metrics as each audience in ``views`` sees them; returns the time stamp.

    When nothing they are computed from has changed since the last snapshot (:func:`basis`), its
    figures are reused and only those drawn from the harvest runs are brought up to date: an
    unchanged re-harvest does not read every record again. ``replace``: the run's earlier snapshot is
    replaced (after a link check, the run's figures as now known), not followed by a second one.
    """
    mark = basis(store, source_id, today)
    runs = store.runs.recent(source_id, limit=RUNS_WINDOW)
    reused = _reuse(store, source_id, views, mark, runs)
    if reused is not None:
        at = store.snapshots.add(source_id, run_id, reused, replace=replace)
        log.info("[%s] metrics snapshot after run %s (records unchanged: figures reused)", source_id, run_id)
        return at
    by_audience = center_metrics_by_view(
        store.records.iter_records(source_id), views,
        gated=store.records.gated_counts().get(source_id, {}),
        runs=runs,
        links=store.links.for_source(source_id),
        today=today,
    )
    for metrics in by_audience.values():
        metrics["basis"] = mark
    at = store.snapshots.add(source_id, run_id, by_audience, replace=replace)
    log.info("[%s] metrics snapshot after run %s", source_id, run_id)
    return at


def _reuse(store: RecordStore, source_id: str, views: Mapping[str, Visible], mark: str,
           runs: Sequence[RunReport]) -> dict[str, dict[str, Any]] | None:
    out: dict[str, dict[str, Any]] = {}
    for audience in views:
        history = store.snapshots.history(source_id, audience, limit=1)
        if not history or history[-1].metrics.get("basis") != mark:
            return None
        metrics = copy.deepcopy(history[-1].metrics)
        metrics["freshness"].update(run_freshness(runs))
        metrics["ranking_score"] = ranking_score(metrics)
        out[audience] = metrics
    return out


class MetricsCache:
    """Tallies kept while nothing they are counted from has changed.

    Counting a center reads every one of its records, so the API keeps each center's tally, per
    audience (``view``), with the center's change counter (:meth:`RecordStore.source_version`: any
    change to its records, gated records or link checks, by this process or another) and the day
    (ages, embargoes). While a center is being harvested its kept tally stands until the run ends; a
    harvest of one center leaves the others' tallies standing; all-centers figures add up the
    centers' tallies. The runs and gated counts are read on each call (cheap), and every call
    returns a new dict.
    """

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, Hashable], tuple[tuple[int, date], Tally]] = {}

    def tally(self, source_id: str, view: Hashable, visible: Visible, today: date) -> Tally:
        """The source's tally as ``view`` (an audience, named by a hashable key) sees it."""
        stamp = (self.store.source_version(source_id), today)
        with self._lock:
            found = self._tallies.get((source_id, view))
        if found is not None and (found[0] == stamp or found[0][1] == today and self._being_harvested(source_id)):
            return found[1]
        counted = source_tally(self.store, source_id, visible, today)
        with self._lock:  # counted after the stamp was read: a change meanwhile moves the stamp again
            self._tallies[(source_id, view)] = (stamp, counted)
        return counted

    def _being_harvested(self, source_id: str) -> bool:
        """A run of the source is under way: its records change page by page, so the figures counted
        before (or first asked during the run) are kept until it ends, not counted again per page."""
        return any(r.status is RunStatus.RUNNING for r in self.store.runs.recent(source_id, limit=1))

    def source(self, source_id: str, view: Hashable, visible: Visible, today: date) -> dict[str, Any]:
        return finish_source(self.store, source_id, self.tally(source_id, view, visible, today), today)

    def overall(self, source_ids: Sequence[str], view: Hashable, visible: Visible, today: date) -> dict[str, Any]:
        tallies = [self.tally(sid, view, visible, today) for sid in source_ids]
        return finish_overall(self.store, source_ids, tallies, today)
