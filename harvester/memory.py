"""Giving the memory a page freed back to the system.

A harvest parses a page (an XML tree, a JSON document), maps it, stores it and lets it go, page after
page and on several sources' threads at once. The C allocator keeps what was freed for later use, in
as many heaps (arenas) as threads touched it, so a process's resident memory climbs to the sum of every
thread's busiest moment and stays there. After a page is stored :class:`MemoryReleaser` asks glibc's
``malloc_trim`` to return the free pages of every heap; bench/search.py and bench/harvest.py report the
peak resident memory of a harvest (docs/performance.md). Where the C library has no ``malloc_trim`` (not
glibc) nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: At most one trim this often (seconds): a trim walks every heap, a few milliseconds on a large one.
TRIM_EVERY_S = 1.0


def malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim(pad)``, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError) as exc:
        log.debug("no malloc_trim in the C library (%s): freed memory stays with the allocator", exc)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


class MemoryReleaser:
    """:meth:`release` after a page: a trim at most every ``every`` seconds, from any thread."""

    def __init__(self, every: float = TRIM_EVERY_S, *, clock: Callable[[], float] = time.monotonic,
                 trim: Callable[[int], int] | None = None) -> None:
        self.every, self._clock = every, clock
        self._trim = trim if trim is not None else malloc_trim()
        self._lock = threading.Lock()
        self._last = float("-inf")
        self.trims = 0

    def release(self) -> bool:
        """Return freed memory to the system unless that was done less than ``every`` seconds ago;
        whether it was done now."""
        if self._trim is None:
            return False
        now = self._clock()
        with self._lock:
            if now - self._last < self.every:
                return False
            self._last = now
            self.trims += 1
        self._trim(0)
        return True
