"""Harvest leases across processes: two harvesters on one store harvest a source once; a holder killed
with ``kill -9`` on another node loses the source when its lease expires, and the next run resumes from
the checkpoint its last page left."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fedcat.api.catalog import Catalog
from fedcat.harvester.config import load_config
from fedcat.harvester.demo import OAIRepository, OAIServer
from fedcat.harvester.demo.corpus import generate_records
from fedcat.harvester.demo.oai_server import FaultAction, FaultContext
from fedcat.harvester.store import RecordStore, RunStatus
from fedcat.harvester.store.leases import Lease

from .conftest import center
from .test_cli import cli_env, config_for, fedcat, live, summary_row

PAGE = 25


class HeldListing:
    """A fault hook: counts each listing request by its resumption token, and holds every page after the
    first until :attr:`gate` is set (the harvest is then mid-listing, outside any store transaction)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.listed: Counter[str] = Counter()

    def __call__(self, ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") != "ListRecords":
            return None
        token = ctx.params.get("resumptionToken", "")
        self.listed[token] += 1
        if token:
            self.gate.wait(30)
        return None


def write_config(tmp_path: Path, url: str, store: dict[str, Any]) -> Path:
    config = tmp_path / "fedcat.yaml"
    config.write_text(config_for(url, store=store), encoding="utf-8")
    return config


def store_settings(request: pytest.FixtureRequest, backend: str, **extra: Any) -> dict[str, Any]:
    if backend == "postgresql":
        return {"backend": "postgresql", "url": request.getfixturevalue("pg_url"), **extra}
    return {"backend": "sqlite", **extra}


def open_store_of(config: Path) -> RecordStore:
    cfg = load_config(config)
    if cfg.store.url:
        return RecordStore(url=cfg.store.url)
    return RecordStore(cfg.data_path / "records.sqlite3")


def start_harvest(tmp_path: Path, config: Path, name: str) -> subprocess.Popen[bytes]:
    out = open(tmp_path / f"{name}.out", "w")  # noqa: SIM115  # closed with the process, below
    err = open(tmp_path / f"{name}.err", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--config", str(config), "harvest"],
                            cwd=tmp_path, env=cli_env(), stdout=out, stderr=err)
    out.close()
    err.close()
    return proc


def wait_for_first_page(store: RecordStore, running: Callable[[], bool]) -> None:
    """Until a harvest holds the lease and has stored its first page (it then waits for the second)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and running():
        lease = store.leases.get("example")
        if lease is not None and lease.run_id is not None and store.runs.checkpoint("example") is not None:
            return
        time.sleep(0.05)
    raise AssertionError("the first harvester did not store a page")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_harvesters_on_one_store_harvest_a_source_once(request: pytest.FixtureRequest, tmp_path: Path,
                                                           backend: str) -> None:
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c), page_size=PAGE)
    hold = HeldListing()
    with OAIServer(repo) as server:
        server.fault = hold
        config = write_config(tmp_path, server.url, store_settings(request, backend))
        first = start_harvest(tmp_path, config, "first")
        store = open_store_of(config)
        try:
            wait_for_first_page(store, lambda: first.poll() is None)
            second = fedcat(tmp_path, "--config", str(config), "harvest")
            hold.gate.set()
            assert first.wait(timeout=60) == 0, (tmp_path / "first.err").read_text()
            runs = store.runs.recent("example")
            assert store.leases.get("example") is None, "the lease is given back when the run ends"
        finally:
            hold.gate.set()
            if first.poll() is None:
                first.kill()
            store.close()
    assert second.returncode == 0, second.stderr
    assert summary_row(second.stdout, "example")["status"] == "skipped"
    assert f"being harvested by {socket.gethostname()}:{first.pid}:" in " ".join(second.stderr.split())
    assert summary_row((tmp_path / "first.out").read_text(), "example")["status"] == "succeeded"
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED], "one run: the skipped one is not stored"
    pages = -(-len(repo.records()) // PAGE)
    assert sum(hold.listed.values()) == pages and set(hold.listed.values()) == {1}, hold.listed


def test_a_holder_killed_on_another_node_loses_the_source_after_its_lease(
        request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c), page_size=PAGE)
    hold = HeldListing()
    with OAIServer(repo) as server:
        server.fault = hold
        config = write_config(tmp_path, server.url, store_settings(request, "postgresql", lease_seconds=2))
        first = start_harvest(tmp_path, config, "first")
        store = open_store_of(config)
        try:
            wait_for_first_page(store, lambda: first.poll() is None)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        # the next scheduler runs on another node: it cannot tell whether the holder's process lives
        monkeypatch.setattr(socket, "gethostname", lambda: "node-b")
        catalog = Catalog.open(load_config(config))
        try:
            (skipped,) = catalog.harvester.harvest(["example"])
            assert skipped.status is RunStatus.SKIPPED and skipped.id is None
            assert f":{first.pid}:" in (skipped.message or "")
            assert store.runs.recent("example")[0].status is RunStatus.RUNNING  # its lease is live
            deadline = time.monotonic() + 10
            while (lease := store.leases.get("example")) is not None and lease.live:
                assert time.monotonic() < deadline, "the lease did not expire"
                time.sleep(0.1)
            hold.gate.set()
            (resumed,) = catalog.harvester.harvest(["example"])
        finally:
            hold.gate.set()
            catalog.close()
        runs = store.runs.recent("example")
        stored = {r["local_id"]: r["deleted"] for r in store.connection.read("SELECT local_id, deleted FROM records")}
        store.close()
    pages = -(-len(repo.records()) // PAGE)
    assert resumed.status is RunStatus.SUCCEEDED, resumed.message
    assert 0 < resumed.pages < pages, "the second run resumed from the checkpoint"
    assert hold.listed[""] == 1, "the listing was started once, by the killed holder"
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.INTERRUPTED]
    assert sorted(stored) == sorted(r.local_id for r in repo.records())
    assert sorted(i for i, deleted in stored.items() if not deleted) == sorted(r.local_id for r in live(repo.records()))


def test_a_page_slower_than_the_lease_keeps_it_and_a_lost_lease_stops_the_run(tmp_path: Path) -> None:
    """The lease is renewed while a page takes longer than the lease; when another process takes the
    lease all the same (the store did not see a renewal in time), the run stores nothing more and ends
    interrupted, and the checkpoint stays for the new holder."""
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c), page_size=PAGE)
    hold = HeldListing()
    with OAIServer(repo) as server:
        server.fault = hold
        config = write_config(tmp_path, server.url, {"lease_seconds": 1})
        catalog = Catalog.open(load_config(config))
        result: list[Any] = []
        try:
            worker = threading.Thread(target=lambda: result.extend(catalog.harvester.harvest(["example"])))
            worker.start()
            wait_for_first_page(catalog.store, worker.is_alive)
            time.sleep(2.5)  # the second page is held for 2.5 leases: the lease is renewed meanwhile
            lease = catalog.store.leases.get("example")
            assert lease is not None and lease.live and lease.holder == catalog.harvester.holder
            with catalog.store.connection.transaction() as db:  # another node takes the source over
                db.execute("UPDATE leases SET holder = 'node-b:1:x', run_id = NULL, expires_at = expires_at + 60")
            checkpoint = catalog.store.runs.checkpoint("example")
            hold.gate.set()
            worker.join(timeout=30)
            (run,) = result
            assert run.status is RunStatus.INTERRUPTED and "lease" in (run.message or ""), run.message
            assert run.pages == 1 and catalog.store.runs.checkpoint("example") == checkpoint
            assert catalog.store.connection.read("SELECT COUNT(*) AS n FROM records")[0]["n"] == PAGE
            lease = catalog.store.leases.get("example")
            assert lease is not None and lease.holder == "node-b:1:x", "the lease is not the stopped run's to give back"
        finally:
            hold.gate.set()
            catalog.close()


def test_remap_leaves_out_a_source_being_harvested(tmp_path: Path) -> None:
    """Re-mapping writes a source's records from their stored payloads: not while a harvest holds the
    source (the harvest's newer records would be overwritten); the rest of the catalog is re-mapped."""
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c)[:30], page_size=PAGE)
    with OAIServer(repo) as server:
        config = write_config(tmp_path, server.url, {})
        catalog = Catalog.open(load_config(config))
        try:
            catalog.harvester.harvest(["example"])
            assert catalog.store.leases.acquire("example", "node-b:1:x", 60) is not None
            report = catalog.harvester.maintenance.remap()
            assert report.warnings == ["[example] not re-mapped: being harvested by node-b:1:x; run it again "
                                       "afterwards"]
            assert [r.status for r in catalog.store.runs.recent("example")] == [RunStatus.SUCCEEDED]
            catalog.store.leases.release(Lease("example", "node-b:1:x", 60))
            again = catalog.harvester.maintenance.remap()
            payloads = len(list(catalog.store.records.iter_raw("example")))
            assert again.warnings == [] and again.counts["unchanged"] == payloads > 0
            assert catalog.store.leases.get("example") is None
        finally:
            catalog.close()


