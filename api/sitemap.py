"""``/sitemap.xml`` and ``robots.txt``: how dataset search engines find the record pages.

``/sitemap.xml`` is a sitemap index pointing at ``/sitemap-1.xml`` … , each listing at most
:data:`PAGE_SIZE` record pages (the sitemaps protocol's limit is 50,000 URLs). Only the records the public
audience sees are listed (:func:`.export.public_caller`): the store's live records whose page that
audience may open, walked in id order by their access tags (a walk of the index's hits would stop at its
result window, 10,000 hits a query, where a national center holds hundreds of thousands of records);
each member of a duplicate group has its own page. Where each sitemap starts is counted by one walk and
kept until the store's change counters move, so a page reads only its own records. ``<lastmod>`` is when
the record last changed at its source (its OAI-PMH datestamp, else its modification date).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from lxml import etree

from fedcat.harvester.model import Record

from .audience import Caller
from .catalog import Catalog
from .deps import catalog_of
from .errors import NotFound
from .export import public_caller

router = APIRouter()

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
#: The most record pages one sitemap lists (the protocol's limit; tests lower it).
PAGE_SIZE = 50_000
_W3C_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$")


def public_ids(catalog: Catalog, caller: Caller, after: str = "") -> Iterator[str]:
    """Every record id after ``after`` whose page ``caller`` may see, in id order (the store's access tags, the
    test the record page itself applies), a batch at a time: no result window limits it, whatever a source
    holds."""
    return catalog.store.records.visible_ids(caller.visibility.allows, after=after)


@dataclass(frozen=True)
class _Pages:
    """Where each sitemap page starts (after which id; ``""`` for the first), for the store as it was when
    counted (its change counters, :meth:`RecordStore.source_versions`)."""

    versions: tuple[tuple[str, int], ...]
    starts: tuple[str, ...]


def page_starts(request: Request, catalog: Catalog, caller: Caller) -> tuple[str, ...]:
    """The start of each sitemap page for ``caller``: counted by one walk, kept (in this app, per visibility)
    until the store changes, so the index and every page need not walk all the records again."""
    versions = catalog.store.source_versions()
    kept: dict[str, _Pages] | None = getattr(request.app.state, "sitemap_pages", None)
    if kept is None:
        kept = request.app.state.sitemap_pages = {}
    key = caller.visibility.key()
    pages = kept.get(key)
    if pages is None or pages.versions != versions:
        starts, previous = [""], ""
        for n, record_id in enumerate(public_ids(catalog, caller)):
            if n and n % PAGE_SIZE == 0:
                starts.append(previous)
            previous = record_id
        pages = kept[key] = _Pages(versions, tuple(starts))
    return pages.starts


def lastmod(record: Record) -> str | None:
    """When the record last changed at its source, in the W3C date format sitemaps use (None if unknown)."""
    for value in (record.datestamp, record.modified):
        if value and _W3C_DATE.match(value.strip()):
            return value.strip()
    return None


def _xml(root: etree._Element) -> Response:
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Response(body, media_type="application/xml")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/sitemap.xml", include_in_schema=False)
def sitemap_index(request: Request) -> Response:
    catalog = catalog_of(request)
    starts = page_starts(request, catalog, public_caller(catalog))
    root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    for number in range(1, len(starts) + 1):
        entry = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
        etree.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = f"{_base(request)}/sitemap-{number}.xml"
    return _xml(root)


@router.get("/sitemap-{number}.xml", include_in_schema=False)
def sitemap_page(request: Request, number: int) -> Response:
    """The ``number``-th (from 1) :data:`PAGE_SIZE` record pages; the first exists even when empty."""
    catalog = catalog_of(request)
    caller = public_caller(catalog)
    starts = page_starts(request, catalog, caller)
    if not 1 <= number <= len(starts):
        raise NotFound(f"no sitemap {number}")
    ids = list(itertools.islice(public_ids(catalog, caller, after=starts[number - 1]), PAGE_SIZE))
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS})
    for record_id in ids:
        rec = catalog.store.records.get_visible(record_id, caller.visibility.allows)
        if rec is None or rec.deleted:
            continue  # the index is catching up with the store: list only what the page shows
        url = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = (
            f"{_base(request)}/record/{quote(record_id, safe=':._-~')}")
        if when := lastmod(rec):
            etree.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = when
    return _xml(root)


#: Paths crawlers are kept out of: the API (its search and export are the pages' own, endlessly
#: parameterised), the key form, the review queue and the Prometheus metrics.
DISALLOWED = ("/api/", "/key", "/review", "/export", "/metrics")


@router.get("/robots.txt", include_in_schema=False)
def robots(request: Request) -> PlainTextResponse:
    lines = ["User-agent: *", "Allow: /record/", "Allow: /sitemap", *(f"Disallow: {p}" for p in DISALLOWED),
             "", f"Sitemap: {_base(request)}/sitemap.xml", ""]
    return PlainTextResponse("\n".join(lines))
