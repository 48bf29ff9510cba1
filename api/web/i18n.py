"""The web pages' words in Chinese and English; ``?lang=en`` or ``?lang=zh`` chooses (kept in a cookie)."""

from __future__ import annotations

from enum import StrEnum

from fastapi import Request

from fedcat.harvester.model import (
    GEO_LABELS_ZH,
    OPENNESS_LABELS_ZH,
    SECURITY_LABELS_ZH,
    GeoScope,
    Openness,
    Security,
)

from .rule_labels import rule_label, tier_label

LANG_COOKIE = "fedcat_lang"


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


def lang_of(request: Request) -> Lang:
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in (Lang.ZH.value, Lang.EN.value):
            return Lang(value)
    return Lang.ZH


_EN_TAGS = {
    "open": "Open", "registered": "Registration", "conditional": "Conditional", "embargoed": "Embargoed",
    "metadata_only": "Metadata only", "unknown": "Not stated", "international": "International",
    "domestic": "Domestic only", "general": "General", "sensitive": "General (restricted)",
    "review": "Awaiting review", "important": "Important", "core": "Core", "secret": "Classified",
}
_ZH_TAGS: dict[str, str] = {
    **{o.value: v for o, v in OPENNESS_LABELS_ZH.items()},
    **{g.value: v for g, v in GEO_LABELS_ZH.items() if g is not GeoScope.UNKNOWN},
    **{s.value: v for s, v in SECURITY_LABELS_ZH.items() if s is not Security.UNKNOWN},
}

