"""DCAT-AP 3 of a record (one ``dcat:Dataset``, with a ``dcat:Distribution`` when an access link is
visible), built as an rdflib graph and written as Turtle, RDF/XML or JSON-LD.

The dataset's IRI is its record page on this site. Titles and descriptions keep their language tags;
access rights use the EU access-right vocabulary; every IRI taken from harvested data passes the scheme
allowlist (:func:`.view.iri`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, SKOS

from fedcat.harvester.links import doi_url
from fedcat.harvester.model import Openness, Record

from .view import iri, lang_tag, page_url, text

ADMS = Namespace("http://www.w3.org/ns/adms#")
EU_ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
EU_LANG = Namespace("http://publications.europa.eu/resource/authority/language/")
PREFIXES = {"rdf": RDF, "dcat": DCAT, "dct": DCTERMS, "foaf": FOAF, "adms": ADMS, "owl": OWL, "skos": SKOS, "xsd": XSD}
ACCESS_RIGHTS = {
    Openness.OPEN: EU_ACCESS.PUBLIC,
    Openness.REGISTERED: EU_ACCESS.RESTRICTED,
    Openness.CONDITIONAL: EU_ACCESS.RESTRICTED,
    Openness.EMBARGOED: EU_ACCESS.RESTRICTED,
    Openness.METADATA_ONLY: EU_ACCESS.NON_PUBLIC,
}
LANGUAGES = {"zh": EU_LANG.ZHO, "en": EU_LANG.ENG}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def new_graph() -> Graph:
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, replace=True)
    return graph


def _literal(value: str | None, lang: str | None = None) -> Literal | None:
    clean = text(value)
    if clean is None:
        return None
    tag = lang_tag(lang)
    return Literal(clean, lang=tag) if tag else Literal(clean)


def _date(value: str | None) -> Literal | None:
    clean = text(value)
    if clean is None:
        return None
    if _DATE.match(clean):
        return Literal(clean, datatype=XSD.date)
    if _DATETIME.match(clean):
        return Literal(clean, datatype=XSD.dateTime)
    if re.match(r"^\d{4}$", clean):
        return Literal(clean, datatype=XSD.gYear)
    return Literal(clean)


def _node(record: Record, *part: object) -> BNode:
    """A blank node named after the record and its place in it: the same document every time, and no two
    records' nodes alike when many share a document (the export)."""
    return BNode("n" + hashlib.sha256(repr((record.id, *part)).encode()).hexdigest()[:24])


def _agent(graph: Graph, node: BNode, name: str) -> BNode:
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, Literal(name)))
    return node


