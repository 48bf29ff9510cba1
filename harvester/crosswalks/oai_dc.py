"""Crosswalk: Dublin Core (``oai_dc``) → :class:`Record`."""

from __future__ import annotations

from lxml import etree

from ..adapters.base import HarvestedItem
from ..config import SourceConfig
from ..model import LangText, Record, Statement, normalise_licence
from .common import classify_identifier, dedupe, iso_date, landing_page, lang, licence_from, shell, text, year_of

DC = "http://purl.org/dc/elements/1.1/"


def _all(el: etree._Element, tag: str) -> list[etree._Element]:
    """Elements named ``tag`` in the DC namespace, or in none (servers that drop namespaces)."""
    return [e for e in el.iter(f"{{{DC}}}{tag}", tag)]


def _values(el: etree._Element, tag: str) -> list[str]:
    return [v for v in (text(e) for e in _all(el, tag)) if v]


def crosswalk(item: HarvestedItem, source: SourceConfig, run_id: int | None = None) -> Record:
    rec = shell(item, source, run_id)
    if item.deleted or item.element is None:
        return rec
    el = item.element
    rec.titles = [LangText(v, lang(e)) for e in _all(el, "title") if (v := text(e))]
    rec.descriptions = [LangText(v, lang(e)) for e in _all(el, "description") if (v := text(e))]
    rec.creators = dedupe(_values(el, "creator"))
    publishers = _values(el, "publisher")
    rec.publisher = publishers[0] if publishers else None
    rec.subjects = dedupe([s for v in _values(el, "subject") for s in v.replace("；", ";").split(";")])
    dates = []
    for value in _values(el, "date"):
        if value.startswith("info:eu-repo/"):
            rec.statements.append(Statement("dc:date", value))
        else:
            dates.append(value)
    rec.published = iso_date(dates[0]) if dates else None
    rec.year = year_of(*dates)
    for value in _values(el, "identifier"):
        classify_identifier(value, rec.identifiers)
    rec.landing_page = landing_page(rec.identifiers)
    rec.formats = dedupe(_values(el, "format"))
    languages = _values(el, "language")
    rec.language = languages[0] if languages else None
    for value in _values(el, "rights"):
        rec.statements.append(Statement("dc:rights", value))
        if normalise_licence(value) and not rec.licence.raw:
            url = next((w for w in value.split() if w.startswith("http")), None)
            rec.licence = licence_from(value, url)
        else:
            rec.rights.append(value)
    return rec
