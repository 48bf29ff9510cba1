"""Standard record formats (content negotiation and ``?format=``), the DataCite and DCAT-AP exports, the
sitemap and robots.txt: every DataCite document validates, every RDF syntax parses back, a hidden record is
404 and a withheld link absent in every format."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import httpx
import pytest
from datacite import schema45
from lxml import etree
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from fedcat.api import sitemap
from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.api.formats.negotiation import API_FORMATS, PAGE_FORMATS, RECORD_FORMATS, negotiate, parse_accept
from fedcat.harvester.config import Audience
from fedcat.harvester.model import (
    Access,
    GeoScope,
    Identifiers,
    LangText,
    Licence,
    Openness,
    Record,
    Security,
)
from fedcat.harvester.store import PageItem, RunReport

from .test_api import check_envelope
from .web_helpers import Client

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DATACITE_NS = "http://datacite.org/schema/kernel-4"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
WITHHELD_HOST = "withheld.example.cn"
BASE = "http://test/"


def rec(local_id: str, *, security: Security = Security.GENERAL, geo: GeoScope = GeoScope.INTERNATIONAL,
        **fields: Any) -> Record:
    values: dict[str, Any] = {
        "titles": [LangText(f"冰川数据 {local_id}", "zh")], "year": 2021, "creators": ["王五"],
        "publisher": "国家冰川冻土沙漠科学数据中心", "landing_page": f"https://data.example.cn/ds/{local_id}",
        "identifiers": Identifiers(doi=f"10.12072/lab.{local_id}"), "datestamp": "2024-01-02T03:04:05Z",
    }
    values.update(fields)
    return Record(id=f"lab:{local_id}", source_id="lab", local_id=local_id,
                  access=Access(openness=Openness.OPEN, geo_scope=geo, security=security), **values)


RECORDS = [
    rec("both", titles=[LangText("祁连山冰川物质平衡数据集", "zh"), LangText("Qilian glacier mass balance", "en")],
        descriptions=[LangText("祁连山冰川的观测。", "zh"), LangText("Observations of glaciers.", "en")],
        creators=["张三", "Li Si"], year=2022, published="2022-03-01", subjects=["冰川", "glaciology"],
        identifiers=Identifiers(doi="10.12072/ncdc.glacier.2022", cstr="CSTR:31253.11.glacier"),
        licence=Licence(normalised="CC-BY-4.0", url="https://creativecommons.org/licenses/by/4.0/"),
        access_url="https://data.example.cn/download/both", language="zh", version="V2",
        datestamp="2024-05-06T07:08:09Z", formats=["NetCDF"]),
    rec("sens", security=Security.SENSITIVE, landing_page=f"https://{WITHHELD_HOST}/landing",
        access_url=f"https://{WITHHELD_HOST}/download",
        identifiers=Identifiers(doi="10.12072/lab.sens", urls=[f"https://{WITHHELD_HOST}/other"])),
    rec("imp", security=Security.IMPORTANT),
    rec("dom", geo=GeoScope.DOMESTIC),
    rec("evil", titles=[LangText("恶意\x01链接 <b>&", "zh")], landing_page="javascript:alert(1)//data.example.cn/x",
        access_url="JaVaScRiPt:alert(3)", licence=Licence(raw="CC-BY", url="javascript:alert(2)//creativecommons.org"),
        creators=["O'Brien & <Co>"], descriptions=[LangText("line one\nTY  - JOUR\nER  - ", "en")]),
    rec("nodoi", identifiers=Identifiers(cstr="CSTR:31253.11.nodoi"), creators=[], year=None, landing_page=None,
        publisher=None, center_zh="示例中心", titles=[LangText("Untagged title", None)]),
    *(rec(f"p{i}") for i in range(4)),
]
PUBLIC = {r.id for r in RECORDS
          if r.access.security is Security.GENERAL and r.access.geo_scope is not GeoScope.DOMESTIC}
HIDDEN = ("lab:sens", "lab:imp", "lab:dom", "lab:missing")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from fedcat.harvester.config import config_from_dict

    config = config_from_dict({"data_dir": str(tmp_path_factory.mktemp("formats") / "data"), "sources": []})
    catalog = Catalog.open(config)
    catalog.harvester.clock = lambda: date(2026, 1, 1)
    run = catalog.store.runs.start_run(RunReport(source_id="lab", full=True))
    catalog.store.store_page(run, [PageItem(r, None) for r in RECORDS], checkpoint=None)
    catalog.harvester.feeder.catch_up()
    keys = {aud: catalog.store.keys.create(aud.value, aud)[1]
            for aud in (Audience.PUBLIC_DOMESTIC, Audience.REGISTERED, Audience.OFFICER)}
    try:
        yield catalog, Client(create_app(catalog)), keys
    finally:
        catalog.close()


@pytest.fixture(scope="module")
def client(world: Any) -> Client:
    return world[1]


def get(client: Client, path: str, params: Any = None, accept: str | None = None, key: str | None = None,
        ) -> httpx.Response:
    headers = {"Accept": accept} if accept is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return client.get(path, params=params, headers=headers)


def fetch(client: Client, record_id: str, fmt: str, key: str | None = None, page: bool = False) -> httpx.Response:
    resp = get(client, f"/record/{record_id}" if page else f"/api/v1/records/{record_id}", {"format": fmt}, key=key)
    assert resp.status_code == 200, resp.text
    assert "Accept" in resp.headers["vary"]
    return resp


# -- each format of a record ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [f.name for f in RECORD_FORMATS])
def test_every_format_by_name_and_by_accept_on_the_api_and_the_page(client: Client, fmt: str) -> None:
    spec = next(f for f in RECORD_FORMATS if f.name == fmt)
    by_name = fetch(client, "lab:both", fmt)
    assert by_name.headers["content-type"] == spec.content_type
    accept = spec.media_type + (f'; profile="{spec.profile}"' if spec.profile else "")
    for path in ("/api/v1/records/lab:both", "/record/lab:both"):
        by_accept = get(client, path, accept=accept)
        assert by_accept.status_code == 200 and by_accept.headers["vary"] == "Accept"
        assert by_accept.content == by_name.content, (path, accept)


@pytest.mark.parametrize("record_id", sorted(PUBLIC))
def test_every_datacite_document_validates(client: Client, record_id: str) -> None:
    data = fetch(client, record_id, "datacite-json").json()
    assert schema45.validate(data), list(schema45.validator.iter_errors(data))
    root = etree.fromstring(fetch(client, record_id, "datacite-xml").content)
    assert root.tag == f"{{{DATACITE_NS}}}resource"
    ns = {"d": DATACITE_NS}
    for path in ("d:creators/d:creator/d:creatorName", "d:titles/d:title", "d:publisher", "d:publicationYear"):
        assert root.xpath(f"{path}/text()", namespaces=ns), path
    assert root.xpath("d:resourceType/@resourceTypeGeneral", namespaces=ns) == ["Dataset"]
    assert re.fullmatch(r"\d{4}", root.xpath("string(d:publicationYear)", namespaces=ns))
    record = next(r for r in RECORDS if r.id == record_id)
    expected_doi = [record.identifiers.doi] if record.identifiers.doi else []
    assert root.xpath("d:identifier[@identifierType='DOI']/text()", namespaces=ns) == expected_doi
    assert record_id in root.xpath("d:alternateIdentifiers/d:alternateIdentifier/text()", namespaces=ns)


def test_a_record_with_chinese_and_english_titles_keeps_both(client: Client) -> None:
    root = etree.fromstring(fetch(client, "lab:both", "datacite-xml").content)
    titles = {t.get(XML_LANG): t.text for t in root.iter(f"{{{DATACITE_NS}}}title")}
    assert titles == {"zh": "祁连山冰川物质平衡数据集", "en": "Qilian glacier mass balance"}
    langs = {d.get(XML_LANG) for d in root.iter(f"{{{DATACITE_NS}}}description")}
    assert langs == {"zh", "en"}
    for fmt, syntax in (("dcat-turtle", "turtle"), ("dcat-rdfxml", "xml"), ("dcat-jsonld", "json-ld")):
        graph = Graph().parse(data=fetch(client, "lab:both", fmt).text, format=syntax)
        titles_rdf = set(graph.objects(None, DCTERMS.title))
        assert titles_rdf == {Literal("祁连山冰川物质平衡数据集", lang="zh"),
                              Literal("Qilian glacier mass balance", lang="en")}, fmt
    jsonld = fetch(client, "lab:both", "dcat-jsonld").json()
    assert {"@language": "en", "@value": "Qilian glacier mass balance"} in _values(jsonld)
    ris = fetch(client, "lab:both", "ris").text
    assert "TI  - 祁连山冰川物质平衡数据集" in ris and "TT  - Qilian glacier mass balance" in ris
    schema_org = fetch(client, "lab:both", "schemaorg").json()
    assert schema_org["name"] == "祁连山冰川物质平衡数据集"
    assert schema_org["alternateName"] == "Qilian glacier mass balance"


def _values(node: Any) -> list[Any]:
    """Every dict and value nested in a JSON document."""
    if isinstance(node, dict):
        return [node, *(v for x in node.values() for v in _values(x))]
    if isinstance(node, list):
        return [v for x in node for v in _values(x)]
    return [node]


@pytest.mark.parametrize(("fmt", "syntax"), [("dcat-turtle", "turtle"), ("dcat-rdfxml", "xml"),
                                             ("dcat-jsonld", "json-ld")])
def test_dcat_parses_back_in_every_syntax(client: Client, fmt: str, syntax: str) -> None:
    graph = Graph().parse(data=fetch(client, "lab:both", fmt).text, format=syntax)
    ds = URIRef(BASE + "record/lab:both")
    assert (ds, RDF.type, DCAT.Dataset) in graph
    assert graph.value(ds, DCTERMS.identifier) == Literal("https://doi.org/10.12072/ncdc.glacier.2022")
    assert graph.value(ds, DCAT.landingPage) == URIRef("https://data.example.cn/ds/both")
    dist = graph.value(ds, DCAT.distribution)
    assert graph.value(dist, DCAT.accessURL) == URIRef("https://data.example.cn/download/both")
    assert graph.value(dist, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert str(graph.value(ds, DCTERMS.accessRights)).endswith("/access-right/PUBLIC")
    assert {str(k) for k in graph.objects(ds, DCAT.keyword)} == {"冰川", "glaciology"}
    nodoi = Graph().parse(data=fetch(client, "lab:nodoi", fmt).text, format=syntax)
    node = URIRef(BASE + "record/lab:nodoi")
    assert (node, RDF.type, DCAT.Dataset) in nodoi and nodoi.value(node, DCTERMS.title) is not None
    assert nodoi.value(node, DCTERMS.identifier) == Literal("CSTR:31253.11.nodoi")
    assert nodoi.value(node, DCAT.landingPage) is None


def test_citation_formats_round_trip_title_year_and_doi(client: Client) -> None:
    title, year, doi = "祁连山冰川物质平衡数据集", "2022", "10.12072/ncdc.glacier.2022"
    ris = dict(line.split("  - ", 1) for line in fetch(client, "lab:both", "ris").text.splitlines()
               if "  - " in line and not line.startswith(("AU", "KW", "TT")))
    assert (ris["TY"], ris["TI"], ris["PY"], ris["DO"]) == ("DATA", title, year, doi)
    assert fetch(client, "lab:both", "ris").text.rstrip().endswith("ER  -")
    bib = fetch(client, "lab:both", "bibtex").text
    assert re.search(r"title = \{(.*)\}", bib).group(1) == title  # type: ignore[union-attr]
    assert re.search(r"year = \{(.*)\}", bib).group(1) == year  # type: ignore[union-attr]
    assert re.search(r"doi = \{(.*)\}", bib).group(1) == doi  # type: ignore[union-attr]
    [item] = fetch(client, "lab:both", "csl-json").json()
    assert (item["type"], item["title"], item["issued"], item["DOI"]) == ("dataset", title, {"date-parts": [[2022]]},
                                                                          doi)
    assert [a["literal"] for a in item["author"]] == ["张三", "Li Si"]
    gbt = fetch(client, "lab:both", "gbt7714").text
    assert gbt.startswith("张三, Li Si. 祁连山冰川物质平衡数据集[DS/OL]. V2. 国家冰川冻土沙漠科学数据中心, 2022. ")
    assert f"https://doi.org/{doi}" in gbt


def test_a_line_break_in_harvested_text_cannot_start_a_ris_tag(client: Client) -> None:
    ris = fetch(client, "lab:evil", "ris").text
    assert [line[:2] for line in ris.splitlines()].count("TY") == 1
    assert [line[:2] for line in ris.splitlines()].count("ER") == 1


# -- visibility --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("record_id", HIDDEN)
def test_a_record_the_caller_may_not_see_is_404_in_every_format(client: Client, record_id: str) -> None:
    for spec in API_FORMATS:
        check_envelope(get(client, f"/api/v1/records/{record_id}", {"format": spec.name}), 404, "not_found", None)
        check_envelope(get(client, f"/api/v1/records/{record_id}", accept=spec.media_type), 404, "not_found", None)
    for spec in PAGE_FORMATS:
        assert get(client, f"/record/{record_id}", {"format": spec.name}).status_code == 404
        assert get(client, f"/record/{record_id}", accept=spec.media_type).status_code == 404


def test_only_the_officer_sees_an_important_record_in_the_formats(world: Any) -> None:
    _, client, keys = world
    assert fetch(client, "lab:imp", "datacite-json", key=keys[Audience.OFFICER]).json()["doi"] == "10.12072/lab.imp"
    for aud in (Audience.PUBLIC_DOMESTIC, Audience.REGISTERED):
        assert get(client, "/api/v1/records/lab:imp", {"format": "ris"}, key=keys[aud]).status_code == 404


def test_withheld_links_are_absent_from_every_format(world: Any) -> None:
    _, client, keys = world
    domestic = keys[Audience.PUBLIC_DOMESTIC]  # sees sensitive records, without their access links
    for page, offered in ((False, API_FORMATS), (True, PAGE_FORMATS)):
        for spec in offered:
            body = fetch(client, "lab:sens", spec.name, key=domestic, page=page).text
            assert WITHHELD_HOST not in body, (spec.name, page)
            assert "10.12072/lab.sens" in body, spec.name  # the DOI is no access link: it stays
    registered = fetch(client, "lab:sens", "datacite-json", key=keys[Audience.REGISTERED]).json()
    assert registered["url"] == f"https://{WITHHELD_HOST}/landing"


def test_javascript_urls_never_appear_in_any_format(client: Client) -> None:
    for spec in RECORD_FORMATS:
        for page in (False, True):
            body = fetch(client, "lab:evil", spec.name, page=page).text
            assert "javascript" not in body.lower(), spec.name
    html = fetch(client, "lab:evil", "html", page=True).text  # the page may show the text, never link it
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript""", html, re.I)
    data = fetch(client, "lab:evil", "datacite-json").json()
    assert schema45.validate(data)
    assert "url" not in data
    assert data["titles"][0]["title"] == "恶意链接 <b>&"  # the control character cannot go into XML: dropped
    root = etree.fromstring(fetch(client, "lab:evil", "datacite-xml").content)
    assert root.xpath("string(//*[local-name()='creatorName'])") == "O'Brien & <Co>"
    Graph().parse(data=fetch(client, "lab:evil", "dcat-rdfxml").text, format="xml")


