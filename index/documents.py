"""From a :class:`Record` to the flat document every backend indexes, and highlighting.

The document keeps what a search hit shows (``display``) and the keyword
values facets and filters use; full text is analysed by :mod:`.analysis`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fedcat.harvester.model import GATED_SECURITY, Record, pick_lang

from .analysis import fold, is_cjk, simplified, term_groups
from .base import SearchQuery


@dataclass
class IndexDoc:
    id: str
    keywords: dict[str, list[str]]
    #: The years the ``year`` facet and filter find the document under: its record's, or for a group's
    #: document those of every member it holds (never a hidden member's, see :mod:`.groups`).
    years: list[int]
    published_key: int
    title_text: str
    #: Subjects and keywords.
    subjects_text: str
    #: Descriptions (without the names of the record's center and publisher), creators, identifiers.
    body_text: str
    #: The names of the record's center and publisher: they say who holds a dataset, not what it is about.
    center_text: str
    #: The record's Chinese and English titles (``None`` when it has none in that language).
    title_zh: str | None
    title_en: str | None
    display: dict[str, Any]


def indexable(record: Record) -> bool:
    """Deleted records and gated levels (core, secret) never enter an index."""
    return not record.deleted and record.access.security not in GATED_SECURITY


def _without(text: str, names: list[str]) -> str:
    """``text`` with the names removed (a center's name in every description of its records would
    make them all match its words: 国家冰川冻土沙漠科学数据中心 is no glacier inventory)."""
    for name in names:
        if len(name) >= 4:
            text = text.replace(name, " ")
    return text


def _date_key(value: str | None) -> int:
    """``2021-05-03...`` → 20210503 (0 when absent), for sorting by date."""
    if not value:
        return 0
    digits = re.sub(r"\D", "", value)[:8]
    return int(digits.ljust(8, "0")) if digits else 0


def to_index_doc(record: Record) -> IndexDoc:
    titles = [t.value for t in record.titles]
    descriptions = [d.value for d in record.descriptions]
    ident = record.identifiers
    keywords = {
        "source": [record.source_id],
        "openness": [record.access.openness.value],
        "geo_scope": [record.access.geo_scope.value],
        "security": [record.access.security.value],
        "licence": [record.licence.normalised or "unspecified"],
        "subject": sorted({s.strip() for s in record.subjects if s.strip()}),
    }
    names = [n for n in (record.center_zh, record.center_en, record.publisher) if n and n.strip()]
    body = " ".join([*(_without(d, names) for d in descriptions), *record.creators, ident.doi or "",
                     ident.cstr or ""])
    display = {
        "id": record.id,
        "title": record.title,
        "title_en": record.title_en,
        "description": pick_lang(record.descriptions, "zh"),
        "description_en": pick_lang(record.descriptions, "en", fallback=False),
        "source_id": record.source_id,
        "center": record.center_zh,
        "center_en": record.center_en,
        "openness": record.access.openness.value,
        "geo_scope": record.access.geo_scope.value,
        "security": record.access.security.value,
        "embargo_until": record.access.embargo_until,
        "licence": record.licence.normalised,
        "year": record.year,
        "published": record.published,
        "doi": ident.doi,
        "cstr": ident.cstr,
        "landing_page": record.landing_page,
        "subjects": record.subjects[:20],
        "creators": record.creators[:10],
    }
    return IndexDoc(
        id=record.id,
        keywords=keywords,
        years=[record.year] if record.year is not None else [],
        published_key=_date_key(record.published),
        title_text=" ".join(titles),
        subjects_text=" ".join(record.subjects),
        body_text=body,
        center_text=" ".join(dict.fromkeys(names)),
        title_zh=pick_lang(record.titles, "zh", fallback=False),
        title_en=record.title_en,
        display=display,
    )


_FRAGMENT = 160


def highlight(text: str | None, query: str, *, fragment: int | None = None) -> str | None:
    """HTML-escaped ``text`` with query matches in ``<mark>``; ``None`` when nothing matches.

    With ``fragment`` the result is cut to about that many characters around the
    first match.
    """
    if not text or not query.strip():
        return None
    matcher = _matcher(query)
    if matcher is None:
        return None
    folded = _fold_aligned(text)
    spans = sorted((m.start(), m.end()) for m in matcher.finditer(folded))
    if not spans:
        return None
    start, end = 0, len(text)
    if fragment and len(text) > fragment:
        first = spans[0][0]
        start = max(0, first - fragment // 3)
        end = min(len(text), start + fragment)
    out: list[str] = ["…" if start > 0 else ""]
    pos = start
    for s, e in spans:
        if s < pos or e > end:
            continue
        out.append(html.escape(text[pos:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)


@lru_cache(maxsize=1024)
def _matcher(query: str) -> re.Pattern[str] | None:
    """The pattern of ``query``'s words in folded text; built once per query, not per field and hit."""
    patterns: list[str] = []
    for group in term_groups(query):
        if is_cjk(group.surface):
            patterns.append(re.escape(simplified(group.surface)))
        else:
            patterns.append(r"(?<![^\W_])" + re.escape(group.tokens[0]) + r"(?![^\W_])")
    return re.compile("|".join(patterns), flags=re.IGNORECASE) if patterns else None


def matched_translations(display: dict[str, Any], search: SearchQuery) -> list[str]:
    """``glacier → 冰川`` for each translation in the hit's shown text whose query term is not there."""
    if not search.translations:
        return []
    shown = _fold_aligned(" ".join(str(display.get(k) or "") for k in _SHOWN) + " " +
                          " ".join(display.get("subjects") or []))
    found: list[str] = []
    for term, target in search.translations:
        if _fold_aligned(target) in shown and _fold_aligned(term) not in shown:
            found.append(f"{term} → {target}")
    return found


#: The display fields a hit shows its text in.
_SHOWN = ("title", "title_en", "description", "description_en")


def _fold_aligned(text: str) -> str:
    """Fold character by character (case, accents, script) so offsets stay aligned with ``text``."""
    if text.isascii():  # the common English text: lower case is its whole fold
        return text.lower()
    return text.translate(_ALIGNED_FOLD)


class _AlignedFold(dict[int, str]):
    """A :meth:`str.translate` table: each character's fold as one character (case, accents, then script),
    worked out the first time the character is seen, so a text is folded in one pass of C."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = simplified((fold(ch) or ch)[:1] if ch.isalpha() else ch)
        if len(self) < _ALIGNED_FOLD_SIZE:
            self[code] = folded
        return folded


_ALIGNED_FOLD_SIZE = 65536
_ALIGNED_FOLD = _AlignedFold()


def display_highlights(display: dict[str, Any], search: SearchQuery) -> dict[str, list[str]]:
    """Highlighted titles and description fragments of a hit's display fields (every backend's hits):
    the query's words and their translations."""
    out: dict[str, list[str]] = {}
    query = " ".join([search.text, *(target for _, target in search.translations)])
    if not query.strip():
        return out
    for key, frag in (("title", None), ("title_en", None), ("description", 200), ("description_en", 200)):
        if key.endswith("_en") and display.get(key) == display.get(key[:-3]):
            continue  # the display field already fell back to the English text
        marked = highlight(display.get(key), query, fragment=frag)
        if marked:
            out[key] = [marked]
    return out
