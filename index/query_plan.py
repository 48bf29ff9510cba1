"""What a search box query asks for, the same for every backend.

- Plain words rank instead of filter: a record matching any of them is found, and records matching
  more of them come first (every word a record matches adds :data:`COORDINATION` to its score, far
  more than any text score, so all-word matches lead, then most-word matches, each ordered by
  relevance).
- ``"a quoted phrase"`` must match, its words next to each other and in order.
- ``-word`` (or ``-"a phrase"``) must not match.
- A plain Chinese word of three or more characters is also looked for in part: a record holding some of
  its bigrams but not the whole word (沙尘 or 尘暴 for 沙尘暴, 温度 for 海表温度) is found too, scored at
  :data:`PARTIAL_WEIGHT` and without coordination, so after every record holding the whole word.
- The translations of the plain words (the term table, :mod:`.terms`) are looked for too: ``glacier``
  also finds records that say only 冰川. A record holding a word's translation counts as matching the
  word (coordination), and the translation's text score counts :data:`TRANSLATED_WEIGHT` of the word's:
  where both sit in the same fields the record holding the word ranks first, but a record that says 冰川
  in its title ranks above one that says glacier only in a keyword list or its center's name. A
  translation of several words (``remote sensing`` → 遥感) counts for each of them.

Each word or phrase matches in the title (weight :data:`TITLE_WEIGHT`), subjects and keywords
(:data:`SUBJECT_WEIGHT`), the rest of the text (1) and the names of the center and publisher
(:data:`CENTER_WEIGHT`), as analysed by :mod:`.analysis` (a CJK run as a phrase of its bigrams).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .analysis import TermGroup, term_groups

#: Added to a record's score for every plain query word it matches (see the module docstring).
COORDINATION = 100.0
#: A translation of a query word (:mod:`.terms`) counts this much of the word itself in text score (in
#: coordination it counts as the word): a record holding the word ranks above one holding only its
#: translation in the same fields.
TRANSLATED_WEIGHT = 0.5
#: A part of a long Chinese word (some of its bigrams, not the whole word) counts this much of its text
#: score, and no coordination.
PARTIAL_WEIGHT = 0.2
TITLE_WEIGHT = 3.0
SUBJECT_WEIGHT = 2.0
CENTER_WEIGHT = 0.3
#: The text fields a word is looked for in, with their weights.
FIELD_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("title", TITLE_WEIGHT), ("subjects", SUBJECT_WEIGHT), ("body", 1.0), ("center", CENTER_WEIGHT))

# a quoted phrase (closed or running to the end), or a run of anything but spaces; either may start with -
_PART_RE = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')


@dataclass(frozen=True)
class QueryPlan:
    optional: tuple[TermGroup, ...] = ()
    required: tuple[TermGroup, ...] = ()
    excluded: tuple[TermGroup, ...] = ()
    #: Translations of the plain words, optional like them, text scored TRANSLATED_WEIGHT.
    translated: tuple[TermGroup, ...] = ()
    #: For each translation, the positions in ``optional`` of the words it translates (empty: a word of
    #: a quoted phrase, counted TRANSLATED_WEIGHT of a word in coordination).
    covers: tuple[tuple[int, ...], ...] = ()

    def alternatives(self, position: int) -> tuple[TermGroup, ...]:
        """The translations that stand for the plain word at ``position`` in coordination."""
        return tuple(g for g, cover in zip(self.translated, self.covers) if position in cover)

    @property
    def uncovered(self) -> tuple[TermGroup, ...]:
        """Translations that stand for no plain word."""
        return tuple(g for g, cover in zip(self.translated, self.covers) if not cover)

    @property
    def partial(self) -> tuple[TermGroup, ...]:
        """The plain words that may also match in part: Chinese words of several bigrams."""
        return tuple(g for g in self.optional if len(g.tokens) > 1)

    @property
    def ranked(self) -> bool:
        """Whether there is text to rank by (else hits come newest first)."""
        return bool(self.optional or self.required)


def _phrase(text: str) -> TermGroup | None:
    """The words of ``text`` as one group, to match as one phrase."""
    groups = term_groups(text)
    if not groups:
        return None
    return TermGroup(tuple(t for g in groups for t in g.tokens), text.strip())


#: Quotation marks and minus signs read as ``"`` and ``-`` (Chinese and full-width forms).
_MARKS = str.maketrans({"\u201c": '"', "\u201d": '"', "\uff02": '"', "\uff0d": "-", "\u2212": "-"})


def plan_query(text: str, translations: tuple[tuple[str, str], ...] = ()) -> QueryPlan:
    text = text.translate(_MARKS)
    optional: list[TermGroup] = []
    required: list[TermGroup] = []
    excluded: list[TermGroup] = []
    for m in _PART_RE.finditer(text):
        quoted_minus, quoted, minus, word = m.groups()
        if quoted is not None:
            phrase = _phrase(quoted)
            if phrase is not None:
                (excluded if quoted_minus else required).append(phrase)
        elif minus and word:
            excluded += term_groups(word)
        else:
            optional += term_groups((minus or "") + word)
    translated: dict[tuple[str, ...], TermGroup] = {}
    covers: dict[tuple[str, ...], set[int]] = {}
    for term, target in translations:
        group = _phrase(target)
        if group is None or any(group.tokens == g.tokens for g in optional):
            continue
        translated.setdefault(group.tokens, group)
        words = {g.tokens for g in term_groups(term)}
        covers.setdefault(group.tokens, set()).update(i for i, g in enumerate(optional) if g.tokens in words)
    return QueryPlan(tuple(optional), tuple(required), tuple(excluded), tuple(translated.values()),
                     tuple(tuple(sorted(covers[k])) for k in translated))