# -- negotiation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "api", "page"), [
    (None, "application/json", "text/html"),
    ("*/*", "application/json", "text/html"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json", "text/html"),
    ("application/json", "application/json", "application/json"),
    ("text/turtle", "text/turtle", "text/turtle"),
    ("text/turtle;q=0.5, application/rdf+xml", "application/rdf+xml", "application/rdf+xml"),
    ("application/x-bibtex;q=0.9, text/turtle;q=0.1, */*;q=0.01", "application/x-bibtex", "application/x-bibtex"),
    ("application/ld+json", "application/ld+json", "application/ld+json"),
    ('application/ld+json; profile="http://schema.org/"', 'application/ld+json; profile="https://schema.org"',
     'application/ld+json; profile="https://schema.org"'),
    ("text/*", "text/turtle", "text/html"),
    ("image/png, application/vnd.datacite.datacite+xml;q=0.2", "application/vnd.datacite.datacite+xml",
     "application/vnd.datacite.datacite+xml"),
])
def test_accept_negotiation_honours_quality_values(client: Client, accept: str | None, api: str, page: str) -> None:
    got_api = get(client, "/api/v1/records/lab:both", accept=accept)
    got_page = get(client, "/record/lab:both", accept=accept)
    assert got_api.status_code == got_page.status_code == 200
    assert got_api.headers["content-type"].removesuffix("; charset=utf-8") == api
    assert got_page.headers["content-type"].removesuffix("; charset=utf-8") == page
    assert got_api.headers["vary"] == "Accept" and "Accept" in got_page.headers["vary"]


