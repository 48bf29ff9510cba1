"""Standard record formats: DataCite (XML 4.5, JSON), DCAT-AP (Turtle, RDF/XML, JSON-LD), schema.org JSON-LD,
RIS, BibTeX, CSL-JSON and GB/T 7714 text, chosen by content negotiation or ``?format=``.

:mod:`.negotiation` holds the registry (format name ↔ media type) and picks a format from ``Accept``;
:mod:`.render` turns a record, as the caller may see it (:func:`.view.caller_view`), into a response.
Every serializer builds its document through a library (lxml via the ``datacite`` package, rdflib, json),
never by joining strings of harvested text, and every URL passes :func:`fedcat.harvester.links.safe_url`.
"""

from .negotiation import FORMATS, Format, NotAcceptable, negotiate
from .render import record_response, render
from .view import caller_view

__all__ = ["FORMATS", "Format", "NotAcceptable", "caller_view", "negotiate", "record_response", "render"]
