"""The one record model every source is normalised into.

A :class:`Record` is what a crosswalk produces from a raw payload and what the
store, the tagger, the index and the API pass around. It is a plain dataclass
tree so that it serialises to JSON (``to_dict``/``from_dict``) without help.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from . import serial


class Openness(StrEnum):
    """How a dataset's data (not its metadata) can be obtained."""

    OPEN = "open"
    REGISTERED = "registered"
    CONDITIONAL = "conditional"
    EMBARGOED = "embargoed"
    METADATA_ONLY = "metadata_only"
    UNKNOWN = "unknown"


class GeoScope(StrEnum):
    """Where the data may be provided to."""

    INTERNATIONAL = "international"
    DOMESTIC = "domestic"
    UNKNOWN = "unknown"


class Security(StrEnum):
    """Security classification (GB/T 43697-2024 levels plus state secrets)."""

    GENERAL = "general"
    SENSITIVE = "sensitive"
    #: A restricted-category hint without a decisive signal: officers only, until one decides.
    REVIEW = "review"
    IMPORTANT = "important"
    CORE = "core"
    SECRET = "secret"
    UNKNOWN = "unknown"


#: Levels that must never reach an index or an API response.
GATED_SECURITY = frozenset({Security.CORE, Security.SECRET})

#: Each tag's values from least to most restrictive; conflicting signals resolve to the later one.
OPENNESS_ORDER: tuple[Openness, ...] = (
    Openness.OPEN, Openness.REGISTERED, Openness.CONDITIONAL, Openness.EMBARGOED, Openness.METADATA_ONLY,
)
GEO_ORDER: tuple[GeoScope, ...] = (GeoScope.INTERNATIONAL, GeoScope.DOMESTIC)
SECURITY_ORDER: tuple[Security, ...] = (
    Security.GENERAL, Security.SENSITIVE, Security.REVIEW, Security.IMPORTANT, Security.CORE, Security.SECRET,
)


class Flag(StrEnum):
    """Markers a record carries besides its three tags."""

    HUMAN_GENETIC_RESOURCES = "human_genetic_resources"
    PERSONAL_INFO = "personal_info"
    EXPORT_REVIEW_REQUIRED = "export_review_required"
    TRADE_SECRET = "trade_secret"

OPENNESS_LABELS_ZH = {
    Openness.OPEN: "开放获取",
    Openness.REGISTERED: "注册获取",
    Openness.CONDITIONAL: "条件共享",
    Openness.EMBARGOED: "延期公开",
    Openness.METADATA_ONLY: "仅元数据",
    Openness.UNKNOWN: "未声明",
}
GEO_LABELS_ZH = {
    GeoScope.INTERNATIONAL: "境内外均可",
    GeoScope.DOMESTIC: "仅限境内",
    GeoScope.UNKNOWN: "未声明",
}
SECURITY_LABELS_ZH = {
    Security.GENERAL: "一般数据",
    Security.SENSITIVE: "一般数据（受限）",
    Security.REVIEW: "待审核",
    Security.IMPORTANT: "重要数据",
    Security.CORE: "核心数据",
    Security.SECRET: "涉密",
    Security.UNKNOWN: "未声明",
}


@dataclass
class LangText:
    """A string with its language tag (BCP 47, ``None`` when the source does not say)."""

    value: str
    lang: str | None = None


@dataclass
class Statement:
    """An access- or security-related field of the source record, verbatim (``field`` names it).

    ``maps_to`` is the fedcat value a source profile's value map gives it
    (``openness:conditional``): an explicit signal the tagger takes as stated.
    """

    field: str
    value: str
    maps_to: str | None = None


@dataclass
class Evidence:
    """Why a tag has its value: the rule, the source field and the value seen.

    ``tier`` says which kind of signal decided (see :mod:`fedcat.harvester.tagging`):
    ``override``, ``explicit``, ``rule``, ``policy``, ``embargo`` or ``default``.
    """

    tag: str
    value: str
    rule: str
    field: str | None = None
    source_value: str | None = None
    tier: str | None = None


@dataclass
class Access:
    """The access tags of a record and the evidence behind each."""

    openness: Openness = Openness.UNKNOWN
    geo_scope: GeoScope = GeoScope.UNKNOWN
    security: Security = Security.UNKNOWN
    embargo_until: str | None = None
    openness_after_embargo: Openness | None = None
    flags: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    #: Tags whose signals disagreed (resolved to the most restrictive reading).
    conflicts: list[str] = field(default_factory=list)


