"""HTTP transport for every adapter: timeouts, retries, throttling, a size cap.

Three components, as in Scrapy's downloader middlewares:

- :class:`RetryPolicy` decides whether and how long to wait after a failure
  (exponential backoff with full jitter, ``Retry-After`` in seconds or as an
  HTTP date, capped);
- :class:`HostThrottle` lets one request at a time reach a host, with a
  minimum delay between requests, but for no longer than that request's
  deadline: a stuck response never blocks the other sources of its host;
- :class:`HttpClient` glues them to a ``requests.Session``, streams the body,
  refuses it past ``max_response_bytes`` or past ``response_deadline`` seconds,
  stops retrying a request after ``page_deadline`` seconds and keeps the
  source's retries within a budget that grows with its successful requests.
"""

from __future__ import annotations

import http.client
import io
import logging
import math
import socket
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..config_schema import HttpConfig
from ..errors import (
    ConnectionFailed,
    ConnectionRefused,
    DeadlineExceeded,
    HTTPStatusError,
    RequestTimeout,
    ResponseTooLarge,
    RetryBudgetExhausted,
    TransportError,
)
from ..version import VERSION
from .pacing import GLOBAL_THROTTLE, HostThrottle, RetryPolicy

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A refused connection (nothing listens there) is tried once more after this many seconds, then fails:
#: a server restarting comes back within it, a wrong port or a stopped server never does.
REFUSED_RETRY_DELAY = 0.5
#: Bytes asked for per read of a body; a read returns what has arrived, so the deadline is checked often.
CHUNK = 64 * 1024


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


