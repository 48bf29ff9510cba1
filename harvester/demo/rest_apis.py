"""JSON API shapes of Chinese national data centers, over the demo corpus, for :class:`~.rest_server.RestServer`.

Each class answers requests the way the center's public API was observed to
(paths, parameters, envelopes, field names); the records come from
:func:`~.corpus.generate_records`. Deleted demo records are simply not listed,
as these APIs cannot report deletions. Each API caps the page size at its
center's ``page_size``, as real services do.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .corpus import DemoCenter, DemoRecord, generate_records
from .rest_server import RestReply, RestRequest

OPEN_STATEMENTS = frozenset({"开放共享", "info:eu-repo/semantics/openAccess"})


def rest_centers() -> dict[str, DemoCenter]:
    """Mock centers served by the JSON APIs (keyed by API name)."""
    return {
        "sciencedb": DemoCenter("sciencedb", "科学数据银行", "Science Data Bank", "10.11922", "31253",
                                ("glacier", "genome", "climate", "biology"), 60, 20),
        "nbsdc": DemoCenter("nbsdc", "国家基础学科公共科学数据中心", "National Basic Science Data Center", "10.12386",
                            "16666", ("synchrotron", "chemistry", "neutrino"), 45, 15),
        "nmdc": DemoCenter("nmdc", "国家微生物科学数据中心", "National Microbiology Data Center", "10.12385", "31400",
                           ("metagenome", "genome"), 40, 15),
        "geodata": DemoCenter("geodata", "国家地球系统科学数据中心", "National Earth System Science Data Center",
                              "10.12041", "11738", ("hydrology", "climate", "desert"), 45, 20),
        "noda": DemoCenter("noda", "国家对地观测科学数据中心", "National Earth Observation Data Center", "10.11878",
                           "31412", ("snow", "surface", "radar"), 40, 15),
    }


def _int(params: dict[str, str], name: str, default: int | None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return None


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class DemoApi(abc.ABC):
    """Records of one center and the paging every shape shares."""

    def __init__(self, center: DemoCenter, records: list[DemoRecord] | None = None) -> None:
        self.center = center
        self.records = records if records is not None else generate_records(center)

    def live(self, since: datetime | None = None) -> list[DemoRecord]:
        rows = [r for r in self.records if not r.deleted and (since is None or r.datestamp >= since)]
        return sorted(rows, key=lambda r: (r.datestamp, r.local_id))

    def size(self, requested: int | None) -> int:
        return max(1, min(requested or self.center.page_size, self.center.page_size))

    def find(self, pred: Callable[[DemoRecord], bool]) -> DemoRecord | None:
        return next((r for r in self.records if not r.deleted and pred(r)), None)

    def landing_record(self, local_id: str) -> DemoRecord | None:
        """The live record a ``/dataset/<local_id>`` landing page shows."""
        return self.find(lambda r: r.local_id == local_id)

    def cstr(self, r: DemoRecord) -> str:
        return r.cstr

    @abc.abstractmethod
    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        """Answer one request."""


def _not_found(body: dict[str, Any]) -> RestReply:
    return RestReply(404, body)


class ScienceDBApi(DemoApi):
    """``GET /api/sdb-openapi-service/harvest`` (envelope ``code == 20000``) and ``GET .../json?doi=`` (schema.org)."""

    HARVEST = "/api/sdb-openapi-service/harvest"
    DETAIL = "/api/sdb-openapi-service/json"

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        p = request.params
        if request.path == self.DETAIL:
            found = self.find(lambda r: r.doi == p.get("doi"))
            if found is None:
                return RestReply(200, {"code": 40400, "message": f"数据集不存在: {p.get('doi')}", "data": None})
            return RestReply(200, self.schema_org(found, base_url))
        if request.path != self.HARVEST:
            return _not_found({"code": 40400, "message": "not found"})
        page, size = _int(p, "page", 1), _int(p, "size", 10)
        since = None
        if p.get("start_time"):
            try:
                since = datetime.strptime(p["start_time"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                return RestReply(200, {"code": 40001, "message": "start_time 格式错误，应为 yyyy-MM-dd", "data": None})
        if page is None or size is None or page < 1:
            return RestReply(200, {"code": 40001, "message": "参数错误: page/size", "data": None})
        rows = self.live(since)
        size = self.size(size)
        chunk = rows[(page - 1) * size: page * size]
        return RestReply(200, {"code": 20000, "message": "success", "data": {
            "pageNo": page, "pageSize": size, "totalPages": math.ceil(len(rows) / size),
            "totalElements": len(rows), "recommendData": [self.listing(r) for r in chunk]}})

    @staticmethod
    def listing(r: DemoRecord) -> dict[str, Any]:
        return {"title": r.title_zh, "introduction": f"<p>{r.description_zh}</p>", "keyword": ";".join(r.subjects),
                "author": ";".join(r.creators), "publishDate": _stamp(r.datestamp), "taxonomy": r.sets,
                "year": str(r.year), "doi": r.doi, "language": r.language, "dataSetId": r.local_id}

    @staticmethod
    def schema_org(r: DemoRecord, base_url: str) -> dict[str, Any]:
        return {"@context": "https://schema.org", "@type": "Dataset", "name": r.title_en,
                "description": r.description_en, "url": r.absolute_landing_url(base_url),
                "identifier": [f"https://doi.org/{r.doi}", r.cstr], "license": r.license_url,
                "isAccessibleForFree": r.access_statement in OPEN_STATEMENTS,
                "conditionsOfAccess": r.access_statement, "datePublished": r.issued.isoformat(),
                "creator": [{"@type": "Person", "name": c} for c in r.creators],
                "publisher": {"@type": "Organization", "name": r.publisher_zh}, "version": r.version}


class NbsdcApi(DemoApi):
    """``GET /api/general/v1/getDataLists?pageNum=&pageSize=`` → ``{code: 200, list: {totalCount, dataList}}``."""

    PATH = "/api/general/v1/getDataLists"

    def cstr(self, r: DemoRecord) -> str:
        return f"CSTR:16666.11.nbsdc.{r.local_id}"

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        if request.path != self.PATH:
            return _not_found({"code": 404, "message": "not found"})
        page, size = _int(request.params, "pageNum", 1), _int(request.params, "pageSize", 10)
        if page is None or size is None or page < 1:
            return RestReply(200, {"code": 400, "message": "pageNum/pageSize 必须为整数", "list": None})
        rows, size = self.live(), self.size(size)
        chunk = rows[(page - 1) * size: page * size]
        return RestReply(200, {"code": 200, "message": "操作成功", "list": {
            "totalCount": len(rows), "pageNum": page, "pageSize": size,
            "dataList": [self.listing(r, base_url) for r in chunk]}})

    def listing(self, r: DemoRecord, base_url: str) -> dict[str, Any]:
        return {"id": r.local_id, "cstr": self.cstr(r), "doi": r.doi, "title": r.title_zh, "titleEn": r.title_en,
                "description": r.description_zh, "descriptionEn": r.description_en,
                "keywords": "；".join(r.subjects), "authors": r.creators, "publishTime": _stamp(r.datestamp),
                "subject": [{"subjectCode": s, "subjectName": s} for s in r.sets],
                "shareType": r.access_statement or "", "license": r.license_name,
                "url": r.absolute_landing_url(base_url)}


class NmdcApi(DemoApi):
    """``GET /api/services/nmdcweb/api/dataset/metadata/page?pageNum=&pageSize=`` (pageNum required)."""

    PATH = "/api/services/nmdcweb/api/dataset/metadata/page"

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        if request.path != self.PATH:
            return _not_found({"code": 404, "msg": "not found"})
        if not request.params.get("pageNum"):
            return RestReply(200, {"code": 500, "msg": "pageNum不能为空", "data": None})
        page, size = _int(request.params, "pageNum", 1), _int(request.params, "pageSize", 10)
        if page is None or size is None or page < 1:
            return RestReply(200, {"code": 500, "msg": "参数格式错误", "data": None})
        rows, size = self.live(), self.size(size)
        chunk = rows[(page - 1) * size: page * size]
        return RestReply(200, {"code": 200, "msg": "success", "data": {
            "total": len(rows), "pages": math.ceil(len(rows) / size), "current": page, "size": size,
            "records": [self.listing(r, base_url) for r in chunk]}})

    @staticmethod
    def listing(r: DemoRecord, base_url: str) -> dict[str, Any]:
        return {"datasetId": f"NMDC{r.local_id.replace('.', '')}", "titleCn": r.title_zh, "titleEn": r.title_en,
                "descriptionCn": r.description_zh, "descriptionEn": r.description_en,
                "keywords": ";".join(r.subjects), "authors": ", ".join(r.creators), "doi": r.doi,
                "cstr": r.cstr, "updateTime": int(r.datestamp.timestamp() * 1000),
                "openStatus": r.access_statement or "", "license": r.license_url,
                "url": r.absolute_landing_url(base_url)}


class GeodataApi(DemoApi):
    """``GET /service/scidata/entry/search/?word=&page=&pageSize=`` → ``{op_read: {data, total}}``."""

    PATH = "/service/scidata/entry/search/"

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        if request.path != self.PATH:
            return _not_found({"error": "not found"})
        page, size = _int(request.params, "page", 1), _int(request.params, "pageSize", 10)
        if page is None or size is None or page < 1:
            return RestReply(400, {"error": "bad page"})
        word = request.params.get("word", "")
        rows = [r for r in self.live() if not word or word in r.title_zh]
        size = self.size(size)
        chunk = rows[(page - 1) * size: page * size]
        return RestReply(200, {"op_read": {"total": len(rows), "data": [self.listing(r, base_url) for r in chunk]}})

    @staticmethod
    def listing(r: DemoRecord, base_url: str) -> dict[str, Any]:
        return {"id": r.local_id, "title": r.title_zh, "title_en": r.title_en, "abstract": r.description_zh,
                "abstract_en": r.description_en, "keywords": r.subjects, "authors": "、".join(r.creators),
                "publish_time": r.issued.isoformat(), "update_time": _stamp(r.datestamp), "doi": r.doi,
                "cstr": r.cstr, "密级": "一般",
                "共享方式": "离线申请" if r.access_statement == "离线申请" else "线上共享",
                "url": r.absolute_landing_url(base_url)}


class NodaApi(DemoApi):
    """``POST /datasharing/allDataSearch`` and ``POST /datasharing/getDataInfo/{id}`` (``responseBody``)."""

    SEARCH = "/datasharing/allDataSearch"
    DETAIL = "/datasharing/getDataInfo/"

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        if request.method != "POST":
            return RestReply(405, {"code": "405", "message": "method not allowed"})
        body = request.body if isinstance(request.body, dict) else {}
        if request.path.startswith(self.DETAIL):
            local = request.path[len(self.DETAIL):]
            found = self.find(lambda r: r.local_id == local)
            if found is None:
                return RestReply(200, {"code": "1004", "message": "数据不存在", "responseBody": None})
            return RestReply(200, {"code": "0", "message": "success", "responseBody": self.detail(found, base_url)})
        if request.path != self.SEARCH:
            return _not_found({"code": "404", "message": "not found"})
        page, size = body.get("pageNum"), body.get("pageSize")
        if not isinstance(page, int) or not isinstance(size, int) or page < 1:
            return RestReply(200, {"code": "1001", "message": "分页参数错误", "responseBody": None})
        rows, size = self.live(), self.size(size)
        chunk = rows[(page - 1) * size: page * size]
        return RestReply(200, {"code": "0", "message": "success", "responseBody": {
            "total": len(rows), "pageNum": page, "list": [self.listing(r) for r in chunk]}})

    @staticmethod
    def listing(r: DemoRecord) -> dict[str, Any]:
        return {"id": r.local_id, "dataName": r.title_zh, "dataNameEn": r.title_en, "dataAbstract": r.description_zh,
                "keyWords": ",".join(r.subjects), "publishTime": _stamp(r.datestamp), "dataType": r.sets[0]}

    @staticmethod
    def detail(r: DemoRecord, base_url: str) -> dict[str, Any]:
        domestic = r.access_statement in ("有条件共享", "离线申请")
        return {"id": r.local_id, "cstr": r.cstr, "doi": r.doi, "dataAbstractEn": r.description_en,
                "detailUrl": r.absolute_landing_url(base_url),
                "authors": [{"name": c} for c in r.creators], "license": r.license_name,
                "copyRight": {"redistributeArea": "仅限国内分发" if domestic else "国内国外均可分发",
                              "dataSharingMod": "离线申请" if r.access_statement == "离线申请" else "在线下载",
                              "dataLevel": "注册用户访问" if r.access_statement == "注册后下载" else "无差别访问"}}


SHAPES: dict[str, type[DemoApi]] = {
    "sciencedb": ScienceDBApi, "nbsdc": NbsdcApi, "nmdc": NmdcApi, "geodata": GeodataApi, "noda": NodaApi,
}


def demo_api(name: str, records: list[DemoRecord] | None = None) -> DemoApi:
    """The API shape ``name`` over its mock center's records (or given records)."""
    return SHAPES[name](rest_centers()[name], records)
