"""Helpers every crosswalk uses: building the record shell, identifiers, dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lxml import etree

from ..config_schema import SourceConfig
from ..model import (
    Identifiers,
    Licence,
    Provenance,
    Record,
    normalise_cstr,
    normalise_doi,
    normalise_licence,
)
from ..sources.base import HarvestedItem

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_YEAR_RE = re.compile(r"\b(1[89]\d\d|20\d\d|2100)\b")
_CSTR_IN_TEXT = re.compile(r"CSTR[:：]\s*\d{5}\.\d{2}\.\S+", re.IGNORECASE)


def shell(item: HarvestedItem, source: SourceConfig, run_id: int | None) -> Record:
    """A record with the fields every crosswalk fills the same way."""
    rec = Record(
        id=Record.make_id(source.id, item.local_id),
        source_id=source.id,
        local_id=item.local_id,
        center_zh=source.name,
        center_en=source.name_en,
        sets=list(item.sets),
        datestamp=item.datestamp,
        deleted=item.deleted,
        raw_ref=f"raw:{source.id}:{item.local_id}",
        provenance=Provenance(
            source_id=source.id,
            protocol=source.protocol.value,
            endpoint=source.url,
            metadata_prefix=item.format,
            harvested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            run_id=run_id,
        ),
    )
    if item.source_identifier and item.source_identifier != item.local_id:
        rec.identifiers.other.append(item.source_identifier)
    return rec


def text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    if len(el):  # children (or comments): gather their text too
        value = "".join(el.itertext()).strip()
    else:
        value = el.text.strip() if el.text else ""
    return value or None


def lang(el: etree._Element) -> str | None:
    value = el.get(XML_LANG) or el.get("lang")
    return value.lower() if value else None


#: ISO 639-2 codes (as ISO 19139 and EU vocabularies write them) → the BCP 47 tags records use.
LANGUAGES = {"chi": "zh", "zho": "zh", "eng": "en", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de",
             "rus": "ru", "jpn": "ja", "kor": "ko", "mon": "mn", "tib": "bo", "bod": "bo", "uig": "ug"}


def language_tag(code: str | None) -> str | None:
    """``chi`` / ``ZHO`` / ``zh-CN`` / ``#locale-eng`` / a vocabulary IRI → ``zh`` / ``en``; None when unknown."""
    if not code:
        return None
    value = code.strip().rstrip("/").rsplit("/", 1)[-1].lstrip("#").lower()
    for part in [value, *re.split(r"[-_]", value)]:
        if part in LANGUAGES:
            return LANGUAGES[part]
        if len(part) == 2 and part.isalpha():
            return part
    return None


def classify_identifier(value: str, ids: Identifiers) -> None:
    """Sort one identifier string into DOI, CSTR, URL or other."""
    v = value.strip()
    if not v:
        return
    doi = normalise_doi(v) if ("doi" in v.lower() or v.startswith("10.")) else None
    if doi and not ids.doi:
        ids.doi = doi
        return
    cstr = normalise_cstr(v)
    if cstr is None:
        m = _CSTR_IN_TEXT.search(v)
        cstr = normalise_cstr(m.group(0).replace("：", ":")) if m else None
    if cstr and not ids.cstr:
        ids.cstr = cstr
        return
    if re.match(r"^https?://", v):
        if v not in ids.urls:
            ids.urls.append(v)
        return
    if v not in ids.other:
        ids.other.append(v)


def year_of(*values: str | None) -> int | None:
    for v in values:
        if v:
            m = _YEAR_RE.search(v)
            if m:
                return int(m.group(1))
    return None


def iso_date(value: str | None) -> str | None:
    """Keep ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` from a date-ish string."""
    if not value:
        return None
    m = re.match(r"^\s*(\d{4})(?:[-/.](\d{1,2}))?(?:[-/.](\d{1,2}))?", value)
    if not m:
        return None
    y, mo, d = m.groups()
    if d and mo:
        return f"{y}-{int(mo):02d}-{int(d):02d}"
    if mo:
        return f"{y}-{int(mo):02d}"
    return y


def licence_from(raw: str | None, url: str | None = None) -> Licence:
    return Licence(normalised=normalise_licence(url) or normalise_licence(raw), raw=raw, url=url)


def landing_page(ids: Identifiers) -> str | None:
    for url in ids.urls:
        if "doi.org/" not in url and "cstr.cn/" not in url:
            return url
    if ids.doi:
        return f"https://doi.org/{ids.doi}"
    return ids.urls[0] if ids.urls else None


def dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        key = v.strip()
        if key and key.lower() not in seen:
            seen.add(key.lower())
            out.append(key)
    return out
