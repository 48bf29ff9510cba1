"""How requests are paced: the backoff between retries (honouring ``Retry-After``) and one request at a
time per host, at least a minimum delay apart, each holding its host no longer than its deadline."""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A request keeps its host to itself this long past its own deadline (it is failing by then); after
#: that the next request to the host goes ahead without waiting for it.
GATE_SLACK = 1.0


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


@dataclass
class _Gate:
    """Who holds one host, until when, and when its last request ended."""

    holder: object | None = None
    until: float = math.inf
    last: float = -math.inf


class HostThrottle:
    """One request at a time per host, at least ``min_delay`` seconds apart.

    A request holds its host for at most ``hold`` seconds (its deadline, plus :data:`GATE_SLACK`):
    when it is still running after that, the next request goes ahead anyway, so a response that
    never ends blocks the other sources of its host no longer than its own deadline.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._gates: dict[str, _Gate] = {}

    def run(self, host: str, min_delay: float, fn: Callable[[], T], *,
            hold: float | None = None) -> T:
        token = object()
        with self._cond:
            gate = self._gates.setdefault(host, _Gate())
            while gate.holder is not None:
                left = gate.until - time.monotonic()
                if left <= 0:
                    log.warning("%s: a request has held this host past its deadline; the next one goes ahead", host)
                    break
                self._cond.wait(min(left, 3600.0))
            now = time.monotonic()
            wait = max(0.0, gate.last + min_delay - now)
            gate.holder = token
            gate.until = math.inf if hold is None else now + wait + hold + GATE_SLACK
        try:
            if wait > 0:
                time.sleep(wait)
            return fn()
        finally:
            with self._cond:
                gate.last = time.monotonic()
                if gate.holder is token:
                    gate.holder = None
                self._cond.notify_all()


#: Shared by every client of the process, so parallel sources on one host still take turns.
GLOBAL_THROTTLE = HostThrottle()
