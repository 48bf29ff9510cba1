"""Crosswalk: a Dataverse Search API item with its ``dataverse_json`` export (under ``export``) → :class:`Record`.

Citation block fields are read by ``typeName``: title, alternativeTitle, author, dsDescription,
keyword, subject, language, productionDate; the licence from ``datasetVersion.license`` (Dataverse 5.10
and later) or the older ``license``/``termsOfUse`` strings.
"""

from __future__ import annotations

from typing import Any

from ..config_schema import SourceConfig
from ..model import LangText, Record
from ..sources.base import HarvestedItem
from ..sources.rest import dates
from ..sources.rest.paths import as_text, first, values
from .common import classify_identifier, dedupe, licence_from, shell, year_of
from .markup import strip_markup


def citation_fields(export: Any) -> dict[str, Any]:
    """``typeName`` → ``value`` of the citation metadata block."""
    fields = values(export, "datasetVersion.metadataBlocks.citation.fields")
    return {f["typeName"]: f.get("value") for f in fields if isinstance(f, dict) and "typeName" in f}


def _compound(value: Any, sub: str) -> list[str]:
    """Values of a sub-field in a compound field (``author`` → ``authorName``)."""
    rows = value if isinstance(value, list) else [value]
    return [text for row in rows if isinstance(row, dict) and (text := as_text(first(row, f"{sub}.value")))]


def _primitive(value: Any) -> list[str]:
    rows = value if isinstance(value, list) else [value]
    return [text for row in rows if (text := as_text(row))]


def crosswalk(item: HarvestedItem, data: dict[str, Any], source: SourceConfig, run_id: int | None = None) -> Record:
    rec = shell(item, source, run_id)
    export = data.get("export") or {}
    cite = citation_fields(export)
    rec.titles = [LangText(t) for t in dedupe(_primitive(cite.get("title")) + _primitive(cite.get("alternativeTitle"))
                                              or [as_text(data.get("name")) or ""])]
    descriptions = _compound(cite.get("dsDescription"), "dsDescriptionValue") or _primitive(data.get("description"))
    rec.descriptions = [LangText(strip_markup(d)) for d in dedupe(descriptions)]  # Dataverse allows HTML here
    rec.creators = dedupe(_compound(cite.get("author"), "authorName") or _primitive(data.get("authors")))
    rec.subjects = dedupe(_compound(cite.get("keyword"), "keywordValue") + _primitive(cite.get("subject"))
                          + _primitive(data.get("keywords")) + _primitive(data.get("subjects")))
    rec.publisher = as_text(export.get("publisher")) or as_text(data.get("publisher"))
    published = dates.parse(export.get("publicationDate") or data.get("published_at"))
    rec.published = dates.iso_day(published) if published else None
    modified = dates.parse(first(export, "datasetVersion.lastUpdateTime") or data.get("updatedAt"))
    rec.modified = dates.iso_day(modified) if modified else None
    rec.year = year_of(rec.published, *_primitive(cite.get("productionDate")))
    for ident in (data.get("global_id"), export.get("persistentUrl"), data.get("url")):
        if as_text(ident):
            classify_identifier(str(ident), rec.identifiers)
    version = export.get("datasetVersion") or {}
    licence = version.get("license")
    if isinstance(licence, dict):
        rec.licence = licence_from(as_text(licence.get("name")), as_text(licence.get("uri")))
    elif as_text(licence) or as_text(version.get("termsOfUse")):
        rec.licence = licence_from(as_text(licence) or as_text(version.get("termsOfUse")))
    languages = _primitive(cite.get("language"))
    rec.language = languages[0] if languages else None
    if version.get("versionNumber") is not None:
        rec.version = f"{version.get('versionNumber')}.{version.get('versionMinorNumber') or 0}"
    rec.landing_page = as_text(data.get("url")) or as_text(export.get("persistentUrl"))
    return rec
