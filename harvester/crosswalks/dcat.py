"""Crosswalk: a DCAT dataset (RDF/XML, Turtle or JSON-LD) → :class:`Record`.

The payload is loaded by :mod:`.rdf` (never fetching anything) and the first ``dcat:Dataset`` in it
is mapped: every language of ``dct:title``/``dct:description``, ``dcat:keyword`` and labelled
``dcat:theme`` values, creators and publisher by name, ``dct:issued``/``dct:modified``, identifiers
(``dct:identifier``, ``adms:identifier``, ``owl:sameAs`` and the dataset IRI itself: DOI, CSTR, URL),
the licence (``dct:license`` of the dataset or a distribution), the landing page and the first
access or download URL, formats. ``dct:accessRights`` and ``dct:rights`` (dataset and
distributions) and any property named like a classification (``密级``, ``securityLevel``,
``classification`` …) are kept verbatim in ``record.statements`` for the taggers.
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from ..config_schema import SourceConfig
from ..errors import CrosswalkError, UnreadablePayload
from ..model import LangText, Record, Statement
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
from .datacite import STATEMENT_SCHEMES
from .rdf import graph_from_bytes, graph_from_element, graph_from_jsonld

ADMS_IDENTIFIER = URIRef("http://www.w3.org/ns/adms#identifier")
ADMS_VERSION = URIRef("http://www.w3.org/ns/adms#version")
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")
VCARD = "http://www.w3.org/2006/vcard/ns#"
SCHEMA_NAME = URIRef("http://schema.org/name")
#: Properties whose value names a thing: the first one present gives its label.
LABELS = (FOAF.name, URIRef(VCARD + "fn"), URIRef(VCARD + "organization-name"), SKOS.prefLabel, RDFS.label,
          DCTERMS.title, SCHEMA_NAME)
_LOCAL_NAME = re.compile(r"[^#/]+$")


def crosswalk(item: HarvestedItem, source: SourceConfig, run_id: int | None = None) -> Record:
    """An item from an OAI-PMH ``dcat``/``rdf`` format (an RDF/XML element) or a stored raw payload."""
    rec = shell(item, source, run_id)
    if item.deleted:
        return rec
    try:
        if item.element is not None:
            graph = graph_from_element(item.element)
        elif item.data is not None:
            graph = graph_from_jsonld(item.data)
        else:
            graph = graph_from_bytes(item.raw)
    except UnreadablePayload as exc:
        raise CrosswalkError(str(exc), source_id=source.id, local_id=item.local_id) from exc
    return fill(rec, graph, source, item.local_id)


def crosswalk_json(item: HarvestedItem, data: dict[str, Any], source: SourceConfig,
                   run_id: int | None = None) -> Record:
    """A JSON API record that is a JSON-LD DCAT dataset (a REST profile with ``crosswalk: dcat``)."""
    rec = shell(item, source, run_id)
    try:
        graph = graph_from_jsonld(data)
    except UnreadablePayload as exc:
        raise CrosswalkError(str(exc), source_id=source.id, local_id=item.local_id) from exc
    return fill(rec, graph, source, item.local_id)


def fill(rec: Record, graph: Graph, source: SourceConfig, local_id: str) -> Record:
    datasets = sorted(graph.subjects(RDF.type, DCAT.Dataset), key=str)
    if not datasets:
        raise CrosswalkError("no dcat:Dataset in the payload", source_id=source.id, local_id=local_id)
    ds = datasets[0]
    rec.titles = _texts(graph, ds, DCTERMS.title)
    rec.descriptions = _texts(graph, ds, DCTERMS.description)
    rec.creators = dedupe([v for n in graph.objects(ds, DCTERMS.creator) if (v := label(graph, n))])
    rec.publisher = next((v for n in graph.objects(ds, DCTERMS.publisher) if (v := label(graph, n))), None)
    keywords = [p for lit in graph.objects(ds, DCAT.keyword) for p in re.split("[;；]", str(lit))]
    themes = [v for n in graph.objects(ds, DCAT.theme) if (v := label(graph, n, iri=False))]
    rec.subjects = dedupe(keywords + themes)
    issued = _first(graph, ds, DCTERMS.issued)
    rec.published = iso_date(issued)
    rec.modified = iso_date(_first(graph, ds, DCTERMS.modified))
    rec.year = year_of(issued)
    _identifiers(graph, ds, rec)
    distributions = list(graph.objects(ds, DCAT.distribution))
    _licence(graph, [ds, *distributions], rec)
    _statements(graph, [ds, *distributions], rec)
    landing = _first(graph, ds, DCAT.landingPage)
    rec.landing_page = landing or landing_page(rec.identifiers)
    rec.access_url = next((str(u) for d in distributions for p in (DCAT.accessURL, DCAT.downloadURL)
                           for u in graph.objects(d, p)), None)
    rec.formats = dedupe([v for d in distributions for p in (DCTERMS.format, DCAT.mediaType)
                          for n in graph.objects(d, p) if (v := label(graph, n, local=True))])
    rec.version = next((str(v) for p in (OWL.versionInfo, DCAT_VERSION, ADMS_VERSION)
                        for v in graph.objects(ds, p)), None)
    language = next((v for n in graph.objects(ds, DCTERMS.language) if (v := label(graph, n, local=True))), None)
    rec.language = language_tag(language) or language
    return rec


def _texts(graph: Graph, subject: Node, prop: URIRef) -> list[LangText]:
    out: list[LangText] = []
    for lit in graph.objects(subject, prop):
        if not isinstance(lit, Literal):
            continue
        value = str(lit).strip()
        lang = lit.language.lower() if lit.language else None
        if value and all((t.value, t.lang) != (value, lang) for t in out):
            out.append(LangText(value, lang))
    return sorted(out, key=lambda t: (t.lang is None, not (t.lang or "").startswith("zh"), t.lang or ""))


def _first(graph: Graph, subject: Node, prop: URIRef) -> str | None:
    for value in graph.objects(subject, prop):
        text = str(value).strip()
        if text:
            return text
    return None


def label(graph: Graph, node: Node, *, iri: bool = True, local: bool = False) -> str | None:
    """A literal's text; a resource's name (Chinese first), else its IRI (or the IRI's last segment)."""
    if isinstance(node, Literal):
        return str(node).strip() or None
    for prop in LABELS:
        names = [lit for lit in graph.objects(node, prop) if isinstance(lit, Literal) and str(lit).strip()]
        if names:
            names.sort(key=lambda lit: not (lit.language or "").lower().startswith("zh"))
            return str(names[0]).strip()
    if isinstance(node, URIRef) and iri:
        if local:
            m = _LOCAL_NAME.search(str(node))
            return m.group(0) if m else str(node)
        return str(node)
    return None


def _identifiers(graph: Graph, ds: Node, rec: Record) -> None:
    values: list[str] = []
    for prop in (DCTERMS.identifier, OWL.sameAs):
        values += [str(v) for v in graph.objects(ds, prop)]
    for adms in graph.objects(ds, ADMS_IDENTIFIER):
        values += [str(v) for v in graph.objects(adms, SKOS.notation)]
        if isinstance(adms, URIRef):
            values.append(str(adms))
    if isinstance(ds, URIRef):
        values.append(str(ds))
    for value in values:
        classify_identifier(value, rec.identifiers)


def _licence(graph: Graph, nodes: list[Node], rec: Record) -> None:
    for node in nodes:
        for lic in graph.objects(node, DCTERMS.license):
            url = str(lic) if isinstance(lic, URIRef) else None
            name = label(graph, lic, iri=False)
            rec.licence = licence_from(name or url, url)
            return


def _statements(graph: Graph, nodes: list[Node], rec: Record) -> None:
    """Access and rights statements verbatim: the IRI of a controlled value and its label, if any."""
    for node in nodes:
        for prop, name in ((DCTERMS.accessRights, "dct:accessRights"), (DCTERMS.rights, "dct:rights")):
            for value in graph.objects(node, prop):
                for text in _statement_values(graph, value):
                    _add(rec, Statement(name, text))
                    if prop == DCTERMS.rights and text not in rec.rights:
                        rec.rights.append(text)
        for predicate, value in graph.predicate_objects(node):
            local = _LOCAL_NAME.search(str(predicate))
            if local and local.group(0) in STATEMENT_SCHEMES:
                for text in _statement_values(graph, value):
                    _add(rec, Statement(local.group(0), text))


def _statement_values(graph: Graph, value: Node) -> list[str]:
    out = [str(value)] if isinstance(value, (URIRef, Literal)) and str(value).strip() else []
    if not isinstance(value, Literal):
        name = label(graph, value, iri=False)
        if name:
            out.append(name)
    return out


def _add(rec: Record, statement: Statement) -> None:
    if statement not in rec.statements:
        rec.statements.append(statement)
