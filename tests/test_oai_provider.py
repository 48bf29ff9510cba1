"""fedcat as an OAI-PMH 2.0 data provider: the six verbs over the real app and store, every error condition
of the protocol (HTTP 200, the XML error), lists paged by resumption tokens that stay valid while records
change under them, deleted items for datasets that leave the public's sight, and only what the public
sees in any answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from lxml import etree

from fedcat.api.app import create_app
from fedcat.api.audience import Caller
from fedcat.api.catalog import Catalog
from fedcat.api.oai import provider as oai_provider
from fedcat.api.oai import tokens
from fedcat.api.oai.provider import Provider, Repository
from fedcat.api.oai.repository import StorePublished
from fedcat.harvester.config import Audience
from fedcat.harvester.demo import OAIServer
from fedcat.harvester.model import GeoScope, Security

from .conftest import make_config, source_for

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
      "dc": "http://purl.org/dc/elements/1.1/"}


class Oai:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.app = create_app(catalog)

    def call(self, method: str = "GET", **args: str) -> etree._Element:
        return self.raw(list(args.items()), method)

    def raw(self, args: list[tuple[str, str]], method: str = "GET") -> etree._Element:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                if method == "POST":
                    return await client.post("/oai", data=dict(args))
                return await client.get("/oai", params=args)

        resp = asyncio.run(go())
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/xml"), resp.text
        return etree.fromstring(resp.content)

    def error(self, **args: str) -> str:
        root = self.call(**args)
        (err,) = root.findall("o:error", NS)
        code = str(err.get("code"))
        if code in ("badVerb", "badArgument"):  # the protocol: such a request's arguments are not echoed
            assert root.find("o:request", NS).attrib == {}
        return code

    def walk(self, verb: str = "ListIdentifiers", **args: str) -> list[etree._Element]:
        """Every item of a list, following the resumption tokens; checks cursor and size on the way."""
        items: list[etree._Element] = []
        root = self.call(verb=verb, **{"metadataPrefix": "oai_dc", **args})
        while True:
            part = root.find(f"o:{verb}", NS)
            assert part is not None, etree.tostring(root)
            items += part.findall("o:header" if verb == "ListIdentifiers" else "o:record", NS)
            token = part.find("o:resumptionToken", NS)
            if token is None:
                return items
            assert int(token.get("cursor")) <= len(items) <= int(token.get("completeListSize"))
            if not token.text:
                assert len(items) == int(token.get("completeListSize"))
                return items
            root = self.call(verb=verb, resumptionToken=token.text)


@pytest.fixture
def oai(oai_server: OAIServer, catalog_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Oai]:
    monkeypatch.setattr(oai_provider, "PAGE_SIZE", 40)
    cat = catalog_factory([source_for(oai_server, "example", policy={}, subject_area="earth-science")],
                          oai={"admin_emails": ["data@catalog.example.cn"], "identifier_domain": "catalog.example.cn"})
    cat.harvester.harvest()
    yield Oai(cat)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app on a loopback port (uvicorn in a thread), for a harvester to reach over HTTP."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def keys_of(items: list[etree._Element]) -> list[str]:
    return [str(h.findtext("o:identifier", namespaces=NS) or h.findtext("o:header/o:identifier", namespaces=NS))
            for h in items]


def public_members(cat: Catalog) -> dict[str, set[str]]:
    """Dataset key → its records the public sees, from the store's own groups (the oracle)."""
    caller = Caller.anonymous(cat.config.api)
    out: dict[str, set[str]] = {}
    for group in cat.store.indexing.iter_groups():
        seen = {m.id for m in group.members if not m.deleted and caller.visibility.allows_record(m)}
        if seen:
            out[group.key] = seen
    return out


