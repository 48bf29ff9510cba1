"""The metadata formats the provider disseminates, and how a dataset is written in each: ``oai_dc``,
``oai_datacite`` (DataCite kernel 4.5 in the OAI DataCite envelope) and ``dcat_ap`` (DCAT-AP as RDF/XML);
the last two come from the record formats of :mod:`fedcat.api.formats`.

``oai_dc`` (simple Dublin Core, required by the protocol) is written here from the dataset's lead record
as the public sees it: titles and descriptions in every language given (``xml:lang``), creators, subjects,
publisher, date, type, identifiers (DOI and CSTR as resolvable URLs, the landing page unless withheld
from the public), rights (the openness level and licence) and the centers providing it. Every value is a
harvested string, written as element text by lxml (never as markup); links pass the scheme allowlist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from fedcat.harvester.links import cstr_url, doi_url, safe_url
from fedcat.harvester.model import Record

from ..formats import datacite, dcat
from .published import PublishedItem

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"

#: Writes a dataset (its records as the public sees them, the lead first, without the links the public
#: may not follow) as one metadata element; the second argument is the catalog's base URL (record pages).
Writer = Callable[[PublishedItem, str], etree._Element]


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str
    write: Writer


def oai_dc(item: PublishedItem, base_url: str) -> etree._Element:
    lead = item.records[0]
    root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")

    def add(name: str, value: str | None, lang: str | None = None) -> None:
        if value and value.strip():
            el = etree.SubElement(root, f"{{{DC}}}{name}")
            el.text = _xml_text(value.strip())
            if lang:
                el.set(XML_LANG, lang)

    for title in lead.titles:
        add("title", title.value, title.lang)
    for creator in lead.creators:
        add("creator", creator)
    for subject in lead.subjects:
        add("subject", subject)
    for description in lead.descriptions:
        add("description", description.value, description.lang)
    add("publisher", lead.publisher or lead.center_zh)
    add("date", lead.published or (str(lead.year) if lead.year else None))
    add("type", "Dataset")
    for fmt in lead.formats:
        add("format", fmt)
    for identifier in _identifiers(item.records):
        add("identifier", identifier)
    add("language", lead.language)
    if access := _eu_repo_access(lead):
        add("rights", f"info:eu-repo/semantics/{access}")
    add("rights", lead.licence.normalised or lead.licence.raw)
    for rec in item.records:
        add("source", rec.center_zh or rec.source_id)
    return root


def _identifiers(records: list[Record]) -> list[str]:
    out: list[str] = []
    for rec in records:
        for value in (doi_url(rec.identifiers.doi), cstr_url(rec.identifiers.cstr), safe_url(rec.landing_page)):
            if value and value not in out:
                out.append(value)
    return out


def _eu_repo_access(rec: Record) -> str | None:
    """The openness level as the access-rights vocabulary aggregators read (info:eu-repo/semantics); none
    when the level is unknown."""
    return {"open": "openAccess", "embargoed": "embargoedAccess", "registered": "restrictedAccess",
            "conditional": "restrictedAccess", "metadata_only": "closedAccess"}.get(rec.access.openness.value)


def _xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot hold (harvested text may carry control characters)."""
    return "".join(c for c in value if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd"
                   or c >= "\U00010000")


def oai_datacite(item: PublishedItem, base_url: str) -> etree._Element:
    """The lead record as DataCite kernel 4.5 (:mod:`fedcat.api.formats.datacite`, built with the
    ``datacite`` package) inside the OAI DataCite envelope (oai_datacite 1.1)."""
    root = etree.Element(f"{{{OAI_DATACITE}}}oai_datacite", nsmap={None: OAI_DATACITE, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DATACITE} {OAI_DATACITE_SCHEMA}")
    etree.SubElement(root, f"{{{OAI_DATACITE}}}schemaVersion").text = "4.5"
    etree.SubElement(root, f"{{{OAI_DATACITE}}}datacentreSymbol").text = _xml_text(item.records[0].source_id)
    payload = etree.SubElement(root, f"{{{OAI_DATACITE}}}payload")
    payload.append(etree.fromstring(datacite.to_xml(item.records[0]), parser=_PARSER))
    return root


def dcat_ap(item: PublishedItem, base_url: str) -> etree._Element:
    """Every record of the dataset the public sees as a ``dcat:Dataset`` (DCAT-AP, :mod:`fedcat.api.formats.dcat`,
    through rdflib), in one RDF/XML document."""
    graph = dcat.new_graph()
    for rec in item.records:
        dcat.add_record(graph, rec, base_url)
    return etree.fromstring(graph.serialize(format="xml").encode("utf-8"), parser=_PARSER)


OAI_DATACITE = "http://schema.datacite.org/oai/oai-1.1/"
OAI_DATACITE_SCHEMA = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#: Our own serializers' output, parsed back to be embedded: no entities, no network.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

FORMATS: dict[str, MetadataFormat] = {
    "oai_dc": MetadataFormat("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC, oai_dc),
    "oai_datacite": MetadataFormat("oai_datacite", OAI_DATACITE_SCHEMA, OAI_DATACITE, oai_datacite),
    "dcat_ap": MetadataFormat("dcat_ap", "http://www.w3.org/2000/07/rdf.xsd", RDF, dcat_ap),
}
