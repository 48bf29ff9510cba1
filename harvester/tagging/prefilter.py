"""A cheap test that lets a content rule skip its regular expression on text it cannot match.

Content rules are long alternations (``基因组|外显子|转录组|…``) that Python's ``re`` tries at every
position of a record's text, the most expensive step of tagging. Every match of such a pattern
starts with one of a few literal strings (after zero-width assertions such as ``\\b`` and
lookbehinds): :func:`needles` reads them off the parsed pattern, and a record whose text holds none
of them is not searched. The test only ever skips text the pattern cannot match; a pattern whose
matches cannot be reduced to literal beginnings gets no needles and is always searched.
"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Any

# Python's own parser of regular expressions and its opcodes (private modules of ``re``, 3.11+).
# Should they change, :func:`needles` gives up and every pattern is simply always searched.
try:
    sre_parse: Any = importlib.import_module("re._parser")
    sre: Any = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - another Python
    sre_parse = sre = None

#: Literal beginnings longer than this are cut (longer needles filter no better here).
_MAX_LEN = 6
#: Above this many beginnings a pattern is always searched (the test would cost what it saves).
_MAX_NEEDLES = 200
_ZERO_WIDTH = {sre.AT, sre.ASSERT, sre.ASSERT_NOT} if sre is not None else set()


@functools.lru_cache(maxsize=1024)
def needles(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lower-case strings one of which every match of ``pattern`` starts with; None when unknown."""
    if sre_parse is None:  # pragma: no cover - another Python
        return None
    try:
        found = _alternatives(list(sre_parse.parse(pattern.pattern, pattern.flags)))
    except (re.error, AttributeError, TypeError, ValueError):  # pragma: no cover - a parser we do not know
        return None
    if found is None or not found or len(found) > _MAX_NEEDLES or any(not s for s in found):
        return None
    return tuple(sorted({s.lower() for s in found}))


@functools.lru_cache(maxsize=1024)
def _finder(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """The needles of ``pattern`` as one alternation of literals: one scan of the text in C instead of a
    Python-level ``in`` per needle."""
    found = needles(pattern)
    if found is None:
        return None
    return re.compile("|".join(re.escape(n) for n in sorted(found, key=len, reverse=True)))


def may_match(pattern: re.Pattern[str], lowered: str) -> bool:
    """False only when ``pattern`` cannot match text whose lower-case form is ``lowered``."""
    finder = _finder(pattern)
    return finder is None or finder.search(lowered) is not None


def _alternatives(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The beginnings of a sequence that may be one top-level branch."""
    if len(items) == 1 and items[0][0] is sre.BRANCH:
        out: set[str] = set()
        for branch in items[0][1][1]:
            sub = _sequence(list(branch))
            if sub is None:
                return None
            out |= sub[0]
        return out
    seq = _sequence(items)
    return None if seq is None else seq[0]


def _sequence(items: list[tuple[Any, Any]]) -> tuple[set[str], bool] | None:
    """(beginnings, whether each is the whole match) of a sequence of parsed items."""
    outs = {""}
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        chars = _chars(op, av)
        if chars is not None:
            outs = {o + c for o in outs for c in chars}
        elif op is sre.BRANCH or (op is sre.SUBPATTERN and av[2] == 0):
            inner = _group([(op, av)] if op is sre.BRANCH else list(av[3]))
            if inner is None:
                return (outs, False) if all(outs) else None
            strings, complete = inner
            outs = {o + s for o in outs for s in strings}
            if not complete:
                return _cut(outs), False
        else:
            return (_cut(outs), False) if all(outs) else None
        if len(outs) > _MAX_NEEDLES:
            return None
        if all(len(o) >= _MAX_LEN for o in outs):
            return _cut(outs), False
    return _cut(outs), True


def _group(items: list[tuple[Any, Any]]) -> tuple[set[str], bool] | None:
    if len(items) == 1 and items[0][0] is sre.BRANCH:
        strings: set[str] = set()
        complete = True
        for branch in items[0][1][1]:
            sub = _sequence(list(branch))
            if sub is None or not all(sub[0]):
                return None
            strings |= sub[0]
            complete = complete and sub[1]
        return strings, complete
    return _sequence(items)


def _chars(op: Any, av: Any) -> set[str] | None:
    """The characters one item matches, when it is one literal character or a small literal class."""
    if op is sre.LITERAL:
        return {chr(av)}
    if op is sre.IN and len(av) <= 32 and all(o is sre.LITERAL for o, _ in av):
        return {chr(v) for _, v in av}
    return None


def _cut(outs: set[str]) -> set[str]:
    return {o[:_MAX_LEN] for o in outs}
