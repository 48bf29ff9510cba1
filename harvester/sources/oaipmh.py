"""OAI-PMH adapter on Sickle, with fedcat's transport and a hardened parser.

Sickle builds the requests and follows resumption tokens
(:class:`sickle.iterator.OAIResponseIterator`); :class:`~.oai_client.FedcatSickle`
replaces its transport with :class:`~fedcat.harvester.sources.http.HttpClient`
(timeouts, retries, throttling, size cap) and its forgiving parser with
:func:`fedcat.harvester.sources.xml.parse`, and turns ``<error>`` answers into
fedcat's OAI error classes, whatever the HTTP status (Zenodo sends 422).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from ..config_schema import SourceConfig
from ..errors import (
    BadResumptionToken,
    ConnectionFailed,
    ConnectionRefused,
    HTTPStatusError,
    MalformedResponse,
    NoRecordsMatch,
    ProtocolLoop,
    RequestTimeout,
    RetryBudgetExhausted,
)
from .base import Adapter, HarvestedItem, ListingInfo, Page, prefetch
from .http import HttpClient
from .oai_client import NS, FedcatSickle, OAIResponse
from .oai_salvage import BadRecord
from .xml import parse

log = logging.getLogger(__name__)

PREFERRED_PREFIXES = ("oai_datacite", "datacite", "iso19139", "dcat", "oai_dc")
MAX_EMPTY_PAGES = 20


@dataclass
class Identify:
    granularity: str = "YYYY-MM-DDThh:mm:ssZ"
    earliest: str | None = None
    deleted_record: str = "no"

    def format(self, when: datetime) -> str:
        if self.granularity == "YYYY-MM-DD":
            return when.strftime("%Y-%m-%d")
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datestamp(value: str) -> datetime:
    v = value.strip().rstrip("Z")
    if "T" in v:
        return datetime.strptime(v[:19], "%Y-%m-%dT%H:%M:%S")
    return datetime.strptime(v[:10], "%Y-%m-%d")


class OAIPMHAdapter(Adapter):
    def __init__(self, source: SourceConfig, client: HttpClient) -> None:
        self.source = source
        self.client = client
        self.sickle = FedcatSickle(source.url, client, source_id=source.id)
        self.info = ListingInfo()

    # -- discovery ---------------------------------------------------------------------

    def identify(self) -> Identify:
        root = self.sickle.harvest(verb="Identify").xml
        node = root.find("oai:Identify", NS)
        if node is None:
            raise MalformedResponse("Identify answer has no <Identify>", source_id=self.source.id,
                                    url=self.sickle.last_url)

        def text(tag: str) -> str | None:
            el = node.find(f"oai:{tag}", NS)
            return el.text.strip() if el is not None and el.text else None

        return Identify(
            granularity=text("granularity") or "YYYY-MM-DD",
            earliest=text("earliestDatestamp"),
            deleted_record=text("deletedRecord") or "no",
        )

    def choose_prefix(self) -> str:
        if self.source.metadata_prefix:
            return self.source.metadata_prefix
        root = self.sickle.harvest(verb="ListMetadataFormats").xml
        offered = {el.text.strip() for el in root.iterfind(".//oai:metadataPrefix", NS) if el.text}
        for prefix in PREFERRED_PREFIXES:
            if prefix in offered:
                return prefix
        raise MalformedResponse(
            f"no supported metadata format offered (offered: {', '.join(sorted(offered)) or 'none'})",
            source_id=self.source.id, url=self.sickle.last_url,
        )

    # -- listing -------------------------------------------------------------------------

    @property
    def _overlap(self) -> timedelta:
        """How far before the last run's newest datestamp an incremental listing starts (records
        stamped while that run was listing, or by a server whose clock lags, are not missed)."""
        return timedelta(days=self.source.overlap_days)

    def pages(self, *, full: bool, since: str | None, resume: dict[str, Any] | None) -> Iterator[Page]:
        ident = self.identify()
        self.info = ListingInfo(full=full or not since, supports_deletions=ident.deleted_record != "no")
        if resume:
            yield from self._resume(resume, ident)
            return
        prefix = self.choose_prefix()
        window: dict[str, Any] = {"prefix": prefix, "from": None, "until": None, "full": self.info.full}
        if not self.info.full and since:
            window["from"] = ident.format(parse_datestamp(since) - self._overlap)
        sets: list[str | None] = list(self.source.sets) or [None]
        for set_spec in sets:
            yield from self._list_window(dict(window, set=set_spec), ident)
        self.info.complete = True

    def _resume(self, state: dict[str, Any], ident: Identify) -> Iterator[Page]:
        self.info.full = bool(state.get("full"))
        self.info.resumed = True
        self.info.newest_datestamp = state.get("newest")
        sets: list[str | None] = list(self.source.sets) or [None]
        current = state.get("set")
        start = sets.index(current) if current in sets else 0
        try:
            yield from self._list(state, token=state.get("token"))
        except BadResumptionToken:
            log.warning("[%s] resumption token expired; restarting the window", self.source.id)
            restart = dict(state, token=None)
            if state.get("newest") and not state.get("full"):
                restart["from"] = ident.format(parse_datestamp(state["newest"]) - self._overlap)
            yield from self._list_window(restart, ident)
        if state.get("until"):
            # the crash happened inside a split window: list the rest of the original window
            rest = dict(state, token=None, **{"from": _after(state["until"], ident), "until": state.get("end")})
            yield from self._list_window(rest, ident)
        for set_spec in sets[start + 1:]:
            base = dict(state, set=set_spec, token=None, until=None, end=None)
            base["from"] = state.get("window_from")
            yield from self._list_window(base, ident)
        self.info.complete = True

    def _list_window(self, window: dict[str, Any], ident: Identify, *, after_timeout: bool = False) -> Iterator[Page]:
        """List one window; when the server fails on it before the first page, split it and list the parts.

        A timeout costs minutes, so a window split after one is tried in its first part only as far as
        that part answers: a server that times out on a month too does not answer smaller windows either,
        and the source fails then instead of waiting out every part (``after_timeout``).
        """
        window.setdefault("window_from", window.get("from"))
        yielded = False
        try:
            for page in self._list(window, token=None):
                yielded = True
                yield page
        except ConnectionRefused:
            raise  # the server is gone, not struggling with the window: smaller windows would be refused too
        except (RequestTimeout, HTTPStatusError, ConnectionFailed, RetryBudgetExhausted) as exc:
            timed_out = isinstance(exc, RequestTimeout)
            parts = [] if yielded or (after_timeout and timed_out) else split_window(window, ident)
            if not parts and after_timeout and isinstance(exc, RequestTimeout) and not yielded:
                raise type(exc)(f"{exc.message} (on a smaller window too: the listing is not answered)",
                                source_id=exc.source_id, url=exc.url) from exc
            if not parts:
                raise
            log.warning("[%s] %s on window %s..%s: splitting it into %d parts", self.source.id, type(exc).__name__,
                        window.get("from"), window.get("until"), len(parts))
            answered = False
            for part in parts:
                yield from self._list_window(part, ident, after_timeout=timed_out and not answered)
                answered = True

    def _list(self, window: dict[str, Any], token: str | None) -> Iterator[Page]:
        params: dict[str, str]
        if token:
            params = {"resumptionToken": token}
        else:
            params = {"metadataPrefix": window["prefix"]}
            if window.get("from"):
                params["from"] = window["from"]
            if window.get("until"):
                params["until"] = window["until"]
            if window.get("set"):
                params["set"] = window["set"]
        try:
            # Sickle sends the first request here, so noRecordsMatch surfaces before prefetching starts.
            responses: Iterator[OAIResponse] = prefetch(self.sickle.ListRecords(**params))
        except NoRecordsMatch:
            return
        seen_tokens: set[str] = set()
        empty_run = 0
        for resp in responses:
            items = list(self._items(resp, window["prefix"]))
            next_token, total = _token(resp.xml)
            if next_token:
                if next_token in seen_tokens:
                    raise ProtocolLoop(f"resumption token {next_token!r} repeated",
                                       source_id=self.source.id, url=resp.http_response.url)
                seen_tokens.add(next_token)
            empty_run = 0 if items else empty_run + 1
            if empty_run > MAX_EMPTY_PAGES:
                raise ProtocolLoop(f"{empty_run} empty pages in a row with resumption tokens",
                                   source_id=self.source.id, url=resp.http_response.url)
            for item in items:
                if item.datestamp and (not self.info.newest_datestamp or item.datestamp > self.info.newest_datestamp):
                    self.info.newest_datestamp = item.datestamp
            checkpoint = dict(window, token=next_token, newest=self.info.newest_datestamp)
            page = Page(items=items, checkpoint=checkpoint, url=resp.http_response.url, total_hint=total,
                        warnings=[f"{resp.http_response.url}: {w}" for w in resp.warnings])
            del resp, items  # the body goes now; the tree once the items are mapped
            yield page

    def _items(self, resp: OAIResponse, prefix: str) -> Iterator[HarvestedItem]:
        """The page's records; one that cannot be used (no header or identifier, or salvaged
        from a broken page) becomes an errored item with its raw bytes and the reason."""
        bad_records: list[BadRecord] = []
        for rec in resp.xml.iterfind("oai:ListRecords/oai:record", NS):
            item = _item(rec, prefix)
            if isinstance(item, str):
                bad_records.append(BadRecord(None, etree.tostring(rec, encoding="utf-8"), item))
            else:
                yield item
        for bad in bad_records + resp.bad_records:
            ident = bad.identifier or "unknown"
            log.warning("[%s] %s: malformed record %s: %s", self.source.id, resp.http_response.url, ident, bad.error)
            yield HarvestedItem(local_id=local_id(ident), source_identifier=ident, datestamp=None, deleted=False,
                                raw=bad.raw, format=prefix, error=f"malformed record: {bad.error}")


def _item(rec: etree._Element, prefix: str, raw: bytes | None = None) -> HarvestedItem | str:
    """A ``<record>`` element → HarvestedItem, or why it cannot be one (no header, no identifier)."""
    header = rec.find("oai:header", NS)
    if header is None:
        return "record has no OAI-PMH header"
    ident_el = header.find("oai:identifier", NS)
    identifier = (ident_el.text or "").strip() if ident_el is not None else ""
    if not identifier:
        return "record has no identifier (its header's <identifier> is missing or empty)"
    date_el = header.find("oai:datestamp", NS)
    meta = rec.find("oai:metadata", NS)
    element = meta[0] if meta is not None and len(meta) else None
    return HarvestedItem(
        local_id=local_id(identifier),
        source_identifier=identifier,
        datestamp=date_el.text.strip() if date_el is not None and date_el.text else None,
        deleted=header.get("status") == "deleted",
        raw=raw if raw is not None else etree.tostring(rec, encoding="utf-8"),
        format=prefix,
        sets=[s.text.strip() for s in header.iterfind("oai:setSpec", NS) if s.text],
        element=element,
    )


def item_from_raw(raw: bytes, prefix: str) -> HarvestedItem:
    """Rebuild the item from a stored raw ``<record>`` payload."""
    item = _item(parse(raw, what="stored payload"), prefix, raw)
    if isinstance(item, str):
        raise MalformedResponse(f"stored payload: {item}")
    return item


def split_window(window: dict[str, Any], ident: Identify, now: datetime | None = None) -> list[dict[str, Any]]:
    """Monthly parts of a window longer than a month, daily parts of a shorter one; [] when a day or less.

    Each part records the end of the window it came from (``end``) so a resumed run can finish it.
    """
    start_text = window.get("from") or ident.earliest
    if not start_text:
        return []
    start = parse_datestamp(start_text)
    end = parse_datestamp(window["until"]) if window.get("until") else (now or datetime.utcnow())
    if end - start <= timedelta(days=1):
        return []
    bounds: list[datetime] = [start]
    if end - start > timedelta(days=31):
        cursor = datetime(start.year, start.month, 1)
        while True:
            cursor = datetime(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
            if cursor >= end:
                break
            bounds.append(cursor)
    else:
        cursor = datetime(start.year, start.month, start.day) + timedelta(days=1)
        while cursor < end:
            bounds.append(cursor)
            cursor += timedelta(days=1)
    bounds.append(end)
    step = timedelta(days=1) if ident.granularity == "YYYY-MM-DD" else timedelta(seconds=1)
    parts = []
    for lo, hi in zip(bounds, bounds[1:]):
        last = hi if hi == end else hi - step
        if last < lo:
            continue
        parts.append(dict(window, token=None, end=window.get("end") or ident.format(end),
                          **{"from": ident.format(lo), "until": ident.format(last)}))
    return parts


def _after(until: str, ident: Identify) -> str:
    step = timedelta(days=1) if ident.granularity == "YYYY-MM-DD" else timedelta(seconds=1)
    return ident.format(parse_datestamp(until) + step)


def local_id(identifier: str) -> str:
    """``oai:ncdc.ac.cn:glacier.0001`` → ``glacier.0001``; other identifiers are kept whole."""
    parts = identifier.split(":", 2)
    if len(parts) == 3 and parts[0] == "oai" and parts[1] and parts[2]:
        return parts[2]
    return identifier


def _token(root: etree._Element) -> tuple[str | None, int | None]:
    el = root.find(".//oai:resumptionToken", NS)
    if el is None:
        return None, None
    total = el.get("completeListSize")
    token = el.text.strip() if el.text and el.text.strip() else None
    return token, int(total) if total and total.isdigit() else None
