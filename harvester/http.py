"""HTTP transport for every adapter: timeouts, retries, throttling, a size cap.

Three components, as in Scrapy's downloader middlewares:

- :class:`RetryPolicy` decides whether and how long to wait after a failure
  (exponential backoff with full jitter, ``Retry-After`` in seconds or as an
  HTTP date, capped), within a per-source budget;
- :class:`HostThrottle` lets one request at a time reach a host, with a
  minimum delay between requests;
- :class:`HttpClient` glues them to a ``requests.Session``, streams the body
  and refuses it past ``max_response_bytes``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from .config import HttpConfig
from .errors import (
    ConnectionFailed,
    ConnectionRefused,
    HTTPStatusError,
    RequestTimeout,
    ResponseTooLarge,
    RetryBudgetExhausted,
    TransportError,
)

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A refused connection (nothing listens there) is tried once more after this many seconds, then fails:
#: a server restarting comes back within it, a wrong port or a stopped server never does.
REFUSED_RETRY_DELAY = 0.5
VERSION = "0.1.0"


def user_agent(contact: str | None) -> str:
    ua = f"fedcat/{VERSION} (+metadata harvester for national science data centers"
    return ua + (f"; {contact})" if contact else ")")


@dataclass
class Response:
    """What an adapter gets back: status, headers and the whole body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    encoding: str | None = None


