"""Mapping pages in a child process (harvester/pipeline/mapper.py): the same records, and a dead child loses none."""

from __future__ import annotations

import signal
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fedcat.api.catalog import Catalog
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.model import Record
from fedcat.harvester.pipeline.mapper import MapperProcess, MapperUnavailable
from fedcat.harvester.sources.registry import item_from_raw
from fedcat.harvester.store import RunReport, RunStatus

from .conftest import make_config, search_ids, source_for


def stored(cat: Catalog) -> dict[str, dict[str, Any]]:
    """Every stored record, without what differs between two harvests (when, which run)."""
    out = {}
    for rec in cat.store.records.iter_records():
        data = rec.to_dict()
        data.pop("provenance")
        out[rec.id] = data
    return out


def harvest_into(tmp: Path, server: OAIServer, progress: Any = None, **extra: Any) -> tuple[Catalog, RunReport]:
    cat = Catalog.open(make_config(tmp, [source_for(server, metadata_prefix="oai_datacite")], **extra))
    (run,) = cat.harvester.harvest(progress=progress)
    return cat, run


def test_a_child_maps_exactly_what_this_process_maps(oai_server: OAIServer, tmp_path: Path) -> None:
    here, run_here = harvest_into(tmp_path / "here", oai_server, map_process=False)
    child, run_child = harvest_into(tmp_path / "child", oai_server, map_process=True)
    try:
        assert run_child.counts == run_here.counts and run_here.counts["added"] > 100
        assert stored(child) == stored(here)
        assert search_ids(child) == search_ids(here)
    finally:
        here.close()
        child.close()


class KillMapper:
    """Kills the mapping process after the given pages were stored."""

    def __init__(self, cat: Catalog | None, pages: set[int]) -> None:
        self.cat, self.pages, self.seen, self.killed = cat, pages, 0, 0

    def started(self, source_id: str) -> None:
        pass

    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None:
        self.seen += 1
        assert self.cat is not None
        mapper = self.cat.harvester._mapper
        channel = mapper._channel if mapper is not None else None
        if self.seen in self.pages and channel is not None and channel.proc.poll() is None:
            channel.proc.send_signal(signal.SIGKILL)
            channel.proc.wait()
            self.killed += 1

    def finished(self, report: RunReport) -> None:
        pass


@pytest.mark.parametrize("pages", [{1}, {1, 2}], ids=["after the first page", "after every page"])
def test_a_killed_mapping_process_costs_time_not_records(oai_server: OAIServer, tmp_path: Path,
                                                         pages: set[int]) -> None:
    here, _ = harvest_into(tmp_path / "here", oai_server, map_process=False)
    cat = Catalog.open(make_config(tmp_path / "child", [source_for(oai_server, metadata_prefix="oai_datacite")],
                                   map_process=True))
    sink = KillMapper(cat, pages)
    try:
        (run,) = cat.harvester.harvest(progress=sink)
        assert sink.killed >= 1
        assert run.status is RunStatus.SUCCEEDED and not run.errors
        assert stored(cat) == stored(here)  # the pages the child had were mapped here instead
        assert search_ids(cat) == search_ids(here)
        assert cat.harvester._mapper is None  # stopped when the harvest ended
    finally:
        here.close()
        cat.close()


def test_pages_waiting_on_a_dead_child_fail_and_the_next_page_starts_a_new_child(
        oai_server: OAIServer, tmp_path: Path) -> None:
    here, _ = harvest_into(tmp_path / "here", oai_server, map_process=False)
    source = here.config.sources[0]
    items = [item_from_raw(raw.body, raw.format, source) for _, raw in here.store.records.iter_raw(source.id)][:20]
    here.close()
    mapper = MapperProcess(here.config)
    try:
        waiting = mapper.submit(source, 1, 1, [], date(2026, 1, 1), items)
        assert mapper._channel is not None
        mapper._channel.proc.kill()  # it is still starting up: it cannot have answered
        with pytest.raises(MapperUnavailable):
            waiting.result(timeout=60)
        again = mapper.submit(source, 1, 1, [], date(2026, 1, 1), items).result(timeout=60)
        assert [m.error for m in again] == [None] * len(items)
        assert {Record.from_json(m.record_json or "").local_id for m in again} == {i.local_id for i in items}
    finally:
        mapper.close()
