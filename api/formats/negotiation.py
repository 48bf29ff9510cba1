"""The format registry (name ↔ media type) and content negotiation.

``?format=<name>`` wins over ``Accept``; an unknown name is a 400 naming ``format``. Otherwise the format
is the one ``Accept`` gives the highest quality (RFC 9110 §12.5.1: the most specific matching range sets
a format's quality; ties go to the route's own order, its default first). No ``Accept`` (or ``*/*``) means
the default: JSON for the API, HTML for the record page. An ``Accept`` nothing offered matches is a 406.

``application/ld+json`` is DCAT-AP; schema.org JSON-LD is asked for with the profile parameter
(``application/ld+json; profile="https://schema.org"``) or ``?format=schemaorg``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ApiError, BadParameter


class NotAcceptable(ApiError):
    """406: the request's ``Accept`` matches none of the formats the route offers."""

    status = 406
    code = "not_acceptable"


@dataclass(frozen=True)
class Format:
    """One way to write a record: its ``?format=`` name, media type (and JSON-LD profile), and a charset
    for text formats."""

    name: str
    media_type: str
    title: str
    profile: str | None = None
    text: bool = True

    @property
    def content_type(self) -> str:
        out = self.media_type
        if self.profile:
            out += f'; profile="{self.profile}"'
        if self.text:
            out += "; charset=utf-8"
        return out


JSON = Format("json", "application/json", "fedcat's own record JSON", text=False)
HTML = Format("html", "text/html", "the record page")
DATACITE_XML = Format("datacite-xml", "application/vnd.datacite.datacite+xml", "DataCite metadata kernel 4.5 XML")
DATACITE_JSON = Format("datacite-json", "application/vnd.datacite.datacite+json", "DataCite JSON (kernel 4.5)",
                       text=False)
DCAT_TURTLE = Format("dcat-turtle", "text/turtle", "DCAT-AP in Turtle")
DCAT_RDFXML = Format("dcat-rdfxml", "application/rdf+xml", "DCAT-AP in RDF/XML")
DCAT_JSONLD = Format("dcat-jsonld", "application/ld+json", "DCAT-AP in JSON-LD", text=False)
SCHEMAORG = Format("schemaorg", "application/ld+json", "schema.org Dataset JSON-LD", profile="https://schema.org",
                   text=False)
RIS = Format("ris", "application/x-research-info-systems", "RIS")
BIBTEX = Format("bibtex", "application/x-bibtex", "BibTeX")
CSL_JSON = Format("csl-json", "application/vnd.citationstyles.csl+json", "CSL-JSON", text=False)
GBT7714 = Format("gbt7714", "text/plain", "GB/T 7714-2015 citation text")

#: Every format, by name.
FORMATS: dict[str, Format] = {f.name: f for f in (
    JSON, HTML, DATACITE_XML, DATACITE_JSON, DCAT_TURTLE, DCAT_RDFXML, DCAT_JSONLD, SCHEMAORG, RIS, BIBTEX,
    CSL_JSON, GBT7714)}
#: Other names ``?format=`` takes.
ALIASES = {"datacite": "datacite-xml", "turtle": "dcat-turtle", "ttl": "dcat-turtle", "rdfxml": "dcat-rdfxml",
           "jsonld": "dcat-jsonld", "csl": "csl-json", "gbt": "gbt7714", "schema.org": "schemaorg"}
#: The formats of a record besides JSON and HTML, in the order negotiation prefers them on a tie.
RECORD_FORMATS: tuple[Format, ...] = (DATACITE_XML, DATACITE_JSON, DCAT_TURTLE, DCAT_RDFXML, DCAT_JSONLD, SCHEMAORG,
                                      RIS, BIBTEX, CSL_JSON, GBT7714)
#: What ``/api/v1/records/{id}`` offers (JSON first: the default) and what ``/record/{id}`` offers.
API_FORMATS: tuple[Format, ...] = (JSON, *RECORD_FORMATS)
PAGE_FORMATS: tuple[Format, ...] = (HTML, *RECORD_FORMATS, JSON)
#: The longest Accept header read (browsers send a few hundred bytes).
MAX_ACCEPT_LENGTH = 4096


@dataclass(frozen=True)
class _Range:
    type: str
    subtype: str
    params: dict[str, str]
    q: float


def _profile_key(value: str) -> str:
    """A profile IRI compared without its scheme, a ``www.`` and a trailing ``/`` or ``#``."""
    out = value.strip().strip('"').lower()
    for prefix in ("https://", "http://"):
        out = out.removeprefix(prefix)
    return out.removeprefix("www.").rstrip("/#")


def parse_accept(header: str) -> list[_Range]:
    """The media ranges of an ``Accept`` header; malformed parts are skipped, a malformed q counts as 0."""
    ranges: list[_Range] = []
    for part in header[:MAX_ACCEPT_LENGTH].split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        kind, _, sub = pieces[0].lower().partition("/")
        if not kind or not sub:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            name = name.strip().lower()
            if name == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
            elif name:
                params[name] = value.strip().strip('"')
        ranges.append(_Range(kind, sub, params, q))
    return ranges


def _quality(fmt: Format, ranges: list[_Range]) -> float:
    """The quality ``ranges`` give ``fmt``: that of the most specific range matching it (0 if none does)."""
    kind, _, sub = fmt.media_type.partition("/")
    best: tuple[int, float] = (-1, 0.0)
    for r in ranges:
        if r.type == "*" and r.subtype == "*":
            rank = 0
        elif r.type == kind and r.subtype == "*":
            rank = 1
        elif r.type == kind and r.subtype == sub:
            rank = 2
            if "profile" in r.params:
                if fmt.profile is None or _profile_key(r.params["profile"]) != _profile_key(fmt.profile):
                    continue
                rank = 3
        else:
            continue
        if rank > best[0]:
            best = (rank, r.q)
    return best[1]


def by_name(name: str, offered: tuple[Format, ...]) -> Format:
    """The format ``?format=`` names among ``offered``, or a 400 naming the parameter and the choices."""
    wanted = ALIASES.get(name.strip().lower(), name.strip().lower())
    for fmt in offered:
        if fmt.name == wanted:
            return fmt
    raise BadParameter(f"unknown format {name!r} (known: {', '.join(f.name for f in offered)})", parameter="format")


def negotiate(accept: str | None, format_name: str | None, offered: tuple[Format, ...]) -> Format:
    """The format to answer with: ``?format=`` if given, else the best match of ``Accept``; the default
    (``offered[0]``) without either."""
    if format_name is not None:
        return by_name(format_name, offered)
    if not accept or not accept.strip():
        return offered[0]
    ranges = parse_accept(accept)
    if not ranges:
        return offered[0]
    best, best_q = offered[0], 0.0
    for fmt in offered:
        q = _quality(fmt, ranges)
        if q > best_q:
            best, best_q = fmt, q
    if best_q <= 0.0:
        raise NotAcceptable("none of the formats asked for in Accept is offered (offered: "
                            + ", ".join(dict.fromkeys(f.media_type for f in offered)) + "); or use ?format=")
    return best