TEXT: dict[str, tuple[str, str]] = {
    "site": ("国家科学数据中心联合目录", "Catalog of China's national science data centers"),
    "review": ("待审核", "Review queue"),
    "review_intro": ("规则发现了受限类别的线索（人类遗传资源、个人信息、涉密字样、重要数据）但无法确定级别的记录。"
                     "在官员作出决定前，只有官员能看到它们。",
                     "Records where the rules found a hint of a restricted category (human genetic resources, "
                     "personal information, a classification word, important data) but nothing decisive. Until an "
                     "officer decides, only officers see them."),
    "review_empty": ("没有待审核的记录。", "No record awaits review."),
    "review_why": ("线索", "Hint"), "review_decide": ("决定方式", "How to decide"),
    "review_pending": ("待第二位官员确认的更改", "Changes awaiting a second officer"),
    "review_pending_intro": ("降低重要、核心或涉密记录级别的更改，须由另一位官员确认后生效。",
                             "A change that lowers a record out of important, core or secret takes effect only "
                             "when a different officer confirms it."),
    "review_record": ("记录", "Record"), "review_change": ("更改", "Change"), "review_by": ("提出人", "Proposed by"), "review_reason": ("理由", "Reason"),
    "review_officers_only": ("待审核队列仅向官员显示：请在 /key 使用官员的 API 密钥。",
                             "The review queue is shown to officers: use an officer's API key at /key."),
    "search": ("搜索", "Search"),
    "search_label": ("搜索数据集（中文或英文）", "Search datasets (Chinese or English)"),
    "search_placeholder": ("例如：冰川、genome、降水", "e.g. 冰川, genome, precipitation"),
    "syntax": ("搜索写法", "How to search"),
    "also_searched": ("也搜索了译名", "Also searched for the translations"),
    "found_by": ("按译名找到", "Found by the translation"),
    "did_you_mean": ("您要找的是不是：", "Did you mean:"),
    "syntax_help": ("含有全部词语的数据集排在最前，其次是含有其中部分词语的；三个字以上的中文词也找只含其一部分的"
                    "数据集（海表温度 也找到 温度），排在含整个词的之后；“”或 "" 引起来的短语必须原样出现；"
                    "词前加 - 排除含有它的数据集（例如：冰川 -照片）。繁体与简体字通用（氣象 = 气象）。"
                    "词语也按译名查找（glacier 也找到只写 冰川 的数据集，温度 也找 temperature），"
                    "出现在同一处时含原词的排在前面。",
                    "Datasets holding every word come first, then those holding some of them; a Chinese word of "
                    "three or more characters also finds datasets holding a part of it (海表温度 finds 温度), after "
                    "those holding the whole word; a \"quoted phrase\" "
                    "must appear as written; a word after - excludes the datasets holding it (e.g. glacier -photo). "
                    "Traditional and Simplified characters are the same (氣象 = 气象). Words are also looked "
                    "for by their translations (glacier also finds datasets that say only 冰川, 温度 also looks "
                    "for temperature); where both appear in the same place, the word itself ranks first."),
    "results": ("条结果", "results"),
    "no_results": ("没有找到匹配的数据集。", "No dataset matches."),
    "skip": ("跳到结果", "Skip to results"),
    "filters": ("筛选", "Filters"),
    "clear_filters": ("清除筛选", "Clear filters"),
    "next": ("下一页", "Next page"),
    "first": ("第一页", "First page"),
    "page": ("第 {n} 页", "Page {n}"),
    "page_of": ("第 {n} / {total} 页", "Page {n} of {total}"),
    "previous": ("上一页", "Previous page"),
    "sort": ("排序", "Sort"),
    "sort.relevance": ("相关度", "Relevance"), "sort.newest": ("最新", "Newest"), "sort.oldest": ("最早", "Oldest"),
    "export": ("导出本次检索结果", "Export these results"),
    "export_note": ("CSV 可用 Excel 打开；JSON Lines 每行一条记录", "CSV opens in spreadsheets; JSON Lines has one record per line"),
    "audience.public_international": ("公众（境内外）", "Public (anyone)"),
    "audience.public_domestic": ("公众（境内）", "Public (within China)"),
    "audience.registered": ("注册用户", "Registered user"),
    "audience.officer": ("审核官员", "Officer"),
    "centers": ("数据中心", "Data centers"),
    "dashboard": ("开放度看板", "Openness dashboard"),
    "facet.source": ("数据中心", "Center"), "facet.openness": ("开放程度", "Openness"),
    "facet.geo_scope": ("提供范围", "Geo scope"), "facet.security": ("安全级别", "Security"),
    "facet.licence": ("许可协议", "Licence"), "facet.year": ("年份", "Year"), "facet.subject": ("主题", "Subject"),
    "tag.openness": ("开放程度", "Openness"), "tag.geo_scope": ("提供范围", "Geo scope"),
    "tag.security": ("安全级别", "Security"),
    "why": ("为什么是这个结果？", "Why this value?"),
    "evidence": ("依据", "Evidence"), "rule": ("规则", "Rule"), "field": ("字段", "Field"),
    "source_value": ("原始值", "Source value"), "tier": ("类别", "Kind"),
    "conflict": ("信号冲突：取最严格的解释", "Conflicting signals: the most restrictive reading was kept"),
    "embargo_until": ("延期至", "Embargoed until"),
    "metadata": ("元数据", "Metadata"), "title": ("题名", "Title"), "description": ("摘要", "Description"),
    "creators": ("作者", "Creators"), "publisher": ("发布者", "Publisher"), "published": ("发布日期", "Published"),
    "modified": ("更新日期", "Modified"), "year": ("年份", "Year"), "subjects": ("主题词", "Subjects"),
    "licence": ("许可协议", "Licence"), "rights": ("权利声明", "Rights"), "formats": ("格式", "Formats"),
    "version": ("版本", "Version"), "language": ("语种", "Language"), "landing": ("数据集页面", "Landing page"),
    "access_url": ("数据获取地址", "Access URL"), "identifiers": ("标识符", "Identifiers"),
    "centers_providing": ("提供此数据集的数据中心", "Centers providing this dataset"),
    "other_formats": ("其他格式的元数据", "Metadata in other formats"),
    "cite": ("引用", "Cite"), "citation_gbt": ("GB/T 7714 引用格式", "Citation (GB/T 7714)"),
    "bibtex": ("BibTeX", "BibTeX"), "links_withheld": ("访问链接仅向注册用户显示。",
                                                       "Access links are shown to registered users."),
    "link_check": ("链接检查", "Link check"), "not_checked": ("尚未检查", "not checked yet"),
    "access_data": ("访问数据", "Access data"),
    "access.open": ("开放获取：无需注册，可直接下载或使用。", "Open access: no registration, download or use directly."),
    "access.registered": ("需在数据中心注册并登录后获取。", "Needs an account: register and log in at the center."),
    "access.conditional": ("有条件共享：需向数据中心提交申请，审核通过后获取。",
                           "Conditional: apply to the center; the data are provided once approved."),
    "access.offline": ("离线申请：须按数据中心要求线下提交申请，数据不在线提供。",
                       "Offline request: apply to the center outside the web; the data are not online."),
    "access.embargoed": ("延期开放：{date} 之后开放获取，此前仅元数据。",
                         "Embargoed: open after {date}; until then metadata only."),
    "access.embargoed_nodate": ("延期开放：开放日期未注明。", "Embargoed: the opening date is not stated."),
    "access.metadata_only": ("仅提供元数据：数据不在线共享，可联系数据中心。",
                             "Metadata only: the data are not shared online; contact the center."),
    "access.unknown": ("数据中心未声明获取方式，请在数据集页面查看。",
                       "The center does not state how to get the data: see the dataset's page."),
    "access_go": ("前往数据中心", "Go to the center"),
    "access_no_link": ("数据中心没有提供可用的链接。", "The center gives no usable link."),
    "copy": ("复制", "Copy"), "copied": ("已复制", "Copied"),
    "link_check_not_due": ("仅检查声明开放的记录", "only records declared open are checked"),
    "status.ok": ("可访问", "reachable"), "status.login_wall": ("需登录", "login wall"),
    "status.not_found": ("页面不存在", "not found"), "status.client_error": ("请求错误", "client error"),
    "status.server_error": ("服务器错误", "server error"), "status.timeout": ("超时", "timeout"),
    "status.connection_error": ("无法连接", "connection failed"),
    "status.too_many_redirects": ("重定向过多", "too many redirects"),
    "status.refused": ("地址不允许", "address refused"), "status.invalid_url": ("没有有效链接", "no usable URL"),
    "status.unchecked": ("未检查", "not checked"),
    "records": ("条记录", "records"), "records_visible": ("可见记录", "Visible records"),
    "gated": ("核心/涉密（仅计数）", "Core/classified (count only)"),
    "open_share": ("开放比例", "Open share"), "pid_share": ("持久标识符比例", "PID share"),
    "open_licence": ("开放许可比例", "Open licence share"), "licence_present": ("有许可协议", "Licence present"),
    "citation_complete": ("引用信息完整", "Complete citation"), "version_present": ("有版本号", "Version present"),
    "unreachable": ("声明开放但无法访问", "Declared open but not reachable"),
    "of_checked": ("已检查 {n} 条中", "of {n} checked"),
    "completeness": ("元数据完整度", "Metadata completeness"), "rating": ("等级", "Rating"),
    "rating.excellent": ("优秀", "excellent"), "rating.good": ("良好", "good"),
    "rating.sufficient": ("合格", "sufficient"), "rating.bad": ("较差", "bad"),
    "dim.findability": ("可发现性", "Findability"), "dim.accessibility": ("可访问性", "Accessibility"),
    "dim.interoperability": ("互操作性", "Interoperability"), "dim.reusability": ("可重用性", "Reusability"),
    "dim.contextuality": ("情境信息", "Contextuality"),
    "openness_chart": ("开放程度分布", "Openness distribution"),
    "security_chart": ("安全级别分布", "Security levels"), "geo_chart": ("提供范围分布", "Geo scope"),
    "trend": ("历次采集后的趋势", "Trend over harvest runs"),
    "reachability": ("声明开放数据的可访问性", "Reachability of records declared open"),
    "ranking": ("数据中心排名", "Ranking of centers"), "rank": ("名次", "Rank"), "score": ("得分", "Score"),
    "score_explained": ("得分（0–100）= {parts}。各比例按当前身份可见的记录计算；缺少的一项按 0 计。",
                        "Score (0–100) = {parts}. Shares are of the records the current audience sees; a missing "
                        "share counts as 0."),
    "weight.open_share": ("开放比例", "open share"), "weight.reachable_share": ("可访问比例", "reachable share"),
    "weight.completeness": ("元数据完整度", "metadata completeness"),
    "weight.pid_share": ("持久标识符比例", "PID share"), "weight.open_licence_share": ("开放许可比例", "open licence share"),
    "overdue": ("延期已到期但仍未开放", "Embargo passed, still not open"),
    "freshness": ("时效", "Freshness"), "median_age": ("距源端更新（中位天数）", "Days since modified (median)"),
    "last_harvest": ("最近成功采集", "Last successful harvest"),
    "success_rate": ("采集成功率", "Harvest success rate"), "never": ("从未", "never"),
    "overall": ("全部数据中心", "All centers"), "center": ("数据中心", "Center"),
    "audience": ("当前身份", "Viewing as"), "view_data": ("数据表", "Data table"),
    "value": ("数值", "Value"), "run": ("采集批次", "Run"),
    "series.completeness": ("完整度（占满分%）", "Completeness (% of max)"),
    "series.open_share": ("开放比例 %", "Open share %"), "series.reachable": ("可访问比例 %", "Reachable share %"),
    "api_key": ("API 密钥", "API key"), "use_key": ("使用密钥", "Use key"), "forget_key": ("退出", "Forget key"),
    "not_found": ("未找到", "Not found"), "error": ("出错了", "Something went wrong"),
    "back": ("返回搜索", "Back to search"), "all_centers": ("全部数据中心", "All centers"),
    "metrics_api": ("指标 API（JSON/CSV）", "Metrics API (JSON/CSV)"), "doc": ("说明", "About the metrics"),
}


