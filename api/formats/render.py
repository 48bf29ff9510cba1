"""A record in a negotiated format, as a response (``Vary: Accept``: the answer depends on it)."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.responses import Response

from fedcat.harvester.model import Record

from . import citations, datacite, dcat
from .negotiation import Format

VARY = {"Vary": "Accept"}


def _schemaorg(record: Record, base_url: str) -> str:
    """The record page's own schema.org Dataset (imported here: the web package imports the record routes)."""
    from ..web.jsonld import dataset

    return json.dumps(dataset(record), ensure_ascii=False, indent=1)


_RENDER: dict[str, Callable[[Record, str], str | bytes]] = {
    "datacite-xml": lambda r, _: datacite.to_xml(r),
    "datacite-json": lambda r, _: json.dumps(datacite.to_json(r), ensure_ascii=False, indent=1),
    "dcat-turtle": lambda r, base: dcat.serialize(r, base, "turtle"),
    "dcat-rdfxml": lambda r, base: dcat.serialize(r, base, "pretty-xml"),
    "dcat-jsonld": lambda r, base: dcat.serialize(r, base, "json-ld"),
    "schemaorg": _schemaorg,
    "ris": lambda r, _: citations.ris(r),
    "bibtex": lambda r, _: citations.bibtex(r) + "\n",
    "csl-json": lambda r, _: citations.csl_json(r),
    "gbt7714": lambda r, _: citations.gbt7714(r) + "\n",
}


def render(fmt: Format, record: Record, base_url: str) -> str | bytes:
    """``record`` (already the caller's view: :func:`.view.caller_view`) written in ``fmt``; ``base_url`` is
    this site's, for the IRIs of record pages."""
    return _RENDER[fmt.name](record, base_url)


def record_response(fmt: Format, record: Record, base_url: str) -> Response:
    return Response(render(fmt, record, base_url), media_type=fmt.content_type, headers=dict(VARY))
