"""Re-tagging the store after a rule change: tags only (no fetch, no crosswalk), the index follows, and the
report says what moved in which direction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from fedcat.api.audience import Caller
from fedcat.api.catalog import Catalog
from fedcat.api.cli import main
from fedcat.harvester.config import Audience
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.pipeline.retagging import direction, retag_store
from fedcat.index.base import SearchQuery

from .conftest import make_config, source_for

#: 冻土 (permafrost), but not inside the center's name (国家冰川冻土沙漠科学数据中心) that descriptions repeat
PERMAFROST = "冻土(?!沙漠)"
DOMESTIC_RULE = {"id": "permafrost-domestic", "when": {"content": PERMAFROST}, "set": {"geo_scope": "domestic"}}


def public_ids(cat: Catalog) -> set[str]:
    vis = Caller(Audience.PUBLIC_INTERNATIONAL).visibility
    ids: set[str] = set()
    cursor = None
    while True:
        page = cat.index.search(SearchQuery(size=100, cursor=cursor, facets=(), visibility=vis))
        ids |= {h.id for h in page.hits}
        cursor = page.next_cursor
        if not cursor:
            return ids


def test_a_rule_change_moves_only_the_records_it_concerns_and_the_index_follows(
        oai_server: OAIServer, tmp_path: Path) -> None:
    first = Catalog.open(make_config(tmp_path, [source_for(oai_server)]))
    try:
        (report,) = first.harvester.harvest()
        assert report.status.value == "succeeded"
        permafrost = {r.id for r in first.store.records.iter_records() if r.access.geo_scope.value == "unknown"
                      and any(re.search(PERMAFROST, text) for text in
                             [t.value for t in r.titles] + r.subjects + [d.value for d in r.descriptions])}
        assert permafrost and permafrost <= public_ids(first)  # (a center's explicit scope outranks the rule)
        untouched = retag_store(first.harvester)
        assert (untouched.records, untouched.changed) == (report.counts["added"], 0)
    finally:
        first.close()

    oai_server.stop()  # nothing is fetched: the source may be down
    config = make_config(tmp_path, [source_for(oai_server)], tagging={"rules": [DOMESTIC_RULE]})
    cat = Catalog.open(config)
    try:
        moved = retag_store(cat.harvester)
        assert moved.changed == len(permafrost) == moved.per_tag["geo_scope"]["more_restricted"]
        assert moved.moves["more_restricted"] == len(permafrost) and moved.moves["more_open"] == 0
        assert {i for i, tag, before, after in moved.examples} <= permafrost
        assert not permafrost & public_ids(cat)
        assert cat.store.indexing.pending() == []
        rec = cat.store.records.get(next(iter(permafrost)))
        assert rec is not None and rec.access.geo_scope.value == "domestic"
        assert [e.rule for e in rec.access.evidence if e.tag == "geo_scope"] == ["permafrost-domestic"]
    finally:
        cat.close()

    back = Catalog.open(make_config(tmp_path, [source_for(oai_server)]))
    try:
        undone = retag_store(back.harvester)
        assert undone.per_tag["geo_scope"] == {"more_open": len(permafrost), "more_restricted": 0}
        assert permafrost <= public_ids(back)
    finally:
        back.close()


@pytest.mark.parametrize(("tag", "before", "after", "sign"), [
    ("openness", "open", "conditional", 1), ("openness", "unknown", "open", -1),
    ("security", "general", "review", 1), ("security", "unknown", "general", 0),
    ("geo_scope", "domestic", "international", -1), ("geo_scope", "unknown", "international", 0),
])
def test_directions(tag: str, before: str, after: str, sign: int) -> None:
    assert direction(tag, before, after) == sign


def test_the_cli_reports_the_moves(oai_server: OAIServer, tmp_path: Path, catalog_factory: Any,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    cat = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    cat.close()
    config = tmp_path / "fedcat.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nsources:\n  - id: ncdc\n    name: 冰川中心\n    url: {oai_server.url}\n"
        "    policy: {security: general}\ntagging:\n  rules:\n"
        "    - {id: permafrost-domestic, when: {content: '冻土(?!沙漠)'}, set: {geo_scope: domestic}}\n",
        encoding="utf-8")
    assert main(["--config", str(config), "retag"]) == 0
    out = capsys.readouterr().out
    assert "more restricted" in out and "geo_scope" in out and "→ domestic" in out
