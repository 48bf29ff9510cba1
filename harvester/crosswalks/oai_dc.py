"""Crosswalk: Dublin Core (``oai_dc``) → :class:`Record`."""

from __future__ import annotations

from lxml import etree

from ..config_schema import SourceConfig
from ..model import LangText, Record, Statement, normalise_licence
from ..sources.base import HarvestedItem
from .common import (
    classify_identifier,
    dedupe,
    iso_date,
    landing_page,
    lang,
    licence_from,
    shell,
    text,
    year_of,
)

DC = "http://purl.org/dc/elements/1.1/"


_DC_PREFIX = f"{{{DC}}}"
_NO_ELEMENTS: list[etree._Element] = []


class _Elements:
    """The DC elements of a record by local name, in document order, from one walk of the tree.

    Elements in the DC namespace or in none count (servers that drop namespaces).
    """

    def __init__(self, root: etree._Element) -> None:
        self._by_name: dict[str, list[etree._Element]] = {}
        for e in root.iter():
            tag = e.tag
            if not isinstance(tag, str):
                continue  # comments and processing instructions
            if tag.startswith(_DC_PREFIX):
                tag = tag[len(_DC_PREFIX):]
            elif tag.startswith("{"):
                continue
            self._by_name.setdefault(tag, []).append(e)

    def all(self, name: str) -> list[etree._Element]:
        return self._by_name.get(name, _NO_ELEMENTS)

    def values(self, name: str) -> list[str]:
        return [v for v in (text(e) for e in self.all(name)) if v]


def crosswalk(item: HarvestedItem, source: SourceConfig, run_id: int | None = None) -> Record:
    rec = shell(item, source, run_id)
    if item.deleted or item.element is None:
        return rec
    el = _Elements(item.element)
    rec.titles = [LangText(v, lang(e)) for e in el.all("title") if (v := text(e))]
    rec.descriptions = [LangText(v, lang(e)) for e in el.all("description") if (v := text(e))]
    rec.creators = dedupe(el.values("creator"))
    publishers = el.values("publisher")
    rec.publisher = publishers[0] if publishers else None
    rec.subjects = dedupe([s for v in el.values("subject") for s in v.replace("；", ";").split(";")])
    dates = []
    for value in el.values("date"):
        if value.startswith("info:eu-repo/"):
            rec.statements.append(Statement("dc:date", value))
        else:
            dates.append(value)
    rec.published = iso_date(dates[0]) if dates else None
    rec.year = year_of(*dates)
    for value in el.values("identifier"):
        classify_identifier(value, rec.identifiers)
    rec.landing_page = landing_page(rec.identifiers)
    rec.formats = dedupe(el.values("format"))
    languages = el.values("language")
    rec.language = languages[0] if languages else None
    for value in el.values("rights"):
        rec.statements.append(Statement("dc:rights", value))
        if normalise_licence(value) and not rec.licence.raw:
            url = next((w for w in value.split() if w.startswith("http")), None)
            rec.licence = licence_from(value, url)
        else:
            rec.rights.append(value)
    return rec
