"""Generic catalogue APIs over the demo corpus: CKAN, Dataverse and the DataCite REST API.

Served by :class:`~.rest_server.RestServer` like the center APIs in :mod:`.rest_apis`; used by
the tests of the built-in adapters.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime
from typing import Any

from .corpus import DemoCenter, DemoRecord, generate_records
from .rest_apis import DemoApi, _int
from .rest_server import RestReply, RestRequest


def portal_center(name: str, n_records: int = 35, page_size: int = 10) -> DemoCenter:
    return DemoCenter(name, f"{name} 演示门户", f"{name} demo portal", "10.12072", "31253",
                      ("glacier", "permafrost"), n_records, page_size)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class CkanApi(DemoApi):
    """``GET /api/3/action/package_search`` with ``rows``/``start``/``sort``/``fq``; 409 with an error body."""

    PATH = "/api/3/action/package_search"

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        if request.path != self.PATH:
            return RestReply(404, {"success": False, "error": {"message": "Not found", "__type": "Not Found Error"}})
        p = request.params
        start, rows = _int(p, "start", 0), _int(p, "rows", 10)
        if start is None or rows is None or start < 0:
            return RestReply(409, {"success": False, "error": {"__type": "Validation Error",
                                                               "message": "start/rows: Invalid integer"}})
        since = None
        fq = p.get("fq", "")
        if fq.startswith("metadata_modified:["):
            since = datetime.strptime(fq[len("metadata_modified:["):].split(" ")[0], "%Y-%m-%dT%H:%M:%SZ")
            since = since.replace(tzinfo=UTC)
        items = self.live(since)
        rows = self.size(rows)
        return RestReply(200, {"help": f"{base_url}/api/3/action/help_show?name=package_search", "success": True,
                               "result": {"count": len(items), "sort": p.get("sort", "score desc"),
                                          "results": [self.package(r) for r in items[start:start + rows]]}})

    @staticmethod
    def package(r: DemoRecord) -> dict[str, Any]:
        return {
            "id": f"0000{r.local_id}", "name": r.local_id.replace(".", "-"), "title": r.title_en,
            "title_translated": {"zh": r.title_zh, "en": r.title_en},
            "notes": r.description_en, "notes_translated": {"zh": r.description_zh, "en": r.description_en},
            "author": r.creators[0], "maintainer": r.creators[-1], "organization": {"title": r.publisher_zh},
            "tags": [{"name": s, "display_name": s} for s in r.subjects], "groups": [],
            "metadata_created": _iso(r.datestamp), "metadata_modified": _iso(r.datestamp),
            "license_id": "cc-by" if r.license_name == "CC BY 4.0" else "notspecified",
            "license_title": r.license_name or "License not specified", "license_url": r.license_url,
            "url": f"https://doi.org/{r.doi}", "version": r.version,
            "extras": [{"key": "issued", "value": r.issued.isoformat()}, {"key": "cstr", "value": r.cstr},
                       {"key": "language", "value": r.language}],
            "resources": [{"format": f, "url": f"https://files.example.invalid/{r.local_id}.{f.lower()}"}
                          for f in r.formats],
        }


class DataverseApi(DemoApi):
    """``GET /api/search`` (``status: OK``) and ``GET /api/datasets/export?exporter=dataverse_json``."""

    SEARCH = "/api/search"
    EXPORT = "/api/datasets/export"

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        p = request.params
        if request.path == self.EXPORT:
            found = self.find(lambda r: f"doi:{r.doi}" == p.get("persistentId"))
            if found is None or p.get("exporter") != "dataverse_json":
                return RestReply(404, {"status": "ERROR", "message": f"Dataset {p.get('persistentId')} not found"})
            return RestReply(200, self.export(found))
        if request.path != self.SEARCH:
            return RestReply(404, {"status": "ERROR", "message": "API endpoint does not exist"})
        start, per_page = _int(p, "start", 0), _int(p, "per_page", 10)
        if start is None or per_page is None or p.get("type") != "dataset":
            return RestReply(400, {"status": "ERROR", "message": "bad start, per_page or type"})
        items = self.live()
        per_page = self.size(per_page)
        chunk = items[start:start + per_page]
        return RestReply(200, {"status": "OK", "data": {
            "q": p.get("q", "*"), "total_count": len(items), "start": start, "count_in_response": len(chunk),
            "items": [self.item(r, base_url) for r in chunk]}})

    @staticmethod
    def item(r: DemoRecord, base_url: str) -> dict[str, Any]:
        return {"name": r.title_en, "type": "dataset", "url": f"https://doi.org/{r.doi}", "global_id": f"doi:{r.doi}",
                "description": r.description_en, "published_at": r.datestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "updatedAt": r.datestamp.strftime("%Y-%m-%dT%H:%M:%SZ"), "publisher": r.publisher_en,
                "authors": r.creators, "keywords": r.subjects[:4]}

    @staticmethod
    def export(r: DemoRecord) -> dict[str, Any]:
        def prim(name: str, value: Any) -> dict[str, Any]:
            return {"typeName": name, "typeClass": "primitive", "multiple": isinstance(value, list), "value": value}

        def comp(name: str, sub: str, vals: list[str]) -> dict[str, Any]:
            return {"typeName": name, "typeClass": "compound", "multiple": True,
                    "value": [{sub: prim(sub, v)} for v in vals]}

        restricted = r.access_statement in ("有条件共享", "离线申请", "info:eu-repo/semantics/restrictedAccess")
        version: dict[str, Any] = {
            "versionNumber": 2 if r.version == "V2" else 1, "versionMinorNumber": 0, "versionState": "RELEASED",
            "lastUpdateTime": r.datestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "fileAccessRequest": restricted,
            "metadataBlocks": {"citation": {"displayName": "Citation Metadata", "fields": [
                prim("title", r.title_en), prim("alternativeTitle", r.title_zh),
                comp("author", "authorName", r.creators),
                comp("dsDescription", "dsDescriptionValue", [r.description_en, r.description_zh]),
                comp("keyword", "keywordValue", r.subjects),
                {"typeName": "subject", "typeClass": "controlledVocabulary", "multiple": True,
                 "value": ["Earth and Environmental Sciences"]},
                {"typeName": "language", "typeClass": "controlledVocabulary", "multiple": True,
                 "value": ["Chinese" if r.language == "zh" else "English"]},
            ]}},
        }
        if restricted:
            version["termsOfAccess"] = r.access_statement
        if r.license_name:
            version["license"] = {"name": r.license_name, "uri": r.license_url}
        return {"id": 1, "identifier": r.doi.split("/", 1)[1], "persistentUrl": f"https://doi.org/{r.doi}",
                "protocol": "doi", "authority": r.doi.split("/", 1)[0], "publisher": r.publisher_en,
                "publicationDate": r.issued.isoformat(), "datasetVersion": version}


class DataCiteApi(DemoApi):
    """``GET /dois`` filtered by ``client-id`` or ``prefix``, cursor pages linked by ``links.next``.

    Records of two clients (the center itself and a ScienceDB-like repository); some carry null
    dates and ``:unav``/``:tba`` placeholders, as real DataCite records do.
    """

    PATH = "/dois"

    def __init__(self, center: DemoCenter, records: list[DemoRecord] | None = None,
                 other: DemoCenter | None = None) -> None:
        super().__init__(center, records)
        self.other = other or DemoCenter("sdb", "科学数据银行", "Science Data Bank", "10.11922", "31253",
                                         ("genome",), 12, 10)
        self.other_records = generate_records(self.other)

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        if request.path != self.PATH:
            missing = "The resource you are looking for doesn't exist."
            return RestReply(404, {"errors": [{"status": "404", "title": missing}]})
        p = request.params
        size = self.size(_int(p, "page[size]", 25))
        try:
            start = 0 if p.get("page[cursor]", "1") == "1" else int(base64.urlsafe_b64decode(p["page[cursor]"]))
        except ValueError:
            return RestReply(400, {"errors": [{"status": "400", "title": "Invalid cursor"}]})
        rows = [(r, self.center) for r in self.live()] + \
               [(r, self.other) for r in self.other_records if not r.deleted]
        rows = [(r, c) for r, c in rows if p.get("prefix") in (None, c.doi_prefix)
                and p.get("client-id") in (None, f"{c.id}.repo")]
        chunk = rows[start:start + size]
        links: dict[str, Any] = {"self": f"{base_url}/dois"}
        if start + size < len(rows):
            token = base64.urlsafe_b64encode(str(start + size).encode()).decode()
            kept = "".join(f"&{k}={v}" for k, v in p.items() if k in ("prefix", "client-id", "query"))
            links["next"] = f"{base_url}/dois?page[cursor]={token}&page[size]={size}{kept}"
        return RestReply(200, {"data": [self.doi(r, c, i) for i, (r, c) in enumerate(chunk, start)],
                               "meta": {"total": len(rows), "totalPages": math.ceil(len(rows) / size)},
                               "links": links})

    @staticmethod
    def doi(r: DemoRecord, center: DemoCenter, position: int) -> dict[str, Any]:
        placeholder = position % 5 == 3
        return {"id": r.doi, "type": "dois", "attributes": {
            "doi": r.doi, "prefix": center.doi_prefix, "state": "findable",
            "url": f"https://{center.id}.example.invalid/{r.local_id}",
            "titles": [{"title": r.title_zh, "lang": "zh"}, {"title": r.title_en, "lang": "en"}],
            "creators": ([{"name": c, "nameType": "Personal"} for c in r.creators]
                         + ([{"name": ":unav"}] if placeholder else [])),
            "publisher": ":unav" if placeholder else r.publisher_zh,
            "publicationYear": r.year,
            "subjects": [{"subject": s} for s in r.subjects],
            "dates": [{"date": None if placeholder else r.issued.isoformat(), "dateType": "Issued"},
                      {"date": ":tba", "dateType": "Available"}],
            "descriptions": [{"description": r.description_zh, "descriptionType": "Abstract", "lang": "zh"},
                             {"description": ":unav", "descriptionType": "Other"}],
            "identifiers": [{"identifier": r.cstr, "identifierType": "CSTR"}],
            "rightsList": ([{"rights": r.license_name, "rightsUri": r.license_url}] if r.license_name else [])
            + ([{"rights": r.access_statement, "rightsUri": r.access_statement}]
               if r.access_statement and r.access_statement.startswith("info:") else []),
            "formats": r.formats, "version": r.version, "language": r.language,
            "created": None, "registered": None if placeholder else _iso(r.datestamp) + "Z",
            "updated": r.datestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }}


PORTALS: dict[str, type[DemoApi]] = {"ckan": CkanApi, "dataverse": DataverseApi, "datacite": DataCiteApi}


def portal_api(name: str, center: DemoCenter | None = None) -> DemoApi:
    return PORTALS[name](center or portal_center(name))
