"""The HTTP API end to end: a real demo federation harvested into a real store and index,
queried through the real FastAPI app over httpx's in-process ASGI transport."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from lxml import etree

from fedcat.api.app import create_app
from fedcat.api.audience import visibility_for
from fedcat.api.catalog import Catalog
from fedcat.api.demo import demo_config
from fedcat.harvester.config import Audience, config_from_dict
from fedcat.harvester.demo import DemoFederation
from fedcat.harvester.demo.corpus import DemoRecord

HTML_MARKER = "zqxhtml"
HTML_TITLE_EN = f"<em>{HTML_MARKER}</em> & <script>alert(1)</script>"


# -- fixtures ----------------------------------------------------------------------------------


class Api:
    """Synchronous calls to the ASGI app through httpx (no network)."""

    def __init__(self, app: Any, key: str | None = None) -> None:
        self.app = app
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def get(self, path: str, params: Any = None) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=self.headers) as client:
                return await client.get(path, params=params)

        return asyncio.run(go())

    def ok(self, path: str, params: Any = None) -> dict[str, Any]:
        resp = self.get(path, params)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def walk(self, size: int = 100, **params: Any) -> list[dict[str, Any]]:
        """Every hit of a query, following next_cursor."""
        hits: list[dict[str, Any]] = []
        query: dict[str, Any] = dict(params, size=size, facets="none")
        total = None
        for _ in range(1000):
            body = self.ok("/api/v1/search", query)
            total = body["total"] if total is None else total
            assert body["total"] == total, "total changed while paging"
            hits.extend(body["hits"])
            if not body["next_cursor"]:
                break
            query["cursor"] = body["next_cursor"]
        assert len(hits) == total
        return hits


def live(records: list[DemoRecord]) -> list[DemoRecord]:
    return [r for r in records if not r.deleted]


@pytest.fixture(scope="module")
def fed() -> Iterator[DemoFederation]:
    federation = DemoFederation()
    # One ngdc record gets HTML in its English title and an upper-case DOI (before serving).
    repo = federation.repositories["ngdc"]
    victim = live(repo.records())[0]
    repo.upsert(dataclasses.replace(victim, title_en=HTML_TITLE_EN, doi=victim.doi.upper()))
    federation.start()
    try:
        yield federation
    finally:
        federation.stop()


@pytest.fixture(scope="module")
def catalog(fed: DemoFederation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    data = tmp_path_factory.mktemp("api-catalog")
    config = config_from_dict(demo_config(fed, data, "127.0.0.1", 8000))
    cat = Catalog.open(config)
    reports = cat.harvester.harvest()
    assert [r.status.value for r in reports] == ["succeeded"] * len(fed.centers)
    try:
        yield cat
    finally:
        cat.close()


@pytest.fixture(scope="module")
def api(catalog: Catalog) -> Api:
    return Api(create_app(catalog))


def check_envelope(resp: httpx.Response, status: int, code: str, parameter: str | None) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    expected_keys = {"status", "code", "message"} | ({"parameter"} if parameter else set())
    assert set(err) == expected_keys, err
    assert resp.status_code == status
    assert err["status"] == status
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]
    if parameter:
        assert err["parameter"] == parameter
    return dict(err)


# -- the error envelope --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"size": "0"}, "size"),
        ({"size": "101"}, "size"),
        ({"size": "abc"}, "size"),
        ({"q": "冰川", "page_size": "5"}, "page_size"),
        ({"facets": "source,bogus"}, "facets"),
        ({"sort": "sideways"}, "sort"),
        ({"cursor": "zzz-not-a-cursor"}, "cursor"),
        ({"q": "x" * 501}, "q"),
    ],
)
def test_search_errors_have_the_envelope(api: Api, params: dict[str, str], parameter: str) -> None:
    err = check_envelope(api.get("/api/v1/search", params), 400, "bad_parameter", parameter)
    if parameter == "page_size":
        assert "page_size" in err["message"]


def test_a_parameter_given_twice_is_refused_unless_it_is_a_filter(api: Api) -> None:
    err = check_envelope(api.get("/api/v1/search", [("q", "冰川"), ("q", "genome")]), 400, "bad_parameter", "q")
    assert "more than once" in err["message"]
    check_envelope(api.get("/api/v1/export", [("format", "csv"), ("format", "json")]), 400, "bad_parameter",
                   "format")
    check_envelope(api.get("/api/v1/centers", [("format", "csv"), ("format", "csv")]), 400, "bad_parameter",
                   "format")
    both = api.ok("/api/v1/search", [("openness", "open"), ("openness", "registered")])
    assert both["total"] >= api.ok("/api/v1/search", {"openness": "open"})["total"]


def test_bad_year_names_the_year_parameter(api: Api) -> None:
    check_envelope(api.get("/api/v1/search", {"year": "abc"}), 400, "bad_parameter", "year")


def test_bad_year_is_a_400_envelope(api: Api) -> None:
    resp = api.get("/api/v1/search", {"year": "abc"})
    err = check_envelope(resp, 400, "bad_parameter", resp.json()["error"].get("parameter"))
    assert err["parameter"].startswith("year")


def test_cursor_of_another_query_is_refused(api: Api) -> None:
    first = api.ok("/api/v1/search", {"q": "冰川", "size": 5})
    assert first["next_cursor"]
    resp = api.get("/api/v1/search", {"q": "genome", "size": 5, "cursor": first["next_cursor"]})
    check_envelope(resp, 400, "bad_parameter", "cursor")
    # ... and so is a cursor reused with another page size
    resp = api.get("/api/v1/search", {"q": "冰川", "size": 6, "cursor": first["next_cursor"]})
    check_envelope(resp, 400, "bad_parameter", "cursor")


def _forged_cursor(api: Api, offset: int) -> str:
    cursor = api.ok("/api/v1/search", {"q": "冰川", "size": 5})["next_cursor"]
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data["o"] = offset
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_forged_cursor_with_huge_offset_is_a_400(api: Api) -> None:
    resp = api.get("/api/v1/search", {"q": "冰川", "size": 5, "cursor": _forged_cursor(api, 10**20)})
    check_envelope(resp, 400, "bad_parameter", "cursor")


def test_forged_cursor_does_not_crash_the_process(api: Api, catalog: Catalog) -> None:
    cursor = _forged_cursor(api, 10**12)
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        import httpx
        from fedcat.api.app import create_app
        from fedcat.api.catalog import Catalog
        from fedcat.harvester.config import config_from_dict

        config = config_from_dict({"data_dir": sys.argv[1], "sources": []})
        app = create_app(Catalog.open(config))

        async def go():
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                r = await c.get("/api/v1/search", params={"q": "冰川", "size": 5, "cursor": sys.argv[2]})
                print(json.dumps({"status": r.status_code, "body": r.json()}))

        asyncio.run(go())
        """
    )
    proc = subprocess.run([sys.executable, "-c", script, str(catalog.config.data_path), cursor],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"exit status {proc.returncode}: {proc.stderr[:300]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["status"] == 400
    assert out["body"]["error"]["parameter"] == "cursor"


def test_unknown_record_is_404(api: Api) -> None:
    err = check_envelope(api.get("/api/v1/records/ncdc:does-not-exist"), 404, "not_found", None)
    assert "ncdc:does-not-exist" in err["message"]
    check_envelope(api.get("/api/v1/records/ncdc:does-not-exist/raw"), 404, "not_found", None)


def test_unknown_route_is_404(api: Api) -> None:
    check_envelope(api.get("/api/v1/no-such-thing"), 404, "not_found", None)
    check_envelope(api.get("/nowhere/at/all"), 404, "not_found", None)


def test_wrong_method_has_the_envelope(api: Api) -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/api/v1/search")

    check_envelope(asyncio.run(go()), 405, "method_not_allowed", None)


def test_unknown_source_in_harvests_is_400(api: Api) -> None:
    err = check_envelope(api.get("/api/v1/harvests", {"source": "nosuch"}), 400, "bad_parameter", "source")
    assert "nosuch" in err["message"]
    check_envelope(api.get("/api/v1/harvests", {"limit": "0"}), 400, "bad_parameter", "limit")


# -- search ----------------------------------------------------------------------------------------


HIT_FIELDS = ("id", "title", "source_id", "openness", "geo_scope", "security")


@pytest.mark.parametrize(("q", "center"), [("冰川", "ncdc"), ("genome", "ngdc")])
def test_search_hits_have_the_display_fields_and_the_right_center(
    api: Api, fed: DemoFederation, catalog: Catalog, q: str, center: str
) -> None:
    hits = api.walk(q=q)
    assert hits
    for hit in hits:
        for name in HIT_FIELDS:
            assert hit.get(name), (name, hit)
        assert hit["source_id"] == center
        assert hit["id"].startswith(f"{center}:")
    # every live record of the center matches its topic word, and nothing else does, except the
    # records the (international) public may not see: human population genomes are sensitive
    assert catalog.store.records.counts(center)["records"] == len(live(fed.records(center)))
    assert {h["id"] for h in hits} == public_ids(catalog, center)
    if center == "ngdc":
        assert len(hits) < len(live(fed.records(center)))
    assert len({h["id"] for h in hits}) == len(hits)


def test_search_words_rank_records_holding_them_all_first(api: Api) -> None:
    glacier_zh = {h["id"] for h in api.walk(q="冰川")}
    glacier_en = {h["id"] for h in api.walk(q="glacier")}
    genome = {h["id"] for h in api.walk(q="genome")}
    both = [h["id"] for h in api.walk(q="冰川 glacier")]
    assert 0 < len(glacier_en) < len(glacier_zh)
    assert set(both) == glacier_zh | glacier_en  # any word finds a record
    every = glacier_zh & glacier_en
    assert set(both[:len(every)]) == every  # records holding both words come first
    assert {h["id"] for h in api.walk(q="冰川 genome")} == glacier_zh | genome
    assert {h["id"] for h in api.walk(q='冰川 -glacier')} == glacier_zh - glacier_en


def public_ids(catalog: Catalog, center: str) -> set[str]:
    """Ids of the stored records of a center that the international public may see."""
    public = visibility_for(Audience.PUBLIC_INTERNATIONAL)
    return {r.id for r in catalog.store.records.iter_records(center) if public.allows_record(r)}


def test_source_filter_and_union(api: Api, catalog: Catalog) -> None:
    ngdc = api.walk(source="ngdc")
    assert {h["source_id"] for h in ngdc} == {"ngdc"}
    assert {h["id"] for h in ngdc} == public_ids(catalog, "ngdc")
    union = api.walk(source=["ngdc", "hep"])
    assert {h["source_id"] for h in union} == {"ngdc", "hep"}
    assert {h["id"] for h in union} == public_ids(catalog, "ngdc") | public_ids(catalog, "hep")
    # a filter combines with the words: genome is only at ngdc
    assert api.ok("/api/v1/search", {"q": "genome", "source": "hep"})["total"] == 0


def test_year_filter(api: Api) -> None:
    years = api.ok("/api/v1/search", {"size": 1, "facets": "year"})["facets"]["year"]
    assert len(years) >= 2
    (y1, c1), (y2, c2) = [(b["value"], b["count"]) for b in years[:2]]
    hits = api.walk(year=y1)
    assert len(hits) == c1
    assert {h["year"] for h in hits} == {int(y1)}
    both = api.walk(year=[y1, y2])
    assert len(both) == c1 + c2
    assert {h["year"] for h in both} == {int(y1), int(y2)}


@pytest.mark.parametrize("q", ["", "冰川", "genome"])
def test_facet_counts_sum_to_the_total(api: Api, q: str) -> None:
    body = api.ok("/api/v1/search", {"q": q, "size": 1})
    total = body["total"]
    assert total > 0
    for name in ("source", "security", "openness", "geo_scope", "licence"):
        assert sum(b["count"] for b in body["facets"][name]) == total, name
    # the facet counts agree with filtering on the value
    for bucket in body["facets"]["source"]:
        filtered = api.ok("/api/v1/search", {"q": q, "size": 1, "source": bucket["value"]})
        assert filtered["total"] == bucket["count"]


def test_unfiltered_total_is_every_visible_live_record(api: Api, fed: DemoFederation, catalog: Catalog) -> None:
    body = api.ok("/api/v1/search", {"size": 1})
    gated = sum(n for levels in catalog.store.records.gated_counts().values() for n in levels.values())
    assert gated > 0  # the demo's 密级：核心 records: counted, never stored or shown
    assert sum(len(live(fed.records(c.id))) for c in fed.centers) == catalog.store.records.counts()["records"] + gated
    assert body["total"] == sum(len(public_ids(catalog, c.id)) for c in fed.centers)
    by_source = {b["value"]: b["count"] for b in body["facets"]["source"]}
    assert by_source == {c.id: len(public_ids(catalog, c.id)) for c in fed.centers}


def test_facets_none_and_a_selection(api: Api) -> None:
    assert api.ok("/api/v1/search", {"q": "冰川", "facets": "none"})["facets"] == {}
    body = api.ok("/api/v1/search", {"q": "冰川", "facets": "source,year"})
    assert set(body["facets"]) == {"source", "year"}


def test_cursor_paging_walks_every_hit_once(api: Api) -> None:
    pages = 0
    seen: list[str] = []
    query: dict[str, Any] = {"q": "genome", "size": 7, "facets": "none"}
    first_total = None
    while True:
        body = api.ok("/api/v1/search", query)
        pages += 1
        first_total = body["total"] if first_total is None else first_total
        assert len(body["hits"]) <= 7
        seen.extend(h["id"] for h in body["hits"])
        if body["next_cursor"] is None:
            break
        assert len(body["hits"]) == 7
        query["cursor"] = body["next_cursor"]
        assert pages < 100
    assert len(seen) == len(set(seen)) == first_total
    assert pages == -(-first_total // 7)
    assert set(seen) == {h["id"] for h in api.walk(q="genome", size=100)}


def test_highlights_mark_the_query(api: Api) -> None:
    for q, mark in (("冰川", "<mark>冰川</mark>"), ("genome", "<mark>genome</mark>")):
        hits = api.ok("/api/v1/search", {"q": q, "size": 20})["hits"]
        assert hits
        for hit in hits:
            fragments = [f for frags in hit["highlights"].values() for f in frags]
            assert any(mark in f.lower() for f in fragments), hit["highlights"]


def test_html_in_highlights_is_escaped(api: Api) -> None:
    body = api.ok("/api/v1/search", {"q": HTML_MARKER})
    assert body["total"] == 1
    hit = body["hits"][0]
    assert hit["title_en"] == HTML_TITLE_EN  # the stored value is the harvested text
    (title,) = hit["highlights"]["title_en"]
    assert title == ("&lt;em&gt;<mark>zqxhtml</mark>&lt;/em&gt; &amp; "
                     "&lt;script&gt;alert(1)&lt;/script&gt;")
    assert "<script>" not in json.dumps(hit["highlights"])


@pytest.mark.parametrize(("sort", "descending"), [("newest", True), ("oldest", False)])
def test_sort_by_published(api: Api, sort: str, descending: bool) -> None:
    hits = api.walk(sort=sort)
    dates = [h["published"] for h in hits if h["published"]]
    assert len(dates) > 100
    assert dates == sorted(dates, reverse=descending)
    assert dates[0] != dates[-1]
    # also with words
    dates = [h["published"] for h in api.walk(q="冰川", sort=sort) if h["published"]]
    assert dates == sorted(dates, reverse=descending)


# -- records ---------------------------------------------------------------------------------------


def test_record_has_tags_evidence_identifiers_and_citation(api: Api, fed: DemoFederation) -> None:
    demo = live(fed.records("ncdc"))[3]
    rec_id = f"ncdc:{demo.local_id}"
    body = api.ok(f"/api/v1/records/{rec_id}")
    assert body["id"] == rec_id
    assert body["source_id"] == "ncdc"
    assert body["title"] == demo.title_zh
    assert {t["value"] for t in body["titles"]} >= {demo.title_zh, demo.title_en}
    assert body["identifiers"]["doi"] == demo.doi.lower()
    assert body["year"] == demo.year
    evidence = body["access"]["evidence"]
    assert isinstance(evidence, list) and evidence
    assert {e["tag"] for e in evidence} == {"openness", "geo_scope", "security"}
    security = next(e for e in evidence if e["tag"] == "security")
    assert security["value"] == body["access"]["security"] == "general"
    assert security["rule"] == "source-policy"
    assert demo.title_zh in body["citation"]
    assert demo.doi.lower() in body["citation"]
    assert body["raw_url"] == f"/api/v1/records/{rec_id}/raw"


def test_doi_is_lower_cased(api: Api, fed: DemoFederation) -> None:
    demo = next(r for r in fed.records("ngdc") if r.title_en == HTML_TITLE_EN)
    assert demo.doi != demo.doi.lower()
    body = api.ok(f"/api/v1/records/ngdc:{demo.local_id}")
    assert body["identifiers"]["doi"] == demo.doi.lower()
    hit = api.ok("/api/v1/search", {"q": HTML_MARKER})["hits"][0]
    assert hit["doi"] == demo.doi.lower()


def test_raw_endpoint_returns_the_xml_payload(api: Api, fed: DemoFederation) -> None:
    demo = live(fed.records("ncdc"))[3]
    resp = api.get(f"/api/v1/records/ncdc:{demo.local_id}/raw")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(resp.content)
    ns = {"oai": "http://www.openarchives.org/OAI/2.0/"}
    assert root.findtext(".//oai:header/oai:identifier", namespaces=ns) == demo.identifier
    assert demo.title_zh in resp.text


def test_deleted_records_are_404_and_not_searchable(api: Api, fed: DemoFederation, catalog: Catalog) -> None:
    deleted = [r for r in fed.records("ncdc") if r.deleted]
    assert deleted
    ncdc_ids = {h["id"] for h in api.walk(source="ncdc")}
    for demo in deleted:
        rec_id = f"ncdc:{demo.local_id}"
        check_envelope(api.get(f"/api/v1/records/{rec_id}"), 404, "not_found", None)
        check_envelope(api.get(f"/api/v1/records/{rec_id}/raw"), 404, "not_found", None)
        assert rec_id not in ncdc_ids
    assert catalog.store.records.counts("ncdc")["deleted"] == len(deleted)


# -- sources, harvests, openapi -------------------------------------------------------------------


@pytest.fixture(scope="module")
def officer_api(catalog: Catalog) -> Api:
    _, key = catalog.store.keys.create("officer-api", Audience.OFFICER)
    return Api(create_app(catalog), key)


def test_sources_list_counts_matching_the_store(api: Api, officer_api: Api, fed: DemoFederation,
                                                catalog: Catalog) -> None:
    sources = officer_api.ok("/api/v1/sources")["sources"]
    public = {s["id"]: s for s in api.ok("/api/v1/sources")["sources"]}
    assert [s["id"] for s in sources] == [c.id for c in fed.centers]
    for src, center in zip(sources, fed.centers, strict=True):
        counts = catalog.store.records.counts(src["id"])
        n_live = len(live(fed.records(center.id)))
        assert src["records"] == counts["records"]
        assert src["records"] + sum(src["gated"].values()) == n_live
        # the anonymous audience's count is what it can find, never more
        assert public[src["id"]]["records"] == len(api.walk(source=src["id"])) <= src["records"]
        assert "added" not in public[src["id"]]["last_run"]
        assert src["deleted"] == counts["deleted"] == len(fed.records(center.id)) - n_live
        assert src["name"] == center.name_zh
        assert src["url"] == fed.servers[center.id].url
        assert src["last_run"]["status"] == "succeeded"


def test_harvests_list_succeeded_runs_with_counts(api: Api, officer_api: Api, fed: DemoFederation) -> None:
    public = api.ok("/api/v1/harvests")["harvests"]
    # CPU seconds grow with every record mapped, gated ones included: officers' only, like the counts
    assert public and all("added" not in r and "errors" not in r and "cpu_s" not in r and r["counts_withheld"]
                          for r in public)
    runs = officer_api.ok("/api/v1/harvests")["harvests"]
    assert all(set(r["cpu_s"]) == {"map", "store", "index", "metrics"} for r in runs)
    assert [r["id"] for r in runs] == [r["id"] for r in public]
    assert sorted(r["source_id"] for r in runs) == sorted(c.id for c in fed.centers)
    for run in runs:
        assert run["status"] == "succeeded"
        records = fed.records(run["source_id"])
        core = [r for r in live(records) if "密级：核心" in r.extra_rights]
        assert run["gated"] == len(core)
        assert run["added"] == len(live(records)) - len(core)
        assert run["deleted"] == len(records) - len(live(records))
        assert run["errored"] == 0
        assert run["pages"] >= 3
        assert run["finished_at"]
    assert [r["id"] for r in runs] == sorted((r["id"] for r in runs), reverse=True)
    only = api.ok("/api/v1/harvests", {"source": "hep"})["harvests"]
    assert [r["source_id"] for r in only] == ["hep"]


def test_a_search_runs_one_thread_hop_and_answers_compact_json(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The route's checks (unknown parameters, filters) run on the event loop: only the search itself is
    handed to a worker thread, each hand-over costing a context switch. The body is the compact UTF-8
    JSON every route answers, written without FastAPI's walk through ``jsonable_encoder``."""
    import anyio.to_thread

    handed: list[str] = []
    real = anyio.to_thread.run_sync

    async def spy(func: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(repr(func))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", spy)
    resp = api.get("/api/v1/search", params={"q": "冰川", "source": "ncdc"})
    assert resp.status_code == 200 and len(handed) == 1, handed
    body = resp.json()
    assert body["total"] > 0 and resp.headers["content-type"] == "application/json"
    assert resp.content == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def test_openapi_lists_the_search_route(api: Api) -> None:
    spec = api.ok("/api/v1/openapi.json")
    assert "/api/v1/search" in spec["paths"]
    assert "get" in spec["paths"]["/api/v1/search"]
    params = {p["name"] for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {"q", "size", "cursor", "sort", "facets", "source", "year"} <= params


# -- audience ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def domestic(fed: DemoFederation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """marine (general) and hep (domestic) harvested; apps for two audiences over one store and index."""
    data = tmp_path_factory.mktemp("audience-catalog")
    raw = demo_config(fed, data, "127.0.0.1", 8000)
    raw["sources"] = [s for s in raw["sources"] if s["id"] in ("marine", "hep")]
    for s in raw["sources"]:
        if s["id"] == "hep":
            s["policy"] = {"geo_scope": "domestic", "security": "general"}
    raw["api"]["anonymous_audience"] = "public_international"
    cat = Catalog.open(config_from_dict(raw))
    assert [r.status.value for r in cat.harvester.harvest()] == ["succeeded", "succeeded"]
    raw_domestic = dict(raw, api=dict(raw["api"], anonymous_audience="public_domestic"))
    cat_domestic = Catalog(config=config_from_dict(raw_domestic), store=cat.store, index=cat.index,
                           harvester=cat.harvester)
    try:
        yield {"catalog": cat, "intl": Api(create_app(cat)), "dom": Api(create_app(cat_domestic))}
    finally:
        cat.close()


def test_domestic_records_are_invisible_to_the_international_public(
    domestic: dict[str, Any], fed: DemoFederation
) -> None:
    intl: Api = domestic["intl"]
    dom: Api = domestic["dom"]
    cat: Catalog = domestic["catalog"]
    n_marine = cat.store.records.counts("marine")["records"]
    hep = list(cat.store.records.iter_records("hep"))
    assert len(hep) == len(live(fed.records("hep"))) > 0  # harvested and stored
    hep_general = [r for r in hep if r.access.security.value == "general"]
    n_hep = len(hep_general)
    assert 0 < n_hep < len(hep)  # a few hep records are 密级：重要, for officers only

    body = intl.ok("/api/v1/search", {"size": 100})
    assert body["total"] == n_marine
    assert {b["value"]: b["count"] for b in body["facets"]["source"]} == {"marine": n_marine}
    assert "domestic" not in {b["value"] for b in body["facets"]["geo_scope"]}
    assert sum(b["count"] for b in body["facets"]["geo_scope"]) == n_marine
    assert {h["source_id"] for h in body["hits"]} == {"marine"}
    assert intl.ok("/api/v1/search", {"source": "hep"})["total"] == 0
    assert intl.ok("/api/v1/search", {"geo_scope": "domestic"})["total"] == 0

    hep_id = hep_general[0].id
    check_envelope(intl.get(f"/api/v1/records/{hep_id}"), 404, "not_found", None)
    check_envelope(intl.get(f"/api/v1/records/{hep_id}/raw"), 404, "not_found", None)

    # the same store and index, seen by a domestic audience
    body = dom.ok("/api/v1/search", {"size": 1})
    assert body["total"] == n_marine + n_hep
    assert {b["value"]: b["count"] for b in body["facets"]["geo_scope"]}["domestic"] == n_hep
    rec = dom.ok(f"/api/v1/records/{hep_id}")
    assert rec["access"]["geo_scope"] == "domestic"
    assert dom.get(f"/api/v1/records/{hep_id}/raw").status_code == 200


def test_a_query_that_finds_nothing_offers_close_subjects(api: Api) -> None:
    body = api.ok("/api/v1/search", {"q": "glaicer"})
    assert body["total"] == 0 and "glacier" in body["did_you_mean"]
    assert "did_you_mean" not in api.ok("/api/v1/search", {"q": "glacier"})


def test_the_search_box_suggestions(api: Api) -> None:
    body = api.ok("/api/v1/suggest", {"q": "Glac"})
    assert body["q"] == "Glac" and body["suggestions"], body
    first = body["suggestions"][0]
    assert first["kind"] == "subject" and first["text"].lower().startswith("glac") and first["count"] > 0
    assert api.ok("/api/v1/suggest", {"q": "冰川"})["suggestions"][0]["text"].startswith("冰川")
    assert api.ok("/api/v1/suggest", {"q": "冰川", "size": 2})["suggestions"].__len__() <= 2
    assert api.ok("/api/v1/suggest", {"q": ""})["suggestions"] == []
    check_envelope(api.get("/api/v1/suggest", {"q": "x" * 101}), 400, "bad_parameter", "q")
    check_envelope(api.get("/api/v1/suggest", {"q": "x", "size": 0}), 400, "bad_parameter", "size")
