"""OAI-PMH robustness: real demo servers on loopback with injected faults, the real pipeline, store and index.

Every test drives ``catalog.harvester.harvest()`` against :class:`OAIServer` instances on 127.0.0.1 (port 0)
whose ``fault`` hook records what the server received and disturbs the answers.  Concurrency and
politeness are proven from request start/end times taken inside the hook, never from wall-clock limits.
"""

from __future__ import annotations

import email.utils
import gzip
import io
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from fedcat.api.catalog import Catalog
from fedcat.api.cli_runs import first_errors, runs_table
from fedcat.harvester.demo.corpus import generate_records
from fedcat.harvester.demo.oai_server import FaultAction, FaultContext, FaultHook, OAIRepository, OAIServer
from fedcat.harvester.store import RunReport, RunStatus
from fedcat.index.base import SearchQuery

from .conftest import center, search_ids, source_for

OAI_XMLNS = b' xmlns="http://www.openarchives.org/OAI/2.0/"'
XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
TOKEN_RE = re.compile(rb"(<resumptionToken[^>]*>)([^<]*)(</resumptionToken>)")
SECONDS = "%Y-%m-%dT%H:%M:%SZ"


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def serve() -> Iterator[Callable[[OAIRepository], OAIServer]]:
    """Start OAIServers on 127.0.0.1:0; all stopped at teardown."""
    servers: list[OAIServer] = []

    def start(repo: OAIRepository) -> OAIServer:
        server = OAIServer(repo, host="127.0.0.1", port=0).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def full_repo(center_id: str = "ncdc", **kw: Any) -> OAIRepository:
    c = center(center_id)
    return OAIRepository(c, generate_records(c), **kw)


def recent_repo(center_id: str = "ncdc", n: int = 60, days: int = 80, **kw: Any) -> OAIRepository:
    """``n`` records whose datestamps are spread over the last ``days`` days (a short listing span)."""
    c = center(center_id)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days + 3)
    step = timedelta(days=days) / n
    records = [replace(r, datestamp=(base + i * step).replace(microsecond=0))
               for i, r in enumerate(generate_records(c)[:n])]
    return OAIRepository(c, records, **kw)


def live(server: OAIServer) -> list[Any]:
    return [r for r in server.repository.records() if not r.deleted]


def live_ids(server: OAIServer, source_id: str) -> set[str]:
    return {f"{source_id}:{r.local_id}" for r in live(server)}


def search_hits(catalog: Catalog, text: str = "") -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = catalog.index.search(SearchQuery(text=text, size=100, cursor=cursor, facets=()))
        ids += [h.id for h in page.hits]
        cursor = page.next_cursor
        if not cursor:
            return ids


def real(server: OAIServer, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    return server.repository.respond(params, server.url, site_url=server.base_url)


def oai_error_body(code: str, message: str, url: str = "http://127.0.0.1/oai") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2025-01-01T00:00:00Z</responseDate>"
        f'<request verb="ListRecords">{url}</request>'
        f'<error code="{code}">{message}</error></OAI-PMH>\n'
    ).encode()


class Recorder:
    """A fault hook that records every request and delegates to ``fault`` (if any)."""

    def __init__(self, fault: Callable[[FaultContext], FaultAction | None] | None = None) -> None:
        self.fault = fault
        self.seen: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, ctx: FaultContext) -> FaultAction | None:
        with self.lock:
            self.seen.append(dict(ctx.params))
        return self.fault(ctx) if self.fault else None

    def listing(self) -> list[dict[str, str]]:
        return [p for p in self.seen if p.get("verb") == "ListRecords"]


def transform_all(server: OAIServer, fn: Callable[[bytes], bytes],
                  headers: dict[str, str] | None = None) -> Recorder:
    """Serve every /oai answer through ``fn`` (with optional header overrides)."""

    def fault(ctx: FaultContext) -> FaultAction:
        _, _, body = real(server, ctx.params)
        return FaultAction(body=fn(body), headers=dict(headers or {}))

    rec = Recorder(fault)
    server.fault = rec
    return rec


def stored_title_zh(catalog: Catalog, rec_id: str) -> str | None:
    rec = catalog.store.records.get(rec_id)
    assert rec is not None, rec_id
    zh = [t.value for t in rec.titles if t.lang == "zh"]
    return zh[0] if zh else None


def _parse(ts: str) -> datetime:
    return datetime.strptime(ts, SECONDS) if "T" in ts else datetime.strptime(ts, "%Y-%m-%d")


# -- 1. discovery ---------------------------------------------------------------------------------


