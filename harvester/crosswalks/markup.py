"""Text out of descriptions that may hold HTML: the markup goes, the words stay.

JSON centers (ScienceDB and others) send descriptions as HTML fragments, and as plain text that
merely contains ``<``: ``相对误差<5%``, ``a<b``, ``x <= y``. A regular expression that removes
``<…>`` eats everything from a bare ``<`` to the next ``>``; Python's HTML parser (the standard
library's ``html.parser``, which follows the HTML rules for what starts a tag) keeps such text, drops
tags and the content of ``script`` and ``style``, and decodes character references.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HIDDEN = frozenset({"script", "style"})
_SPACES = re.compile(r"[ \t]+")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self.hidden:
            self.hidden -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def strip_markup(value: str) -> str:
    """``value`` without its HTML tags (text such as ``<5%`` kept), spaces and tabs squeezed."""
    if "<" not in value and "&" not in value:
        return _SPACES.sub(" ", value).strip()
    parser = _Text()
    parser.feed(value)
    parser.close()
    return _SPACES.sub(" ", "".join(parser.parts)).strip()