@dataclass
class RetryPolicy:
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: str | None, now: datetime | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        hinted = parse_retry_after(retry_after, now)
        if hinted is not None:
            return min(hinted, self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return self.rng.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After: 120`` or ``Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`` → seconds (≥ 0)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HostThrottle:
    """One request at a time per host, at least ``min_delay`` seconds apart."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    def _lock_for(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def run(self, host: str, min_delay: float, fn: Callable[[], Response]) -> Response:
        lock = self._lock_for(host)
        with lock:
            wait = self._last.get(host, 0.0) + min_delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                return fn()
            finally:
                self._last[host] = time.monotonic()


#: Shared by every client of the process, so parallel sources on one host still take turns.
GLOBAL_THROTTLE = HostThrottle()


class HttpClient:
    """One per source: carries the source id into errors and counts retries by reason."""

    def __init__(
        self,
        config: HttpConfig,
        *,
        source_id: str,
        min_delay: float | None = None,
        throttle: HostThrottle | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.source_id = source_id
        self.min_delay = config.min_delay if min_delay is None else min_delay
        self.policy = RetryPolicy(config.max_retries, config.backoff_base, config.backoff_max, config.retry_after_max)
        self.throttle = throttle or GLOBAL_THROTTLE
        self.retries: Counter[str] = Counter()
        self.budget = config.max_retries * 10
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent(config.contact)
        self.session.headers["Accept-Encoding"] = "gzip, deflate"

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: object | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> Response:
        """Send with retries. 2xx and ``ok_statuses`` are returned; others raise.

        Timeouts, connection errors, 429 and 5xx are retried with backoff; a refused connection only
        once, quickly (:data:`REFUSED_RETRY_DELAY`), then :class:`ConnectionRefused` is raised.
        """
        attempt = 0
        refused = False
        while True:
            reason: str
            retry_after: str | None = None
            try:
                resp = self.throttle.run(
                    urlsplit(url).netloc, self.min_delay,
                    lambda: self._send(method, url, params, data, json_body, headers),
                )
            except ConnectionRefused:
                if refused:
                    raise
                refused = True
                self._retry_refused(url)
                continue
            except RequestTimeout as exc:
                reason = "timeout"
                error: TransportError = exc
            except ConnectionFailed as exc:
                reason = "connection"
                error = exc
            else:
                if 200 <= resp.status < 300 or resp.status in ok_statuses:
                    return resp
                error = HTTPStatusError(f"HTTP {resp.status}", status=resp.status, source_id=self.source_id, url=resp.url)
                if resp.status not in RETRY_STATUSES:
                    raise error
                reason = f"http_{resp.status}"
                retry_after = resp.headers.get("Retry-After")
            attempt += 1
            if attempt > self.policy.max_retries:
                raise error
            if sum(self.retries.values()) >= self.budget:
                raise RetryBudgetExhausted(
                    f"retry budget of {self.budget} used up (last: {error.message})", source_id=self.source_id, url=url
                )
            self.retries[reason] += 1
            wait = self.policy.delay(attempt, retry_after)
            log.warning("[%s] %s: %s, retry %d in %.1fs", self.source_id, url, reason, attempt, wait)
            self._sleep(wait)

    def _retry_refused(self, url: str) -> None:
        self.retries["refused"] += 1
        log.info("[%s] %s: connection refused, trying once more in %.1fs", self.source_id, url, REFUSED_RETRY_DELAY)
        self._sleep(REFUSED_RETRY_DELAY)

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        json_body: object | None,
        headers: Mapping[str, str] | None,
    ) -> Response:
        timeout = (self.config.connect_timeout, self.config.read_timeout)
        try:
            with self.session.request(
                method, url, params=params, data=data, json=json_body, headers=headers,
                timeout=timeout, stream=True,
            ) as r:
                body = self._read_capped(r, url)
                if body[:2] == GZIP_MAGIC and "gzip" not in r.headers.get("Content-Encoding", ""):
                    body = self._gunzip(body, url)
                return Response(url=r.url, status=r.status_code, headers=dict(r.headers), body=body,
                                encoding=r.encoding if "charset" in r.headers.get("Content-Type", "") else None)
        except requests.Timeout as exc:
            raise RequestTimeout(f"timed out: {exc}", source_id=self.source_id, url=url) from exc
        except requests.ConnectionError as exc:
            if _refused(exc):
                raise ConnectionRefused(f"connection failed: connection refused (nothing is listening on "
                                        f"{urlsplit(url).netloc})", source_id=self.source_id, url=url) from exc
            raise ConnectionFailed(f"connection failed: {exc}", source_id=self.source_id, url=url) from exc
        except (requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            raise ConnectionFailed(f"connection failed: {exc}", source_id=self.source_id, url=url) from exc
        except requests.RequestException as exc:
            raise ConnectionFailed(f"request failed: {exc}", source_id=self.source_id, url=url) from exc

    def _gunzip(self, body: bytes, url: str) -> bytes:
        """A gzip body sent without ``Content-Encoding``: inflate it, within the size cap."""
        cap = self.config.max_response_bytes
        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(body, cap + 1)
        except zlib.error as exc:
            raise ConnectionFailed(f"gzip body cannot be inflated: {exc}", source_id=self.source_id, url=url) from exc
        if len(out) > cap or inflater.unconsumed_tail:
            raise ResponseTooLarge(f"inflated body exceeds the cap of {cap} bytes", source_id=self.source_id, url=url)
        log.info("[%s] %s: inflated a gzip body sent without Content-Encoding", self.source_id, url)
        return out

    def _read_capped(self, r: requests.Response, url: str) -> bytes:
        cap = self.config.max_response_bytes
        declared = r.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise ResponseTooLarge(f"Content-Length {declared} exceeds the cap of {cap} bytes",
                                   source_id=self.source_id, url=url)
        chunks: list[bytes] = []
        size = 0
        for chunk in r.iter_content(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise ResponseTooLarge(f"body exceeds the cap of {cap} bytes", source_id=self.source_id, url=url)
            chunks.append(chunk)
        return b"".join(chunks)


def _refused(exc: requests.ConnectionError) -> bool:
    """Whether the server's address refused the connection (a proxy refusing is something else).

    requests wraps urllib3's ``MaxRetryError``, whose ``reason`` wraps the socket's
    ``ConnectionRefusedError``: every link (cause, context, ``reason``, first argument) is followed.
    """
    if isinstance(exc, requests.exceptions.ProxyError):
        return False
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        links = (current.__cause__, current.__context__, getattr(current, "reason", None),
                 current.args[0] if current.args else None)
        pending.extend(link for link in links if isinstance(link, BaseException))
    return False


__all__ = ["GLOBAL_THROTTLE", "REFUSED_RETRY_DELAY", "HostThrottle", "HttpClient", "Response", "RetryPolicy",
           "parse_retry_after"]
