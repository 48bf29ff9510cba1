"""Built-in adapters (CKAN, Dataverse, DataCite REST) against loopback mocks, end to end into the index."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from fedcat.harvester.crosswalks.json_profile import BUILTIN
from fedcat.harvester.demo.rest_portals import CkanApi, DataCiteApi, DataverseApi, portal_api
from fedcat.harvester.demo.rest_server import RestRequest
from fedcat.harvester.model import Statement
from fedcat.harvester.sources.rest.profile import BUILTIN_CROSSWALKS
from fedcat.harvester.store import RunStatus

from .conftest import search_ids
from .rest_helpers import api_of, error_rows

LISTING = {"ckan": CkanApi.PATH, "dataverse": DataverseApi.SEARCH, "datacite": DataCiteApi.PATH}


def builtin_source(server: Any, protocol: str, **extra: Any) -> dict[str, Any]:
    return {"id": protocol, "name": f"{protocol} 门户", "protocol": protocol, "url": server.url, **extra}


def listing_requests(server: Any, protocol: str) -> list[RestRequest]:
    return [r for r in server.requests if r.path == LISTING[protocol]]


def expected_ids(protocol: str, server: Any, **filters: str) -> set[str]:
    api = api_of(server)
    if protocol == "ckan":
        return {f"ckan:0000{r.local_id}" for r in api.live()}
    if protocol == "dataverse":
        return {f"dataverse:doi:{r.doi}" for r in api.live()}
    assert isinstance(api, DataCiteApi)
    rows = [r for r in api.live()] if filters.get("prefix") == api.center.doi_prefix else []
    return {f"datacite:{r.doi}" for r in rows}


def test_builtin_crosswalk_names_agree() -> None:
    assert set(BUILTIN) == set(BUILTIN_CROSSWALKS)


@pytest.mark.parametrize("protocol", ["ckan", "dataverse", "datacite"])
def test_builtin_adapter_harvests_to_the_last_page(protocol: str, rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(portal_api(protocol))
    api = api_of(server)
    query = {"prefix": api.center.doi_prefix} if protocol == "datacite" else {}
    cat = catalog_factory([builtin_source(server, protocol, query=query)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    live = api.live()
    assert search_ids(cat) == expected_ids(protocol, server, **query)
    overlap = 5 if protocol == "ckan" else 0
    step = api.center.page_size - overlap
    assert len(listing_requests(server, protocol)) == run.pages == math.ceil((len(live) - overlap) / step)
    assert run.counts["added"] == len(live) and sum(run.counts.values()) == len(live)
    for rec in cat.store.records.iter_records(protocol):
        assert rec.title and rec.creators and rec.subjects and rec.year, rec.id
        assert rec.identifiers.doi and rec.identifiers.doi.startswith(api.center.doi_prefix)
        assert rec.provenance and rec.provenance.metadata_prefix == f"json:{protocol}"


def test_ckan_sorts_stably_and_filters_incremental_runs(rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(portal_api("ckan"))
    cat = catalog_factory([builtin_source(server, "ckan")])
    cat.harvester.harvest()
    first = listing_requests(server, "ckan")
    assert {r.params["sort"] for r in first} == {"metadata_modified asc, id asc"}
    assert "fq" not in first[0].params
    assert [int(r.params["start"]) for r in first] == [0, 5, 10, 15, 20, 25]
    demo = api_of(server).live()[0]
    rec = cat.store.records.get(f"ckan:0000{demo.local_id}")
    assert rec is not None
    assert rec.title == demo.title_zh and rec.title_en == demo.title_en, "title_translated gives both languages"
    assert rec.identifiers.cstr == demo.cstr and rec.published == demo.issued.isoformat()
    assert rec.landing_page == f"{server.url}/dataset/{demo.local_id.replace('.', '-')}"
    server.requests.clear()
    cat.harvester.harvest()
    fq = listing_requests(server, "ckan")[0].params["fq"]
    newest = max(r.datestamp for r in api_of(server).live())
    assert fq.startswith("metadata_modified:[") and fq.endswith(" TO *]")
    assert datetime.strptime(fq[19:39], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) < newest


def test_ckan_record_modified_during_the_listing_is_not_lost(rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(portal_api("ckan"))
    api = api_of(server)
    moved: list[str] = []

    def mutate(request: RestRequest, body: Any) -> Any:
        if request.params.get("start") == "0" and not moved:  # after page 1: one of its records is edited
            victim = api.live()[2]
            moved.append(victim.local_id)
            api.records = [replace(r, datestamp=datetime.now(UTC)) if r.local_id == victim.local_id else r
                           for r in api.records]
        return body

    server.mutate = mutate
    cat = catalog_factory([builtin_source(server, "ckan")])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    assert search_ids(cat) == expected_ids("ckan", server), "every record was seen although one moved to the end"
    assert run.counts["added"] == len(api.live()), "the moved record listed twice is counted once"


def test_dataverse_export_adds_citation_metadata_and_access_terms(rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(portal_api("dataverse"))
    cat = catalog_factory([builtin_source(server, "dataverse")])
    cat.harvester.harvest()
    demo = next(r for r in api_of(server).live() if r.access_statement == "有条件共享" and r.license_name)
    rec = cat.store.records.get(f"dataverse:doi:{demo.doi}")
    assert rec is not None
    assert {t.value for t in rec.titles} == {demo.title_en, demo.title_zh}
    assert rec.creators == demo.creators and rec.licence.url == demo.license_url
    assert rec.language == "Chinese" if demo.language == "zh" else "English"
    assert Statement("termsOfAccess", "有条件共享") in rec.statements
    assert Statement("fileAccessRequest", "true") in rec.statements
    exports = [r for r in server.requests if r.path == DataverseApi.EXPORT]
    assert {r.params["exporter"] for r in exports} == {"dataverse_json"}


def test_dataverse_missing_export_isolates_its_record(rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(portal_api("dataverse"))
    api = api_of(server)
    victim = api.live()[3]
    original = api.respond

    def respond(request: RestRequest, base_url: str) -> Any:
        if request.params.get("persistentId") == f"doi:{victim.doi}":
            return original(RestRequest(request.method, request.path, {"persistentId": "doi:gone"}), base_url)
        return original(request, base_url)

    api.respond = respond  # type: ignore[method-assign]
    cat = catalog_factory([builtin_source(server, "dataverse")])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.PARTIAL and run.counts["errored"] == 1
    ((local_id, message, _, raw),) = error_rows(cat)
    assert local_id == f"doi:{victim.doi}" and "HTTP 404" in message and "not found" in message
    assert raw and victim.doi.encode() in raw


def test_datacite_filters_by_prefix_follows_links_and_drops_placeholders(rest_serve: Any,
                                                                         catalog_factory: Any) -> None:
    server = rest_serve(portal_api("datacite"))
    api = api_of(server)
    cat = catalog_factory([builtin_source(server, "datacite", query={"prefix": api.center.doi_prefix})])
    cat.harvester.harvest()
    requests = listing_requests(server, "datacite")
    assert requests[0].params["page[cursor]"] == "1" and "query" not in requests[0].params
    assert all(r.params.get("prefix") == api.center.doi_prefix for r in requests), "next links keep the filter"
    records = list(cat.store.records.iter_records("datacite"))
    for rec in records:
        text = repr(rec.to_dict())
        assert ":unav" not in text and ":tba" not in text, rec.id
        assert rec.identifiers.cstr and rec.identifiers.cstr.startswith("CSTR:")
        assert rec.published, "a null issued date falls back to the publication year"
    assert any(r.publisher is None for r in records) and any(r.publisher for r in records)
    assert any(Statement("rightsUri", "info:eu-repo/semantics/openAccess") in r.statements for r in records)
    server.requests.clear()
    cat.harvester.harvest()
    assert listing_requests(server, "datacite")[0].params["query"].startswith("updated:[")


# -- faults, for each built-in adapter ------------------------------------------------------------------------


def _second_page(protocol: str, request: RestRequest) -> bool:
    if request.path != LISTING[protocol]:
        return False
    if protocol == "datacite":
        return request.params.get("page[cursor]", "1") != "1" and not request.params.get("_seen")
    return request.params.get("start") not in (None, "0")


@pytest.mark.parametrize("protocol", ["ckan", "dataverse", "datacite"])
def test_builtin_failing_answer_fails_the_run_with_the_server_message(protocol: str, rest_serve: Any,
                                                                      catalog_factory: Any) -> None:
    server = rest_serve(portal_api(protocol))
    api = api_of(server)
    failures = {"ckan": (409, {"success": False, "error": {"message": "Solr 查询失败", "__type": "Search Error"}}),
                "dataverse": (200, {"status": "ERROR", "message": "Solr 查询失败"}),
                "datacite": (400, {"errors": [{"status": "400", "title": "Solr 查询失败"}]})}
    status, body = failures[protocol]

    def mutate(request: RestRequest, original: Any) -> Any:
        return body if _second_page(protocol, request) else original

    server.mutate = mutate
    if status != 200:
        from fedcat.harvester.demo.oai_server import FaultAction

        server.fault = lambda ctx: FaultAction(status=status) if (
            ctx.path == LISTING[protocol] and (ctx.params.get("start") not in (None, "0")
                                               or ctx.params.get("page[cursor]", "1") != "1")) else None
    query = {"prefix": api.center.doi_prefix} if protocol == "datacite" else {}
    cat = catalog_factory([builtin_source(server, protocol, query=query)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert "Solr 查询失败" in (run.message or ""), run.message
    assert run.counts["added"] >= 1, "the first page is kept"


@pytest.mark.parametrize("protocol", ["ckan", "dataverse", "datacite"])
def test_builtin_bad_record_in_a_page_is_isolated(protocol: str, rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(portal_api(protocol))
    api = api_of(server)
    records_key = {"ckan": ("result", "results"), "dataverse": ("data", "items"), "datacite": ("data",)}[protocol]
    id_key = {"ckan": "id", "dataverse": "global_id", "datacite": "id"}[protocol]
    dropped: list[str] = []

    def mutate(request: RestRequest, body: Any) -> Any:
        if _second_page(protocol, request) and not dropped:
            rows = body
            for key in records_key:
                rows = rows[key]
            dropped.append(rows[0].pop(id_key))
            rows[1] = 42  # the page keeps its length: offsets stay right
        return body

    server.mutate = mutate
    query = {"prefix": api.center.doi_prefix} if protocol == "datacite" else {}
    cat = catalog_factory([builtin_source(server, protocol, query=query)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.PARTIAL, run.message
    assert run.counts["errored"] == 2
    lost = 0 if protocol == "ckan" else 2  # CKAN pages overlap: both were listed intact on page 1
    assert len(search_ids(cat)) == len(expected_ids(protocol, server, **query)) - lost
    assert {m.split(":")[0] for _, m, _, _ in error_rows(cat)} == {"malformed record"}
