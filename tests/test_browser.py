"""The web pages in a real headless Chromium (Debian's package, driven by Playwright).

Flow: search → facet click → record page → dashboard charts; keyboard use; a
narrow screen. Screenshots go to test-output/browser/. Without Chromium these
tests are skipped, saying so, unless FEDCAT_REQUIRE_BROWSER=1: .ci/run installs
Chromium and sets it, so in CI a missing browser is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn

from fedcat.api.app import create_app

from .web_helpers import World, harvested_world

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "browser"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    message = "Chromium is not installed: `apt-get install -y chromium fonts-wqy-zenhei` (as .ci/run does)"
    if os.environ.get("FEDCAT_REQUIRE_BROWSER") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message + "; browser tests skipped")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    chromium_path()
    with harvested_world(tmp_path_factory.mktemp("browser")) as w:
        yield w


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(world.catalog), host="127.0.0.1", port=port,
                                           log_level="warning"))
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


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_search_facet_record_dashboard(browser: Any, base_url: str, world: World) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base_url}/?lang=zh")
    page.fill("#q", "冰川")
    page.press("#q", "Enter")
    page.wait_for_url("**/?q=*")
    assert parse_qs(urlsplit(page.url).query)["q"] == ["冰川"]
    total = int(page.inner_text(".total strong"))
    assert total > 0 and page.locator(".hit mark").count() > 0
    shot(page, "1-search")

    facet = page.locator('[data-facet="openness"] a.facet-value').first
    expected = int(facet.locator(".count").inner_text())
    facet.click()
    page.wait_for_url("**openness=*")
    assert int(page.inner_text(".total strong")) == expected
    assert page.locator('[data-facet="openness"] a[aria-current="true"]').count() == 1
    for badge in page.locator(".hit .badges .badge:first-child").all_inner_texts():
        assert badge == page.locator('[data-facet="openness"] a[aria-current="true"]').inner_text().split()[1]
    shot(page, "2-facet")

    page.locator(".hit h3 a").first.click()
    page.wait_for_url("**/record/**")
    data = json.loads(page.locator('script[type="application/ld+json"]').inner_text())
    assert data["@type"] == "Dataset" and page.inner_text("h1") == data["name"]
    assert page.locator(".evidence details").count() == 3 and "[DS/OL]" in page.inner_text(".citation")
    shot(page, "3-record")

    page.locator(".record .meta a").first.click()
    page.wait_for_url("**/centers/*")
    charts = page.locator("svg.chart:visible")  # the trend is drawn wide and narrow; one of them shows
    assert charts.count() == 5
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 40  # laid out, visible
    assert page.locator("svg.chart rect.bar").count() > 5
    assert page.locator("#chart-trend circle.dot").count() >= 1
    shot(page, "4-dashboard")
    page.close()


def test_login_walls_show_on_the_marine_dashboard(browser: Any, base_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base_url}/centers/marine?lang=en")
    headline = page.locator(".card.headline .v").inner_text()
    assert int(headline) > 0
    assert page.locator("#chart-reachability rect.seg").count() >= 2
    assert page.locator("#chart-trend circle.dot").count() >= 2  # two runs
    shot(page, "5-dashboard-marine-en")
    page.goto(f"{base_url}/centers")
    assert page.locator("table.ranking tbody tr").count() == 5
    shot(page, "6-centers")
    page.close()


def test_keyboard(browser: Any, base_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base_url}/?q=genome")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    link = page.locator('[data-facet="source"] a.facet-value').first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**source=*")
    first_hit = page.locator(".hit h3 a").first
    first_hit.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/record/**")
    page.locator(".evidence summary").nth(1).focus()
    page.keyboard.press("Enter")
    assert page.locator(".evidence details").nth(1).get_attribute("open") is not None
    page.close()


#: Elements that stick out of the viewport, or out of a chart they are drawn in, unless they sit inside a box
#: that scrolls sideways (a wide table in its own scroll box is fine; a bar cut off at the screen edge is not).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => { for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return a; } return null; };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.getAttribute('class') ? '.' + el.getAttribute('class').trim().split(/\\s+/).join('.') : '');
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if ((r.width === 0 && r.height === 0) || r.right <= 0) continue;  // hidden, or parked off screen (skip link)
    const svg = el.closest('svg');
    if (svg && el !== svg) { const b = svg.getBoundingClientRect();
      if (r.right > b.right + 1 || r.left < b.left - 1) out.push(name(el) + ' outside ' + name(svg));
      const vb = svg.viewBox.baseVal;  // drawn past the viewBox: clipped, though the box itself fits
      if (vb && vb.width && el.getBBox) { const u = el.getBBox();
        if (u.x < -0.5 || u.x + u.width > vb.width + 0.5) out.push(name(el) + ' clipped: ' + el.textContent); } }
    const box = scrolls(el);
    if (box) { const b = box.getBoundingClientRect();
      if (b.right > width + 1) out.push(name(box) + ' (scroll box)'); continue; }
    if (r.right > width + 1 || r.left < -1) { out.push(name(el) + ' right=' + Math.round(r.right)); continue; }
  }
  return [...new Set(out)];
}"""

