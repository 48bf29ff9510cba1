"""Property: over random records, queries, filters and audiences, the index never leaks.

Hits, totals and facet counts of a search equal exactly what a plain Python
oracle computes from the records the audience may see — so nothing invisible
is counted, and nothing visible is lost.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedcat.api.audience import Caller
from fedcat.harvester.config import Audience
from fedcat.harvester.model import Access, GeoScope, LangText, Openness, Record, Security
from fedcat.index.base import SearchQuery
from fedcat.index.embedded import EmbeddedIndex

WORDS = ("glacier", "genome", "ocean", "冰川", "基因", "海洋")
SOURCES = ("ncdc", "ngdc", "marine")
FACETS = ("source", "openness", "geo_scope", "security", "year")


@st.composite
def records(draw: st.DrawFn) -> list[Record]:
    n = draw(st.integers(min_value=0, max_value=25))
    out = []
    for i in range(n):
        words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
        source = draw(st.sampled_from(SOURCES))
        out.append(Record(
            id=f"{source}:{i}", source_id=source, local_id=str(i),
            titles=[LangText(" ".join(words))], year=draw(st.sampled_from((2019, 2020, 2021))),
            access=Access(openness=draw(st.sampled_from(list(Openness))),
                          geo_scope=draw(st.sampled_from(list(GeoScope))),
                          security=draw(st.sampled_from(list(Security)))),
        ))
    return out


@st.composite
def queries(draw: st.DrawFn) -> tuple[str, dict[str, list[str]]]:
    text = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=2, unique=True)))
    filters: dict[str, list[str]] = {}
    if draw(st.booleans()):
        filters["source"] = draw(st.lists(st.sampled_from(SOURCES), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        filters["security"] = draw(st.lists(st.sampled_from([s.value for s in Security]), min_size=1,
                                             max_size=3, unique=True))
    if draw(st.booleans()):
        filters["geo_scope"] = [draw(st.sampled_from([g.value for g in GeoScope]))]
    return text, filters


def keyword(rec: Record, facet: str) -> str:
    if facet == "source":
        return rec.source_id
    if facet == "year":
        return str(rec.year)
    value: str = getattr(rec.access, facet).value
    return value


def oracle(recs: list[Record], caller: Caller, text: str, filters: dict[str, list[str]]) -> list[Record]:
    vis = caller.visibility
    out = []
    for rec in recs:
        if rec.access.security in (Security.CORE, Security.SECRET) or not vis.allows_record(rec):
            continue
        title_words = rec.titles[0].value.split()
        if any(w not in title_words for w in text.split()):
            continue
        if any(keyword(rec, f) not in values for f, values in filters.items()):
            continue
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def index() -> Iterator[EmbeddedIndex]:
    with tempfile.TemporaryDirectory() as tmp:
        idx = EmbeddedIndex(Path(tmp) / "index")
        yield idx
        idx.close()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=records(), query=queries(), audience=st.sampled_from(list(Audience)),
       unknown_as=st.sampled_from([Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT]))
def test_no_leak_in_hits_totals_or_facets(index: EmbeddedIndex, recs: list[Record],
                                          query: tuple[str, dict[str, list[str]]], audience: Audience,
                                          unknown_as: Security) -> None:
    index.clear()
    index.upsert(recs)
    caller = Caller(audience, unknown_as=unknown_as)
    text, filters = query
    expected = oracle(recs, caller, text, filters)

    seen: list[str] = []
    q = SearchQuery(text=text, filters=filters, facets=FACETS, size=7, visibility=caller.visibility)
    first = index.search(q)
    result = first
    while True:
        assert result.total == len(expected)
        seen += [h.id for h in result.hits]
        if not result.next_cursor:
            break
        q.cursor = result.next_cursor
        result = index.search(q)
    assert sorted(seen) == sorted(r.id for r in expected)

    for facet in FACETS:
        counts = {b.value: b.count for b in first.facets[facet]}
        assert counts == dict(Counter(keyword(r, facet) for r in expected)), facet
