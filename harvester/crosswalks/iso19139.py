"""Crosswalk: ISO 19139 (``gmd:MD_Metadata``, as geoscience centers and GeoNetwork serve it) → :class:`Record`.

Paths are matched by local name, so the ``gmd``/``gco``/``gmx`` prefixes (or their absence) do not
matter. A text is a ``gco:CharacterString`` or ``gmx:Anchor`` in the metadata language plus every
``gmd:PT_FreeText`` localised string in its locale's language (``#locale-eng`` → ``en``), so Chinese
and English titles, abstracts and keywords are all kept. Kept verbatim in ``record.statements`` for
the taggers: ``accessConstraints``/``useConstraints`` (``MD_RestrictionCode``), ``otherConstraints``,
``useLimitation`` and the ``MD_SecurityConstraints`` classification (``MD_ClassificationCode``),
of the resource and of the metadata.
"""

from __future__ import annotations

from lxml import etree

from ..config_schema import SourceConfig
from ..errors import CrosswalkError
from ..model import LangText, Record, Statement, normalise_licence
from ..sources.base import HarvestedItem
from .common import (
    classify_identifier,
    dedupe,
    iso_date,
    landing_page,
    language_tag,
    licence_from,
    shell,
    year_of,
)

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
CREATOR_ROLES = frozenset({"author", "originator", "principalInvestigator", "coAuthor"})


def _all(el: etree._Element, path: str) -> list[etree._Element]:
    """Namespace-agnostic descendants along a path of local names (``citation/CI_Citation/title``)."""
    return list(el.iterfind("/".join("{*}" + step for step in path.split("/"))))


def _one(el: etree._Element, path: str) -> etree._Element | None:
    found = _all(el, path)
    return found[0] if found else None


