"""Crosswalk: a DataCite REST API ``/dois`` item (JSON:API, ``attributes``) → :class:`Record`.

Null dates are tolerated, and DataCite's standard values for unknown information (``:unav``,
``:tba``, ``:unkn``, ``:none``, ``:null``, ``:unas``, ``:unal``, ``:etal``) are dropped wherever they
appear. CSTRs come from ``identifiers``/``alternateIdentifiers`` of type CSTR.
"""

from __future__ import annotations

import re
from typing import Any

from ..config_schema import SourceConfig
from ..model import LangText, Record, normalise_cstr, normalise_doi, normalise_licence
from ..sources.base import HarvestedItem
from ..sources.rest import dates
from ..sources.rest.paths import as_text
from .common import classify_identifier, dedupe, iso_date, licence_from, shell, year_of
from .markup import strip_markup

_UNKNOWN = re.compile(r"^\(?:(unac|unal|unap|unas|unav|unkn|none|null|tba|etal)\)?$", re.IGNORECASE)


def known(value: Any) -> str | None:
    """The value as text, or None when it is blank or a DataCite placeholder."""
    text = as_text(value)
    if text is None or _UNKNOWN.match(text):
        return None
    return text


def _rows(attrs: dict[str, Any], key: str) -> list[dict[str, Any]]:
    rows = attrs.get(key)
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _texts(attrs: dict[str, Any], key: str, field: str) -> list[LangText]:
    out: list[LangText] = []
    for row in _rows(attrs, key):
        value = known(row.get(field))
        if value and all(t.value != value for t in out):
            lang = as_text(row.get("lang"))
            out.append(LangText(value, lang.lower() if lang else None))
    return out


def _identifiers(rec: Record, attrs: dict[str, Any]) -> None:
    rec.identifiers.doi = normalise_doi(known(attrs.get("doi")))
    for key, type_key, value_key in (("identifiers", "identifierType", "identifier"),
                                     ("alternateIdentifiers", "alternateIdentifierType", "alternateIdentifier")):
        for row in _rows(attrs, key):
            value, kind = known(row.get(value_key)), (as_text(row.get(type_key)) or "").upper()
            if not value:
                continue
            if kind == "CSTR" and not rec.identifiers.cstr:
                rec.identifiers.cstr = normalise_cstr(value)
            elif kind != "DOI":
                classify_identifier(value, rec.identifiers)


def _dates(rec: Record, attrs: dict[str, Any]) -> None:
    by_type = {(as_text(d.get("dateType")) or "").lower(): known(d.get("date")) for d in _rows(attrs, "dates")}
    issued = by_type.get("issued") or by_type.get("available")
    rec.published = iso_date(issued) if issued else None
    rec.modified = iso_date(by_type.get("updated")) if by_type.get("updated") else None
    year = known(attrs.get("publicationYear"))
    rec.year = year_of(year, rec.published)
    if rec.published is None and rec.year:
        rec.published = str(rec.year)
    if rec.modified is None and (updated := dates.parse(known(attrs.get("updated")))):
        rec.modified = dates.iso_day(updated)


def crosswalk(item: HarvestedItem, data: dict[str, Any], source: SourceConfig, run_id: int | None = None) -> Record:
    rec = shell(item, source, run_id)
    attrs = data.get("attributes") or {}
    rec.titles = _texts(attrs, "titles", "title")
    rec.descriptions = [LangText(strip_markup(t.value), t.lang) for t in _texts(attrs, "descriptions", "description")]
    rec.creators = dedupe([v for row in _rows(attrs, "creators") if (v := known(row.get("name")))])
    publisher = attrs.get("publisher")
    rec.publisher = known(publisher.get("name") if isinstance(publisher, dict) else publisher)
    rec.subjects = dedupe([s.strip() for row in _rows(attrs, "subjects") if (v := known(row.get("subject")))
                           for s in v.replace("；", ";").split(";") if s.strip()])
    _identifiers(rec, attrs)
    _dates(rec, attrs)
    for row in _rows(attrs, "rightsList"):
        label, uri = known(row.get("rights")), known(row.get("rightsUri"))
        ident = known(row.get("rightsIdentifier"))
        if (normalise_licence(uri) or normalise_licence(ident) or normalise_licence(label)) and not rec.licence.raw:
            rec.licence = licence_from(label or ident, uri)
        else:
            rec.rights.extend(v for v in (uri, label) if v and v not in rec.rights)
    rec.formats = dedupe([v for f in attrs.get("formats") or [] if (v := known(f))])
    rec.version = known(attrs.get("version"))
    rec.language = known(attrs.get("language"))
    rec.landing_page = known(attrs.get("url")) or (f"https://doi.org/{rec.identifiers.doi}"
                                                   if rec.identifiers.doi else None)
    return rec
