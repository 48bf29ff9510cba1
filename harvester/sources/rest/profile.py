"""The REST profile format: loading by name or file, and the checks that tie its keys together.

A profile is YAML. Shipped profiles live in the ``profiles/`` folder
(package ``fedcat.profiles``) and are referenced by name (``profile:
sciencedb``); any other profile by file path. Its keys and types are the
models of :mod:`.profile_schema`; a mistake raises ConfigError naming the
profile file and the key. docs/profiles.md is the reference with a worked example.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from importlib import resources
from pathlib import Path

import yaml

from ...errors import ConfigError
from ...schema import validate
from ...yaml_loader import safe_load
from . import dates, templates
from .paths import PathSyntaxError, parse_path
from .profile_schema import (
    VOCABULARY_VALUES,
    DetailSpec,
    EnvelopeSpec,
    FieldSpec,
    IncrementalSpec,
    MappingSpec,
    Method,
    PageStyle,
    PaginationSpec,
    Profile,
    RecordsSpec,
    RequestSpec,
    StatementSpec,
    Vocabulary,
)

__all__ = [
    "BUILTIN_CROSSWALKS", "BUILTIN_PROFILES", "PROFILE_PACKAGE", "VOCABULARY_VALUES", "DetailSpec", "EnvelopeSpec",
    "FieldSpec", "IncrementalSpec", "MappingSpec", "Method", "PageStyle", "PaginationSpec", "Profile", "RecordsSpec",
    "RequestSpec", "StatementSpec", "Vocabulary", "load_profile", "profile_for", "resolve_ref", "shipped_profiles",
]

#: Built-in adapters are shipped profiles with a code crosswalk.
BUILTIN_PROFILES = {"ckan": "ckan", "dataverse": "dataverse", "datacite": "datacite"}
PROFILE_PACKAGE = "fedcat.profiles"
#: Code crosswalks a profile may name instead of a field mapping.
BUILTIN_CROSSWALKS = ("ckan", "dataverse_json", "datacite_json", "dcat")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


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
    if not isinstance(data, dict):
        raise ConfigError("a profile is a mapping", key=key, path=where)
    data = dict(data)
    data.setdefault("name", Path(where).stem)
    profile = validate(Profile, data, key=key, path=where)
    _validate(profile, key)
    return profile


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
    for f in dataclasses.fields(p.mapping):
        name, specs = f.name, getattr(p.mapping, f.name)
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
