"""The gate, audiences and API keys, officer overrides, the audit log, exports and embargo lifting,
through a real harvest of the loopback OAI-PMH server and the real API (ASGI)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fedcat.api.app import create_app
from fedcat.api.audience import Caller
from fedcat.api.catalog import Catalog
from fedcat.api.cli import main
from fedcat.api.scheduler import _lift_embargoes
from fedcat.harvester.citation import gbt7714
from fedcat.harvester.config import Audience
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.model import Access, LangText, Record, Security
from fedcat.index.base import EVERYTHING, SearchQuery

from .conftest import make_config, source_for

EMBARGO_END = "2026-06-01"
#: The ncdc demo records given these statements before the harvest (by position among live records).
SPECIAL: dict[str, tuple[int, tuple[str, ...], str | None]] = {
    "core": (0, ("密级：核心",), None),
    "important": (1, ("密级：重要",), None),
    "sensitive": (2, ("国内国外均可分发",), "人类遗传资源样本信息数据集"),
    "domestic": (3, ("仅限国内",), None),
    "embargoed": (4, (f"info:eu-repo/date/embargoEnd/{EMBARGO_END}",), None),
}


def ids_of(server: OAIServer) -> dict[str, str]:
    live = [r for r in server.repository.records() if not r.deleted]
    return {name: f"ncdc:{live[pos].local_id}" for name, (pos, _, _) in SPECIAL.items()}


@pytest.fixture
def prepared(oai_server: OAIServer) -> OAIServer:
    live = [r for r in oai_server.repository.records() if not r.deleted]
    # a secret record that would also fail mapping (no title): gated, its payload not kept as an error
    oai_server.repository.upsert(dataclasses.replace(live[5], extra_rights=("密级：绝密",), title_zh="", title_en=""))
    for name, (pos, extra, title) in SPECIAL.items():
        rec = live[pos]
        changes: dict[str, Any] = {"extra_rights": extra}
        if title:
            changes["title_zh"] = title
        if name == "embargoed":
            changes["access_statement"] = "info:eu-repo/semantics/embargoedAccess"
        oai_server.repository.upsert(dataclasses.replace(rec, **changes))
    return oai_server


@pytest.fixture
def cat(prepared: OAIServer, catalog_factory: Any) -> Catalog:
    catalog: Catalog = catalog_factory([source_for(prepared)])
    catalog.harvester.clock = lambda: date(2026, 1, 1)
    (report,) = catalog.harvester.harvest()
    assert report.status.value == "succeeded"
    return catalog


class Client:
    """The API in-process over ASGI, optionally with an API key."""

    def __init__(self, catalog: Catalog, key: str | None = None) -> None:
        self.app = create_app(catalog)
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://fedcat.test") as client:
                return await client.request(method, path, headers={**self.headers, **kw.pop("headers", {})},
                                            **kw)
        import asyncio
        return asyncio.run(go())

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", path, params=params, **kw)

    def ok(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self.get(path, params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def all_ids(self, **params: Any) -> set[str]:
        return {json.loads(line)["id"] for line in self.get("/api/v1/export", params).text.splitlines()}


def audience_clients(cat: Catalog) -> dict[str, Client]:
    _, registered = cat.store.keys.create("lab", Audience.REGISTERED)
    _, officer = cat.store.keys.create("officer-li", Audience.OFFICER)
    domestic = dataclasses.replace(cat, config=dataclasses.replace(
        cat.config, api=dataclasses.replace(cat.config.api, anonymous_audience=Audience.PUBLIC_DOMESTIC)))
    return {"public_international": Client(cat), "public_domestic": Client(domestic),
            "registered": Client(cat, registered), "officer": Client(cat, officer)}


def error_of(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    err: dict[str, Any] = body["error"]
    return err


# -- the gate ---------------------------------------------------------------------------------------


def test_core_records_never_reach_the_index_and_keep_only_id_source_level_time(
        cat: Catalog, prepared: OAIServer) -> None:
    core = ids_of(prepared)["core"]
    assert cat.store.records.get(core) is None and cat.store.records.raw(core) is None
    assert cat.store.records.gated_level(core) == ("ncdc", "core")
    everything = {h.id for h in cat.index.search(SearchQuery(size=100, visibility=EVERYTHING)).hits}
    assert core not in everything and len(everything) > 0
    db = sqlite3.connect(cat.store.path)
    assert db.execute("SELECT COUNT(*) FROM records WHERE id=?", (core,)).fetchone() == (0,)
    columns = [r[1] for r in db.execute("PRAGMA table_info(gated)")]
    assert columns == ["id", "source_id", "level", "seen_at"]
    assert db.execute("SELECT COUNT(*) FROM record_errors").fetchone() == (0,)
    secret = f"ncdc:{[r for r in prepared.repository.records() if not r.deleted][5].local_id}"
    assert cat.store.records.gated_level(secret) == ("ncdc", "secret")
    for client in audience_clients(cat).values():
        error_of(client.get(f"/api/v1/records/{core}"), 404, "not_found")
        assert core not in client.all_ids()
    assert cat.store.runs.recent("ncdc")[0].counts["gated"] == 2


def test_a_record_that_becomes_core_is_removed_with_its_metadata_and_payload(
        cat: Catalog, prepared: OAIServer) -> None:
    victim = next(r for r in prepared.repository.records() if not r.deleted and not r.extra_rights
                  and f"ncdc:{r.local_id}" not in ids_of(prepared).values())
    rec_id = f"ncdc:{victim.local_id}"
    assert rec_id in Client(cat).all_ids() and cat.store.records.raw(rec_id) is not None
    prepared.repository.upsert(dataclasses.replace(
        victim, extra_rights=("密级：核心",), datestamp=datetime.now(UTC).replace(microsecond=0)))
    (report,) = cat.harvester.harvest()
    assert report.counts["gated"] == 1
    assert rec_id not in {h.id for h in cat.index.search(SearchQuery(size=100, visibility=EVERYTHING)).hits}
    assert cat.store.records.get(rec_id) is None and cat.store.records.raw(rec_id) is None
    db = sqlite3.connect(cat.store.path)
    assert db.execute("SELECT record_json, access_json, content_hash FROM records WHERE id=?",
                      (rec_id,)).fetchone() == (None, None, None)


# -- audiences ----------------------------------------------------------------------------------------


def test_each_audience_sees_exactly_its_levels_in_search_export_and_record_pages(
        cat: Catalog, prepared: OAIServer) -> None:
    ids = ids_of(prepared)
    clients = audience_clients(cat)
    sees = {name: c.all_ids() for name, c in clients.items()}
    expected = {
        "public_international": {"embargoed"},
        "public_domestic": {"embargoed", "domestic", "sensitive"},
        "registered": {"embargoed", "domestic", "sensitive"},
        "officer": {"embargoed", "domestic", "sensitive", "important"},
    }
    for audience, names in expected.items():
        special_seen = {n for n, i in ids.items() if i in sees[audience]}
        assert special_seen == names, audience
        total = clients[audience].ok("/api/v1/search", {"size": 1})["total"]
        assert total == len(sees[audience]), audience
        for name, rec_id in ids.items():
            status = clients[audience].get(f"/api/v1/records/{rec_id}").status_code
            assert status == (200 if name in names else 404), (audience, name)


def test_sensitive_records_come_without_access_links_for_the_domestic_public(
        cat: Catalog, prepared: OAIServer) -> None:
    rec_id = ids_of(prepared)["sensitive"]
    clients = audience_clients(cat)
    dom = clients["public_domestic"].ok(f"/api/v1/records/{rec_id}")
    assert dom["access"]["security"] == "sensitive"
    assert "landing_page" not in dom and dom["identifiers"]["urls"] == [] and "links_withheld" in dom
    assert "/dataset/" not in json.dumps(dom, ensure_ascii=False)  # not in the citation either
    error_of(clients["public_domestic"].get(f"/api/v1/records/{rec_id}/raw"), 403, "forbidden")
    hit = next(h for h in clients["public_domestic"].ok("/api/v1/search", {"q": "人类遗传资源"})["hits"]
               if h["id"] == rec_id)
    assert "landing_page" not in hit
    exported = [json.loads(x) for x in clients["public_domestic"].get(
        "/api/v1/export", {"security": "sensitive"}).text.splitlines()]
    assert [e["id"] for e in exported] == [rec_id] and "landing_page" not in exported[0]

    reg = clients["registered"].ok(f"/api/v1/records/{rec_id}")
    assert reg["landing_page"] and reg["identifiers"]["urls"]
    assert clients["registered"].get(f"/api/v1/records/{rec_id}/raw").status_code == 200


def test_bad_and_revoked_keys_are_refused_with_the_envelope(cat: Catalog) -> None:
    key, secret = cat.store.keys.create("temp", Audience.REGISTERED)
    assert Client(cat, secret).ok("/api/v1/whoami") == {
        "audience": "registered", "actor": "key:temp",
        "sees_security": ["general", "sensitive", "unknown"], "hides_domestic": False}
    assert Client(cat).ok("/api/v1/whoami")["audience"] == "public_international"
    error_of(Client(cat, secret[:-2] + "xx").get("/api/v1/search"), 401, "unauthorized")
    error_of(Client(cat, "fck_nothere_abc").get("/api/v1/search"), 401, "unauthorized")
    error_of(Client(cat).get("/api/v1/search", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    assert Client(cat).get("/api/v1/whoami", headers={"X-API-Key": secret}).json()["audience"] == "registered"
    cat.store.keys.revoke("temp")
    error_of(Client(cat, secret).get("/api/v1/search"), 401, "unauthorized")
    listed = cat.store.keys.list()
    assert [k.name for k in listed] == ["temp"] and listed[0].revoked_at
    db = sqlite3.connect(cat.store.path)
    assert secret not in json.dumps(db.execute("SELECT * FROM api_keys").fetchall())


def test_officer_reads_of_important_records_are_audited(cat: Catalog, prepared: OAIServer) -> None:
    important = ids_of(prepared)["important"]
    clients = audience_clients(cat)
    clients["officer"].ok(f"/api/v1/records/{important}")
    clients["officer"].ok("/api/v1/search", {"security": "important"})
    clients["officer"].ok("/api/v1/search", {"security": "general", "size": 5})  # nothing important: no entry
    entries = clients["officer"].ok("/api/v1/audit")["entries"]
    assert [(e["action"], e["record_ids"], e["actor"]) for e in entries] == [
        ("search", [important], "key:officer-li"), ("read_record", [important], "key:officer-li")]
    error_of(clients["registered"].get("/api/v1/audit"), 403, "forbidden")
    error_of(clients["public_international"].get("/api/v1/audit"), 403, "forbidden")


# -- officer overrides -------------------------------------------------------------------------------


def test_overrides_are_officer_only_checked_applied_and_survive_a_full_reharvest(
        cat: Catalog, prepared: OAIServer) -> None:
    rec_id = ids_of(prepared)["domestic"]
    clients = audience_clients(cat)
    body = {"tag": "openness", "value": "metadata_only", "reason": "data withdrawn by the center"}
    path = f"/api/v1/records/{rec_id}/overrides"
    error_of(clients["registered"].request("POST", path, json=body), 403, "forbidden")
    bad = error_of(clients["officer"].request("POST", path, json=dict(body, value="wide")), 400, "bad_parameter")
    assert bad["parameter"] == "value"
    resp = clients["officer"].request("POST", path, json=body)
    assert resp.status_code == 201, resp.text

    def openness() -> tuple[str, list[dict[str, Any]]]:
        rec = clients["officer"].ok(f"/api/v1/records/{rec_id}")
        return rec["access"]["openness"], [e for e in rec["access"]["evidence"] if e["tag"] == "openness"]

    value, evidence = openness()
    assert value == "metadata_only"
    assert evidence[0]["rule"] == "officer-override" and "key:officer-li" in evidence[0]["field"]
    assert rec_id in clients["officer"].all_ids(openness="metadata_only")

    (report,) = cat.harvester.harvest(full=True)
    assert report.status.value == "succeeded"
    assert openness()[0] == "metadata_only"

    assert clients["officer"].request("DELETE", f"{path}/openness").status_code == 200
    assert openness()[0] != "metadata_only"


def test_an_override_to_core_takes_the_record_out_of_every_output(cat: Catalog, prepared: OAIServer) -> None:
    rec_id = ids_of(prepared)["embargoed"]
    officer = audience_clients(cat)["officer"]
    resp = officer.request("POST", f"/api/v1/records/{rec_id}/overrides",
                           json={"tag": "security", "value": "core", "reason": "reclassified"})
    assert resp.status_code == 201
    error_of(officer.get(f"/api/v1/records/{rec_id}"), 404, "not_found")
    assert rec_id not in officer.all_ids()
    assert cat.store.records.raw(rec_id) is None and cat.store.records.gated_level(rec_id) == ("ncdc", "core")


# -- embargo on a controlled clock --------------------------------------------------------------------


def test_an_ended_embargo_flips_on_the_daily_job_and_on_the_next_harvest(
        cat: Catalog, prepared: OAIServer, tmp_path: Path) -> None:
    rec_id = ids_of(prepared)["embargoed"]
    stored = cat.store.records.get(rec_id)
    assert stored is not None and stored.access.openness.value == "embargoed"
    assert stored.access.embargo_until == EMBARGO_END

    cat.harvester.clock = lambda: date(2026, 5, 31)
    lifted = cat.harvester.maintenance.lift_embargoes()  # demo records whose own (earlier) ends have passed
    assert rec_id not in {r.id for r, _ in lifted}
    assert all("2026-01-01" < (r.access.embargo_until or "") <= "2026-05-31" for r, _ in lifted)
    assert all(r.access.openness.value == "open" for r, _ in lifted)
    cat.harvester.clock = lambda: date(2026, 6, 1)
    _lift_embargoes(cat)  # the scheduler's daily job
    stored = cat.store.records.get(rec_id)
    assert stored is not None and stored.access.openness.value == "open"
    assert stored.access.evidence[-1].rule == "embargo-lifted"
    assert rec_id in Client(cat).all_ids(openness="open")
    assert rec_id not in Client(cat).all_ids(openness="embargoed")

    # a fresh catalog harvesting after the end date tags it open at once
    later = Catalog.open(make_config(tmp_path / "later", [source_for(prepared)]))
    try:
        later.harvester.clock = lambda: date(2027, 1, 1)
        later.harvester.harvest()
        again = later.store.records.get(rec_id)
        assert again is not None and again.access.openness.value == "open"
    finally:
        later.close()


# -- CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def cli_config(cat: Catalog, tmp_path: Any) -> Iterator[str]:
    path = tmp_path / "fedcat.yaml"
    path.write_text(json.dumps({"data_dir": str(cat.config.data_path), "sources": [
        {"id": s.id, "name": s.name, "url": s.url, "policy": {"security": "general"}}
        for s in cat.config.sources]}), encoding="utf-8")
    yield str(path)


def test_cli_keys_are_shown_once_and_listed_without_secrets(cli_config: str, cat: Catalog,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", cli_config, "keys", "create", "--name", "lab-2", "--audience", "registered"]) == 0
    out = capsys.readouterr()
    secret = out.out.strip()  # stdout holds the key alone (KEY=$(fedcat keys create ...)); the note is on stderr
    assert secret.startswith("fck_") and "\n" not in secret and "shown once" in out.err
    assert cat.store.keys.verify(secret) is not None
    assert main(["--config", cli_config, "keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "lab-2" in listing and secret not in listing
    assert main(["--config", cli_config, "keys", "revoke", "lab-2"]) == 0
    assert cat.store.keys.verify(secret) is None


def test_cli_explain_prints_each_tag_with_its_evidence(cli_config: str, prepared: OAIServer,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rec_id = ids_of(prepared)["sensitive"]
    assert main(["--config", cli_config, "explain", rec_id, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["access"]["security"] == "sensitive"
    assert body["access"]["labels"]["security"] == "一般数据（受限）"
    assert {e["rule"] for e in body["access"]["evidence"]} >= {"human-genetic-resources", "zh-international"}
    assert main(["--config", cli_config, "explain", rec_id]) == 0
    out = capsys.readouterr().out
    assert "human-genetic-resources" in out and "human_genetic_resources" in out
    assert main(["--config", cli_config, "explain", ids_of(prepared)["core"]]) == 2
    assert "core" in capsys.readouterr().err


def test_withheld_links_are_withheld_from_the_citation_too() -> None:
    rec = Record(id="s:1", source_id="s", local_id="1", titles=[LangText("人类基因组样本数据")],
                 landing_page="http://127.0.0.1:1/dataset/1", access=Access(security=Security.SENSITIVE))
    rec.citation = gbt7714(rec)
    assert "/dataset/1" in rec.citation  # no DOI: the citation points at the landing page
    shaped = Caller(Audience.PUBLIC_DOMESTIC).shape_record(rec.to_dict(), rec)
    assert "/dataset/" not in json.dumps(shaped, ensure_ascii=False)
    assert Caller(Audience.REGISTERED).shape_record(rec.to_dict(), rec)["citation"] == rec.citation
