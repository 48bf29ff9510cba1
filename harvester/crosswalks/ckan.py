"""Crosswalk: a CKAN package (``package_search`` / ``package_show`` JSON) → :class:`Record`.

Multilingual titles and notes of ckanext-fluent (``title_translated: {"zh": …, "en": …}``) become
one title per language; DOIs and CSTRs are looked for in ``extras`` and the package URL.
"""

from __future__ import annotations

from typing import Any

from ..config_schema import SourceConfig
from ..model import LangText, Record
from ..sources.base import HarvestedItem
from ..sources.rest import dates
from ..sources.rest.paths import as_text, values
from .common import classify_identifier, dedupe, landing_page, licence_from, shell, year_of
from .markup import strip_markup

_ID_EXTRAS = ("doi", "identifier", "cstr", "dcat_identifier", "guid")


def _translated(data: dict[str, Any], key: str) -> list[LangText]:
    out: list[LangText] = []
    translated = data.get(f"{key}_translated")
    if isinstance(translated, dict):
        out = [LangText(v.strip(), str(lang).lower()) for lang, v in translated.items()
               if isinstance(v, str) and v.strip()]
    plain = as_text(data.get(key))
    if plain and all(t.value != plain for t in out):
        out.append(LangText(plain, None))
    return out


def _day(value: Any) -> str | None:
    when = dates.parse(value)
    return dates.iso_day(when) if when else None


def crosswalk(item: HarvestedItem, data: dict[str, Any], source: SourceConfig, run_id: int | None = None) -> Record:
    rec = shell(item, source, run_id)
    extras = {str(e.get("key")): as_text(e.get("value")) for e in data.get("extras") or [] if isinstance(e, dict)}
    rec.titles = _translated(data, "title")
    rec.descriptions = [LangText(strip_markup(t.value), t.lang) for t in _translated(data, "notes")]
    rec.creators = dedupe([v for v in (as_text(data.get("author")), as_text(data.get("maintainer"))) if v])
    rec.publisher = as_text((data.get("organization") or {}).get("title"))
    rec.subjects = dedupe([as_text(t) or "" for t in values(data, "tags[].display_name")]
                          + [as_text(g) or "" for g in values(data, "groups[].title")])
    rec.published = _day(extras.get("issued")) or _day(data.get("metadata_created"))
    rec.modified = _day(data.get("metadata_modified"))
    rec.year = year_of(rec.published)
    for key in _ID_EXTRAS:
        if extras.get(key):
            classify_identifier(str(extras[key]), rec.identifiers)
    url = as_text(data.get("url"))
    if url:
        classify_identifier(url, rec.identifiers)
    if data.get("license_title") or data.get("license_url") or data.get("license_id"):
        rec.licence = licence_from(as_text(data.get("license_title")) or as_text(data.get("license_id")),
                                   as_text(data.get("license_url")))
    name = as_text(data.get("name"))
    rec.landing_page = f"{source.url.rstrip('/')}/dataset/{name}" if name else landing_page(rec.identifiers)
    rec.formats = dedupe([as_text(f) or "" for f in values(data, "resources[].format")])
    rec.access_url = as_text(next(iter(values(data, "resources[].url")), None))
    rec.version = as_text(data.get("version"))
    rec.language = extras.get("language")
    return rec
