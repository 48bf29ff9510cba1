"""Deadlines and the retry budget of the HTTP transport, against loopback servers that misbehave.

A response that trickles forever is cut at ``response_deadline``; a request and its retries stop
at ``page_deadline``; a stuck response holds its host no longer than its deadline; the retry budget
grows with the successful requests of a run, and truncation retries are charged to it.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fedcat.harvester.config import ConfigError, HttpConfig, SourceConfig, config_from_dict
from fedcat.harvester.demo.corpus import generate_records
from fedcat.harvester.demo.oai_server import FaultAction, FaultContext, OAIRepository, OAIServer
from fedcat.harvester.errors import ConnectionFailed, DeadlineExceeded, RequestTimeout, RetryBudgetExhausted
from fedcat.harvester.sources import pacing
from fedcat.harvester.sources.http import HttpClient, Response
from fedcat.harvester.sources.jsonhttp import fetch_json
from fedcat.harvester.sources.oaipmh import OAIPMHAdapter
from fedcat.harvester.sources.pacing import HostThrottle

from .conftest import center

#: Fast retries for every test; each test sets the deadlines it is about.
FAST = HttpConfig(connect_timeout=2.0, read_timeout=5.0, max_retries=0, backoff_base=0.01, backoff_max=0.02,
                  retry_after_max=0.01)
#: How long a misbehaving handler keeps misbehaving at most, so that a test fails rather than hangs.
HANDLER_LIMIT = 8.0

Route = Callable[[BaseHTTPRequestHandler, threading.Event], None]


class FaultyServer:
    """A threaded HTTP server on 127.0.0.1 whose paths misbehave as the test says."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.stop_event = threading.Event()
        self.started: dict[str, threading.Event] = {path: threading.Event() for path in routes}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                path = self.path.split("?", 1)[0]
                route = routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                owner.started[path].set()
                try:
                    route(self, owner.stop_event)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], FaultyServer]]:
    servers: list[FaultyServer] = []

    def start(routes: dict[str, Route]) -> FaultyServer:
        server = FaultyServer(routes)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def drip(interval: float) -> Route:
    """Headers at once, then one byte every ``interval`` seconds of a body that never ends."""

    def route(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", "1000000")
        h.end_headers()
        ends = time.monotonic() + HANDLER_LIMIT
        while time.monotonic() < ends:
            h.wfile.write(b"x")
            h.wfile.flush()
            if stop.wait(interval):
                return

    return route


def headers_then_silence(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "100")
    h.end_headers()
    h.wfile.write(b"partial")
    h.wfile.flush()
    stop.wait(HANDLER_LIMIT)


def silence(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """Accepts the request and never answers."""
    stop.wait(HANDLER_LIMIT)


def ok(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    body = b"fine"
    h.send_response(200)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def gzipped(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    body = gzip.compress("<p>数据</p>".encode() * 1000)
    h.send_response(200)
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def slow_but_finite(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """Five pieces 0.1 s apart: slow, complete well within the deadline."""
    h.send_response(200)
    h.send_header("Content-Length", "5")
    h.end_headers()
    for _ in range(5):
        h.wfile.write(b"y")
        h.wfile.flush()
        time.sleep(0.1)


def cut_json(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """A well-formed HTTP answer whose JSON body is cut short, every time."""
    body = b'{"items": [1, 2, '
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def client(config: HttpConfig, source_id: str = "src", throttle: HostThrottle | None = None) -> HttpClient:
    return HttpClient(config, source_id=source_id, throttle=throttle or HostThrottle())


# -- response_deadline ---------------------------------------------------------------------------


def test_a_body_that_trickles_forever_is_cut_at_the_response_deadline(serve: Any) -> None:
    server = serve({"/drip": drip(0.2)})
    c = client(replace(FAST, response_deadline=1.0))
    url = server.base + "/drip"
    t0 = time.monotonic()
    with pytest.raises(RequestTimeout) as info:
        c.request("GET", url)
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 2.0, elapsed  # the read timeout (5 s) never fires: a byte comes every 0.2 s
    assert "response_deadline of 1 s" in info.value.message
    assert info.value.source_id == "src" and info.value.url == url


def test_a_response_deadline_timeout_is_retried_like_any_timeout(serve: Any) -> None:
    server = serve({"/drip": drip(0.1)})
    c = client(replace(FAST, response_deadline=0.5, max_retries=1))
    t0 = time.monotonic()
    with pytest.raises(RequestTimeout):
        c.request("GET", server.base + "/drip")
    assert c.retries["timeout"] == 1
    assert time.monotonic() - t0 < 2.0


def test_a_body_that_stops_coming_fails_at_the_deadline_not_the_read_timeout(serve: Any) -> None:
    server = serve({"/stall": headers_then_silence})
    c = client(replace(FAST, read_timeout=30.0, response_deadline=1.0))
    t0 = time.monotonic()
    with pytest.raises(RequestTimeout) as info:
        c.request("GET", server.base + "/stall")
    assert time.monotonic() - t0 < 2.0
    assert "response_deadline" in info.value.message


def test_a_normal_response_is_read_whole(serve: Any) -> None:
    server = serve({"/ok": ok})
    c = client(replace(FAST, response_deadline=1.0, page_deadline=2.0))
    resp = c.request("GET", server.base + "/ok")
    assert (resp.status, resp.body) == (200, b"fine")
    assert c.successes == 1


def test_a_compressed_or_slow_body_within_the_deadline_is_read_whole(serve: Any) -> None:
    server = serve({"/gz": gzipped, "/slow": slow_but_finite})
    c = client(replace(FAST, response_deadline=2.0))
    assert c.request("GET", server.base + "/gz").body == "<p>数据</p>".encode() * 1000
    assert c.request("GET", server.base + "/slow").body == b"yyyyy"
    assert not c.retries


# -- one host, several sources -------------------------------------------------------------------


def test_a_stuck_source_does_not_block_a_healthy_one_on_the_same_host(serve: Any) -> None:
    server = serve({"/stuck": drip(0.5), "/ok": ok})
    throttle = HostThrottle()  # what two sources of one host share (GLOBAL_THROTTLE in a run)
    config = replace(FAST, response_deadline=2.0)
    stuck, healthy = client(config, "stuck", throttle), client(config, "healthy", throttle)
    results: dict[str, tuple[float, object]] = {}

    def run(name: str, c: HttpClient, path: str) -> None:
        t0 = time.monotonic()
        try:
            outcome: object = c.request("GET", server.base + path)
        except RequestTimeout as exc:
            outcome = exc
        results[name] = (time.monotonic() - t0, outcome)

    first = threading.Thread(target=run, args=("stuck", stuck, "/stuck"), daemon=True)
    first.start()
    assert server.started["/stuck"].wait(5)
    second = threading.Thread(target=run, args=("healthy", healthy, "/ok"), daemon=True)
    second.start()
    first.join(HANDLER_LIMIT + 4)
    second.join(HANDLER_LIMIT + 4)

    healthy_time, healthy_outcome = results["healthy"]
    assert isinstance(healthy_outcome, Response) and healthy_outcome.body == b"fine"
    assert healthy_time < 2.0 + 1.0, healthy_time  # at most the stuck one's deadline
    stuck_time, stuck_outcome = results["stuck"]
    assert isinstance(stuck_outcome, RequestTimeout), stuck_outcome
    assert stuck_outcome.source_id == "stuck"
    assert 1.9 <= stuck_time < 3.0, stuck_time


def test_a_request_holds_its_host_no_longer_than_it_may(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a request stuck where no deadline reaches it (a server dripping headers) lets the next one go."""
    monkeypatch.setattr(pacing, "GATE_SLACK", 0.0)
    throttle = HostThrottle()
    release = threading.Event()
    entered = threading.Event()

    def stuck() -> Response:
        entered.set()
        release.wait(5)
        return Response(url="http://127.0.0.1:1/", status=200, headers={}, body=b"")

    holder = threading.Thread(target=lambda: throttle.run("127.0.0.1:1", 0.0, stuck, hold=0.3), daemon=True)
    holder.start()
    assert entered.wait(5)
    t0 = time.monotonic()
    resp = throttle.run("127.0.0.1:1", 0.0, lambda: Response(url="u", status=204, headers={}, body=b""), hold=0.3)
    waited = time.monotonic() - t0
    release.set()
    holder.join(5)
    assert resp.status == 204
    assert waited < 1.0, waited


def test_requests_to_one_host_still_take_turns_with_the_minimum_delay() -> None:
    throttle = HostThrottle()
    active: list[int] = []
    overlap: list[bool] = []
    starts: list[float] = []

    def work() -> Response:
        active.append(1)
        overlap.append(len(active) > 1)
        starts.append(time.monotonic())
        time.sleep(0.05)
        active.pop()
        return Response(url="u", status=200, headers={}, body=b"")

    threads = [threading.Thread(target=throttle.run, args=("h", 0.1, work), kwargs={"hold": 5.0}) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    starts.sort()
    assert not any(overlap)
    assert all(b - a >= 0.15 - 0.01 for a, b in zip(starts, starts[1:]))  # 0.05 s of work + 0.1 s of delay


# -- page_deadline -------------------------------------------------------------------------------


def test_a_source_that_never_answers_fails_at_the_page_deadline_with_the_reason(serve: Any) -> None:
    server = serve({"/oai": silence})
    config = replace(FAST, read_timeout=0.4, response_deadline=5.0, page_deadline=1.0, max_retries=5)
    source = SourceConfig(id="silent", name="无应答中心", url=server.base + "/oai")
    adapter = OAIPMHAdapter(source, client(config, "silent"))
    t0 = time.monotonic()
    with pytest.raises(RequestTimeout) as info:  # 6 tries × 0.4 s before
        list(adapter.pages(full=True, since=None, resume=None))
    elapsed = time.monotonic() - t0
    assert elapsed < 1.6, elapsed
    assert isinstance(info.value, DeadlineExceeded)
    assert "page_deadline of 1 s" in info.value.message and "timed out: no response" in info.value.message
    assert info.value.source_id == "silent" and (info.value.url or "").startswith(server.base + "/oai")


def test_the_page_deadline_stops_retries_whose_wait_would_pass_it(serve: Any) -> None:
    server = serve({"/stall": headers_then_silence})
    config = replace(FAST, response_deadline=0.3, page_deadline=0.5, max_retries=5, backoff_base=1.0,
                     backoff_max=1.0)
    c = client(config)
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded) as info:
        c.request("GET", server.base + "/stall")
    assert time.monotonic() - t0 < 0.9  # did not sleep the 0.5..1 s backoff first
    assert "after 1 try" in info.value.message and "response_deadline" in info.value.message


# -- retry budget --------------------------------------------------------------------------------


def test_the_budget_grows_with_successful_requests_up_to_its_maximum() -> None:
    c = client(replace(FAST, retry_budget=2, retry_budget_per_success=0.5, retry_budget_max=4))
    assert c.budget == 2
    c.successes = 3
    assert c.budget == 3
    c.successes = 100
    assert c.budget == 4


def test_a_long_listing_from_a_server_failing_one_request_in_three_completes() -> None:
    c = center("ncdc")
    records = generate_records(c)
    server = OAIServer(OAIRepository(c, records, page_size=4), port=0).start()

    def every_third(ctx: FaultContext) -> FaultAction | None:
        if ctx.request_number % 3 == 0:
            return FaultAction(status=503, headers={"Retry-After": "1"}, body=b"busy")
        return None

    server.fault = every_third
    try:
        config = replace(FAST, max_retries=1, retry_budget=5)  # a fixed budget of 10 x max_retries ran out
        http = client(config, "ncdc")
        adapter = OAIPMHAdapter(SourceConfig(id="ncdc", name="冰川冻土", url=server.url, metadata_prefix="oai_dc"),
                                http)
        pages = list(adapter.pages(full=True, since=None, resume=None))
    finally:
        server.stop()
    assert adapter.info.complete
    assert sum(len(p.items) for p in pages) == len(records)
    assert http.retries["http_503"] > 10


def test_a_json_body_cut_short_forever_ends_with_the_budget_error(serve: Any) -> None:
    server = serve({"/api": cut_json})
    c = client(replace(FAST, max_retries=10, retry_budget=3))
    with pytest.raises(RetryBudgetExhausted) as info:
        fetch_json(c, "GET", server.base + "/api")
    assert c.retries["truncated"] == 3
    assert "retry budget of 3 used up" in info.value.message and "truncated" in info.value.message
    assert info.value.source_id == "src"


def test_an_oai_body_cut_short_forever_ends_with_the_budget_error() -> None:
    c = center("ncdc")
    server = OAIServer(OAIRepository(c, generate_records(c)), port=0).start()
    server.fault = lambda ctx: FaultAction(truncate_at=600, honest_length=True)
    try:
        http = client(replace(FAST, max_retries=10, retry_budget=4), "ncdc")
        adapter = OAIPMHAdapter(SourceConfig(id="ncdc", name="冰川冻土", url=server.url), http)
        with pytest.raises(RetryBudgetExhausted) as info:
            adapter.identify()
    finally:
        server.stop()
    assert http.retries["truncated"] == 4
    assert info.value.source_id == "ncdc"


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value"), [("response_deadline", 0), ("page_deadline", -1), ("retry_budget", -1),
                                            ("retry_budget_per_success", -0.5), ("retry_budget_max", 3)])
def test_bad_deadline_and_budget_settings_are_refused(key: str, value: float) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"http": {"retry_budget": 10, key: value}})
    assert info.value.key == f"http.{key}"


def test_the_defaults() -> None:
    http = config_from_dict({}).http
    assert (http.response_deadline, http.page_deadline) == (300.0, 900.0)
    assert (http.retry_budget, http.retry_budget_per_success, http.retry_budget_max) == (50, 1.0, 10000)


def test_a_connection_closed_without_an_answer_is_one_plain_line() -> None:
    """A server that accepts and closes (or resets) says so, without urllib3's pool and object names."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def close_everything() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=close_everything, daemon=True)
    thread.start()
    try:
        client = HttpClient(HttpConfig(max_retries=1, backoff_base=0.01, backoff_max=0.01), source_id="mute")
        with pytest.raises(ConnectionFailed) as info:
            client.request("GET", f"http://127.0.0.1:{port}/oai")
        message = str(info.value)
        assert "closed the connection without answering" in message or "reset by the server" in message
        assert "HTTPConnectionPool" not in message and "object at 0x" not in message
        client.close()
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
