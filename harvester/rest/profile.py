"""The REST profile format: typed dataclasses, loading by name or file, validation naming the key.

A profile is YAML. Shipped profiles live in the ``profiles/`` folder
(package ``fedcat.profiles``) and are referenced by name (``profile:
sciencedb``); any other profile by file path. docs/profiles.md is the
reference with a worked example.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..model import GeoScope, Openness, Security
from . import dates, templates
from ..yaml_loader import safe_load
from .paths import PathSyntaxError, parse_path

#: Built-in adapters are shipped profiles with a code crosswalk.
BUILTIN_PROFILES = {"ckan": "ckan", "dataverse": "dataverse", "datacite": "datacite"}
PROFILE_PACKAGE = "fedcat.profiles"
#: Code crosswalks a profile may name instead of a field mapping.
BUILTIN_CROSSWALKS = ("ckan", "dataverse_json", "datacite_json", "dcat")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Method(StrEnum):
    GET = "GET"
    POST = "POST"


class PageStyle(StrEnum):
    PAGE = "page"  # page numbers: {page}
    OFFSET = "offset"  # offset/limit: {offset}
    CURSOR = "cursor"  # a cursor taken from each response: {cursor}
    NEXT_LINK = "next_link"  # a next URL in the body (next_path) or in the Link header
    NONE = "none"  # one request returns everything


class Vocabulary(StrEnum):
    OPENNESS = "openness"
    GEO_SCOPE = "geo_scope"
    SECURITY = "security"


VOCABULARY_VALUES = {
    Vocabulary.OPENNESS: {m.value for m in Openness},
    Vocabulary.GEO_SCOPE: {m.value for m in GeoScope},
    Vocabulary.SECURITY: {m.value for m in Security},
}


@dataclass
class RequestSpec:
    """One HTTP request; ``path`` is appended to the source's ``url`` (its base URL)."""

    path: str = ""
    method: Method = Method.GET
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class EnvelopeSpec:
    """Success only when the value at ``path`` is one of ``success`` (compared as text)."""

    path: str
    success: list[str]
    message_path: str | None = None


@dataclass
class PaginationSpec:
    style: PageStyle = PageStyle.PAGE
    size: int = 100
    first_page: int = 1
    total_path: str | None = None
    total_pages_path: str | None = None
    cursor_path: str | None = None
    next_path: str | None = None
    overlap: int = 0
    max_pages: int = 100_000


@dataclass
class IncrementalSpec:
    """How ``{since}`` is written; runs after the first ask for changes since the newest datestamp."""

    format: str = "yyyy-MM-dd'T'HH:mm:ss'Z'"
    overlap_days: int = 1


@dataclass
class RecordsSpec:
    """Where the records are in a listing response and which fields identify them."""

    path: str
    id: str
    datestamp: str | None = None
    datestamp_format: str | None = None
    dedupe: bool = False


@dataclass
class DetailSpec:
    """A second request per record (by ``{id}`` or ``{record.<path>}``), merged into the record."""

    request: RequestSpec
    path: str = ""
    envelope: EnvelopeSpec | None = None
    merge_as: str | None = None


@dataclass
class FieldSpec:
    """Where one value comes from and how it is cleaned."""

    path: str
    lang: str | None = None
    split: str | None = None
    date_format: str | None = None
    map: str | None = None
    template: str | None = None


@dataclass
class MappingSpec:
    """Record field ← source fields; single-valued fields take the first value found."""

    titles: list[FieldSpec] = field(default_factory=list)
    descriptions: list[FieldSpec] = field(default_factory=list)
    creators: list[FieldSpec] = field(default_factory=list)
    subjects: list[FieldSpec] = field(default_factory=list)
    publisher: list[FieldSpec] = field(default_factory=list)
    published: list[FieldSpec] = field(default_factory=list)
    modified: list[FieldSpec] = field(default_factory=list)
    year: list[FieldSpec] = field(default_factory=list)
    doi: list[FieldSpec] = field(default_factory=list)
    cstr: list[FieldSpec] = field(default_factory=list)
    identifiers: list[FieldSpec] = field(default_factory=list)
    licence: list[FieldSpec] = field(default_factory=list)
    licence_url: list[FieldSpec] = field(default_factory=list)
    rights: list[FieldSpec] = field(default_factory=list)
    landing_page: list[FieldSpec] = field(default_factory=list)
    access_url: list[FieldSpec] = field(default_factory=list)
    formats: list[FieldSpec] = field(default_factory=list)
    version: list[FieldSpec] = field(default_factory=list)
    language: list[FieldSpec] = field(default_factory=list)


@dataclass
class StatementSpec:
    """An access/security field kept verbatim; with ``vocabulary`` and ``map`` its mapped value goes to rights."""

    path: str
    field: str | None = None
    vocabulary: Vocabulary | None = None
    map: str | None = None


