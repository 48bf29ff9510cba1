"""The tagging engine: each input form gives the expected tag with evidence; precedence; conflicts;
per-source and per-set overrides; embargoes on a controlled clock; rules read through real crosswalks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from fedcat.harvester.config import SourceConfig, config_from_dict
from fedcat.harvester.crosswalks import crosswalk_for
from fedcat.harvester.errors import ConfigError, OverrideError
from fedcat.harvester.model import Evidence, LangText, Licence, Record, Statement
from fedcat.harvester.sources.base import HarvestedItem
from fedcat.harvester.tagging import Override, RuleBook, SourceTagger
from fedcat.harvester.tagging.engine import check_override

SOURCE = {"id": "src", "name": "测试中心", "url": "http://127.0.0.1:1/oai"}


def tagger(source: dict[str, Any] | None = None, *, clock: date = date(2026, 1, 1),
           overrides: list[Override] = (), **config: Any) -> SourceTagger:  # type: ignore[assignment]
    cfg = config_from_dict({"sources": [dict(SOURCE, **(source or {}))], **config})
    return RuleBook.from_config(cfg).for_source(cfg.sources[0], clock=lambda: clock, overrides=overrides)


def record(*statements: tuple[str, str], title: str = "青藏高原冰川数据集", licence: str | None = None,
           sets: list[str] | None = None, subjects: list[str] | None = None) -> Record:
    return Record(id="src:1", source_id="src", local_id="1", titles=[LangText(title, "zh")],
                  statements=[Statement(f, v) for f, v in statements], licence=Licence(normalised=licence),
                  sets=sets or [], subjects=subjects or [])


def evidence(rec: Record, tag: str) -> list[Evidence]:
    return [e for e in rec.access.evidence if e.tag == tag]


# -- every input form -------------------------------------------------------------------------------

FORMS = [
    # DataCite rightsList / OpenAIRE eu-repo
    ("rightsList/rights@rightsURI", "info:eu-repo/semantics/openAccess", "openness", "open", "eu-repo-open"),
    ("rightsList/rights@rightsURI", "info:eu-repo/semantics/embargoedAccess", "openness", "embargoed",
     "eu-repo-embargoed"),
    ("rightsList/rights@rightsURI", "info:eu-repo/semantics/restrictedAccess", "openness", "conditional",
     "eu-repo-restricted"),
    ("rightsList/rights@rightsURI", "info:eu-repo/semantics/closedAccess", "openness", "metadata_only",
     "eu-repo-closed"),
    # COAR access rights
    ("rightsList/rights@rightsURI", "http://purl.org/coar/access_right/c_abf2", "openness", "open", "coar-open"),
    ("rightsList/rights@rightsURI", "http://purl.org/coar/access_right/c_f1cf", "openness", "embargoed",
     "coar-embargoed"),
    ("rightsList/rights@rightsURI", "http://purl.org/coar/access_right/c_16ec", "openness", "conditional",
     "coar-restricted"),
    ("rightsList/rights@rightsURI", "http://purl.org/coar/access_right/c_14cb", "openness", "metadata_only",
     "coar-metadata-only"),
    # schema.org
    ("isAccessibleForFree", "true", "openness", "open", "schema-free"),
    ("isAccessibleForFree", "False", "openness", "conditional", "schema-not-free"),
    ("conditionsOfAccess", "需申请后获取，经审核后提供", "openness", "conditional", "zh-conditional"),
    # Chinese statements
    ("dc:rights", "完全公开", "openness", "open", "zh-open"),
    ("dc:rights", "开放共享", "openness", "open", "zh-open"),
    ("copyRight.dataLevel", "无差别访问", "openness", "open", "zh-open"),
    ("共享计划", "即时公开", "openness", "open", "zh-open"),
    ("dc:rights", "注册后下载", "openness", "registered", "zh-registered"),
    ("共享范围", "有条件共享", "openness", "conditional", "zh-conditional"),
    ("copyRight.dataSharingMod", "离线申请", "openness", "conditional", "zh-conditional"),
    ("dc:rights", "申请获取", "openness", "conditional", "zh-conditional"),
    ("dc:rights", "延期公开", "openness", "embargoed", "zh-embargoed"),
    ("dc:rights", "不公开", "openness", "metadata_only", "zh-not-open"),
    ("copyRight.redistributeArea", "国内国外均可分发", "geo_scope", "international", "zh-international"),
    ("dc:rights", "仅限国内", "geo_scope", "domestic", "zh-domestic"),
    ("dc:rights", "本数据仅供境内科研使用", "geo_scope", "domestic", "zh-domestic"),
    # explicit security fields and labels
    ("密级", "一般", "security", "general", "security-field-general"),
    ("数据级别", "重要", "security", "important", "security-field-important"),
    ("安全级别", "核心", "security", "core", "security-field-core"),
    ("密级", "涉密", "security", "secret", "security-field-secret"),
    ("密级", "秘密", "security", "secret", "security-field-secret"),
    ("密级", "机密", "security", "secret", "security-field-secret"),
    ("密级", "绝密", "security", "secret", "security-field-secret"),
    ("dc:rights", "密级：重要", "security", "important", "security-label-important"),
    ("dc:rights", "数据级别: 核心", "security", "core", "security-label-core"),
]


@pytest.mark.parametrize(("field", "value", "tag", "expected", "rule"), FORMS)
def test_each_input_form_maps_to_its_tag_with_evidence(field: str, value: str, tag: str, expected: str,
                                                        rule: str) -> None:
    rec = tagger().tag(record((field, value)))
    assert getattr(rec.access, tag).value == expected
    (ev,) = evidence(rec, tag)
    assert (ev.value, ev.rule, ev.field, ev.source_value, ev.tier) == (expected, rule, field, value, "explicit")
    assert rec.access.conflicts == []


def test_a_security_field_must_hold_exactly_a_level() -> None:
    rec = tagger().tag(record(("密级", "一般数据资源目录")))  # not exactly a level: no explicit security
    assert rec.access.security.value == "unknown"


def test_a_stated_embargo_end_in_chinese_is_read() -> None:
    rec = tagger().tag(record(("dc:rights", "保护期至2027年6月30日，之后开放共享")))
    acc = rec.access
    assert (acc.openness.value, acc.embargo_until, acc.openness_after_embargo.value if
            acc.openness_after_embargo else None) == ("embargoed", "2027-06-30", "open")
    # 开放共享 (after the embargo) and 保护期 are both explicit: the most restrictive wins, flagged
    assert acc.conflicts == ["openness"]
    assert {e.rule for e in evidence(rec, "openness")} >= {"zh-embargo-until", "zh-open"}


@pytest.mark.parametrize(("licence", "expected"), [("CC0-1.0", "open"), ("CC-BY-4.0", "open"),
                                                   ("CC-BY-NC-4.0", "open"), (None, "unknown")])
def test_open_licences_infer_open_access(licence: str | None, expected: str) -> None:
    rec = tagger().tag(record(licence=licence))
    assert rec.access.openness.value == expected
    (ev,) = evidence(rec, "openness")
    assert ev.rule == ("open-licence" if licence else "default:unknown")
    assert ev.tier == ("rule" if licence else "default")


@pytest.mark.parametrize("title", ["中国人群全基因组变异数据集", "人类遗传资源样本信息库",
                                   "Human whole-genome sequencing of a cohort"])
def test_human_genetic_resources_are_sensitive_domestic_and_flagged(title: str) -> None:
    rec = tagger().tag(record(title=title))
    acc = rec.access
    assert (acc.security.value, acc.geo_scope.value) == ("sensitive", "domestic")
    assert acc.flags == ["human_genetic_resources", "export_review_required"]
    (ev,) = evidence(rec, "security")
    assert (ev.rule, ev.field, ev.tier) == ("human-genetic-resources", "title", "rule")


def test_personal_information_is_sensitive_and_flagged() -> None:
    rec = tagger().tag(record(subjects=["电子健康档案", "糖尿病"]))
    assert rec.access.security.value == "sensitive"
    assert rec.access.flags == ["personal_info"]
    assert evidence(rec, "security")[0].field == "subject"


# -- precedence -----------------------------------------------------------------------------------


def test_nothing_known_is_unknown_with_evidence() -> None:
    rec = tagger().tag(record())
    for tag in ("openness", "geo_scope", "security"):
        assert getattr(rec.access, tag).value == "unknown"
        (ev,) = evidence(rec, tag)
        assert (ev.rule, ev.tier) == ("default:unknown", "default")


def test_source_policy_fills_what_nothing_else_says() -> None:
    rec = tagger({"policy": {"openness": "conditional", "security": "general"}}).tag(record())
    assert (rec.access.openness.value, rec.access.security.value) == ("conditional", "general")
    (ev,) = evidence(rec, "openness")
    assert (ev.rule, ev.field, ev.tier) == ("source-policy", "sources[src].policy.openness", "policy")


def test_rules_outrank_the_source_policy() -> None:
    rec = tagger({"policy": {"openness": "conditional"}}).tag(record(licence="CC0-1.0"))
    assert rec.access.openness.value == "open"
    assert [e.rule for e in evidence(rec, "openness")] == ["open-licence"]


def test_an_explicit_field_outranks_inference_without_a_conflict() -> None:
    rec = tagger().tag(record(("dc:rights", "有条件共享"), licence="CC-BY-4.0"))
    assert rec.access.openness.value == "conditional"
    assert rec.access.conflicts == []
    assert [e.rule for e in evidence(rec, "openness")] == ["zh-conditional"]


def test_an_explicit_scope_outranks_the_human_genome_rule_but_the_flags_stay() -> None:
    rec = tagger().tag(record(("copyRight.redistributeArea", "国内国外均可分发"), title="人类基因组参考序列"))
    assert rec.access.geo_scope.value == "international"
    assert rec.access.security.value == "sensitive"
    assert "human_genetic_resources" in rec.access.flags


def test_sensitive_content_narrows_an_explicit_general() -> None:
    rec = tagger().tag(record(("密级", "一般"), title="人类遗传资源样本库"))
    assert rec.access.security.value == "sensitive"
    assert {e.rule for e in evidence(rec, "security")} == {"security-field-general", "human-genetic-resources"}
    assert rec.access.conflicts == []


def test_an_officer_override_outranks_everything_and_says_who_and_why() -> None:
    o = Override("src:1", "openness", "metadata_only", "wang", "data withdrawn by the center", "2026-01-02")
    rec = tagger(overrides=[o]).tag(record(("rightsList/rights@rightsURI",
                                            "info:eu-repo/semantics/openAccess")))
    assert rec.access.openness.value == "metadata_only"
    (ev,) = evidence(rec, "openness")
    assert (ev.rule, ev.tier, ev.source_value) == ("officer-override", "override", "data withdrawn by the center")
    assert "wang" in (ev.field or "")


def test_conflicting_explicit_signals_resolve_to_the_most_restrictive_and_are_flagged() -> None:
    # NODA's copyRight block as observed: 无差别访问 and 离线申请 on one record
    rec = tagger().tag(record(("copyRight.dataLevel", "无差别访问"), ("copyRight.dataSharingMod", "离线申请"),
                              ("copyRight.redistributeArea", "国内国外均可分发")))
    assert rec.access.openness.value == "conditional"
    assert rec.access.conflicts == ["openness"]
    assert {(e.value, e.rule) for e in evidence(rec, "openness")} == {("conditional", "zh-conditional"),
                                                                      ("open", "zh-open")}
    assert rec.access.geo_scope.value == "international"


def test_conflicting_security_levels_take_the_highest() -> None:
    rec = tagger().tag(record(("密级", "一般"), ("dc:rights", "密级：核心")))
    assert rec.access.security.value == "core"
    assert rec.access.conflicts == ["security"]


# -- per-source and per-set overrides in the config ---------------------------------------------------


def test_a_source_can_disable_replace_and_add_rules() -> None:
    t = tagger({"tagging": {
        "disable": ["open-licence"],
        "rules": [
            {"id": "zh-registered", "when": {"statement": "注册后下载"}, "set": {"openness": "conditional"}},
            {"id": "src-domestic", "when": {"content": "台站观测"}, "set": {"geo_scope": "domestic"}},
        ],
    }})
    assert t.tag(record(licence="CC0-1.0")).access.openness.value == "unknown"
    assert t.tag(record(("dc:rights", "注册后下载"))).access.openness.value == "conditional"
    rec = t.tag(record(title="国家气象台站观测资料"))
    assert rec.access.geo_scope.value == "domestic"
    assert evidence(rec, "geo_scope")[0].rule == "src-domestic"


def test_a_set_policy_replaces_the_source_policy_for_its_records() -> None:
    t = tagger({"policy": {"openness": "open", "security": "general"},
                "tagging": {"sets": [{"set": "clinical", "policy": {"openness": "conditional"},
                                      "rules": [{"id": "clinical-sensitive", "when": {"content": "."},
                                                 "set": {"security": "sensitive"}}]}]}})
    plain = t.tag(record(sets=["glacier"]))
    assert (plain.access.openness.value, plain.access.security.value) == ("open", "general")
    clinical = t.tag(record(sets=["clinical"]))
    assert (clinical.access.openness.value, clinical.access.security.value) == ("conditional", "sensitive")
    assert evidence(clinical, "openness")[0].field == "sources[src].tagging.sets[clinical].policy.openness"


@pytest.mark.parametrize(("rule", "key", "hint"), [
    ({"id": "x", "when": {"statement": "(unclosed"}, "set": {"openness": "open"}},
     "sources[0].tagging.rules[0].when.statement", "regular expression"),
    ({"id": "x", "when": {}, "set": {"openness": "open"}}, "sources[0].tagging.rules[0].when", "at least one"),
    ({"id": "x", "when": {"content": "a"}}, "sources[0].tagging.rules[0].set", "no tag"),
    ({"id": "x", "when": {"content": "a"}, "set": {"openness": "embargoed"}},
     "sources[0].tagging.rules[0].after_embargo", "required"),
    ({"id": "x", "when": {"content": "a"}, "set": {"openness": "wide-open"}},
     "sources[0].tagging.rules[0].set.openness", "one of"),
    ({"id": "x", "when": {"content": "a"}, "set": {"security": "general"}, "flags": ["nope"]},
     "sources[0].tagging.rules[0].flags[0]", "one of"),
])
def test_a_bad_rule_in_the_config_names_its_key(rule: dict[str, Any], key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"sources": [dict(SOURCE, tagging={"rules": [rule]})]})
    assert info.value.key == key
    assert hint in str(info.value)


def test_a_replacement_rules_file_is_used_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text("rules:\n  - id: all-open\n    when: {content: '.'}\n    set: {openness: open}\n",
                    encoding="utf-8")
    t = tagger(tagging={"rules_file": str(good)})
    rec = t.tag(record(("rightsList/rights@rightsURI", "info:eu-repo/semantics/closedAccess")))
    assert rec.access.openness.value == "open"  # the shipped eu-repo rules are gone
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    when: {content: '['}\n    set: {openness: open}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        tagger(tagging={"rules_file": str(bad)})
    assert info.value.key == "rules[0].when.content"
    assert str(bad) in str(info.value)


@pytest.mark.parametrize(("tag", "value"), [("openness", "wide"), ("colour", "open"), ("security", "unknown")])
def test_overrides_are_checked_against_the_vocabulary(tag: str, value: str) -> None:
    with pytest.raises(OverrideError):
        check_override(tag, value)


# -- embargo on a controlled clock ---------------------------------------------------------------------


EMBARGOED = (("rightsList/rights@rightsURI", "info:eu-repo/semantics/embargoedAccess"),
             ("dc:date", "info:eu-repo/date/embargoEnd/2026-06-01"))


def test_an_embargo_holds_until_its_end_date() -> None:
    rec = tagger(clock=date(2026, 5, 31)).tag(record(*EMBARGOED))
    acc = rec.access
    assert (acc.openness.value, acc.embargo_until, acc.openness_after_embargo) == ("embargoed", "2026-06-01", "open")


def test_an_ended_embargo_becomes_its_post_embargo_level_with_evidence() -> None:
    rec = tagger(clock=date(2026, 6, 1)).tag(record(*EMBARGOED))
    acc = rec.access
    assert (acc.openness.value, acc.embargo_until) == ("open", "2026-06-01")
    lifted = evidence(rec, "openness")[-1]
    assert (lifted.rule, lifted.field, lifted.source_value) == ("embargo-lifted", "embargo_until", "2026-06-01")


def test_an_embargo_without_an_end_stays() -> None:
    rec = tagger(clock=date(2099, 1, 1)).tag(record(("dc:rights", "延期公开")))
    assert rec.access.openness.value == "embargoed" and rec.access.embargo_until is None


# -- through the real crosswalks ------------------------------------------------------------------------


def _item(xml: str, fmt: str) -> HarvestedItem:
    return HarvestedItem(local_id="1", datestamp="2026-01-01", deleted=False, format=fmt,
                         raw=xml.encode(), element=etree.fromstring(xml.encode()))


def test_datacite_rights_and_security_subjects_are_statements() -> None:
    xml = """<resource xmlns="http://datacite.org/schema/kernel-4">
      <titles><title xml:lang="zh">冰川编目</title></titles>
      <subjects><subject subjectScheme="密级">重要</subject><subject>冰川</subject></subjects>
      <rightsList>
        <rights rightsURI="info:eu-repo/semantics/restrictedAccess">Restricted Access</rights>
        <rights rightsURI="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</rights>
      </rightsList></resource>"""
    source = SourceConfig(id="src", name="测试中心", url="http://127.0.0.1:1/oai")
    rec = crosswalk_for("oai_datacite", "src")(_item(xml, "oai_datacite"), source, None)
    assert rec.subjects == ["冰川"]
    rec = tagger().tag(rec)
    assert (rec.access.openness.value, rec.access.security.value) == ("conditional", "important")
    # the URI and its label agree: both are evidence, no conflict
    assert {(e.rule, e.field) for e in evidence(rec, "openness")} == {
        ("eu-repo-restricted", "rightsList/rights@rightsURI"), ("en-restricted", "rightsList/rights")}
    assert rec.access.conflicts == []
    assert evidence(rec, "security")[0].field == "密级"


def test_dc_rights_and_eu_repo_dates_are_statements() -> None:
    xml = """<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
        xmlns:dc="http://purl.org/dc/elements/1.1/">
      <dc:title>青海湖水文数据</dc:title>
      <dc:date>info:eu-repo/date/embargoEnd/2030-01-01</dc:date><dc:date>2024-05-01</dc:date>
      <dc:rights>info:eu-repo/semantics/embargoedAccess</dc:rights><dc:rights>仅限国内</dc:rights>
    </oai_dc:dc>"""
    source = SourceConfig(id="src", name="测试中心", url="http://127.0.0.1:1/oai")
    rec = tagger().tag(crosswalk_for("oai_dc", "src")(_item(xml, "oai_dc"), source, None))
    assert rec.published == "2024-05-01"
    acc = rec.access
    assert (acc.openness.value, acc.embargo_until, acc.geo_scope.value) == ("embargoed", "2030-01-01", "domestic")
