"""Harvested text is untrusted: links only through the scheme allowlist, JSON-LD that cannot break out of
its script, CSV cells that cannot run as formulas, and security headers on every response."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import date
from typing import Any

import pytest

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.harvester.citation import bibtex, gbt7714
from fedcat.harvester.config import Audience
from fedcat.harvester.links import safe_url
from fedcat.harvester.model import Access, GeoScope, Identifiers, LangText, Licence, Openness, Record, Security
from fedcat.harvester.store import PageItem, RunReport

from .web_helpers import Client

EVIL_LICENCE = "javascript:alert(document.domain)//creativecommons.org/licenses/by/4.0/"
EVIL_TITLE = "冰川<!--<script>alert(1)</script>"


@pytest.mark.parametrize(("value", "expected"), [
    ("https://data.example.cn/ds/1", "https://data.example.cn/ds/1"),
    ("http://127.0.0.1:9/x", "http://127.0.0.1:9/x"),
    ("ftp://ftp.example.cn/pub/a.nc", "ftp://ftp.example.cn/pub/a.nc"),
    (EVIL_LICENCE, None),
    ("JavaScript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    (" javascript:alert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ("vbscript:msgbox(1)", None),
    ("//evil.example/x", None),
    ("https:/\\evil.example", None),
    ("/relative/path", None),
    ("", None),
    (None, None),
])
def test_the_scheme_allowlist(value: str | None, expected: str | None) -> None:
    assert safe_url(value) == expected


def hostile_record() -> Record:
    return Record(
        id="evil:1", source_id="evil", local_id="1", titles=[LangText(EVIL_TITLE, "zh")],
        descriptions=[LangText("=HYPERLINK(\"http://evil.example\")", "zh")],
        licence=Licence(normalised="CC-BY-4.0", raw="CC BY 4.0", url=EVIL_LICENCE),
        landing_page="javascript:alert('landing')", access_url="javascript:alert('access')",
        identifiers=Identifiers(), year=2024,
        access=Access(openness=Openness.OPEN, geo_scope=GeoScope.INTERNATIONAL, security=Security.GENERAL))


@pytest.fixture
def cat(catalog_factory: Any) -> Catalog:
    catalog: Catalog = catalog_factory([])
    catalog.harvester.clock = lambda: date(2026, 1, 1)
    run = catalog.store.runs.start_run(RunReport(source_id="evil", full=True))
    catalog.store.store_page(run, [PageItem(hostile_record(), None)], checkpoint=None)
    catalog.harvester.feeder.catch_up()
    return catalog


def test_a_record_page_never_links_a_harvested_javascript_url(cat: Catalog) -> None:
    _, key = cat.store.keys.create("lab", Audience.REGISTERED)
    page = Client(create_app(cat)).get("/record/evil:1", headers={"Authorization": f"Bearer {key}"})
    assert page.status_code == 200, page.text
    html = page.text
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and not [h for h in hrefs if not h.startswith(("/", "#", "http://", "https://", "ftp://"))]
    assert "javascript:" not in " ".join(hrefs).lower()
    assert "javascript:alert(&#39;landing&#39;)" in html  # shown as text
    assert "CC-BY-4.0" in html


def test_json_ld_cannot_break_out_of_its_script(cat: Catalog) -> None:
    html = Client(create_app(cat)).get("/record/evil:1").text
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(scripts) == 1
    assert "<" not in scripts[0] and ">" not in scripts[0]
    data = json.loads(scripts[0])
    assert data["name"] == EVIL_TITLE
    assert "url" not in data and data["license"] == "https://spdx.org/licenses/CC-BY-4.0"
    assert html.count("<h1") == 1 and "</main>" in html  # the page after the script is intact


def test_citations_and_csv_hold_no_unsafe_link_and_no_formula(cat: Catalog) -> None:
    rec = hostile_record()
    assert "javascript" not in bibtex(rec) and "javascript" not in gbt7714(rec)
    body = Client(create_app(cat)).get("/api/v1/export", {"format": "csv"}).text
    assert body.startswith("\ufeff")  # spreadsheets read it as UTF-8: Chinese intact
    (row,) = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert row["landing_page"] == ""
    assert not row["title"].startswith(("=", "+", "-", "@"))


@pytest.mark.parametrize("path", ["/", "/record/evil:1", "/centers", "/api/v1/search", "/api/v1/nope",
                                  "/api/v1/docs"])
def test_every_response_carries_the_security_headers(cat: Catalog, path: str) -> None:
    resp = Client(create_app(cat)).get(path)
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    policy = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "unsafe" not in policy and "http" not in policy
    if path != "/api/v1/docs":
        assert "script-src 'self';" in policy  # the pages' one script file (copy buttons), no inline code
    else:  # its scripts: this server's, and its own start-up script named by hash
        assert "unsafe" not in policy and "http" not in policy and "script-src 'self' 'sha256-" in policy


@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/export"])
@pytest.mark.parametrize("year", ["9223372036854775808", "99999", "0", "-1"])
def test_an_out_of_range_year_is_a_400_naming_the_parameter(cat: Catalog, path: str, year: str) -> None:
    resp = Client(create_app(cat)).get(path, {"year": year})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["parameter"] == "year"


def test_an_out_of_range_year_on_the_search_page_is_a_400_page(cat: Catalog) -> None:
    resp = Client(create_app(cat)).get("/", {"year": "9223372036854775808"})
    assert resp.status_code == 400 and "year" in resp.text


def test_a_deeply_nested_cursor_is_a_400(cat: Catalog) -> None:
    nested = base64.urlsafe_b64encode(("[" * 2500 + "]" * 2500).encode()).decode().rstrip("=")
    resp = Client(create_app(cat)).get("/api/v1/search", {"cursor": nested[:4000]})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["parameter"] == "cursor"
    # the search page pages by number; a cursor (which it never sends) is not read at all
    assert Client(create_app(cat)).get("/", {"cursor": nested[:4000]}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/export"])
@pytest.mark.parametrize(("name", "value"), [("openness", "opne"), ("geo_scope", "abroad"), ("security", "top")])
def test_a_misspelt_vocabulary_value_is_a_400_naming_the_allowed_values(
        cat: Catalog, path: str, name: str, value: str) -> None:
    resp = Client(create_app(cat)).get(path, {name: value})
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["parameter"] == name and "allowed:" in err["message"] and value in err["message"]
    page = Client(create_app(cat)).get("/", {name: value})
    assert page.status_code == 400 and "allowed:" in page.text
