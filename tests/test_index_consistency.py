"""The index never silently disagrees with the store: a lost or foreign index is refilled, a failed index
write leaves records pending (the harvest goes on), and a reindex killed at any moment leaves the old index
serving while the next one finishes the job."""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.api.cli import main
from fedcat.harvester.config import config_from_dict
from fedcat.harvester.model import Access, GeoScope, Identifiers, LangText, Openness, Record, Security
from fedcat.harvester.store import PageItem, RunReport
from fedcat.index import rebuild
from fedcat.index.embedded import EmbeddedIndex

from .conftest import OAIServer, search_ids, source_for
from .web_helpers import Client


def test_an_index_lost_while_idle_is_refilled_not_trusted(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    expected = search_ids(cat)
    assert expected
    folder = Path(cat.config.data_path) / "index"
    cat.close()
    shutil.rmtree(folder)  # lost while nothing ran

    again: Catalog = catalog_factory([source_for(oai_server)])
    live, pending = again.store.indexing.index_counts()
    assert pending == live > 0  # detected when the catalog opened: every record is to be indexed again
    reports = again.harvester.harvest()  # nothing new at the source: the run's catch-up refills the index
    assert all(r.status.value == "succeeded" for r in reports)
    assert search_ids(again) == expected
    assert again.store.indexing.index_counts()[1] == 0


def test_a_harvest_beside_a_serving_catalog_indexes_after_an_officer_override(
        oai_server: OAIServer, catalog_factory: Any) -> None:
    """`fedcat serve` and a harvest (cron, `fedcat schedule`) are two processes on one index. The serving
    catalog writes once (an officer's override); the harvest that follows must still index what it
    stores: the serving catalog let go of the index's writer after its write."""
    serving: Catalog = catalog_factory([source_for(oai_server)])
    serving.harvester.harvest()
    first, changed = sorted(search_ids(serving))[:2]
    serving.decisions.override(first, "security", "sensitive", by="li", reason="涉及重点区域")

    live = {f"ncdc:{r.local_id}": r for r in oai_server.repository.records() if not r.deleted}
    oai_server.repository.upsert(dataclasses.replace(
        live[changed], title_zh="青藏高原多年冻土活动层厚度数据集", datestamp=datetime.now(UTC).replace(microsecond=0)))
    harvesting: Catalog = catalog_factory([source_for(oai_server)])
    (run,) = harvesting.harvester.harvest()
    assert run.status.value == "succeeded", run.message  # was partial: "… not yet searchable"
    assert harvesting.store.indexing.index_counts()[1] == 0
    assert changed in search_ids(serving, "活动层")


def test_an_index_of_another_store_is_not_taken_for_this_one(oai_server: OAIServer, catalog_factory: Any,
                                                               tmp_path: Path) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    foreign = tmp_path / "foreign-index"
    shutil.copytree(Path(cat.config.data_path) / "index", foreign)
    cat.close()
    other = Catalog.open(config_from_dict({"data_dir": str(tmp_path / "other"), "sources": []}))
    try:
        assert other.harvester.feeder.check() == 0  # an empty store: nothing to mark
        assert other.index.bound_store() == other.store.store_id
    finally:
        other.close()
    shutil.rmtree(Path(cat.config.data_path) / "index")
    shutil.copytree(foreign, Path(cat.config.data_path) / "index")
    reopened: Catalog = catalog_factory([source_for(oai_server)])
    assert reopened.index.bound_store() == reopened.store.store_id  # same store: trusted, nothing pending
    assert reopened.store.indexing.index_counts()[1] == 0
    (Path(cat.config.data_path) / "index" / "fedcat-store.json").write_text(json.dumps({"store": "elsewhere"}))
    reopened.close()
    third: Catalog = catalog_factory([source_for(oai_server)])
    live, pending = third.store.indexing.index_counts()
    assert pending == live > 0


def test_an_index_write_error_leaves_records_pending_and_the_store_filling(
        oai_server: OAIServer, catalog_factory: Any) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)])
    folder = Path(cat.config.data_path) / "index"
    shutil.rmtree(folder)  # every write of this run fails (tantivy: files gone)
    reports = cat.harvester.harvest()  # no traceback: the index error is the one the pipeline handles
    live, pending = cat.store.indexing.index_counts()
    assert live > 0 and pending == live  # the store filled completely; nothing is marked indexed
    assert reports[0].counts["added"] == live
    assert reports[0].status.value == "partial"  # said, not reported as a success over an empty search
    assert "not yet searchable" in (reports[0].message or "") and "index failed" in (reports[0].message or "")
    cat.close()
    again: Catalog = catalog_factory([source_for(oai_server)])
    again.harvester.harvest()
    assert len(search_ids(again)) > 0 and again.store.indexing.index_counts()[1] == 0


