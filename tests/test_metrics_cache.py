"""The API keeps each center's tally while that center and the day stay the same; the store's change
counter per source moves on every real change, and only then."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.metrics import overall_metrics, source_metrics
from fedcat.harvester.model import Record
from fedcat.harvester.store import RunReport, RunStatus
from fedcat.harvester.store.link_results import LinkKind, LinkResult, LinkStatus

from .conftest import source_for
from .test_api import Api


def get(cat: Catalog, path: str) -> Any:
    return Api(create_app(cat)).ok(path)


class Reads:
    """Counts the record streams the store opens, by source (the real method runs)."""

    def __init__(self, cat: Catalog) -> None:
        self.sources: list[str | None] = []
        real = cat.store.records.iter_records

        def counted(source_id: str | None = None, *args: Any, **kwargs: Any) -> Iterator[Record]:
            self.sources.append(source_id)
            return real(source_id, *args, **kwargs)

        cat.store.records.iter_records = counted  # type: ignore[method-assign]

    @property
    def count(self) -> int:
        return len(self.sources)


def two_centers(oai_server: OAIServer, catalog_factory: Any) -> Catalog:
    cat: Catalog = catalog_factory([source_for(oai_server), source_for(oai_server, source_id="copy")])
    cat.harvester.harvest()
    return cat


def test_a_center_is_counted_again_only_when_it_or_the_day_changes(oai_server: OAIServer,
                                                                   catalog_factory: Any) -> None:
    cat = two_centers(oai_server, catalog_factory)
    reads = Reads(cat)
    path = "/api/v1/centers/ncdc/metrics"

    first = get(cat, path)["metrics"]
    assert reads.sources == ["ncdc"]
    assert get(cat, path)["metrics"] == first and get(cat, "/api/v1/centers")
    assert reads.sources == ["ncdc", "copy"], "unchanged: ncdc is not counted again, copy once"
    get(cat, "/api/v1/metrics/ranking")  # the all-centers figures add up the kept tallies
    assert reads.count == 2

    # a commit by another connection (a harvest in another process) is seen
    victim = next(r for r in cat.store.records.iter_records("ncdc"))
    reads.sources.clear()
    with sqlite3.connect(cat.store.path) as other:
        other.execute("UPDATE records SET deleted = 1 WHERE id = ?", (victim.id,))
    after = get(cat, path)["metrics"]
    assert after["records"] == first["records"] - 1 and reads.sources == ["ncdc"]
    ranking = get(cat, "/api/v1/metrics/ranking")
    assert reads.sources == ["ncdc"], "the other center's tally still stands"
    assert ranking["overall"]["records"] == 2 * first["records"] - 1

    # a write through the catalog's own connection is seen; an empty one changes nothing
    cat.store.links.put([])
    assert get(cat, path)["metrics"] == after and reads.count == 1
    other_record = next(r for r in cat.store.records.iter_records("ncdc"))
    reads.sources.clear()
    cat.store.overrides.put(other_record.id, "ncdc", "geo_scope", "domestic", "officer", "复核")
    cat.harvester.maintenance.retag([other_record.id])
    retagged = get(cat, path)["metrics"]
    assert reads.sources == ["ncdc"] and retagged["geo_scope"] != after["geo_scope"]

    # a new day: ages and embargoes move
    today = cat.harvester.clock()
    cat.harvester.clock = lambda: today + timedelta(days=1)
    moved = get(cat, path)["metrics"]
    assert reads.count == 2 and moved["as_of"] == (today + timedelta(days=1)).isoformat()
    assert isinstance(today, date)


def test_kept_figures_equal_fresh_ones_and_callers_get_their_own_copy(oai_server: OAIServer,
                                                                     catalog_factory: Any) -> None:
    cat = two_centers(oai_server, catalog_factory)
    today = cat.harvester.clock()

    def everyone(_: Record) -> bool:
        return True

    for _ in range(2):  # counted, then kept
        assert cat.metrics.source("ncdc", "all", everyone, today) == source_metrics(cat.store, "ncdc", everyone, today)
        assert cat.metrics.overall(["ncdc", "copy"], "all", everyone, today) == \
            overall_metrics(cat.store, ["ncdc", "copy"], everyone, today)
    mine = cat.metrics.source("ncdc", "all", everyone, today)
    mine["openness"]["open"] = -1
    mine["embargo"]["passed_not_open_ids"].append("mine")
    assert cat.metrics.source("ncdc", "all", everyone, today) == source_metrics(cat.store, "ncdc", everyone, today)


def test_the_change_counter_moves_on_real_changes_only(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = two_centers(oai_server, catalog_factory)
    store = cat.store
    start, copy_start = store.source_version("ncdc"), store.source_version("copy")
    assert start > 0 and copy_start > 0 and store.source_version("nowhere") == 0

    cat.harvester.harvest(["ncdc"])  # nothing new, and --full: every record re-listed, none changed
    cat.harvester.harvest(["ncdc"], full=True)
    assert store.source_version("ncdc") == start

    rec = next(r for r in store.records.iter_records("ncdc"))
    checked = datetime.now(UTC).isoformat(timespec="seconds")
    store.links.put([LinkResult(rec.id, "ncdc", LinkKind.LANDING, rec.landing_page or "", LinkStatus.OK,
                                checked_at=checked)])
    linked = store.source_version("ncdc")
    assert linked > start and store.source_version("copy") == copy_start

    store.overrides.put(rec.id, "ncdc", "security", "core", "officer", "gated")
    # the record is gated: its row loses its content, the gated table gains it
    cat.harvester.maintenance.retag([rec.id])
    gated = store.source_version("ncdc")
    assert gated > linked
    cat.harvester.maintenance.retag([rec.id])  # gated again, nothing new
    assert store.source_version("ncdc") == gated


def test_a_center_being_harvested_keeps_its_figures_until_the_run_ends(oai_server: OAIServer,
                                                                      catalog_factory: Any) -> None:
    cat = two_centers(oai_server, catalog_factory)
    path = "/api/v1/centers/ncdc/metrics"
    before = get(cat, path)["metrics"]
    reads = Reads(cat)
    run = cat.store.runs.start_run(RunReport(source_id="ncdc"))  # a run under way, by this (live) process
    victim = next(r for r in cat.store.records.iter_records("ncdc"))
    reads.sources.clear()
    with sqlite3.connect(cat.store.path) as other:  # a page of that run
        other.execute("UPDATE records SET deleted = 1 WHERE id = ?", (victim.id,))
    during = get(cat, path)["metrics"]
    assert during["records"] == before["records"] and reads.count == 0
    assert get(cat, "/api/v1/centers") and reads.sources == ["copy"]  # the other center counted as usual
    cat.store.runs.finish_run(run, RunStatus.SUCCEEDED)
    after = get(cat, path)["metrics"]
    assert after["records"] == before["records"] - 1 and reads.sources == ["copy", "ncdc"]
    assert after["freshness"]["harvest_runs"] == before["freshness"]["harvest_runs"] + 1