def test_ld_json_without_a_profile_is_dcat_and_with_the_schema_org_profile_is_schema_org(client: Client) -> None:
    dcat_doc = get(client, "/api/v1/records/lab:both", accept="application/ld+json").text
    assert "http://www.w3.org/ns/dcat#Dataset" in dcat_doc or "dcat:Dataset" in dcat_doc
    schema_doc = get(client, "/api/v1/records/lab:both", accept='application/ld+json;profile="https://schema.org"')
    assert schema_doc.json()["@context"] == "https://schema.org"


def test_format_parameter_wins_over_accept(client: Client) -> None:
    resp = get(client, "/api/v1/records/lab:both", {"format": "ris"}, accept="text/turtle")
    assert resp.headers["content-type"].startswith("application/x-research-info-systems")


def test_unknown_format_is_400_and_unmatched_accept_is_406_in_the_envelope(client: Client) -> None:
    err = check_envelope(get(client, "/api/v1/records/lab:both", {"format": "docx"}), 400, "bad_parameter", "format")
    assert "datacite-xml" in err["message"]
    check_envelope(get(client, "/api/v1/records/lab:sens", {"format": "docx"}), 400, "bad_parameter", "format")
    check_envelope(get(client, "/api/v1/records/lab:both", accept="image/png"), 406, "not_acceptable", None)
    check_envelope(get(client, "/api/v1/records/lab:both", accept="text/turtle;q=0, application/json;q=0"),
                   406, "not_acceptable", None)
    assert get(client, "/record/lab:both", {"format": "docx"}).status_code == 400
    assert get(client, "/record/lab:both", accept="image/png").status_code == 406


