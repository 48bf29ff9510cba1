"""Per-record quality checks and the completeness score modelled on data.europa.eu's MQA.

Every check is a named, weighted test of one record; a record's score is the
sum of the points of the checks it passes (0..405), grouped in the five MQA
dimensions. docs/metrics.md lists each check, its weight and its MQA origin.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..model import Openness, Record
from .formats import is_media_type, lookup

#: Crossref's recommended DOI pattern (matches 97% of DOIs), on the normalised lower-case form.
DOI_SYNTAX = re.compile(r"^10\.\d{4,9}/[-._;()/:a-z0-9<>\[\]+]+$")
#: GB/T 32843-2016: CSTR:<5-digit registrant>.<2-digit resource type>.<local id>.
CSTR_SYNTAX = re.compile(r"^CSTR:\d{5}\.\d{2}\.[0-9A-Za-z][-._/0-9A-Za-z]*$")
#: Licences that meet the Open Definition: CC0, CC BY and CC BY-SA (any version), ODC-By, ODbL, PDDL.
OPEN_LICENCE = re.compile(r"^(CC0-1\.0|CC-BY-\d\.\d|CC-BY-SA-\d\.\d|ODC-By-1\.0|ODbL-1\.0|PDDL-1\.0)$")
#: Metadata formats carrying the DataCite kernel (the adapted "DCAT-AP compliance" check).
DATACITE_FORMATS = re.compile(r"datacite", re.IGNORECASE)


class Dimension(StrEnum):
    FINDABILITY = "findability"
    ACCESSIBILITY = "accessibility"
    INTEROPERABILITY = "interoperability"
    REUSABILITY = "reusability"
    CONTEXTUALITY = "contextuality"


class Rating(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    SUFFICIENT = "sufficient"
    BAD = "bad"


#: Lower bound of each band on the 0..405 scale (MQA's bands).
RATING_BANDS: tuple[tuple[float, Rating], ...] = (
    (351, Rating.EXCELLENT), (221, Rating.GOOD), (121, Rating.SUFFICIENT), (0, Rating.BAD),
)


def rating(score: float) -> Rating:
    for low, band in RATING_BANDS:
        if score >= low:
            return band
    return Rating.BAD


@dataclass(frozen=True)
class Reach:
    """What the last link check found for one record (absent: not checked)."""

    landing_ok: bool = False
    access_ok: bool = False


@dataclass(frozen=True)
class Check:
    name: str
    dimension: Dimension
    points: int
    test: Callable[[Record, Reach], bool]


def valid_doi(value: str | None) -> bool:
    return bool(value) and DOI_SYNTAX.match(value or "") is not None


def valid_cstr(value: str | None) -> bool:
    return bool(value) and CSTR_SYNTAX.match(value or "") is not None


def open_licence(record: Record) -> bool:
    return bool(record.licence.normalised) and OPEN_LICENCE.match(record.licence.normalised or "") is not None


def licence_present(record: Record) -> bool:
    lic = record.licence
    return bool(lic.normalised or lic.raw or lic.url)


def citation_complete(record: Record) -> bool:
    """A GB/T 7714 citation with every element: creators, title, publisher, year and a PID."""
    has_pid = valid_doi(record.identifiers.doi) or valid_cstr(record.identifiers.cstr)
    return bool(record.citation and record.creators and record.titles and record.year
                and (record.publisher or record.center_zh) and has_pid)


@dataclass(frozen=True)
class _FormatFlags:
    """What a record's list of formats passes (one check each)."""

    any: bool
    media_type: bool
    known: bool
    non_proprietary: bool
    machine_readable: bool


@functools.lru_cache(maxsize=1024)
def _format_flags(formats: tuple[str, ...]) -> _FormatFlags:
    """Cached: a center's records mostly share a few lists of formats."""
    given = [f for f in formats if f.strip()]
    infos = [info for info in map(lookup, given) if info is not None]
    return _FormatFlags(any=bool(given), media_type=any(is_media_type(f) for f in given), known=bool(infos),
                        non_proprietary=any(i.non_proprietary for i in infos),
                        machine_readable=any(i.machine_readable for i in infos))


