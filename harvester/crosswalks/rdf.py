"""Loading untrusted RDF (RDF/XML, Turtle, JSON-LD) into an rdflib graph without touching the network.

* RDF/XML is parsed by fedcat's safe XML parser first (:mod:`fedcat.harvester.sources.xml`: no DTD, no
  entities, no network); rdflib then reads the re-serialised element, which can hold no DOCTYPE.
* JSON-LD may name remote contexts (``"@context": "https://…"``, ``@import``, scoped contexts);
  rdflib would fetch them. fedcat never does: every remote context reference is removed before
  parsing and replaced by a built-in context that defines the usual DCAT prefixes (``dcat:``,
  ``dct:``, ``foaf:``, ``vcard:``, ``adms:``, ``schema:`` …), so compact IRIs still resolve. Terms
  that only the remote context defined are dropped, as JSON-LD drops undefined terms.
* Turtle has no way to include other documents.

rdflib is only ever given in-memory data (``data=``), never a location.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

from lxml import etree
from rdflib import Graph
from rdflib.exceptions import Error as RdflibError

from ..errors import HostileXML, MalformedResponse, UnreadablePayload
from ..sources.xml import parse as parse_xml

log = logging.getLogger(__name__)

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

#: Prefixes a DCAT record commonly uses; the stand-in for any remote JSON-LD context.
PREFIXES: dict[str, str] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcterms": "http://purl.org/dc/terms/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "adms": "http://www.w3.org/ns/adms#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "http://schema.org/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": RDF_NS,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "locn": "http://www.w3.org/ns/locn#",
    "prov": "http://www.w3.org/ns/prov#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
}
_CONTEXT_KEYS = frozenset({"@context"})
#: JSON-LD parse failures rdflib raises as plain Python errors.
_PARSE_ERRORS = (RdflibError, ValueError, TypeError, KeyError, AttributeError, IndexError, SyntaxError,
                 UnicodeDecodeError, json.JSONDecodeError)


def graph_from_element(element: etree._Element) -> Graph:
    """An RDF/XML payload already parsed safely (``rdf:RDF``, or a bare resource element) → graph."""
    if etree.QName(element).namespace != RDF_NS or etree.QName(element).localname != "RDF":
        wrapper = etree.Element(f"{{{RDF_NS}}}RDF", nsmap={"rdf": RDF_NS})
        wrapper.append(_copy(element))
        element = wrapper
    return _parse(etree.tostring(element, encoding="utf-8"), "xml")


def _copy(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


def graph_from_jsonld(data: Any) -> Graph:
    """A JSON-LD document (already decoded JSON) → graph; remote contexts are replaced, never fetched."""
    cleaned, dropped = local_contexts(data)
    for url in dropped:
        log.debug("remote JSON-LD context %s ignored: the built-in DCAT prefixes stand in", url)
    return _parse(json.dumps(cleaned, ensure_ascii=False).encode("utf-8"), "json-ld")


def graph_from_bytes(body: bytes) -> Graph:
    """A payload in any of the three serialisations, recognised by its first character."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"{", b"["):
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UnreadablePayload(f"JSON-LD payload is not JSON: {exc}") from exc
        return graph_from_jsonld(data)
    if head == b"<":
        try:
            return graph_from_element(parse_xml(body, what="RDF/XML payload"))
        except (HostileXML, MalformedResponse) as exc:
            raise UnreadablePayload(str(exc)) from exc
    return _parse(body, "turtle")


def local_contexts(data: Any) -> tuple[Any, list[str]]:
    """``data`` with every remote context reference replaced by the built-in prefixes.

    Returns the cleaned document and the references that were dropped.
    """
    dropped: list[str] = []
    return _clean(data, dropped), dropped


def _clean(node: Any, dropped: list[str]) -> Any:
    if isinstance(node, list):
        return [_clean(v, dropped) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _CONTEXT_KEYS:
            out[key] = _clean_context(value, dropped)
        else:
            out[key] = _clean(value, dropped)
    return out


def _clean_context(value: Any, dropped: list[str]) -> Any:
    """A context value with remote references (strings, ``@import``) replaced by the built-in prefixes."""
    items = value if isinstance(value, list) else [value]
    kept: list[Any] = []
    for item in items:
        if isinstance(item, str):
            dropped.append(item)
            kept.append(dict(PREFIXES))
        elif isinstance(item, dict):
            ctx = {k: _clean(v, dropped) for k, v in item.items() if k != "@import"}
            if "@import" in item:
                dropped.append(str(item["@import"]))
                ctx = {**PREFIXES, **ctx}
            kept.append(ctx)
        elif item is None:
            kept.append(None)
    return kept if isinstance(value, list) else (kept[0] if kept else None)


def _parse(body: bytes, fmt: str) -> Graph:
    graph = Graph()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # rdflib's own use of ConjunctiveGraph
            graph.parse(data=body.decode("utf-8"), format=fmt)
    except _PARSE_ERRORS as exc:
        raise UnreadablePayload(f"not readable as {fmt}: {type(exc).__name__}: {exc}") from exc
    return graph
