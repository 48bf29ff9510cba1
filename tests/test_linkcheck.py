"""The link checker against loopback servers (200, 404, 405 on HEAD, login walls, timeouts, redirects),
its address guard (nothing is ever sent to a private address), and results kept by the store."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fedcat.api.catalog import Catalog
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.linkcheck.checker import LinkChecker, Settings, Target
from fedcat.harvester.linkcheck.guard import AddressPolicy, AddressRefused, parse_networks
from fedcat.harvester.linkcheck.run import check_links
from fedcat.harvester.metrics import source_metrics
from fedcat.harvester.model import Openness
from fedcat.harvester.store.link_results import LinkKind, LinkStatus

from .conftest import source_for

LOOPBACK = ("127.0.0.0/8",)


class Site(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, float]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        Site.seen.append((self.command, self.path, time.monotonic()))
        path = self.path.split("?")[0]
        routes: dict[str, tuple[int, dict[str, str]]] = {
            "/ok": (200, {}), "/missing": (404, {}), "/forbidden": (403, {}), "/boom": (500, {}),
            "/moved": (301, {"Location": "/ok"}), "/private": (302, {"Location": "/login?next=/private"}),
            "/login": (200, {}), "/loop": (302, {"Location": "/loop"}),
            "/to-private": (302, {"Location": "http://10.1.2.3/internal"}),
            "/to-named-host": (302, {"Location": "http://resolver.invalid/10.1/x"}),
        }
        if path == "/nohead" and self.command == "HEAD":
            status, headers = 405, {"Allow": "GET"}
        elif path == "/nohead":
            status, headers = 200, {}
        elif path == "/slow":
            time.sleep(1.5)
            status, headers = 200, {}
        else:
            status, headers = routes.get(path, (404, {}))
        body = b"" if self.command == "HEAD" else b"<html>page</html>"
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = _answer  # noqa: N815 - stdlib naming
    do_HEAD = _answer  # noqa: N815 - stdlib naming


@pytest.fixture
def site() -> Iterator[str]:
    Site.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def checker(**kw: Any) -> LinkChecker:
    settings: dict[str, Any] = {"timeout": 0.5, "min_delay": 0.0, "allow_networks": LOOPBACK}
    settings.update(kw)
    return LinkChecker(Settings(**settings))


def test_statuses(site: str) -> None:
    c = checker()
    ok = c.visit(f"{site}/ok")
    assert (ok.status, ok.http_status, ok.method) == (LinkStatus.OK, 200, "HEAD")
    assert c.visit(f"{site}/missing").status is LinkStatus.NOT_FOUND
    assert c.visit(f"{site}/boom").status is LinkStatus.SERVER_ERROR
    moved = c.visit(f"{site}/moved")
    assert (moved.status, moved.final_url) == (LinkStatus.OK, f"{site}/ok")


def test_get_when_head_is_refused(site: str) -> None:
    v = checker().visit(f"{site}/nohead")
    assert (v.status, v.http_status, v.method) == (LinkStatus.OK, 200, "GET")
    assert [(m, p) for m, p, _ in Site.seen] == [("HEAD", "/nohead"), ("GET", "/nohead")]


def test_login_walls(site: str) -> None:
    c = checker()
    walled = c.visit(f"{site}/private")
    assert walled.status is LinkStatus.LOGIN_WALL and walled.final_url == f"{site}/login?next=/private"
    assert "login" in (walled.detail or "")
    forbidden = c.visit(f"{site}/forbidden")
    assert (forbidden.status, forbidden.http_status) == (LinkStatus.LOGIN_WALL, 403)


def test_timeout_and_redirect_limit(site: str) -> None:
    started = time.monotonic()
    slow = checker(timeout=0.3).visit(f"{site}/slow")
    assert slow.status is LinkStatus.TIMEOUT and time.monotonic() - started < 1.4
    loop = checker(max_redirects=3).visit(f"{site}/loop")
    assert loop.status is LinkStatus.TOO_MANY_REDIRECTS
    assert sum(1 for _, p, _ in Site.seen if p == "/loop") == 4  # the first request and 3 redirects


def test_per_host_rate_limit(site: str) -> None:
    c = checker(min_delay=0.25, workers=4)
    targets = [Target(f"s:{i}", "s", LinkKind.LANDING, f"{site}/ok?n={i}") for i in range(4)]
    started = time.monotonic()
    results = c.check(targets)
    took = time.monotonic() - started
    assert sorted(r.record_id for r in results) == [f"s:{i}" for i in range(4)]
    times = sorted(t for _, _, t in Site.seen)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # four workers, one host: the requests leave one at a time, 0.25 s apart (arrival times at the
    # server also carry its threads' scheduling, so each gap is checked with room for that)
    assert len(times) == 4 and took >= 0.75 and times[-1] - times[0] >= 0.6 and min(gaps) >= 0.1


def test_loopback_refused_unless_allowed(site: str) -> None:
    v = checker(allow_networks=()).visit(f"{site}/ok")
    assert v.status is LinkStatus.REFUSED and "loopback" in (v.detail or "")
    assert checker(allow_networks=()).visit(site.replace("127.0.0.1", "localhost") + "/ok").status \
        is LinkStatus.REFUSED
    assert Site.seen == []


@pytest.mark.parametrize("url", [
    "http://10.20.30.40/data", "http://192.168.1.10:8080/x", "http://172.16.5.4/", "http://169.254.169.254/latest",
    "http://224.0.0.251/", "http://[fd00::1]/", "http://[::ffff:10.0.0.1]/", "http://0.0.0.0/", "http://100.64.1.1/",
])
def test_nothing_is_sent_to_private_addresses(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def no_connection(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    monkeypatch.setattr(socket.socket, "connect", no_connection)
    v = checker().visit(url)  # loopback is allowed, these networks are not
    assert v.status is LinkStatus.REFUSED, v
    assert attempts == []


def test_every_address_is_checked() -> None:
    policy = AddressPolicy(tuple(parse_networks(["127.0.0.0/8"])))
    with pytest.raises(AddressRefused):
        policy.check(ipaddress.ip_address("10.0.0.1"))
    policy.check(ipaddress.ip_address("127.0.0.2"))
    policy.check(ipaddress.ip_address("8.8.8.8"))  # public: allowed (only checked, never contacted here)
    with pytest.raises(AddressRefused):
        AddressPolicy().check(ipaddress.ip_address("::1"))


def test_redirect_to_a_private_address_is_refused(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.create_connection
    targets: list[Any] = []

    def watched(address: Any, *args: Any, **kwargs: Any) -> Any:
        targets.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", watched)
    v = checker().visit(f"{site}/to-private")
    assert v.status is LinkStatus.REFUSED and v.final_url == "http://10.1.2.3/internal"
    assert [host for host, _ in targets] == ["127.0.0.1"]  # only the first hop was contacted


def test_only_hosts_are_visited_and_no_other_name_is_looked_up(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[Any] = []
    real = socket.getaddrinfo

    def watched(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", watched)
    c = checker(only_hosts=("127.0.0.1",))
    assert c.visit(f"{site}/ok").status is LinkStatus.OK
    elsewhere = c.visit(site.replace("127.0.0.1", "localhost") + "/ok")
    assert elsewhere.status is LinkStatus.REFUSED and "only_hosts" in (elsewhere.detail or "")
    hop = c.visit(f"{site}/to-named-host")  # a redirect off the listed hosts is refused, not followed
    assert (hop.status, hop.final_url) == (LinkStatus.REFUSED, "http://resolver.invalid/10.1/x")
    assert set(lookups) <= {"127.0.0.1"}  # neither localhost nor resolver.invalid was looked up
    assert [p for _, p, _ in Site.seen] == ["/ok", "/to-named-host"]
    assert checker().visit(site.replace("127.0.0.1", "localhost") + "/ok").status is LinkStatus.OK  # unset: any host


def test_check_links_leaves_links_off_the_listed_hosts_unchecked(oai_server: OAIServer,
                                                                  catalog_factory: Any) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)], linkcheck={
        "allow_networks": ["127.0.0.1/32"], "only_hosts": ["localhost"], "min_delay": 0, "timeout": 2})
    cat.harvester.harvest()
    before = oai_server.request_count
    open_records = [r for r in cat.store.records.iter_records("ncdc") if r.access.openness is Openness.OPEN]
    report = check_links(cat.store, cat.config)  # the demo's landing pages are on 127.0.0.1, not localhost
    assert report.results == [] and report.out_of_scope == len(open_records) > 0
    assert oai_server.request_count == before and cat.store.links.for_source("ncdc") == {}
    reach = source_metrics(cat.store, "ncdc", lambda r: True, date(2025, 1, 31))["reachability"]
    assert (reach["declared_open"], reach["checked"], reach["unreachable"]) == (len(open_records), 0, 0)


def test_check_links_of_a_catalog(oai_server: OAIServer, catalog_factory: Any) -> None:
    oai_server.landing_fault = lambda r: "login" if r.local_id.endswith("1") else None
    cat: Catalog = catalog_factory([source_for(oai_server)],
                                   linkcheck={"allow_networks": ["127.0.0.1/32"], "min_delay": 0, "timeout": 2})
    cat.harvester.harvest()
    open_records = [r for r in cat.store.records.iter_records("ncdc") if r.access.openness is Openness.OPEN]
    assert open_records
    report = check_links(cat.store, cat.config)
    assert {r.record_id for r in report.results} == {r.id for r in open_records}
    walled = {r.id for r in open_records if r.local_id.endswith("1")}
    stored = cat.store.links.for_source("ncdc")
    assert {rid for rid, res in stored.items() if res[LinkKind.LANDING].status is LinkStatus.LOGIN_WALL} == walled
    ok = [res[LinkKind.LANDING] for res in stored.values() if res[LinkKind.LANDING].status is LinkStatus.OK]
    assert ok and all(r.method == "GET" and r.http_status == 200 for r in ok)  # the demo server refuses HEAD (501)
    m = source_metrics(cat.store, "ncdc", lambda r: True, date(2025, 1, 31))
    reach = m["reachability"]
    assert (reach["declared_open"], reach["checked"]) == (len(open_records), len(open_records))
    assert (reach["unreachable"], reach["login_wall"]) == (len(walled), len(walled))
    assert reach["reachable"] == len(open_records) - len(walled)


def test_linkcheck_refuses_loopback_without_config(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    before = oai_server.request_count
    report = check_links(cat.store, cat.config)
    assert report.results and all(r.status is LinkStatus.REFUSED for r in report.results)
    assert oai_server.request_count == before
