"""Helpers for the JSON API tests: source configs, profile files, index ids, stored record errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import yaml

from fedcat.api.catalog import Catalog
from fedcat.harvester.demo.rest_apis import DemoApi, rest_centers
from fedcat.harvester.demo.rest_server import RestServer


def rest_source(server: RestServer, name: str, *, source_id: str | None = None, **extra: Any) -> dict[str, Any]:
    src: dict[str, Any] = {"id": source_id or name, "name": rest_centers()[name].name_zh if name in rest_centers()
                           else name, "protocol": "rest", "profile": name, "url": server.url}
    src.update(extra)
    return src


def write_profile(tmp_path: Path, data: dict[str, Any], name: str = "custom") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def api_of(server: RestServer) -> DemoApi:
    api = server.api
    assert isinstance(api, DemoApi)
    return api


def error_rows(catalog: Catalog) -> list[tuple[str | None, str, str | None, bytes | None]]:
    with sqlite3.connect(catalog.store.path) as db:
        rows = db.execute("SELECT local_id, message, url, raw FROM record_errors ORDER BY id").fetchall()
    return [(r[0], r[1], r[2], bytes(r[3]) if r[3] is not None else None) for r in rows]
