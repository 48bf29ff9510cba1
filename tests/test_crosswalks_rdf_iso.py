"""DCAT (RDF/XML, Turtle, JSON-LD) and ISO 19139 crosswalks: unit mapping, safety, and harvests end to end."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fedcat.harvester.config import SourceConfig, config_from_dict
from fedcat.harvester.crosswalks import crosswalk_for
from fedcat.harvester.demo.rest_server import RestReply, RestRequest, RestServer
from fedcat.harvester.errors import CrosswalkError
from fedcat.harvester.model import GeoScope, Openness, Record, Security, Statement
from fedcat.harvester.sources.base import HarvestedItem
from fedcat.harvester.sources.xml import parse
from fedcat.harvester.store import RunStatus
from fedcat.index.base import SearchQuery

from .conftest import FAST_HTTP, search_ids
from .metadata_samples import DCAT_JSONLD_REMOTE_CONTEXT, DCAT_TURTLE, dcat_rdfxml, iso19139
from .oai_static import StaticOAI, StaticOAIServer, StaticRecord
from .rest_helpers import write_profile


@pytest.fixture
def source(tmp_path: Path) -> SourceConfig:
    cfg = config_from_dict({"data_dir": str(tmp_path), "sources": [
        {"id": "tpdc", "name": "国家青藏高原科学数据中心", "url": "http://127.0.0.1:9/oai"}]})
    return cfg.sources[0]


def from_xml(fmt: str, xml: str, source: SourceConfig, local_id: str = "r1") -> Record:
    item = HarvestedItem(local_id, "2024-01-01", False, xml.encode(), fmt, element=parse(xml.encode()))
    return crosswalk_for(fmt, source.id)(item, source, None)


def from_raw(fmt: str, body: str, source: SourceConfig, local_id: str = "r1") -> Record:
    item = HarvestedItem(local_id, "2024-01-01", False, body.encode(), fmt)
    return crosswalk_for(fmt, source.id)(item, source, None)


# -- DCAT ---------------------------------------------------------------------------------------


def test_dcat_rdfxml_keeps_both_languages_identifiers_licence_and_statements(source: SourceConfig) -> None:
    rec = from_xml("dcat", dcat_rdfxml(), source)
    assert [(t.value, t.lang) for t in rec.titles] == [
        ("青藏高原冰川编目数据集（2000—2020）", "zh"), ("Glacier inventory of the Tibetan Plateau (2000-2020)", "en")]
    assert rec.title == "青藏高原冰川编目数据集（2000—2020）"
    assert rec.title_en == "Glacier inventory of the Tibetan Plateau (2000-2020)"
    assert {d.lang for d in rec.descriptions} == {"zh", "en"}
    assert rec.subjects == ["冰川", "青藏高原", "glacier inventory", "冰冻圈"]
    assert rec.creators == ["张伟", "Li, Na"]
    assert rec.publisher == "国家青藏高原科学数据中心"
    assert (rec.published, rec.modified, rec.year) == ("2021-03-15", "2023-07-01", 2021)
    assert rec.identifiers.doi == "10.11888/cryos.tpdc.271456"
    assert rec.identifiers.cstr == "CSTR:18406.11.glacier-2021"
    assert rec.licence.normalised == "CC-BY-4.0"
    assert rec.landing_page == "https://data.example.cn/en/data/glacier-2021/"
    assert rec.access_url == "https://data.example.cn/download/glacier-2021.zip"
    assert rec.formats == ["SHP", "application/zip"]
    assert (rec.version, rec.language) == ("2.0", "zh")
    assert rec.statements == [
        Statement("dct:accessRights", "http://publications.europa.eu/resource/authority/access-right/PUBLIC"),
        Statement("dct:rights", "国内国外均可分发"),
        Statement("securityLevel", "一般"),
    ]
    assert rec.access.openness is Openness.UNKNOWN  # crosswalks never tag; the taggers do


def test_dcat_turtle_from_a_stored_payload(source: SourceConfig) -> None:
    rec = from_raw("dcat", DCAT_TURTLE, source)
    assert rec.title == "天山乌鲁木齐河源1号冰川物质平衡观测数据"
    assert rec.title_en == "Mass balance of Urumqi Glacier No. 1, Tianshan"
    assert rec.identifiers.doi == "10.12072/ncdc.glacier.db0012.2022"
    assert rec.identifiers.cstr == "CSTR:11738.11.ncdc.glacier.db0012.2022"
    assert rec.creators == ["李忠勤"]
    assert rec.subjects == ["冰川物质平衡", "天山", "mass balance"]
    assert rec.licence.normalised == "CC-BY-NC-4.0"
    assert rec.access_url == "https://ncdc.example.cn/files/db0012.xlsx"
    assert Statement("dct:accessRights", "有条件共享：需提交数据申请") in rec.statements


class ContextApi:
    """Serves a JSON-LD context and counts every request (there must be none)."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        self.requests.append(request.path)
        return RestReply(200, {"@context": {"title": "http://purl.org/dc/terms/title",
                                            "@vocab": "http://purl.org/dc/terms/"}})


