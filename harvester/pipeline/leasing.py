"""Keeping a source's harvest lease (:mod:`fedcat.harvester.store.leases`) while its run goes on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..store import RecordStore
from ..store.leases import Lease

log = logging.getLogger(__name__)

#: The message of a run that could not renew its harvest lease (:mod:`fedcat.harvester.store.leases`).
LEASE_LOST_MESSAGE = ("lost its harvest lease to another process (no renewal reached the store in time): stopped, "
                      "keeping the pages written before; the next holder resumes from the checkpoint")


@contextmanager
def renewing(store: RecordStore, lease: Lease) -> Iterator[threading.Event]:
    """Renew ``lease`` every third of its duration until the block ends (a page that takes long does not
    let it expire); the event yielded is set when a renewal finds the lease lost. A store that does not
    answer a renewal is tried again at the next one: the lease is lost only if it expires meanwhile."""
    lost, done = threading.Event(), threading.Event()

    def beat() -> None:
        while not done.wait(lease.seconds / 3):
            try:
                if not store.leases.renew(lease):
                    log.warning("[%s] %s", lease.source_id, LEASE_LOST_MESSAGE)
                    lost.set()
                    return
            except store.connection.errors as exc:
                log.warning("[%s] cannot renew the harvest lease (%s): trying again", lease.source_id, exc)

    thread = threading.Thread(target=beat, name=f"lease-{lease.source_id}", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        done.set()
        thread.join()
