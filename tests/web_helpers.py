"""A harvested demo federation for the web page tests: audiences differ, links are checked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fedcat.api.catalog import Catalog
from fedcat.api.demo import demo_config
from fedcat.harvester.config import Audience, load_config
from fedcat.harvester.demo import DemoFederation


@dataclass
class World:
    catalog: Catalog
    config_path: str
    ids: dict[str, str]  # important, domestic, sensitive, core record ids (marine)
    keys: dict[str, str]  # registered, officer


@contextmanager
def harvested_world(tmp: Path) -> Iterator[World]:
    with DemoFederation(link_faults=True) as fed:
        raw = demo_config(fed, tmp / "data", "127.0.0.1", 0)
        raw["http"] = {"max_retries": 1, "backoff_base": 0.01, "connect_timeout": 2.0, "read_timeout": 5.0}
        path = tmp / "fedcat.yaml"
        path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
        cat = Catalog.open(load_config(path))
        try:
            cat.harvester.harvest()
            marine = sorted(cat.store.records.iter_records("marine"), key=lambda r: r.id)
            ids = {"important": marine[0].id, "domestic": marine[1].id, "core": marine[2].id,
                   "sensitive": marine[3].id}
            for name, tag, value in (("important", "security", "important"), ("domestic", "geo_scope", "domestic"),
                                     ("core", "security", "core"), ("sensitive", "security", "sensitive")):
                cat.store.overrides.put(ids[name], "marine", tag, value, "officer", "web test")
            cat.harvester.maintenance.retag(list(ids.values()))
            cat.check_links()  # as `fedcat linkcheck` does: the last run's snapshot is brought up to date
            cat.harvester.harvest(["marine"])  # a second snapshot for the trend
            keys = {aud.value: cat.store.keys.create(aud.value, aud)[1]
                    for aud in (Audience.REGISTERED, Audience.OFFICER)}
            yield World(cat, str(path), ids, keys)
        finally:
            cat.close()


class Client:
    """Synchronous requests to an ASGI app (no network)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, path: str, params: Any = None, headers: dict[str, str] | None = None,
            cookies: dict[str, str] | None = None) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers or {},
                                         cookies=cookies or {}) as c:
                return await c.get(path, params=params)
        return asyncio.run(go())

    def post(self, path: str, data: dict[str, str], headers: dict[str, str] | None = None,
             base_url: str = "http://test") -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
                return await c.post(path, data=data, headers=headers or {})
        return asyncio.run(go())