@pytest.fixture
def context_server(rest_serve: Callable[[Any], RestServer]) -> Iterator[tuple[RestServer, ContextApi]]:
    api = ContextApi()
    yield rest_serve(api), api


def test_jsonld_remote_contexts_are_never_fetched(source: SourceConfig,
                                                 context_server: tuple[RestServer, ContextApi]) -> None:
    server, api = context_server
    doc = DCAT_JSONLD_REMOTE_CONTEXT.format(context_url=f"{server.url}/context.jsonld")
    rec = from_raw("dcat", doc, source)
    assert api.requests == []
    assert rec.title == "南海北部温盐深（CTD）剖面数据"
    assert rec.title_en == "CTD profiles of the northern South China Sea"
    assert "a term only the remote context defines" not in [t.value for t in rec.titles]
    assert rec.identifiers.doi == "10.12345/scsio.ctd.2019"
    assert rec.subjects == ["温盐深", "南海"]
    assert rec.statements == [Statement(
        "dct:accessRights", "http://publications.europa.eu/resource/authority/access-right/RESTRICTED")]
    # @import, a nested (scoped) context and a type-scoped context naming the same server: still nothing fetched.
    nested = {"@context": [{"@import": f"{server.url}/import.jsonld", "dcat": "http://www.w3.org/ns/dcat#"}],
              "@graph": [{"@context": f"{server.url}/inner.jsonld", "@id": "https://doi.org/10.12345/x.1",
                          "@type": "dcat:Dataset", "dct:title": {"@value": "嵌套上下文数据", "@language": "zh"},
                          "dct:publisher": {"@context": {"@vocab": f"{server.url}/vocab#"}, "name": "x"}}]}
    rec = from_raw("dcat", json.dumps(nested, ensure_ascii=False), source)
    assert api.requests == []
    assert (rec.title, rec.identifiers.doi) == ("嵌套上下文数据", "10.12345/x.1")


def test_rdfxml_with_a_dtd_or_entities_is_refused(source: SourceConfig) -> None:
    hostile = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&x;</rdf:RDF>')
    with pytest.raises(CrosswalkError, match="DTD or entities"):
        from_raw("dcat", hostile, source)


@pytest.mark.parametrize("body, message", [
    ("@prefix dct: <http://purl.org/dc/terms/> . <a> dct:title ", "turtle"),
    ('{"@context": {"dct": "http://purl.org/dc/terms/"}, "dct:title": "无类型"}', "no dcat:Dataset"),
    ("{not json", "not JSON"),
])
def test_unreadable_dcat_is_a_crosswalk_error(source: SourceConfig, body: str, message: str) -> None:
    with pytest.raises(CrosswalkError, match=message) as exc:
        from_raw("dcat", body, source, local_id="bad1")
    assert (exc.value.source_id, exc.value.local_id) == ("tpdc", "bad1")


def test_dcat_mapping_is_stable_between_runs(source: SourceConfig) -> None:
    hashes = {from_xml("dcat", dcat_rdfxml(), source).compute_hash() for _ in range(3)}
    hashes |= {from_raw("dcat", dcat_rdfxml(), source).compute_hash()}
    assert len(hashes) == 1


# -- ISO 19139 ----------------------------------------------------------------------------------