def test_negotiate_without_a_request() -> None:
    assert negotiate("text/turtle;q=0.2, application/x-bibtex;q=0.2", None, API_FORMATS).name == "dcat-turtle"
    assert negotiate("garbage", None, API_FORMATS).name == "json"
    assert negotiate("text/turtle;q=abc, application/x-bibtex", None, API_FORMATS).name == "bibtex"
    assert negotiate(None, "DataCite", API_FORMATS).name == "datacite-xml"
    assert [r.q for r in parse_accept("a/b;q=2, c/d;q=-1")] == [1.0, 0.0]


# -- whole-catalog outputs -------------------------------------------------------------------------------


def public_search_ids(client: Client) -> set[str]:
    body = get(client, "/api/v1/search", {"size": 100, "facets": "none"}).json()
    assert body["next_cursor"] is None
    return {h["id"] for h in body["hits"]}


def test_datacite_export_carries_only_public_records(world: Any) -> None:
    _, client, keys = world
    assert public_search_ids(client) == PUBLIC
    for key in (None, keys[Audience.REGISTERED]):  # a key does not widen what goes out for republishing
        resp = get(client, "/api/v1/export", {"format": "datacite"}, key=key)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
        docs = [json.loads(line) for line in resp.text.splitlines()]
        assert all(schema45.validate(d) for d in docs)
        ids = {a["alternateIdentifier"] for d in docs for a in d["alternateIdentifiers"]
               if a["alternateIdentifierType"] == "fedcat"}
        assert ids == PUBLIC and len(docs) == len(PUBLIC)
        assert "javascript" not in resp.text.lower() and WITHHELD_HOST not in resp.text


