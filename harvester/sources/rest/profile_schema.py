"""The REST profile format as typed models; the docstring under a key is its JSON Schema description.

These models check structure only (keys, types, allowed values); :mod:`.profile` loads a profile by
name or file and checks what ties its keys together (placeholders, paths, value maps).
``fedcat schema profile`` prints the JSON Schema (:func:`profile_json_schema`).
"""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic.dataclasses import dataclass

from ...model import GeoScope, Openness, Security
from ...schema import SCHEMA, Bool, Dict, Int, List, Str, json_schema


class Method(StrEnum):
    GET = "GET"
    POST = "POST"


class PageStyle(StrEnum):
    """How a listing is paged."""

    PAGE = "page"  # page numbers: {page}
    OFFSET = "offset"  # offset/limit: {offset}
    CURSOR = "cursor"  # a cursor taken from each response: {cursor}
    NEXT_LINK = "next_link"  # a next URL in the body (next_path) or in the Link header
    NONE = "none"  # one request returns everything


class Vocabulary(StrEnum):
    """The access tag a mapped statement gives a value of."""

    OPENNESS = "openness"
    GEO_SCOPE = "geo_scope"
    SECURITY = "security"


VOCABULARY_VALUES = {
    Vocabulary.OPENNESS: {m.value for m in Openness},
    Vocabulary.GEO_SCOPE: {m.value for m in GeoScope},
    Vocabulary.SECURITY: {m.value for m in Security},
}


@dataclass(config=SCHEMA)
class RequestSpec:
    """One HTTP request; ``path`` is appended to the source's ``url`` (its base URL)."""

    path: Str = ""
    """Below the source's url; placeholders such as ``{page}`` are filled in."""
    method: Method = Method.GET
    params: Dict[Str] = field(default_factory=dict)
    """Query parameters; values may hold placeholders (``{page}``, ``{size}``, ``{since}`` ...)."""
    body: Any = None
    """A JSON body (method POST); strings in it may hold placeholders."""
    headers: Dict[Str] = field(default_factory=dict)


@dataclass(config=SCHEMA)
class EnvelopeSpec:
    """Success only when the value at ``path`` is one of ``success`` (compared as text)."""

    path: Str
    success: List[Str]
    message_path: Str | None = None
    """Where the server's message is, reported with a failure."""


@dataclass(config=SCHEMA)
class PaginationSpec:
    """How the listing is paged."""

    style: PageStyle = PageStyle.PAGE
    size: Int = 100
    """Records asked for per page: ``{size}``."""
    first_page: Int = 1
    total_path: Str | None = None
    """Where the total number of records is."""
    total_pages_path: Str | None = None
    cursor_path: Str | None = None
    """Style cursor: where the next cursor is in a response."""
    next_path: Str | None = None
    """Style next_link: the next URL in the body (else the ``Link: <…>; rel="next"`` header)."""
    overlap: Int = 0
    """Style offset: start each page this many records before the end of the previous one."""
    max_pages: Int = 100_000


@dataclass(config=SCHEMA)
class IncrementalSpec:
    """How ``{since}`` is written; runs after the first ask for changes since the newest datestamp."""

    format: Str = "yyyy-MM-dd'T'HH:mm:ss'Z'"
    """A date pattern: ``yyyy MM dd HH mm ss SSS XXX Z``, ``'literal'``, ``epoch_ms``, ``epoch_s``."""
    overlap_days: Int = 1


@dataclass(config=SCHEMA)
class RecordsSpec:
    """Where the records are in a listing response and which fields identify them."""

    path: Str
    """Where the list of records is in a listing response."""
    id: Str
    """The record's identifier, below each record."""
    datestamp: Str | None = None
    datestamp_format: Str | None = None
    dedupe: Bool = False
    """Ignore a record listed again within one run."""


