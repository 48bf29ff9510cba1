"""The declarative REST adapter: pagination styles, incremental runs, checkpoints, faults and profile errors.

A small JSON API defined here (:class:`ListApi`) is served by the project's RestServer on 127.0.0.1 in
each pagination style; profiles are YAML files written to the test's folder.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedcat.harvester.config import config_from_dict
from fedcat.harvester.demo.oai_server import FaultAction, FaultContext
from fedcat.harvester.demo.rest_apis import ScienceDBApi, demo_api
from fedcat.harvester.demo.rest_server import RestReply, RestRequest
from fedcat.harvester.errors import ConfigError
from fedcat.harvester.pipeline.mapper import map_item
from fedcat.harvester.sources.registry import item_from_raw
from fedcat.harvester.store import RunStatus

from .conftest import FAST_HTTP, search_ids
from .rest_helpers import api_of, error_rows, rest_source, write_profile


class ListApi:
    """``GET /items`` (or ``POST``) listing ``n`` items, at most ``cap`` per page, in one pagination style."""

    def __init__(self, style: str, n: int = 23, cap: int = 5) -> None:
        self.style = style
        self.cap = cap
        self.items: list[dict[str, Any]] = [
            {"uid": f"it{i:03d}", "name": f"冰川数据集{i}", "name_en": f"Glacier dataset {i}", "kw": "冰川;积雪；冻土",
             "updated": f"2024-03-{1 + i % 28:02d} 08:00:00", "doi": f"10.99999/x{i}", "access": "有条件共享",
             "owner": {"people": [{"name": f"作者{i}"}, {"name": "Li, Wei"}]}}
            for i in range(n)]
        self.details_failing: set[str] = set()

    def respond(self, request: RestRequest, base_url: str) -> RestReply:
        p = request.params
        if request.path.startswith("/detail/"):
            uid = request.path.rsplit("/", 1)[1]
            if uid in self.details_failing:
                return RestReply(200, {"ok": False, "error": f"no detail for {uid}"})
            return RestReply(200, {"ok": True, "detail": {"licence": "CC BY 4.0", "area": "国内国外均可分发"}})
        if self.style == "offset":
            start, rows = int(p.get("start", 0)), min(int(p.get("rows", 10)), self.cap)
            return RestReply(200, {"ok": True, "result": {"count": len(self.items),
                                                          "items": self.items[start:start + rows]}})
        if self.style == "none":
            return RestReply(200, self.items)
        start = int(p.get("cursor") or p.get("p") or 0)
        chunk = self.items[start:start + self.cap]
        following = start + self.cap if start + self.cap < len(self.items) else None
        if self.style == "cursor":
            return RestReply(200, {"items": chunk, "next_cursor": str(following) if following else None})
        if self.style == "link":
            headers = {"Link": f'<{base_url}/items?p={following}>; rel="next"'} if following else {}
            return RestReply(200, {"items": chunk}, headers)
        return RestReply(200, {"items": chunk, "links": {"next": f"/items?p={following}" if following else None}})


STYLES: dict[str, dict[str, Any]] = {
    "offset": {"request": {"path": "/items", "params": {"start": "{offset}", "rows": "{size}"}},
               "envelope": {"path": "ok", "success": ["true"], "message_path": "error"},
               "pagination": {"style": "offset", "size": 10, "total_path": "result.count"},
               "records": {"path": "result.items", "id": "uid"}},
    "cursor": {"request": {"path": "/items", "params": {"cursor": "{cursor}"}},
               "pagination": {"style": "cursor", "cursor_path": "next_cursor"},
               "records": {"path": "items", "id": "uid"}},
    "link": {"request": {"path": "/items"}, "pagination": {"style": "next_link"},
             "records": {"path": "items", "id": "uid"}},
    "body_next": {"request": {"path": "/items"}, "pagination": {"style": "next_link", "next_path": "links.next"},
                  "records": {"path": "items", "id": "uid"}},
    "none": {"request": {"path": "/items"}, "pagination": {"style": "none"}, "records": {"path": "", "id": "uid"}},
}
MAPPING = {
    "titles": [{"path": "name", "lang": "zh"}, {"path": "name_en", "lang": "en"}],
    "creators": "owner.people[].name",
    "subjects": {"path": "kw", "split": ";；"},
    "published": {"path": "updated", "date_format": "yyyy-MM-dd HH:mm:ss"},
    "doi": "doi",
}


def profile(style: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": f"list-{style}".replace("_", "-"), **json.loads(json.dumps(STYLES[style])),
                            "mapping": dict(MAPPING)}
    data["records"]["datestamp"] = "updated"
    data["records"]["datestamp_format"] = "yyyy-MM-dd HH:mm:ss"
    data.update(extra)
    return data


def source(server: Any, path: str, **extra: Any) -> dict[str, Any]:
    return {"id": "lst", "name": "测试中心", "protocol": "rest", "profile": path, "url": server.url, **extra}


# -- pagination ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_pagination_style_reaches_the_last_page(style: str, rest_serve: Any, catalog_factory: Any,
                                                      tmp_path: Path) -> None:
    api = ListApi(style)
    server = rest_serve(api)
    cat = catalog_factory([source(server, write_profile(tmp_path, profile(style)))])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    pages = 1 if style == "none" else math.ceil(len(api.items) / api.cap)
    assert len(server.requests) == run.pages == pages
    assert search_ids(cat) == {f"lst:{i['uid']}" for i in api.items}
    rec = cat.store.records.get("lst:it007")
    assert rec is not None
    assert rec.title == "冰川数据集7" and rec.title_en == "Glacier dataset 7"
    assert rec.subjects == ["冰川", "积雪", "冻土"], "keywords are split on ; and ；"
    assert rec.creators == ["作者7", "Li, Wei"]
    assert rec.published == "2024-03-08" and rec.year == 2024 and rec.datestamp == "2024-03-08T08:00:00Z"
    assert rec.identifiers.doi == "10.99999/x7" and rec.landing_page == "https://doi.org/10.99999/x7"


def test_offset_overlap_ignores_duplicates_across_pages(rest_serve: Any, catalog_factory: Any,
                                                        tmp_path: Path) -> None:
    api = ListApi("offset")
    server = rest_serve(api)
    data = profile("offset")
    data["pagination"]["overlap"] = 2
    data["records"]["dedupe"] = True
    cat = catalog_factory([source(server, write_profile(tmp_path, data))])
    (run,) = cat.harvester.harvest()
    starts = [int(r.params["start"]) for r in server.requests]
    assert starts[:3] == [0, 3, 6], "each page starts two records before the end of the previous one"
    assert run.counts["added"] == len(api.items) and sum(run.counts.values()) == len(api.items)


def test_repeated_cursor_is_a_protocol_loop(rest_serve: Any, catalog_factory: Any, tmp_path: Path) -> None:
    api = ListApi("cursor")
    server = rest_serve(api)
    server.mutate = lambda req, body: dict(body, next_cursor="5")
    cat = catalog_factory([source(server, write_profile(tmp_path, profile("cursor")))])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED and "same cursor twice" in (run.message or "")


def test_next_link_to_another_host_is_refused(rest_serve: Any, catalog_factory: Any, tmp_path: Path) -> None:
    server = rest_serve(ListApi("body_next"))
    server.mutate = lambda req, body: dict(body, links={"next": "http://127.0.0.2:9/items?p=5"})
    cat = catalog_factory([source(server, write_profile(tmp_path, profile("body_next")))])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED and "leaves the source's host" in (run.message or "")
    assert len(server.requests) == 1


# -- requests ----------------------------------------------------------------------------------------


def test_post_body_template_keeps_types_and_source_query_is_added(rest_serve: Any, catalog_factory: Any,
                                                                  tmp_path: Path) -> None:
    server = rest_serve(demo_api("noda"))
    cat = catalog_factory([rest_source(server, "noda", query={"dataType": "snow"})])
    cat.harvester.harvest()
    first = server.requests[0]
    assert first.body == {"pageNum": 1, "pageSize": 50, "keyword": "", "dataType": "snow"}


def test_incremental_parameter_only_after_a_successful_run(rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(demo_api("sciencedb"))
    cat = catalog_factory([rest_source(server, "sciencedb")])
    cat.harvester.harvest()
    assert "start_time" not in server.requests[0].params, "the first run is a full listing"
    assert server.requests[0].params["end_time"] == ""
    server.requests.clear()
    cat.harvester.harvest(full=True)
    assert "start_time" not in server.requests[0].params, "--full lists everything"


def test_detail_failure_isolates_its_record(rest_serve: Any, catalog_factory: Any, tmp_path: Path) -> None:
    api = ListApi("cursor")
    api.details_failing.add("it004")
    server = rest_serve(api)
    data = profile("cursor", detail={"request": {"path": "/detail/{id}"}, "path": "detail", "merge_as": "d",
                                     "envelope": {"path": "ok", "success": ["true"], "message_path": "error"}},
                   statements=[{"path": "d.area", "field": "分发范围", "vocabulary": "geo_scope", "map": "area"},
                               {"path": "access"}],
                   value_maps={"area": {"国内国外均可分发": "international"}})
    data["mapping"]["licence"] = "d.licence"
    cat = catalog_factory([source(server, write_profile(tmp_path, data))])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.PARTIAL and run.counts["errored"] == 1
    ((local_id, message, _, raw),) = error_rows(cat)
    assert local_id == "it004" and "no detail for it004" in message and raw and b'"it004"' in raw
    rec = cat.store.records.get("lst:it005")
    assert rec is not None and rec.licence.normalised == "CC-BY-4.0"
    assert [(st.field, st.value, st.maps_to) for st in rec.statements] == [
        ("分发范围", "国内国外均可分发", "geo_scope:international"), ("access", "有条件共享", None)]
    assert rec.access.geo_scope.value == "international"


# -- faults --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["503", "drop", "truncated", "delay"])
def test_transient_faults_are_retried(fault: str, rest_serve: Any, catalog_factory: Any, tmp_path: Path) -> None:
    api = ListApi("offset")
    server = rest_serve(api)

    def hook(ctx: FaultContext) -> FaultAction | None:
        if ctx.request_number != 2:
            return None
        if fault == "503":
            return FaultAction(status=503, headers={"Retry-After": "0"}, body=b"busy")
        if fault == "drop":
            return FaultAction(drop=True)
        if fault == "delay":
            return FaultAction(delay=1.5)
        return FaultAction(truncate_at=40, honest_length=True)

    server.fault = hook
    http = dict(FAST_HTTP, read_timeout=1.0)
    cat = catalog_factory([source(server, write_profile(tmp_path, profile("offset")))], http=http)
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert run.counts["added"] == len(api.items)
    expected = {"503": "http_503", "drop": "connection", "truncated": "truncated", "delay": "timeout"}[fault]
    assert run.retries[expected] == 1


def test_html_instead_of_json_fails_clearly(rest_serve: Any, catalog_factory: Any, tmp_path: Path) -> None:
    server = rest_serve(ListApi("offset"))
    server.fault = lambda ctx: FaultAction(body=b"<html><body>maintenance</body></html>",
                                           headers={"Content-Type": "text/html"})
    cat = catalog_factory([source(server, write_profile(tmp_path, profile("offset")))])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert "not a JSON response (text/html" in (run.message or "") and "[lst]" in (run.message or "")
    assert len(server.requests) == 1, "an HTML page is not retried"


def test_kill_9_mid_harvest_resumes_at_the_checkpoint(rest_serve: Any, tmp_path: Path) -> None:
    api = demo_api("sciencedb")
    server = rest_serve(api)
    stalled = {"seen": False}

    def hook(ctx: FaultContext) -> FaultAction | None:
        if ctx.path == ScienceDBApi.HARVEST and ctx.params.get("page") == "3" and not stalled["seen"]:
            stalled["seen"] = True
            return FaultAction(delay=20)
        return None

    server.fault = hook
    raw = {"data_dir": str(tmp_path / "data"), "http": FAST_HTTP,
           "sources": [rest_source(server, "sciencedb")]}
    cfg_path = tmp_path / "fedcat.yaml"
    cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--config", str(cfg_path), "harvest"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not stalled["seen"] and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert stalled["seen"], "the harvest never reached page 3"
        time.sleep(0.3)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    from fedcat.api.catalog import Catalog

    cat = Catalog.open(config_from_dict(raw))
    try:
        assert cat.store.runs.checkpoint("sciencedb") is not None
        server.requests.clear()
        (run,) = cat.harvester.harvest()
        assert run.status is RunStatus.SUCCEEDED, run.message
        pages = [r.params["page"] for r in server.requests if r.path == ScienceDBApi.HARVEST]
        assert pages == ["3"], "pages 1 and 2 were stored before the kill and are not fetched again"
        assert search_ids(cat) == {f"sciencedb:{r.doi}" for r in api.live()}
        interrupted = [r for r in cat.store.runs.recent("sciencedb") if r.status is RunStatus.INTERRUPTED]
        assert len(interrupted) == 1
    finally:
        cat.close()


# -- remap -----------------------------------------------------------------------------------------------


def test_json_payloads_are_remapped_without_fetching(rest_serve: Any, catalog_factory: Any) -> None:
    server = rest_serve(demo_api("noda"))
    cat = catalog_factory([rest_source(server, "noda")])
    cat.harvester.harvest()
    rec_id = f"noda:{api_of(server).live()[0].local_id}"
    stored, raw = cat.store.records.get(rec_id), cat.store.records.raw(rec_id)
    assert stored is not None and raw is not None and raw.format == "json:noda"
    source = cat.config.sources[0]
    again = map_item(item_from_raw(raw.body, raw.format, source), source, None, cat.harvester.tagger_for(source))
    assert again.compute_hash() == stored.content_hash
    before = len(server.requests)
    report = cat.harvester.maintenance.remap("noda")
    assert len(server.requests) == before, "remap must not touch the source"
    assert report.counts["unchanged"] == len(api_of(server).live()) and not report.counts.get("errored")


# -- profile mistakes ------------------------------------------------------------------------------------


def _config_error(tmp_path: Path, data: dict[str, Any] | None, **src: Any) -> ConfigError:
    ref = write_profile(tmp_path, data) if data is not None else None
    sources = [{"id": "ok", "name": "x", "url": "http://127.0.0.1:9/oai"},
               {"id": "lst", "name": "x", "protocol": "rest", "url": "http://127.0.0.1:9", "profile": ref, **src}]
    with pytest.raises(ConfigError) as info:
        config_from_dict({"sources": sources})
    return info.value


@pytest.mark.parametrize(("change", "key", "words"), [
    (lambda d: d["pagination"].update(size_param="rows"), "sources[1].profile.pagination.size_param", "unknown key"),
    (lambda d: d["pagination"].update(style="pages"), "sources[1].profile.pagination.style", "'page'"),
    (lambda d: d["pagination"].update(size="ten"), "sources[1].profile.pagination.size", "integer"),
    (lambda d: d["request"]["params"].update(start="{ofset}"), "sources[1].profile.request.params", "{ofset}"),
    (lambda d: d["request"]["params"].pop("start"), "sources[1].profile.pagination.style", "{offset}"),
    (lambda d: d["records"].pop("id"), "sources[1].profile.records.id", "required"),
    (lambda d: d["records"].update(datestamp_format="yyyy-MM-dd QQ"), "sources[1].profile.records.datestamp_format",
     "'Q'"),
    (lambda d: d["mapping"].update(titles=[]), "sources[1].profile.mapping.titles", "title"),
    (lambda d: d["mapping"].update(subjects={"path": "kw", "map": "nope"}),
     "sources[1].profile.mapping.subjects[0].map", "nope"),
    (lambda d: d.update(statements=[{"path": "a", "vocabulary": "openness", "map": "m"}],
                        value_maps={"m": {"有条件共享": "conditionall"}}), "sources[1].profile.value_maps.m.有条件共享",
     "openness"),
    (lambda d: d["request"].update(path="https://example.org/items"), "sources[1].profile.request.path", "full URL"),
    (lambda d: d["envelope"].update(path="a..b"), "sources[1].profile.envelope.path", "parse"),
    (lambda d: d["request"].update(body={"a": 1}), "sources[1].profile.request.body", "POST"),
])
def test_profile_mistakes_name_the_key(change: Any, key: str, words: str, tmp_path: Path) -> None:
    data = profile("offset")
    change(data)
    err = _config_error(tmp_path, data)
    assert err.key == key, str(err)
    assert words in str(err) and err.path and err.path.endswith("custom.yaml")


def test_rest_source_needs_a_profile(tmp_path: Path) -> None:
    err = _config_error(tmp_path, None)
    assert err.key == "sources[1].profile" and "required" in str(err)


def test_unknown_shipped_profile_lists_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"sources": [{"id": "a", "name": "x", "protocol": "rest", "url": "http://127.0.0.1:9",
                                       "profile": "scidb"}]})
    assert info.value.key == "sources[0].profile" and "sciencedb" in str(info.value) and "noda" in str(info.value)


def test_profile_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf" / "profiles").mkdir(parents=True)
    write_profile(tmp_path / "conf" / "profiles", profile("offset"), name="mine")
    from fedcat.harvester.config import load_config

    cfg_path = tmp_path / "conf" / "fedcat.yaml"
    cfg_path.write_text(yaml.safe_dump({"sources": [{"id": "a", "name": "x", "protocol": "rest",
                                                     "url": "http://127.0.0.1:9", "profile": "profiles/mine.yaml"}]}))
    cfg = load_config(cfg_path)
    assert cfg.sources[0].profile == str((tmp_path / "conf" / "profiles" / "mine.yaml").resolve())


def test_profile_on_an_oai_source_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"sources": [{"id": "a", "name": "x", "url": "http://127.0.0.1:9/oai",
                                       "profile": "sciencedb"}]})
    assert info.value.key == "sources[0].profile"
