"""The declarative REST adapter: lists a JSON API page by page as its profile describes.

Pagination by page number, offset, a cursor from each response or a next
link (body or ``Link`` header); the listing stops at the reported total, on an
empty page or when there is no next cursor/link. Each record may get a
detail request merged in. Every request goes through the source's
:class:`~fedcat.harvester.sources.http.HttpClient`; the state after each page is the
checkpoint a killed run resumes from.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests.utils

from ...config_schema import SourceConfig
from ...errors import APIError, HTTPStatusError, MalformedResponse, ProtocolLoop
from ..base import Adapter, HarvestedItem, ListingInfo, Page, prefetch
from ..http import HttpClient, Response
from ..jsonhttp import fetch_json
from . import dates, paths, templates
from .profile import PageStyle, Profile, RequestSpec

log = logging.getLogger(__name__)

MAX_EMPTY_PAGES = 20
#: A detail request failing like this isolates its record; anything else stops the source.
DETAIL_RECORD_ERRORS = (APIError, HTTPStatusError, MalformedResponse)


class RecordProblem(ValueError):
    """One listed record is unusable (no id, not an object)."""


def json_item(data: Any, profile: Profile) -> HarvestedItem:
    """A record's JSON (listing record with its detail merged in) → HarvestedItem; RecordProblem when unusable."""
    if not isinstance(data, dict):
        raise RecordProblem(f"record is a JSON {type(data).__name__}, not an object")
    ident = paths.as_text(paths.first(data, profile.records.id))
    if not ident:
        raise RecordProblem(f"record has no {profile.records.id!r}")
    datestamp = None
    if profile.records.datestamp:
        when = dates.parse(paths.first(data, profile.records.datestamp), profile.records.datestamp_format)
        datestamp = dates.datestamp(when) if when else None
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return HarvestedItem(local_id=ident, source_identifier=ident, datestamp=datestamp, deleted=False, raw=raw,
                         format=profile.format, data=data)


