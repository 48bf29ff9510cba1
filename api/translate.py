"""The searches of the API, the pages, the exports and the CLI look for the translations of their words
too: the term table ``fedcat reindex`` writes into the record store (:mod:`fedcat.index.terms`), read
again whenever its version there moves, so every process serving the catalog uses the same table."""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import replace
from pathlib import Path

from fedcat.harvester.errors import StoreError
from fedcat.harvester.store import RecordStore
from fedcat.index import terms
from fedcat.index.base import SearchQuery

log = logging.getLogger(__name__)

_lock = threading.Lock()
#: Per open store: the version parsed and the table.
_cache: weakref.WeakKeyDictionary[RecordStore, tuple[int, terms.TermTable]] = weakref.WeakKeyDictionary()


def table_of(store: RecordStore) -> terms.TermTable:
    """The store's term table (empty before the first ``fedcat reindex``, or when the store cannot say)."""
    try:
        version = store.terms.version()
        with _lock:
            cached = _cache.get(store)
        if cached is not None and cached[0] == version:
            return cached[1]
        loaded = store.terms.load()
    except StoreError as exc:
        log.warning("cannot read the term table (%s): searching without translations", exc)
        return {}
    table = terms.loads(loaded[1]) if loaded else {}
    with _lock:
        _cache[store] = (loaded[0] if loaded else 0, table)
    return table


def translated(query: SearchQuery, store: RecordStore) -> SearchQuery:
    """``query`` with the translations of its words from the store's table (none: unchanged)."""
    pairs = terms.translations(query.text, table_of(store))
    return replace(query, translations=pairs) if pairs else query


def adopt_file(store: RecordStore, data_path: Path) -> bool:
    """Move a table an earlier release wrote beside the store (``terms.json``) into the store, once."""
    path = data_path / terms.FILE_NAME
    if not path.exists() or store.terms.version():
        return False
    table = terms.load_file(path)
    if table is None:
        return False
    store.terms.save(terms.dumps(table))
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # read-only here: the store's copy is the one searches read all the same
        log.warning("the term table %s is in the record store now; cannot remove the file: %s", path, exc)
    log.info("the term table %s moved into the record store", path)
    return True
