"""Tests for the demo federation: corpus, OAI-PMH server and fault injection."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from lxml import etree
from sickle import Sickle, oaiexceptions

from fedcat.harvester.demo import DemoFederation
from fedcat.harvester.demo.corpus import DemoRecord, demo_centers, generate_records
from fedcat.harvester.demo.oai_server import FaultAction, FaultContext, OAIRepository, OAIServer

NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dcite": "http://schema.datacite.org/oai/oai-1.1/",
    "k4": "http://datacite.org/schema/kernel-4",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TIMEOUT = 5


@pytest.fixture(scope="module")
def fed() -> Iterator[DemoFederation]:
    with DemoFederation() as federation:
        yield federation


@pytest.fixture()
def small_server() -> Iterator[OAIServer]:
    """A private server (its records/fault hook may be changed freely)."""
    center = demo_centers()[0]
    with OAIServer(OAIRepository(center, generate_records(center))) as server:
        yield server


def oai_get(url: str, **params: str) -> etree._Element:
    resp = requests.get(url, params=params, timeout=TIMEOUT)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    return etree.fromstring(resp.content)


def error_code(root: etree._Element) -> str | None:
    err = root.find("oai:error", NS)
    return None if err is None else err.get("code")


def harvest_raw(url: str, verb: str = "ListRecords", **params: str) -> list[etree._Element]:
    """Follow resumption tokens with plain requests; return all headers."""
    headers: list[etree._Element] = []
    args = {"verb": verb, **params}
    cursors: list[int] = []
    while True:
        root = oai_get(url, **args)
        assert error_code(root) is None, etree.tostring(root)
        headers.extend(root.iterfind(".//oai:header", NS))
        token = root.find(f"oai:{verb}/oai:resumptionToken", NS)
        if token is None:
            break
        cursors.append(int(token.get("cursor", "-1")))
        if not token.text:
            break
        args = {"verb": verb, "resumptionToken": token.text}
    assert cursors == sorted(cursors) and (not cursors or cursors[0] == 0)
    return headers


def dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --------------------------------------------------------------------------
# corpus
# --------------------------------------------------------------------------


def test_corpus_deterministic_and_bilingual() -> None:
    centers = demo_centers()
    assert 4 <= len(centers) <= 5
    total = 0
    words: dict[str, str] = {}
    for center in centers:
        records = generate_records(center, seed=7)
        assert records == generate_records(center, seed=7)
        assert records != generate_records(center, seed=8)
        assert len(records) == center.n_records >= 3 * center.page_size
        assert len({r.identifier for r in records}) == len(records)
        assert 1 <= sum(r.deleted for r in records) <= max(1, round(0.05 * len(records)))
        assert all(2019 <= r.datestamp.year <= 2025 and r.datestamp.tzinfo is not None for r in records)
        assert all(r.identifier == f"oai:{center.id}:{r.local_id}" for r in records)
        assert all(r.cstr.startswith(f"CSTR:{center.cstr_registrant}.11.") for r in records)
        assert all(r.doi.startswith(center.doi_prefix + "/") for r in records)
        total += len(records)
        words[center.id] = " ".join(
            " ".join([r.title_zh, r.title_en, *r.subjects, r.description_zh, r.description_en]) for r in records
        )
    assert 500 <= total <= 700
    assert "冰川" in words["ncdc"] and "glacier" in words["ncdc"] and "冻土" in words["ncdc"]
    assert "基因组" in words["ngdc"] and "genome" in words["ngdc"]
    assert "气象" in words["meteo"]
    assert "海洋" in words["marine"] and "ocean" in words["marine"]
    assert "高能物理" in words["hep"]
    assert "冰川" not in words["ngdc"] + words["hep"]
    day = [c for c in centers if c.granularity == "YYYY-MM-DD"]
    assert day and all(c.metadata_formats == ("oai_dc",) for c in day)


# --------------------------------------------------------------------------
# protocol
# --------------------------------------------------------------------------


def test_identify(fed: DemoFederation) -> None:
    for center in fed.centers:
        server = fed.servers[center.id]
        root = oai_get(server.url, verb="Identify")
        ident = root.find("oai:Identify", NS)
        assert ident is not None
        assert ident.findtext("oai:repositoryName", namespaces=NS) == center.name_zh
        assert ident.findtext("oai:baseURL", namespaces=NS) == server.url
        assert ident.findtext("oai:protocolVersion", namespaces=NS) == "2.0"
        assert ident.findtext("oai:deletedRecord", namespaces=NS) == "persistent"
        assert ident.findtext("oai:granularity", namespaces=NS) == center.granularity
        assert root.findtext("oai:request", namespaces=NS) == server.url
    sickle_ident = Sickle(fed.servers["ngdc"].url).Identify()
    assert sickle_ident.repositoryName == "国家基因组科学数据中心"
    assert sickle_ident.granularity == "YYYY-MM-DDThh:mm:ssZ"


def test_list_records_all_pages_raw(fed: DemoFederation) -> None:
    for center in fed.centers:
        records = generate_records(center)
        headers = harvest_raw(fed.servers[center.id].url, metadataPrefix="oai_dc")
        ids = [h.findtext("oai:identifier", namespaces=NS) for h in headers]
        assert len(ids) == len(records) == len(set(ids))
        assert set(ids) == {r.identifier for r in records}
        deleted = {h.findtext("oai:identifier", namespaces=NS) for h in headers if h.get("status") == "deleted"}
        assert deleted == {r.identifier for r in records if r.deleted}


def test_list_records_sickle(fed: DemoFederation) -> None:
    url = fed.servers["ncdc"].url
    records = list(Sickle(url).ListRecords(metadataPrefix="oai_datacite", ignore_deleted=False))
    generated = generate_records(fed.centers[0])
    assert len(records) == len(generated)
    by_id = {r.header.identifier: r for r in records}
    for rec in generated:
        assert by_id[rec.identifier].deleted == rec.deleted
    live = next(r for r in records if not r.deleted)
    assert live.xml.find(".//k4:identifier[@identifierType='DOI']", NS) is not None

    # day-granularity repository, ListIdentifiers, oai_dc only
    meteo = fed.servers["meteo"].url
    assert len(list(Sickle(meteo).ListIdentifiers(metadataPrefix="oai_dc"))) == 120
    formats = [f.metadataPrefix for f in Sickle(meteo).ListMetadataFormats()]
    assert formats == ["oai_dc"]


def test_last_page_has_empty_token_with_attributes(fed: DemoFederation) -> None:
    url = fed.servers["hep"].url
    args = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}
    tokens = []
    while True:
        root = oai_get(url, **args)
        token = root.find("oai:ListIdentifiers/oai:resumptionToken", NS)
        assert token is not None
        tokens.append(token)
        if not token.text:
            break
        args = {"verb": "ListIdentifiers", "resumptionToken": token.text}
    assert len(tokens) == 4  # 90 records, page size 25
    assert [t.get("cursor") for t in tokens] == ["0", "25", "50", "75"]
    assert {t.get("completeListSize") for t in tokens} == {"90"}


def test_from_until_inclusive(fed: DemoFederation) -> None:
    center = fed.centers[0]
    records = generate_records(center)
    lo, hi = records[40].datestamp, records[80].datestamp
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    headers = harvest_raw(
        fed.servers[center.id].url, "ListIdentifiers", metadataPrefix="oai_dc", **{"from": lo.strftime(fmt)},
        until=hi.strftime(fmt),
    )
    got = [h.findtext("oai:identifier", namespaces=NS) for h in headers]
    assert got == [r.identifier for r in records if lo <= r.datestamp <= hi]
    assert got[0] == records[40].identifier and got[-1] == records[80].identifier
    for h in headers:
        assert lo <= dt(h.findtext("oai:datestamp", namespaces=NS) or "") <= hi

    # day granularity: dates only, inclusive whole days
    meteo = fed.centers[2]
    mrec = generate_records(meteo)
    d0, d1 = mrec[10].datestamp.date(), mrec[30].datestamp.date()
    recs = list(
        Sickle(fed.servers["meteo"].url).ListIdentifiers(
            metadataPrefix="oai_dc", **{"from": d0.isoformat(), "until": d1.isoformat()}
        )
    )
    assert {h.identifier for h in recs} == {r.identifier for r in mrec if d0 <= r.datestamp.date() <= d1}
    assert all(len(h.datestamp) == 10 for h in recs)


def test_set_filtering(fed: DemoFederation) -> None:
    center = fed.centers[1]
    sets = {s.setSpec for s in Sickle(fed.servers[center.id].url).ListSets()}
    assert sets == set(center.disciplines)
    expected = {r.identifier for r in generate_records(center) if "genome" in r.sets}
    headers = harvest_raw(fed.servers[center.id].url, "ListIdentifiers", metadataPrefix="oai_dc", set="genome")
    assert {h.findtext("oai:identifier", namespaces=NS) for h in headers} == expected
    assert all("genome" in [s.text for s in h.iterfind("oai:setSpec", NS)] for h in headers)


def test_argument_errors(fed: DemoFederation) -> None:
    ncdc = fed.servers["ncdc"].url
    meteo = fed.servers["meteo"].url
    assert error_code(oai_get(ncdc, verb="Frobnicate")) == "badVerb"
    assert error_code(oai_get(ncdc)) == "badVerb"
    assert error_code(oai_get(ncdc, verb="Identify", foo="bar")) == "badArgument"
    assert error_code(oai_get(ncdc, verb="ListRecords")) == "badArgument"
    assert error_code(oai_get(ncdc, verb="ListRecords", metadataPrefix="oai_dc", **{"from": "2020-13-01"})) == (
        "badArgument"
    )
    mixed = {"from": "2020-01-01", "until": "2021-01-01T00:00:00Z"}
    assert error_code(oai_get(ncdc, verb="ListRecords", metadataPrefix="oai_dc", **mixed)) == "badArgument"
    # day-granularity repository rejects a time part
    root = oai_get(meteo, verb="ListRecords", metadataPrefix="oai_dc", **{"from": "2020-01-01T00:00:00Z"})
    assert error_code(root) == "badArgument"
    request = root.find("oai:request", NS)
    assert request is not None and request.get("verb") is None  # no echo on badArgument
    with pytest.raises(oaiexceptions.BadArgument):
        next(iter(Sickle(meteo).ListRecords(metadataPrefix="oai_dc", **{"from": "2020-01-01T00:00:00Z"})))
    # repeated argument (raw query string)
    resp = requests.get(ncdc + "?verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", timeout=TIMEOUT)
    assert error_code(etree.fromstring(resp.content)) == "badArgument"
    # resumptionToken is exclusive
    assert error_code(oai_get(ncdc, verb="ListRecords", metadataPrefix="oai_dc", resumptionToken="x")) == (
        "badArgument"
    )
    assert error_code(oai_get(ncdc, verb="ListRecords", resumptionToken="garbage!!")) == "badResumptionToken"
    with pytest.raises(oaiexceptions.BadResumptionToken):
        next(iter(Sickle(ncdc).ListRecords(resumptionToken="bm90LWEtdG9rZW4")))
    # a token from another repository is rejected
    other = oai_get(fed.servers["ngdc"].url, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = other.findtext("oai:ListIdentifiers/oai:resumptionToken", namespaces=NS)
    assert token and error_code(oai_get(ncdc, verb="ListIdentifiers", resumptionToken=token)) == (
        "badResumptionToken"
    )
    assert error_code(oai_get(meteo, verb="ListRecords", metadataPrefix="oai_datacite")) == (
        "cannotDisseminateFormat"
    )
    empty = {"from": "2010-01-01", "until": "2011-01-01"}
    assert error_code(oai_get(ncdc, verb="ListIdentifiers", metadataPrefix="oai_dc", **empty)) == "noRecordsMatch"
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        next(iter(Sickle(ncdc).ListIdentifiers(metadataPrefix="oai_dc", **empty)))
    assert error_code(oai_get(ncdc, verb="GetRecord", identifier="oai:ncdc:nope", metadataPrefix="oai_dc")) == (
        "idDoesNotExist"
    )


def test_get_record_and_datacite_payload(fed: DemoFederation) -> None:
    center = fed.centers[0]
    server = fed.servers[center.id]
    rec = next(r for r in generate_records(center) if not r.deleted and r.license_name)
    root = oai_get(server.url, verb="GetRecord", identifier=rec.identifier, metadataPrefix="oai_datacite")
    request = root.find("oai:request", NS)
    assert request is not None and request.get("identifier") == rec.identifier
    resource = root.find(".//oai:metadata/dcite:oai_datacite/dcite:payload/k4:resource", NS)
    assert resource is not None
    assert resource.findtext("k4:identifier[@identifierType='DOI']", namespaces=NS) == rec.doi
    titles = {t.get(XML_LANG): t.text for t in resource.iterfind("k4:titles/k4:title", NS)}
    assert titles == {"zh": rec.title_zh, "en": rec.title_en}
    alt = {
        a.get("alternateIdentifierType"): a.text
        for a in resource.iterfind("k4:alternateIdentifiers/k4:alternateIdentifier", NS)
    }
    assert alt == {"CSTR": rec.cstr, "URL": f"{server.base_url}/dataset/{rec.local_id}"}
    rights = resource.find("k4:rightsList/k4:rights[@rightsURI]", NS)
    assert rights is not None and rights.get("rightsURI") == rec.license_url
    assert root.findtext(".//dcite:schemaVersion", namespaces=NS) == "4.4"

    # oai_dc via sickle, POST
    dc = Sickle(server.url, http_method="POST").GetRecord(identifier=rec.identifier, metadataPrefix="oai_dc")
    assert dc.metadata["title"] == [rec.title_zh, rec.title_en]
    assert f"https://doi.org/{rec.doi}" in dc.metadata["identifier"]
    assert rec.cstr in dc.metadata["identifier"]
    assert dc.metadata["type"] == ["Dataset"]

    gone = next(r for r in generate_records(center) if r.deleted)
    g = Sickle(server.url).GetRecord(identifier=gone.identifier, metadataPrefix="oai_dc")
    assert g.deleted and g.header.deleted


def test_landing_pages(fed: DemoFederation) -> None:
    center = fed.centers[3]
    server = fed.servers[center.id]
    records = generate_records(center)
    live = next(r for r in records if not r.deleted)
    gone = next(r for r in records if r.deleted)
    with urllib.request.urlopen(server.base_url + live.landing_url, timeout=TIMEOUT) as resp:
        assert resp.status == 200
        assert live.title_zh in resp.read().decode("utf-8")
    for path in (gone.landing_url, "/dataset/does-not-exist"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.base_url + path, timeout=TIMEOUT)
        assert info.value.code == 404


def test_source_configs(fed: DemoFederation) -> None:
    configs = fed.source_configs()
    assert [c["id"] for c in configs] == [c.id for c in fed.centers]
    meteo = next(c for c in configs if c["id"] == "meteo")
    assert meteo == {
        "id": "meteo",
        "name": "国家气象科学数据中心",
        "name_en": "National Meteorological Science Data Center",
        "protocol": "oaipmh",
        "url": fed.servers["meteo"].url,
        "metadata_prefix": "oai_dc",
        "subject_area": "atmospheric-science",
    }
    assert all(c["metadata_prefix"] == "oai_datacite" for c in configs if c["id"] != "meteo")
    assert all(str(c["url"]).startswith("http://127.0.0.1:") for c in configs)


# --------------------------------------------------------------------------
# mutation and fault injection (private servers)
# --------------------------------------------------------------------------


def test_delete_and_incremental_harvest(small_server: OAIServer) -> None:
    repo = small_server.repository
    target = next(r for r in repo.records() if not r.deleted)
    when = datetime(2025, 12, 1, 12, 0, 0, tzinfo=UTC)
    repo.delete(target.identifier, when)
    fresh: DemoRecord = generate_records(repo.center)[0]
    fresh.identifier, fresh.local_id = "oai:ncdc:glacier.9999", "glacier.9999"
    fresh.datestamp, fresh.deleted = when + timedelta(seconds=1), False
    repo.upsert(fresh)
    headers = list(Sickle(small_server.url).ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2025-12-01"}))
    assert [(h.identifier, h.deleted) for h in headers] == [(target.identifier, True), (fresh.identifier, False)]
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(small_server.base_url + target.landing_url, timeout=TIMEOUT)


def test_deleted_record_policy_no() -> None:
    center = demo_centers()[4]
    records = generate_records(center)
    with OAIServer(OAIRepository(center, records, deleted_record="no")) as server:
        root = oai_get(server.url, verb="Identify")
        assert root.findtext("oai:Identify/oai:deletedRecord", namespaces=NS) == "no"
        ids = [h.identifier for h in Sickle(server.url).ListIdentifiers(metadataPrefix="oai_dc")]
        assert len(ids) == sum(not r.deleted for r in records)


def test_fault_503_with_retry_after(small_server: OAIServer) -> None:
    seen: list[FaultContext] = []

    def hook(ctx: FaultContext) -> FaultAction | None:
        seen.append(ctx)
        if ctx.request_number == 1:
            return FaultAction(status=503, headers={"Retry-After": "0"}, body=b"busy")
        return None

    small_server.fault = hook
    resp = requests.get(small_server.url, params={"verb": "Identify"}, timeout=TIMEOUT)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "0" and resp.content == b"busy"
    assert seen[0].params == {"verb": "Identify"} and seen[0].method == "GET"

    # sickle retries the 503 once and then succeeds
    small_server.fault = lambda ctx: (
        FaultAction(status=503, headers={"Retry-After": "0"}) if ctx.request_number % 2 == 0 else None
    )
    before = small_server.oai_request_count  # next request number is before + 1
    assert (before + 1) % 2 == 0
    ident = Sickle(small_server.url, max_retries=2).Identify()
    assert ident.repositoryName == small_server.repository.center.name_zh
    assert small_server.oai_request_count == before + 2


def test_fault_truncated_body_and_drop(small_server: OAIServer) -> None:
    small_server.fault = lambda ctx: FaultAction(truncate_at=200)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(small_server.url, params={"verb": "ListRecords", "metadataPrefix": "oai_dc"}, timeout=TIMEOUT)
    with pytest.raises(http.client.IncompleteRead):
        urllib.request.urlopen(small_server.url + "?verb=Identify", timeout=TIMEOUT).read()

    small_server.fault = lambda ctx: FaultAction(truncate_at=200, honest_length=True)
    resp = requests.get(small_server.url, params={"verb": "Identify"}, timeout=TIMEOUT)
    assert resp.status_code == 200 and len(resp.content) == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(resp.content)

    small_server.fault = lambda ctx: FaultAction(drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(small_server.url, params={"verb": "Identify"}, timeout=TIMEOUT)

    small_server.fault = None
    assert error_code(oai_get(small_server.url, verb="Identify")) is None


def test_restart_on_same_port(small_server: OAIServer) -> None:
    url = small_server.url
    small_server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, params={"verb": "Identify"}, timeout=TIMEOUT)
    small_server.start()
    assert small_server.url == url
    assert error_code(oai_get(url, verb="Identify")) is None
    query = urllib.parse.urlencode({"verb": "ListSets"})
    with urllib.request.urlopen(f"{url}?{query}", timeout=TIMEOUT) as resp:
        assert b"<setSpec>glacier</setSpec>" in resp.read()