def test_identify_first_and_datacite_preferred_over_dc(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    rec = Recorder()
    server.fault = rec
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    assert rec.seen[0] == {"verb": "Identify"}
    assert {"verb": "ListMetadataFormats"} in rec.seen
    first_list = rec.listing()[0]
    assert first_list["metadataPrefix"] == "oai_datacite"
    assert all(p.get("metadataPrefix", "oai_datacite") == "oai_datacite" for p in rec.listing())
    assert search_ids(cat) == live_ids(server, "ncdc")
    raw = cat.store.records.raw(f"ncdc:{live(server)[0].local_id}")
    assert raw is not None and raw.format == "oai_datacite"


def test_dc_only_center_gets_oai_dc(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("meteo"))
    rec = Recorder()
    server.fault = rec
    cat = catalog_factory([source_for(server, source_id="meteo")])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    assert rec.seen[0] == {"verb": "Identify"}
    assert rec.listing()[0]["metadataPrefix"] == "oai_dc"
    assert run.counts["added"] == len(live(server))


# -- 2. incremental ---------------------------------------------------------------------------------


def test_incremental_from_at_day_granularity(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("meteo"))
    cat = catalog_factory([source_for(server, source_id="meteo")])
    (first,) = cat.harvester.harvest()
    assert first.status is RunStatus.SUCCEEDED
    newest = max(r.datestamp for r in server.repository.records())
    expected_from = (newest.date() - timedelta(days=1)).isoformat()
    rec = Recorder()
    server.fault = rec
    (second,) = cat.harvester.harvest()
    assert second.status is RunStatus.SUCCEEDED, second.message
    sent = rec.listing()[0]
    assert sent["from"] == expected_from
    assert "T" not in sent["from"]
    assert second.counts["added"] == 0 and second.counts["unchanged"] >= 1
    rec.seen.clear()
    (full,) = cat.harvester.harvest(full=True)
    assert full.status is RunStatus.SUCCEEDED
    assert rec.listing() and all("from" not in p for p in rec.listing())
    assert full.counts["unchanged"] == len(server.repository.records())


def test_incremental_from_at_seconds_granularity(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    cat = catalog_factory([source_for(server)])
    cat.harvester.harvest()
    newest = max(r.datestamp for r in server.repository.records()).astimezone(UTC)
    rec = Recorder()
    server.fault = rec
    (second,) = cat.harvester.harvest()
    assert second.status is RunStatus.SUCCEEDED
    sent = rec.listing()[0]["from"]
    assert "T" in sent and sent.endswith("Z")
    assert sent == (newest - timedelta(days=1)).strftime(SECONDS)
    rec.seen.clear()
    cat.harvester.harvest(full=True)
    assert all("from" not in p for p in rec.listing())


# -- 3. window splitting ------------------------------------------------------------------------------


def _harvest_80_days(serve: Any, catalog_factory: Any, fault: FaultHook) -> tuple[RunReport, Recorder]:
    """Harvest 60 records spread over 80 days from a server that refuses some listings (``fault``);
    the run must still find every live record."""
    server = serve(recent_repo("ncdc", n=60, days=80))
    rec = Recorder(fault)
    server.fault = rec
    cat = catalog_factory([source_for(server)], http={"max_retries": 1})
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert search_ids(cat) == live_ids(server, "ncdc")
    assert cat.store.records.counts("ncdc")["records"] == len(live(server))
    return run, rec


def test_failing_unbounded_listing_is_split_into_monthly_windows(serve: Any, catalog_factory: Any) -> None:
    def fault(ctx: FaultContext) -> FaultAction | None:
        p = ctx.params
        if p.get("verb") == "ListRecords" and "until" not in p and "resumptionToken" not in p:
            return FaultAction(status=503, body=b"overloaded")
        return None

    run, rec = _harvest_80_days(serve, catalog_factory, fault)
    windows = [p for p in rec.listing() if "from" in p and "until" in p]
    assert len(windows) >= 3, "an 80-day span is listed in monthly windows"
    assert all(_parse(p["until"]) - _parse(p["from"]) <= timedelta(days=31) for p in windows)
    assert run.retries["http_503"] >= 1


def test_failing_monthly_windows_are_split_into_daily_windows(serve: Any, catalog_factory: Any) -> None:
    refused: list[dict[str, str]] = []

    def fault(ctx: FaultContext) -> FaultAction | None:
        p = ctx.params
        if p.get("verb") != "ListRecords" or "resumptionToken" in p:
            return None
        if "until" not in p or _parse(p["until"]) - _parse(p["from"]) > timedelta(days=2):
            refused.append(p)
            return FaultAction(status=503, body=b"overloaded")
        return None

    run, rec = _harvest_80_days(serve, catalog_factory, fault)
    monthly = [p for p in refused if "until" in p]
    assert len(monthly) >= 2, "monthly windows were tried first"
    accepted = [p for p in rec.listing() if "until" in p and p not in refused]
    daily = [p for p in accepted if _parse(p["until"]) - _parse(p["from"]) < timedelta(days=1)]
    assert len(daily) >= 60
    for window in monthly:  # each refused month is covered by the days listed instead
        inside = sorted((p["from"], p["until"]) for p in daily
                        if window["from"] <= p["from"] and p["until"] <= window["until"])
        assert inside and inside[0][0] == window["from"] and inside[-1][1] == window["until"]
        for (_, until), (nxt, _) in zip(inside, inside[1:]):
            assert _parse(nxt) - _parse(until) == timedelta(seconds=1), (until, nxt)


def test_a_listing_that_is_never_answered_fails_after_one_smaller_window(serve: Any, catalog_factory: Any) -> None:
    """Identify answers, ListRecords never does: the window is split once, its first part times out
    too, and the source fails with the reason instead of waiting out every month and day."""
    server = serve(recent_repo("ncdc", n=60, days=80))

    def silent(ctx: FaultContext) -> FaultAction | None:
        return FaultAction(delay=3.0) if ctx.params.get("verb") == "ListRecords" else None

    rec = Recorder(silent)
    server.fault = rec
    cat = catalog_factory([source_for(server)], http={"max_retries": 1, "read_timeout": 0.2,
                                                      "backoff_base": 0.01, "backoff_max": 0.01})
    t0 = time.monotonic()
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert len(rec.listing()) == 4, rec.listing()  # the whole window twice, its first month twice
    assert time.monotonic() - t0 < 5
    assert "timed out" in (run.message or "") and "the listing is not answered" in (run.message or "")


# -- 4. deletions ------------------------------------------------------------------------------------------


def test_deleted_header_tombstones_and_unindexes(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    cat = catalog_factory([source_for(server)])
    cat.harvester.harvest()
    victim = live(server)[3]
    rec_id = f"ncdc:{victim.local_id}"
    assert rec_id in search_ids(cat) and cat.store.records.get(rec_id) is not None
    server.repository.delete(victim.identifier, when=datetime.now(UTC) + timedelta(minutes=1))
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    assert run.counts["deleted"] == 1
    assert cat.store.records.get(rec_id) is None
    assert cat.store.records.raw(rec_id) is None
    assert rec_id not in search_ids(cat)
    assert search_ids(cat) == live_ids(server, "ncdc")


def _absence_setup(serve: Any, catalog_factory: Any, **source: Any) -> tuple[OAIServer, Catalog, str]:
    server = serve(full_repo("ncdc", deleted_record="no"))
    cat = catalog_factory([source_for(server, **source)], http={"max_retries": 0})
    (first,) = cat.harvester.harvest()
    assert first.status is RunStatus.SUCCEEDED
    victim = live(server)[0]
    server.repository.delete(victim.identifier)  # invisible: this repository keeps no deletions
    return server, cat, f"ncdc:{victim.local_id}"


def test_delete_by_absence_after_a_complete_full_listing(serve: Any, catalog_factory: Any) -> None:
    server, cat, rec_id = _absence_setup(serve, catalog_factory)
    (run,) = cat.harvester.harvest(full=True)
    assert run.status is RunStatus.SUCCEEDED
    assert run.counts["deleted"] == 1
    assert cat.store.records.get(rec_id) is None
    assert rec_id not in search_ids(cat)
    assert search_ids(cat) == live_ids(server, "ncdc")


def test_no_delete_by_absence_after_an_incremental_run(serve: Any, catalog_factory: Any) -> None:
    _, cat, rec_id = _absence_setup(serve, catalog_factory)
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    assert run.counts["deleted"] == 0
    assert cat.store.records.get(rec_id) is not None
    assert rec_id in search_ids(cat)


def test_no_delete_by_absence_after_a_failed_full_run(serve: Any, catalog_factory: Any) -> None:
    server, cat, rec_id = _absence_setup(serve, catalog_factory)
    tokens = []

    def fault(ctx: FaultContext) -> FaultAction | None:
        if "resumptionToken" in ctx.params:
            tokens.append(ctx.params["resumptionToken"])
            if len(tokens) == 2:
                return FaultAction(drop=True)
        return None

    server.fault = fault
    (run,) = cat.harvester.harvest(full=True)
    assert run.status is RunStatus.FAILED
    assert run.counts["deleted"] == 0
    assert cat.store.records.get(rec_id) is not None
    assert rec_id in search_ids(cat)


def test_no_delete_by_absence_when_disabled(serve: Any, catalog_factory: Any) -> None:
    _, cat, rec_id = _absence_setup(serve, catalog_factory, delete_by_absence=False)
    (run,) = cat.harvester.harvest(full=True)
    assert run.status is RunStatus.SUCCEEDED
    assert run.counts["deleted"] == 0
    assert cat.store.records.get(rec_id) is not None


# -- 5. checkpoints and expired tokens ----------------------------------------------------------------------


def test_expired_checkpoint_token_restarts_the_window(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    tokens: list[str] = []

    def die_on_third_page(ctx: FaultContext) -> FaultAction | None:
        if "resumptionToken" in ctx.params:
            tokens.append(ctx.params["resumptionToken"])
            if len(tokens) == 2:
                return FaultAction(drop=True)
        return None

    server.fault = die_on_third_page
    cat = catalog_factory([source_for(server)], http={"max_retries": 0})
    (failed,) = cat.harvester.harvest()
    assert failed.status is RunStatus.FAILED and failed.pages == 2
    saved = cat.store.runs.checkpoint("ncdc")
    assert saved is not None and saved[1]["token"]
    expired = saved[1]["token"]
    _, _, bad_token_body = real(server, {"verb": "ListRecords", "resumptionToken": "bogus"})
    assert b"badResumptionToken" in bad_token_body

    answered = threading.Event()

    def expire(ctx: FaultContext) -> FaultAction | None:
        # the demo's tokens are stateless, so a restarted listing meets the same token again: expire it once
        if ctx.params.get("resumptionToken") == expired and not answered.is_set():
            answered.set()
            return FaultAction(body=bad_token_body)
        return None

    rec = Recorder(expire)
    server.fault = rec
    (resumed,) = cat.harvester.harvest()
    assert resumed.status is RunStatus.SUCCEEDED, resumed.message
    listing = rec.listing()
    assert listing[0] == {"verb": "ListRecords", "resumptionToken": expired}
    assert listing[1].get("metadataPrefix") == "oai_datacite" and "resumptionToken" not in listing[1]
    hits = search_hits(cat)
    assert len(hits) == len(set(hits)), "no duplicates in the index"
    assert set(hits) == live_ids(server, "ncdc")
    deleted = [r for r in server.repository.records() if r.deleted]
    assert cat.store.records.counts("ncdc") == {"records": len(live(server)), "deleted": len(deleted)}
    assert resumed.counts["added"] == len(live(server)) - failed.counts["added"]
    assert cat.store.runs.checkpoint("ncdc") is None


# -- 6. retries --------------------------------------------------------------------------------------------


def _once(action: Callable[[], FaultAction]) -> Callable[[FaultContext], FaultAction | None]:
    done = threading.Event()

    def fault(ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") == "ListRecords" and "resumptionToken" in ctx.params and not done.is_set():
            done.set()
            return action()
        return None

    return fault


RETRY_FAULTS: dict[str, Callable[[], FaultAction]] = {
    "http_503": lambda: FaultAction(status=503, headers={"Retry-After": "0"}, body=b"busy"),
    "http_429": lambda: FaultAction(status=429, body=b"slow down", headers={
        "Retry-After": email.utils.format_datetime(datetime.now(UTC) - timedelta(seconds=1), usegmt=True)}),
    "timeout": lambda: FaultAction(delay=1.0),
    "connection": lambda: FaultAction(drop=True),
}


@pytest.mark.parametrize("reason", sorted(RETRY_FAULTS))
def test_transient_failure_is_retried(reason: str, serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    rec = Recorder(_once(RETRY_FAULTS[reason]))
    server.fault = rec
    cat = catalog_factory([source_for(server)], http={"read_timeout": 0.4})
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert dict(run.retries) == {reason: 1}
    assert cat.store.runs.recent("ncdc")[0].retries == {reason: 1}
    assert search_ids(cat) == live_ids(server, "ncdc")
    token_requests = [p for p in rec.listing() if "resumptionToken" in p]
    assert token_requests[0] == token_requests[1], "the failed request is sent again"


def test_retries_exhausted_fail_the_run_naming_url_and_source(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    rec = Recorder(lambda ctx: FaultAction(status=503, body=b"down"))
    server.fault = rec
    cat = catalog_factory([source_for(server, source_id="down-src")], http={"max_retries": 2})
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and server.url in run.message and "down-src" in run.message and "503" in run.message
    assert len(rec.seen) == 3, "one request, tried max_retries + 1 times"
    assert dict(run.retries) == {"http_503": 2}
    assert run.errors and run.errors[0].url and run.errors[0].url.startswith(server.url)
    assert cat.store.records.counts("down-src") == {"records": 0, "deleted": 0}


def test_no_request_is_sent_more_than_max_retries_plus_one_times(serve: Any, catalog_factory: Any) -> None:
    server = serve(recent_repo("ncdc", n=60, days=80))
    rec = Recorder(lambda ctx: FaultAction(status=503, body=b"down")
                   if ctx.params.get("verb") == "ListRecords" else None)
    server.fault = rec
    cat = catalog_factory([source_for(server)], http={"max_retries": 2})
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    keys = [tuple(sorted(p.items())) for p in rec.listing()]
    assert keys and max(keys.count(k) for k in set(keys)) <= 3
    assert run.message and "ncdc" in run.message


# -- 7. OAI errors -----------------------------------------------------------------------------------------


def test_no_records_match_is_an_empty_success(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    server.fault = lambda ctx: (FaultAction(body=oai_error_body("noRecordsMatch", "nothing here"))
                                if ctx.params.get("verb") == "ListRecords" else None)
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert sum(run.counts.values()) == 0
    assert cat.store.records.counts("ncdc") == {"records": 0, "deleted": 0}


def test_oai_error_with_http_422_bad_argument_fails(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    server.fault = lambda ctx: (FaultAction(status=422, body=oai_error_body("badArgument", "from is illegal"))
                                if ctx.params.get("verb") == "ListRecords" else None)
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and "badArgument" in run.message
    assert not run.retries


def test_oai_error_with_http_422_no_records_match_succeeds(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    server.fault = lambda ctx: (FaultAction(status=422, body=oai_error_body("noRecordsMatch", "empty"))
                                if ctx.params.get("verb") == "ListRecords" else None)
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert cat.store.records.counts("ncdc") == {"records": 0, "deleted": 0}


# -- 8. protocol loops -------------------------------------------------------------------------------------


def test_repeated_resumption_token_fails(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    first_params = {"verb": "ListRecords", "metadataPrefix": "oai_datacite"}
    _, _, page1 = real(server, first_params)
    token1 = TOKEN_RE.search(page1)
    assert token1
    _, _, page2 = real(server, {"verb": "ListRecords", "resumptionToken": token1.group(2).decode()})
    same = rb"\1SAME\3"

    def fault(ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") != "ListRecords":
            return None
        body = page2 if "resumptionToken" in ctx.params else page1
        return FaultAction(body=TOKEN_RE.sub(same, body))

    rec = Recorder(fault)
    server.fault = rec
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and "repeated" in run.message and "SAME" in run.message
    # the loop is caught on the second page; a page fetched ahead (prefetch) may add a request or two
    assert 2 <= len(rec.listing()) <= 4


def test_endless_empty_pages_fail(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    counter = iter(range(10_000))

    def fault(ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") != "ListRecords":
            return None
        n = next(counter)
        if n == 0:
            _, _, body = real(server, ctx.params)
            return FaultAction(body=TOKEN_RE.sub(rb"\g<1>t0\3", body))
        if n > 200:  # a safety stop should the client never give up
            return FaultAction(body=oai_error_body("noRecordsMatch", "stop"))
        empty = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            f"<responseDate>2025-01-01T00:00:00Z</responseDate><request>{server.url}</request>"
            f"<ListRecords><resumptionToken>t{n}</resumptionToken></ListRecords></OAI-PMH>\n"
        )
        return FaultAction(body=empty.encode())

    rec = Recorder(fault)
    server.fault = rec
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and "empty pages" in run.message
    assert 20 <= len(rec.listing()) <= 30


# -- 9. hostile and broken input -------------------------------------------------------------------------


HTML_PAGES = {
    "xhtml": b'<html><head><title>Maintenance</title></head><body><p>Back soon</p></body></html>',
    "html5": (b'<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8"><title>\xe7\xbb\xb4\xe6\x8a\xa4</title>'
              b"</head><body><p>\xe7\xb3\xbb\xe7\xbb\x9f\xe7\xbb\xb4\xe6\x8a\xa4\xe4\xb8\xad<br></p></body></html>"),
}


@pytest.mark.parametrize("kind", sorted(HTML_PAGES))
def test_html_page_is_not_an_oai_response(kind: str, serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    server.fault = lambda ctx: FaultAction(status=200, body=HTML_PAGES[kind],
                                           headers={"Content-Type": "text/html; charset=utf-8"})
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and "not an OAI-PMH response" in run.message, run.message


def test_missing_oai_namespace_is_adopted(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    transform_all(server, lambda b: b.replace(OAI_XMLNS, b""))
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert search_ids(cat) == live_ids(server, "ncdc")
    assert run.counts["added"] == len(live(server))


def test_utf8_bom_is_accepted(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    transform_all(server, lambda b: b"\xef\xbb\xbf" + b)
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert search_ids(cat) == live_ids(server, "ncdc")


@pytest.mark.parametrize(("codec", "content_type", "keep_decl"), [
    ("gbk", "text/xml; charset=utf-8", False),
    ("gbk", "text/xml; charset=utf-8", True),
    ("gb18030", "text/xml", False),
])
def test_chinese_legacy_encodings_are_decoded(codec: str, content_type: str, keep_decl: bool,
                                              serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))

    def recode(body: bytes) -> bytes:
        text = body if keep_decl else body.replace(XML_DECL, b"")
        return text.decode("utf-8").encode(codec)

    transform_all(server, recode, headers={"Content-Type": content_type})
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert run.counts["added"] == len(live(server))
    for demo in live(server)[:: 10]:
        assert stored_title_zh(cat, f"ncdc:{demo.local_id}") == demo.title_zh


def test_illegal_control_characters_are_dropped(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    victim = live(server)[2]
    target = victim.title_zh.encode()
    poisoned = victim.title_zh[:2].encode() + b"\x01" + victim.title_zh[2:].encode() + b"\x0b"
    rec = transform_all(server, lambda b: b.replace(target, poisoned))
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert rec.listing()
    assert stored_title_zh(cat, f"ncdc:{victim.local_id}") == victim.title_zh
    assert search_ids(cat) == live_ids(server, "ncdc")


def test_gzip_body_without_content_encoding_is_inflated(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    transform_all(server, gzip.compress, headers={"Content-Type": "text/xml"})
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert search_ids(cat) == live_ids(server, "ncdc")


def test_truncated_body_is_fetched_again(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    done = threading.Event()

    def fault(ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") == "ListRecords" and not done.is_set():
            done.set()
            _, _, body = real(server, ctx.params)
            return FaultAction(truncate_at=len(body) // 2, honest_length=True)
        return None

    rec = Recorder(fault)
    server.fault = rec
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert run.retries["truncated"] == 1
    assert rec.listing()[0] == rec.listing()[1]
    assert search_ids(cat) == live_ids(server, "ncdc")


@pytest.mark.parametrize("position", [4, 75], ids=["page1", "page2"])
def test_one_malformed_record_is_isolated(position: int, serve: Any, catalog_factory: Any) -> None:
    c = center("ncdc")
    # pages of 50, 50 and 3 records; page 1 carries long descriptions (it takes a while to store and index)
    records = [replace(r, description_zh=r.description_zh * 20) if i < 50 else r
               for i, r in enumerate(generate_records(c)[:103])]
    server = serve(OAIRepository(c, records))
    victim = server.repository.records()[position]  # index 4 is on page 1, index 75 on page 2
    assert not victim.deleted
    ident = victim.identifier.encode()
    carried: list[dict[str, str]] = []

    def fault(ctx: FaultContext) -> FaultAction | None:
        _, _, body = real(server, ctx.params)
        start = body.find(b"<identifier>" + ident + b"</identifier>")
        if start >= 0:
            carried.append(dict(ctx.params))
            at = body.find(b"<titles>", start)
            body = body[:at] + b"<titles><unclosed>" + body[at + len(b"<titles>"):]
        return FaultAction(body=body)

    server.fault = fault
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.PARTIAL, run.message
    assert run.counts["errored"] == 1
    assert run.counts["added"] == len(live(server)) - 1
    assert run.pages == 3
    assert cat.store.records.get(f"ncdc:{victim.local_id}") is None
    assert search_ids(cat) == live_ids(server, "ncdc") - {f"ncdc:{victim.local_id}"}
    with sqlite3.connect(cat.store.path) as db:
        rows = db.execute("SELECT local_id, message, url, raw FROM record_errors").fetchall()
    assert len(rows) == 1
    local_id, message, url, raw = rows[0]
    assert local_id == victim.local_id
    assert "malformed" in message
    assert raw and victim.identifier.encode() in bytes(raw) and b"<unclosed>" in bytes(raw)
    # the error names the URL of the page that carried the record, not of a page fetched after it
    (params,) = carried
    assert url and url.startswith(server.url)
    if "resumptionToken" in params:
        assert f"resumptionToken={params['resumptionToken']}" in url, url
    else:
        assert "metadataPrefix=oai_datacite" in url and "resumptionToken" not in url, url


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2025-01-01T00:00:00Z</responseDate>
<request verb="ListRecords">http://127.0.0.1/oai</request><ListRecords><record><header>
<identifier>oai:ncdc:lol.0001</identifier><datestamp>2025-01-01T00:00:00Z</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol9;</dc:title></oai_dc:dc></metadata>
</record></ListRecords></OAI-PMH>
"""


def test_billion_laughs_is_refused(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    server.fault = lambda ctx: FaultAction(body=BILLION_LAUGHS) if ctx.params.get("verb") == "ListRecords" else None
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and "refused" in run.message
    assert cat.store.records.counts() == {"records": 0, "deleted": 0}
    assert search_ids(cat) == set()


def test_external_entity_is_refused_and_never_read(serve: Any, catalog_factory: Any, tmp_path: Path) -> None:
    secret = f"fedcat-xxe-secret-{uuid.uuid4().hex}"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret)
    server = serve(full_repo("ncdc"))

    def fault(ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") != "ListRecords":
            return None
        _, _, body = real(server, ctx.params)
        body = body.replace(XML_DECL, XML_DECL + f'<!DOCTYPE OAI-PMH [ <!ENTITY xxe SYSTEM "file://{secret_file}"> '
                            '<!ENTITY host SYSTEM "file:///etc/hostname"> ]>\n'.encode())
        return FaultAction(body=body.replace(live(server)[0].title_en.encode(), b"&xxe;&host;", 1))

    server.fault = fault
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and "refused" in run.message
    assert cat.store.records.counts() == {"records": 0, "deleted": 0}
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    data_dir = Path(cat.config.data_path)
    for f in data_dir.rglob("*"):
        if f.is_file():
            content = f.read_bytes()
            assert secret.encode() not in content, f
    assert secret not in (run.message or "")
    with sqlite3.connect(cat.store.path) as db:
        dumped = "\n".join(db.iterdump())
    assert secret not in dumped
    if len(hostname) >= 8:  # short host names may occur by chance
        assert hostname not in dumped


def test_response_over_the_size_cap_fails(serve: Any, catalog_factory: Any) -> None:
    server = serve(recent_repo("ncdc", n=60, days=80))
    cat = catalog_factory([source_for(server)], http={"max_response_bytes": 2000})
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.FAILED
    assert run.message and "cap of 2000 bytes" in run.message
    assert cat.store.records.counts() == {"records": 0, "deleted": 0}


# -- 10. politeness and parallelism ------------------------------------------------------------------------


class Timeline:
    """Request intervals seen by a server's hook (the hook itself sleeps ``hold`` seconds)."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.intervals: list[tuple[float, float]] = []
        self.headers: list[dict[str, str]] = []

    def __call__(self, ctx: FaultContext) -> FaultAction | None:
        start = time.monotonic()
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.headers.append(ctx.headers)
        time.sleep(self.hold)
        with self.lock:
            self.in_flight -= 1
            self.intervals.append((start, time.monotonic()))
        return None


def test_two_sources_on_one_host_never_overlap(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    timeline = Timeline(hold=0.05)
    server.fault = timeline
    cat = catalog_factory([source_for(server, source_id="ncdc-a"), source_for(server, source_id="ncdc-b")],
                          workers=4)
    runs = cat.harvester.harvest()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]
    assert len(timeline.intervals) == 10
    assert timeline.max_in_flight == 1
    ordered = sorted(timeline.intervals)
    assert all(b[0] >= a[1] for a, b in zip(ordered, ordered[1:]))


def test_min_delay_spaces_requests_to_a_host(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    timeline = Timeline(hold=0.0)
    server.fault = timeline
    cat = catalog_factory([source_for(server)], http={"min_delay": 0.2})
    (run,) = cat.harvester.harvest()
    assert run.status is RunStatus.SUCCEEDED
    starts = sorted(s for s, _ in timeline.intervals)
    assert len(starts) == 5
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.18, gaps


def test_sources_on_different_hosts_are_harvested_concurrently(serve: Any, catalog_factory: Any) -> None:
    a, b = serve(full_repo("ncdc")), serve(full_repo("hep"))
    ta, tb = Timeline(hold=0.2), Timeline(hold=0.2)
    a.fault, b.fault = ta, tb
    cat = catalog_factory([source_for(a, source_id="ncdc"), source_for(b, source_id="hep")], workers=2)
    runs = cat.harvester.harvest()
    assert all(r.status is RunStatus.SUCCEEDED for r in runs)
    overlaps = [(x, y) for x in ta.intervals for y in tb.intervals if x[0] < y[1] and y[0] < x[1]]
    assert overlaps, "requests to two different hosts should be in flight at the same time"
    assert ta.max_in_flight == tb.max_in_flight == 1


def test_user_agent_names_fedcat_and_contact(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    timeline = Timeline(hold=0.0)
    server.fault = timeline
    contact = "mailto:harvest-ops@fedcat.example"
    cat = catalog_factory([source_for(server)], http={"contact": contact})
    cat.harvester.harvest()
    assert timeline.headers
    agents = {h.get("User-Agent", "") for h in timeline.headers}
    assert len(agents) == 1
    (agent,) = agents
    assert "fedcat" in agent and contact in agent


# -- 11. run reports -----------------------------------------------------------------------------------------


def test_run_report_to_dict(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    victim = live(server)[1]
    ident = victim.identifier.encode()
    fired = threading.Event()

    def fault(ctx: FaultContext) -> FaultAction | None:
        if "resumptionToken" in ctx.params and not fired.is_set():
            fired.set()
            return FaultAction(status=503, headers={"Retry-After": "0"}, body=b"busy")
        _, _, body = real(server, ctx.params)
        start = body.find(b"<identifier>" + ident + b"</identifier>")
        if start >= 0:
            at = body.find(b"<titles>", start)
            body = body[:at] + b"<titles><oops>" + body[at + len(b"<titles>"):]
        return FaultAction(body=body)

    server.fault = fault
    cat = catalog_factory([source_for(server)])
    (run,) = cat.harvester.harvest()
    report = cat.store.runs.recent("ncdc")[0].to_dict()
    assert report == run.to_dict()
    deleted = [r for r in server.repository.records() if r.deleted]
    assert report["status"] == "partial"
    assert report["pages"] == 3
    assert report["added"] == len(live(server)) - 1
    assert report["updated"] == report["unchanged"] == 0
    assert report["deleted"] == len(deleted)
    assert report["errored"] == 1
    assert report["retries"] == {"http_503": 1}
    assert isinstance(report["duration_s"], float) and report["duration_s"] >= 0
    assert len(report["errors"]) == 1
    err = report["errors"][0]
    assert err["local_id"] == victim.local_id
    assert err["url"].startswith(server.url) and "verb=ListRecords" in err["url"]
    assert "metadataPrefix=oai_datacite" in err["url"] and "resumptionToken" not in err["url"]  # first page
    assert "malformed" in err["message"]

    # `fedcat harvests` shows the same: time, retries by reason, and the first errors with id and URL
    out = io.StringIO()
    Console(file=out, width=250).print(runs_table(cat.store.runs.recent("ncdc")))
    row = next(line for line in out.getvalue().splitlines() if "partial" in line)
    assert "1 (http_503 1)" in row and f"{report['duration_s']:.0f}s" in row
    assert f"{len(live(server)) - 1}" in row.split()
    lines = first_errors(cat.store.runs.recent("ncdc"))
    assert lines[0] == f"run {run.id} (ncdc), first errors:"
    assert lines[1].startswith(f"  ncdc:{victim.local_id}: ") and "malformed" in lines[1]
    assert lines[1].endswith("\n    " + err["url"])


def test_failed_run_report_has_url_and_no_local_id(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    server.fault = lambda ctx: FaultAction(status=404, body=b"gone") if ctx.params.get("verb") == "Identify" else None
    cat = catalog_factory([source_for(server)])
    cat.harvester.harvest()
    report = cat.store.runs.recent("ncdc")[0].to_dict()
    assert report["status"] == "failed"
    assert report["errors"] and report["errors"][0]["local_id"] is None
    assert report["errors"][0]["url"].startswith(server.url)
    assert report["message"] and server.url in report["message"]


def test_mark_interrupted_turns_running_runs_into_interrupted(serve: Any, catalog_factory: Any) -> None:
    server = serve(full_repo("ncdc"))
    cat = catalog_factory([source_for(server)])
    (done,) = cat.harvester.harvest()
    running = cat.store.runs.start_run(RunReport(source_id="ncdc"))
    assert running.id is not None
    # a run of this (live) process is a harvest going on: left alone
    assert cat.store.runs.mark_interrupted() == 0
    assert cat.store.runs.recent("ncdc")[0].status is RunStatus.RUNNING
    # make it the run of a process that has exited
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with sqlite3.connect(cat.store.path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(harvest_runs)")}
        if "pid" in columns:
            db.execute("UPDATE harvest_runs SET pid = ? WHERE id = ?", (gone.pid, running.id))
    assert cat.store.runs.mark_interrupted() == 1
    runs = {r.id: r for r in cat.store.runs.recent("ncdc")}
    assert runs[running.id].status is RunStatus.INTERRUPTED
    assert runs[running.id].to_dict()["status"] == "interrupted"
    assert runs[running.id].finished_at is not None and runs[running.id].message
    assert runs[done.id].status is RunStatus.SUCCEEDED
    assert cat.store.runs.mark_interrupted() == 0


@pytest.mark.parametrize("gated_by", ["source policy", "set policy", "officer"])
def test_a_malformed_record_that_may_be_core_keeps_no_raw_bytes(gated_by: str, serve: Any,
                                                                catalog_factory: Any) -> None:
    c = center("ncdc")
    server = serve(OAIRepository(c, generate_records(c)[:20]))
    victim = next(r for r in server.repository.records() if not r.deleted)
    ident = victim.identifier.encode()

    def fault(ctx: FaultContext) -> FaultAction | None:
        _, _, body = real(server, ctx.params)
        start = body.find(b"<identifier>" + ident + b"</identifier>")
        if start >= 0:
            at = body.find(b"<titles>", start)
            body = body[:at] + b"<titles><unclosed>" + body[at + len(b"<titles>"):]
        return FaultAction(body=body)

    server.fault = fault
    extra: dict[str, Any] = {}
    if gated_by == "source policy":
        extra["policy"] = {"security": "core"}
    elif gated_by == "set policy":
        extra["tagging"] = {"sets": [{"set": victim.sets[0], "policy": {"security": "secret"}}]}
    cat = catalog_factory([source_for(server, **extra)])
    if gated_by == "officer":
        cat.store.overrides.put(f"ncdc:{victim.local_id}", "ncdc", "security", "core", "officer", "审定")
    (run,) = cat.harvester.harvest()
    assert run.counts["errored"] == 1 and run.errors[0].local_id == victim.local_id
    with sqlite3.connect(cat.store.path) as db:
        rows = db.execute("SELECT local_id, message, raw FROM record_errors").fetchall()
    assert [(r[0], r[2]) for r in rows] == [(victim.local_id, None)]
    assert "malformed" in rows[0][1]
