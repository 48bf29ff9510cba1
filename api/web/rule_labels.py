"""What each tagging rule and evidence kind means, in Chinese and English, for the record page.

Officers refer to rules by their code (``security-label-important``), so the page shows the code too; a
reader needs its meaning. Exact ids first, then families by prefix, so that a rule added to rules.yaml
under an existing family is labelled without a change here (tests check every shipped rule has a label).
"""

from __future__ import annotations

#: Rules the engine itself applies, and content rules that stand alone.
EXACT: dict[str, tuple[str, str]] = {
    "officer-override": ("官员更正", "officer's decision"),
    "profile-value-map": ("接口配置的取值映射", "value mapped by the source's profile"),
    "source-policy": ("数据源的整体政策（配置）", "the source's declared policy (config)"),
    "default:unknown": ("没有任何依据，记为未声明", "no signal: not stated"),
    "embargo-lifted": ("延期已到期，转为开放", "embargo ended: open"),
    "schema-free": ("schema.org 标注免费获取", "schema.org says free"),
    "schema-not-free": ("schema.org 标注非免费获取", "schema.org says not free"),
    "zh-international": ("声明面向境内外提供", "stated: available internationally"),
    "zh-domestic": ("声明仅限境内提供", "stated: domestic only"),
    "security-negation": ("声明不涉密", "stated: not classified"),
    "security-general-sentence": ("声明为一般数据", "stated: general data"),
    "security-important-sentence": ("声明为重要数据", "stated: important data"),
    "security-core-sentence": ("声明为核心数据", "stated: core data"),
    "security-secret-statement": ("声明涉及国家秘密", "stated: state secret"),
    "security-trade-secret": ("声明涉及商业秘密", "stated: trade secret"),
    "security-restricted-general": ("声明为受限的一般数据", "stated: restricted general data"),
    "personal-info-statement": ("声明含个人信息", "stated: personal information"),
    "hgr-statement": ("声明涉及人类遗传资源", "stated: human genetic resources"),
    "open-licence": ("开放许可协议", "an open licence"),
    "human-genetic-resources": ("内容涉及我国人类遗传资源", "content: human genetic resources"),
    "human-genetic-review": ("疑似人类遗传资源，待审核", "possible human genetic resources: review"),
    "personal-information": ("内容含个人信息", "content: personal information"),
    "personal-information-review": ("疑似个人信息，待审核", "possible personal information: review"),
    "trade-secret": ("内容涉及商业秘密", "content: trade secret"),
    "content-negation": ("内容声明不涉密", "content: stated not classified"),
    "content-secret-mention": ("内容提及涉密字样，待审核", "content mentions classification: review"),
    "important-data-hint": ("疑似重要数据，待审核", "possible important data: review"),
}

#: Families of rules, by id prefix (the longest matching prefix wins).
FAMILIES: dict[str, tuple[str, str]] = {
    "eu-repo-": ("OpenAIRE 访问权限词表（info:eu-repo）", "OpenAIRE access rights (info:eu-repo)"),
    "coar-": ("COAR 访问权限词表", "COAR access rights vocabulary"),
    "eu-access-right-": ("欧盟出版物办公室访问权限词表", "EU Publications Office access rights"),
    "iso-access-": ("ISO 19115 访问限制代码", "ISO 19115 access constraint code"),
    "iso-classification-": ("ISO 19115 密级代码", "ISO 19115 classification code"),
    "zh-": ("中文获取方式声明", "access statement in Chinese"),
    "en-": ("英文获取方式声明", "access statement in English"),
    "security-field-": ("密级字段", "security classification field"),
    "security-label-": ("密级标注（如“密级：重要”）", "classification label (e.g. 密级：重要)"),
    "content-label-": ("内容中的密级标注", "classification label in the text"),
}

#: The kind of signal that decided (Evidence.tier).
TIERS: dict[str, tuple[str, str]] = {
    "override": ("官员决定", "officer"),
    "explicit": ("明确声明", "explicit statement"),
    "rule": ("推断", "inferred"),
    "policy": ("数据源政策", "source policy"),
    "embargo": ("延期", "embargo"),
    "default": ("默认", "default"),
}


def rule_label(rule: str, zh: bool) -> str | None:
    """The meaning of ``rule`` in Chinese (``zh``) or English, or None for a rule of a local rules file."""
    pair = EXACT.get(rule)
    if pair is None:
        prefix = max((p for p in FAMILIES if rule.startswith(p)), key=len, default=None)
        pair = FAMILIES[prefix] if prefix else None
    return None if pair is None else pair[0 if zh else 1]


def tier_label(tier: str | None, zh: bool) -> str:
    if not tier:
        return "–"
    pair = TIERS.get(tier)
    return tier if pair is None else pair[0 if zh else 1]