NARROW_PAGES = ["/?q=genome", "/?q=冰川&source=ncdc&page=2", "/centers/marine", "/centers", "/centers/meteo",
                "/key"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", NARROW_PAGES)
def test_narrow_screen_nothing_sticks_out(browser: Any, base_url: str, path: str, lang: str) -> None:
    page = browser.new_page(viewport={"width": 400, "height": 900})
    page.goto(base_url + path + ("&" if "?" in path else "?") + f"lang={lang}")
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    name = "7-narrow" + path.replace("/", "-").replace("?", "-").replace("=", "-").replace("&", "-")
    shot(page, f"{name}-{lang}")
    page.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", ["/centers/marine", "/centers"])
def test_wide_dashboards_draw_every_label_whole(browser: Any, base_url: str, path: str, lang: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base_url}{path}?lang={lang}")
    assert page.evaluate(OVERFLOWING) == []
    shot(page, f"6-wide{path.replace('/', '-')}-{lang}")
    page.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_wide_search_page_controls(browser: Any, base_url: str, lang: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base_url}/?q=genome&lang={lang}")
    assert page.evaluate(OVERFLOWING) == []
    assert page.locator(".sort a").count() == 3 and page.locator(".sort a.current").count() == 1
    assert page.locator(".pager .where").count() == 1 and page.locator('.pager a[rel="next"]').count() == 1
    page.locator('.pager a[rel="next"]').click()
    page.wait_for_url("**page=2*")
    assert page.locator('.pager a[rel="prev"]').count() == 1
    with page.expect_download() as download:
        page.locator(".export a.button").first.click()
    assert download.value.suggested_filename == "fedcat-export.csv"
    shot(page, f"8-search-controls-{lang}")
    page.close()


@pytest.mark.parametrize("path", ["/?q=genome", "/centers/marine", "/centers"])
def test_narrow_screen(browser: Any, base_url: str, path: str) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(base_url + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    name = "7-narrow" + path.replace("/", "-").replace("?", "-").replace("=", "-")
    shot(page, name)
    page.close()


@pytest.mark.parametrize(("width", "lang"), [(1400, "zh"), (1400, "en"), (400, "zh"), (400, "en")])
def test_review_queue_for_officers(browser: Any, base_url: str, world: World, width: int, lang: str) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900},
                            extra_http_headers={"Authorization": f"Bearer {world.keys['officer']}"})
    page.goto(f"{base_url}/review?lang={lang}")
    items = page.locator("li.queue-item")
    expected = len(world.catalog.decisions.review_queue())
    assert expected > 0 and items.count() == expected
    assert page.locator("h1 .count").inner_text() == str(expected)
    first = items.first
    box = first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 60
    table = first.locator("ul.why")
    assert table.is_visible() and "human-genetic-review" in table.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.locator('nav a[href="/review"]').count() == 1
    shot(page, f"8-review-{width}-{lang}")
    page.close()

    anonymous = browser.new_page(viewport={"width": width, "height": 900})
    resp = anonymous.goto(f"{base_url}/review?lang={lang}")
    assert resp is not None and resp.status == 403
    assert anonymous.locator('nav a[href="/review"]').count() == 0
    anonymous.close()


def test_the_key_form_works_in_a_real_browser_under_the_content_policy(
        browser: Any, base_url: str, world: World) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    resp = page.goto(f"{base_url}/key?lang=en")
    assert resp is not None and "default-src 'none'" in resp.headers["content-security-policy"]
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "flex"  # CSS loaded
    page.fill("#key", world.keys["officer"])
    page.click("form.keyform button[type=submit]")
    page.wait_for_url("**/centers")
    assert page.inner_text("nav .who") == "Officer"  # the audience named for humans (English: the language cookie)
    assert page.locator('nav a[href="/review"]').count() == 1
    page.goto(f"{base_url}/key")
    page.click("form:not(.keyform) button[type=submit]")
    page.wait_for_url("**/centers")
    assert page.locator('nav a[href="/review"]').count() == 0
    assert not [e for e in errors if "Content Security Policy" in e]
    page.close()


def test_copy_buttons_copy_the_citation_and_bibtex(browser: Any, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{base_url}/?q=glacier")
    page.locator(".hit h3 a").first.click()
    page.wait_for_url("**/record/**")
    buttons = page.locator("button.copy")
    assert buttons.count() == 2 and buttons.first.is_visible()  # shown once the script runs under the CSP
    buttons.first.click()
    assert page.evaluate("navigator.clipboard.readText()") == page.inner_text("#citation-text").strip()
    assert buttons.first.inner_text() == "已复制"
    buttons.nth(1).click()
    assert page.evaluate("navigator.clipboard.readText()").startswith("@misc{")
    assert errors == []
    shot(page, "3-record-copied")
    context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_record_page_fits_a_narrow_screen(browser: Any, base_url: str, lang: str) -> None:
    page = browser.new_page(viewport={"width": 400, "height": 900})
    page.goto(f"{base_url}/?q=glacier&lang={lang}")
    page.locator(".hit h3 a").first.click()
    page.wait_for_url("**/record/**")
    for i in range(page.locator(".evidence details").count()):
        page.locator(".evidence summary").nth(i).click()  # every evidence table open
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    shot(page, f"9-record-narrow-{lang}")
    page.close()


def test_the_search_box_fills_its_suggestions_under_the_content_policy(browser: Any, base_url: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    answers: list[str] = []  # what the page asked for and got, to say why when no option comes
    page.on("response", lambda r: answers.append(f"{r.status} {r.url}") if "/api/v1/suggest" in r.url else None)
    page.goto(f"{base_url}/?lang=en")
    page.locator("#q").press_sequentially("冰川", delay=20)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector("#q-suggestions option", state="attached", timeout=15000)
    except PlaywrightTimeout as exc:  # say what the page asked for and got
        raise AssertionError(f"no suggestion shown; suggest answers: {answers}; console errors: {errors}") from exc
    options = [page.locator("#q-suggestions option").nth(i).get_attribute("value")
               for i in range(page.locator("#q-suggestions option").count())]
    assert options and all("冰川" in (o or "") for o in options[:2]), options
    assert not [e for e in errors if "Content Security Policy" in e], errors
    page.close()