def item_from_json(raw: bytes, profile: Profile) -> HarvestedItem:
    """Rebuild the item from a stored raw JSON payload."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordProblem(f"stored payload is not JSON: {exc}") from exc
    return json_item(data, profile)


def _unusable(data: Any, message: str) -> HarvestedItem:
    ident = paths.as_text(data.get("id")) if isinstance(data, dict) else None
    raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return HarvestedItem(local_id=ident or "unknown", datestamp=None, deleted=False, raw=raw, format="json",
                         error=message)


def link_next(resp: Response) -> str | None:
    """The ``rel="next"`` target of an HTTP ``Link`` header."""
    header = next((v for k, v in resp.headers.items() if k.lower() == "link"), None)
    if not header:
        return None
    for link in requests.utils.parse_header_links(header):
        if "next" in link.get("rel", "").split():
            return link.get("url") or None
    return None


class RestAdapter(Adapter):
    def __init__(self, source: SourceConfig, client: HttpClient, profile: Profile) -> None:
        self.source = source
        self.client = client
        self.profile = profile
        self.info = ListingInfo(supports_deletions=False)
        self._seen_ids: set[str] = set()

    def url(self, req: RequestSpec, values: dict[str, Any]) -> str:
        path = templates.render(req.path, values, url_quote=True)
        if path is templates.MISSING:
            raise MalformedResponse(f"no value for the request path {req.path!r}", source_id=self.source.id)
        return self.source.url.rstrip("/") + str(path) if path else self.source.url

    # -- listing -----------------------------------------------------------------------------

    def pages(self, *, full: bool, since: str | None, resume: dict[str, Any] | None) -> Iterator[Page]:
        state = dict(resume) if resume else self._first_state(full, since)
        self.info = ListingInfo(full=bool(state["full"]), supports_deletions=False, resumed=resume is not None,
                                newest_datestamp=state.get("newest"))
        yield from prefetch(self._walk(state))
        self.info.complete = True

    def _first_state(self, full: bool, since: str | None) -> dict[str, Any]:
        inc = self.profile.incremental
        since_text = None
        if inc is not None and not full and since:
            when = dates.parse(since)
            if when is not None:
                since_text = dates.format(when - timedelta(days=inc.overlap_days), inc.format)
        pg = self.profile.pagination
        return {"full": since_text is None, "since": since_text, "page": pg.first_page, "offset": 0,
                "cursor": None, "next": None, "seen": 0, "newest": None}

    def first_page(self) -> tuple[Response, Any]:
        """The first listing response (for ``fedcat sources check``)."""
        state = self._first_state(True, None)
        return self._fetch(state)

    def _fetch(self, state: dict[str, Any]) -> tuple[Response, Any]:
        req = self.profile.request
        if state.get("next"):
            resp, data = fetch_json(self.client, "GET", state["next"], headers=req.headers,
                                    envelope=self.profile.envelope)
        else:
            values = {"page": state["page"], "offset": state["offset"], "size": self.profile.pagination.size,
                      "cursor": state["cursor"], "since": state["since"]}
            params = templates.render_params(req.params, values)
            if req.method.value == "GET":
                params.update(self.source.query)
            body = templates.render(req.body, values) if req.body is not None else None
            if isinstance(body, dict) and req.method.value == "POST":
                body.update(self.source.query)
            resp, data = fetch_json(self.client, req.method.value, self.url(req, values), params=params or None,
                                    body=body, headers=req.headers, envelope=self.profile.envelope)
        return resp, data

    def _walk(self, state: dict[str, Any]) -> Iterator[Page]:
        pg = self.profile.pagination
        seen_positions: set[str] = set()
        empty_run = 0
        for _ in range(pg.max_pages):
            resp, data = self._fetch(state)
            listed = self.records_in(data, resp.url)
            items = [i for i in (self.item(r, resp.url) for r in listed) if i is not None]
            total = _int(paths.first(data, pg.total_path)) if pg.total_path else None
            done = self._advance(state, data, resp, len(listed), total)
            position = json.dumps([state.get("cursor"), state.get("next")])
            if not done and pg.style in (PageStyle.CURSOR, PageStyle.NEXT_LINK):
                if position in seen_positions:
                    raise ProtocolLoop(f"the API returned the same {pg.style.value} twice: {position}",
                                       source_id=self.source.id, url=resp.url)
                seen_positions.add(position)
            empty_run = 0 if listed else empty_run + 1
            if empty_run > MAX_EMPTY_PAGES:
                raise ProtocolLoop(f"{empty_run} empty pages in a row", source_id=self.source.id, url=resp.url)
            for item in items:
                if item.datestamp and (not state["newest"] or item.datestamp > state["newest"]):
                    state["newest"] = item.datestamp
            self.info.newest_datestamp = state["newest"]
            yield Page(items=items, checkpoint=dict(state), url=resp.url, total_hint=total)
            if done:
                return
        raise ProtocolLoop(f"more than {pg.max_pages} pages (pagination.max_pages)", source_id=self.source.id,
                           url=self.source.url)

    def records_in(self, data: Any, url: str) -> list[Any]:
        path = self.profile.records.path
        if path and not paths.exists(data, path):
            raise MalformedResponse(f"no {path!r} in the response (records.path)", source_id=self.source.id, url=url)
        found = paths.get(data, path) if path else data
        if found is None:
            return []
        if not isinstance(found, list):
            raise MalformedResponse(f"records.path {self.profile.records.path!r} is a JSON "
                                    f"{type(found).__name__}, not a list", source_id=self.source.id, url=url)
        return found

    def _advance(self, state: dict[str, Any], data: Any, resp: Response, count: int, total: int | None) -> bool:
        """Move ``state`` to the next page; True when this page was the last."""
        pg = self.profile.pagination
        start = state["offset"]
        state["seen"] += count
        if pg.style is PageStyle.PAGE:
            state["page"] += 1
        elif pg.style is PageStyle.OFFSET:
            state["offset"] = start + count - pg.overlap if count > pg.overlap else start + count
        elif pg.style is PageStyle.CURSOR:
            state["cursor"] = paths.as_text(paths.first(data, pg.cursor_path or ""))
        elif pg.style is PageStyle.NEXT_LINK:
            state["next"] = self._next_link(data, resp)
        if count == 0 or pg.style is PageStyle.NONE:
            return True
        if total is not None and (start + count if pg.style is PageStyle.OFFSET else state["seen"]) >= total:
            return True
        if pg.total_pages_path:
            total_pages = _int(paths.first(data, pg.total_pages_path))
            if total_pages is not None and state["page"] - pg.first_page >= total_pages:
                return True
        if pg.style is PageStyle.CURSOR and not state["cursor"]:
            return True
        return pg.style is PageStyle.NEXT_LINK and not state["next"]

    def _next_link(self, data: Any, resp: Response) -> str | None:
        pg = self.profile.pagination
        target = paths.as_text(paths.first(data, pg.next_path)) if pg.next_path else link_next(resp)
        if not target:
            return None
        absolute = urljoin(resp.url, target)
        if urlsplit(absolute).netloc != urlsplit(resp.url).netloc:
            raise MalformedResponse(f"next link {absolute!r} leaves the source's host", source_id=self.source.id,
                                    url=resp.url)
        return absolute

    # -- records -----------------------------------------------------------------------------

    def item(self, listed: Any, url: str) -> HarvestedItem | None:
        try:
            item = json_item(listed, self.profile)
        except RecordProblem as exc:
            return _unusable(listed, f"malformed record: {exc}")
        if self.profile.records.dedupe:
            if item.local_id in self._seen_ids:
                log.debug("[%s] %s listed again: ignored", self.source.id, item.local_id)
                return None
            self._seen_ids.add(item.local_id)
        if self.profile.detail is None:
            return item
        assert item.data is not None
        try:
            detail = self._detail(item)
        except DETAIL_RECORD_ERRORS as exc:
            item.error = f"detail request failed: {exc}"
            return item
        merged = dict(item.data)
        if self.profile.detail.merge_as:
            merged[self.profile.detail.merge_as] = detail
        elif isinstance(detail, dict):
            merged.update(detail)
        full = json_item(merged, self.profile)
        full.local_id = item.local_id
        return full

    def _detail(self, item: HarvestedItem) -> Any:
        spec = self.profile.detail
        assert spec is not None and item.data is not None
        values = {"id": item.local_id, "record": item.data}
        params = templates.render_params(spec.request.params, values)
        body = templates.render(spec.request.body, values) if spec.request.body is not None else None
        resp, data = fetch_json(self.client, spec.request.method.value, self.url(spec.request, values),
                                params=params or None, body=body, headers=spec.request.headers,
                                envelope=spec.envelope)
        found = paths.get(data, spec.path) if spec.path else data
        if found is None:
            raise MalformedResponse(f"detail.path {spec.path!r} not found", source_id=self.source.id, url=resp.url)
        return found


def _int(value: Any) -> int | None:
    try:
        return int(str(value)) if value is not None and not isinstance(value, bool) else None
    except ValueError:
        return None
