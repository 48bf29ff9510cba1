"""Cross-source duplicates end to end: three loopback OAI-PMH sources, one dataset (same DOI), the API.

The same DOI reached through a center, an aggregator and a DOI registry is one search hit listing each
source the caller may see; every source's record stays stored and is served on its own; the group
follows its members as they change, disappear or are gated, and a rebuild from the store agrees.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fedcat.api.catalog import Catalog
from fedcat.harvester.config import Audience
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.store import RecordStore
from fedcat.index.base import EVERYTHING, SearchQuery

from .conftest import source_for
from .metadata_samples import dcat_rdfxml
from .oai_static import StaticOAI, StaticOAIServer, StaticRecord
from .test_access import Client

DOI = "10.11888/Cryos.tpdc.271456"


@pytest.fixture
def servers() -> Iterator[dict[str, StaticOAIServer]]:
    repos = {
        "tpdc": [StaticRecord("oai:tpdc:glacier", "2024-01-02", {"dcat": dcat_rdfxml("glacier", doi=DOI)})],
        "sdb": [StaticRecord("oai:sdb:00071", "2024-01-05", {"dcat": dcat_rdfxml(
                    "sdb-00071", doi=f"https://doi.org/{DOI}", title_zh="青藏高原冰川编目数据集 V2",
                    title_en="Tibetan Plateau glacier inventory, ScienceDB copy")}),
                StaticRecord("oai:sdb:00072", "2024-01-05", {"dcat": dcat_rdfxml(
                    "sdb-00072", doi="10.11922/sciencedb.00072", title_zh="柴达木盆地风沙观测",
                    title_en="Aeolian observations in the Qaidam Basin")})],
        "dc": [StaticRecord("oai:dc:1", "2024-01-03", {"dcat": dcat_rdfxml(
                   "dc-1", doi=f"doi:{DOI.upper()}", title_zh="冰川编目（DOI 登记）", rights="仅限国内分发")})],
    }
    started = {sid: StaticOAIServer(StaticOAI(recs, page_size=5)).start() for sid, recs in repos.items()}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def cat(servers: dict[str, StaticOAIServer], catalog_factory: Callable[..., Catalog]) -> Catalog:
    names = {"tpdc": "国家青藏高原科学数据中心", "sdb": "科学数据银行", "dc": "DataCite"}
    catalog = catalog_factory([{"id": sid, "name": names[sid], "url": s.url, "metadata_prefix": "dcat"}
                               for sid, s in servers.items()])
    reports = catalog.harvester.harvest()
    assert all(r.status.value == "succeeded" for r in reports), [r.errors for r in reports]
    return catalog


#: The datasets' shared words, quoted: the whole phrase, not a part of it (sdb:00072 says 冰川 too).
PHRASE = '"冰川编目"'


def clients(cat: Catalog) -> tuple[Client, Client]:
    _, registered = cat.store.keys.create("lab", Audience.REGISTERED)
    return Client(cat), Client(cat, registered)


def sources_of(body: dict[str, Any]) -> list[list[str]]:
    return [[s["id"] for s in hit["sources"]] for hit in body["hits"]]


def test_one_hit_lists_every_providing_source_and_each_record_stays(cat: Catalog) -> None:
    anonymous, registered = clients(cat)
    assert cat.store.records.counts() == {"records": 4, "deleted": 0}
    body = anonymous.ok("/api/v1/search", {"q": PHRASE})
    # public_international: the DOI registry's copy is domestic, so it is neither listed nor counted
    assert body["total"] == 1
    assert sources_of(body) == [["sdb:00071", "tpdc:glacier"]]
    assert {b["value"]: b["count"] for b in body["facets"]["source"]} == {"sdb": 1, "tpdc": 1}
    assert {b["value"] for b in body["facets"]["geo_scope"]} == {"international"}
    hit = body["hits"][0]
    assert hit["group"] == f"doi:{DOI.lower()}"
    assert hit["sources"][0]["center"] == "科学数据银行"
    assert anonymous.ok("/api/v1/search", {"q": PHRASE, "source": "dc"})["total"] == 0
    body = registered.ok("/api/v1/search", {"q": PHRASE})
    assert sources_of(body) == [["dc:1", "sdb:00071", "tpdc:glacier"]]
    assert {b["value"]: b["count"] for b in body["facets"]["source"]} == {"dc": 1, "sdb": 1, "tpdc": 1}
    assert registered.ok("/api/v1/search")["total"] == 2  # two datasets from four records

    record = anonymous.ok("/api/v1/records/tpdc:glacier")
    assert [o["id"] for o in record["same_dataset"]] == ["sdb:00071"]
    assert record["same_dataset"][0]["record"] == "/api/v1/records/sdb:00071"
    assert [o["id"] for o in anonymous.ok("/api/v1/records/sdb:00071")["same_dataset"]] == ["tpdc:glacier"]
    assert anonymous.get("/api/v1/records/dc:1").status_code == 404
    assert [o["id"] for o in registered.ok("/api/v1/records/tpdc:glacier")["same_dataset"]] == ["dc:1", "sdb:00071"]
    assert registered.ok("/api/v1/records/dc:1")["title"] == "冰川编目（DOI 登记）"
    assert registered.ok("/api/v1/records/sdb:00072")["same_dataset"] == []


def test_the_group_follows_its_members(cat: Catalog, servers: dict[str, StaticOAIServer]) -> None:
    _, registered = clients(cat)

    def groups(q: str = "") -> list[list[str]]:
        return sorted(sources_of(registered.ok("/api/v1/search", {"q": q})))

    # the aggregator corrects its DOI: its record leaves the group and becomes a dataset of its own
    servers["sdb"].repo.records[0].metadata["dcat"] = dcat_rdfxml(
        "sdb-00071", doi="10.11922/sciencedb.00071", title_zh="青藏高原冰川编目数据集 V2")
    (run,) = cat.harvester.harvest(["sdb"], full=True)
    assert run.counts["updated"] == 1
    assert groups(PHRASE) == [["dc:1", "tpdc:glacier"], ["sdb:00071"]]
    assert [o["id"] for o in registered.ok("/api/v1/records/tpdc:glacier")["same_dataset"]] == ["dc:1"]
    # the registry deletes its record: the group is rebuilt from the member left
    servers["dc"].repo.records[0] = StaticRecord("oai:dc:1", "2024-02-01", {}, deleted=True)
    cat.harvester.harvest(["dc"], full=True)
    assert groups(PHRASE) == [["sdb:00071"], ["tpdc:glacier"]]
    # the aggregator takes the DOI again, and the center's record is classified secret (gated)
    servers["sdb"].repo.records[0].metadata["dcat"] = dcat_rdfxml("sdb-00071", doi=DOI)
    servers["tpdc"].repo.records[0].metadata["dcat"] = dcat_rdfxml("glacier", doi=DOI, level="绝密")
    cat.harvester.harvest(["sdb"], full=True)
    assert groups(PHRASE) == [["sdb:00071", "tpdc:glacier"]]
    (run,) = cat.harvester.harvest(["tpdc"], full=True)
    assert run.counts["gated"] == 1
    assert groups(PHRASE) == [["sdb:00071"]]
    assert registered.ok("/api/v1/records/sdb:00071")["same_dataset"] == []
    assert cat.store.indexing.pending() == []

    before = cat.index.search(SearchQuery(size=50, visibility=EVERYTHING))
    assert cat.harvester.feeder.rebuild() == 2
    after = cat.index.search(SearchQuery(size=50, visibility=EVERYTHING))
    assert sorted((h.doc["group"], h.id) for h in after.hits) == sorted((h.doc["group"], h.id) for h in before.hits)
    assert cat.index.count() == 2


def test_a_store_from_before_grouping_gets_its_group_keys(cat: Catalog) -> None:
    path = cat.store.path
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX records_group")
        db.execute("DROP INDEX records_indexed_group")
        db.execute("DROP TABLE record_pids")
        db.execute("ALTER TABLE records DROP COLUMN group_key")
        db.execute("ALTER TABLE records DROP COLUMN indexed_group")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store = RecordStore(path)
    try:
        (group,) = store.indexing.groups([f"doi:{DOI.lower()}"])
        assert [m.id for m in group.members] == ["dc:1", "sdb:00071", "tpdc:glacier"]
        assert [r.id for r in store.records.same_dataset("sdb:00072")] == []
        assert sum(len(g.members) for g in store.indexing.iter_groups(batch=1)) == 4
    finally:
        store.close()


def test_a_pid_one_source_gives_to_several_records_names_a_collection_not_a_dataset(
        oai_server: OAIServer, catalog_factory: Callable[..., Catalog]) -> None:
    live = [r for r in oai_server.repository.records() if not r.deleted]
    shared = live[0].doi
    for rec in live[1:4]:  # four records of one center under one project DOI
        oai_server.repository.upsert(dataclasses.replace(rec, doi=shared))
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    everything = cat.index.search(SearchQuery(size=1, visibility=EVERYTHING, facets=()))
    assert everything.total == cat.store.records.counts("ncdc")["records"] == len(live)  # nothing merged
    ids = [f"ncdc:{r.local_id}" for r in live[:4]]
    db = sqlite3.connect(cat.store.path)
    keys = dict(db.execute(f"SELECT id, group_key FROM records WHERE id IN ({','.join('?' * 4)})", ids).fetchall())
    # the project DOI links none of them: each is the group of its own CSTR
    assert keys == {i: f"cstr:31253.11.{i.replace(':', '.')}" for i in ids}


LAKE_DOI = "10.11922/sciencedb.namco"


def lake(local: str, doi: str, year: int, rights: str = "国内国外均可分发") -> dict[str, str]:
    """A record of the Nam Co lake dataset; its CSTR is ``CSTR:18406.11.<local>``, ``doi=""`` gives none."""
    return {"dcat": dcat_rdfxml(local, doi=doi, title_zh="纳木错湖泊水位观测数据集",
                                title_en="Nam Co lake level observations", rights=rights)
            .replace("2021-03-15", f"{year}-03-15")}


def test_records_sharing_any_identifier_are_one_hit_until_the_bridge_goes(
        catalog_factory: Callable[..., Catalog]) -> None:
    # a center with only a CSTR, a registry with only the DOI (domestic), then an aggregator with both
    repos = {"tpdc": [StaticRecord("oai:tpdc:namco", "2024-01-02", lake("namco", "", 2019))],
             "dc": [StaticRecord("oai:dc:namco", "2024-01-03", lake("dc-namco", LAKE_DOI, 2021, "仅限国内分发"))],
             "sdb": [StaticRecord("oai:sdb:other", "2024-01-04", {"dcat": dcat_rdfxml("sdb-other", doi="10.1/x")})]}
    servers = {sid: StaticOAIServer(StaticOAI(recs, page_size=5)).start() for sid, recs in repos.items()}
    try:
        cat = catalog_factory([{"id": sid, "name": sid, "url": s.url, "metadata_prefix": "dcat"}
                               for sid, s in servers.items()])
        cat.harvester.harvest()
        anonymous, registered = clients(cat)
        assert sorted(sources_of(registered.ok("/api/v1/search", {"q": "纳木错"}))) == [["dc:namco"], ["tpdc:namco"]]
        before = cat.index.count()

        servers["sdb"].repo.records.append(StaticRecord("oai:sdb:namco", "2024-01-05", lake("namco", LAKE_DOI, 2020)))
        cat.harvester.harvest(["sdb"])
        body = registered.ok("/api/v1/search", {"q": "纳木错", "facets": "year,source"})
        assert sources_of(body) == [["dc:namco", "sdb:namco", "tpdc:namco"]]
        assert body["hits"][0]["group"] == f"doi:{LAKE_DOI}"
        assert {b["value"]: b["count"] for b in body["facets"]["year"]} == {"2019": 1, "2020": 1, "2021": 1}
        assert registered.ok("/api/v1/search", {"q": "纳木错", "year": "2019"})["total"] == 1
        # the registry's domestic record is hidden from the public: not a source, not a year
        body = anonymous.ok("/api/v1/search", {"q": "纳木错", "facets": "year"})
        assert sources_of(body) == [["sdb:namco", "tpdc:namco"]]
        assert {b["value"]: b["count"] for b in body["facets"]["year"]} == {"2019": 1, "2020": 1}
        assert anonymous.ok("/api/v1/search", {"q": "纳木错", "year": "2021"})["total"] == 0
        assert [o["id"] for o in registered.ok("/api/v1/records/tpdc:namco")["same_dataset"]] == ["dc:namco",
                                                                                                 "sdb:namco"]
        assert cat.index.count() == before - 1  # two groups became one, and the aggregator's record joined it
        assert cat.store.indexing.pending() == []

        servers["sdb"].repo.records[-1] = StaticRecord("oai:sdb:namco", "2024-02-01", {}, deleted=True)
        cat.harvester.harvest(["sdb"], full=True)
        assert sorted(sources_of(registered.ok("/api/v1/search", {"q": "纳木错"}))) == [["dc:namco"], ["tpdc:namco"]]
        assert cat.index.count() == before
        assert cat.harvester.feeder.rebuild() == 3
        assert sorted(sources_of(registered.ok("/api/v1/search", {"q": "纳木错"}))) == [["dc:namco"], ["tpdc:namco"]]
    finally:
        for server in servers.values():
            server.stop()
