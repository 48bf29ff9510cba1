"""OAI-PMH adapter on Sickle, with fedcat's transport and a hardened parser.

Sickle builds the requests and follows resumption tokens
(:class:`sickle.iterator.OAIResponseIterator`); :class:`FedcatSickle`
replaces its transport with :class:`~fedcat.harvester.http.HttpClient`
(timeouts, retries, throttling, size cap) and its forgiving parser with
:func:`fedcat.harvester.xml.parse`, and turns ``<error>`` answers into
fedcat's OAI error classes, whatever the HTTP status (Zenodo sends 422).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from sickle import Sickle
from sickle.iterator import OAIResponseIterator

from ..config import SourceConfig
from ..errors import (
    BadResumptionToken,
    MalformedResponse,
    NoRecordsMatch,
    ProtocolLoop,
    oai_error,
)
from ..http import HttpClient, Response
from ..xml import parse
from .base import Adapter, HarvestedItem, ListingInfo, Page

log = logging.getLogger(__name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
NS = {"oai": OAI_NS}
PREFERRED_PREFIXES = ("oai_datacite", "datacite", "oai_dc")
#: OAI errors may come with these statuses; their body is still an OAI answer.
OAI_ERROR_STATUSES = frozenset({400, 404, 422})
OVERLAP = timedelta(days=1)
MAX_EMPTY_PAGES = 20


class OAIResponse:
    """Sickle's response interface over a :class:`Response` with a safe parse."""

    def __init__(self, response: Response, params: dict[str, str]) -> None:
        self.http_response = response
        self.params = params
        self.xml = parse(response.body, declared_encoding=response.encoding, what="OAI-PMH response")

    @property
    def raw(self) -> str:
        return self.http_response.body.decode("utf-8", errors="replace")


class FedcatSickle(Sickle):  # type: ignore[misc]
    """Sickle with fedcat's HTTP client and error mapping."""

    def __init__(self, endpoint: str, client: HttpClient, *, source_id: str) -> None:
        super().__init__(endpoint, iterator=OAIResponseIterator)
        self.client = client
        self.source_id = source_id
        self.last_url = endpoint

    def harvest(self, **kwargs: str) -> OAIResponse:
        resp = self.client.request("GET", self.endpoint, params=kwargs, ok_statuses=OAI_ERROR_STATUSES)
        self.last_url = resp.url
        try:
            oai = OAIResponse(resp, kwargs)
        except MalformedResponse as exc:
            raise type(exc)(exc.message, source_id=self.source_id, url=resp.url) from None
        root = oai.xml
        if etree.QName(root).namespace != OAI_NS:
            raise MalformedResponse(
                f"not an OAI-PMH response (root element <{etree.QName(root).localname}>, HTTP {resp.status})",
                source_id=self.source_id, url=resp.url,
            )
        error = root.find("oai:error", NS)
        if error is not None:
            raise oai_error(error.get("code", "unknown"), (error.text or "").strip(),
                            source_id=self.source_id, url=resp.url)
        if resp.status >= 300:
            raise MalformedResponse(f"HTTP {resp.status} without an OAI error", source_id=self.source_id, url=resp.url)
        return oai


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
            raise MalformedResponse("Identify answer has no <Identify>", source_id=self.source.id, url=self.sickle.last_url)

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

    def pages(self, *, full: bool, since: str | None, resume: dict[str, Any] | None) -> Iterator[Page]:
        ident = self.identify()
        self.info = ListingInfo(full=full or not since, supports_deletions=ident.deleted_record != "no")
        if resume:
            yield from self._resume(resume, ident)
            return
        prefix = self.choose_prefix()
        window: dict[str, Any] = {"prefix": prefix, "from": None, "full": self.info.full}
        if not self.info.full and since:
            window["from"] = ident.format(parse_datestamp(since) - OVERLAP)
        sets: list[str | None] = list(self.source.sets) or [None]
        for set_spec in sets:
            yield from self._list(dict(window, set=set_spec), token=None)
        self.info.complete = True

    def _resume(self, state: dict[str, Any], ident: Identify) -> Iterator[Page]:
        self.info.full = bool(state.get("full"))
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
                restart["from"] = ident.format(parse_datestamp(state["newest"]) - OVERLAP)
            yield from self._list(restart, token=None)
        for set_spec in sets[start + 1:]:
            yield from self._list(dict(state, set=set_spec, token=None), token=None)
        self.info.complete = True

    def _list(self, window: dict[str, Any], token: str | None) -> Iterator[Page]:
        params: dict[str, str]
        if token:
            params = {"resumptionToken": token}
        else:
            params = {"metadataPrefix": window["prefix"]}
            if window.get("from"):
                params["from"] = window["from"]
            if window.get("set"):
                params["set"] = window["set"]
        try:
            responses: Iterator[OAIResponse] = self.sickle.ListRecords(**params)
        except NoRecordsMatch:
            return
        seen_tokens: set[str] = set()
        empty_run = 0
        for resp in responses:
            items = list(self._items(resp.xml, window["prefix"]))
            next_token, total = _token(resp.xml)
            if next_token:
                if next_token in seen_tokens:
                    raise ProtocolLoop(f"resumption token {next_token!r} repeated",
                                       source_id=self.source.id, url=self.sickle.last_url)
                seen_tokens.add(next_token)
            empty_run = 0 if items else empty_run + 1
            if empty_run > MAX_EMPTY_PAGES:
                raise ProtocolLoop(f"{empty_run} empty pages in a row with resumption tokens",
                                   source_id=self.source.id, url=self.sickle.last_url)
            for item in items:
                if item.datestamp and (not self.info.newest_datestamp or item.datestamp > self.info.newest_datestamp):
                    self.info.newest_datestamp = item.datestamp
            checkpoint = dict(window, token=next_token, newest=self.info.newest_datestamp)
            yield Page(items=items, checkpoint=checkpoint, url=self.sickle.last_url, total_hint=total)

    def _items(self, root: etree._Element, prefix: str) -> Iterator[HarvestedItem]:
        for rec in root.iterfind("oai:ListRecords/oai:record", NS):
            item = _item(rec, prefix)
            if item is not None:
                yield item


def _item(rec: etree._Element, prefix: str, raw: bytes | None = None) -> HarvestedItem | None:
    """A ``<record>`` element → HarvestedItem (None when it has no usable header)."""
    header = rec.find("oai:header", NS)
    if header is None:
        return None
    ident_el = header.find("oai:identifier", NS)
    if ident_el is None or not ident_el.text:
        return None
    date_el = header.find("oai:datestamp", NS)
    meta = rec.find("oai:metadata", NS)
    element = meta[0] if meta is not None and len(meta) else None
    identifier = ident_el.text.strip()
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
    if item is None:
        raise MalformedResponse("stored payload has no OAI-PMH header")
    return item


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
