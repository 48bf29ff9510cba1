"""``/api/v1/catalog``: the whole public catalog as one DCAT-AP ``dcat:Catalog`` for EU-style portals, in
pages (Hydra's ``PartialCollectionView``: first, previous, next, last; ``hydra:totalItems``).

Each page describes its datasets as the OAI-PMH provider serves them (:mod:`.oai.repository`: the
published public views, every record checked against the public's visibility again, withheld links left
out): each record of a dataset the public sees is a ``dcat:Dataset`` (:mod:`.formats.dcat`) that the
catalog lists. Turtle by default; ``?format=rdfxml`` or ``jsonld`` (or ``Accept``) for the others.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from .audience import Caller
from .deps import caller_of, catalog_of
from .errors import BadParameter
from .formats import dcat
from .oai.repository import StorePublished

router = APIRouter()

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
#: Datasets on one page of the catalog document.
PAGE_SIZE = 100
#: ``format`` → (rdflib syntax, media type).
SYNTAXES = {"turtle": ("turtle", "text/turtle"), "rdfxml": ("xml", "application/rdf+xml"),
            "jsonld": ("json-ld", "application/ld+json")}


@router.get("/api/v1/catalog", summary="The public catalog as a paged DCAT-AP dcat:Catalog (Turtle, RDF/XML, JSON-LD)")
def catalog_document(request: Request, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                     fmt: Annotated[str | None, Query(alias="format", max_length=20)] = None) -> Response:
    caller_of(request)  # a key sent must be valid, as on every route (the document is the public's whatever it is)
    name = fmt or _from_accept(request.headers.get("accept", ""))
    if name not in SYNTAXES:
        raise BadParameter(f"unknown format {name!r} (known: {', '.join(SYNTAXES)})", parameter="format")
    catalog = catalog_of(request)
    base = str(request.base_url).rstrip("/")
    public = StorePublished(catalog.store, catalog.config, Caller.anonymous(catalog.config.api))
    size = PAGE_SIZE
    total = catalog.store.published.live_count()
    last = max(1, -(-total // size))
    graph = dcat.new_graph()
    graph.bind("hydra", HYDRA)
    me = URIRef(f"{base}/api/v1/catalog")
    graph.add((me, RDF.type, DCAT.Catalog))
    graph.add((me, DCTERMS.title, Literal(catalog.config.oai.repository_name)))
    graph.add((me, FOAF.homepage, URIRef(f"{base}/")))
    graph.add((me, HYDRA.totalItems, Literal(total)))
    for row in catalog.store.published.live_page((page - 1) * size, size):
        item = public.item(row, with_records=True)
        for rec in [] if item.deleted else item.records:
            graph.add((me, DCAT.dataset, dcat.add_record(graph, rec, base)))
    view = URIRef(_page_url(me, page, name))
    graph.add((me, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, HYDRA.first, URIRef(_page_url(me, 1, name))))
    graph.add((view, HYDRA.last, URIRef(_page_url(me, last, name))))
    if page > 1:
        graph.add((view, HYDRA.previous, URIRef(_page_url(me, min(page - 1, last), name))))
    if page < last:
        graph.add((view, HYDRA.next, URIRef(_page_url(me, page + 1, name))))
    syntax, media = SYNTAXES[name]
    return Response(graph.serialize(format=syntax), media_type=f"{media}; charset=utf-8",
                    headers={"Vary": "Accept"})


def _page_url(me: URIRef, page: int, name: str) -> str:
    return f"{me}?page={page}" + ("" if name == "turtle" else f"&format={name}")


def _from_accept(accept: str) -> str:
    for name, (_, media) in SYNTAXES.items():
        if media in accept:
            return name
    return "turtle"
