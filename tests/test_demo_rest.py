"""``fedcat demo`` with its JSON API centers: harvested with the shipped profiles, searchable, raw JSON served."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.api.demo import run_demo
from fedcat.harvester.config import Config, load_config
from fedcat.harvester.demo.federation import DEMO_REST_APIS, DemoFederation
from fedcat.harvester.store import RunReport, RunStatus
from fedcat.harvester.store.link_results import LinkKind, LinkStatus
from fedcat.index.base import SearchQuery

from .test_api import Api


def test_demo_federation_with_rest_centers_lists_them_as_rest_sources() -> None:
    with DemoFederation(rest=True) as fed:
        configs = fed.source_configs()
        assert fed.server_count == len(fed.centers) + len(DEMO_REST_APIS)
    rest = [c for c in configs if c["protocol"] == "rest"]
    assert [c["profile"] for c in rest] == list(DEMO_REST_APIS)
    assert [c["id"] for c in configs[:len(fed.centers)]] == [c.id for c in fed.centers]


def test_fedcat_demo_harvests_the_json_centers_too(tmp_path: Path) -> None:
    reports: list[RunReport] = []
    out = io.StringIO()

    def harvest(catalog: Catalog, sources: Sequence[str] | None, full: bool) -> list[RunReport]:
        reports.extend(catalog.harvester.harvest(sources, full=full))
        return reports

    def no_serve(config: Config, host: str, port: int) -> None:
        raise AssertionError("not served with serve=False")

    code = run_demo(data_dir=tmp_path / "demo", host="127.0.0.1", port=8000, serve=False,
                    console=Console(file=out, width=200), harvest=harvest, serve_fn=no_serve)
    assert code == 0
    assert {r.source_id: r.status for r in reports if r.source_id in DEMO_REST_APIS} == \
        {name: RunStatus.SUCCEEDED for name in DEMO_REST_APIS}
    assert all(r.status is RunStatus.SUCCEEDED for r in reports), [(r.source_id, r.message) for r in reports]
    assert "with a JSON API only" in out.getvalue() and "sciencedb" in out.getvalue()
    config = load_config(tmp_path / "demo" / "demo.yaml")
    assert {s.id: s.protocol.value for s in config.sources}["noda"] == "rest"
    catalog = Catalog.open(config)
    try:
        for name in DEMO_REST_APIS:
            hits = catalog.index.search(SearchQuery(text="", filters={"source": [name]}, size=5, facets=()))
            assert hits.total > 0, name
        noda_hit = catalog.index.search(SearchQuery(text="", filters={"source": ["noda"]}, size=1, facets=())).hits[0]
        api = Api(create_app(catalog))
        body = api.ok(f"/api/v1/records/{noda_hit.id}")
        assert any(s["field"] == "copyRight.redistributeArea" for s in body["statements"])
        raw = api.get(f"/api/v1/records/{noda_hit.id}/raw")
        assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/json")
        payload: dict[str, Any] = raw.json()
        assert payload["copyRight"]["redistributeArea"] in ("国内国外均可分发", "仅限国内分发")
        # the demo's link check visits its own centers only, NODA's landing pages included
        checked = {s.id: catalog.store.links.for_source(s.id) for s in config.sources}
        urls = [res.url for per_record in checked.values() for res in per_record.values() for res in res.values()]
        assert urls and {urlsplit(u).hostname for u in urls} == {"127.0.0.1"}
        assert checked["noda"] and all(res[LinkKind.LANDING].status is LinkStatus.OK
                                       for res in checked["noda"].values())
        # ScienceDB's HTML descriptions lose their markup, not the text after a bare "<" (相对误差<5%)
        sciencedb = list(catalog.store.records.iter_records("sciencedb"))
        with_lt = [r for r in sciencedb if any("<" in d.value for d in r.descriptions)]
        assert with_lt and all(not re.search(r"</?[a-zA-Z]", d.value) for r in sciencedb for d in r.descriptions)
        for rec in with_lt:
            text = rec.descriptions[0].value
            assert re.search(r"<\d", text) and not text.rstrip().endswith(("<", "误差")), text
            assert len(text) > text.index("<") + 10  # the sentence after "<5%" is there
        # datasets the centers deposited with ScienceDB are one hit with both sources, also those the
        # center knows by its CSTR only (ScienceDB's copy has a DOI and that CSTR)
        hits = catalog.index.search(SearchQuery(text="", filters={"source": ["sciencedb"]}, size=100, facets=()))
        both = [h for h in hits.hits if {s["source_id"] for s in h.doc["sources"]} & {"ncdc", "ngdc"}]
        assert both, "no dataset deposited by a center shows both sources"
        centers = {s["id"]: s for h in both for s in h.doc["sources"] if s["source_id"] != "sciencedb"}
        cstr_only = [i for i in centers if (r := catalog.store.records.get(i)) and not r.identifiers.doi]
        assert cstr_only, "no deposit joined through the CSTR alone"
    finally:
        catalog.close()


def test_fedcat_demo_rebuilds_an_index_left_by_an_older_version(tmp_path: Path) -> None:
    out = io.StringIO()

    def harvest(catalog: Catalog, sources: Sequence[str] | None, full: bool) -> list[RunReport]:
        return catalog.harvester.harvest(sources, full=full)

    def no_serve(config: Config, host: str, port: int) -> None:
        raise AssertionError("not served with serve=False")

    def demo() -> int:
        return run_demo(data_dir=tmp_path / "demo", host="127.0.0.1", port=8000, serve=False,
                        console=Console(file=out, width=200), harvest=harvest, serve_fn=no_serve)

    assert demo() == 0
    config = load_config(tmp_path / "demo" / "demo.yaml")
    catalog = Catalog.open(config)
    indexed = catalog.index.count()
    catalog.close()
    marker = config.data_path / "index" / "fedcat-schema.json"
    marker.write_text('{"version": 1}')  # as an older fedcat left it
    assert demo() == 0
    assert "of an older version: rebuilding it" in out.getvalue()
    catalog = Catalog.open(load_config(tmp_path / "demo" / "demo.yaml"))
    try:
        assert indexed > 0 and catalog.index.count() == indexed  # every dataset back, from the store
    finally:
        catalog.close()
