"""A harvest gives the memory of each stored page back to the system (glibc's malloc_trim, at most once a
second): the resident memory of a harvest of several sources at once is then not the sum of every
thread's busiest moment (bench/search.py, bench/harvest.py and docs/performance.md give the figures)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.memory import MemoryReleaser, malloc_trim

from .conftest import source_for


def anonymous_bytes() -> int:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_malloc_trim_gives_freed_heap_memory_back_to_the_system() -> None:
    trim = malloc_trim()
    if trim is None:
        pytest.skip("the C library has no malloc_trim (not glibc)")
    # Blocks over 512 bytes come from the C heap, not Python's small-object pools; the last one kept holds
    # the heap's top, so free() alone cannot shrink it: 64 MB freed below it stays resident.
    blocks = [bytearray(1024) for _ in range(64_000)]
    keep = blocks[-1]
    del blocks
    before = anonymous_bytes()
    trim(0)
    after = anonymous_bytes()
    assert before - after > 32_000_000, (before, after)
    assert len(keep) == 1024


def test_a_trim_at_most_once_a_second_from_any_thread() -> None:
    calls: list[int] = []
    now = [100.0]
    releaser = MemoryReleaser(1.0, clock=lambda: now[0], trim=lambda pad: calls.append(pad) or 1)
    assert releaser.release() and calls == [0]
    now[0] += 0.5
    assert not releaser.release() and calls == [0]
    now[0] += 0.6
    assert releaser.release() and releaser.trims == 2


def test_a_harvest_trims_after_its_pages(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.memory = MemoryReleaser(0.0, trim=lambda pad: 1)  # every page
    (run,) = cat.harvester.harvest()
    assert run.pages == 3 and cat.harvester.memory.trims == 3


def test_a_rebuild_trims_as_it_walks_the_store(oai_server: OAIServer, catalog_factory: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from fedcat.harvester.pipeline import feeder

    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    made: list[MemoryReleaser] = []

    def releaser() -> MemoryReleaser:
        made.append(MemoryReleaser(0.0, trim=lambda pad: 1))
        return made[-1]

    monkeypatch.setattr(feeder, "MemoryReleaser", releaser)
    monkeypatch.setattr(feeder, "PUBLISH_BATCH", 50)
    cat.harvester.maintenance.reindex()
    (memory,) = made
    groups = sum(1 for _ in cat.store.indexing.iter_groups())
    assert groups > 100 and memory.trims == groups // 50


def _counting(made: list[MemoryReleaser]) -> Any:
    def releaser() -> MemoryReleaser:
        made.append(MemoryReleaser(0.0, trim=lambda pad: 1))
        return made[-1]
    return releaser


def test_the_index_writer_child_trims_after_each_batch(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from fedcat.harvester.model import LangText, Record
    from fedcat.index import writer
    from fedcat.index.writer_process import write_message

    made: list[MemoryReleaser] = []
    monkeypatch.setattr(writer, "MemoryReleaser", _counting(made))
    inbox = io.BytesIO()
    for i in range(3):
        rec = Record(id=f"s:{i}", source_id="s", local_id=str(i), titles=[LangText("冰川编目", None)])
        write_message(inbox, "upsert", [(f"s:{i}", [rec.to_dict()])])
    write_message(inbox, "close", None)
    inbox.seek(0)
    assert writer.serve(tmp_path / "index", inbox, io.BytesIO()) == 0
    (memory,) = made
    assert memory.trims == 3


def test_the_mapping_child_trims_after_each_page(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    from datetime import date

    from fedcat.harvester.pipeline import mapper

    from .conftest import make_config

    made: list[MemoryReleaser] = []
    monkeypatch.setattr(mapper, "MemoryReleaser", _counting(made))
    config = make_config(tmp_path, [{"id": "s", "name": "中心", "url": "http://127.0.0.1:9/oai"}])
    inbox = io.BytesIO()
    mapper._write(inbox, ("config", config))
    mapper._write(inbox, ("tagger", 1, "s", []))
    for page in range(2):
        mapper._write(inbox, ("map", page, 1, "s", 1, date(2026, 1, 1), [(b"<not-a-record/>", "oai_dc")]))
    inbox.seek(0)
    outbox = io.BytesIO()
    assert mapper.serve(inbox, outbox) == 0
    (memory,) = made
    assert memory.trims == 2
