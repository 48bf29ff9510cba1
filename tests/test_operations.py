"""Operations: ``/metrics`` for Prometheus (officers only), JSON log lines, stopping on SIGTERM mid-harvest."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.harvester.config import Audience
from fedcat.harvester.demo import FaultAction, OAIRepository, OAIServer
from fedcat.harvester.demo.corpus import generate_records
from fedcat.harvester.demo.oai_server import FaultContext
from fedcat.harvester.pipeline.progress import NullProgress
from fedcat.harvester.store import Outcome, RunStatus

from .conftest import center, source_for
from .test_cli import cli_env, closed_port, config_for, fedcat, live, read_db, summary_row


def get(app: Any, path: str, key: str | None = None, **headers: str) -> httpx.Response:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            return await client.get(path)
    return asyncio.run(go())


def once_unavailable(verb: str = "ListRecords") -> Any:
    """A fault hook: the first ``verb`` request answers 503 (the harvester retries it)."""
    seen: list[int] = []

    def fault(ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") == verb and not seen:
            seen.append(ctx.request_number)
            return FaultAction(status=503, headers={"Retry-After": "0"})
        return None
    return fault


def scrape(app: Any, key: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """``/metrics`` parsed with Prometheus's text parser: each sample name's (labels, value) pairs."""
    resp = get(app, "/metrics", key)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(resp.text):
        types[family.name] = family.type
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    assert types["fedcat_harvest_runs"] == "gauge"
    assert types["fedcat_harvest_records"] == types["fedcat_harvest_retries"] == "counter"
    assert types["fedcat_index_pending_records"] == "gauge"
    assert types["fedcat_http_request_duration_seconds"] == "histogram"
    return samples


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    matching = [v for lbl, v in samples.get(name, []) if all(lbl.get(k) == want for k, want in labels.items())]
    assert matching, f"no {name} sample with {labels}"
    return sum(matching)


def test_metrics_are_scraped_by_an_officer_and_parse_as_prometheus_text(
        catalog_factory: Any, oai_server: OAIServer) -> None:
    oai_server.fault = once_unavailable()
    cat: Catalog = catalog_factory([source_for(oai_server)])
    (report,) = cat.harvester.harvest()
    assert report.status is RunStatus.SUCCEEDED and report.retries == {"http_503": 1}
    officer = cat.store.keys.create("ops", Audience.OFFICER)[1]
    registered = cat.store.keys.create("reader", Audience.REGISTERED)[1]
    app = create_app(catalog=cat)
    assert create_app(catalog=cat) is not app  # a second app keeps its own registry: no clash

    record_id = next(iter(cat.store.records.iter_records("ncdc"))).id
    assert get(app, f"/api/v1/records/{record_id}").status_code == 200
    assert get(app, "/api/v1/search?q=glacier").status_code == 200
    assert get(app, "/no/such/page").status_code == 404

    # only an officer's key: none is 401, another audience's 403, a wrong key 401, all in the envelope
    anonymous = get(app, "/metrics")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["error"]["code"] == "unauthorized"
    assert get(app, "/metrics", registered).json()["error"] == {
        "status": 403, "code": "forbidden", "message": "only an officer's API key may read the metrics"}
    assert get(app, "/metrics", "not-a-key").json()["error"]["status"] == 401
    assert "fedcat_harvest" not in anonymous.text

    samples = scrape(app, officer)
    assert value(samples, "fedcat_harvest_runs", source="ncdc", status="succeeded") == 1
    assert value(samples, "fedcat_harvest_runs", source="ncdc", status="interrupted") == 0
    for outcome in Outcome:
        assert value(samples, "fedcat_harvest_records_total", source="ncdc", outcome=outcome.value) == \
            report.counts.get(outcome.value, 0)
    assert value(samples, "fedcat_harvest_records_total", outcome="added") > 0
    assert value(samples, "fedcat_harvest_retries_total", source="ncdc", reason="http_503") == 1
    assert value(samples, "fedcat_index_pending_records", source="ncdc") == 0

    routes = {labels["route"] for labels, _ in samples["fedcat_http_request_duration_seconds_count"]}
    assert {"/api/v1/records/{record_id}", "/api/v1/search", "unmatched", "/metrics"} <= routes
    assert not any(record_id in route or "/no/such" in route for route in routes), routes
    latency = "fedcat_http_request_duration_seconds_count"
    assert value(samples, latency, route="/api/v1/records/{record_id}", method="GET", status="2xx") == 1
    assert value(samples, latency, route="unmatched", method="GET", status="4xx") == 1
    assert value(samples, latency, route="/metrics", status="4xx") == 3  # the refused scrapes
    assert value(samples, "fedcat_http_request_duration_seconds_bucket", route="/api/v1/search", le="+Inf") == 1

    # the same search again is answered from the kept first page
    hits, misses = value(samples, "fedcat_search_cache_answers_total", result="hit"), \
        value(samples, "fedcat_search_cache_answers_total", result="miss")
    assert misses >= 1
    assert get(app, "/api/v1/search?q=glacier").status_code == 200
    assert value(scrape(app, officer), "fedcat_search_cache_answers_total", result="hit") >= hits + 1

    # the index lag: records stored but not yet searchable
    live_records = cat.store.indexing.mark_all_pending()
    assert value(scrape(app, officer), "fedcat_index_pending_records", source="ncdc") == live_records > 0


def test_sigterm_mid_harvest_stores_the_page_marks_the_run_interrupted_and_exits(tmp_path: Path) -> None:
    """A real ``fedcat --log-format json harvest`` against a slow server, sent SIGTERM after its first pages."""
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c), page_size=25)
    n_live = len(live(repo.records()))
    first_503 = once_unavailable()

    # From the third listing page on, the server holds its answer until the test has sent SIGTERM:
    # the signal always arrives while the listing is under way, however slowly the machine runs.
    gate = threading.Event()
    listing_pages = itertools.count(1)

    def slow(ctx: FaultContext) -> FaultAction | None:
        if ctx.params.get("verb") == "ListRecords" and next(listing_pages) >= 3:
            gate.wait(30)
        return first_503(ctx) or (FaultAction(delay=0.2) if ctx.params.get("verb") == "ListRecords" else None)

    with OAIServer(repo) as server:
        server.fault = slow
        config = tmp_path / "fedcat.yaml"
        config.write_text(config_for(server.url, http={"max_retries": 2, "backoff_base": 0.01, "backoff_max": 0.05}),
                          encoding="utf-8")
        db = tmp_path / "fedcat-data" / "records.sqlite3"
        err_path = tmp_path / "harvest.err"
        with open(tmp_path / "harvest.out", "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--log-format", "json", "-v",
                                     "--config", str(config), "harvest"],
                                    cwd=tmp_path, env=cli_env(), stdout=out, stderr=err)
            try:
                stored = 0
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and proc.poll() is None and stored == 0:
                    try:
                        stored = read_db(db, "SELECT COUNT(*) FROM records")[0][0]
                    except sqlite3.Error:
                        stored = 0
                    time.sleep(0.02)
                assert proc.poll() is None and stored > 0, "no page stored while the harvest ran"
                proc.send_signal(signal.SIGTERM)
                sent = time.monotonic()
                gate.set()
                proc.wait(timeout=10)
                took = time.monotonic() - sent
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        assert proc.returncode == 128 + signal.SIGTERM, err_path.read_text()
        assert took < 5, f"took {took:.1f}s to stop"
        assert summary_row((tmp_path / "harvest.out").read_text(), "example")["status"] == "interrupted"

        kept = read_db(db, "SELECT COUNT(*) FROM records")[0][0]
        assert 0 < kept < len(repo.records())
        (run,) = json.loads(fedcat(tmp_path, "--config", str(config), "harvests", "--json").stdout)["harvests"]
        assert run["status"] == "interrupted" and run["pages"] == kept // 25
        assert "stopped on request" in run["message"]
        assert read_db(db, "SELECT COUNT(*) FROM checkpoints")[0][0] == 1

        # every stderr line is one JSON event; the run's events name its source and run
        events = [json.loads(line) for line in err_path.read_text(encoding="utf-8").splitlines()]
        assert events and all({"time", "level", "logger", "message"} <= e.keys() for e in events)
        about_run = [e for e in events if e.get("source_id") == "example"]
        assert {e["run_id"] for e in about_run} == {run["id"]}
        assert any("http_503" in e["message"] and e["level"] == "warning" for e in about_run), events
        assert any(e["message"].startswith("[example] stopped on request") for e in about_run), events

        server.fault = None
        again = fedcat(tmp_path, "--config", str(config), "harvest")
        assert again.returncode == 0, again.stderr
        assert summary_row(again.stdout, "example")["status"] == "succeeded"
        runs = json.loads(fedcat(tmp_path, "--config", str(config), "harvests", "--json").stdout)["harvests"]
        assert runs[0]["pages"] < len(repo.records()) // 25, "the second run resumed, it did not list all again"

    live_ids = [row[0] for row in read_db(db, "SELECT local_id FROM records WHERE deleted = 0")]
    assert sorted(live_ids) == sorted(r.local_id for r in live(repo.records())) and len(live_ids) == n_live
    assert read_db(db, "SELECT COUNT(*) FROM records")[0][0] == len(repo.records())
    assert read_db(db, "SELECT COUNT(*) FROM checkpoints")[0][0] == 0


def test_serve_and_schedule_exit_promptly_and_cleanly_on_sigterm(tmp_path: Path) -> None:
    """Services stopped as systemd or Kubernetes stop them: SIGTERM, then exit 0 within seconds."""
    port = closed_port()
    config = tmp_path / "fedcat.yaml"
    config.write_text(config_for(f"http://127.0.0.1:{closed_port()}/oai") + '    schedule: "0 3 * * *"\n',
                      encoding="utf-8")
    fedcat(tmp_path, "--config", str(config), "status")  # the store and index exist before both start
    outs = {name: tmp_path / f"{name}.out" for name in ("serve", "schedule")}
    commands = {"serve": ["serve", "--port", str(port)], "schedule": ["schedule"]}
    procs = {name: subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--config", str(config), *args],
                                    cwd=tmp_path, env=cli_env(), stdout=outs[name].open("w"),
                                    stderr=subprocess.STDOUT)
             for name, args in commands.items()}
    try:
        deadline = time.monotonic() + 30
        serving = scheduling = False
        while time.monotonic() < deadline and not (serving and scheduling):
            scheduling = "scheduler running" in outs["schedule"].read_text()
            try:
                serving = httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200
            except httpx.TransportError:
                serving = False
            time.sleep(0.05)
        assert serving and scheduling, {name: out.read_text() for name, out in outs.items()}
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        for name, proc in procs.items():
            proc.wait(timeout=10)
            assert proc.returncode == 0, outs[name].read_text()
            assert "Traceback" not in outs[name].read_text()
        assert time.monotonic() - sent < 5
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


class StopAfterFirstPage(NullProgress):
    """Asks the harvester to stop once its first page is stored (as the CLI does on SIGTERM)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None:
        self.catalog.harvester.stop.set()


@pytest.mark.parametrize("map_process", [False, True], ids=["mapping-here", "mapping-process"])
def test_a_stopped_run_keeps_its_pages_and_the_next_resumes(catalog_factory: Any, oai_server: OAIServer,
                                                             map_process: bool) -> None:
    cat: Catalog = catalog_factory([source_for(oai_server)], map_process=map_process)
    (stopped,) = cat.harvester.harvest(progress=StopAfterFirstPage(cat))
    assert stopped.status is RunStatus.INTERRUPTED and "stopped on request" in (stopped.message or "")
    assert 1 <= stopped.pages < 3
    assert cat.store.runs.checkpoint("ncdc") is not None
    assert cat.harvester.harvest() == [], "no run starts once the harvester is asked to stop"

    cat.harvester.stop.clear()
    (resumed,) = cat.harvester.harvest()
    assert resumed.status is RunStatus.SUCCEEDED and resumed.pages == 3 - stopped.pages
    assert cat.store.runs.checkpoint("ncdc") is None
    stats = cat.store.records.source_stats()["ncdc"]
    assert stats["records"] + stats["deleted"] == len(oai_server.repository.records())
