"""The web pages through the real app (ASGI): they show what the API shows the same caller, no more."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from fedcat.api.app import create_app
from fedcat.api.deps import KEY_COOKIE
from fedcat.api.web.dashboard import trend_chart
from fedcat.api.web.i18n import Lang, Translator
from fedcat.harvester.config import Audience

from .web_helpers import Client, World, harvested_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with harvested_world(tmp_path_factory.mktemp("web")) as w:
        yield w


@pytest.fixture(scope="module")
def web(world: World) -> Client:
    return Client(create_app(world.catalog))


def jsonld(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert m, "no JSON-LD in the page"
    data: dict[str, Any] = json.loads(m.group(1))
    return data


def total_of(html: str) -> int:
    m = re.search(r'<p class="total"><strong>(\d+)</strong>', html)
    assert m
    return int(m.group(1))


def test_search_page_agrees_with_the_api(web: Client) -> None:
    page = web.get("/", {"q": "冰川", "openness": "open"})
    api = web.get("/api/v1/search", {"q": "冰川", "openness": "open", "size": 20}).json()
    assert page.status_code == 200 and total_of(page.text) == api["total"]
    for hit in api["hits"]:
        assert f'href="/record/{hit["id"]}"' in page.text
    assert "<mark>" in page.text  # highlighted snippets
    for bucket in api["facets"]["source"]:
        assert f'<span class="count">{bucket["count"]}</span>' in page.text
    assert 'data-facet="security"' not in page.text  # anonymous callers see one level only
    assert 'aria-current="true"' in page.text  # the selected facet value


def _link(html: str, rel: str) -> str | None:
    m = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return m.group(1).replace("&amp;", "&") if m else None


def test_paging_goes_forward_and_back_and_says_where_you_are(web: Client) -> None:
    first = web.get("/", {"q": "genome"})
    total = int(re.search(r"<strong>(\d+)</strong>", first.text).group(1))
    pages = -(-total // 20)
    assert pages > 1 and f"第 1 / {pages} 页" in first.text
    assert _link(first.text, "prev") is None
    url = _link(first.text, "next")
    assert url == "/?q=genome&page=2"
    second = web.get(url)
    assert second.status_code == 200 and f"第 2 / {pages} 页" in second.text
    ids1 = set(re.findall(r'href="/record/([^"]+)"', first.text))
    ids2 = set(re.findall(r'href="/record/([^"]+)"', second.text))
    assert ids1 and ids2 and not ids1 & ids2
    assert _link(second.text, "prev") == "/?q=genome"
    last = web.get("/", {"q": "genome", "page": str(pages)})
    assert _link(last.text, "next") is None and _link(last.text, "prev")
    # a page number out of range, or not a number, is a 400 page naming it
    for bad in ("0", "x", "501"):
        resp = web.get("/", {"q": "genome", "page": bad})
        assert resp.status_code == 400 and "<html" in resp.text and "page" in resp.text


def test_sort_control_and_export_button_keep_the_query(web: Client) -> None:
    page = web.get("/", {"q": "genome", "source": "ngdc"})
    sorts = dict((label, url.replace("&amp;", "&")) for url, label in
                 re.findall(r'<a href="([^"]+)"[^>]*>(相关度|最新|最早)</a>', page.text))
    assert sorts == {"相关度": "/?q=genome&source=ngdc", "最新": "/?q=genome&source=ngdc&sort=newest",
                     "最早": "/?q=genome&source=ngdc&sort=oldest"}
    assert 'aria-current="true" class="current">相关度' in page.text
    oldest = web.get(sorts["最早"])
    years = [int(y) for y in re.findall(r" · (\d{4})\s", oldest.text)]
    assert years and years == sorted(years)
    exports = [u.replace("&amp;", "&") for u in re.findall(r'<a class="button" href="([^"]+)"', page.text)]
    assert exports == ["/export?q=genome&source=ngdc&format=csv", "/export?q=genome&source=ngdc&format=jsonl"]
    csv_body = web.get(exports[0])
    assert csv_body.status_code == 200 and csv_body.text.startswith("\ufeff")
    assert csv_body.headers["content-type"].startswith("text/csv")
    rows = csv_body.text.strip().splitlines()[1:]
    assert len(rows) == int(re.search(r"<strong>(\d+)</strong>", page.text).group(1))
    assert web.get("/export", {"q": "genome", "format": "xml"}).status_code == 400


def test_links_are_rebuilt_from_the_validated_query_not_repeated_raw(web: Client) -> None:
    """A 60 KB q is cut once to the length limit: no link on the page repeats the raw text."""
    huge = "glacierx " * 6_600  # 60 KB of a word no record holds: the page is the links alone
    page = web.get("/", {"q": huge, "junk": "x" * 2_000})
    assert page.status_code == 200
    assert len(page.text) < 60_000 and page.text.count("glacier") < 1_000
    assert "x" * 100 not in page.text
    assert web.get("/", {"subject": "x" * 300}).status_code == 400


def test_hits_link_their_doi_and_cstr_and_the_audience_has_a_name(web: Client) -> None:
    page = web.get("/", {"q": "", "source": "ngdc"})
    assert re.search(r'DOI <a href="https://doi\.org/10\.[^"]+">10\.', page.text)
    assert re.search(r'<a href="https://cstr\.cn/\d{5}\.\d{2}\.[^"]+">CSTR:', page.text)
    assert "公众（境内外）" in page.text and ">public_international<" not in page.text
    assert "Public (anyone)" in web.get("/", {"lang": "en"}).text


def test_hidden_records_stay_hidden(web: Client, world: World) -> None:
    for name in ("important", "domestic", "sensitive"):
        rid = world.ids[name]
        assert web.get(f"/record/{rid}").status_code == 404
        assert web.get(f"/api/v1/records/{rid}").status_code == 404
        assert rid not in web.get("/", {"source": "marine", "q": ""}).text
    core = web.get(f"/record/{world.ids['core']}", cookies={KEY_COOKIE: world.keys["officer"]})
    assert core.status_code == 404  # core: never shown, to anyone


def test_key_cookie_raises_the_audience(web: Client, world: World) -> None:
    officer = {KEY_COOKIE: world.keys["officer"]}
    before = len(world.catalog.store.audit.entries())
    page = web.get(f"/record/{world.ids['important']}", cookies=officer)
    assert page.status_code == 200 and "重要数据" in page.text
    assert len(world.catalog.store.audit.entries()) == before + 1  # an officer's read is audited
    search = web.get("/", {"source": "marine"}, cookies=officer)
    assert 'data-facet="security"' in search.text
    assert total_of(search.text) == web.get("/api/v1/search", {"source": "marine"},
                                            headers={"X-API-Key": world.keys["officer"]}).json()["total"]
    assert web.get("/", cookies={KEY_COOKIE: "fck_nope_nope"}).status_code == 401
    # the cookie is for the pages only: the API ignores it
    assert web.get(f"/api/v1/records/{world.ids['important']}", cookies=officer).status_code == 404


def test_links_are_withheld_as_in_the_api(world: World) -> None:
    cat = world.catalog
    domestic_cat = dataclasses.replace(cat, config=dataclasses.replace(
        cat.config, api=dataclasses.replace(cat.config.api, anonymous_audience=Audience.PUBLIC_DOMESTIC)))
    web = Client(create_app(domestic_cat))
    rid = world.ids["sensitive"]
    rec = cat.store.records.get(rid)
    assert rec is not None and rec.landing_page
    api = web.get(f"/api/v1/records/{rid}").json()
    assert "landing_page" not in api
    page = web.get(f"/record/{rid}")
    assert page.status_code == 200 and rec.landing_page not in page.text
    assert "url" not in jsonld(page.text) and "访问链接仅向注册用户显示" in page.text
    registered = web.get(f"/record/{rid}", cookies={KEY_COOKIE: world.keys["registered"]})
    assert rec.landing_page in registered.text and jsonld(registered.text)["url"] == rec.landing_page


def test_record_page(web: Client, world: World) -> None:
    rec = next(r for r in world.catalog.store.records.iter_records("ncdc") if r.identifiers.doi and r.creators)
    page = web.get(f"/record/{rec.id}")
    assert page.status_code == 200
    data = jsonld(page.text)
    assert data["@type"] == "Dataset" and data["name"] == rec.title
    assert f"https://doi.org/{rec.identifiers.doi}" in data["identifier"]
    assert f'href="https://doi.org/{rec.identifiers.doi}"' in page.text
    assert rec.identifiers.cstr and f'href="https://cstr.cn/{rec.identifiers.cstr[5:]}"' in page.text
    assert "[DS/OL]" in page.text and "@misc{" in page.text
    for ev in rec.access.evidence:
        assert ev.rule in page.text  # why each badge has its value
    assert web.get("/record/ncdc:does-not-exist").status_code == 404


def test_dashboards(web: Client, world: World) -> None:
    for src in world.catalog.config.sources:
        page = web.get(f"/centers/{src.id}")
        assert page.status_code == 200, src.id
        assert page.text.count('<svg class="chart') == 6  # four charts, and the trend drawn wide and narrow
        m = web.get(f"/api/v1/centers/{src.id}/metrics").json()["metrics"]
        assert f'<span class="v">{m["reachability"]["unreachable"]}</span>' in page.text
    marine = web.get("/centers/marine").text
    assert marine.count('class="dot s0"') == 4  # two runs, two snapshots, in each of the trend's two drawings
    assert world.ids["important"] not in marine
    assert web.get("/centers/nowhere").status_code == 404
    overview = web.get("/centers")
    assert overview.status_code == 200 and overview.text.count('<a href="/centers/') >= 5


def test_dashboard_details_a_reader_needs(web: Client, world: World) -> None:
    marine = web.get("/centers/marine").text
    # the unreachable records are listed by title, with their ids
    m = web.get("/api/v1/centers/marine/metrics").json()["metrics"]
    first = m["reachability"]["unreachable_ids"][0]
    title = world.catalog.store.records.get(first).title
    assert f'<a href="/record/{first}">{title}</a>' in marine
    # the ranking score says how it is made, from the weights the API publishes
    weights = web.get("/api/v1/metrics/ranking").json()["weights"]
    assert "得分（0–100）= 30% × 开放比例 + 20% × 可访问比例" in marine and weights["open_share"] == 0.3
    # timestamps for people, dates under the trend's axis
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", marine) and "T0" not in re.sub(r"<[^>]+>", "", marine)
    assert re.search(r'<text class="note tick"[^>]*>\d{2}-\d{2} \d{2}:\d{2}</text>', marine)
    # the first run's point was taken again after the link check: it agrees with the cards
    history = web.get("/api/v1/centers/marine/metrics/history").json()["snapshots"]
    assert len(history) == 2 and all(h["metrics"]["reachability"]["checked"] for h in history)
    assert marine.count('class="dot s2"') == 4  # two runs, drawn wide and narrow
    # and a run no link check has reached has no reachability point (not a 0% one)
    unchecked = copy.deepcopy(history[0])
    unchecked["metrics"]["reachability"]["checked"] = 0
    assert str(trend_chart(Translator(Lang.ZH), [unchecked, history[1]])).count('class="dot s2"') == 2


def test_language_toggle(web: Client) -> None:
    en = web.get("/centers", {"lang": "en"})
    assert "Openness dashboard" in en.text and 'lang="en"' in en.text
    assert "fedcat_lang=en" in en.headers.get("set-cookie", "")
    zh = web.get("/centers", cookies={"fedcat_lang": "zh"})
    assert "开放度看板" in zh.text and 'lang="zh-CN"' in zh.text


def test_key_form_sets_a_strict_cookie(web: Client, world: World) -> None:
    resp = web.post("/key", {"key": world.keys["registered"]})
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"]
    assert f"{KEY_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert web.post("/key", {"key": "fck_bad_key"}).status_code == 401
    same_site = web.post("/key", {"key": world.keys["registered"]}, headers={"Origin": "http://test"})
    assert same_site.status_code == 303 and "Secure" not in same_site.headers["set-cookie"]
    over_https = web.post("/key", {"key": world.keys["registered"]}, base_url="https://test")
    assert "Secure" in over_https.headers["set-cookie"]


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Referer": "https://evil.example/page.html"}])
@pytest.mark.parametrize("form", ["set", "forget"])
def test_a_cross_site_form_cannot_set_or_forget_the_key(web: Client, world: World, headers: dict[str, str],
                                                        form: str) -> None:
    data = {"key": world.keys["officer"]} if form == "set" else {"forget": "1"}
    resp = web.post("/key", data, headers=headers)
    assert resp.status_code == 403 and "set-cookie" not in resp.headers


def test_an_oversized_key_form_is_refused(web: Client, world: World) -> None:
    resp = web.post("/key", {"key": world.keys["registered"], "pad": "x" * 10_000})
    assert resp.status_code == 413 and "set-cookie" not in resp.headers


#: Human genetic data of people, and personal data, in the demo's titles (checked here by its own words,
#: not by the rules under test): 中国人群…基因组/转录组/变异/GWAS, 人体…
HUMAN_DATA = re.compile(r"(?:中国人群|人群|人体|患者|受访者).*(?:基因|转录|变异|GWAS|测序|单细胞|身份|病历)")


def test_the_demo_shows_no_human_genetic_or_personal_data_to_the_international_public(
        web: Client, world: World) -> None:
    lines = web.get("/api/v1/export", {"format": "jsonl"}).text.splitlines()
    public = [json.loads(line) for line in lines]
    assert len(public) > 400
    leaked = [(d["id"], d["title"]) for d in public if HUMAN_DATA.search(d.get("title") or "")]
    assert leaked == []
    everything = list(world.catalog.store.records.iter_records())
    human = [r for r in everything if HUMAN_DATA.search(r.title)]
    assert len(human) >= 10  # the demo has them: they are tagged, not missing
    assert all(r.access.security.value in ("sensitive", "review") for r in human)
    # what the rules could not decide is in the officers' queue, with its evidence
    queue = Client(create_app(world.catalog)).get("/api/v1/review",
                                                  headers={"Authorization": f"Bearer {world.keys['officer']}"})
    assert queue.status_code == 200
    records = queue.json()["records"]
    assert records and all(r["evidence"] for r in records)
    assert web.get("/review").status_code == 403
    page = web.get("/review", cookies={KEY_COOKIE: world.keys["officer"]}).text
    assert "疑似人类遗传资源，待审核" in page and "<code>human-genetic-review</code>" in page  # meaning, then code