class HttpClient:
    """One per source: carries the source id into errors and counts retries by reason.

    The source's retries are charged to a budget: ``retry_budget`` plus ``retry_budget_per_success``
    for each successful request so far, at most ``retry_budget_max``, so a long listing from a
    server that fails now and then has room for its retries and a broken server still stops.
    """

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
        #: Requests answered with a usable status (less those a caller had to fetch again).
        self.successes = 0
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent(config.contact)
        self.session.headers["Accept-Encoding"] = "gzip, deflate"

    def close(self) -> None:
        self.session.close()

    @property
    def budget(self) -> int:
        """How many retries the source may have spent by now."""
        c = self.config
        return min(c.retry_budget_max, c.retry_budget + int(c.retry_budget_per_success * self.successes))

    def spend_retry(self, reason: str, url: str) -> None:
        """Charge a retry decided by the caller (a body cut short, fetched again) to the budget.

        The response being retried no longer counts as a success, so a server that keeps failing
        this way does not earn budget with its failures. Raises :class:`RetryBudgetExhausted`
        when the budget is used up.
        """
        self.successes = max(0, self.successes - 1)
        self._charge(reason, url, reason.replace("_", " "))

    def _charge(self, reason: str, url: str, last: str) -> None:
        spent = sum(self.retries.values())
        budget = self.budget
        if spent >= budget:
            raise RetryBudgetExhausted(
                f"retry budget of {budget} used up ({spent} retries, {self.successes} successful requests; "
                f"last: {last})", source_id=self.source_id, url=url,
            )
        self.retries[reason] += 1

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
        once, quickly (:data:`REFUSED_RETRY_DELAY`), then :class:`ConnectionRefused` is raised. Each
        response must be complete within ``response_deadline``; once the request and its retries
        have taken ``page_deadline``, :class:`DeadlineExceeded` is raised.
        """
        started = time.monotonic()
        page_end = started + self.config.page_deadline
        attempt = 0
        tries = 0
        refused = False
        error: TransportError | None = None
        while True:
            reason: str
            retry_after: str | None = None
            left = page_end - time.monotonic()
            if left <= 0:
                raise self._page_deadline(url, started, tries, error)
            tries += 1
            try:
                resp = self.throttle.run(
                    urlsplit(url).netloc, self.min_delay,
                    lambda: self._send(method, url, params, data, json_body, headers, page_end),
                    hold=min(self.config.response_deadline, left),
                )
            except ConnectionRefused as exc:
                if refused:
                    raise
                refused = True
                error = exc
                self._retry_refused(url)
                continue
            except RequestTimeout as exc:
                reason = "timeout"
                error = exc
            except ConnectionFailed as exc:
                reason = "connection"
                error = exc
            else:
                if 200 <= resp.status < 300 or resp.status in ok_statuses:
                    self.successes += 1
                    return resp
                error = HTTPStatusError(f"HTTP {resp.status}", status=resp.status, source_id=self.source_id,
                                        url=resp.url)
                if resp.status not in RETRY_STATUSES:
                    raise error
                reason = f"http_{resp.status}"
                retry_after = resp.headers.get("Retry-After")
            attempt += 1
            if attempt > self.policy.max_retries:
                raise error
            wait = self.policy.delay(attempt, retry_after)
            if time.monotonic() + wait >= page_end:
                raise self._page_deadline(url, started, tries, error) from error
            self._charge(reason, url, error.message)
            log.warning("[%s] %s: %s, retry %d in %.1fs", self.source_id, url, reason, attempt, wait)
            self._sleep(wait)

    def _page_deadline(self, url: str, started: float, tries: int, last: TransportError | None) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"page_deadline of {self.config.page_deadline:g} s reached after {tries} "
            f"{'try' if tries == 1 else 'tries'} in {time.monotonic() - started:.1f} s, no more retries"
            f"{f' (last: {last.message})' if last else ''}", source_id=self.source_id, url=url,
        )

    def _retry_refused(self, url: str) -> None:
        self._charge("refused", url, "connection refused")
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
        page_end: float = math.inf,
    ) -> Response:
        """One attempt, headers and body within ``response_deadline`` (and before ``page_end``)."""
        start = time.monotonic()
        limit = self.config.response_deadline
        deadline = _Deadline(start, start + limit, f"response_deadline of {limit:g} s")
        if page_end < deadline.end:
            deadline = _Deadline(start, page_end, "what was left of page_deadline")
        if deadline.left() <= 0:
            raise RequestTimeout(deadline.message(0), source_id=self.source_id, url=url)
        # Every socket operation waits at most until the deadline; the body's reads are re-armed as it comes.
        timeout = (min(self.config.connect_timeout, deadline.left()), min(self.config.read_timeout, deadline.left()))
        size = 0
        try:
            with self.session.request(
                method, url, params=params, data=data, json=json_body, headers=headers,
                timeout=timeout, stream=True,
            ) as r:
                deadline.headers = True
                if deadline.passed():
                    raise RequestTimeout(deadline.message(0), source_id=self.source_id, url=url)
                buffer = io.BytesIO()  # its value is taken without a copy: the body is held once
                for chunk in self._read_capped(r, url, deadline):
                    buffer.write(chunk)
                    size += len(chunk)
                body = buffer.getvalue()
                del buffer
                if body[:2] == GZIP_MAGIC and "gzip" not in r.headers.get("Content-Encoding", ""):
                    body = self._gunzip(body, url)
                return Response(url=r.url, status=r.status_code, headers=dict(r.headers), body=body,
                                encoding=r.encoding if "charset" in r.headers.get("Content-Type", "") else None)
        except (requests.Timeout, urllib3.exceptions.ReadTimeoutError) as exc:
            message = deadline.message(size) if deadline.passed() else f"timed out: {exc}"
            raise RequestTimeout(message, source_id=self.source_id, url=url) from exc
        except requests.ConnectionError as exc:
            if exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError):  # a body read timed out
                message = deadline.message(size) if deadline.passed() else f"timed out: {exc}"
                raise RequestTimeout(message, source_id=self.source_id, url=url) from exc
            if _refused(exc):
                raise ConnectionRefused(f"connection failed: connection refused (nothing is listening on "
                                        f"{urlsplit(url).netloc})", source_id=self.source_id, url=url) from exc
            raise ConnectionFailed(f"connection failed: {_plain_reason(exc, url)}", source_id=self.source_id,
                                   url=url) from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
                urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
            raise ConnectionFailed(f"connection failed: {exc}", source_id=self.source_id, url=url) from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
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

    def _read_capped(self, r: requests.Response, url: str, deadline: _Deadline) -> Iterator[bytes]:
        """The body's chunks as they arrive, refused past the size cap or the deadline."""
        cap = self.config.max_response_bytes
        declared = r.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise ResponseTooLarge(f"Content-Length {declared} exceeds the cap of {cap} bytes",
                                   source_id=self.source_id, url=url)
        size = 0
        for chunk in self._chunks(r, deadline):
            size += len(chunk)
            if size > cap:
                raise ResponseTooLarge(f"body exceeds the cap of {cap} bytes", source_id=self.source_id, url=url)
            if deadline.passed():
                raise RequestTimeout(deadline.message(size), source_id=self.source_id, url=url)
            yield chunk

    def _chunks(self, r: requests.Response, deadline: _Deadline) -> Iterator[bytes]:
        """Decoded body chunks; each read returns what has arrived and waits no later than the deadline."""
        read1 = getattr(r.raw, "read1", None)
        if read1 is None:  # urllib3 before 2.3: whole chunks, the deadline is checked between them
            yield from r.iter_content(CHUNK)
            return
        sock = getattr(getattr(r.raw, "connection", None), "sock", None)
        while True:
            if sock is not None and hasattr(sock, "settimeout"):
                sock.settimeout(max(0.001, min(self.config.read_timeout, deadline.left())))
            chunk = read1(CHUNK, decode_content=True)
            if not chunk:
                return
            yield bytes(chunk)


