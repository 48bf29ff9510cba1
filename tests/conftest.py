"""Shared fixtures: demo OAI-PMH servers on loopback and catalogs in temporary folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fedcat.api.catalog import Catalog
from fedcat.harvester.config import Config, config_from_dict
from fedcat.harvester.demo.corpus import demo_centers, generate_records
from fedcat.harvester.demo.oai_server import FaultAction, FaultContext, OAIRepository, OAIServer
from fedcat.harvester.demo.rest_server import JsonApi, RestServer
from fedcat.index.base import SearchQuery

#: The minimal config of the Foundation issue, exactly as users are told it works.
ACCEPTANCE_YAML = """\
data_dir: ./fedcat-data
sources:
  - id: example
    name: 示例数据中心
    protocol: oaipmh
    url: http://127.0.0.1:9100/oai
    metadata_prefix: oai_dc
"""

FAST_HTTP = {"max_retries": 2, "backoff_base": 0.01, "backoff_max": 0.05, "retry_after_max": 0.2,
             "connect_timeout": 2.0, "read_timeout": 5.0}


def center(center_id: str) -> Any:
    return next(c for c in demo_centers() if c.id == center_id)


@pytest.fixture
def oai_server() -> Iterator[OAIServer]:
    """A fresh cryosphere-center repository (150 records, 3 pages, a few deleted) on an ephemeral port."""
    c = center("ncdc")
    server = OAIServer(OAIRepository(c, generate_records(c)), port=0).start()
    try:
        yield server
    finally:
        server.stop()


def make_config(tmp_path: Path, sources: list[dict[str, Any]], **extra: Any) -> Config:
    raw: dict[str, Any] = {"data_dir": str(tmp_path / "data"), "sources": sources, "http": dict(FAST_HTTP)}
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key].update(value)
        else:
            raw[key] = value
    return config_from_dict(raw)


def source_for(server: OAIServer, source_id: str = "ncdc", **extra: Any) -> dict[str, Any]:
    src: dict[str, Any] = {"id": source_id, "name": "国家冰川冻土沙漠科学数据中心", "name_en": "NCDC",
                           "url": server.url, "policy": {"security": "general"}}
    src.update(extra)
    return src


@pytest.fixture
def catalog_factory(tmp_path: Path) -> Iterator[Any]:
    opened: list[Catalog] = []

    def factory(sources: list[dict[str, Any]], **extra: Any) -> Catalog:
        cat = Catalog.open(make_config(tmp_path, sources, **extra))
        opened.append(cat)
        return cat

    yield factory
    for cat in opened:
        cat.close()


@pytest.fixture
def serve_pages() -> Iterator[Callable[..., OAIServer]]:
    """A demo server (real Identify) whose ListRecords answer is ``body`` (one page, no token)."""
    servers: list[OAIServer] = []

    def start(body: bytes, headers: dict[str, str] | None = None) -> OAIServer:
        c = center("ncdc")
        server = OAIServer(OAIRepository(c, generate_records(c)[:3]), host="127.0.0.1", port=0).start()
        servers.append(server)
        answer_headers = {"Content-Type": "text/xml; charset=utf-8", **(headers or {})}

        def fault(ctx: FaultContext) -> FaultAction | None:
            if ctx.params.get("verb") == "ListRecords":
                return FaultAction(status=200, body=body, headers=answer_headers)
            return None

        server.fault = fault
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def rest_serve() -> Iterator[Callable[[JsonApi], RestServer]]:
    """Start RestServers on 127.0.0.1:0; all stopped at teardown."""
    servers: list[RestServer] = []

    def start(api: JsonApi) -> RestServer:
        server = RestServer(api, host="127.0.0.1", port=0).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def search_ids(catalog: Catalog, text: str = "") -> set[str]:
    """Every id a search finds, walking all pages."""
    ids: set[str] = set()
    cursor = None
    while True:
        page = catalog.index.search(SearchQuery(text=text, size=100, cursor=cursor, facets=()))
        ids |= {h.id for h in page.hits}
        cursor = page.next_cursor
        if not cursor:
            return ids


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One PostgreSQL server for the session (tests/pg_server.py); skips without PostgreSQL, unless
    FEDCAT_REQUIRE_POSTGRES=1, when it fails."""
    import os

    from .pg_server import REQUIRE_ENV, PgServer, find_bindir

    bindir = find_bindir()
    required = os.environ.get(REQUIRE_ENV) == "1"
    if bindir is None:
        reason = "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on the PATH)"
        if required:
            pytest.fail(f"{reason}, and {REQUIRE_ENV}=1")
        pytest.skip(reason)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if required:
            pytest.fail(f"psycopg is not installed, and {REQUIRE_ENV}=1")
        pytest.skip("psycopg is not installed")
    server = PgServer(bindir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    return str(pg_server.new_database())


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A new, empty record store of each backend (PostgreSQL: a database of its own)."""
    from .store_helpers import open_store

    store = open_store(request, request.param, tmp_path)
    try:
        yield store
    finally:
        store.close()