@dataclass
class Identifiers:
    doi: str | None = None
    cstr: str | None = None
    accession: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


@dataclass
class Licence:
    normalised: str | None = None
    raw: str | None = None
    url: str | None = None


@dataclass
class Provenance:
    """Where and how the record was obtained."""

    source_id: str
    protocol: str
    endpoint: str
    metadata_prefix: str | None = None
    harvested_at: str | None = None
    run_id: int | None = None


@dataclass
class Record:
    """A dataset's metadata, normalised. ``id`` is ``<source_id>:<local identifier>``."""

    id: str
    source_id: str
    local_id: str
    center_zh: str | None = None
    center_en: str | None = None
    titles: list[LangText] = field(default_factory=list)
    descriptions: list[LangText] = field(default_factory=list)
    creators: list[str] = field(default_factory=list)
    publisher: str | None = None
    published: str | None = None
    modified: str | None = None
    year: int | None = None
    subjects: list[str] = field(default_factory=list)
    identifiers: Identifiers = field(default_factory=Identifiers)
    licence: Licence = field(default_factory=Licence)
    rights: list[str] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    access: Access = field(default_factory=Access)
    landing_page: str | None = None
    access_url: str | None = None
    formats: list[str] = field(default_factory=list)
    version: str | None = None
    language: str | None = None
    citation: str | None = None
    sets: list[str] = field(default_factory=list)
    datestamp: str | None = None
    deleted: bool = False
    raw_ref: str | None = None
    content_hash: str | None = None
    provenance: Provenance | None = None

    @staticmethod
    def make_id(source_id: str, local_id: str) -> str:
        return f"{source_id}:{local_id}"

    @property
    def title(self) -> str:
        """The display title: Chinese first when there is one, else the first title."""
        return pick_lang(self.titles, "zh") or ""

    @property
    def title_en(self) -> str | None:
        return pick_lang(self.titles, "en", fallback=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: ``dataclasses.asdict`` written out for this tree (it runs per record)."""
        d = dict(self.__dict__)
        d["titles"] = [dict(t.__dict__) for t in self.titles]
        d["descriptions"] = [dict(t.__dict__) for t in self.descriptions]
        d["statements"] = [dict(st.__dict__) for st in self.statements]
        for name in _STR_LISTS:
            d[name] = list(d[name])
        ids = dict(self.identifiers.__dict__)
        for name in ("accession", "urls", "other"):
            ids[name] = list(ids[name])
        d["identifiers"] = ids
        d["licence"] = dict(self.licence.__dict__)
        acc = dict(self.access.__dict__)
        acc["flags"] = list(acc["flags"])
        acc["conflicts"] = list(acc["conflicts"])
        acc["evidence"] = [dict(e.__dict__) for e in self.access.evidence]
        d["access"] = acc
        d["provenance"] = dict(self.provenance.__dict__) if self.provenance is not None else None
        return d

    def to_json(self) -> str:
        return serial.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> Record:
        data = serial.loads(text)
        assert isinstance(data, dict)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        d = dict(data)
        d["titles"] = [LangText(**t) for t in d.get("titles", [])]
        d["descriptions"] = [LangText(**t) for t in d.get("descriptions", [])]
        d["identifiers"] = Identifiers(**d.get("identifiers", {}))
        d["licence"] = Licence(**d.get("licence", {}))
        d["statements"] = [Statement(**st) for st in d.get("statements", [])]
        acc = dict(d.get("access", {}))
        acc["openness"] = Openness(acc.get("openness", "unknown"))
        acc["geo_scope"] = GeoScope(acc.get("geo_scope", "unknown"))
        acc["security"] = Security(acc.get("security", "unknown"))
        after = acc.get("openness_after_embargo")
        acc["openness_after_embargo"] = Openness(after) if after else None
        acc["evidence"] = [Evidence(**e) for e in acc.get("evidence", [])]
        d["access"] = Access(**acc)
        prov = d.get("provenance")
        d["provenance"] = Provenance(**prov) if prov else None
        return cls(**d)

    def compute_hash(self) -> str:
        return content_hash(self.to_dict())


_STR_LISTS = ("creators", "subjects", "rights", "formats", "sets")
_VOLATILE = frozenset({"provenance", "content_hash", "access", "raw_ref"})


def content_hash(record_dict: dict[str, Any]) -> str:
    """Hash of a record's harvested content, ignoring provenance, tags and bookkeeping.

    Two harvests of an unchanged source give the same hash, which is how the
    store skips unchanged records.
    """
    d = {k: v for k, v in record_dict.items() if k not in _VOLATILE}
    return hashlib.sha256(serial.dumps_bytes(d, sort_keys=True)).hexdigest()


def access_labels(rec: Record) -> dict[str, str]:
    """The Chinese labels of a record's three tags."""
    acc = rec.access
    return {"openness": OPENNESS_LABELS_ZH[acc.openness], "geo_scope": GEO_LABELS_ZH[acc.geo_scope],
            "security": SECURITY_LABELS_ZH[acc.security]}


def pick_lang(texts: list[LangText], lang: str, *, fallback: bool = True) -> str | None:
    """The first text in ``lang`` (prefix match), else the first text at all when ``fallback``."""
    for t in texts:
        if t.lang and t.lang.lower().startswith(lang):
            return t.value
    if lang == "zh":
        for t in texts:
            if t.lang is None and re.search(r"[\u4e00-\u9fff]", t.value):
                return t.value
    if lang == "en" and not fallback:
        for t in texts:
            if t.lang is None and not re.search(r"[\u4e00-\u9fff]", t.value):
                return t.value
    if fallback and texts:
        return texts[0].value
    return None


_DOI_RE = re.compile(r"(10\.\d{4,9}/\S+)", re.IGNORECASE)
_CSTR_RE = re.compile(r"^(?:CSTR:)?\s*(\d{5}\.\d{2}\.\S+)$", re.IGNORECASE)


def normalise_doi(value: str | None) -> str | None:
    """``https://doi.org/10.1234/ABC`` / ``doi:10.1234/ABC`` → ``10.1234/abc``."""
    if not value:
        return None
    m = _DOI_RE.search(value.strip())
    if not m:
        return None
    return m.group(1).rstrip(".,;").lower()


def normalise_cstr(value: str | None) -> str | None:
    """``CSTR:31253.11.sciencedb.06290`` (any case, with or without prefix, or as a cstr.cn URL)."""
    if not value:
        return None
    v = value.strip()
    for prefix in ("https://cstr.cn/", "http://cstr.cn/"):
        if v.lower().startswith(prefix):
            v = v[len(prefix):]
    m = _CSTR_RE.match(v)
    if not m:
        return None
    return "CSTR:" + m.group(1)


_LICENCES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"cc0|publicdomain/zero|cc-zero", re.I), "CC0-1.0"),
    (re.compile(r"by[-_ ]?nc[-_ ]?sa", re.I), "CC-BY-NC-SA-4.0"),
    (re.compile(r"by[-_ ]?nc[-_ ]?nd", re.I), "CC-BY-NC-ND-4.0"),
    (re.compile(r"by[-_ ]?nc", re.I), "CC-BY-NC-4.0"),
    (re.compile(r"by[-_ ]?sa", re.I), "CC-BY-SA-4.0"),
    (re.compile(r"by[-_ ]?nd", re.I), "CC-BY-ND-4.0"),
    (re.compile(r"cc[-_ ]?by|creativecommons\.org/licenses/by/", re.I), "CC-BY-4.0"),
    (re.compile(r"odbl", re.I), "ODbL-1.0"),
    (re.compile(r"pddl", re.I), "PDDL-1.0"),
    (re.compile(r"odc[-_ ]?by", re.I), "ODC-By-1.0"),
]
_CC_VERSION = re.compile(r"(\d\.\d)")


@functools.lru_cache(maxsize=4096)  # a catalog's licence strings are few and repeat on every record
def normalise_licence(raw: str | None) -> str | None:
    """Map a licence name or URL to an SPDX-style id; ``None`` when unrecognised."""
    if not raw:
        return None
    for pattern, spdx in _LICENCES:
        if pattern.search(raw):
            if spdx.startswith("CC-BY"):
                version = _CC_VERSION.search(raw)
                if version:
                    spdx = spdx.rsplit("-", 1)[0] + "-" + version.group(1)
            return spdx
    return None
