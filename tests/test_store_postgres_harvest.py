"""A harvest end to end into a PostgreSQL record store finds what the same harvest into SQLite finds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fedcat.api.catalog import Catalog
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.store import RunStatus
from fedcat.index.base import SearchQuery

from .conftest import make_config, search_ids, source_for


def harvest_twice(tmp_path: Path, server: OAIServer, store: dict[str, str] | None) -> dict[str, Any]:
    """Two harvests (the second after a record changed and one was deleted): what each leaves searchable."""
    extra: dict[str, Any] = {"store": store} if store else {}
    cat = Catalog.open(make_config(tmp_path, [source_for(server)], **extra))
    try:
        (first,) = cat.harvester.harvest(full=True)
        assert first.status is RunStatus.SUCCEEDED
        seen: dict[str, Any] = {"backend": cat.store.backend, "first": first.counts,
                                "all": search_ids(cat), "glacier": search_ids(cat, "冰川"),
                                "facets": cat.index.search(SearchQuery(size=1)).facets,
                                "counts": cat.store.records.counts(), "version": cat.store.source_version("ncdc")}
        again = cat.harvester.harvest(full=True)[0]
        seen["unchanged"] = (again.counts, cat.store.source_version("ncdc"))
        return seen
    finally:
        cat.close()


def test_a_harvest_into_postgresql_matches_sqlite(tmp_path: Path, oai_server: OAIServer, pg_url: str) -> None:
    sqlite = harvest_twice(tmp_path / "sqlite", oai_server, None)
    postgres = harvest_twice(tmp_path / "postgresql", oai_server, {"backend": "postgresql", "url": pg_url})
    assert (sqlite.pop("backend"), postgres.pop("backend")) == ("sqlite", "postgresql")
    assert sqlite["first"]["added"] > 100 and sqlite["all"]
    assert postgres == sqlite


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_changes_reach_the_index(request: pytest.FixtureRequest, tmp_path: Path, oai_server: OAIServer,
                                 backend: str) -> None:
    store = {"backend": "postgresql", "url": request.getfixturevalue("pg_url")} if backend == "postgresql" else {}
    cat = Catalog.open(make_config(tmp_path, [source_for(oai_server)], store=store))
    try:
        cat.harvester.harvest(full=True)
        live = [r for r in oai_server.repository.records() if not r.deleted]
        changed, gone = live[3], live[4]
        oai_server.repository.upsert(replace(changed, title_zh="冻土钻孔温度 XQZ",
                                             title_en="Permafrost borehole temperatures XQZ",
                                             datestamp=datetime.now(UTC).replace(microsecond=0)))
        oai_server.repository.delete(gone.identifier)
        (run,) = cat.harvester.harvest()
        assert run.status is RunStatus.SUCCEEDED and run.counts["updated"] == 1 and run.counts["deleted"] == 1
        assert search_ids(cat, "XQZ") == {f"ncdc:{changed.local_id}"}
        assert f"ncdc:{gone.local_id}" not in search_ids(cat)
        assert cat.store.indexing.index_counts()[1] == 0
    finally:
        cat.close()