def _record(i: int) -> Record:
    return Record(
        id=f"lab:{i:05d}", source_id="lab", local_id=f"{i:05d}",
        titles=[LangText(f"冰川观测数据 {i}", "zh"), LangText(f"glacier observations {i}", "en")],
        descriptions=[LangText("青藏高原冰川物质平衡与冻土温度观测。" * 8, "zh")],
        subjects=["冰川", "冻土"], identifiers=Identifiers(), year=2000 + i % 25,
        access=Access(openness=Openness.OPEN, geo_scope=GeoScope.INTERNATIONAL, security=Security.GENERAL))


# commits every 1,000 groups (not 20,000), so kills also come after a committed batch of these 4,000 records
REINDEX = ("import sys; from fedcat.api.catalog import Catalog; from fedcat.harvester.config import load_config; "
           "import fedcat.index.rebuild as r; r.REBUILD_COMMIT_GROUPS = 1000; "
           "c = Catalog.open(load_config(sys.argv[1])); c.harvester.feeder.rebuild(); c.close()")


def test_a_reindex_killed_at_any_moment_leaves_the_old_index_serving(tmp_path: Path) -> None:
    """Six kills by default; ``FEDCAT_REINDEX_KILL_ROUNDS=20`` runs the acceptance loop of twenty."""
    config_path = tmp_path / "fedcat.yaml"
    config_path.write_text(json.dumps({"data_dir": str(tmp_path / "data"), "sources": []}), encoding="utf-8")
    cat = Catalog.open(config_from_dict(json.loads(config_path.read_text())))
    run = cat.store.runs.start_run(RunReport(source_id="lab", full=True))
    records = 4000
    cat.store.store_page(run, [PageItem(_record(i), None) for i in range(records)], checkpoint=None)
    cat.harvester.feeder.catch_up()
    assert cat.index.count() == records
    cat.close()

    live = tmp_path / "data" / "index"
    reader = EmbeddedIndex(live)  # a searching process (as `fedcat serve` is) keeps its index open
    rng = random.Random(7)
    continued = False
    for _ in range(int(os.environ.get("FEDCAT_REINDEX_KILL_ROUNDS", "6"))):
        proc = subprocess.Popen([sys.executable, "-c", REINDEX, str(config_path)])
        time.sleep(rng.uniform(0.3, 2.5))
        proc.kill()
        proc.wait()
        assert reader.count() == records  # never empty, never partial
        assert EmbeddedIndex(live).count() == records
        progress = rebuild.read_build(rebuild.next_folder(live))
        continued = continued or bool(progress and progress.get("after"))
    done = subprocess.run([sys.executable, "-c", REINDEX, str(config_path)], timeout=300)
    assert done.returncode == 0
    assert reader.count() == records and not rebuild.next_folder(live).exists()
    assert not rebuild.old_folder(live).exists()
    assert continued, "no kill came after a committed batch: the rebuild's continuation was not exercised"
    reader.close()


def test_a_swap_cut_between_its_renames_is_finished_when_the_index_opens(tmp_path: Path) -> None:
    live = tmp_path / "index"
    built = EmbeddedIndex(rebuild.next_folder(live))
    built.upsert_groups([])
    built.close()
    rebuild.write_build(rebuild.next_folder(live), after="", count=0, complete=True)
    assert not live.exists()  # the old index was renamed away, the new one not yet into place
    EmbeddedIndex(live).close()
    assert live.exists() and not rebuild.next_folder(live).exists()


def test_fedcat_status_reports_a_lost_index_and_repairs_it(oai_server: OAIServer, catalog_factory: Any,
                                                           tmp_path: Path, capsys: Any) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    expected = search_ids(cat)
    data = Path(cat.config.data_path)
    cat.close()
    config = tmp_path / "status.yaml"
    config.write_text(json.dumps({"data_dir": str(data), "sources": [source_for(oai_server)]}), encoding="utf-8")
    assert main(["--config", str(config), "status"]) == 0
    assert "in step" in capsys.readouterr().out
    shutil.rmtree(data / "index")
    assert main(["--config", str(config), "status"]) == 1
    out = capsys.readouterr().out
    assert "did not reflect this store" in out and "--repair" in out
    assert main(["--config", str(config), "status", "--repair"]) == 0
    assert "in step" in capsys.readouterr().out
    again: Catalog = catalog_factory([source_for(oai_server)])
    assert search_ids(again) == expected


def test_readiness_follows_the_index_and_liveness_does_not(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)])
    cat.harvester.harvest()
    client = Client(create_app(cat))
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["catching_up"] is False
    shutil.rmtree(Path(cat.config.data_path) / "index")  # lost while serving
    lost = client.get("/readyz")
    assert lost.status_code == 503 and lost.json()["status"] == "not_ready"
    assert "index" in lost.json()["checks"]["index_reflects_store"]
    assert client.get("/livez").status_code == 200
    assert "records" not in lost.text  # no counts for anyone
    search = client.get("/api/v1/search", {"q": "冰川"})  # the envelope's 503, not an unhandled 500
    assert search.status_code == 503 and search.json()["error"]["code"] == "index_unavailable"