def test_iso19139_keeps_pt_freetext_languages_constraints_and_classification(source: SourceConfig) -> None:
    rec = from_xml("iso19139", iso19139(), source)
    assert [(t.value, t.lang) for t in rec.titles] == [
        ("黄河流域土地利用数据（2020）", "zh"), ("Land use of the Yellow River basin (2020)", "en")]
    assert [d.lang for d in rec.descriptions] == ["zh", "en"]
    assert rec.subjects == ["土地利用", "黄河流域", "land use", "planningCadastre"]
    assert rec.creators == ["王建", "Chen, Xi"]
    assert rec.publisher == "国家地球系统科学数据中心"
    assert (rec.published, rec.modified, rec.year) == ("2020-12-20", "2022-04-02", 2020)
    assert rec.identifiers.doi == "10.12041/geodata.2020.0412"
    assert rec.identifiers.cstr == "CSTR:11738.11.geodata.2020.0412"
    assert "5e1c0a6f-3f0e-4a8a-9d7e-2b7f1c0d9e11" in rec.identifiers.other
    assert (rec.licence.normalised, rec.licence.url) == ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/")
    assert rec.landing_page.startswith("https://geodata.example.cn/data/datadetails.html")  # type: ignore[union-attr]
    assert rec.access_url == "https://geodata.example.cn/download/5e1c0a6f-3f0e-4a8a-9d7e-2b7f1c0d9e11.tif"
    assert (rec.formats, rec.language) == (["GeoTIFF"], "zh")
    fields = {(s.field, s.value) for s in rec.statements}
    assert {("gmd:accessConstraints", "otherRestrictions"), ("gmd:useConstraints", "license"),
            ("gmd:otherConstraints", "仅限境内使用，不得向境外提供"), ("gmd:useLimitation", "引用时请注明数据来源"),
            ("gmd:classification", "unclassified")} <= fields


def test_iso19139_without_namespaces_or_metadata(source: SourceConfig) -> None:
    bare = ("<MD_Metadata><identificationInfo><MD_DataIdentification><citation><CI_Citation><title>"
            "<CharacterString>无命名空间的元数据</CharacterString></title></CI_Citation></citation>"
            "</MD_DataIdentification></identificationInfo></MD_Metadata>")
    assert from_xml("gmd", bare, source).title == "无命名空间的元数据"
    with pytest.raises(CrosswalkError, match="no gmd:MD_Metadata"):
        from_xml("iso19139", "<other/>", source)


# -- end to end ---------------------------------------------------------------------------------