def _local(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


class _Context:
    """The metadata language and the locales PT_FreeText strings refer to."""

    def __init__(self, root: etree._Element) -> None:
        self.language = language_tag(_code(_one(root, "language")))
        self.locales: dict[str, str] = {}
        for locale in root.iter("{*}PT_Locale"):
            tag = language_tag(_code(_one(locale, "languageCode")))
            ident = locale.get("id")
            if ident and tag:
                self.locales[ident] = tag

    def locale(self, ref: str | None) -> str | None:
        if not ref:
            return None
        return self.locales.get(ref.lstrip("#")) or language_tag(ref)


def _code(el: etree._Element | None) -> str | None:
    """A code list value (``codeListValue``, else the text) of ``el`` or its first child."""
    if el is None:
        return None
    for node in (el, *el):
        value = node.get("codeListValue") or (node.text or "").strip()
        if value:
            return value.strip()
    return None


def _plain(el: etree._Element | None) -> str | None:
    """The CharacterString / Anchor / URL text directly inside a property element."""
    if el is None:
        return None
    for child in el:
        if _local(child) in ("CharacterString", "Anchor", "URL", "Date", "DateTime", "Decimal", "Integer"):
            value = "".join(child.itertext()).strip()
            if value:
                return value
    value = (el.text or "").strip()
    return value or None


def _texts(el: etree._Element | None, ctx: _Context) -> list[LangText]:
    """Every language of a (possibly PT_FreeText) text property."""
    if el is None:
        return []
    out: list[LangText] = []
    main = _plain(el)
    if main:
        out.append(LangText(main, ctx.language))
    for loc in el.iterfind("{*}PT_FreeText/{*}textGroup/{*}LocalisedCharacterString"):
        value = "".join(loc.itertext()).strip()
        lang = ctx.locale(loc.get("locale"))
        if value and all((t.value, t.lang) != (value, lang) for t in out):
            if any(t.value == value for t in out):
                continue  # the same text repeated as a localisation of itself
            out.append(LangText(value, lang))
    return out


def _metadata(element: etree._Element) -> etree._Element | None:
    if _local(element) == "MD_Metadata":
        return element
    return next(element.iter("{*}MD_Metadata"), None)


def crosswalk(item: HarvestedItem, source: SourceConfig, run_id: int | None = None) -> Record:
    rec = shell(item, source, run_id)
    if item.deleted or item.element is None:
        return rec
    root = _metadata(item.element)
    if root is None:
        raise CrosswalkError("no gmd:MD_Metadata in the payload", source_id=source.id, local_id=item.local_id)
    ctx = _Context(root)
    ident = next((c for c in root.iterfind("{*}identificationInfo/*")), None)
    if ident is None:
        raise CrosswalkError("no gmd:identificationInfo", source_id=source.id, local_id=item.local_id)
    citation = _one(ident, "citation/CI_Citation")
    if citation is not None:
        _citation(citation, ctx, rec)
    rec.descriptions = _texts(_one(ident, "abstract"), ctx)
    rec.subjects = dedupe([part for kw in _all(ident, "descriptiveKeywords/MD_Keywords/keyword")
                           for t in _texts(kw, ctx) for part in t.value.replace("；", ";").split(";")]
                          + [c for el in _all(ident, "topicCategory") if (c := _code(el))])
    rec.language = language_tag(_code(_one(ident, "language"))) or ctx.language
    classify_identifier(_plain(_one(root, "fileIdentifier")) or "", rec.identifiers)
    for holder in [*_all(ident, "resourceConstraints"), *_all(root, "metadataConstraints")]:
        _constraints(holder, ctx, rec)
    _distribution(root, rec)
    dataset_uri = _plain(_one(root, "dataSetURI"))
    if dataset_uri:
        classify_identifier(dataset_uri, rec.identifiers)
    rec.modified = rec.modified or iso_date(_plain(_one(root, "dateStamp")))
    rec.landing_page = rec.landing_page or landing_page(rec.identifiers)
    return rec


def _citation(citation: etree._Element, ctx: _Context, rec: Record) -> None:
    rec.titles = _texts(_one(citation, "title"), ctx)
    dates: dict[str, str] = {}
    for ci_date in _all(citation, "date/CI_Date"):
        kind = _code(_one(ci_date, "dateType")) or ""
        value = _plain(_one(ci_date, "date"))
        if value and kind not in dates:
            dates[kind] = value
    rec.published = iso_date(dates.get("publication") or dates.get("creation"))
    rec.modified = iso_date(dates.get("revision"))
    rec.year = year_of(rec.published)
    for ident in _all(citation, "identifier/*"):
        code = _one(ident, "code")
        value = _plain(code)
        href = next((a.get(XLINK_HREF) for a in (code if code is not None else []) if a.get(XLINK_HREF)), None)
        space = (_plain(_one(ident, "codeSpace")) or "").upper()
        for v in (value, None if value else href):
            if v:
                prefixed = f"{space}:{v}" if space in ("DOI", "CSTR") and not v.upper().startswith(space) \
                    and not v.startswith("http") else v
                classify_identifier(prefixed, rec.identifiers)
    creators: list[str] = []
    for party in _all(citation, "citedResponsibleParty/CI_ResponsibleParty"):
        role = _code(_one(party, "role")) or ""
        name = _plain(_one(party, "individualName")) or _plain(_one(party, "organisationName"))
        if not name:
            continue
        if role in CREATOR_ROLES:
            creators.append(name)
        elif role == "publisher" and rec.publisher is None:
            rec.publisher = _plain(_one(party, "organisationName")) or name
    rec.creators = dedupe(creators)


def _constraints(holder: etree._Element, ctx: _Context, rec: Record) -> None:
    """One ``resourceConstraints``/``metadataConstraints``: statements, and the licence if one is named."""
    for c in holder:
        for lim in _all(c, "useLimitation"):
            for t in _texts(lim, ctx):
                _statement(rec, "gmd:useLimitation", t.value)
        for name in ("accessConstraints", "useConstraints"):
            for el in _all(c, name):
                code = _code(el)
                if code:
                    _statement(rec, f"gmd:{name}", code)
        for el in _all(c, "otherConstraints"):
            href = next((a.get(XLINK_HREF) for a in el if a.get(XLINK_HREF)), None)
            for t in _texts(el, ctx):
                _statement(rec, "gmd:otherConstraints", t.value, href)
            if href:
                _statement(rec, "gmd:otherConstraints", href, href)
        for el in _all(c, "classification"):
            code = _code(el)
            if code:
                _statement(rec, "gmd:classification", code)
        for name in ("userNote", "classificationSystem", "handlingDescription"):
            for el in _all(c, name):
                for t in _texts(el, ctx):
                    _statement(rec, f"gmd:{name}", t.value)


def _statement(rec: Record, field: str, value: str, href: str | None = None) -> None:
    st = Statement(field, value)
    if st in rec.statements:
        return
    rec.statements.append(st)
    if field in ("gmd:useLimitation", "gmd:otherConstraints") and not rec.licence.raw \
            and (normalise_licence(value) or normalise_licence(href)):
        url = href or next((w for w in value.split() if w.startswith("http")), None)
        rec.licence = licence_from(value, url)


def _distribution(root: etree._Element, rec: Record) -> None:
    dist = _one(root, "distributionInfo/MD_Distribution")
    if dist is None:
        return
    rec.formats = dedupe([v for f in _all(dist, "distributionFormat/MD_Format")
                          if (v := _plain(_one(f, "name")))])
    for res in dist.iter("{*}CI_OnlineResource"):
        url = _plain(_one(res, "linkage"))
        if not url:
            continue
        function = _code(_one(res, "function")) or ""
        if function == "download" and rec.access_url is None:
            rec.access_url = url
        elif function in ("information", "search", "") and rec.landing_page is None \
                and "doi.org/" not in url and "cstr.cn/" not in url:
            rec.landing_page = url
        elif rec.access_url is None:
            rec.access_url = url
        if "doi.org/" in url or "cstr.cn/" in url:
            classify_identifier(url, rec.identifiers)
