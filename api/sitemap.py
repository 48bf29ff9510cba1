"""``/sitemap.xml`` and ``robots.txt``: how dataset search engines find the record pages.

``/sitemap.xml`` is a sitemap index pointing at ``/sitemap-1.xml`` … , each listing at most
:data:`PAGE_SIZE` record pages (the sitemaps protocol's limit is 50,000 URLs). Only the records the public
audience sees are listed (:func:`.export.public_caller`): the store's live records whose page that
audience may open, walked in id order by their access tags (a walk of the index's hits would stop at its
result window, 10,000 hits a query, where a national center holds hundreds of thousands of records);
each member of a duplicate group has its own page. ``<lastmod>`` is when the record last changed at its
source (its OAI-PMH datestamp, else its modification date).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
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


def public_ids(catalog: Catalog, caller: Caller) -> Iterator[str]:
    """Every record id whose page ``caller`` may see, in id order (the store's access tags, the test the
    record page itself applies), a batch at a time: no result window limits it, whatever a source holds."""
    return catalog.store.records.visible_ids(caller.visibility.allows)


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
    total = sum(1 for _ in public_ids(catalog, public_caller(catalog)))
    root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    for number in range(1, max(1, -(-total // PAGE_SIZE)) + 1):
        entry = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
        etree.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = f"{_base(request)}/sitemap-{number}.xml"
    return _xml(root)


@router.get("/sitemap-{number}.xml", include_in_schema=False)
def sitemap_page(request: Request, number: int) -> Response:
    """The ``number``-th (from 1) :data:`PAGE_SIZE` record pages; the first exists even when empty."""
    catalog = catalog_of(request)
    caller = public_caller(catalog)
    if number < 1:
        raise NotFound(f"no sitemap {number}")
    start = (number - 1) * PAGE_SIZE
    ids = list(itertools.islice(public_ids(catalog, caller), start, start + PAGE_SIZE))  # stops after the page
    if not ids and number > 1:
        raise NotFound(f"no sitemap {number}")
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
