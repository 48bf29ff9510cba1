"""Metrics through the API (JSON and CSV, audiences, history, ranking) and the CLI, which must agree."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.api.cli import main
from fedcat.api.demo import demo_config
from fedcat.harvester.config import Audience, load_config
from fedcat.harvester.demo import DemoFederation
from fedcat.harvester.metrics import source_metrics
from fedcat.harvester.model import GeoScope, Openness


class Api:
    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, path: str, params: Any = None, key: str | None = None) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            headers = {"X-API-Key": key} if key else {}
            async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as c:
                return await c.get(path, params=params)
        return asyncio.run(go())

    def ok(self, path: str, params: Any = None, key: str | None = None) -> Any:
        resp = self.get(path, params, key)
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Catalog, Api, str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("metrics")
    with DemoFederation(link_faults=True) as fed:
        raw = demo_config(fed, tmp / "data", "127.0.0.1", 0)
        raw["http"] = {"max_retries": 1, "backoff_base": 0.01, "connect_timeout": 2.0, "read_timeout": 5.0}
        path = tmp / "fedcat.yaml"
        path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
        cat = Catalog.open(load_config(path))
        try:
            cat.harvester.harvest()
            # one record becomes important, one domestic, one core: audiences must see different figures
            marine = sorted((r for r in cat.store.records.iter_records("marine")), key=lambda r: r.id)
            changed = {"important": marine[0].id, "domestic": marine[1].id, "core": marine[2].id}
            for tag, value, rid in (("security", "important", changed["important"]),
                                    ("geo_scope", "domestic", changed["domestic"]),
                                    ("security", "core", changed["core"])):
                cat.store.overrides.put(rid, "marine", tag, value, "officer", "metrics test")
            cat.harvester.maintenance.retag(list(changed.values()))
            cat.check_links()  # as `fedcat linkcheck` does: the last run's snapshot is brought up to date
            cat.harvester.harvest(["marine"])  # a second run: a second snapshot
            _, officer_key = cat.store.keys.create("officer", Audience.OFFICER)
            changed["officer_key"] = officer_key
            yield cat, Api(create_app(cat)), str(path), changed
        finally:
            cat.close()


def test_centers_list(world: Any) -> None:
    cat, api, _, _ = world
    body = api.ok("/api/v1/centers")
    assert [c["id"] for c in body["centers"]] == [s.id for s in cat.config.sources]
    assert sorted(c["rank"] for c in body["centers"]) == list(range(1, len(cat.config.sources) + 1))
    text = api.get("/api/v1/centers", {"format": "csv"}).text
    assert text.startswith("\ufeff")  # a spreadsheet reads the Chinese names as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [r["id"] for r in rows] == [c["id"] for c in body["centers"]]
    assert rows[0]["records"] == str(body["centers"][0]["records"])


def test_center_metrics_follow_the_audience(world: Any) -> None:
    cat, api, _, changed = world
    anon = api.ok("/api/v1/centers/marine/metrics")["metrics"]
    officer = api.ok("/api/v1/centers/marine/metrics", key=changed["officer_key"])["metrics"]
    live = sum(1 for _ in cat.store.records.iter_records("marine"))
    assert officer["records"] == live and anon["records"] == live - 2  # no important, no domestic
    gated = cat.store.records.gated_counts()["marine"]
    assert cat.store.records.gated_level(changed["core"]) == ("marine", "core")
    assert anon["gated"] == officer["gated"] == {"core": gated["core"], "secret": gated.get("secret", 0)}
    assert anon["security"]["core"] == gated["core"]
    assert anon["security"]["important"] == 0 and officer["security"]["important"] == 1
    assert anon["geo_scope"]["domestic"] == 0 and officer["geo_scope"]["domestic"] == 1
    expected = source_metrics(cat.store, "marine", lambda r: r.access.security.value in ("general", "unknown")
                              and r.access.geo_scope is not GeoScope.DOMESTIC, cat.harvester.clock())
    assert anon == expected
    # every record a drill-down names is one the anonymous caller can open
    for rid in anon["reachability"]["unreachable_ids"] + anon["embargo"]["passed_not_open_ids"]:
        assert api.get(f"/api/v1/records/{rid}").status_code == 200
    assert changed["important"] not in json.dumps(anon)


def test_reachability_is_the_headline(world: Any) -> None:
    cat, api, _, _ = world
    marine = api.ok("/api/v1/centers/marine/metrics")["metrics"]["reachability"]
    assert marine["login_wall"] > 0 and marine["unreachable"] == marine["login_wall"]
    meteo = api.ok("/api/v1/centers/meteo/metrics")["metrics"]["reachability"]
    assert meteo["by_status"]["not_found"] > 0
    ncdc = api.ok("/api/v1/centers/ncdc/metrics")["metrics"]["reachability"]
    assert ncdc["unreachable"] == 0 and ncdc["reachable"] == ncdc["declared_open"] > 0
    opened = sum(1 for r in cat.store.records.iter_records("ncdc") if r.access.openness is Openness.OPEN)
    assert ncdc["declared_open"] == opened


def test_history(world: Any) -> None:
    cat, api, _, changed = world
    hist = api.ok("/api/v1/centers/marine/metrics/history")
    runs = [r.id for r in reversed(cat.store.runs.recent("marine"))]
    assert [s["run_id"] for s in hist["snapshots"]] == runs and len(runs) == 2
    before, after = (s["metrics"] for s in hist["snapshots"])
    # the link check after the first run took that run's snapshot again, in place (one snapshot per run)
    assert before["reachability"]["checked"] > 0 and after["reachability"]["checked"] > 0
    officer = api.ok("/api/v1/centers/marine/metrics/history", key=changed["officer_key"])
    assert officer["snapshots"][-1]["metrics"]["records"] == after["records"] + 2
    rows = list(csv.DictReader(io.StringIO(api.get("/api/v1/centers/marine/metrics/history",
                                                   {"format": "csv"}).text.removeprefix("\ufeff"))))
    assert [int(r["run_id"]) for r in rows] == runs
    assert rows[-1]["reachability.login_wall"] == str(after["reachability"]["login_wall"])
    assert api.ok("/api/v1/centers/marine/metrics/history", {"limit": 1})["snapshots"][0]["run_id"] == runs[-1]


def test_ranking(world: Any) -> None:
    cat, api, _, _ = world
    body = api.ok("/api/v1/metrics/ranking")
    scores = [r["ranking_score"] for r in body["ranking"]]
    assert scores == sorted(scores, reverse=True) and [r["rank"] for r in body["ranking"]] == list(
        range(1, len(scores) + 1))
    assert body["overall"]["records"] == sum(r["records"] for r in body["ranking"])
    assert abs(sum(body["weights"].values()) - 1) < 1e-9
    for r in body["ranking"]:
        m = api.ok(f"/api/v1/centers/{r['center']}/metrics")["metrics"]
        assert m["ranking_score"] == r["ranking_score"]


def test_errors(world: Any) -> None:
    _, api, _, _ = world
    resp = api.get("/api/v1/centers/nowhere/metrics")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    resp = api.get("/api/v1/metrics/ranking", {"format": "xml"})
    assert resp.status_code == 400 and resp.json()["error"]["parameter"] == "format"
    resp = api.get("/api/v1/centers", {"sort": "x"})
    assert resp.status_code == 400 and resp.json()["error"]["parameter"] == "sort"


def test_cli_matches_api(world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, api, config, _ = world
    assert main(["--config", config, "metrics", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == api.ok("/api/v1/metrics/ranking")
    assert main(["--config", config, "metrics", "--center", "marine", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == api.ok("/api/v1/centers/marine/metrics")
    assert main(["--config", config, "metrics", "--center", "meteo", "--format", "csv"]) == 0
    # the same rows; the download starts with a byte-order mark for spreadsheets, the terminal's does not
    assert "\ufeff" + capsys.readouterr().out == api.get("/api/v1/centers/meteo/metrics", {"format": "csv"}).text
    assert main(["--config", config, "metrics", "--format", "csv"]) == 0
    assert "\ufeff" + capsys.readouterr().out == api.get("/api/v1/metrics/ranking", {"format": "csv"}).text
    assert main(["--config", config, "metrics", "--center", "marine"]) == 0
    table = capsys.readouterr().out
    m = api.ok("/api/v1/centers/marine/metrics")["metrics"]
    assert f"{m['reachability']['unreachable']} of {m['reachability']['checked']} checked" in table
    assert main(["--config", config, "metrics", "--center", "nowhere"]) == 2


def test_cli_linkcheck(world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    cat, _, config, _ = world
    assert main(["--config", config, "linkcheck", "--source", "marine", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body["by_source"]) == {"marine"} and body["by_source"]["marine"]["login_wall"] > 0
    assert body["not_checked_other_hosts"] == 0  # the demo's links are all on 127.0.0.1, its only host
    assert main(["--config", config, "linkcheck", "--source", "ncdc"]) == 0
    out = capsys.readouterr().out
    assert "declared open but not reachable: 0 of" in out and "not checked" not in out
    assert main(["--config", config, "linkcheck", "--source", "nowhere"]) == 2
