"""Crosswalk: a JSON record → :class:`Record`, driven by its source's profile.

The profile's ``mapping`` says which source fields fill which record fields
(or ``crosswalk`` names a built-in one: CKAN, Dataverse, DataCite JSON, DCAT JSON-LD); its
``statements`` are kept verbatim in ``record.statements``, with the value a
profile value map gives them (``maps_to``: ``<vocabulary>:<value>``). Access
tags themselves are left to the taggers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from ..config_schema import SourceConfig
from ..errors import CrosswalkError
from ..model import LangText, Record, Statement, normalise_cstr, normalise_doi
from ..sources.base import HarvestedItem
from ..sources.rest import dates, paths
from ..sources.rest.profile import FieldSpec, Profile, profile_for
from . import ckan, datacite_json, dataverse, dcat
from .common import classify_identifier, dedupe, landing_page, licence_from, shell, year_of
from .markup import strip_markup

log = logging.getLogger(__name__)

JsonCrosswalk = Callable[[HarvestedItem, dict[str, Any], SourceConfig, "int | None"], Record]
BUILTIN: dict[str, JsonCrosswalk] = {
    "ckan": ckan.crosswalk,
    "dataverse_json": dataverse.crosswalk,
    "datacite_json": datacite_json.crosswalk,
    "dcat": dcat.crosswalk_json,
}


def crosswalk(item: HarvestedItem, source: SourceConfig, run_id: int | None = None) -> Record:
    profile = profile_for(source.id, source.profile)
    data = item.data if item.data is not None else json.loads(item.raw.decode("utf-8"))
    if profile.crosswalk:
        try:
            builtin = BUILTIN[profile.crosswalk]
        except KeyError:
            raise CrosswalkError(f"no built-in crosswalk {profile.crosswalk!r} (known: {', '.join(BUILTIN)})",
                                 source_id=source.id, local_id=item.local_id) from None
        rec = builtin(item, data, source, run_id)
    else:
        rec = map_fields(item, data, profile, source, run_id)
    add_statements(rec, data, profile)
    return rec


def _strings(data: Any, spec: FieldSpec, profile: Profile) -> list[str]:
    out: list[str] = []
    for value in paths.values(data, spec.path):
        text = paths.as_text(value)
        if text is None:
            continue
        parts = re.split("[" + re.escape(spec.split) + "]", text) if spec.split else [text]
        for part in (p.strip() for p in parts):
            if not part:
                continue
            if spec.map:
                part = profile.value_maps[spec.map].get(part, part)
            out.append(spec.template.replace("{value}", part) if spec.template else part)
    return out


def _all(data: Any, specs: list[FieldSpec], profile: Profile) -> list[str]:
    return dedupe([v for spec in specs for v in _strings(data, spec, profile)])


def _one(data: Any, specs: list[FieldSpec], profile: Profile) -> str | None:
    for spec in specs:
        found = _strings(data, spec, profile)
        if found:
            return found[0]
    return None


def _texts(data: Any, specs: list[FieldSpec], profile: Profile, *, strip_html: bool = False) -> list[LangText]:
    out: list[LangText] = []
    for spec in specs:
        for value in _strings(data, spec, profile):
            if strip_html:
                value = strip_markup(value)
            if value and all(t.value != value for t in out):
                out.append(LangText(value, spec.lang))
    return out


def _date(data: Any, specs: list[FieldSpec], profile: Profile) -> str | None:
    for spec in specs:
        for value in paths.values(data, spec.path):
            when = dates.parse(value, spec.date_format)
            if when is not None:
                return dates.iso_day(when)
            log.debug("unreadable date %r at %s", value, spec.path)
    return None


def map_fields(item: HarvestedItem, data: Any, profile: Profile, source: SourceConfig, run_id: int | None) -> Record:
    m = profile.mapping
    rec = shell(item, source, run_id)
    rec.titles = _texts(data, m.titles, profile)
    rec.descriptions = _texts(data, m.descriptions, profile, strip_html=True)
    rec.creators = _all(data, m.creators, profile)
    rec.subjects = _all(data, m.subjects, profile)
    rec.publisher = _one(data, m.publisher, profile)
    rec.published = _date(data, m.published, profile)
    rec.modified = _date(data, m.modified, profile)
    rec.year = year_of(_one(data, m.year, profile), rec.published)
    rec.identifiers.doi = normalise_doi(_one(data, m.doi, profile))
    rec.identifiers.cstr = normalise_cstr(_one(data, m.cstr, profile))
    for value in _all(data, m.identifiers, profile):
        classify_identifier(value, rec.identifiers)
    licence, licence_url = _one(data, m.licence, profile), _one(data, m.licence_url, profile)
    if licence or licence_url:
        rec.licence = licence_from(licence, licence_url)
    rec.rights = _all(data, m.rights, profile)
    rec.landing_page = _one(data, m.landing_page, profile) or landing_page(rec.identifiers)
    rec.access_url = _one(data, m.access_url, profile)
    rec.formats = _all(data, m.formats, profile)
    rec.version = _one(data, m.version, profile)
    rec.language = _one(data, m.language, profile)
    return rec


def add_statements(rec: Record, data: Any, profile: Profile) -> None:
    """Access/security fields verbatim, each with the vocabulary value its value map gives it."""
    for spec in profile.statements:
        for value in paths.values(data, spec.path):
            text = paths.as_text(value)
            if text is None:
                continue
            field = spec.field or spec.path
            maps_to = None
            if spec.map and spec.vocabulary:
                mapped = profile.value_maps[spec.map].get(text)
                if mapped is None:
                    log.debug("[%s] %s=%r has no entry in value map %s", rec.source_id, field, text, spec.map)
                else:
                    maps_to = f"{spec.vocabulary.value}:{mapped}"
            statement = Statement(field, text, maps_to)
            if statement not in rec.statements:
                rec.statements.append(statement)
