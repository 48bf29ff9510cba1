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


def test_highlighting_folds_traditional_script_accents_and_case_in_place() -> None:
    """The highlighter folds a text in one pass of a per-character table; each character folds as it would
    alone (case, accents, script), so offsets stay those of the text shown."""
    from fedcat.index.documents import _fold_aligned, highlight

    text = "Étude 臺灣冰川 GLACIER Über 遙感資料 ǅ ﬁ 〇"
    folded = _fold_aligned(text)
    assert len(folded) == len(text)
    assert folded == "etude 台湾冰川 glacier uber 遥感资料 d f 〇"  # a compatibility form keeps its first letter
    assert highlight(text, "台湾 uber") == "Étude <mark>臺灣</mark>冰川 GLACIER <mark>Über</mark> 遙感資料 ǅ ﬁ 〇"
    assert highlight("遙感 & <b>", "遥感") == "<mark>遙感</mark> &amp; &lt;b&gt;"
