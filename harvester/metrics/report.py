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
from ..store import RecordStore, RunReport
from .compute import RUNS_WINDOW, center_metrics, center_metrics_by_view, rank, ranking_score, run_freshness

log = logging.getLogger(__name__)

#: Decides which records a metric counts (an audience's visibility).
Visible = Callable[[Record], bool]


def source_metrics(store: RecordStore, source_id: str, visible: Visible, today: date) -> dict[str, Any]:
    """The metrics of one source's records that ``visible`` lets through (gated levels as counts)."""
    return center_metrics(
        (r for r in store.iter_records(source_id) if visible(r)),
        gated=store.gated_counts().get(source_id, {}),
        runs=store.runs(source_id, limit=RUNS_WINDOW),
        links=store.links.for_source(source_id),
        today=today,
    )


def overall_metrics(store: RecordStore, source_ids: Sequence[str], visible: Visible, today: date) -> dict[str, Any]:
    """The same metrics over every configured source's records together."""
    wanted = set(source_ids)
    gated: Counter[str] = Counter()
    for sid, levels in store.gated_counts().items():
        if sid in wanted:
            gated.update(levels)
    runs = [r for r in store.runs(None, limit=RUNS_WINDOW * max(1, len(wanted))) if r.source_id in wanted]
    return center_metrics(
        (r for r in store.iter_records() if r.source_id in wanted and visible(r)),
        gated=dict(gated), runs=runs, links=store.links.for_source(None), today=today,
    )


def ranking(store: RecordStore, source_ids: Sequence[str], visible: Visible, today: date) -> list[dict[str, Any]]:
    return rank({sid: source_metrics(store, sid, visible, today) for sid in source_ids})


def basis(store: RecordStore, source_id: str, today: date) -> str:
    """What a source's record-derived figures depend on: its records' count and last change, its gated
    records, its link checks, and the day (ages)."""
    records = store.read("SELECT COUNT(*) AS n, MAX(updated_at) AS last FROM records WHERE source_id = ?",
                         (source_id,))[0]
    links = store.read("SELECT COUNT(*) AS n, MAX(checked_at) AS last FROM link_checks WHERE source_id = ?",
                       (source_id,))[0]
    gated = store.gated_counts().get(source_id, {})
    return json.dumps([records["n"], records["last"], links["n"], links["last"], sorted(gated.items()),
                       today.isoformat()])


def snapshot(store: RecordStore, source_id: str, run_id: int | None, views: Mapping[str, Visible],
             today: date) -> str:
    """Store the source's metrics as each audience in ``views`` sees them; returns the time stamp.

    When nothing they are computed from has changed since the last snapshot (:func:`basis`), its
    figures are reused and only those drawn from the harvest runs are brought up to date: an
    unchanged re-harvest does not read every record again.
    """
    mark = basis(store, source_id, today)
    runs = store.runs(source_id, limit=RUNS_WINDOW)
    reused = _reuse(store, source_id, views, mark, runs)
    if reused is not None:
        at = store.snapshots.add(source_id, run_id, reused)
        log.info("[%s] metrics snapshot after run %s (records unchanged: figures reused)", source_id, run_id)
        return at
    by_audience = center_metrics_by_view(
        store.iter_records(source_id), views,
        gated=store.gated_counts().get(source_id, {}),
        runs=store.runs(source_id, limit=RUNS_WINDOW),
        links=store.links.for_source(source_id),
        today=today,
    )
    for metrics in by_audience.values():
        metrics["basis"] = mark
    at = store.snapshots.add(source_id, run_id, by_audience)
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
    """Metrics kept while nothing they are computed from can have changed.

    Computing a center's metrics reads every one of its records, so the API keeps what it computed,
    by a key naming the scope and the audience, and forgets all of it as soon as the store changes
    (:meth:`RecordStore.generation`: any write, here or by another process) or the day does (ages,
    embargoes). Callers get their own copy.
    """

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[int, int], date] | None = None
        self._entries: dict[Hashable, dict[str, Any]] = {}

    def get(self, key: Hashable, today: date, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        stamp = (self.store.generation(), today)
        with self._lock:
            if stamp != self._stamp:
                self._entries.clear()
                self._stamp = stamp
            found = self._entries.get(key)
        if found is None:
            found = compute()
            with self._lock:
                if self._stamp == stamp:  # else the store changed meanwhile: the next call recomputes
                    self._entries[key] = found
        return copy.deepcopy(found)
