"""The embedded index's writer process (index/writer.py): a dead child loses nothing."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.model import Record
from fedcat.harvester.store import RunReport
from fedcat.index.base import SearchQuery
from fedcat.index.embedded import EmbeddedIndex
from fedcat.index.errors import IndexUnavailable

from .conftest import search_ids, source_for


def _record(n: int, title: str) -> Record:
    from fedcat.harvester.model import LangText, Security

    rec = Record(id=f"s:{n}", source_id="s", local_id=str(n), titles=[LangText(title, "zh")])
    rec.access.security = Security.GENERAL
    return rec


def _kill(index: EmbeddedIndex) -> None:
    remote = index._remote
    assert remote is not None and remote._proc is not None
    remote._proc.send_signal(signal.SIGKILL)
    remote._proc.wait()


def test_writes_go_through_a_child_and_searches_see_them_after_a_commit(tmp_path: Path) -> None:
    idx = EmbeddedIndex(tmp_path / "ix", write_process=True)
    try:
        idx.upsert([_record(1, "青藏高原冰川")], refresh=False)
        assert idx._writer is None  # the parent never opened a tantivy writer
        idx.flush()
        hits = idx.search(SearchQuery(text="冰川")).hits
        assert [h.id for h in hits] == ["s:1"]
    finally:
        idx.close()


def test_a_killed_child_is_an_unavailable_index_and_the_next_write_starts_a_new_one(tmp_path: Path) -> None:
    idx = EmbeddedIndex(tmp_path / "ix", write_process=True)
    try:
        idx.upsert([_record(1, "冰川")])
        idx.upsert([_record(2, "冻土")], refresh=False)
        _kill(idx)
        with pytest.raises(IndexUnavailable):
            idx.flush()  # the uncommitted upsert of s:2 died with the child
        assert {h.id for h in idx.search(SearchQuery(text="")).hits} == {"s:1"}
        idx.upsert([_record(2, "冻土")])
        assert {h.id for h in idx.search(SearchQuery(text="")).hits} == {"s:1", "s:2"}
    finally:
        idx.close()


class _KillAfterPages:
    """A progress sink that kills the index writer process after the pages it is told to."""

    def __init__(self, index: EmbeddedIndex, pages: set[int]) -> None:
        self.index = index
        self.pages = pages
        self.seen = 0
        self.killed = 0

    def started(self, source_id: str) -> None:
        pass

    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None:
        self.seen += 1
        if self.seen in self.pages and self.index._remote is not None and self.index._remote._proc is not None:
            _kill(self.index)
            self.killed += 1

    def finished(self, report: RunReport) -> None:
        pass


@pytest.mark.parametrize("pages", [{1}, {3}, {1, 2, 3}], ids=["first page", "last page", "every page"])
def test_harvest_survives_the_writer_process_dying_and_indexes_everything(
        oai_server: OAIServer, catalog_factory: Any, pages: set[int]) -> None:
    """Killed with uncommitted writes, then sent more (first page) or asked to commit (last page)."""
    cat = catalog_factory([source_for(oai_server)], index={"write_process": True})
    assert isinstance(cat.index, EmbeddedIndex)
    sink = _KillAfterPages(cat.index, pages)
    (run,) = cat.harvester.harvest(progress=sink)
    assert sink.seen == 3 and sink.killed >= 1
    live = {f"ncdc:{r.local_id}" for r in oai_server.repository.records() if not r.deleted}
    assert run.counts["added"] == len(live)
    assert cat.store.indexing.pending() == []  # the catch-up re-sent what the dead child never committed
    assert search_ids(cat) == live
    assert cat.index._remote is not None and cat.index._remote._proc is None  # stopped when the harvest ended


def test_an_index_cleared_and_refilled_keeps_every_group(tmp_path: Path) -> None:
    """A writer that cleared the index, then only removed groups (records that may not be indexed), lost
    the first document of a group it added after its next clear."""
    from fedcat.harvester.model import Access, GeoScope, LangText, Security
    from fedcat.index.base import EVERYTHING

    def rec(i: int, doi: str | None, level: Security, source: str = "s",
            geo: GeoScope = GeoScope.INTERNATIONAL) -> Record:
        r = Record(id=f"{source}:{i}", source_id=source, local_id=str(i), titles=[LangText("冰川 glacier")],
                   access=Access(security=level, geo_scope=geo))
        r.identifiers.doi = doi
        return r

    gated = [rec(0, "10.1/b", Security.CORE), rec(1, "10.1/b", Security.SECRET, "t"), rec(2, None, Security.SECRET),
             rec(3, "10.1/a", Security.SECRET)]
    shown = [rec(10, "10.1/a", Security.GENERAL), rec(11, "10.1/a", Security.SENSITIVE, "t", GeoScope.DOMESTIC),
             rec(12, "10.1/b", Security.GENERAL, "t"), rec(13, "10.1/b", Security.SENSITIVE, "u")]
    index = EmbeddedIndex(tmp_path / "index")
    try:
        index.clear()
        index.upsert(gated)  # removes the groups: nothing of them may be indexed
        index.clear()
        index.upsert(shown)
        assert index.count() == 2
        assert index.search(SearchQuery(text="", visibility=EVERYTHING)).total == 2
    finally:
        index.close()


# -- one writer at a time, across processes ------------------------------------------------------------


@pytest.mark.parametrize("write_process", [False, True])
def test_a_write_outside_a_run_of_writes_lets_go_of_the_lock(tmp_path: Path, write_process: bool) -> None:
    """`fedcat serve` writes one group now and then (an officer's override, the catch-up at start); a
    harvest in another process must be able to write next, so the serving index lets go of tantivy's
    writer lock once its write is committed."""
    serving = EmbeddedIndex(tmp_path / "ix", write_process=write_process)
    harvesting = EmbeddedIndex(tmp_path / "ix")
    try:
        serving.upsert([_record(1, "冰川")])
        harvesting.upsert([_record(2, "冻土")])  # raised IndexUnavailable (LockBusy) while serving held it
        serving.upsert([_record(3, "气象")], refresh=False)
        serving.flush()
        harvesting.upsert([_record(4, "遥感")])
        assert {h.id for h in serving.search(SearchQuery(text="")).hits} == {"s:1", "s:2", "s:3", "s:4"}
    finally:
        serving.close()
        harvesting.close()


def test_a_run_of_writes_keeps_the_writer_until_its_end(tmp_path: Path) -> None:
    idx = EmbeddedIndex(tmp_path / "ix")
    other = EmbeddedIndex(tmp_path / "ix")
    try:
        with idx.writing():
            idx.upsert([_record(1, "冰川")])
            with idx.writing():  # runs overlap (the scheduler's jobs)
                idx.upsert([_record(2, "冻土")])
            assert idx._writer is not None
            with pytest.raises(IndexUnavailable):
                other.upsert([_record(3, "气象")])
        assert idx._writer is None
        other.upsert([_record(3, "气象")])
    finally:
        idx.close()
        other.close()