@dataclass
class _Deadline:
    """When one attempt must be over, and which setting said so (named in the error)."""

    start: float
    end: float
    #: ``response_deadline of 300 s`` or ``what was left of page_deadline``.
    setting: str
    headers: bool = False  # the response's headers have arrived

    def left(self) -> float:
        return self.end - time.monotonic()

    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def message(self, received: int) -> str:
        took = time.monotonic() - self.start
        if not self.headers:
            return f"timed out: no response within {took:.1f} s ({self.setting})"
        return f"timed out: response not complete after {took:.1f} s ({self.setting}; {received} bytes received)"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps: cause, context, urllib3's ``reason``, a first argument."""
    out: list[BaseException] = []
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        out.append(current)
        links = (current.__cause__, current.__context__, getattr(current, "reason", None),
                 current.args[0] if current.args else None)
        pending.extend(link for link in links if isinstance(link, BaseException))
    return out


def _plain_reason(exc: requests.ConnectionError, url: str) -> str:
    """One line for a failed connection, without urllib3's pool and object names."""
    host = urlsplit(url).netloc
    for link in _chain(exc):
        if isinstance(link, ConnectionResetError):
            return f"the connection to {host} was reset by the server"
        if isinstance(link, (http.client.RemoteDisconnected, ConnectionAbortedError)):
            return f"{host} closed the connection without answering"
        if isinstance(link, (urllib3.exceptions.NameResolutionError, socket.gaierror)):
            return f"cannot resolve the host name of {host}"
        if isinstance(link, TimeoutError):
            return f"no connection to {host} in time"
        if isinstance(link, OSError) and link.strerror:
            return f"{link.strerror.lower()} ({host})"
    return str(exc)


def _refused(exc: requests.ConnectionError) -> bool:
    """Whether the server's address refused the connection (a proxy refusing is something else).

    requests wraps urllib3's ``MaxRetryError``, whose ``reason`` wraps the socket's
    ``ConnectionRefusedError``: every link (cause, context, ``reason``, first argument) is followed.
    """
    if isinstance(exc, requests.exceptions.ProxyError):
        return False
    return any(isinstance(link, ConnectionRefusedError) for link in _chain(exc))

