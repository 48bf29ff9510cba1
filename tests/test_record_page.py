"""The record page says what access needs before the click, and what each rule and kind of evidence means."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.api.web.rule_labels import EXACT, TIERS, rule_label
from fedcat.harvester.config import Audience
from fedcat.harvester.model import (
    Access,
    Evidence,
    GeoScope,
    Identifiers,
    LangText,
    Openness,
    Record,
    Security,
)
from fedcat.harvester.store import PageItem, RunReport
from fedcat.harvester.tagging.engine import Tier
from fedcat.harvester.tagging.rules import load_rules_file

from .web_helpers import Client


def record(local_id: str, openness: Openness, statement: str = "", embargo: str | None = None,
           landing: str | None = "https://data.example.cn/ds/1") -> Record:
    evidence = [Evidence(tag="openness", value=openness.value, rule="zh-conditional", field="rights",
                         source_value=statement, tier="explicit"),
                Evidence(tag="security", value="general", rule="security-negation", field="description",
                         source_value="不涉密", tier="explicit"),
                Evidence(tag="geo_scope", value="unknown", rule="default:unknown", tier="default")]
    return Record(
        id=f"lab:{local_id}", source_id="lab", local_id=local_id, titles=[LangText(f"冰川数据 {local_id}", "zh")],
        identifiers=Identifiers(), year=2024, landing_page=landing,
        access=Access(openness=openness, geo_scope=GeoScope.UNKNOWN, security=Security.GENERAL,
                      embargo_until=embargo, evidence=evidence))


@pytest.fixture
def cat(catalog_factory: Any) -> Catalog:
    catalog: Catalog = catalog_factory([])
    catalog.harvester.clock = lambda: date(2026, 1, 1)
    run = catalog.store.runs.start_run(RunReport(source_id="lab", full=True))
    items = [record("open", Openness.OPEN, "开放共享"),
             record("offline", Openness.CONDITIONAL, "离线申请"),
             record("apply", Openness.CONDITIONAL, "有条件共享"),
             record("later", Openness.EMBARGOED, "延期至2027-06-30公开", embargo="2027-06-30"),
             record("meta", Openness.METADATA_ONLY, "仅元数据", landing=None),
             record("reg", Openness.REGISTERED, "注册后下载")]
    catalog.store.store_page(run, [PageItem(r, None) for r in items], checkpoint=None)
    catalog.harvester.feeder.catch_up()
    return catalog


def action(html: str) -> tuple[str, str, str | None]:
    block = re.search(r'<div class="access-action access-(\w+)">(.*?)</div>', html, re.S)
    assert block, "no access action on the page"
    link = re.search(r'<a class="button primary" href="([^"]+)"', block.group(2))
    return block.group(1), re.sub(r"<[^>]+>", "", block.group(2)).strip(), link.group(1) if link else None


@pytest.mark.parametrize(("local_id", "kind", "says", "linked"), [
    ("open", "open", "开放获取：无需注册", True),
    ("offline", "offline", "离线申请", True),
    ("apply", "conditional", "需向数据中心提交申请", True),
    ("later", "embargoed", "2027-06-30 之后开放获取", True),
    ("meta", "metadata_only", "仅提供元数据", False),
    ("reg", "registered", "注册并登录", True),
])
def test_the_access_action_says_what_access_needs_before_the_click(
        cat: Catalog, local_id: str, kind: str, says: str, linked: bool) -> None:
    _, key = cat.store.keys.create("lab", Audience.REGISTERED)
    client = Client(create_app(cat))
    html = client.get(f"/record/lab:{local_id}", headers={"Authorization": f"Bearer {key}"}).text
    got_kind, text, url = action(html)
    assert got_kind == kind and says in text
    assert url == ("https://data.example.cn/ds/1" if linked else None)
    assert ("访问数据 →" in text) == (kind == "open" and linked)


def test_anonymous_callers_get_the_same_action_on_a_general_record(cat: Catalog) -> None:
    kind, text, url = action(Client(create_app(cat)).get("/record/lab:offline").text)
    assert kind == "offline" and "离线申请" in text and url == "https://data.example.cn/ds/1"


def test_rule_codes_and_kinds_are_explained_in_the_readers_language(cat: Catalog) -> None:
    client = Client(create_app(cat))
    zh = client.get("/record/lab:apply").text
    assert "声明不涉密" in zh and '<code class="rule-code">security-negation</code>' in zh
    assert "中文获取方式声明" in zh and "明确声明" in zh and "默认" in zh
    assert ">explicit<" not in zh
    en = client.get("/record/lab:apply", {"lang": "en"}).text
    assert "stated: not classified" in en and "explicit statement" in en


def test_link_check_is_reported_only_where_one_was_due(cat: Catalog) -> None:
    client = Client(create_app(cat))
    assert "链接检查" in client.get("/record/lab:open").text  # declared open: checked (or not yet)
    assert "链接检查" not in client.get("/record/lab:apply").text  # conditional records are not checked


def test_every_shipped_rule_and_every_kind_has_a_label_in_both_languages() -> None:
    for rule in load_rules_file():
        for zh in (True, False):
            label = rule_label(rule.config.id, zh)
            assert label and label != rule.config.id, rule.config.id
    assert {t.label for t in Tier} | {"embargo"} <= set(TIERS)
    assert all(zh and en for zh, en in EXACT.values())


def test_the_record_page_links_its_other_formats_and_each_link_answers_in_it(cat: Catalog) -> None:
    client = Client(create_app(cat))
    html = client.get("/record/lab:open", params={"lang": "en"}).text
    links = re.findall(r'<a href="/record/lab%3Aopen\?format=([\w-]+)" type="([^"]+)">', html)
    alternates = re.findall(r'<link rel="alternate" type="([^"]+)" href="/record/lab%3Aopen\?format=([\w-]+)"', html)
    assert "Metadata in other formats" in html and len(links) == 7
    assert sorted((t, f) for f, t in links) == sorted(alternates)
    for name, media in links:
        resp = client.get("/record/lab:open", params={"format": name})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(media), name
