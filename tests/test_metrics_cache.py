"""The API keeps computed metrics only while the store and the day stay the same."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.model import Record

from .conftest import source_for


def get(cat: Catalog, path: str) -> Any:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(cat))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)
    resp = asyncio.run(go())
    assert resp.status_code == 200, resp.text
    return resp.json()


class Reads:
    """Counts the record streams the store opens (the real method runs)."""

    def __init__(self, cat: Catalog) -> None:
        self.count = 0
        real = cat.store.iter_records

        def counted(*args: Any, **kwargs: Any) -> Iterator[Record]:
            self.count += 1
            return real(*args, **kwargs)

        cat.store.iter_records = counted  # type: ignore[method-assign]


def test_metrics_are_reused_until_the_store_or_the_day_changes(oai_server: OAIServer,
                                                               catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    reads = Reads(cat)
    path = "/api/v1/centers/ncdc/metrics"

    first = get(cat, path)["metrics"]
    assert reads.count == 1
    assert get(cat, path)["metrics"] == first and get(cat, "/api/v1/centers")
    assert reads.count == 1, "unchanged store: the figures are not computed again"

    # a commit by another connection (a harvest in another process) is seen
    victim = next(r for r in cat.store.iter_records("ncdc"))
    with sqlite3.connect(cat.store.path) as other:
        other.execute("UPDATE records SET deleted = 1 WHERE id = ?", (victim.id,))
    reads.count = 0
    after = get(cat, path)["metrics"]
    assert after["records"] == first["records"] - 1 and reads.count == 1

    # a write through the catalog's own connection is seen
    cat.store.links.put([])  # nothing to write: no change, still cached
    assert get(cat, path)["metrics"] == after and reads.count == 1
    cat.store.overrides.put(victim.id, "ncdc", "security", "important", "officer", "复核")
    get(cat, path)
    assert reads.count == 2

    # a new day: ages and embargoes move
    today = cat.harvester.clock()
    cat.harvester.clock = lambda: today + timedelta(days=1)
    moved = get(cat, path)["metrics"]
    assert reads.count == 3 and moved["as_of"] == (today + timedelta(days=1)).isoformat()
    assert isinstance(today, date)


def test_callers_get_their_own_copy(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    today = cat.harvester.clock()
    first = cat.metrics.get("k", today, lambda: {"a": [1]})
    first["a"].append(2)
    assert cat.metrics.get("k", today, lambda: {"a": ["recomputed"]}) == {"a": [1]}
