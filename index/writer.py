"""The embedded index's writer child process: ``python -m fedcat.index.writer <folder>``.

It owns the tantivy writer of the index at ``<folder>`` and applies what the parent
(:class:`~fedcat.index.writer_process.WriterProcess`, where the protocol is described) sends.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import IO

from fedcat.harvester.grouping import DatasetGroup
from fedcat.harvester.memory import MemoryReleaser
from fedcat.harvester.model import Record

from .embedded import EmbeddedIndex
from .errors import IndexBackendError
from .writer_process import read_message as _read
from .writer_process import write_message as _write

log = logging.getLogger(__name__)


def serve(folder: Path, inbox: IO[bytes], outbox: IO[bytes]) -> int:
    """Apply the parent's writes to the index at ``folder`` until ``close`` or end of input."""
    index = EmbeddedIndex(folder)
    memory = MemoryReleaser()
    failure: str | None = None
    while (message := _read(inbox)) is not None:
        op, payload = message
        try:
            if op == "upsert":
                groups = [DatasetGroup(key, [Record.from_dict(m) for m in members]) for key, members in payload]
                index.upsert_groups(groups, refresh=False)
                memory.release()  # the batch's memory goes back to the system
            elif op == "delete":
                index.delete(payload, refresh=False)
            elif op == "commit":
                if failure is None:
                    index.flush()
                _write(outbox, "ok" if failure is None else "error", failure)
                failure = None
            elif op == "clear":  # everything goes, failed writes included
                index.clear()
                _write(outbox, "ok", None)
                failure = None
            elif op == "close":  # what was sent is committed first: closing never drops a write
                if failure is None:
                    index.flush()
                index.close()
                _write(outbox, "ok" if failure is None else "error", failure)
                return 0
        except IndexBackendError as exc:
            log.warning("index writer: %s failed: %s", op, exc)
            if op in ("commit", "clear", "close"):
                _write(outbox, "error", str(exc))
                if op == "close":
                    return 1
            else:
                failure = failure or str(exc)
    index.close()  # the parent went away: keep what was committed
    return 0


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    return serve(Path(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    sys.exit(main())
