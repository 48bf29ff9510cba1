"""The bilingual term table: which Chinese term an English one means, and the reverse, as the catalog
itself says.

Centers describe many datasets with keywords in both languages, each Chinese keyword next to its English
one (``冰川, glacier, 遥感, remote sensing``). :func:`mine` reads those aligned neighbours from every
record's subjects and keeps a pair when it is seen in at least :data:`MIN_RECORDS` records and accounts
for at least :data:`MIN_SHARE` of each term's neighbours, so chance neighbours drop out. ``fedcat
reindex`` (and the demo) write the table into the record store (:func:`dumps`; every process serving
the catalog reads it from there, :func:`loads`); a search adds the translations of its words
(:func:`translations`), which rank below direct matches (:mod:`.query_plan`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from fedcat.harvester.model import Record

from .analysis import is_cjk, term_key

log = logging.getLogger(__name__)

#: Where earlier releases kept the table (in the data folder); the store holds it now.
FILE_NAME = "terms.json"
MIN_RECORDS = 2
MIN_SHARE = 0.5
#: The longest English term looked up, in words ("glacier mass balance").
MAX_WORDS = 3

TermTable = Mapping[str, tuple[str, ...]]


def _pairs(subjects: list[str]) -> set[tuple[str, str]]:
    """(Chinese, English) neighbours in one record's subjects."""
    out: set[tuple[str, str]] = set()
    for a, b in zip(subjects, subjects[1:]):
        if is_cjk(a) and not is_cjk(b) and b.strip():
            out.add((term_key(a), term_key(b)))
        elif is_cjk(b) and not is_cjk(a) and a.strip():
            out.add((term_key(b), term_key(a)))
    return out


def mine(records: Iterable[Record]) -> dict[str, tuple[str, ...]]:
    """Both directions: each term → the terms of the other language it is paired with."""
    together: Counter[tuple[str, str]] = Counter()
    for record in records:
        together.update(_pairs(record.subjects))
    zh_total: Counter[str] = Counter()
    en_total: Counter[str] = Counter()
    for (zh, en), n in together.items():
        zh_total[zh] += n
        en_total[en] += n
    table: dict[str, list[str]] = {}
    for (zh, en), n in sorted(together.items()):
        if n >= MIN_RECORDS and n >= MIN_SHARE * zh_total[zh] and n >= MIN_SHARE * en_total[en] and zh != en:
            table.setdefault(zh, []).append(en)
            table.setdefault(en, []).append(zh)
    return {term: tuple(targets) for term, targets in sorted(table.items())}


def dumps(table: TermTable) -> str:
    """The table as the store keeps it (JSON)."""
    return json.dumps(table, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> dict[str, tuple[str, ...]]:
    """The table :func:`dumps` wrote, or an empty one when it cannot be read (said in the log)."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        log.warning("the stored term table cannot be read (%s): searching without translations", exc)
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): tuple(str(t) for t in v) for k, v in raw.items() if isinstance(v, list)}


def load_file(path: Path) -> dict[str, tuple[str, ...]] | None:
    """A table written beside a SQLite store by earlier releases (``terms.json``), or None without one."""
    try:
        return loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError):
        return None


def translations(text: str, table: TermTable) -> tuple[tuple[str, str], ...]:
    """(query term, translation) for every term of ``text`` the table knows; the longest English terms
    first (``mass balance`` before ``mass``), each Chinese word whole."""
    if not table:
        return ()
    found: list[tuple[str, str]] = []
    words = text.replace('"', " ").split()
    used = [False] * len(words)
    for size in range(MAX_WORDS, 0, -1):
        for start in range(len(words) - size + 1):
            span = words[start:start + size]
            if any(used[start:start + size]) or any(w.startswith("-") for w in span):
                continue
            key = term_key(" ".join(span))
            if key in table:
                found += [(" ".join(span), target) for target in table[key]]
                used[start:start + size] = [True] * size
    return tuple(found)
