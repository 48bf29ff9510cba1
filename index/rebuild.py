"""The embedded index rebuilt beside the live one, then swapped in: searches never see it empty or partial.

Layout, next to the live folder ``<data>/index``::

    index/         the live index (searches read it by path: a reload after the swap sees the new one)
    index.next/    a rebuild in progress; ``fedcat-build.json`` holds the last group committed
    index.old/     the previous index, for the moment of the swap

A rebuild writes groups into ``index.next`` in batches, recording after each commit the last group key it
holds; a rebuild killed at any moment leaves ``index`` serving as before, and the next rebuild continues
after that key. The swap is two renames; :func:`recover` (run whenever the index is opened) finishes a
swap that was cut between them and removes a leftover ``index.old``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fedcat.harvester.grouping import DatasetGroup

from .base import SearchIndex

log = logging.getLogger(__name__)

BUILD_MARKER = "fedcat-build.json"
#: A rebuild commits (and notes where a rebuild cut short continues) after this many groups or seconds.
REBUILD_COMMIT_GROUPS = 20_000
REBUILD_COMMIT_S = 30.0


def next_folder(live: Path) -> Path:
    return live.with_name(live.name + ".next")


def old_folder(live: Path) -> Path:
    return live.with_name(live.name + ".old")


def read_build(folder: Path) -> dict[str, Any] | None:
    """The build marker of ``folder`` (None: not a rebuild folder, or its marker is unreadable)."""
    try:
        data = json.loads((folder / BUILD_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_build(folder: Path, *, after: str, count: int, complete: bool) -> None:
    """Record progress atomically (written beside, then renamed over the marker)."""
    tmp = folder / (BUILD_MARKER + ".tmp")
    tmp.write_text(json.dumps({"after": after, "count": count, "complete": complete}), encoding="utf-8")
    os.replace(tmp, folder / BUILD_MARKER)


def recover(live: Path) -> None:
    """Finish a swap cut between its two renames; drop a leftover previous index."""
    nxt, old = next_folder(live), old_folder(live)
    if not live.exists() and nxt.exists() and (read_build(nxt) or {}).get("complete"):
        log.warning("finishing an index swap that was interrupted: %s becomes %s", nxt, live)
        os.replace(nxt, live)
    if old.exists() and live.exists():
        shutil.rmtree(old, ignore_errors=True)


def swap(live: Path) -> None:
    """Put the completed rebuild in place of the live index."""
    nxt, old = next_folder(live), old_folder(live)
    if old.exists():
        shutil.rmtree(old)
    if live.exists():
        os.replace(live, old)
    os.replace(nxt, live)  # a crash before this line: recover() finishes it
    (live / BUILD_MARKER).unlink(missing_ok=True)
    shutil.rmtree(old, ignore_errors=True)


def fill(target: SearchIndex, groups: Iterable[DatasetGroup], folder: Path, *, after: str, total: int,
         batch: int) -> int:
    """Write the groups after ``after`` into the index being rebuilt, committing (and noting how far it got,
    for a rebuild cut short to continue) every :data:`REBUILD_COMMIT_GROUPS` groups or
    :data:`REBUILD_COMMIT_S` seconds: each commit writes segments that must later be merged."""
    chunk: list[DatasetGroup] = []
    staged = 0
    last_commit = time.monotonic()
    for group in groups:
        if after and group.key <= after:
            continue  # committed by the rebuild that was cut short
        chunk.append(group)
        if len(chunk) < batch:
            continue
        total += target.upsert_groups(chunk, refresh=False).indexed
        staged += len(chunk)
        if staged >= REBUILD_COMMIT_GROUPS or time.monotonic() - last_commit >= REBUILD_COMMIT_S:
            target.flush()
            write_build(folder, after=chunk[-1].key, count=total, complete=False)
            staged, last_commit = 0, time.monotonic()
        chunk = []
    if chunk:
        total += target.upsert_groups(chunk, refresh=False).indexed
    target.flush()
    return total