@dataclass(config=SCHEMA)
class DetailSpec:
    """A second request per record (by ``{id}`` or ``{record.<path>}``), merged into the record."""

    request: RequestSpec
    path: Str = ""
    """Where the record is in the detail response."""
    envelope: EnvelopeSpec | None = None
    merge_as: Str | None = None
    """Merge the detail into the record under this key (else key by key)."""


@dataclass(config=SCHEMA)
class FieldSpec:
    """Where one value comes from and how it is cleaned."""

    path: Str
    """Dotted path: ``a.b``, ``a[0].b``, ``a[].b`` (every element)."""
    lang: Str | None = None
    split: Str | None = None
    """Split a string on any of these characters (``";；"``)."""
    date_format: Str | None = None
    map: Str | None = None
    """A ``value_maps`` entry applied to each value (unmapped values are kept)."""
    template: Str | None = None
    """``"https://…/{value}"``."""


def _field_list(value: Any) -> Any:
    """``title`` / ``{path: title}`` / a list of either → a list of FieldSpec mappings."""
    items = value if isinstance(value, list) else [value]
    return [{"path": v} if isinstance(v, str) else v for v in items]


#: A record field's sources, in order; written as a path, one mapping, or a list of either.
Fields = Annotated[List[FieldSpec], BeforeValidator(
    _field_list, json_schema_input_type=Str | FieldSpec | list[Str | FieldSpec])]


@dataclass(config=SCHEMA)
class MappingSpec:
    """Record field ← source fields; single-valued fields take the first value found."""

    titles: Fields = field(default_factory=list)
    descriptions: Fields = field(default_factory=list)
    creators: Fields = field(default_factory=list)
    subjects: Fields = field(default_factory=list)
    publisher: Fields = field(default_factory=list)
    published: Fields = field(default_factory=list)
    modified: Fields = field(default_factory=list)
    year: Fields = field(default_factory=list)
    doi: Fields = field(default_factory=list)
    cstr: Fields = field(default_factory=list)
    identifiers: Fields = field(default_factory=list)
    licence: Fields = field(default_factory=list)
    licence_url: Fields = field(default_factory=list)
    rights: Fields = field(default_factory=list)
    landing_page: Fields = field(default_factory=list)
    access_url: Fields = field(default_factory=list)
    formats: Fields = field(default_factory=list)
    version: Fields = field(default_factory=list)
    language: Fields = field(default_factory=list)


@dataclass(config=SCHEMA)
class StatementSpec:
    """An access/security field kept verbatim; with ``vocabulary`` and ``map`` its mapped value goes to rights."""

    path: Str
    field: Str | None = None
    """The statement's field name (default: the path)."""
    vocabulary: Vocabulary | None = None
    map: Str | None = None


@dataclass(config=SCHEMA)
class Profile:
    """How to harvest one JSON API: the requests, where the records are, how their fields map."""

    name: Str
    """Lower-case letters, digits, ``-`` and ``_`` (default: the file's name)."""
    request: RequestSpec
    records: RecordsSpec
    description: Str | None = None
    pagination: PaginationSpec = field(default_factory=PaginationSpec)
    envelope: EnvelopeSpec | None = None
    incremental: IncrementalSpec | None = None
    detail: DetailSpec | None = None
    crosswalk: Str | None = None
    """A built-in crosswalk replacing the mapping: ``ckan``, ``dataverse_json``, ``datacite_json``, ``dcat``."""
    mapping: MappingSpec = field(default_factory=MappingSpec)
    statements: List[StatementSpec] = field(default_factory=list)
    value_maps: Dict[Dict[Str]] = field(default_factory=dict)
    """Named maps from a source's values to fedcat's (``openness: {开放共享: open}``)."""

    @property
    def format(self) -> str:
        """The raw payload format of this profile's records."""
        return f"json:{self.name}"


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of a profile file (``name`` may be left out: the file's name is used)."""
    schema = json_schema(Profile, title="fedcat REST profile",
                         description="A fedcat REST profile: how to harvest one JSON API (docs/profiles.md).")
    schema["required"] = [k for k in schema["required"] if k != "name"]
    return schema