def test_dcat_export_is_one_turtle_document_of_the_public_records(world: Any, monkeypatch: pytest.MonkeyPatch,
                                                                  ) -> None:
    _, client, keys = world
    from fedcat.api.formats import dcat

    original = dcat.turtle_stream
    monkeypatch.setattr(dcat, "turtle_stream", lambda records, base: original(records, base, chunk=3))
    resp = get(client, "/api/v1/export", {"format": "dcat"}, key=keys[Audience.OFFICER])
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=resp.text, format="turtle")
    datasets = {str(s) for s in graph.subjects(RDF.type, DCAT.Dataset)}
    assert datasets == {f"{BASE}record/{i}" for i in PUBLIC}
    assert all(graph.value(URIRef(d), DCTERMS.title) is not None for d in datasets)
    filtered = get(client, "/api/v1/export", {"format": "dcat", "q": "祁连山"})
    assert {str(s) for s in Graph().parse(data=filtered.text, format="turtle").subjects(RDF.type, DCAT.Dataset)} \
        == {f"{BASE}record/lab:both"}


SITEMAP = {"s": sitemap.SITEMAP_NS}


def test_sitemap_lists_exactly_the_public_records_in_pages(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sitemap, "PAGE_SIZE", 3)
    index = etree.fromstring(get(client, "/sitemap.xml").content)
    locs = index.xpath("s:sitemap/s:loc/text()", namespaces=SITEMAP)
    pages = -(-len(PUBLIC) // 3)
    assert locs == [f"http://test/sitemap-{n}.xml" for n in range(1, pages + 1)]
    listed: list[str] = []
    lastmods: dict[str, str] = {}
    for loc in locs:
        resp = get(client, loc.removeprefix("http://test"))
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/xml")
        urls = etree.fromstring(resp.content).xpath("s:url", namespaces=SITEMAP)
        assert 1 <= len(urls) <= 3
        for url in urls:
            loc_text = url.xpath("string(s:loc)", namespaces=SITEMAP)
            listed.append(loc_text)
            lastmods[loc_text] = url.xpath("string(s:lastmod)", namespaces=SITEMAP)
    assert sorted(listed) == sorted(f"http://test/record/{i}" for i in public_search_ids(client))
    assert lastmods["http://test/record/lab:both"] == "2024-05-06T07:08:09Z"
    assert get(client, f"/sitemap-{pages + 1}.xml").status_code == 404
    assert get(client, "/sitemap-0.xml").status_code == 404


def test_the_sitemap_lists_a_source_bigger_than_the_search_window_whole(client: Client,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A national center holds far more records than a search's cursors reach (10,000): the sitemap must
    not stop there. Here the window is cut to 2 records (and a search page to 1); every public record is
    still listed."""
    from fedcat.index import embedded_search

    assert len(PUBLIC) > 2
    monkeypatch.setattr(embedded_search, "MAX_RESULT_WINDOW", 2)
    monkeypatch.setattr(sitemap, "MAX_PAGE_SIZE", 1, raising=False)  # what a walk of search pages would ask
    urls = etree.fromstring(get(client, "/sitemap-1.xml").content).xpath("s:url/s:loc/text()", namespaces=SITEMAP)
    assert sorted(urls) == sorted(f"http://test/record/{i}" for i in PUBLIC)


def test_the_sitemaps_are_counted_once_and_again_when_the_store_changes(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """At a million records a walk of every record's access tags takes seconds: where each sitemap starts is
    counted once and kept, for the index and every page, until the store changes (a record gone, hidden or
    added moves its source's change counter); then it is counted again."""
    from fedcat.harvester.config import config_from_dict
    from fedcat.harvester.store.records import Records

    walks: list[str] = []
    real = Records.visible_ids

    def counted(self: Records, allows: Any, batch: int = 5000, after: str = "") -> Any:
        if not after:
            walks.append(after)
        return real(self, allows, batch, after)

    monkeypatch.setattr(Records, "visible_ids", counted)
    monkeypatch.setattr(sitemap, "PAGE_SIZE", 2)
    catalog = Catalog.open(config_from_dict({"data_dir": str(tmp_path / "data"), "sources": []}))
    try:
        public = [r for r in RECORDS if r.id in PUBLIC]
        run = catalog.store.runs.start_run(RunReport(source_id="lab", full=True))
        catalog.store.store_page(run, [PageItem(r, None) for r in public], checkpoint=None)
        client = Client(create_app(catalog))

        def listed() -> list[str]:
            index = etree.fromstring(get(client, "/sitemap.xml").content)
            out = []
            for loc in index.xpath("s:sitemap/s:loc/text()", namespaces=SITEMAP):
                page = etree.fromstring(get(client, loc.removeprefix("http://test")).content)
                out += [u.removeprefix("http://test/record/") for u in page.xpath("s:url/s:loc/text()",
                                                                                  namespaces=SITEMAP)]
            return out

        assert listed() == sorted(PUBLIC) and len(walks) == 2  # one counting walk, one for page 1
        walks.clear()
        assert listed() == sorted(PUBLIC) and len(walks) == 1  # page 1 only: the starts were kept
        catalog.store.records.tombstone([sorted(PUBLIC)[0]])
        walks.clear()
        assert listed() == sorted(PUBLIC)[1:] and len(walks) == 2
    finally:
        catalog.close()


def test_robots_txt_lets_crawlers_reach_record_pages_and_points_at_the_sitemap(client: Client) -> None:
    resp = get(client, "/robots.txt")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    lines = resp.text.splitlines()
    assert lines[0] == "User-agent: *"
    assert "Allow: /record/" in lines and "Sitemap: http://test/sitemap.xml" in lines
    for path in ("/api/", "/key", "/review"):
        assert f"Disallow: {path}" in lines


def test_where_the_public_sees_a_record_without_its_links_so_do_the_exports_and_the_sitemap(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from fedcat.harvester.config import config_from_dict

    config = config_from_dict({"data_dir": str(tmp_path_factory.mktemp("domestic") / "data"), "sources": [],
                               "api": {"anonymous_audience": "public_domestic"}})
    catalog = Catalog.open(config)
    try:
        run = catalog.store.runs.start_run(RunReport(source_id="lab", full=True))
        catalog.store.store_page(run, [PageItem(r, None) for r in RECORDS], checkpoint=None)
        catalog.harvester.feeder.catch_up()
        client = Client(create_app(catalog))
        public = PUBLIC | {"lab:sens", "lab:dom"}
        for fmt in ("datacite", "dcat"):
            body = get(client, "/api/v1/export", {"format": fmt}).text
            assert WITHHELD_HOST not in body and "10.12072/lab.sens" in body and "lab.imp" not in body, fmt
        urls = etree.fromstring(get(client, "/sitemap-1.xml").content).xpath("s:url/s:loc/text()", namespaces=SITEMAP)
        assert sorted(urls) == sorted(f"http://test/record/{i}" for i in public)
    finally:
        catalog.close()
