"""Text analysis shared by every backend: CJK bigrams plus folded Latin words.

Chinese has no spaces, so words cannot be found by splitting. fedcat indexes
overlapping character bigrams of every CJK run (冰川冻土 → 冰川 川冻 冻土), the
scheme of Lucene's CJKBigramFilter and Elasticsearch's ``cjk`` analyzer. A
query is analysed the same way and each CJK run must match as a phrase of its
bigrams, so 冰川 matches 青藏高原冰川 but not 冰 … 川 apart. A CJK run of one
character is kept as a unigram. Latin, Cyrillic, Greek and digits are split on
anything that is not a letter or digit, lower-cased and folded to ASCII
(Précis → precis). docs/architecture.md records why bigrams were chosen over
unigrams and dictionary segmentation (bench/cjk_analysis.py measures it).

Traditional and Simplified script are one: every CJK character is folded to its Simplified form
(OpenCC's ``t2s`` dictionaries, one character at a time so text keeps its length and a word folds
the same alone or inside a sentence) before bigrams are made, in indexed text and in queries alike,
so 氣象 finds exactly what 气象 finds. Highlights fold the displayed text the same way, character by
character, and mark the original characters.
"""

from __future__ import annotations

import functools
import operator
import re
import sys
import unicodedata
from dataclasses import dataclass

import opencc

# CJK Unified Ideographs (+ Ext A, compatibility), Hiragana, Katakana, Hangul.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_CJK_RE = re.compile(rf"[{_CJK}]")
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+")
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_CJK_RUN_RE = re.compile(rf"([{_CJK}]+)")
_WORDISH_RE = re.compile(rf"[^\W_]|[{_CJK}]", re.UNICODE)


#: Blocks of punctuation and symbols around CJK text: Latin-1, general punctuation, letterlike
#: and other symbols, CJK symbols and punctuation, vertical and small forms, full-width forms.
_SEPARATOR_BLOCKS = ((0x0080, 0x00BF), (0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE10, 0xFE6F), (0xFF00, 0xFF65))


@functools.cache  # built on first use: commands that analyse no CJK text do not pay for it
def _separator_forms() -> re.Pattern[str]:
    """Characters of those blocks that split tokens both before and after NFKC (，→ , and 、 alike).

    Replacing them by a space first leaves most CJK text already normalised and the text between
    CJK runs plain ASCII, which is split in one call.
    """
    chars = [chr(cp) for lo, hi in _SEPARATOR_BLOCKS for cp in range(lo, hi + 1)
             if not _WORDISH_RE.search(chr(cp)) and not _WORDISH_RE.search(unicodedata.normalize("NFKC", chr(cp)))]
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


#: The CJK Unified Ideographs (with extension A and the compatibility block) that fold to another character.
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


@functools.cache  # built on first use (one OpenCC call over every character): about 0.1 s
def _simplified_table() -> dict[int, str]:
    """Each Han character whose Simplified form is another single character → that character."""
    chars = [chr(cp) for lo, hi in _HAN_RANGES for cp in range(lo, hi + 1)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never expected: the conversion kept the separators
        converted = [opencc.OpenCC("t2s").convert(c) for c in chars]
    return {ord(c): t for c, t in zip(chars, converted) if t != c and len(t) == 1}


def simplified(text: str) -> str:
    """``text`` with every Traditional Han character in its Simplified form; same length."""
    return text.translate(_simplified_table())


@functools.lru_cache(maxsize=1 << 16)  # keywords recur across records: mining the term table asks again and again
def term_key(term: str) -> str:
    """A keyword or subject as terms are compared: one script, lower case, no accents, single spaces."""
    return " ".join(fold(simplified(term)).split())


@dataclass(frozen=True)
class TermGroup:
    """The tokens of one query word: a single Latin token, or the bigrams of one CJK run.

    A group with several tokens must match as a phrase.
    """

    tokens: tuple[str, ...]
    surface: str


@functools.cache  # one pass over every code point, about 0.06 s, on first use
def _combining_re() -> re.Pattern[str]:
    """The characters :func:`unicodedata.combining` gives a class other than 0, as one character class."""
    points = [cp for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp))]
    ranges: list[tuple[int, int]] = []
    for cp in points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return re.compile("[" + "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges) + "]")


def fold(word: str) -> str:
    """Lower-case and strip accents: ``Émigré`` → ``emigre``; non-Latin letters stay."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return _combining_re().sub("", decomposed)


def is_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def bigrams(run: str) -> list[str]:
    """Overlapping bigrams of a CJK run (a lone character stays a unigram)."""
    if len(run) == 1:
        return [run]
    return list(map(operator.add, run, run[1:]))


def term_groups(text: str) -> list[TermGroup]:
    """Analyse text into term groups, in order."""
    groups: list[TermGroup] = []
    normalised = unicodedata.normalize("NFKC", text)
    for m in _TOKEN_RE.finditer(normalised):
        word = m.group(0)
        if _CJK_RE.match(word):
            groups.append(TermGroup(tuple(bigrams(simplified(word))), word))
        else:
            folded = fold(word)
            if folded:
                groups.append(TermGroup((folded,), word))
    return groups


def analyse(text: str) -> list[str]:
    """The flat token stream indexed for ``text`` (the same tokens as :func:`term_groups`, faster)."""
    if text.isascii():
        return _ASCII_WORD_RE.findall(text.lower())
    out: list[str] = []
    text = _separator_forms().sub(" ", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    # split() alternates text between CJK runs (even positions) and the runs themselves (odd)
    for i, part in enumerate(_CJK_RUN_RE.split(text)):
        if i % 2:
            out += bigrams(simplified(part))
        elif part.isascii():
            out += _ASCII_WORD_RE.findall(part.lower())
        else:
            out += [w for w in map(fold, _WORD_RE.findall(part)) if w]
    return out


def analysed_text(*parts: str | None) -> str:
    """Tokens joined by spaces, for a field whose index tokenizer splits on whitespace."""
    tokens: list[str] = []
    for part in parts:
        if part:
            tokens += analyse(part)
    return " ".join(tokens)
