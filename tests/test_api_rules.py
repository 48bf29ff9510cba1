"""The same request rules on every route: unknown parameters refused, 405 with Allow, the OpenAPI document
describing the error envelope, and a hidden record indistinguishable from a missing one."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.harvester.config import Audience
from fedcat.harvester.model import Access, GeoScope, Identifiers, LangText, Openness, Record, Security
from fedcat.harvester.store import PageItem, RunReport

from .web_helpers import Client


def record(local_id: str, security: Security) -> Record:
    return Record(
        id=f"lab:{local_id}", source_id="lab", local_id=local_id, titles=[LangText(f"冰川数据 {local_id}", "zh")],
        identifiers=Identifiers(), year=2024,
        access=Access(openness=Openness.OPEN, geo_scope=GeoScope.INTERNATIONAL, security=security))


@pytest.fixture
def cat(catalog_factory: Any) -> Catalog:
    catalog: Catalog = catalog_factory([])
    catalog.harvester.clock = lambda: date(2026, 1, 1)
    run = catalog.store.runs.start_run(RunReport(source_id="lab", full=True))
    catalog.store.store_page(run, [PageItem(record("open", Security.GENERAL), None),
                                   PageItem(record("hidden", Security.IMPORTANT), None)], checkpoint=None)
    catalog.harvester.feeder.catch_up()
    return catalog


def test_a_hidden_record_costs_the_same_work_as_a_missing_one(cat: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    """Timing cannot confirm a guessed id: a hidden record is never read or parsed, as a missing one is not."""
    parsed: list[str] = []
    real = Record.from_json

    def counting(text: str | bytes) -> Record:
        rec = real(text)
        parsed.append(rec.id)
        return rec

    monkeypatch.setattr(Record, "from_json", staticmethod(counting))
    client = Client(create_app(cat))
    hidden = client.get("/api/v1/records/lab:hidden")
    missing = client.get("/api/v1/records/lab:nothing")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"].replace("lab:hidden", "X") == \
        missing.json()["error"]["message"].replace("lab:nothing", "X")
    assert parsed == []
    assert client.get("/record/lab:hidden").status_code == 404 and parsed == []
    assert client.get("/api/v1/records/lab:open").status_code == 200 and parsed == ["lab:open"]


def api_get_routes(client: Client) -> list[str]:
    """Every GET route the API documents, with its path parameters filled in."""
    fill = {"{record_id}": "lab:open", "{center_id}": "lab", "{tag}": "security"}
    paths = []
    for path, operations in client.get("/api/v1/openapi.json").json()["paths"].items():
        if "get" in operations:
            for name, value in fill.items():
                path = path.replace(name, value)
            paths.append(path)
    return sorted(paths)


def test_every_api_route_refuses_an_unknown_parameter(cat: Catalog) -> None:
    client = Client(create_app(cat))
    paths = api_get_routes(client) + ["/api/v1/health", "/api/v1"]
    for must in ("/api/v1/harvests", "/api/v1/sources", "/api/v1/whoami", "/api/v1/records/lab:open",
                 "/api/v1/search", "/api/v1/export", "/api/v1/centers"):
        assert must in paths
    for path in paths:
        resp = client.get(path, {"frobnicate": "1"})
        assert resp.status_code == 400, (path, resp.text)
        assert resp.json()["error"] == {"status": 400, "code": "bad_parameter", "parameter": "frobnicate",
                                        "message": resp.json()["error"]["message"]}, path
    # the declared ones still work, and one given twice that takes one value is refused
    assert client.get("/api/v1/harvests", {"limit": "5"}).status_code == 200
    assert client.get("/api/v1/harvests", [("limit", "5"), ("limit", "6")]).status_code == 400
    assert client.get("/api/v1/search", [("openness", "open"), ("openness", "registered")]).status_code == 200
    # web pages accept what links from elsewhere add
    assert client.get("/", {"utm_source": "mail"}).status_code == 200


def test_a_405_names_the_allowed_methods(cat: Catalog) -> None:
    resp = Client(create_app(cat)).post("/api/v1/search", b"")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET"
    assert resp.json()["error"]["code"] == "method_not_allowed"


def test_the_openapi_document_describes_the_error_envelope_and_the_csv_type(cat: Catalog) -> None:
    doc = Client(create_app(cat)).get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    envelope = doc["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["properties"]["error"]["$ref"] == "#/components/schemas/ErrorBody"
    assert set(doc["components"]["schemas"]["ErrorBody"]["required"]) == {"status", "code", "message"}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert "422" not in op["responses"], (method, path)
            assert op["responses"]["400"]["content"]["application/json"]["schema"] == \
                {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path)
    assert "404" in doc["paths"]["/api/v1/records/{record_id}"]["get"]["responses"]
    assert "403" in doc["paths"]["/api/v1/audit"]["get"]["responses"]
    export = doc["paths"]["/api/v1/export"]["get"]["responses"]["200"]["content"]
    assert {"text/csv", "application/x-ndjson"} <= set(export)
    assert "text/csv" in doc["paths"]["/api/v1/centers"]["get"]["responses"]["200"]["content"]


def test_a_revoked_key_is_refused_on_every_route(cat: Catalog) -> None:
    _, key = cat.store.keys.create("lab", Audience.REGISTERED)
    cat.store.keys.revoke("lab")
    client = Client(create_app(cat))
    for path in api_get_routes(client):
        resp = client.get(path, headers={"Authorization": f"Bearer {key}"})
        assert resp.status_code == 401, (path, resp.status_code)
        assert resp.json()["error"]["code"] == "unauthorized"


def test_a_facet_value_too_long_is_a_400_on_the_api_as_on_the_page(cat: Catalog) -> None:
    client = Client(create_app(cat))
    for path in ("/api/v1/search", "/api/v1/export", "/"):
        assert client.get(path, {"subject": "x" * 201}).status_code == 400, path
        assert client.get(path, {"subject": "x" * 200}).status_code == 200, path