class Translator:
    def __init__(self, lang: Lang) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        pair = TEXT.get(key)
        text = key if pair is None else pair[0 if self.lang is Lang.ZH else 1]
        return text.format(**values) if values else text

    def tag(self, value: str | None) -> str:
        """An access tag value's label (开放获取 / Open)."""
        if value is None:
            return ""
        table = _ZH_TAGS if self.lang is Lang.ZH else _EN_TAGS
        return table.get(value, value)

    def rule(self, code: str) -> str | None:
        """What a tagging rule means (None for a rule of a local rules file: the code says it all)."""
        return rule_label(code, self.lang is Lang.ZH)

    def tier(self, tier: str | None) -> str:
        return tier_label(tier, self.lang is Lang.ZH)

    @property
    def other(self) -> Lang:
        return Lang.EN if self.lang is Lang.ZH else Lang.ZH


#: Which badge colour a tag value gets (CSS class suffix).
BADGE_TONE = {
    Openness.OPEN.value: "good", Openness.REGISTERED.value: "fair", Openness.CONDITIONAL.value: "warn",
    Openness.EMBARGOED.value: "warn", Openness.METADATA_ONLY.value: "bad", Openness.UNKNOWN.value: "none",
    Security.GENERAL.value: "none", Security.SENSITIVE.value: "warn", Security.IMPORTANT.value: "bad",
    Security.REVIEW.value: "bad",
    GeoScope.DOMESTIC.value: "warn", GeoScope.INTERNATIONAL.value: "good",
}
