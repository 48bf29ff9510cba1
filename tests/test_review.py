"""The review queue and four eyes to declassify, through a real harvest and the real API (ASGI) and CLI.

Records the rules cannot decide are seen by officers only until one decides; a change that lowers a
record out of important, core or secret waits for a second, different officer; every step is audited
and every decision survives re-harvests."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fedcat.api.catalog import Catalog
from fedcat.api.cli import main
from fedcat.harvester.config import Audience
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.model import Security

from .test_access import SPECIAL, Client, audience_clients, error_of, ids_of

REVIEW_TITLE = "人源化小鼠肝脏转录组测序数据"  # people and another organism: undecided


@pytest.fixture
def prepared(oai_server: OAIServer) -> OAIServer:
    live = [r for r in oai_server.repository.records() if not r.deleted]
    for _name, (pos, extra, title) in SPECIAL.items():
        oai_server.repository.upsert(dataclasses.replace(live[pos], extra_rights=extra,
                                                         **({"title_zh": title} if title else {})))
    oai_server.repository.upsert(dataclasses.replace(live[6], title_zh=REVIEW_TITLE))
    return oai_server


@pytest.fixture
def cat(prepared: OAIServer, catalog_factory: Any) -> Catalog:
    catalog: Catalog = catalog_factory([{"id": "ncdc", "name": "国家冰川冻土沙漠科学数据中心", "protocol": "oaipmh",
                                         "url": prepared.url}])
    catalog.harvester.clock = lambda: date(2026, 1, 1)
    (report,) = catalog.harvester.harvest()
    assert report.status.value == "succeeded"
    return catalog


def review_id(server: OAIServer) -> str:
    return f"ncdc:{[r for r in server.repository.records() if not r.deleted][6].local_id}"


def test_a_record_awaiting_review_is_seen_by_officers_only(cat: Catalog, prepared: OAIServer) -> None:
    rec_id = review_id(prepared)
    stored = cat.store.records.get(rec_id)
    assert stored is not None and stored.access.security is Security.REVIEW
    clients = audience_clients(cat)
    for name in ("public_international", "public_domestic", "registered"):
        error_of(clients[name].get(f"/api/v1/records/{rec_id}"), 404, "not_found")
        assert rec_id not in clients[name].all_ids()
        facets = clients[name].ok("/api/v1/search", {"size": 1})["facets"]["security"]
        assert "review" not in {b["value"] for b in facets}
        error_of(clients[name].get("/api/v1/review"), 403, "forbidden")
    officer = clients["officer"]
    assert officer.ok(f"/api/v1/records/{rec_id}")["access"]["security"] == "review"
    assert rec_id in officer.all_ids(security="review")
    queue = officer.ok("/api/v1/review")
    (entry,) = queue["records"]
    assert entry["id"] == rec_id and entry["title"] == REVIEW_TITLE
    assert [e["rule"] for e in entry["evidence"]] == ["human-genetic-review"]
    assert "人源" in entry["evidence"][0]["source_value"] and "小鼠" in entry["evidence"][0]["source_value"]
    # metrics count it for officers; other audiences' figures do not reveal it
    assert officer.ok("/api/v1/centers/ncdc/metrics")["metrics"]["awaiting_review"] == 1
    for name in ("public_international", "registered"):
        m = clients[name].ok("/api/v1/centers/ncdc/metrics")["metrics"]
        assert m["awaiting_review"] == 0 and m["security"]["review"] == 0


def test_an_officers_review_decision_is_kept_audited_and_survives_a_full_reharvest(
        cat: Catalog, prepared: OAIServer) -> None:
    rec_id = review_id(prepared)
    clients = audience_clients(cat)
    body = {"record_id": rec_id, "value": "sensitive", "reason": "人源化模型含人类基因片段"}
    error_of(clients["registered"].request("POST", "/api/v1/review/decide", json=body), 403, "forbidden")
    bad = error_of(clients["officer"].request("POST", "/api/v1/review/decide", json=dict(body, value="wide")),
                   400, "bad_parameter")
    assert bad["parameter"] == "value"
    resp = clients["officer"].request("POST", "/api/v1/review/decide", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "applied" and resp.json()["tags"]["security"] == "sensitive"
    assert clients["registered"].ok(f"/api/v1/records/{rec_id}")["access"]["security"] == "sensitive"
    error_of(clients["public_international"].get(f"/api/v1/records/{rec_id}"), 404, "not_found")
    assert clients["officer"].ok("/api/v1/review")["records"] == []
    again = error_of(clients["officer"].request("POST", "/api/v1/review/decide", json=body), 409, "conflict")
    assert "not awaiting review" in again["message"]

    (report,) = cat.harvester.harvest(full=True)
    assert report.status.value == "succeeded"
    rec = cat.store.records.get(rec_id)
    assert rec is not None and rec.access.security is Security.SENSITIVE
    (ev,) = [e for e in rec.access.evidence if e.tag == "security"]
    assert ev.rule == "officer-override" and "key:officer-li" in (ev.field or "")
    actions = [(e.action, e.actor) for e in cat.store.audit.entries()]
    assert ("review_decided", "key:officer-li") in actions and ("override_set", "key:officer-li") in actions


def test_lowering_an_important_record_waits_for_a_second_different_officer(
        cat: Catalog, prepared: OAIServer) -> None:
    rec_id = ids_of(prepared)["important"]
    clients = audience_clients(cat)
    li = clients["officer"]
    _, wang_key = cat.store.keys.create("officer-wang", Audience.OFFICER)
    wang = Client(cat, wang_key)
    path = f"/api/v1/records/{rec_id}/overrides"
    resp = li.request("POST", path, json={"tag": "security", "value": "general", "reason": "已脱密"})
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "pending"
    # nothing changed yet: still important, still hidden from the public
    assert cat.store.records.current_security(rec_id) == "important"
    error_of(clients["public_international"].get(f"/api/v1/records/{rec_id}"), 404, "not_found")
    (pending,) = li.ok("/api/v1/review")["pending"]
    assert (pending["record_id"], pending["value"], pending["by"]) == (rec_id, "general", "key:officer-li")
    own = error_of(li.request("POST", "/api/v1/review/confirm", json={"record_id": rec_id}), 409, "conflict")
    assert "second, different officer" in own["message"]
    assert cat.store.records.current_security(rec_id) == "important"

    resp = wang.request("POST", "/api/v1/review/confirm", json={"record_id": rec_id})
    assert resp.status_code == 200, resp.text
    assert resp.json()["tags"]["security"] == "general"
    assert clients["public_international"].ok(f"/api/v1/records/{rec_id}")["access"]["security"] == "general"
    (ev,) = [e for e in cat.store.records.get(rec_id).access.evidence if e.tag == "security"]  # type: ignore[union-attr]
    assert "key:officer-li" in (ev.field or "") and "confirmed by key:officer-wang" in (ev.field or "")
    actions = [(e.action, e.actor) for e in reversed(cat.store.audit.entries())]
    assert actions.index(("override_proposed", "key:officer-li")) < actions.index(
        ("override_confirmed", "key:officer-wang"))
    error_of(wang.request("POST", "/api/v1/review/confirm", json={"record_id": rec_id}), 404, "not_found")


def test_a_core_record_stays_gated_until_the_second_officer_confirms(cat: Catalog, prepared: OAIServer) -> None:
    rec_id = ids_of(prepared)["core"]
    assert cat.store.records.gated_level(rec_id) == ("ncdc", "core")
    decisions = cat.decisions
    d = decisions.override(rec_id, "security", "general", "li", "误标为核心数据")
    assert d.status.value == "pending"
    cat.harvester.harvest(full=True)
    assert cat.store.records.gated_level(rec_id) == ("ncdc", "core") and cat.store.records.get(rec_id) is None
    rejected = decisions.reject(rec_id, "security", "wang", "需要更多依据")
    assert rejected.status.value == "discarded" and cat.store.overrides.pending() == []

    decisions.override(rec_id, "security", "general", "li", "误标为核心数据，已核实")
    confirmed = decisions.confirm(rec_id, "security", "wang")
    assert confirmed.status.value == "applied"
    cat.harvester.harvest(full=True)  # its metadata was not kept: the next harvest brings it back
    rec = cat.store.records.get(rec_id)
    assert rec is not None and rec.access.security is Security.GENERAL
    assert rec_id in Client(cat).all_ids()


def test_raising_a_record_takes_one_officer_and_removing_the_override_that_holds_it_needs_two(
        cat: Catalog, prepared: OAIServer) -> None:
    rec_id = ids_of(prepared)["domestic"]
    d = cat.decisions.override(rec_id, "security", "important", "li", "含敏感站点坐标")
    assert d.status.value == "applied" and cat.store.records.current_security(rec_id) == "important"
    removal = cat.decisions.remove(rec_id, "security", "li")
    assert removal.status.value == "pending" and cat.store.records.current_security(rec_id) == "important"
    assert cat.decisions.confirm(rec_id, "security", "wang").status.value == "removed"
    assert cat.store.records.current_security(rec_id) != "important"


def test_the_cli_lists_the_queue_decides_and_refuses_a_self_confirmation(
        cat: Catalog, prepared: OAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = str(tmp_path / "fedcat.yaml")
    cat.config.data_path.mkdir(parents=True, exist_ok=True)
    Path(config).write_text(
        f"data_dir: {cat.config.data_path}\nsources:\n  - id: ncdc\n    name: 冰川中心\n    url: {prepared.url}\n",
        encoding="utf-8")
    rec_id = review_id(prepared)
    important = ids_of(prepared)["important"]
    cat.close()
    assert main(["--config", config, "review"]) == 0
    out = capsys.readouterr().out
    assert "1 records awaiting review" in out and rec_id in out and "human-genetic-review" in out
    assert main(["--config", config, "review", rec_id, "--value", "general", "--reason", "模型动物数据",
                 "--by", "li"]) == 0
    assert "security=general" in capsys.readouterr().out
    assert main(["--config", config, "override", important, "--tag", "security", "--value", "sensitive",
                 "--reason", "降级", "--by", "li"]) == 0
    assert "pending" in capsys.readouterr().out
    assert main(["--config", config, "override", important, "--tag", "security", "--confirm", "--by", "li"]) == 2
    assert "second, different officer" in capsys.readouterr().err
    assert main(["--config", config, "override", important, "--tag", "security", "--confirm", "--by", "wang"]) == 0
    assert "confirmed by wang" in capsys.readouterr().out


def test_counts_follow_the_callers_audience(cat: Catalog, prepared: OAIServer) -> None:
    clients = audience_clients(cat)
    anonymous, officer = clients["public_international"], clients["officer"]
    (public_src,) = anonymous.ok("/api/v1/sources")["sources"]
    (officer_src,) = officer.ok("/api/v1/sources")["sources"]
    assert public_src["records"] == len(anonymous.all_ids())
    assert officer_src["records"] == len(officer.all_ids()) > public_src["records"]  # important, review …
    assert "documents" not in anonymous.ok("/api/v1/health")
    assert officer.ok("/api/v1/health")["documents"] > 0
    (run,) = anonymous.ok("/api/v1/harvests")["harvests"]
    assert "added" not in run and "errors" not in run and run["status"] == "succeeded"
    assert officer.ok("/api/v1/harvests")["harvests"][0]["added"] > 0
