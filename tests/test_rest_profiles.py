"""Every shipped center profile harvests a loopback mock of its API end to end into the index.

The mocks (:mod:`fedcat.harvester.demo.rest_apis`) reproduce each API's paths, parameters, envelope
and field names and cap the page size below what the profiles ask for; ``server.mutate`` injects a
failing envelope or a bad record into one page.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from fedcat.harvester.demo.rest_apis import (
    GeodataApi,
    NbsdcApi,
    NmdcApi,
    NodaApi,
    ScienceDBApi,
    demo_api,
)
from fedcat.harvester.demo.rest_server import RestRequest
from fedcat.harvester.store import RunStatus

from .conftest import search_ids
from .rest_helpers import api_of, error_rows, rest_source

#: profile -> (listing path, page parameter, records path, id field, envelope field or None)
SHAPES: dict[str, tuple[str, str, tuple[str, ...], str, str | None]] = {
    "sciencedb": (ScienceDBApi.HARVEST, "page", ("data", "recommendData"), "doi", "code"),
    "nbsdc": (NbsdcApi.PATH, "pageNum", ("list", "dataList"), "cstr", "code"),
    "nmdc": (NmdcApi.PATH, "pageNum", ("data", "records"), "datasetId", "code"),
    "geodata": (GeodataApi.PATH, "page", ("op_read", "data"), "id", None),
    "noda": (NodaApi.SEARCH, "pageNum", ("responseBody", "list"), "id", "code"),
}
PROFILES = sorted(SHAPES)


def page_of(name: str, request: RestRequest) -> int | None:
    path, param, *_ = SHAPES[name]
    if request.path != path:
        return None
    value = request.body.get(param) if isinstance(request.body, dict) else request.params.get(param)
    return int(value) if value is not None else None


def records_in(name: str, body: Any) -> list[Any]:
    node = body
    for key in SHAPES[name][2]:
        node = node[key]
    assert isinstance(node, list)
    return node


def expected_ids(name: str, server: Any) -> set[str]:
    api = api_of(server)
    id_field = SHAPES[name][3]
    listing = api.listing
    out = set()
    for r in api.live():
        row = listing(r) if name in ("sciencedb", "noda") else listing(r, server.base_url)
        out.add(f"{name}:{row[id_field]}")
    return out


@pytest.mark.parametrize("name", PROFILES)
def test_profile_harvests_its_mock_to_the_last_page(name: str, rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(demo_api(name))
    cat = catalog_factory([rest_source(server, name)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    api = api_of(server)
    live = api.live()
    pages = math.ceil(len(live) / api.center.page_size)
    assert run.pages == pages
    listing_pages = [p for p in (page_of(name, r) for r in server.requests) if p is not None]
    assert listing_pages == list(range(1, pages + 1)), "one request per page, to the last page and no further"
    assert run.counts["added"] == len(live)
    assert search_ids(cat) == expected_ids(name, server)
    for rec in cat.store.records.iter_records(name):
        assert rec.title and rec.title_en, rec.id
        assert rec.identifiers.doi and rec.identifiers.doi.startswith(api.center.doi_prefix)
        assert rec.identifiers.cstr and rec.identifiers.cstr.startswith("CSTR:")
        assert rec.year and rec.published and rec.creators and rec.subjects
        assert rec.provenance and rec.provenance.metadata_prefix == f"json:{name}"
        raw = cat.store.records.raw(rec.id)
        assert raw is not None and raw.format == f"json:{name}" and raw.body.startswith(b"{")
    server.requests.clear()
    second = cat.harvester.harvest()[0]
    assert second.counts.get("added", 0) == 0 and second.counts.get("updated", 0) == 0
    if name == "sciencedb":  # incremental: start_time is the newest datestamp minus a day
        newest = max(r.datestamp for r in live)
        assert server.requests[0].params["start_time"] == (newest.date() - timedelta(days=1)).isoformat()
        assert 1 <= second.counts["unchanged"] < len(live)
    else:  # no date filter: a full listing whose unchanged records are skipped
        assert second.counts["unchanged"] == len(live)


def test_sciencedb_detail_adds_english_title_licence_and_access_statements(
        rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(demo_api("sciencedb"))
    cat = catalog_factory([rest_source(server, "sciencedb")])
    cat.harvester.harvest()
    demo = next(r for r in api_of(server).live() if r.license_url and r.access_statement == "有条件共享")
    rec = cat.store.records.get(f"sciencedb:{demo.doi}")
    assert rec is not None
    assert rec.title == demo.title_zh and rec.title_en == demo.title_en
    assert rec.licence.url == demo.license_url and rec.licence.normalised
    assert rec.identifiers.cstr == demo.cstr
    assert rec.landing_page == demo.absolute_landing_url(server.base_url)
    stated = {(st.field, st.value) for st in rec.statements}
    assert {("conditionsOfAccess", "有条件共享"), ("isAccessibleForFree", "false")} <= stated
    assert rec.access.openness.value == "conditional"
    assert {e.field for e in rec.access.evidence if e.tag == "openness"} >= {"conditionsOfAccess"}
    assert "<p>" not in (rec.descriptions[0].value), "HTML is stripped from descriptions"
    details = [r for r in server.requests if r.path == ScienceDBApi.DETAIL]
    assert len(details) == len(api_of(server).live())


def test_noda_posts_json_and_keeps_copyright_terms_verbatim(rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(demo_api("noda"))
    cat = catalog_factory([rest_source(server, "noda")])
    cat.harvester.harvest()
    listing = [r for r in server.requests if r.path == NodaApi.SEARCH]
    assert all(r.method == "POST" and isinstance(r.body["pageNum"], int) for r in listing)
    domestic = next(r for r in api_of(server).live() if r.access_statement == "离线申请")
    rec = cat.store.records.get(f"noda:{domestic.local_id}")
    assert rec is not None
    stated = {(st.field, st.value, st.maps_to) for st in rec.statements}
    assert ("copyRight.redistributeArea", "仅限国内分发", "geo_scope:domestic") in stated
    assert ("copyRight.dataSharingMod", "离线申请", "openness:conditional") in stated
    assert (rec.access.geo_scope.value, rec.access.openness.value) == ("domestic", "conditional")
    assert rec.identifiers.cstr == domestic.cstr


def test_geodata_security_label_is_a_statement(rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(demo_api("geodata"))
    cat = catalog_factory([rest_source(server, "geodata")])
    cat.harvester.harvest()
    rec = next(iter(cat.store.records.iter_records("geodata")))
    assert ("密级", "一般") in {(st.field, st.value) for st in rec.statements}
    assert rec.access.security.value == "general"


@pytest.mark.parametrize("name", PROFILES)
def test_failing_envelope_fails_the_run_and_the_next_run_resumes(
        name: str, rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(demo_api(name))
    envelope = SHAPES[name][4]
    failing = {"on": True}

    def mutate(request: RestRequest, body: Any) -> Any:
        if failing["on"] and page_of(name, request) == 2:
            if envelope is None:
                return {"error": "系统繁忙，请稍后再试"}
            return {envelope: 50000, "message": "系统繁忙，请稍后再试", "msg": "系统繁忙，请稍后再试"}
        return body

    server.mutate = mutate
    cat = catalog_factory([rest_source(server, name)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and (("系统繁忙" in run.message and "50000" in run.message) if envelope
                            else "op_read.data" in run.message), run.message
    assert run.errors[-1].url and run.errors[-1].url.startswith(server.url)
    page_size = api_of(server).center.page_size
    assert run.counts["added"] == page_size, "the first page is kept"
    failing["on"] = False
    server.requests.clear()
    (again,) = cat.harvester.harvest()
    assert again.status is RunStatus.SUCCEEDED, again.message
    assert [p for p in (page_of(name, r) for r in server.requests) if p is not None][0] == 2, \
        "the next run resumes at the failed page"
    assert search_ids(cat) == expected_ids(name, server)


@pytest.mark.parametrize("name", PROFILES)
def test_bad_record_in_a_page_is_isolated(name: str, rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(demo_api(name))
    id_field = SHAPES[name][3]
    victims: list[str] = []

    def mutate(request: RestRequest, body: Any) -> Any:
        if page_of(name, request) == 2:
            rows = records_in(name, body)
            victims.append(str(rows[1][id_field]))
            del rows[1][id_field]
            rows.insert(3, "not a record")
        return body

    server.mutate = mutate
    cat = catalog_factory([rest_source(server, name)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.PARTIAL, run.message
    assert run.counts["errored"] == 2
    live = api_of(server).live()
    assert run.counts["added"] == len(live) - 1
    assert search_ids(cat) == expected_ids(name, server) - {f"{name}:{victims[0]}"}
    rows = error_rows(cat)
    assert len(rows) == 2
    assert all("malformed record" in message for _, message, _, _ in rows)
    assert any(raw and b"not a record" in raw for *_, raw in rows)
    assert all(url and url.startswith(server.url) for _, _, url, _ in rows)
