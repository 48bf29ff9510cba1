"""``fedcat sources check``: probe one source and say what was found and what is wrong.

OAI-PMH: Identify, the metadata formats, the first ListRecords page. JSON APIs: the profile (already
validated when the config was loaded), the first listing page with its envelope and total, each
record of it through the detail request and the crosswalk, and which mapped fields no record filled.
Nothing is stored.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from ..config_schema import Config, Protocol, SourceConfig
from ..errors import HarvestError, NoRecordsMatch
from ..sources.base import HarvestedItem
from ..sources.http import HttpClient
from ..sources.oai_client import NS
from ..sources.oaipmh import OAIPMHAdapter
from ..sources.rest import paths
from ..sources.rest.adapter import RestAdapter
from ..sources.rest.profile import Profile, profile_for
from ..tagging import RuleBook
from .mapper import RECORD_ERRORS, map_item

log = logging.getLogger(__name__)


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass
class Finding:
    level: Level
    message: str


@dataclass
class ProbeReport:
    source_id: str
    url: str
    findings: list[Finding] = field(default_factory=list)
    config: Config | None = None

    def add(self, level: Level, message: str) -> None:
        self.findings.append(Finding(level, message))

    @property
    def ok(self) -> bool:
        return all(f.level is not Level.PROBLEM for f in self.findings)


def probe(config: Config, source: SourceConfig) -> ProbeReport:
    report = ProbeReport(source.id, source.url, config=config)
    client = HttpClient(config.http, source_id=source.id, min_delay=source.min_delay)
    try:
        if source.protocol is Protocol.OAIPMH:
            _probe_oai(source, client, report)
        else:
            _probe_rest(source, client, report)
    except HarvestError as exc:
        report.add(Level.PROBLEM, str(exc))
    finally:
        client.close()
    return report


def _map(items: list[HarvestedItem], source: SourceConfig, report: ProbeReport) -> int:
    """Map (and tag) the probed records; report problems and how the records would be tagged."""
    tagger = RuleBook.from_config(report.config or Config()).for_source(source)
    mapped = 0
    tags: Counter[str] = Counter()
    for item in items:
        if item.error:
            report.add(Level.PROBLEM, f"record {item.local_id}: {item.error}")
            continue
        try:
            rec = map_item(item, source, None, tagger)
        except RECORD_ERRORS as exc:
            report.add(Level.PROBLEM, f"record {item.local_id} cannot be mapped: {exc}")
            continue
        if not rec.deleted:
            tags.update(f"{t}={getattr(rec.access, t).value}" for t in ("openness", "geo_scope", "security"))
        mapped += 1
    if tags:
        report.add(Level.OK, "tags: " + ", ".join(f"{k} ×{n}" for k, n in sorted(tags.items())))
    return mapped


def _probe_oai(source: SourceConfig, client: HttpClient, report: ProbeReport) -> None:
    adapter = OAIPMHAdapter(source, client)
    ident = adapter.identify()
    report.add(Level.OK, f"Identify: granularity {ident.granularity}, earliest {ident.earliest or '?'}, "
                         f"deletedRecord {ident.deleted_record}")
    prefix = adapter.choose_prefix()
    report.add(Level.OK, f"metadata format: {prefix}")
    try:
        resp = adapter.sickle.harvest(verb="ListRecords", metadataPrefix=prefix)
    except NoRecordsMatch:
        report.add(Level.WARNING, "the first ListRecords answer has no records (noRecordsMatch)")
        return
    items = list(adapter._items(resp, prefix))
    token = resp.xml.find(".//oai:resumptionToken", NS)
    total = token.get("completeListSize") if token is not None else None
    mapped = _map(items, source, report)
    report.add(Level.OK if mapped else Level.WARNING,
               f"first page: {len(items)} records, {mapped} mapped; total {total or 'not given'}")


def _probe_rest(source: SourceConfig, client: HttpClient, report: ProbeReport) -> None:
    profile = profile_for(source.id, source.profile)
    report.add(Level.OK, f"profile {profile.name} ({source.profile}) is valid")
    adapter = RestAdapter(source, client, profile)
    resp, data = adapter.first_page()
    listed = adapter.records_in(data, resp.url)
    total = paths.first(data, profile.pagination.total_path) if profile.pagination.total_path else None
    report.add(Level.OK, f"first page: HTTP {resp.status}, {len(listed)} records, total {total or 'not given'}"
                         + (", envelope ok" if profile.envelope else ""))
    if not listed:
        report.add(Level.WARNING, f"no records at {profile.records.path!r} on the first page")
        return
    items = [i for i in (adapter.item(r, resp.url) for r in listed) if i is not None]
    mapped = _map(items, source, report)
    report.add(Level.OK if mapped == len(items) else Level.WARNING, f"{mapped} of {len(items)} records mapped")
    _coverage(profile, [i.data for i in items if i.data is not None and not i.error], report)


def _coverage(profile: Profile, records: list[object], report: ProbeReport) -> None:
    """Mapped fields and statements that no record of the first page filled: likely wrong paths."""
    if not records:
        return
    for name, specs in vars(profile.mapping).items():
        for i, spec in enumerate(specs):
            if not any(paths.values(r, spec.path) for r in records):
                report.add(Level.WARNING, f"mapping.{name}[{i}] ({spec.path}): no value in the "
                                          f"{len(records)} records of the first page")
    for i, st in enumerate(profile.statements):
        seen = {paths.as_text(v) for r in records for v in paths.values(r, st.path)} - {None}
        if not seen:
            report.add(Level.WARNING, f"statements[{i}] ({st.path}): no value in the first page")
        elif st.map:
            unmapped = sorted(v for v in seen if v is not None and v not in profile.value_maps[st.map])
            if unmapped:
                report.add(Level.WARNING, f"statements[{i}] ({st.path}): values without an entry in value map "
                                          f"{st.map}: {', '.join(unmapped)}")