def oai_source(server: StaticOAIServer, source_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": source_id, "name": "测试中心", "url": server.url, **extra}


@pytest.fixture
def static_oai() -> Iterator[Callable[[StaticOAI], StaticOAIServer]]:
    servers: list[StaticOAIServer] = []

    def start(repo: StaticOAI) -> StaticOAIServer:
        servers.append(StaticOAIServer(repo).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def test_dcat_over_oai_pmh_end_to_end(static_oai: Callable[[StaticOAI], StaticOAIServer],
                                      catalog_factory: Any) -> None:
    records = [
        StaticRecord("oai:tpdc:glacier-2021", "2024-01-02", {"dcat": dcat_rdfxml()}),
        StaticRecord("oai:tpdc:lake-2020", "2024-01-03", {"dcat": dcat_rdfxml(
            "lake-2020", doi="10.11888/Terre.tpdc.300001", title_zh="青藏高原湖泊水位数据",
            title_en="Lake levels of the Tibetan Plateau", rights="仅限境内分发", level="重要")}),
        StaticRecord("oai:tpdc:broken", "2024-01-04", {"dcat": '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
                                                               '22-rdf-syntax-ns#"/>'}),
        StaticRecord("oai:tpdc:gone", "2024-01-05", {}, deleted=True),
    ]
    server = static_oai(StaticOAI(records))
    cat = catalog_factory([oai_source(server, "tpdc", metadata_prefix="dcat")])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.PARTIAL
    assert (run.counts["added"], run.counts["errored"], run.pages) == (2, 1, 2)
    assert "no dcat:Dataset" in run.errors[0].message
    glacier = cat.store.records.get("tpdc:glacier-2021")
    assert glacier is not None and glacier.title_en == "Glacier inventory of the Tibetan Plateau (2000-2020)"
    acc = glacier.access
    assert (acc.openness, acc.geo_scope, acc.security) == (Openness.OPEN, GeoScope.INTERNATIONAL, Security.GENERAL)
    assert {e.rule for e in acc.evidence} >= {"eu-access-right-public", "zh-international",
                                              "security-field-general"}
    lake = cat.store.records.get("tpdc:lake-2020")
    assert lake is not None
    assert (lake.access.geo_scope, lake.access.security) == (GeoScope.DOMESTIC, Security.IMPORTANT)
    raw = cat.store.records.raw("tpdc:glacier-2021")
    assert raw is not None and raw.format == "dcat" and "青藏高原冰川编目数据集".encode() in raw.body
    assert search_ids(cat, '"冰川编目"') == {"tpdc:glacier-2021"}
    assert search_ids(cat, "湖泊水位") == {"tpdc:lake-2020"}
    assert search_ids(cat, "lake levels") == {"tpdc:lake-2020"}
    remapped = cat.harvester.maintenance.remap("tpdc")
    assert remapped.counts["unchanged"] == 2 and not remapped.counts.get("errored")


def test_iso19139_over_oai_pmh_end_to_end(static_oai: Callable[[StaticOAI], StaticOAIServer],
                                          catalog_factory: Any) -> None:
    records = [
        StaticRecord("oai:geodata:a1", "2024-02-01", {"iso19139": iso19139()}),
        StaticRecord("oai:geodata:a2", "2024-02-02", {"iso19139": iso19139(
            "a2", title_zh="某区域高精度地形数据", title_en="High-resolution terrain", doi="10.12041/geodata.x2",
            cstr="11738.11.geodata.x2", access="restricted", other="申请获取", classification="secret")}),
        StaticRecord("oai:geodata:a3", "2024-02-03", {"iso19139": iso19139(
            "a3", title_zh="全球开放气象再分析数据", title_en="Open reanalysis", doi="10.12041/geodata.x3",
            cstr="11738.11.geodata.x3", access="unrestricted", other="国内外均可")}),
    ]
    server = static_oai(StaticOAI(records, page_size=2))
    cat = catalog_factory([oai_source(server, "geodata")])  # no prefix configured: iso19139 is chosen
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    assert any("metadataPrefix=iso19139" in r for r in server.repo.requests)
    assert (run.counts["added"], run.counts["gated"]) == (2, 1)
    a1 = cat.store.records.get("geodata:a1")
    assert a1 is not None and (a1.access.geo_scope, a1.access.security) == (GeoScope.DOMESTIC, Security.GENERAL)
    a3 = cat.store.records.get("geodata:a3")
    assert a3 is not None and (a3.access.openness, a3.access.geo_scope) == (Openness.OPEN, GeoScope.INTERNATIONAL)
    assert (cat.store.records.get("geodata:a2") is None
            and cat.store.records.gated_level("geodata:a2") == ("geodata", "secret"))
    assert search_ids(cat, "土地利用") == {"geodata:a1", "geodata:a3"}
    assert search_ids(cat, "再分析") == {"geodata:a3"}
    assert search_ids(cat, "terrain") == set()
    result = cat.index.search(SearchQuery(text="reanalysis", size=5))
    assert result.hits[0].doc["title_en"] == "Open reanalysis"


def test_a_rest_profile_can_name_the_dcat_crosswalk(rest_serve: Callable[[Any], RestServer], tmp_path: Path,
                                                    catalog_factory: Any) -> None:
    dataset = json.loads(DCAT_JSONLD_REMOTE_CONTEXT.format(context_url="https://w3id.org/dcat/context.jsonld"))
    second = dict(dataset, **{"@id": "https://doi.org/10.12345/scsio.ctd.2020", "dct:identifier": None,
                              "dct:title": {"@value": "南海北部温盐深剖面数据（2020）", "@language": "zh"}})

    class Api:
        def respond(self, request: RestRequest, base_url: str) -> RestReply:
            page = int(request.params.get("page", "1"))
            return RestReply(200, {"@graph": [[dataset], [second], []][min(page, 3) - 1]})

    server = rest_serve(Api())
    # the profile shown in docs/profiles.md
    profile = write_profile(tmp_path, {"name": "dcatcenter", "request": {"path": "/api/datasets.jsonld",
                                                                         "params": {"page": "{page}"}},
                                       "pagination": {"style": "page", "size": 50},
                                       "records": {"path": "@graph", "id": "@id"}, "crosswalk": "dcat"})
    cat = catalog_factory([{"id": "ocean", "name": "海洋中心", "protocol": "rest", "profile": profile,
                            "url": server.url}], http=dict(FAST_HTTP))
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.errors
    assert run.counts["added"] == 2
    rec = cat.store.records.get("ocean:https://data.example.cn/dataset/ocean-ctd-2019")
    assert rec is not None and rec.identifiers.doi == "10.12345/scsio.ctd.2019"
    assert rec.access.openness is Openness.CONDITIONAL  # eu-access-right-restricted
    assert search_ids(cat, "温盐深") == {"ocean:https://data.example.cn/dataset/ocean-ctd-2019",
                                        "ocean:https://doi.org/10.12345/scsio.ctd.2020"}
