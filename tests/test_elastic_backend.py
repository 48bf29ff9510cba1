"""The Elasticsearch backend on the wire: the requests it sends and how it handles the answers.

A scripted responder on loopback (tests/es_wire.py) stands in for the cluster's
HTTP interface; what the index does with the documents is the contract suite's
job against a live cluster (FEDCAT_ES_URL).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fedcat.api.catalog import Catalog, open_index
from fedcat.harvester.config import config_from_dict
from fedcat.harvester.config_schema import ElasticSettings
from fedcat.harvester.errors import ConfigError
from fedcat.harvester.model import Access, Identifiers, LangText, Openness, Record, Security
from fedcat.harvester.pipeline.run import Harvester
from fedcat.harvester.store import PageItem, RecordStore, RunReport
from fedcat.index import cursor
from fedcat.index.analysis import analyse
from fedcat.index.base import SearchQuery, Sort
from fedcat.index.elastic import ElasticsearchIndex
from fedcat.index.elastic_dsl import SCHEMA_VERSION, Page, create_index_body, search_body
from fedcat.index.errors import BadQuery, BulkError, IndexUnavailable
from fedcat.index.groups import VIEW_CLASSES

from .conftest import make_config, source_for
from .es_wire import Request, Script, WireServer
from .test_index_contract import CORPUS, ES_URL, drop_es_indices, es_settings, make

ALIAS = "fedcat-records"
CURRENT = {"fedcat-records-v1": {"mappings": {"_meta": {"fedcat_schema": SCHEMA_VERSION}}}}


def ready_script() -> Script:
    """A cluster where the alias exists on version 1 with the current schema."""
    s = Script()
    s.on("HEAD", f"/_alias/{ALIAS}", (200, None))
    s.on("GET", f"/{ALIAS}/_mapping", (200, CURRENT))
    s.on("POST", f"/{ALIAS}/_refresh", (200, {}))
    s.on("PUT", "/_bulk", bulk_ok)
    return s


def bulk_ok(req: Request) -> tuple[int, Any]:
    items = []
    for line in req.body:
        if len(line) == 1 and next(iter(line)) in ("index", "delete"):
            op, meta = next(iter(line.items()))
            items.append({op: {"_id": meta["_id"], "status": 201 if op == "index" else 200}})
    return 200, {"errors": False, "items": items}


@pytest.fixture
def script() -> Script:
    return ready_script()


@pytest.fixture
def server(script: Script) -> Iterator[WireServer]:
    srv = WireServer(script).start()
    yield srv
    srv.stop()


def es(server: WireServer, **kw: Any) -> ElasticsearchIndex:
    tuning = {k: kw.pop(k) for k in ("bulk_chunk", "bulk_backoff", "pit_keep_alive") if k in kw}
    return ElasticsearchIndex(ElasticSettings(url=server.url, max_retries=kw.pop("max_retries", 0), timeout=5, **kw),
                              **tuning)


def test_first_open_creates_version_1_behind_the_alias(script: Script, server: WireServer) -> None:
    script.on("HEAD", f"/_alias/{ALIAS}", (404, None))
    script.on("PUT", f"/{ALIAS}-v1", (200, {"acknowledged": True}))
    es(server, shards=2, replicas=1).open()
    (create,) = script.sent("PUT", f"/{ALIAS}-v1")
    assert create.body == create_index_body(ALIAS, shards=2, replicas=1)


def test_open_tolerates_another_process_creating_the_index_first(script: Script, server: WireServer) -> None:
    script.on("HEAD", f"/_alias/{ALIAS}", (404, None))
    script.on("PUT", f"/{ALIAS}-v1", (400, {"error": {"type": "resource_already_exists_exception",
                                                      "reason": "index already exists"}, "status": 400}))
    es(server).open()
    assert len(script.sent("GET", f"/{ALIAS}/_mapping")) == 1


def test_an_index_of_another_schema_version_asks_for_a_reindex(script: Script, server: WireServer) -> None:
    script.on("GET", f"/{ALIAS}/_mapping", (200, {"fedcat-records-v3": {"mappings": {"_meta": {"fedcat_schema": 0}}}}))
    idx = es(server).open()
    with pytest.raises(IndexUnavailable, match="fedcat reindex"):
        idx.search(SearchQuery(text="冰川"))
    with pytest.raises(IndexUnavailable, match="schema version 0"):
        idx.upsert(CORPUS)


def test_bulk_sends_documents_and_reports_each_rejected_one(script: Script, server: WireServer) -> None:
    def partly(req: Request) -> tuple[int, Any]:
        _, body = bulk_ok(req)
        for item in body["items"]:
            if item.get("index", {}).get("_id") == "id:s2:2|0":
                body["errors"] = True
                item["index"] = {"_id": "id:s2:2|0", "status": 400, "error": {
                    "type": "mapper_parsing_exception", "reason": "failed to parse field [year]"}}
        return 200, body

    script.on("PUT", "/_bulk", partly)
    result = es(server).upsert(CORPUS[:3])
    assert (result.indexed, result.errors) == (
        2, {"s2:2": "HTTP 400 mapper_parsing_exception: failed to parse field [year]"})
    (bulk,) = script.sent("PUT", "/_bulk")
    assert bulk.body[0] == {"index": {"_index": ALIAS, "_id": "id:s1:1|0"}}
    assert bulk.body[1]["title"]["all"] == "青藏高原冰川物质平衡数据集"
    assert bulk.body[1]["member"] == ["s1:1"]
    # every other id the group's documents could have had is deleted in the same request
    views = len(VIEW_CLASSES)
    assert [line["delete"]["_id"] for line in bulk.body[2:views + 1]] == [f"id:s1:1|{n}" for n in range(1, views)]
    assert len(script.sent("POST", f"/{ALIAS}/_refresh")) == 1
    es(server).upsert(CORPUS[:1], refresh=False)
    assert len(script.sent("POST", f"/{ALIAS}/_refresh")) == 1


def test_bulk_is_chunked_and_deleting_an_unknown_id_is_not_an_error(script: Script, server: WireServer) -> None:
    def missing(req: Request) -> tuple[int, Any]:
        return 200, {"errors": False, "items": [
            {"delete": {"_id": line["delete"]["_id"], "status": 404, "result": "not_found"}}
            if "delete" in line else {"index": {"_id": line["index"]["_id"], "status": 201}}
            for line in req.body if len(line) == 1 and ("delete" in line or "index" in line)]}

    script.on("PUT", "/_bulk", missing)
    views = len(VIEW_CLASSES)  # a group's document and a delete of every other view's id: one chunk
    idx = es(server, bulk_chunk=views)
    result = idx.upsert(CORPUS)
    assert [len(r.body) for r in script.sent("PUT", "/_bulk")] == [views + 1] * len(CORPUS)
    assert (result.indexed, result.errors) == (len(CORPUS), {})
    script.on("POST", f"/{ALIAS}/_delete_by_query", (200, {"deleted": 1}))
    result = idx.delete(["a", "b", "c"])
    assert (result.deleted, result.errors) == (3, {})
    (dbq,) = script.sent("POST", f"/{ALIAS}/_delete_by_query")
    assert dbq.body == {"query": {"terms": {"member": ["a", "b", "c"]}}}


def test_documents_rejected_with_429_are_retried(script: Script, server: WireServer) -> None:
    calls: list[int] = []

    def busy_once(req: Request) -> tuple[int, Any]:
        calls.append(len(req.body))
        if len(calls) > 1:
            return bulk_ok(req)
        _, body = bulk_ok(req)
        body["errors"] = True
        body["items"][0] = {"index": {"_id": "s1:1", "status": 429, "error": {
            "type": "es_rejected_execution_exception", "reason": "queue full"}}}
        return 200, body

    script.on("PUT", "/_bulk", busy_once)
    idx = ElasticsearchIndex(ElasticSettings(url=server.url, max_retries=2, timeout=5), bulk_backoff=0.01)
    result = idx.upsert(CORPUS[:2], refresh=False)
    assert (result.indexed, result.errors) == (2, {})
    views = len(VIEW_CLASSES)  # 2 groups: each an index action, its document and a delete of each other view
    assert calls == [2 * (views + 1), 2]  # only the rejected document was sent again


def test_a_failing_cluster_raises_index_unavailable_after_the_retries(script: Script, server: WireServer) -> None:
    script.default = (503, {"error": {"type": "cluster_block_exception", "reason": "no master"}, "status": 503})
    script.routes.clear()
    idx = es(server, max_retries=2)
    with pytest.raises(IndexUnavailable, match="HTTP 503"):
        idx.open()
    assert len(script.sent("HEAD")) == 3


def test_bad_credentials_are_reported_as_such(script: Script, server: WireServer) -> None:
    script.on("HEAD", f"/_alias/{ALIAS}", (401, None))
    with pytest.raises(IndexUnavailable, match="credentials"):
        es(server, username="fedcat", password="wrong").open()
    (head,) = script.sent("HEAD")
    assert head.method == "HEAD"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_startup_without_a_cluster_names_index_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    config = make_config(tmp_path, [], index={"backend": "elasticsearch", "url": url, "max_retries": 0,
                                              "timeout": 2})
    with pytest.raises(IndexUnavailable) as exc:
        open_index(config)
    assert f"index.url = {url}" in str(exc.value)
    assert "opening the index" in str(exc.value)


def test_a_harvest_started_while_the_cluster_is_down_keeps_every_record_pending(
        tmp_path: Path, oai_server: Any) -> None:
    config = make_config(tmp_path, [source_for(oai_server)], index={
        "backend": "elasticsearch", "url": f"http://127.0.0.1:{free_port()}", "max_retries": 0, "timeout": 2})
    catalog = Catalog.open(config, index_required=False)
    try:
        (report,) = catalog.harvester.harvest()
        # stored, not searchable yet: the run says so (partial, with the reason) instead of succeeding
        assert report.status.value == "partial" and "not yet searchable" in (report.message or "")
        assert catalog.store.records.counts()["records"] > 100
        assert len(catalog.store.indexing.pending(batch=10_000)) >= catalog.store.records.counts()["records"]
    finally:
        catalog.close()


def test_config_validation_of_the_index_keys(tmp_path: Path) -> None:
    for index, key in (({"backend": "elasticsearch"}, "index.url"),
                       ({"backend": "elasticsearch", "url": "localhost:9200"}, "index.url"),
                       ({"backend": "elasticsearch", "url": "https://es01:9200,es02:9200"}, "index.url"),
                       ({"index_prefix": "Fedcat!"}, "index.index_prefix"),
                       ({"timeout": 0}, "index.timeout"), ({"shards": 0}, "index.shards")):
        with pytest.raises(ConfigError) as exc:
            make_config(tmp_path, [], index=index)
        assert exc.value.key == key


def test_several_nodes_may_be_named(script: Script) -> None:
    servers = [WireServer(script).start(), WireServer(script).start()]
    try:
        config = make_config(Path("/nonexistent"), [], index={
            "backend": "elasticsearch", "url": " , ".join(s.url for s in servers), "max_retries": 0})
        idx = open_index(config)
        assert isinstance(idx, ElasticsearchIndex)
        nodes = {n.base_url for n in idx.client.transport.node_pool.all()}
        assert nodes == {s.url for s in servers}
        idx.close()
    finally:
        for srv in servers:
            srv.stop()


def test_secrets_may_come_from_the_environment(tmp_path: Path, script: Script, server: WireServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDCAT_ES_PASSWORD", "from-env")
    config = make_config(tmp_path, [], index={"backend": "elasticsearch", "url": server.url,
                                              "username": "fedcat"})
    idx = open_index(config)
    assert isinstance(idx, ElasticsearchIndex)
    assert idx.settings.password == "from-env"
    idx.close()


def hit(i: int, score: float) -> dict[str, Any]:
    rec = CORPUS[i]
    return {"_id": rec.id, "_score": score, "_source": {"display": {"id": rec.id, "title": rec.title}},
            "sort": [score, rec.id]}


def test_paging_opens_a_point_in_time_and_closes_it_at_the_end(script: Script, server: WireServer) -> None:
    aggs = {"source": {"buckets": [{"key": "s1", "doc_count": 3}]}}
    script.on("POST", f"/{ALIAS}/_search", (200, {"hits": {"total": {"value": 3, "relation": "eq"},
                                                           "hits": [hit(0, 2.5), hit(2, 1.5)]}, "aggregations": aggs}))
    script.on("POST", f"/{ALIAS}/_pit", (200, {"id": "pit-1"}))
    script.on("POST", "/_search", (200, {"pit_id": "pit-2", "hits": {"total": {"value": 3, "relation": "eq"},
                                                                      "hits": [hit(3, 0.5)]}, "aggregations": aggs}))
    script.on("DELETE", "/_pit", (200, {"succeeded": True}))
    idx = es(server)
    query = SearchQuery(text="冰川", size=2, facets=("source",))
    first = idx.search(query)
    (sent,) = script.sent("POST", f"/{ALIAS}/_search")
    assert sent.body == search_body(query, Page(), keep_alive="5m")
    assert [h.id for h in first.hits] == ["s1:1", "s1:3"]
    assert first.hits[0].highlights["title"] == ["青藏高原<mark>冰川</mark>物质平衡数据集"]
    assert (first.total, first.facets["source"][0].value, first.facets["source"][0].count) == (3, "s1", 3)
    assert script.sent("POST", f"/{ALIAS}/_pit")[0].query == {"keep_alive": ["5m"]}
    assert first.next_cursor
    assert cursor.decode(first.next_cursor, query) == {"a": [1.5, "s1:3"], "p": "pit-1", "n": 2}

    query.cursor = first.next_cursor
    second = idx.search(query)
    (sent,) = script.sent("POST", "/_search")
    assert sent.body["pit"] == {"id": "pit-1", "keep_alive": "5m"}
    assert sent.body["search_after"] == [1.5, "s1:3"]
    assert [h.id for h in second.hits] == ["s1:4"]
    assert second.next_cursor is None
    assert script.sent("DELETE", "/_pit")[0].body == {"id": "pit-2"}


def test_an_expired_point_in_time_is_replaced(script: Script, server: WireServer) -> None:
    answers = iter([(404, {"error": {"type": "search_context_missing_exception", "reason": "gone"}, "status": 404}),
                    (200, {"pit_id": "pit-9", "hits": {"total": {"value": 9, "relation": "eq"}, "hits": [hit(1, 0)]}})])
    script.on("POST", "/_search", lambda req: next(answers))
    script.on("POST", f"/{ALIAS}/_pit", (200, {"id": "pit-new"}))
    query = SearchQuery(size=1, sort=Sort.NEWEST, facets=())
    query.cursor = cursor.encode(Page([20210601, "s1:1"], "pit-old", 1).payload(), query)
    result = es(server).search(query)
    assert [h.id for h in result.hits] == ["s2:2"]
    assert [r.body["pit"]["id"] for r in script.sent("POST", "/_search")] == ["pit-old", "pit-new"]
    assert cursor.decode(result.next_cursor or "", query)["p"] == "pit-9"


def test_a_cursor_the_cluster_cannot_read_is_a_bad_cursor(script: Script, server: WireServer) -> None:
    script.on("POST", "/_search", (400, {"error": {"type": "illegal_argument_exception",
                                                   "reason": "invalid id"}, "status": 400}))
    query = SearchQuery(size=1, facets=())
    query.cursor = cursor.encode(Page([1, "x"], "forged", 1).payload(), query)
    with pytest.raises(BadQuery) as exc:
        es(server).search(query)
    assert exc.value.param == "cursor"


def test_rebuild_fills_a_new_version_then_swaps_the_alias(script: Script, server: WireServer) -> None:
    script.on("GET", f"/{ALIAS}-v*", (200, {f"{ALIAS}-v1": {}, f"{ALIAS}-v2": {}, f"{ALIAS}-vX": {}}))
    for method, path in (("PUT", f"/{ALIAS}-v3"), ("PUT", f"/{ALIAS}-v3/_settings"),
                         ("POST", f"/{ALIAS}-v3/_refresh"), ("POST", "/_aliases"),
                         ("DELETE", f"/{ALIAS}-v1,{ALIAS}-v2")):
        script.on(method, path, (200, {"acknowledged": True}))
    script.on("GET", f"/_cluster/health/{ALIAS}-v3", (200, {"status": "green"}))
    script.on("GET", f"/_alias/{ALIAS}", (200, {f"{ALIAS}-v2": {"aliases": {ALIAS: {}}}}))
    secret = make(30, "机密", security=Security.SECRET)
    assert es(server, replicas=2).rebuild([*CORPUS, secret], batch=4) == len(CORPUS)
    steps = [(r.method, r.path) for r in script.requests]
    assert steps == [
        ("GET", f"/{ALIAS}-v*"), ("PUT", f"/{ALIAS}-v3"), ("PUT", f"/{ALIAS}-v3/_settings"),
        ("PUT", "/_bulk"), ("PUT", "/_bulk"),
        ("PUT", f"/{ALIAS}-v3/_settings"), ("POST", f"/{ALIAS}-v3/_refresh"),
        ("GET", f"/_cluster/health/{ALIAS}-v3"), ("HEAD", f"/_alias/{ALIAS}"), ("GET", f"/_alias/{ALIAS}"),
        ("POST", "/_aliases"), ("DELETE", f"/{ALIAS}-v1,{ALIAS}-v2"),
    ]
    create = script.sent("PUT", f"/{ALIAS}-v3")[0].body
    assert "aliases" not in create and create["settings"]["number_of_replicas"] == 0
    assert all(line.get("index", line.get("delete", {})).get("_index", f"{ALIAS}-v3") == f"{ALIAS}-v3"
               for r in script.sent("PUT", "/_bulk") for line in r.body if len(line) == 1)
    assert script.sent("PUT", f"/{ALIAS}-v3/_settings")[1].body == {"refresh_interval": None,
                                                                     "number_of_replicas": 2}
    assert script.sent("POST", "/_aliases")[0].body == {"actions": [
        {"remove": {"index": f"{ALIAS}-v2", "alias": ALIAS}}, {"add": {"index": f"{ALIAS}-v3", "alias": ALIAS}}]}


def test_a_failed_rebuild_keeps_the_old_version_serving(script: Script, server: WireServer) -> None:
    script.on("GET", f"/{ALIAS}-v*", (200, {f"{ALIAS}-v1": {}}))
    script.on("PUT", f"/{ALIAS}-v2", (200, {"acknowledged": True}))
    script.on("PUT", f"/{ALIAS}-v2/_settings", (200, {"acknowledged": True}))
    script.on("PUT", "/_bulk", (503, {"error": {"type": "unavailable", "reason": "down"}, "status": 503}))
    script.on("DELETE", f"/{ALIAS}-v2", (200, {"acknowledged": True}))
    with pytest.raises(IndexUnavailable):
        es(server).rebuild(CORPUS)
    assert script.sent("POST", "/_aliases") == []
    assert len(script.sent("DELETE", f"/{ALIAS}-v2")) == 1


def test_a_rebuild_with_rejected_documents_says_so(script: Script, server: WireServer) -> None:
    script.on("GET", f"/{ALIAS}-v*", (200, {}))
    for method, path in (("PUT", f"/{ALIAS}-v1"), ("PUT", f"/{ALIAS}-v1/_settings"),
                         ("POST", f"/{ALIAS}-v1/_refresh"), ("POST", "/_aliases")):
        script.on(method, path, (200, {"acknowledged": True}))
    script.on("GET", f"/_cluster/health/{ALIAS}-v1", (200, {"status": "green"}))
    script.on("HEAD", f"/_alias/{ALIAS}", (404, None))

    def reject_first(req: Request) -> tuple[int, Any]:
        _, body = bulk_ok(req)
        body["items"][0] = {"index": {"_id": "id:s1:1|0", "status": 400, "error": {"type": "x", "reason": "bad"}}}
        return 200, body

    script.on("PUT", "/_bulk", reject_first)
    with pytest.raises(BulkError) as exc:
        es(server).rebuild(CORPUS)
    assert exc.value.errors == {"id:s1:1": "HTTP 400 x: bad"}
    assert script.sent("POST", "/_aliases")[0].body == {"actions": [{"add": {"index": f"{ALIAS}-v1", "alias": ALIAS}}]}


def test_harvest_keeps_records_pending_while_the_cluster_fails_then_catches_up(
        tmp_path: Path, script: Script, server: WireServer, oai_server: Any) -> None:
    config = make_config(tmp_path, [source_for(oai_server)],
                         index={"backend": "elasticsearch", "url": server.url, "max_retries": 0, "timeout": 5})
    catalog = Catalog.open(config)
    try:
        script.on("PUT", "/_bulk", (503, {"error": {"type": "unavailable", "reason": "down"}, "status": 503}))
        (report,) = catalog.harvester.harvest()
        live = catalog.store.records.counts()
        pending = len(catalog.store.indexing.pending(batch=10_000))
        assert report.status.value == "partial" and "not yet searchable" in (report.message or "")
        assert live["records"] <= pending <= live["records"] + live["deleted"]
        assert live["records"] > 100
        script.on("PUT", "/_bulk", bulk_ok)
        assert catalog.harvester.feeder.catch_up() == pending
        assert catalog.store.indexing.pending() == []
        sent = {line["index"]["_id"] for r in script.sent("PUT", "/_bulk") if r.body
                for line in r.body if "index" in line and len(line) == 1}
        assert len(sent) == live["records"]
    finally:
        catalog.close()


def test_records_the_cluster_rejects_stay_pending_and_the_rest_is_marked(
        tmp_path: Path, script: Script, server: WireServer, oai_server: Any) -> None:
    bad: list[str] = []

    def reject_one(req: Request) -> tuple[int, Any]:
        _, body = bulk_ok(req)
        first = next(iter(body["items"][0].values()))
        bad.append(bad[0] if bad else first["_id"])
        for item in body["items"]:
            info = next(iter(item.values()))
            if info["_id"] == bad[0]:
                info.update(status=400, error={"type": "mapper_parsing_exception", "reason": "bad"})
        return 200, body

    script.on("PUT", "/_bulk", reject_one)
    config = make_config(tmp_path, [source_for(oai_server)],
                         index={"backend": "elasticsearch", "url": server.url, "max_retries": 0, "timeout": 5})
    catalog = Catalog.open(config)
    try:
        catalog.harvester.harvest()
        (group,) = catalog.store.indexing.groups([bad[0].rsplit("|", 1)[0]])
        refused = [m.id for m in group.members]
        assert len(refused) == 1
        assert [i for i, _ in catalog.store.indexing.pending()] == refused
        assert catalog.harvester.feeder.catch_up() == 0  # tried again, still refused, still pending
        assert [i for i, _ in catalog.store.indexing.pending()] == refused
    finally:
        catalog.close()


# -- against a live cluster (FEDCAT_ES_URL) ---------------------------------------------------------

needs_cluster = pytest.mark.skipif(
    not ES_URL, reason="FEDCAT_ES_URL not set: Elasticsearch contract tests need a live cluster")


@pytest.fixture
def live_index() -> Iterator[ElasticsearchIndex]:
    idx = ElasticsearchIndex(es_settings(f"fedcat-test-{uuid.uuid4().hex[:12]}")).open()
    try:
        yield idx
    finally:
        drop_es_indices(idx)
        idx.close()


@pytest.mark.elasticsearch
@needs_cluster
@pytest.mark.parametrize("text", ["青藏高原冰川物质平衡", "冰 和 川", "Précis of ARCTIC sea-ice", "2020年 CTD 温盐剖面",
                                  "ＡＢＣ全角", "ヒマラヤ 氷河"])
def test_live_analyzer_gives_the_embedded_tokens(live_index: ElasticsearchIndex, text: str) -> None:
    found = live_index.client.indices.analyze(index=live_index.alias, analyzer="fedcat_text", text=text)
    assert [t["token"] for t in found["tokens"]] == analyse(text)


@pytest.mark.elasticsearch
@needs_cluster
def test_live_rebuild_moves_the_alias_and_drops_the_old_version(live_index: ElasticsearchIndex) -> None:
    live_index.upsert(CORPUS)
    assert live_index.rebuild(CORPUS[:2]) == 2
    assert list(live_index.client.indices.get_alias(name=live_index.alias)) == [f"{live_index.alias}-v2"]
    assert not live_index.client.indices.exists(index=f"{live_index.alias}-v1")
    assert live_index.count() == 2


def test_the_index_records_the_store_it_reflects_in_its_mapping_meta(script: Script, server: WireServer) -> None:
    index = es(server)
    assert index.tracks_store and index.bound_store() is None
    script.on("PUT", f"/{ALIAS}/_mapping", (200, {"acknowledged": True}))
    index.bind_store("store-1")
    (sent,) = script.sent("PUT", f"/{ALIAS}/_mapping")
    assert sent.body == {"_meta": {"fedcat_schema": CURRENT["fedcat-records-v1"]["mappings"]["_meta"]["fedcat_schema"],
                                   "fedcat_store": "store-1"}}
    script.on("GET", f"/{ALIAS}/_mapping",
              (200, {"fedcat-records-v1": {"mappings": {"_meta": {"fedcat_schema": SCHEMA_VERSION,
                                                                 "fedcat_store": "store-1"}}}}))
    assert index.bound_store() == "store-1"


def _lab_record(i: int) -> Record:
    return Record(id=f"lab:{i}", source_id="lab", local_id=str(i), titles=[LangText("冰川", "zh")],
                  identifiers=Identifiers(), access=Access(openness=Openness.OPEN, security=Security.GENERAL))


def test_an_alias_of_another_store_has_every_record_marked_pending(script: Script, server: WireServer,
                                                                   tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "records.sqlite3")
    run = store.runs.start_run(RunReport(source_id="lab", full=True))
    store.store_page(run, [PageItem(_lab_record(i), None) for i in range(3)], checkpoint=None)
    store.indexing.mark_indexed([f"lab:{i}" for i in range(3)])
    script.on("GET", f"/{ALIAS}/_mapping",
              (200, {"fedcat-records-v1": {"mappings": {"_meta": {"fedcat_schema": SCHEMA_VERSION,
                                                                 "fedcat_store": "elsewhere"}}}}))
    script.on("PUT", f"/{ALIAS}/_mapping", (200, {"acknowledged": True}))
    harvester = Harvester(config_from_dict({"data_dir": str(tmp_path), "sources": []}), store, es(server))
    assert harvester.feeder.check() == 3 and store.indexing.index_counts() == (3, 3)
    assert script.sent("PUT", f"/{ALIAS}/_mapping")[-1].body["_meta"]["fedcat_store"] == store.store_id
    store.close()


def test_a_cluster_down_at_start_is_not_taken_for_a_lost_index(tmp_path: Path) -> None:
    config = make_config(tmp_path, [], index={"backend": "elasticsearch", "url": f"http://127.0.0.1:{free_port()}",
                                              "max_retries": 0, "timeout": 2})
    store = RecordStore(Path(config.data_path) / "records.sqlite3")
    run = store.runs.start_run(RunReport(source_id="lab", full=True))
    store.store_page(run, [PageItem(_lab_record(i), None) for i in range(3)], checkpoint=None)
    store.indexing.mark_indexed([f"lab:{i}" for i in range(3)])  # indexed while the cluster was up
    store.close()
    catalog = Catalog.open(config, index_required=False)
    try:
        assert catalog.harvester.feeder.marked == 0  # cannot tell while it is down: nothing re-marked
        assert catalog.store.indexing.index_counts() == (3, 0)
    finally:
        catalog.close()
