"""Property: over random records, queries, filters and audiences, the index never leaks.

Hits, totals and facet counts of a search equal exactly what a plain Python
oracle computes from the records the audience may see — so nothing invisible
is counted, and nothing visible is lost. With duplicates (records sharing a
DOI), each dataset is one hit listing exactly its members the audience may see.
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
from fedcat.harvester.grouping import group_key
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


#: Which levels each audience sees, written out here apart from api/audience.py so that the oracle does not
#: share the code it checks: ``review`` (undecided) records are for officers only, like ``important``.
SEES: dict[Audience, set[str]] = {
    Audience.PUBLIC_INTERNATIONAL: {"general"},
    Audience.PUBLIC_DOMESTIC: {"general", "sensitive"},
    Audience.REGISTERED: {"general", "sensitive"},
    Audience.OFFICER: {"general", "sensitive", "review", "important"},
}


def may_see(rec: Record, caller: Caller) -> bool:
    level = caller.unknown_as if rec.access.security is Security.UNKNOWN else rec.access.security
    if level.value not in SEES[caller.audience]:
        return False
    return not (caller.audience is Audience.PUBLIC_INTERNATIONAL and rec.access.geo_scope is GeoScope.DOMESTIC)


def oracle(recs: list[Record], caller: Caller, text: str, filters: dict[str, list[str]]) -> list[Record]:
    out = []
    for rec in recs:
        if rec.access.security in (Security.CORE, Security.SECRET) or not may_see(rec, caller):
            continue
        title_words = rec.titles[0].value.split()
        if text.split() and not any(w in title_words for w in text.split()):  # any word finds a record
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
    by_id = {r.id: r for r in recs}
    if audience is not Audience.OFFICER:
        assert not [i for i in seen if by_id[i].access.security is Security.REVIEW]

    for facet in FACETS:
        counts = {b.value: b.count for b in first.facets[facet]}
        assert counts == dict(Counter(keyword(r, facet) for r in expected)), facet


# -- duplicates: several sources' records of one dataset are one hit --------------------------------

DOIS = ("10.1/a", "10.1/b", "10.1/c", None)


@st.composite
def records_with_duplicates(draw: st.DrawFn) -> list[Record]:
    """Records of which many share a DOI (a dataset harvested from several sources), with any tags."""
    out = draw(records())
    for rec in out:
        rec.identifiers.doi = draw(st.sampled_from(DOIS))
    return out


def oracle_groups(recs: list[Record], caller: Caller, text: str,
                  filters: dict[str, list[str]]) -> dict[str, list[Record]]:
    """Per dataset, the members the caller may see, for the datasets the query matches.

    A dataset matches when its visible members together hold a query word (any) and, for each
    filter, some visible member has one of the filter's values.
    """
    groups: dict[str, list[Record]] = {}
    for rec in recs:
        if rec.access.security in (Security.CORE, Security.SECRET) or not may_see(rec, caller):
            continue
        groups.setdefault(group_key(rec), []).append(rec)
    out = {}
    for key, members in groups.items():
        words = {w for m in members for w in m.titles[0].value.split()}
        if text.split() and not any(w in words for w in text.split()):
            continue
        if any(not any(keyword(m, f) in values for m in members) for f, values in filters.items()):
            continue
        out[key] = sorted(members, key=lambda m: m.id)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=records_with_duplicates(), query=queries(), audience=st.sampled_from(list(Audience)),
       unknown_as=st.sampled_from([Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT]))
def test_grouped_hits_never_reveal_a_member_the_caller_may_not_see(
        index: EmbeddedIndex, recs: list[Record], query: tuple[str, dict[str, list[str]]], audience: Audience,
        unknown_as: Security) -> None:
    index.clear()
    index.upsert(recs)
    caller = Caller(audience, unknown_as=unknown_as)
    text, filters = query
    expected = oracle_groups(recs, caller, text, filters)
    facets = ("source", "openness", "geo_scope", "security")

    q = SearchQuery(text=text, filters=filters, facets=facets, size=5, visibility=caller.visibility)
    first = result = index.search(q)
    seen: dict[str, list[str]] = {}
    while True:
        assert result.total == len(expected)
        for hit in result.hits:
            members = [s["id"] for s in hit.doc["sources"]]
            assert hit.doc["group"] not in seen
            seen[hit.doc["group"]] = members
            assert hit.id in members
        if not result.next_cursor:
            break
        q.cursor = result.next_cursor
        result = index.search(q)
    assert seen == {k: [m.id for m in ms] for k, ms in expected.items()}

    for facet in facets:
        counts = {b.value: b.count for b in first.facets[facet]}
        want = Counter(v for ms in expected.values() for v in {keyword(m, facet) for m in ms})
        assert counts == dict(want), facet


# -- suggestions: the search box offers only what the caller may see, counted as the caller sees it ---

SUBJECTS = ("glacier", "glacier lakes", "genome", "冰川", "冰川变化", "基因组")
PREFIXES = ("gl", "glacier", "ge", "冰", "冰川", "基因", "lakes")
CENTER_NAMES = {"ncdc": ("冰川冻土中心", "Glacier Center"), "ngdc": ("基因组中心", "Genome Center"),
                "marine": ("海洋中心", "Marine Center")}


@st.composite
def records_with_subjects(draw: st.DrawFn) -> list[Record]:
    out = []
    for rec in draw(records()):
        rec.subjects = draw(st.lists(st.sampled_from(SUBJECTS), max_size=2, unique=True))
        rec.titles = [LangText(" ".join(draw(st.lists(st.sampled_from(SUBJECTS), min_size=1, max_size=2))))]
        out.append(rec)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=records_with_subjects(), prefix=st.sampled_from(PREFIXES), audience=st.sampled_from(list(Audience)),
       unknown_as=st.sampled_from([Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT]))
def test_suggestions_offer_and_count_only_what_the_caller_may_see(
        index: EmbeddedIndex, recs: list[Record], prefix: str, audience: Audience, unknown_as: Security) -> None:
    from fedcat.api.suggest import SuggestionKind, suggest

    index.clear()
    index.upsert(recs)
    caller = Caller(audience, unknown_as=unknown_as)
    visible = oracle(recs, caller, "", {})
    found = suggest(index, CENTER_NAMES, prefix, caller.visibility, limit=100)

    subjects = Counter(s for r in visible for s in r.subjects if prefix.lower() in s.lower())
    assert {s.text: s.count for s in found if s.kind is SuggestionKind.SUBJECT} == dict(subjects)
    centers = Counter(r.source_id for r in visible)
    for s in found:
        if s.kind is SuggestionKind.CENTER:
            (source,) = [k for k, names in CENTER_NAMES.items() if s.text in names]
            assert s.count == centers[source] > 0
        elif s.kind is SuggestionKind.TITLE:
            assert s.text in {r.titles[0].value for r in visible}
    wanted_centers = {k for k, names in CENTER_NAMES.items() if centers[k] and any(prefix.lower() in n.lower()
                                                                                  for n in names)}
    assert {k for k, names in CENTER_NAMES.items()
            for s in found if s.kind is SuggestionKind.CENTER and s.text in names} == wanted_centers


# -- the OAI-PMH provider: a dataset's published view holds exactly the members the public may see ------

@settings(max_examples=60, deadline=None)
@given(recs=records_with_duplicates(), audience=st.sampled_from(list(Audience)),
       unknown_as=st.sampled_from([Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT]))
def test_published_views_hold_only_what_the_anonymous_audience_may_see(
        recs: list[Record], audience: Audience, unknown_as: Security) -> None:
    from fedcat.harvester.grouping import groups_of
    from fedcat.harvester.pipeline.publishing import public_view

    caller = Caller(audience, unknown_as=unknown_as)  # the catalog's anonymous audience
    expected = oracle_groups(recs, caller, "", {})
    views = {g.key: public_view(g, caller.visibility) for g in groups_of(recs)}
    assert {k: list(v.members) for k, v in views.items() if v.members} == {
        k: [m.id for m in ms] for k, ms in expected.items()}
    for key, view in views.items():  # a dataset with nothing visible is published as gone, naming no member
        if key not in expected:
            assert view.members == () and view.view_hash is None and view.sets == ()


# -- the sitemap lists exactly the records the anonymous audience may see ------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=records_with_duplicates(), audience=st.sampled_from(list(Audience)),
       unknown_as=st.sampled_from([Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT]))
def test_the_sitemap_lists_exactly_what_the_anonymous_audience_may_see(
        tmp_path_factory: pytest.TempPathFactory, recs: list[Record], audience: Audience,
        unknown_as: Security) -> None:
    """The sitemap walks the store's access tags (no result window): exactly the records whose page the
    audience may open, as the search's own filter decides for the same records."""
    from types import SimpleNamespace

    from fedcat.api.sitemap import public_ids
    from fedcat.harvester.store import PageItem, RecordStore, RunReport

    store = RecordStore(tmp_path_factory.mktemp("sitemap") / "records.sqlite3")
    try:
        store.store_page(store.runs.start_run(RunReport(source_id="s")), [PageItem(r, None) for r in recs],
                         checkpoint=None)
        caller = Caller(audience, unknown_as=unknown_as)
        listed = list(public_ids(SimpleNamespace(store=store), caller))  # type: ignore[arg-type]
        assert len(listed) == len(set(listed)) and listed == sorted(listed)
        assert set(listed) == {r.id for r in oracle(recs, caller, "", {}) if not r.deleted}
    finally:
        store.close()


# -- every record format leaves out the links a caller may not follow ----------------------------------

LANDING = "https://landing.example.cn/ds/"


@settings(max_examples=40, deadline=None)
@given(recs=records(), audience=st.sampled_from(list(Audience)),
       unknown_as=st.sampled_from([Security.GENERAL, Security.SENSITIVE, Security.IMPORTANT]))
def test_no_format_carries_a_link_the_caller_may_not_follow(recs: list[Record], audience: Audience,
                                                            unknown_as: Security) -> None:
    from fedcat.api.formats.negotiation import RECORD_FORMATS
    from fedcat.api.formats.render import render
    from fedcat.api.formats.view import caller_view

    caller = Caller(audience, unknown_as=unknown_as)
    for rec in recs:
        rec.landing_page = f"{LANDING}{rec.local_id}"
        rec.access_url = f"{LANDING}{rec.local_id}/files"
        allowed = caller.sees_links(rec.access.security)
        view = caller_view(rec, allowed)
        for fmt in RECORD_FORMATS:
            out = render(fmt, view, "http://catalog.test")
            text = out.decode("utf-8") if isinstance(out, bytes) else out
            assert (LANDING in text) <= allowed, (fmt.name, rec.access.security, audience)
