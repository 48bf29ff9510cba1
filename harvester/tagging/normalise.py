"""Text as the tagging rules see it: one script, one width, no stray spacing.

Centers write the same label many ways: ``密级：重要``, ``密級：重要`` (Traditional script, from Hong
Kong, Macao and Taiwan), ``密 级 : 重 要``, ``【密级】重要``, full-width ``ＣＣ－ＢＹ``. Every rule
reads text after :func:`fold`:

1. Unicode NFKC (full-width letters, digits and punctuation become their ASCII forms);
2. Traditional → Simplified script with OpenCC's ``t2s`` conversion (the OpenCC project's own
   dictionaries, not a table of our own);
3. whitespace next to a CJK character dropped, other runs of whitespace made one space, and the
   decorative brackets 【】〔〕「」『』 dropped.

Rules are written against folded text. Evidence keeps the source's own characters:
:func:`original_span` maps a match in folded text back to the original where the folding kept
the text's length, which it does for nearly all text (else the folded words are shown).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import opencc

_T2S = opencc.OpenCC("t2s")
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_NEAR_CJK = re.compile(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+")
_SPACES = re.compile(r"\s+")
_BRACKETS = re.compile(r"[【】〔〕「」『』]")


@functools.lru_cache(maxsize=8192)  # statements and subjects repeat across a source's records
def fold(text: str) -> str:
    """``text`` as rules read it (see the module docstring)."""
    out = unicodedata.normalize("NFKC", text)
    if not out.isascii():
        out = _T2S.convert(out)
        out = _BRACKETS.sub("", out)
        out = _SPACE_NEAR_CJK.sub("", out)
    return _SPACES.sub(" ", out).strip()


def original_span(original: str, start: int, end: int) -> str:
    """The characters of ``original`` behind ``fold(original)[start:end]``.

    Folding is replayed one character at a time to keep a map of positions; where a
    character's folding changes the length (rare: ligatures, phrase conversions), the
    folded words are returned instead.
    """
    folded = fold(original)
    positions: list[int] = []
    pieces: list[str] = []
    for i, ch in enumerate(original):
        if ch.isspace() or _BRACKETS.fullmatch(ch):
            continue
        piece = _fold_char(ch)
        pieces.append(piece)
        positions.extend([i] * len(piece))
    if "".join(pieces) != folded.replace(" ", ""):
        return folded[start:end]
    # positions index the folded text without its spaces
    a = start - folded[:start].count(" ")
    b = end - folded[:end].count(" ")
    if b <= a or b > len(positions):
        return folded[start:end]
    return original[positions[a]:positions[b - 1] + 1]


def _fold_char(ch: str) -> str:
    piece = unicodedata.normalize("NFKC", ch)
    return piece if piece.isascii() else _T2S.convert(piece)
