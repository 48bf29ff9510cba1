"""DataCite metadata kernel 4.5: the JSON of the ``datacite`` package's schema, and XML written from it by
that package (lxml underneath).

A record without a DOI has no ``identifier`` element (DataCite's XML schema wants a DOI there); its fedcat
id, CSTR and other identifiers are alternate identifiers. Creators and the publication year are
mandatory: a record without creators names its publisher (or center) as an organisation, one without a
year has DataCite's ``(:unav)`` year substitute, the year fedcat last saw it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fedcat.harvester.links import safe_url
from fedcat.harvester.model import Openness, Record

from .view import lang_tag, text, year_of

SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
_DOI = re.compile(r"^10[.][0-9]{4,9}/\S+$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$")
#: The COAR access rights vocabulary DataCite recommends in rightsList (info:eu-repo/semantics terms).
ACCESS_RIGHTS = {
    Openness.OPEN: "info:eu-repo/semantics/openAccess",
    Openness.REGISTERED: "info:eu-repo/semantics/restrictedAccess",
    Openness.CONDITIONAL: "info:eu-repo/semantics/restrictedAccess",
    Openness.EMBARGOED: "info:eu-repo/semantics/embargoedAccess",
    Openness.METADATA_ONLY: "info:eu-repo/semantics/closedAccess",
}


def _lang(entry: dict[str, Any], lang: str | None) -> dict[str, Any]:
    tag = lang_tag(lang)
    return dict(entry, lang=tag) if tag else entry


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _date(value: str | None) -> str | None:
    value = text(value)
    return value if value and _DATE.match(value) else None


def _seen_year(record: Record) -> str:
    for value in (record.datestamp, record.provenance.harvested_at if record.provenance else None):
        if value and re.match(r"^\d{4}", value):
            return value[:4]
    return str(datetime.now(UTC).year)


def to_json(record: Record) -> dict[str, Any]:
    """The record as DataCite JSON (kernel 4.5), as :func:`datacite.schema45.validate` accepts it."""
    titles: list[dict[str, Any]] = []
    first_lang: str | None = None
    for t in record.titles:
        value = text(t.value)
        if value is None:
            continue
        entry: dict[str, Any] = {"title": value}
        if titles:
            entry["titleType"] = "TranslatedTitle" if lang_tag(t.lang) != first_lang else "AlternativeTitle"
        else:
            first_lang = lang_tag(t.lang)
        titles.append(_lang(entry, t.lang))
    if not titles:
        titles = [{"title": text(record.local_id) or record.id}]
    publisher = text(record.publisher) or text(record.center_zh) or text(record.center_en) or record.source_id
    creators = [{"name": name, "nameType": "Personal"} for c in record.creators if (name := text(c))]
    if not creators:
        creators = [{"name": publisher, "nameType": "Organizational"}]
    year = year_of(record)
    out: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Dataset"},
        "titles": _unique(titles),
        "creators": _unique(creators),
        "publisher": {"name": publisher},
        "publicationYear": f"{year:04d}" if year and 0 < year < 10000 else _seen_year(record),
    }
    ids = record.identifiers
    if ids.doi and _DOI.match(ids.doi):
        out["doi"] = ids.doi
    alternates = [{"alternateIdentifier": record.id, "alternateIdentifierType": "fedcat"}]
    if ids.doi and "doi" not in out and (doi := text(ids.doi)):
        alternates.append({"alternateIdentifier": doi, "alternateIdentifierType": "DOI"})
    if ids.cstr and (cstr := text(ids.cstr)):
        alternates.append({"alternateIdentifier": cstr, "alternateIdentifierType": "CSTR"})
    for acc in ids.accession:
        if value := text(acc):
            alternates.append({"alternateIdentifier": value, "alternateIdentifierType": "Accession"})
    out["alternateIdentifiers"] = _unique(alternates)
    if url := safe_url(record.landing_page):
        out["url"] = url
    descriptions = [_lang({"description": value, "descriptionType": "Abstract"}, d.lang)
                    for d in record.descriptions if (value := text(d.value))]
    if descriptions:
        out["descriptions"] = _unique(descriptions)
    subjects = [{"subject": value} for s in record.subjects if (value := text(s))]
    if subjects:
        out["subjects"] = _unique(subjects)
    dates = [{"date": d, "dateType": kind} for value, kind in ((record.published, "Issued"),
                                                                (record.modified, "Updated"))
             if (d := _date(value))]
    if record.access.embargo_until and (until := _date(record.access.embargo_until)):
        dates.append({"date": until, "dateType": "Available"})
    if dates:
        out["dates"] = _unique(dates)
    if language := lang_tag(record.language):
        out["language"] = language
    if version := text(record.version):
        out["version"] = version
    formats = [value for f in record.formats if (value := text(f))]
    if formats:
        out["formats"] = list(dict.fromkeys(formats))
    rights = _rights(record)
    if rights:
        out["rightsList"] = _unique(rights)
    return out


def _rights(record: Record) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    lic = record.licence
    name = text(lic.normalised) or text(lic.raw)
    if name or safe_url(lic.url):
        entry: dict[str, Any] = {"rights": name or ""}
        if url := safe_url(lic.url):
            entry["rightsUri"] = url
        if lic.normalised and (spdx := text(lic.normalised)):
            entry.update(rightsIdentifier=spdx, rightsIdentifierScheme="SPDX", schemeUri="https://spdx.org/licenses/")
        out.append(entry)
    if uri := ACCESS_RIGHTS.get(record.access.openness):
        out.append({"rights": uri.rsplit("/", 1)[1], "rightsUri": uri})
    return out


def to_xml(record: Record) -> bytes:
    """The record as a DataCite kernel 4.5 XML document (UTF-8, with the XML declaration)."""
    from datacite import schema45  # loaded when a DataCite document is asked for (its import takes 0.6 s)

    data = schema45.tostring(to_json(record))
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def valid(data: dict[str, Any]) -> bool:
    """Whether ``data`` validates against the DataCite 4.5 JSON schema the ``datacite`` package ships."""
    from datacite import schema45

    return bool(schema45.validate(data))