@dataclass
class Profile:
    name: str
    request: RequestSpec
    records: RecordsSpec
    description: str | None = None
    pagination: PaginationSpec = field(default_factory=PaginationSpec)
    envelope: EnvelopeSpec | None = None
    incremental: IncrementalSpec | None = None
    detail: DetailSpec | None = None
    crosswalk: str | None = None
    mapping: MappingSpec = field(default_factory=MappingSpec)
    statements: list[StatementSpec] = field(default_factory=list)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def format(self) -> str:
        """The raw payload format of this profile's records."""
        return f"json:{self.name}"


# -- loading ------------------------------------------------------------------------------------


def resolve_ref(ref: str, base_dir: Path | None) -> str:
    """A shipped profile's name stays a name; a file path becomes absolute (relative to the config)."""
    if _NAME.match(ref) and not ref.endswith((".yaml", ".yml")):
        return ref
    p = Path(ref).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return str(p.resolve())


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped in ``profiles/``."""
    root = resources.files(PROFILE_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_profile(ref: str, *, key: str = "profile") -> Profile:
    """Load and validate a profile by name or absolute path; ConfigError names ``key.<profile key>``."""
    text, where = _read(ref, key)
    try:
        return _parse(text, where, key)
    except ConfigError as exc:
        if exc.path:
            raise
        raise ConfigError(exc.detail, key=exc.key, path=where) from None


@functools.lru_cache(maxsize=64)
def _parse(text: str, where: str, key: str) -> Profile:
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"profile is not valid YAML: {exc}", key=key, path=where) from exc
    from ..config import _build  # the config's typed builder: the same errors, naming the key

    if not isinstance(data, dict):
        raise ConfigError("a profile is a mapping", key=key, path=where)
    data = dict(data)
    data.setdefault("name", Path(where).stem)
    if isinstance(data.get("mapping"), dict):
        data["mapping"] = {k: _field_list(v) for k, v in data["mapping"].items()}
    profile: Profile = _build(Profile, data, key)
    _validate(profile, key)
    return profile


def _field_list(value: Any) -> Any:
    """``title`` / ``{path: title}`` / a list of either → a list of FieldSpec mappings."""
    items = value if isinstance(value, list) else [value]
    return [{"path": v} if isinstance(v, str) else v for v in items]


def _read(ref: str, key: str) -> tuple[str, str]:
    if Path(ref).is_absolute():
        try:
            return Path(ref).read_text(encoding="utf-8"), ref
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read profile file {ref}: {exc}", key=key) from exc
    resource = resources.files(PROFILE_PACKAGE) / f"{ref}.yaml"
    if not resource.is_file():
        known = ", ".join(shipped_profiles())
        raise ConfigError(f"no shipped profile {ref!r} (shipped: {known}; or give a YAML file path)", key=key)
    return resource.read_text(encoding="utf-8"), f"profiles/{ref}.yaml"


# -- validation -------------------------------------------------------------------------------


def _validate(p: Profile, key: str) -> None:
    if not _NAME.match(p.name):
        raise ConfigError(f"{p.name!r}: lower-case letters, digits, '-' and '_'", key=f"{key}.name")
    _check_request(p.request, templates.LISTING_NAMES, f"{key}.request")
    _check_pagination(p, key)
    if "since" in _used(p.request) and p.incremental is None:
        raise ConfigError("{since} is used in the request but there is no incremental section", key=f"{key}.request")
    if p.incremental is not None:
        _check_date(p.incremental.format, f"{key}.incremental.format")
        if "since" not in _used(p.request):
            raise ConfigError("incremental needs {since} in request.params or request.body", key=f"{key}.incremental")
    _check_path(p.records.path, f"{key}.records.path")
    _check_path(p.records.id, f"{key}.records.id")
    if p.records.datestamp:
        _check_path(p.records.datestamp, f"{key}.records.datestamp")
    if p.records.datestamp_format:
        _check_date(p.records.datestamp_format, f"{key}.records.datestamp_format")
    if p.envelope:
        _check_envelope(p.envelope, f"{key}.envelope")
    if p.detail:
        _check_request(p.detail.request, templates.DETAIL_NAMES, f"{key}.detail.request")
        _check_path(p.detail.path, f"{key}.detail.path")
        if p.detail.envelope:
            _check_envelope(p.detail.envelope, f"{key}.detail.envelope")
    if p.crosswalk is not None and p.crosswalk not in BUILTIN_CROSSWALKS:
        raise ConfigError(f"no built-in crosswalk {p.crosswalk!r} (known: {', '.join(BUILTIN_CROSSWALKS)})",
                          key=f"{key}.crosswalk")
    _check_mapping(p, key)
    _check_statements(p, key)


def _used(req: RequestSpec) -> set[str]:
    return templates.names(req.params) | templates.names(req.body) | templates.names(req.path)


def _check_request(req: RequestSpec, allowed: frozenset[str], key: str) -> None:
    if re.match(r"^[a-z]+://", req.path):
        raise ConfigError("a path below the source's url, not a full URL (the url is set per source)",
                          key=f"{key}.path")
    if req.body is not None and req.method is Method.GET:
        raise ConfigError("a JSON body needs method POST", key=f"{key}.body")
    for part, tpl in (("path", req.path), ("params", req.params), ("body", req.body)):
        bad = templates.check_names(tpl, allowed)
        if bad:
            raise ConfigError(f"unknown placeholder {{{bad}}} (allowed here: "
                              f"{', '.join('{' + n + '}' for n in sorted(allowed))})", key=f"{key}.{part}")


_STYLE_NEEDS = {PageStyle.PAGE: "page", PageStyle.OFFSET: "offset", PageStyle.CURSOR: "cursor"}


def _check_pagination(p: Profile, key: str) -> None:
    pg = p.pagination
    k = f"{key}.pagination"
    need = _STYLE_NEEDS.get(pg.style)
    if need and need not in _used(p.request):
        raise ConfigError(f"style {pg.style.value} needs {{{need}}} in request.params or request.body",
                          key=f"{k}.style")
    if pg.style is PageStyle.CURSOR and not pg.cursor_path:
        raise ConfigError("required for style cursor: where the next cursor is in a response", key=f"{k}.cursor_path")
    if pg.size < 1:
        raise ConfigError("must be at least 1", key=f"{k}.size")
    if pg.max_pages < 1:
        raise ConfigError("must be at least 1", key=f"{k}.max_pages")
    if not 0 <= pg.overlap < pg.size:
        raise ConfigError("must be between 0 and size - 1", key=f"{k}.overlap")
    for name in ("total_path", "total_pages_path", "cursor_path", "next_path"):
        value = getattr(pg, name)
        if value:
            _check_path(value, f"{k}.{name}")


def _check_envelope(env: EnvelopeSpec, key: str) -> None:
    _check_path(env.path, f"{key}.path")
    if not env.success:
        raise ConfigError("at least one success value", key=f"{key}.success")
    if env.message_path:
        _check_path(env.message_path, f"{key}.message_path")


def _check_mapping(p: Profile, key: str) -> None:
    for name, specs in vars(p.mapping).items():
        for i, spec in enumerate(specs):
            k = f"{key}.mapping.{name}[{i}]"
            _check_path(spec.path, f"{k}.path")
            if spec.date_format:
                _check_date(spec.date_format, f"{k}.date_format")
            if spec.map and spec.map not in p.value_maps:
                raise ConfigError(f"no value map {spec.map!r} (defined: {', '.join(p.value_maps) or 'none'})",
                                  key=f"{k}.map")
            if spec.template is not None and "{value}" not in spec.template:
                raise ConfigError("a template needs {value}", key=f"{k}.template")
    if p.crosswalk is None and not p.mapping.titles:
        raise ConfigError("at least one title field (or a built-in crosswalk)", key=f"{key}.mapping.titles")


def _check_statements(p: Profile, key: str) -> None:
    for i, st in enumerate(p.statements):
        k = f"{key}.statements[{i}]"
        _check_path(st.path, f"{k}.path")
        if st.map is None:
            if st.vocabulary is not None:
                raise ConfigError("a vocabulary needs a value map", key=f"{k}.map")
            continue
        if st.map not in p.value_maps:
            raise ConfigError(f"no value map {st.map!r} (defined: {', '.join(p.value_maps) or 'none'})", key=f"{k}.map")
        if st.vocabulary is None:
            raise ConfigError("a mapped statement names its vocabulary (openness, geo_scope, security)",
                              key=f"{k}.vocabulary")
        allowed = VOCABULARY_VALUES[st.vocabulary]
        for label, value in p.value_maps[st.map].items():
            if value not in allowed:
                raise ConfigError(f"{value!r} is not a {st.vocabulary.value} value "
                                  f"(one of {', '.join(sorted(allowed))})", key=f"{key}.value_maps.{st.map}.{label}")


def _check_path(path: str, key: str) -> None:
    try:
        parse_path(path)
    except PathSyntaxError as exc:
        raise ConfigError(str(exc), key=key) from None


def _check_date(pattern: str, key: str) -> None:
    try:
        dates.check_pattern(pattern)
    except dates.DatePatternError as exc:
        raise ConfigError(str(exc), key=key) from None


_BY_SOURCE: dict[tuple[str, float], Profile] = {}


def profile_for(source_id: str, ref: str | None) -> Profile:
    """The profile of a source (cached; a changed profile file is read again)."""
    key = f"sources[{source_id}].profile"
    if ref is None:
        raise ConfigError("this source has no profile", key=key)
    stamp = Path(ref).stat().st_mtime if Path(ref).is_absolute() and Path(ref).exists() else 0.0
    cached = _BY_SOURCE.get((ref, stamp))
    if cached is None:
        cached = _BY_SOURCE[(ref, stamp)] = load_profile(ref, key=key)
    return cached
