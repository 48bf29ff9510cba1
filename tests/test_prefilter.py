"""The content rules' prefilter never skips text its pattern matches (it may only save work)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedcat.harvester.tagging.prefilter import may_match, needles
from fedcat.harvester.tagging.rules import load_rules_file

PATTERNS = sorted({p.pattern: p for r in load_rules_file() if r.content is not None
                   for p in (r.content, *r.context, r.unless) if p is not None}.items())


@pytest.mark.parametrize(("source", "pattern"), PATTERNS, ids=[s[:24] for s, _ in PATTERNS])
def test_every_text_a_shipped_pattern_matches_passes_its_prefilter(source: str, pattern: re.Pattern[str]) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(pattern), st.text(max_size=8), st.text(max_size=8))
    def check(text: str, before: str, after: str) -> None:
        text = before + text + after
        if pattern.search(text):
            assert may_match(pattern, text.lower()), text

    check()


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"基因组|外显子|\bSNP\b", ("snp", "基因组", "外显子")),
    (r"(?<!不)(?:不|未)涉密", ("不涉密", "未涉密")),
    (r"(?:密级|数据级别)[:=]?重要", ("密级", "数据级别")),
    (r"[藏维]族人群", ("维族人群", "藏族人群")),
    (r"[^人]稻|小鼠", None),        # a negated class: no literal beginning, always searched
    (r"\w+genome", None),
])
def test_needles_are_the_literal_beginnings(pattern: str, expected: tuple[str, ...] | None) -> None:
    assert needles(re.compile(pattern, re.IGNORECASE)) == expected
