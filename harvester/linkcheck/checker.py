"""Visit URLs the way a researcher would: HEAD (GET when HEAD is refused), redirects, login walls.

Every request goes to an address the :class:`~.guard.AddressPolicy` accepted
(each redirect hop is resolved and checked again), on a host in ``only_hosts``
when that is set (checked before any name lookup), with explicit timeouts and
at most one request per ``min_delay`` seconds to any one host.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from ..store.link_results import LinkKind, LinkResult, LinkStatus
from ..version import VERSION
from .client import Answer, request
from .guard import AddressPolicy, AddressRefused, IPAddress, ResolutionFailed, parse_networks

log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: HEAD refused: the checker asks again with GET (servers that only know GET are not broken).
HEAD_REFUSED = frozenset({405, 501})
#: A URL that looks like a login or single-sign-on page.
LOGIN_URL = re.compile(r"(log-?in|sign-?in|/sso\b|/cas/|passport|/oauth|/auth(orize|enticate)?\b|登录)",
                       re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    timeout: float = 10.0
    max_redirects: int = 5
    min_delay: float = 1.0
    workers: int = 4
    allow_networks: tuple[str, ...] = ()
    #: When not empty, the only hosts visited (lower-case names or IP literals); others get no request.
    only_hosts: tuple[str, ...] = ()
    user_agent: str = f"fedcat-linkcheck/{VERSION}"

    def in_scope(self, url: str) -> bool:
        """Whether ``url``'s host may be visited (``only_hosts`` empty, or the host is listed)."""
        return not self.only_hosts or (urlsplit(url).hostname or "") in self.only_hosts


@dataclass(frozen=True)
class Target:
    record_id: str
    source_id: str
    kind: LinkKind
    url: str


@dataclass(frozen=True)
class Visit:
    status: LinkStatus
    http_status: int | None = None
    final_url: str | None = None
    method: str | None = None
    detail: str | None = None


class RateLimiter:
    """At most one request per ``min_delay`` seconds to each host."""

    def __init__(self, min_delay: float) -> None:
        self.min_delay = min_delay
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(host, 0.0))
            self._next[host] = at + self.min_delay
        if at > now:
            time.sleep(at - now)


def classify(answer: Answer, url: str, method: str) -> Visit:
    code = answer.status
    if 200 <= code < 300:
        if LOGIN_URL.search(urlsplit(url).path + "?" + urlsplit(url).query):
            return Visit(LinkStatus.LOGIN_WALL, code, url, method, "the page is a login page")
        return Visit(LinkStatus.OK, code, url, method)
    if code in (401, 403):
        return Visit(LinkStatus.LOGIN_WALL, code, url, method, f"HTTP {code}: authentication required")
    if code in (404, 410):
        return Visit(LinkStatus.NOT_FOUND, code, url, method, f"HTTP {code}")
    if 400 <= code < 500:
        return Visit(LinkStatus.CLIENT_ERROR, code, url, method, f"HTTP {code}")
    detail = "a redirect without a Location header" if code in REDIRECTS else f"HTTP {code}"
    return Visit(LinkStatus.SERVER_ERROR, code, url, method, detail)


class LinkChecker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = AddressPolicy(tuple(parse_networks(settings.allow_networks)))
        self.limiter = RateLimiter(settings.min_delay)

    def visit(self, url: str) -> Visit:
        """Follow ``url`` to its final answer; never raises."""
        current, method = url, "HEAD"
        for _ in range(self.settings.max_redirects + 1):
            answer, method = self._safe_ask(current, method)
            if isinstance(answer, Visit):
                return answer
            if answer.status in REDIRECTS and answer.location:
                following = urljoin(current, answer.location)
                if LOGIN_URL.search(urlsplit(following).path + "?" + urlsplit(following).query):
                    return Visit(LinkStatus.LOGIN_WALL, answer.status, following, method,
                                 "redirected to a login page")
                current = following
                continue
            return classify(answer, current, method)
        return Visit(LinkStatus.TOO_MANY_REDIRECTS, None, current, method,
                     f"more than {self.settings.max_redirects} redirects")

    def _safe_ask(self, url: str, method: str) -> tuple[Answer | Visit, str]:
        """One hop; a refused address, a timeout or a broken connection becomes the visit's result."""
        try:
            return self._ask(url, method)
        except AddressRefused as exc:
            return Visit(LinkStatus.REFUSED, None, url, None, str(exc)), method
        except ResolutionFailed as exc:
            return Visit(LinkStatus.CONNECTION_ERROR, None, url, method, str(exc)), method
        except TimeoutError:
            return Visit(LinkStatus.TIMEOUT, None, url, method,
                         f"no answer within {self.settings.timeout:g} s"), method
        except (OSError, http.client.HTTPException) as exc:
            return Visit(LinkStatus.CONNECTION_ERROR, None, url, method, f"{type(exc).__name__}: {exc}"), method

    def _ask(self, url: str, method: str) -> tuple[Answer | Visit, str]:
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return Visit(LinkStatus.INVALID_URL, None, url, None, "bad port"), method
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return Visit(LinkStatus.INVALID_URL, None, url, None, "not an http(s) URL"), method
        host = parts.hostname
        if not self.settings.in_scope(url):
            raise AddressRefused(f"{host} is not in linkcheck.only_hosts")
        address = self.policy.resolve(host, port)[0]
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        answer = self._send(method, parts.scheme, host, port, address, target)
        if method == "HEAD" and answer.status in HEAD_REFUSED:
            method = "GET"
            answer = self._send(method, parts.scheme, host, port, address, target)
        return answer, method

    def _send(self, method: str, scheme: str, host: str, port: int, address: IPAddress, target: str) -> Answer:
        self.limiter.wait(host)
        log.debug("%s %s://%s:%s%s", method, scheme, host, port, target)
        return request(method, scheme, host, port, address, target, timeout=self.settings.timeout,
                       user_agent=self.settings.user_agent)

    def check(self, targets: Sequence[Target], *, on_result: Callable[[LinkResult], None] | None = None
              ) -> list[LinkResult]:
        """Visit every target, hosts in parallel (``workers``), each host's URLs one after another."""
        by_host: dict[str, list[Target]] = defaultdict(list)
        for t in targets:
            by_host[urlsplit(t.url).hostname or ""].append(t)
        results: list[LinkResult] = []
        lock = threading.Lock()

        def run(queue: list[Target]) -> None:
            for t in queue:
                started = time.monotonic()
                v = self.visit(t.url)
                res = LinkResult(t.record_id, t.source_id, t.kind, t.url, v.status, v.http_status, v.final_url,
                                 v.method, v.detail, int((time.monotonic() - started) * 1000),
                                 datetime.now(UTC).isoformat(timespec="seconds"))
                with lock:
                    results.append(res)
                    if on_result is not None:
                        on_result(res)

        with ThreadPoolExecutor(max_workers=max(1, self.settings.workers), thread_name_prefix="linkcheck") as pool:
            list(pool.map(run, by_host.values()))
        return results
