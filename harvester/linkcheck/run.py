"""Check the links of every record declared open (of one source, or all) and keep the results in the store."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..config_schema import Config
from ..model import Openness, Record
from ..store import RecordStore
from ..store.link_results import LinkKind, LinkResult, LinkStatus
from ..version import VERSION
from .checker import LinkChecker, Settings, Target

log = logging.getLogger(__name__)


def settings_from(config: Config) -> Settings:
    lc = config.linkcheck
    contact = f" (+{config.http.contact})" if config.http.contact else ""
    return Settings(timeout=lc.timeout, max_redirects=lc.max_redirects, min_delay=lc.min_delay,
                    workers=lc.workers, allow_networks=tuple(lc.allow_networks),
                    only_hosts=tuple(h.lower().strip("[]") for h in lc.only_hosts),
                    user_agent=f"fedcat-linkcheck/{VERSION}{contact}")


def targets_for(record: Record) -> list[Target]:
    out = []
    if record.landing_page:
        out.append(Target(record.id, record.source_id, LinkKind.LANDING, record.landing_page))
    if record.access_url and record.access_url != record.landing_page:
        out.append(Target(record.id, record.source_id, LinkKind.ACCESS, record.access_url))
    return out


def _no_link(record: Record) -> LinkResult:
    return LinkResult(record.id, record.source_id, LinkKind.LANDING, "", LinkStatus.INVALID_URL,
                      detail="declared open, but the record has no landing page or access URL",
                      checked_at=datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass
class LinkCheckReport:
    results: list[LinkResult] = field(default_factory=list)
    #: Links not visited because their host is not in ``linkcheck.only_hosts``.
    out_of_scope: int = 0

    def by_source(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for r in self.results:
            out.setdefault(r.source_id, Counter())[r.status.value] += 1
        return out


def check_links(store: RecordStore, config: Config, source_id: str | None = None,
                on_result: Callable[[LinkResult], None] | None = None) -> LinkCheckReport:
    """Visit the landing page and access URL of each live record whose openness is ``open``.

    Links to hosts outside ``linkcheck.only_hosts`` (when set) are left unchecked: no
    request, no result.
    """
    settings = settings_from(config)
    targets: list[Target] = []
    report = LinkCheckReport()
    for rec in store.records.iter_records(source_id):
        if rec.access.openness is not Openness.OPEN:
            continue
        found = targets_for(rec)
        if not found:
            report.results.append(_no_link(rec))
        for t in found:
            if settings.in_scope(t.url):
                targets.append(t)
            else:
                report.out_of_scope += 1
    if report.out_of_scope:
        log.info("%d links are on hosts outside linkcheck.only_hosts: not checked", report.out_of_scope)
    log.info("checking %d links of open records", len(targets))
    report.results += LinkChecker(settings).check(targets, on_result=on_result)
    store.links.replace(source_id, report.results)
    return report
