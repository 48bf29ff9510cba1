"""Text analysis details every backend and the tagger rely on."""

from __future__ import annotations

import sys
import unicodedata

from fedcat.index.analysis import fold


def per_character_fold(text: str) -> str:
    """What fold means: lower case, compatibility decomposition, combining marks dropped."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def test_fold_is_the_per_character_definition_over_every_code_point() -> None:
    points = [chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]
    for start in range(0, len(points), 2048):
        chunk = "É" + "".join(points[start:start + 2048])
        assert fold(chunk) == per_character_fold(chunk), hex(start)


def test_fold_examples() -> None:
    assert fold("Émigré") == "emigre"
    assert fold("Précis 青藏高原") == "precis 青藏高原"
    assert fold("ＡＢＣ") == "abc"  # full-width forms
