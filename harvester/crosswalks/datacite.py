"""Crosswalk: DataCite XML (kernel 3/4, bare or wrapped in ``oai_datacite``) → :class:`Record`."""

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

#: Subject schemes that carry a security level rather than a subject.
STATEMENT_SCHEMES = frozenset({"密级", "数据级别", "安全级别", "securityLevel", "classification"})


def _resource(el: etree._Element) -> etree._Element:
    """The <resource> element, whether ``el`` is it or wraps it (oai_datacite payload)."""
    if etree.QName(el).localname == "resource":
        return el
    return next(el.iter("{*}resource"), el)


def _find_all(el: etree._Element, path: str) -> list[etree._Element]:
    """Namespace-agnostic path of local names, e.g. ``titles/title``."""
    return list(el.iterfind("/".join("{*}" + step for step in path.split("/"))))


def _first(el: etree._Element, path: str) -> str | None:
    for node in _find_all(el, path):
        value = text(node)
        if value:
            return value
    return None


def crosswalk(item: HarvestedItem, source: SourceConfig, run_id: int | None = None) -> Record:
    rec = shell(item, source, run_id)
    if item.deleted or item.element is None:
        return rec
    res = _resource(item.element)
    rec.titles = [LangText(v, lang(t)) for t in _find_all(res, "titles/title") if (v := text(t))]
    rec.descriptions = [LangText(v, lang(d)) for d in _find_all(res, "descriptions/description") if (v := text(d))]
    rec.creators = dedupe([v for c in _find_all(res, "creators/creator") if (v := _first(c, "creatorName"))])
    rec.publisher = _first(res, "publisher")
    subjects: list[str] = []
    for node in _find_all(res, "subjects/subject"):
        value, scheme = text(node), (node.get("subjectScheme") or "").strip()
        if value and scheme in STATEMENT_SCHEMES:
            rec.statements.append(Statement(scheme, value))
        elif value:
            subjects += value.replace("；", ";").split(";")
    rec.subjects = dedupe(subjects)
    for ident in _find_all(res, "identifier"):
        value = text(ident)
        if value:
            kind = (ident.get("identifierType") or "").upper()
            bare_doi = kind == "DOI" and not value.lower().startswith(("doi", "http"))
            classify_identifier(f"doi:{value}" if bare_doi else value, rec.identifiers)
    for alt in _find_all(res, "alternateIdentifiers/alternateIdentifier"):
        value = text(alt)
        if value:
            kind = (alt.get("alternateIdentifierType") or "").upper()
            classify_identifier(f"CSTR:{value}" if kind == "CSTR" and not value.upper().startswith("CSTR") else value,
                                rec.identifiers)
    dates = {(d.get("dateType") or "").lower(): text(d) for d in _find_all(res, "dates/date")}
    rec.published = iso_date(dates.get("issued") or dates.get("available") or _first(res, "publicationYear"))
    rec.modified = iso_date(dates.get("updated"))
    rec.year = year_of(_first(res, "publicationYear"), rec.published)
    rec.formats = dedupe([v for f in _find_all(res, "formats/format") if (v := text(f))])
    rec.version = _first(res, "version")
    rec.language = _first(res, "language")
    for rights in _find_all(res, "rightsList/rights"):
        label = text(rights)
        uri = rights.get("rightsURI")
        rec.statements += [Statement(f, v) for f, v in (("rightsList/rights@rightsURI", uri),
                                                         ("rightsList/rights", label)) if v]
        if (normalise_licence(uri) or normalise_licence(label) or normalise_licence(rights.get("rightsIdentifier"))) \
                and not rec.licence.raw:
            rec.licence = licence_from(label or rights.get("rightsIdentifier"), uri)
        else:
            rec.rights.extend(v for v in (uri, label) if v)
    rec.landing_page = landing_page(rec.identifiers)
    return rec
