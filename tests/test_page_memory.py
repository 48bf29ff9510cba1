"""A page is held once: its HTTP body goes when it is parsed, its tree when its records are mapped.

What a big page costs is measured by ``bench/page_memory.py`` (docs/performance.md); these tests pin
the releases that keep it low, by looking at which objects are still alive while a page is stored.
"""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from fedcat.harvester.sources.base import HarvestedItem, prefetch
from fedcat.harvester.sources.http import Response
from fedcat.harvester.sources.oai_client import OAIResponse
from fedcat.harvester.store import RunStatus

from .test_xml_robustness import dc_record, harvest_dc, page

MARKER = "页面内存标记"


def eventually(check: Callable[[], bool], seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        gc.collect()
        time.sleep(0.01)
    return True


class Item:
    pass


def test_prefetch_keeps_no_reference_to_an_item_it_has_handed_over() -> None:
    made: list[weakref.ref[Item]] = []

    def source() -> Iterator[Item]:
        for _ in range(3):
            item = Item()
            made.append(weakref.ref(item))
            yield item
            del item

    ahead = prefetch(source())
    first = next(ahead)
    ref = weakref.ref(first)
    del first
    try:
        # the worker moves on to the next item; nothing in the prefetcher may still hold the first
        assert eventually(lambda: len(made) >= 2 and ref() is None), "the prefetcher still holds the item"
    finally:
        ahead.close()


def alive(kind: type) -> list[Any]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, kind)]


def test_neither_the_body_nor_the_tree_of_a_page_is_held_while_it_is_stored(serve_pages: Any,
                                                                             catalog_factory: Any,
                                                                             monkeypatch: Any) -> None:
    records = [dc_record(n, f"冰川数据集{n}", f"{MARKER} {n} " + "冻土观测 " * 200) for n in range(1, 21)]
    server = serve_pages(page(*records))
    seen: dict[str, Any] = {}
    from fedcat.harvester.store import record_store

    original = record_store.RecordStore.store_page

    def store_page(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen["bodies"] = [r.url for r in alive(Response) if MARKER.encode() in r.body]
        seen["responses"] = len(alive(OAIResponse))
        seen["trees"] = sum(1 for hi in alive(HarvestedItem) if hi.element is not None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(record_store.RecordStore, "store_page", store_page)
    _, run = harvest_dc(catalog_factory, server)
    assert run.status is RunStatus.SUCCEEDED and run.counts["added"] == 20
    assert seen == {"bodies": [], "responses": 0, "trees": 0}
