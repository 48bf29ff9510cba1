"""Stopping the command line on SIGTERM (or Ctrl-C) without losing a harvest's work.

The first SIGTERM or SIGINT sets the harvester's stop flag (:attr:`Harvester.stop`): each run in
progress stores the page it is on, with its checkpoint, and ends ``interrupted``; the next run resumes
from that checkpoint. The command then exits (``fedcat harvest`` with 128 + the signal's number, 143
for SIGTERM; ``fedcat schedule`` and ``fedcat serve`` with 0). A page still being fetched is waited for
at most :data:`STOP_GRACE_S` seconds; past that, or at a second signal, the process exits at once, as a
killed one would: every page it wrote is in the store, and its run is found ``interrupted`` and resumes
from its last checkpoint.

The handlers are installed by the commands (:func:`stop_on_signals`), never when a module is imported.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger(__name__)

#: Seconds a harvest has, after the first signal, to store the page it is on before the process exits.
STOP_GRACE_S = 10.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(Exception):  # noqa: N818 - a request, not an error
    """A command stopped on a signal, after its work in progress was stored; exit with :attr:`code`."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.code = 128 + signum
        super().__init__(f"stopped on {signal.Signals(signum).name}")


@dataclass
class StopRequest:
    """The signal a command was asked to stop with (None: not asked)."""

    signum: int | None = None
    _timer: threading.Timer | None = None

    def raise_if_stopped(self) -> None:
        if self.signum is not None:
            raise Stopped(self.signum)


@contextmanager
def stop_on_signals(stop: threading.Event | None = None, *, on_stop: Callable[[], None] | None = None,
                    grace: float = STOP_GRACE_S) -> Iterator[StopRequest]:
    """Within this block, the first SIGTERM/SIGINT sets ``stop`` and calls ``on_stop`` (in the main thread,
    which it may interrupt by raising); if the block is still running ``grace`` seconds later, or at a
    second signal, the process exits at once. Outside the main thread (where signals cannot be handled)
    this does nothing."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum: int, _: FrameType | None) -> None:
        if request.signum is not None:
            _exit_now(signum, "a second signal")
        request.signum = signum
        if stop is not None:
            log.warning("%s: stopping once each harvest in progress has stored the page it is on "
                        "(at most %.0f s; a second signal stops at once)", signal.Signals(signum).name, grace)
            stop.set()
        request._timer = threading.Timer(grace, _exit_now, args=(signum, f"still running {grace:.0f} s later"))
        request._timer.daemon = True
        request._timer.start()
        if on_stop is not None:
            on_stop()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield request
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        if request._timer is not None:
            request._timer.cancel()


def _exit_now(signum: int, why: str) -> None:
    log.error("%s after %s: exiting now; a harvest in progress resumes from its last stored page",
              why, signal.Signals(signum).name)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(128 + signum)
