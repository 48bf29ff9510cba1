"""The record as a caller may see it, and the text and URL hygiene every format shares."""

from __future__ import annotations

import copy
import re
from urllib.parse import quote

from fedcat.harvester.citation import gbt7714
from fedcat.harvester.links import safe_url
from fedcat.harvester.model import Record


def caller_view(record: Record, sees_links: bool) -> Record:
    """The record as the caller may see it: without access links (and a citation without them) if withheld.

    Every format is rendered from this view, so a withheld link is absent from all of them."""
    if sees_links:
        return record
    view = copy.deepcopy(record)
    view.landing_page = view.access_url = None
    view.identifiers.urls = []
    view.citation = gbt7714(view)
    return view


#: Characters XML 1.0 cannot carry at all (lxml refuses them; an RDF/XML document with them does not parse).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def text(value: str | None) -> str | None:
    """Harvested text made storable in XML and RDF: characters XML cannot hold dropped, blank → None."""
    if value is None:
        return None
    out = _NOT_XML.sub("", value).strip()
    return out or None


#: A BCP 47 language tag, loosely (what xml:lang and RDF literals accept).
_LANG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def lang_tag(value: str | None) -> str | None:
    """A harvested language tag when it is well formed, else None (never passed on malformed)."""
    if value and _LANG.match(value.strip()):
        return value.strip()
    return None


#: Characters a URL may hold after :func:`safe_url` that an IRI in Turtle or RDF/XML may not.
_IRI_UNSAFE = '<>"{}|^`'


def iri(value: str | None) -> str | None:
    """A harvested URL usable as an RDF IRI: through the scheme allowlist, IRI-unsafe characters escaped."""
    url = safe_url(value)
    if url is None:
        return None
    return "".join(quote(ch) if ch in _IRI_UNSAFE else ch for ch in url)


def year_of(record: Record) -> int | None:
    """The publication year: the record's own, else the year its publication date starts with."""
    if record.year:
        return record.year
    for value in (record.published, record.modified):
        if value and re.match(r"^\d{4}", value):
            return int(value[:4])
    return None


def page_url(base_url: str, record_id: str) -> str:
    """The absolute URL of a record's page on this site (``base_url`` ends with ``/``)."""
    return base_url.rstrip("/") + "/record/" + quote(record_id, safe=":._-~")