def test_identify_and_formats_and_sets(oai: Oai) -> None:
    root = oai.call(verb="Identify")
    ident = root.find("o:Identify", NS)
    assert ident.findtext("o:baseURL", namespaces=NS) == "http://test/oai"
    assert ident.findtext("o:protocolVersion", namespaces=NS) == "2.0"
    assert ident.findtext("o:adminEmail", namespaces=NS) == "data@catalog.example.cn"
    assert ident.findtext("o:deletedRecord", namespaces=NS) == "persistent"
    assert ident.findtext("o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    earliest = ident.findtext("o:earliestDatestamp", namespaces=NS)
    assert earliest and datetime.strptime(earliest, "%Y-%m-%dT%H:%M:%SZ")
    assert root.find("o:request", NS).get("verb") == "Identify"
    assert oai.call("POST", verb="Identify").find("o:Identify", NS) is not None  # form-encoded POST too

    formats = oai.call(verb="ListMetadataFormats").findall("o:ListMetadataFormats/o:metadataFormat", NS)
    assert "oai_dc" in [f.findtext("o:metadataPrefix", namespaces=NS) for f in formats]

    specs = [s.findtext("o:setSpec", namespaces=NS) for s in oai.call(verb="ListSets").findall("o:ListSets/o:set", NS)]
    assert "center" in specs and "center:example" in specs and "openness" in specs and "area:earth-science" in specs
    assert any(s.startswith("openness:") for s in specs)


def hide(oai: Oai, record_ids: list[str]) -> None:
    """An officer raises these records to ``sensitive`` (the public does not see them)."""
    _, key = oai.catalog.store.keys.create(f"officer-{len(record_ids)}-{record_ids[0]}", Audience.OFFICER)
    client = OfficerApi(oai.app, key)
    for rec_id in record_ids:
        assert client.post(f"/api/v1/records/{rec_id}/overrides",
                           {"tag": "security", "value": "sensitive", "reason": "reviewed"}) in (201, 202)


def test_the_list_is_every_public_dataset_once_with_only_its_public_records(oai: Oai) -> None:
    live = [r for r in oai.catalog.store.records.iter_records() if not r.deleted]
    hide(oai, [r.id for r in live[:3]])
    want = public_members(oai.catalog)
    listed = oai.walk("ListRecords", metadataPrefix="oai_dc")
    assert len({*keys_of(listed)}) == len(listed) > 40  # several pages of 40, every dataset once
    records = [r for r in listed if r.find("o:header", NS).get("status") != "deleted"]
    deleted = [r for r in listed if r.find("o:header", NS).get("status") == "deleted"]
    got = {k.removeprefix("oai:catalog.example.cn:") for k in keys_of(records)}
    assert got == set(want)
    assert len(deleted) == 3 and all(r.find("o:metadata", NS) is None for r in deleted)  # shown, then hidden
    stamps = [r.findtext("o:header/o:datestamp", namespaces=NS) for r in records]
    assert stamps == sorted(stamps)  # the list's order: datestamp, then key
    hidden = [r for r in oai.catalog.store.records.iter_records()
              if not Caller.anonymous(oai.catalog.config.api).visibility.allows_record(r)]
    assert hidden, "the demo center has records the public may not see"
    text = b"".join(etree.tostring(r) for r in records).decode("utf-8")
    for rec in hidden:  # nothing of a hidden record: neither its title nor its landing page
        if not any(rec.id in members for members in want.values()):
            assert rec.title not in text
    dc = records[0].find("o:metadata/oai_dc:dc", NS)
    assert dc is not None and dc.findtext("dc:title", namespaces=NS)
    assert dc.findtext("dc:type", namespaces=NS) == "Dataset"


def test_get_record_and_selective_harvesting(oai: Oai) -> None:
    identifiers = keys_of(oai.walk())
    root = oai.call(verb="GetRecord", identifier=identifiers[0], metadataPrefix="oai_dc")
    assert root.find("o:GetRecord/o:record/o:header/o:identifier", NS).text == identifiers[0]
    assert oai.walk(set="center:example") and len(oai.walk(set="center")) == len(identifiers)
    assert len(oai.walk(set="area:earth-science")) == len(identifiers) and len(oai.walk(set="area")) == len(identifiers)
    assert oai.error(verb="ListIdentifiers", metadataPrefix="oai_dc", set="area:physics") == "noRecordsMatch"
    one = {h.findtext("o:identifier", namespaces=NS) for h in oai.walk(set="openness:open")}
    assert one and one < set(identifiers)
    stamp = oai.walk()[0].findtext("o:datestamp", namespaces=NS)
    assert len(oai.walk(**{"from": stamp[:10], "until": stamp[:10]})) == len(identifiers)  # days include their ends
    assert oai.error(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2999-01-01"}) == "noRecordsMatch"


@pytest.mark.parametrize("args,code", [
    ({}, "badVerb"),
    ({"verb": "Harvest"}, "badVerb"),
    ({"verb": "ListRecords"}, "badArgument"),  # metadataPrefix missing
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "colour": "red"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-13-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-01-01", "until": "2024-02-01T00:00:00Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-02-01", "until": "2024-01-01"}, "badArgument"),
    ({"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": "oai:catalog.example.cn:doi:10.0/none", "metadataPrefix": "oai_dc"},
     "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "oai:elsewhere.cn:x", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "ListMetadataFormats", "identifier": "oai:catalog.example.cn:none"}, "idDoesNotExist"),
    ({"verb": "Identify", "identifier": "x"}, "badArgument"),
])
def test_every_error_condition_is_http_200_with_its_code(oai: Oai, args: dict[str, str], code: str) -> None:
    assert oai.error(**args) == code


def test_repeated_arguments_and_verbs(oai: Oai) -> None:
    for args in ([("verb", "Identify"), ("verb", "Identify")],
                 [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "oai_dc")]):
        (err,) = oai.raw(args).findall("o:error", NS)
        assert err.get("code") in ("badVerb", "badArgument")


def test_tokens_are_signed_expire_and_continue_their_own_verb(oai: Oai) -> None:
    part = oai.call(verb="ListIdentifiers", metadataPrefix="oai_dc").find("o:ListIdentifiers", NS)
    token = part.find("o:resumptionToken", NS)
    assert token.text and token.get("expirationDate") and token.get("cursor") == "0"
    assert oai.error(verb="ListRecords", resumptionToken=token.text) == "badResumptionToken"  # another verb
    forged = token.text[:-2] + ("AA" if not token.text.endswith("AA") else "BB")
    assert oai.error(verb="ListIdentifiers", resumptionToken=forged) == "badResumptionToken"
    cat = oai.catalog
    provider = Provider(Repository("r", "http://test/oai", ("a@b.cn",), "catalog.example.cn",
                                   oai_key(cat)), StorePublished(cat.store, cat.config,
                                                                 Caller.anonymous(cat.config.api)))
    later = datetime.now(UTC) + timedelta(seconds=tokens.TOKEN_LIFETIME + 60)
    expired = etree.fromstring(provider.answer([("verb", "ListIdentifiers"), ("resumptionToken", token.text)], later))
    assert expired.find("o:error", NS).get("code") == "badResumptionToken"


def oai_key(cat: Catalog) -> bytes:
    import hashlib

    return hashlib.sha256(f"oai:{cat.store.store_id}".encode()).digest()


def test_a_list_stays_whole_while_records_change_under_its_token(oai: Oai) -> None:
    first = oai.call(verb="ListIdentifiers", metadataPrefix="oai_dc").find("o:ListIdentifiers", NS)
    seen = keys_of(first.findall("o:header", NS))
    # a dataset of the first page changes: it moves to the end of the list, nothing is skipped
    changed = seen[0].removeprefix("oai:catalog.example.cn:")
    (group,) = oai.catalog.store.indexing.groups([changed])
    lead = group.members[0]
    lead.titles[0].value += " (revised)"
    time.sleep(1.1)  # datestamps are to the second: the change is published a second later at least
    oai.catalog.store.records.retag([lead])  # stored as changed: pending, published again by the catch-up
    oai.catalog.harvester.feeder.catch_up()
    rest: list[str] = []
    token = first.find("o:resumptionToken", NS).text
    while token:
        part = oai.call(verb="ListIdentifiers", resumptionToken=token).find("o:ListIdentifiers", NS)
        rest += keys_of(part.findall("o:header", NS))
        token = part.find("o:resumptionToken", NS).text
    assert set(seen + rest) == {f"oai:catalog.example.cn:{k}" for k in public_members(oai.catalog)}
    assert rest[-1] == seen[0], "the changed dataset is listed again at the end"


def test_a_dataset_that_leaves_the_public_becomes_a_deleted_item_and_one_never_shown_is_never_named(
        oai: Oai) -> None:
    cat = oai.catalog
    before = {k: h for k, h in zip(keys_of(oai.walk()), oai.walk(), strict=True)}
    key = next(iter(before)).removeprefix("oai:catalog.example.cn:")
    members = public_members(cat)[key]
    hide(oai, sorted(members))  # an officer raises the dataset out of the public's sight
    after = {h.findtext("o:identifier", namespaces=NS): h for h in oai.walk()}
    gone = after[f"oai:catalog.example.cn:{key}"]
    assert gone.get("status") == "deleted"
    assert gone.findtext("o:datestamp", namespaces=NS) >= before[f"oai:catalog.example.cn:{key}"].findtext(
        "o:datestamp", namespaces=NS)
    record = oai.call(verb="GetRecord", identifier=f"oai:catalog.example.cn:{key}", metadataPrefix="oai_dc")
    assert record.find("o:GetRecord/o:record/o:metadata", NS) is None
    never = [r for r in cat.store.records.iter_records()
             if r.access.security is not Security.GENERAL or r.access.geo_scope is GeoScope.DOMESTIC]
    named = " ".join(after)
    for rec in never:
        if not any(rec.id in m for m in public_members(cat).values()) and rec.id not in members:
            assert rec.id not in named and (rec.identifiers.doi or "§") not in named


class OfficerApi:
    def __init__(self, app: Any, key: str) -> None:
        self.app, self.key = app, key

    def post(self, path: str, body: dict[str, str]) -> int:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                         headers={"Authorization": f"Bearer {self.key}"}) as client:
                return await client.post(path, json=body)

        return asyncio.run(go()).status_code


def test_fedcat_harvests_its_own_provider_into_a_second_catalog(oai: Oai, tmp_path: Any,
                                                                catalog_factory: Any) -> None:
    """The round trip: a second catalog harvests the first one's /oai (oai_dc) over HTTP and holds exactly
    the datasets the public sees there, with their titles; one the first catalog stops showing is
    deleted from the second at its next harvest."""
    with serving(oai.app) as url:
        hub = {"id": "hub", "name": "联邦目录", "url": f"{url}/oai", "metadata_prefix": "oai_dc"}
        second = Catalog.open(make_config(tmp_path / "second", [hub]))
        try:
            (run,) = second.harvester.harvest()
            assert run.status.value == "succeeded", run.message
            want = public_members(oai.catalog)
            got = {r.local_id: r for r in second.store.records.iter_records() if not r.deleted}
            assert set(got) == set(want)  # the harvester keeps the item's local part: the dataset key
            same_as_published(got, oai.catalog)
            some = next(iter(want))
            (group,) = oai.catalog.store.indexing.groups([some])
            assert got[some].title == group.members[0].title

            hide(oai, sorted(want[some]))  # the first catalog stops showing one dataset
            time.sleep(1.1)  # the next incremental harvest asks from the second it last saw
            second.harvester.harvest()
            assert some not in {r.local_id for r in second.store.records.iter_records() if not r.deleted}
            assert second.store.records.counts("hub")["deleted"] >= 1
        finally:
            second.close()


def test_datacite_and_dcat_ap_formats(oai: Oai) -> None:
    from rdflib import Graph
    from rdflib.namespace import DCAT, DCTERMS, RDF

    prefixes = [f.findtext("o:metadataPrefix", namespaces=NS)
                for f in oai.call(verb="ListMetadataFormats").findall("o:ListMetadataFormats/o:metadataFormat", NS)]
    assert prefixes == ["oai_dc", "oai_datacite", "dcat_ap"]
    identifier = keys_of(oai.walk())[0]
    dc_ns = {"d": "http://schema.datacite.org/oai/oai-1.1/", "k": "http://datacite.org/schema/kernel-4"}
    root = oai.call(verb="GetRecord", identifier=identifier, metadataPrefix="oai_datacite")
    envelope = root.find("o:GetRecord/o:record/o:metadata/d:oai_datacite", {**NS, **dc_ns})
    assert envelope is not None and envelope.findtext("d:schemaVersion", namespaces=dc_ns) == "4.5"
    resource = envelope.find("d:payload/k:resource", dc_ns)
    assert resource is not None and resource.findtext("k:titles/k:title", namespaces=dc_ns)
    key = identifier.removeprefix("oai:catalog.example.cn:")
    assert resource.findtext("k:identifier", namespaces=dc_ns).lower() == key.removeprefix("doi:")

    root = oai.call(verb="GetRecord", identifier=identifier, metadataPrefix="dcat_ap")
    rdf = root.find("o:GetRecord/o:record/o:metadata", NS)[0]
    graph = Graph().parse(data=etree.tostring(rdf), format="xml")
    datasets = list(graph.subjects(RDF.type, DCAT.Dataset))
    assert datasets and all(graph.value(d, DCTERMS.title) for d in datasets)
    assert str(datasets[0]).startswith("http://test/record/")


def same_as_published(got: dict[str, Any], cat: Catalog) -> None:
    """Each harvested copy has its dataset's identifiers, licence and openness (as the vocabulary carries it)."""
    leads = {g.key: g.members[0] for g in cat.store.indexing.iter_groups()}
    for key, copy in got.items():
        lead = leads[key]
        assert (copy.identifiers.doi or "").lower() == (lead.identifiers.doi or "").lower(), key
        assert copy.identifiers.cstr == lead.identifiers.cstr, key
        assert copy.licence.normalised == lead.licence.normalised, key
        assert restricted(copy.access.openness) == restricted(lead.access.openness), key


def restricted(openness: Any) -> str:
    """The openness as the access-rights vocabularies carry it: they have one word for registration and
    application (info:eu-repo/semantics/restrictedAccess), which a harvester reads as conditional."""
    return "restricted" if openness.value in ("registered", "conditional") else openness.value


def test_a_second_catalog_harvests_the_provider_in_oai_datacite(oai: Oai, tmp_path: Any) -> None:
    with serving(oai.app) as url:
        hub = {"id": "hub", "name": "联邦目录", "url": f"{url}/oai"}  # the richest format it offers
        second = Catalog.open(make_config(tmp_path / "second", [hub]))
        try:
            (run,) = second.harvester.harvest()
            assert run.status.value == "succeeded", run.message
            got = {r.local_id: r for r in second.store.records.iter_records() if not r.deleted}
            want = public_members(oai.catalog)
            assert set(got) == set(want)
            some = next(k for k in want if k.startswith("doi:"))
            assert got[some].provenance is not None and got[some].provenance.metadata_prefix == "oai_datacite"
            same_as_published(got, oai.catalog)
        finally:
            second.close()


def test_the_public_catalog_as_a_paged_dcat_catalog(oai: Oai, monkeypatch: pytest.MonkeyPatch) -> None:
    from rdflib import Graph, Namespace, URIRef
    from rdflib.namespace import DCAT, RDF

    from fedcat.api import dcat_catalog

    hydra = Namespace("http://www.w3.org/ns/hydra/core#")
    monkeypatch.setattr(dcat_catalog, "PAGE_SIZE", 60)
    hide(oai, [r.id for r in oai.catalog.store.records.iter_records() if not r.deleted][:2])
    want = {m for members in public_members(oai.catalog).values() for m in members}

    async def get(path: str, **params: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=oai.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, params=params or None)  # a path's own query stays

    seen: set[str] = set()
    url: str | None = "http://test/api/v1/catalog"
    pages = 0
    while url and pages < 20:
        resp = asyncio.run(get(url.removeprefix("http://test")))
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/turtle")
        graph = Graph().parse(data=resp.text, format="turtle")
        catalog = URIRef("http://test/api/v1/catalog")
        assert (catalog, RDF.type, DCAT.Catalog) in graph
        seen |= {str(d).rsplit("/record/", 1)[1] for d in graph.objects(catalog, DCAT.dataset)}
        view = graph.value(catalog, hydra.view)
        following = graph.value(view, hydra.next)
        url = str(following) if following else None
        pages += 1
    assert pages >= 2 and seen == want  # every public record once, none of the hidden ones
    for fmt, syntax in (("rdfxml", "xml"), ("jsonld", "json-ld")):
        resp = asyncio.run(get("/api/v1/catalog", format=fmt, page="2"))
        assert Graph().parse(data=resp.text, format=syntax).value(URIRef("http://test/api/v1/catalog"), RDF.type)
    resp = asyncio.run(get("/api/v1/catalog", format="n3"))
    assert resp.status_code == 400 and resp.json()["error"]["parameter"] == "format"