def test_a_record_written_while_a_reindex_runs_stays_pending(catalog_factory: Any,
                                                             monkeypatch: Any) -> None:
    """Another process may harvest while `fedcat reindex` runs: a record it writes after the rebuild read its
    group must not be marked indexed at the end."""
    cat: Catalog = catalog_factory([])
    run = cat.store.runs.start_run(RunReport(source_id="lab", full=True))
    cat.store.store_page(run, [PageItem(_record(i), None) for i in range(30)], checkpoint=None)
    cat.harvester.feeder.catch_up()
    real = cat.store.indexing.iter_groups

    def groups_then_a_concurrent_write(batch: int = 500) -> Any:
        for n, group in enumerate(real(batch)):
            yield group
            if n == 20:  # group 0 was read long ago: now a harvest changes its record
                changed = _record(0)
                changed.titles = [LangText("冰川观测数据（修订）", "zh")]
                cat.store.store_page(run, [PageItem(changed, None)], checkpoint=None)

    monkeypatch.setattr(cat.store.indexing, "iter_groups", groups_then_a_concurrent_write)
    cat.harvester.feeder.rebuild()
    live, pending = cat.store.indexing.index_counts()
    assert pending == 1  # the changed record waits for the catch-up; the other 29 are current
    cat.harvester.feeder.catch_up()
    assert "lab:00000" in search_ids(cat, "修订")


def _full_disk() -> None:
    """In the index writer process only: no file may grow past 1 KiB (EFBIG, as a full disk gives ENOSPC)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_an_index_on_a_full_disk_leaves_records_pending_and_the_store_complete(
        oai_server: OAIServer, catalog_factory: Any, monkeypatch: Any) -> None:
    """The writer process's files cannot grow (its disk is full); the harvester's store can."""
    real_popen = subprocess.Popen

    def writer_on_a_full_disk(args: Any, **kwargs: Any) -> Any:
        if "fedcat.index.writer" in args:
            kwargs["preexec_fn"] = _full_disk
        return real_popen(args, **kwargs)

    cat: Catalog = catalog_factory([source_for(oai_server)], index={"write_process": True})
    monkeypatch.setattr(subprocess, "Popen", writer_on_a_full_disk)
    (run,) = cat.harvester.harvest()
    live, pending = cat.store.indexing.index_counts()
    expected = {f"ncdc:{r.local_id}" for r in oai_server.repository.records() if not r.deleted}
    assert live == len(expected) and run.counts["added"] == live  # the store filled completely
    assert pending > 0 and run.status.value == "partial" and "not yet searchable" in (run.message or "")
    monkeypatch.setattr(subprocess, "Popen", real_popen)  # space freed
    cat.harvester.harvest()
    assert cat.store.indexing.index_counts()[1] == 0 and search_ids(cat) == expected


def _as_nobody() -> None:
    """In the index writer process only: run as an ordinary user, to whom a folder's mode applies."""
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)


def test_an_index_in_a_read_only_folder_leaves_records_pending_and_the_store_complete(
        oai_server: OAIServer, monkeypatch: Any) -> None:
    """The index folder is made read-only (mode 555; the writer runs as an ordinary user, as root may
    write anywhere): the run ends partial with every record stored; writable again, the next run catches up."""
    real_popen = subprocess.Popen

    def writer_as_nobody(args: Any, **kwargs: Any) -> Any:
        if "fedcat.index.writer" in args:
            kwargs["preexec_fn"] = _as_nobody
        return real_popen(args, **kwargs)

    top = Path(tempfile.mkdtemp(prefix="fedcat-ro-"))  # in /tmp, which an ordinary user may traverse
    try:
        top.chmod(0o755)
        config = config_from_dict({"data_dir": str(top / "data"), "sources": [source_for(oai_server)],
                                   "http": {"max_retries": 0}, "index": {"write_process": True}})
        cat = Catalog.open(config)
        folder = Path(config.data_path) / "index"
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        monkeypatch.setattr(subprocess, "Popen", writer_as_nobody)
        (run,) = cat.harvester.harvest()
        live, pending = cat.store.indexing.index_counts()
        expected = {f"ncdc:{r.local_id}" for r in oai_server.repository.records() if not r.deleted}
        assert live == len(expected) and run.counts["added"] == live  # the store filled completely
        assert pending == live and run.status.value == "partial" and "not yet searchable" in (run.message or "")
        monkeypatch.setattr(subprocess, "Popen", real_popen)
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        cat.harvester.harvest()
        assert cat.store.indexing.index_counts()[1] == 0 and search_ids(cat) == expected
        cat.close()
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_a_rebuild_cut_short_is_reported_by_fedcat_status(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "fedcat.yaml"
    config.write_text(json.dumps({"data_dir": str(tmp_path / "data"), "sources": []}), encoding="utf-8")
    assert main(["--config", str(config), "status"]) == 0
    live = tmp_path / "data" / "index"
    EmbeddedIndex(rebuild.next_folder(live)).close()
    rebuild.write_build(rebuild.next_folder(live), after="group-7", count=7, complete=False)
    assert EmbeddedIndex(live).rebuild_progress() == 7
    capsys.readouterr()
    main(["--config", str(config), "status"])
    assert "cut short after 7 records" in capsys.readouterr().out
