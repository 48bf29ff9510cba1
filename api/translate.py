"""The searches of the API, the pages, the exports and the CLI look for the translations of their words
too: the term table ``fedcat reindex`` writes beside the record store (:mod:`fedcat.index.terms`),
read again whenever that file changes."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from fedcat.index import terms
from fedcat.index.base import SearchQuery

_lock = threading.Lock()
_cache: dict[Path, tuple[float, terms.TermTable]] = {}


def table_in(folder: Path) -> terms.TermTable:
    path = folder / terms.FILE_NAME
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return {}
    with _lock:
        cached = _cache.get(folder)
        if cached is None or cached[0] != stamp:
            cached = (stamp, terms.load(folder))
            _cache[folder] = cached
        return cached[1]


def translated(query: SearchQuery, folder: Path) -> SearchQuery:
    """``query`` with the translations of its words from the table in ``folder`` (none: unchanged)."""
    pairs = terms.translations(query.text, table_in(folder))
    return replace(query, translations=pairs) if pairs else query