def _formats(record: Record) -> _FormatFlags:
    return _format_flags(tuple(record.formats))


def _access_declared(rec: Record, _: Reach) -> bool:
    return bool(rec.statements or rec.rights)


CHECKS: tuple[Check, ...] = (
    Check("keywords", Dimension.FINDABILITY, 30, lambda r, _: any(s.strip() for s in r.subjects)),
    Check("categories", Dimension.FINDABILITY, 30, lambda r, _: bool(r.sets)),
    Check("persistent_identifier", Dimension.FINDABILITY, 20,
          lambda r, _: valid_doi(r.identifiers.doi) or valid_cstr(r.identifiers.cstr)),
    Check("description", Dimension.FINDABILITY, 20, lambda r, _: any(d.value.strip() for d in r.descriptions)),
    Check("landing_page_reachable", Dimension.ACCESSIBILITY, 50, lambda r, x: x.landing_ok),
    Check("access_url", Dimension.ACCESSIBILITY, 20, lambda r, _: bool(r.access_url)),
    Check("access_url_reachable", Dimension.ACCESSIBILITY, 30, lambda r, x: bool(r.access_url) and x.access_ok),
    Check("format", Dimension.INTEROPERABILITY, 20, lambda r, _: _formats(r).any),
    Check("media_type", Dimension.INTEROPERABILITY, 10, lambda r, _: _formats(r).media_type),
    Check("format_vocabulary", Dimension.INTEROPERABILITY, 10, lambda r, _: _formats(r).known),
    Check("non_proprietary", Dimension.INTEROPERABILITY, 20, lambda r, _: _formats(r).non_proprietary),
    Check("machine_readable", Dimension.INTEROPERABILITY, 20, lambda r, _: _formats(r).machine_readable),
    Check("datacite_schema", Dimension.INTEROPERABILITY, 30,
          lambda r, _: bool(r.provenance and DATACITE_FORMATS.search(
              f"{r.provenance.metadata_prefix or ''} {r.provenance.protocol}"))),
    Check("licence", Dimension.REUSABILITY, 20, lambda r, _: licence_present(r)),
    Check("licence_vocabulary", Dimension.REUSABILITY, 10, lambda r, _: bool(r.licence.normalised)),
    Check("access_rights", Dimension.REUSABILITY, 10, _access_declared),
    Check("access_rights_vocabulary", Dimension.REUSABILITY, 5,
          lambda r, _: r.access.openness is not Openness.UNKNOWN),
    Check("creators", Dimension.REUSABILITY, 20, lambda r, _: any(c.strip() for c in r.creators)),
    Check("publisher", Dimension.REUSABILITY, 10, lambda r, _: bool(r.publisher)),
    Check("rights", Dimension.CONTEXTUALITY, 5, lambda r, _: bool(r.rights)),
    Check("version", Dimension.CONTEXTUALITY, 5, lambda r, _: bool(r.version)),
    Check("issued", Dimension.CONTEXTUALITY, 5, lambda r, _: bool(r.published)),
    Check("modified", Dimension.CONTEXTUALITY, 5, lambda r, _: bool(r.modified)),
)

#: Maximum points per dimension (100, 100, 110, 75, 20) and in total (405).
MAX_POINTS: dict[Dimension, int] = {d: sum(c.points for c in CHECKS if c.dimension is d) for d in Dimension}
MAX_SCORE = sum(MAX_POINTS.values())


@dataclass(frozen=True)
class RecordQuality:
    """The checks one record passed and its points per dimension."""

    passed: frozenset[str]
    points: Mapping[Dimension, int]

    @property
    def score(self) -> int:
        return sum(self.points.values())


def assess(record: Record, reach: Reach | None = None) -> RecordQuality:
    seen = reach or Reach()
    passed: list[str] = []
    points = dict.fromkeys(Dimension, 0)
    for check in CHECKS:
        if check.test(record, seen):
            passed.append(check.name)
            points[check.dimension] += check.points
    return RecordQuality(frozenset(passed), points)
