"""The bilingual term table: which Chinese term an English one means, and the reverse, as the catalog
itself says.

Centers describe many datasets with keywords in both languages, each Chinese keyword next to its English
one (``冰川, glacier, 遥感, remote sensing``). :func:`mine` reads those aligned neighbours from every
record's subjects and keeps a pair when it is seen in at least :data:`MIN_RECORDS` records and accounts
for at least :data:`MIN_SHARE` of each term's neighbours, so chance neighbours drop out. The Chinese
keywords no record pairs are completed from CC-CEDICT (:mod:`.dictionary`), the maintained
Chinese–English dictionary: the catalog's own pairs come first and are never replaced. ``fedcat
reindex`` (and the demo) write the table into the record store (:func:`dumps`; every process serving
the catalog reads it from there, :func:`loads`); a search adds the translations of its words
(:func:`translations`), which rank below direct matches (:mod:`.query_plan`).
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
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
#: Definitions of a dictionary entry looked at (the first are the common senses).
MAX_DEFINITIONS = 3
#: Longest Chinese headword looked for in the catalog's text (characters).
MAX_HEADWORD = 4
#: Chinese words the dictionary may give one English term.
MAX_DICTIONARY_WORDS = 2
_PARENTHESES = re.compile(r"\([^)]*\)")
#: Definitions that are notes, not translations: classifiers, variants, references, surnames.
_NOT_A_TERM = re.compile(r"\[|\||^\s*(CL:|see |variant of|old variant|surname|abbr\.|also written|used in)", re.I)
_LEADING = re.compile(r"^(to |a |an |the )")
_ENGLISH = re.compile(r"^[a-z][a-z' -]*[a-z]$")


def _pairs(subjects: list[str]) -> set[tuple[str, str]]:
    """(Chinese, English) neighbours in one record's subjects."""
    out: set[tuple[str, str]] = set()
    for a, b in zip(subjects, subjects[1:]):
        if is_cjk(a) and not is_cjk(b) and b.strip():
            out.add((term_key(a), term_key(b)))
        elif is_cjk(b) and not is_cjk(a) and a.strip():
            out.add((term_key(b), term_key(a)))
    return out


def mine(records: Iterable[Record],
         dictionary: Iterable[tuple[str, Sequence[str]]] = ()) -> dict[str, tuple[str, ...]]:
    """Both directions: each term → the terms of the other language it is paired with. ``dictionary``
    (a Chinese word and its English definitions: :func:`.dictionary.cedict`) completes the table: the
    English of the catalog's Chinese keywords no record pairs, and for an English term the catalog does
    not pair, the Chinese words the dictionary gives for it that the catalog's titles and keywords use."""
    miner = Miner(dictionary)
    for record in records:
        miner.add(record)
    return miner.table()


class Miner:
    """:func:`mine` a record at a time, so the walk of the store that rebuilds the index can feed it."""

    def __init__(self, dictionary: Iterable[tuple[str, Sequence[str]]] = ()) -> None:
        self._senses = _Senses(dictionary)
        self._together: Counter[tuple[str, str]] = Counter()
        self._chinese: set[str] = set()

    def add(self, record: Record) -> None:
        self._together.update(_pairs(record.subjects))
        self._chinese.update(term_key(s) for s in record.subjects if is_cjk(s))
        self._senses.count(record)

    def table(self) -> dict[str, tuple[str, ...]]:
        together = self._together
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
        self._senses.complete(table, self._chinese)
        return {term: tuple(targets) for term, targets in sorted(table.items())}


class _Senses:
    """The dictionary's senses that read as terms (:func:`definition_term`), both ways, and how many
    records use each Chinese headword in their titles or keywords."""

    def __init__(self, dictionary: Iterable[tuple[str, Sequence[str]]]) -> None:
        self.english: dict[str, list[str]] = {}  # headword → its English terms, common senses first
        self.chinese: dict[str, list[tuple[int, str]]] = {}  # English term → (sense rank, headword)
        for word, definitions in dictionary:
            if not 2 <= len(word) <= MAX_HEADWORD:  # folding keeps the length: skip before folding
                continue
            zh = term_key(word)
            if not is_cjk(zh) or " " in zh:
                continue
            for rank, en in enumerate(d for d in map(definition_term, definitions[:MAX_DEFINITIONS]) if d):
                if en not in self.english.setdefault(zh, []):
                    self.english[zh].append(en)
                    self.chinese.setdefault(en, []).append((rank, zh))
        self.used: Counter[str] = Counter()

    def count(self, record: Record) -> None:
        if not self.english:
            return
        text = term_key(" ".join([*(t.value for t in record.titles), *record.subjects]))
        # a headword holds Chinese (only such are kept) and no space: look only in words with Chinese in them
        found = {word[i:i + n] for word in text.split(" ") if is_cjk(word)
                 for n in range(2, min(MAX_HEADWORD, len(word)) + 1) for i in range(len(word) - n + 1)}
        self.used.update(found & self.english.keys())

    def complete(self, table: dict[str, list[str]], chinese: set[str]) -> None:
        """What the catalog pairs stays first and is never replaced."""
        mined = set(table)
        for zh in sorted(chinese - mined):  # the catalog's keywords no record translates
            for en in self.english.get(zh, []):
                _add(table, zh, en)
                if en not in mined:
                    _add(table, en, zh)
        for zh in sorted(self.used.keys() - chinese - mined):  # words of its titles: only zh → en
            for en in self.english[zh]:
                _add(table, zh, en)
        for en, candidates in sorted(self.chinese.items()):  # English terms: the catalog's own words for them
            if en in mined:
                continue
            used = sorted((rank, -self.used[zh], zh) for rank, zh in candidates if self.used[zh])
            for _, _, zh in used[:MAX_DICTIONARY_WORDS]:
                _add(table, en, zh)


def _add(table: dict[str, list[str]], term: str, target: str) -> None:
    if target not in table.setdefault(term, []):
        table[term].append(target)


def definition_term(definition: str) -> str | None:
    """A dictionary definition as a search term (``glacier``, ``remote sensing``), or None when it is not
    one: a classifier, a cross-reference, a sentence, more than :data:`MAX_WORDS` words."""
    text = _PARENTHESES.sub(" ", definition)
    if _NOT_A_TERM.search(text):
        return None
    text = _LEADING.sub("", text.strip().lower()).strip(" .,;")
    words = text.split()
    if not words or len(words) > MAX_WORDS or not _ENGLISH.match(text):
        return None
    return " ".join(words)  # lower-case ASCII letters: already as term_key writes it


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