def test_two_schedulers_firing_at_once_harvest_the_source_once(request: pytest.FixtureRequest, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """Two schedulers (each its own catalog, store connection and APScheduler) on one PostgreSQL store
    fire a source's job at the same moment: one harvests it, the other skips it."""
    from datetime import UTC, datetime

    from apscheduler.schedulers.background import BackgroundScheduler

    from fedcat.api.scheduler import add_jobs

    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c)[:60], page_size=PAGE)
    hold = HeldListing()
    with OAIServer(repo) as server:
        server.fault = hold
        config = write_config(tmp_path, server.url, store_settings(request, "postgresql"))
        config.write_text(config.read_text(encoding="utf-8") + '    schedule: "0 3 * * *"\n', encoding="utf-8")
        catalogs = [Catalog.open(load_config(config)) for _ in range(2)]

        def reports() -> list[str]:  # what each scheduler's job logged at its end
            return [m.split("scheduled harvest ")[1].split(":")[0] for m in caplog.messages
                    if "scheduled harvest " in m]

        schedulers = [BackgroundScheduler(timezone="UTC") for _ in catalogs]
        try:
            for scheduler, catalog in zip(schedulers, catalogs, strict=True):
                add_jobs(scheduler, catalog)
                scheduler.start()
            now = datetime.now(UTC)
            for scheduler in schedulers:  # both crons fire now
                scheduler.modify_job("harvest:example", next_run_time=now)
            deadline = time.monotonic() + 20
            while len(reports()) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            hold.gate.set()
            while len(reports()) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            hold.gate.set()
            for scheduler in schedulers:
                scheduler.shutdown(wait=True)
            for catalog in catalogs:
                catalog.close()
    assert sorted(reports()) == ["skipped", "succeeded"], caplog.messages
    assert set(hold.listed.values()) == {1} and len(hold.listed) == -(-60 // PAGE)
