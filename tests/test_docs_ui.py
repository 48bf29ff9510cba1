"""The API docs page (Swagger UI) is served whole by fedcat: no script, style or request leaves the server.

The last test opens the page in a real headless Chromium (Debian's package, driven by Playwright) with
every request to another host refused. Without Chromium it is skipped, saying so, unless
FEDCAT_REQUIRE_BROWSER=1 (as in CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.api.docs_ui import script_hashes

from .web_helpers import Client

DOCS = "/api/v1/docs"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture
def cat(catalog_factory: Callable[[list[dict[str, Any]]], Catalog]) -> Catalog:
    return catalog_factory([])


def asset_urls(html: str) -> list[str]:
    """Every ``<script src>`` and ``<link href>`` of ``html``."""
    return re.findall(r'<script[^>]*\bsrc="([^"]*)"', html) + re.findall(r'<link[^>]*\bhref="([^"]*)"', html)


def directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_the_docs_page_loads_its_scripts_and_styles_from_this_server(cat: Catalog) -> None:
    resp = Client(create_app(cat)).get(DOCS)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    urls = asset_urls(resp.text)
    assert len(urls) >= 3  # the script, the stylesheet, the icon
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "http://" not in resp.text and "https://" not in resp.text


@pytest.mark.parametrize(("name", "kind", "least"), [("swagger-ui-bundle.js", "javascript", 500_000),
                                                    ("swagger-ui.css", "text/css", 50_000),
                                                    ("favicon.png", "image/png", 500)])
def test_each_asset_is_served_with_its_type(cat: Catalog, name: str, kind: str, least: int) -> None:
    client = Client(create_app(cat))
    assert f"{DOCS}/assets/{name}" in asset_urls(client.get(DOCS).text)
    resp = client.get(f"{DOCS}/assets/{name}")
    assert resp.status_code == 200
    assert kind in resp.headers["content-type"]
    assert len(resp.content) >= least
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_an_unknown_asset_is_a_404_in_the_envelope(cat: Catalog) -> None:
    resp = Client(create_app(cat)).get(f"{DOCS}/assets/nope.js")
    assert resp.status_code == 404 and resp.json()["error"]["status"] == 404


def test_the_docs_policy_names_no_other_host_and_only_the_pages_own_inline_script(cat: Catalog) -> None:
    resp = Client(create_app(cat)).get(DOCS)
    policy = directives(resp.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    for name in ("style-src", "connect-src"):
        assert policy[name] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    hashes = script_hashes(resp.text)
    assert len(hashes) == 1
    assert policy["script-src"] == ["'self'", *hashes]
    for sources in policy.values():
        for source in sources:
            assert source in {"'self'", "'none'", "data:"} or source.startswith("'sha256-"), source
            assert "unsafe" not in source


def test_the_docs_routes_take_any_query_parameter(cat: Catalog) -> None:
    client = Client(create_app(cat))
    assert client.get(DOCS, {"utm_source": "mail"}).status_code == 200
    assert client.get(f"{DOCS}/assets/swagger-ui.css", {"v": "1"}).status_code == 200


def test_the_openapi_document_is_still_served_and_lists_no_docs_route(cat: Catalog) -> None:
    resp = Client(create_app(cat)).get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.") and "/api/v1/search" in doc["paths"]
    assert not any(path.startswith(DOCS) for path in doc["paths"])


def test_the_docs_page_honours_the_root_path(cat: Catalog) -> None:
    from fedcat.api.docs_ui import docs_page

    html = bytes(docs_page(create_app(cat), "/fedcat/").body).decode()
    assert "url: '/fedcat/api/v1/openapi.json'" in html
    assert all(url.startswith("/fedcat/api/v1/docs/assets/") for url in asset_urls(html))


# --- a real browser, offline ------------------------------------------------------------------------


def chromium_path() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    message = "Chromium is not installed: `apt-get install -y chromium fonts-wqy-zenhei` (as .ci/run does)"
    if os.environ.get("FEDCAT_REQUIRE_BROWSER") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message + "; browser tests skipped")


@pytest.fixture
def base_url(cat: Catalog) -> Iterator[str]:
    chromium_path()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(cat), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the app did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def test_the_docs_page_renders_the_operations_with_no_other_host(browser: Any, base_url: str) -> None:
    page = browser.new_page()
    refused: list[str] = []
    problems: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.goto(f"{base_url}{DOCS}")
    search = page.locator('.opblock .opblock-summary-path[data-path="/api/v1/search"]')
    search.wait_for(state="visible", timeout=15_000)
    assert page.locator(".opblock").count() >= 5
    assert "fedcat" in page.inner_text(".info .title")
    assert refused == []
    assert problems == []
    page.close()