def add_record(graph: Graph, record: Record, base_url: str) -> URIRef:
    """Add ``record`` (already the caller's view) to ``graph`` as a dcat:Dataset; its IRI."""
    ds = URIRef(page_url(base_url, record.id))
    graph.add((ds, RDF.type, DCAT.Dataset))
    for t in record.titles:
        if (lit := _literal(t.value, t.lang)) is not None:
            graph.add((ds, DCTERMS.title, lit))
    if not record.titles:
        graph.add((ds, DCTERMS.title, Literal(text(record.local_id) or record.id)))
    for d in record.descriptions:
        if (lit := _literal(d.value, d.lang)) is not None:
            graph.add((ds, DCTERMS.description, lit))
    ids = record.identifiers
    primary = doi_url(ids.doi) if ids.doi else ids.cstr or record.id
    graph.add((ds, DCTERMS.identifier, Literal(text(primary) or record.id)))
    for notation, scheme in ((record.id, "fedcat"), (ids.doi, "DOI"), (ids.cstr, "CSTR"),
                             *((a, "accession") for a in ids.accession)):
        if (value := text(notation)) is None or value == primary:
            continue
        node = _node(record, "identifier", scheme, value)
        graph.add((ds, ADMS.identifier, node))
        graph.add((node, RDF.type, ADMS.Identifier))
        graph.add((node, SKOS.notation, Literal(value)))
        graph.add((node, DCTERMS.type, Literal(scheme)))
    if landing := iri(record.landing_page):
        graph.add((ds, DCAT.landingPage, URIRef(landing)))
    if publisher := text(record.publisher) or text(record.center_zh):
        graph.add((ds, DCTERMS.publisher, _agent(graph, _node(record, "publisher"), publisher)))
    for i, creator in enumerate(record.creators):
        if name := text(creator):
            graph.add((ds, DCTERMS.creator, _agent(graph, _node(record, "creator", i), name)))
    for pred, value in ((DCTERMS.issued, record.published), (DCTERMS.modified, record.modified)):
        if (lit := _date(value)) is not None:
            graph.add((ds, pred, lit))
    for subject in record.subjects:
        if (lit := _literal(subject)) is not None:
            graph.add((ds, DCAT.keyword, lit))
    if record.language and (lang := LANGUAGES.get(record.language.lower()[:2])):
        graph.add((ds, DCTERMS.language, lang))
    if version := text(record.version):
        graph.add((ds, OWL.versionInfo, Literal(version)))
    if rights := ACCESS_RIGHTS.get(record.access.openness):
        graph.add((ds, DCTERMS.accessRights, rights))
    if record.access.embargo_until and (until := _date(record.access.embargo_until)) is not None:
        graph.add((ds, DCTERMS.available, until))
    licence = iri(record.licence.url) or (f"https://spdx.org/licenses/{record.licence.normalised}"
                                          if record.licence.normalised and iri(
                                              f"https://spdx.org/licenses/{record.licence.normalised}") else None)
    access = iri(record.access_url) or landing
    if access:
        dist = _node(record, "distribution")
        graph.add((ds, DCAT.distribution, dist))
        graph.add((dist, RDF.type, DCAT.Distribution))
        graph.add((dist, DCAT.accessURL, URIRef(access)))
        if licence:
            graph.add((dist, DCTERMS.license, URIRef(licence)))
        for fmt in record.formats:
            if (lit := _literal(fmt)) is not None:
                graph.add((dist, DCTERMS["format"], lit))
    elif licence:
        graph.add((ds, DCTERMS.license, URIRef(licence)))
    return ds


def graph_of(record: Record, base_url: str) -> Graph:
    graph = new_graph()
    add_record(graph, record, base_url)
    return graph


#: The rdflib serializer of each DCAT format.
SYNTAX = {"dcat-turtle": "turtle", "dcat-rdfxml": "pretty-xml", "dcat-jsonld": "json-ld"}


def serialize(record: Record, base_url: str, syntax: str) -> str:
    """The record's DCAT-AP graph in ``syntax`` (an rdflib format name)."""
    graph = graph_of(record, base_url)
    if syntax == "json-ld":
        return graph.serialize(format="json-ld", context={p: str(ns) for p, ns in PREFIXES.items()}, indent=1)
    return graph.serialize(format=syntax)


def turtle_prefixes() -> str:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()) + "\n"


def turtle_stream(records: Iterable[Record], base_url: str, chunk: int = 100) -> Iterator[str]:
    """Many records as one Turtle document, written ``chunk`` records at a time: the prefixes once, then each
    chunk's triples (each chunk's graph serialised alone, its own prefix lines dropped)."""
    yield turtle_prefixes()
    graph = new_graph()
    count = 0
    for record in records:
        add_record(graph, record, base_url)
        count += 1
        if count % chunk == 0:
            yield _body(graph)
            graph = new_graph()
    if len(graph):
        yield _body(graph)


def _body(graph: Graph) -> str:
    """A graph's Turtle without the prefix block rdflib starts it with (the prefixes come first, then a
    blank line; a prefix-looking line inside a long literal is further down and stays)."""
    lines = graph.serialize(format="turtle").splitlines(keepends=True)
    start = 0
    while start < len(lines) and (lines[start].startswith("@prefix ") or not lines[start].strip()):
        start += 1
    return "".join(lines[start:]) + "\n"
