"""Stateless API replicas: two ``fedcat serve`` processes on one PostgreSQL store serve one catalog. What
is written through one (an officer's override and its audit entry), by the command line (API keys, a
harvest, the term table of ``fedcat reindex``) is seen by the other at its next request: nothing a
replica serves is kept only in its own process. (The replicas share the embedded index's folder here, as
they would share Elasticsearch in a deployment; nothing else is in it.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from fedcat.harvester.demo import OAIRepository, OAIServer
from fedcat.harvester.demo.corpus import generate_records

from .conftest import center
from .test_cli import cli_env, closed_port, config_for, fedcat


def start_replica(tmp_path: Path, config: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    port = closed_port()
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115  # the process keeps it
    proc = subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--config", str(config), "serve", "--port",
                             str(port)], cwd=tmp_path, env=cli_env(), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready (exit {proc.poll()})")


def test_what_one_replica_writes_the_other_serves(tmp_path: Path, pg_url: str) -> None:
    c = center("ncdc")
    repo = OAIRepository(c, generate_records(c)[:80], page_size=40)
    with OAIServer(repo) as server:
        config = tmp_path / "fedcat.yaml"
        config.write_text(config_for(server.url, store={"backend": "postgresql", "url": pg_url}), encoding="utf-8")
        assert fedcat(tmp_path, "--config", str(config), "harvest").returncode == 0
        key = fedcat(tmp_path, "--config", str(config), "keys", "create", "--name", "officer-1",
                     "--audience", "officer").stdout.strip()
        replicas = [start_replica(tmp_path, config, name) for name in ("a", "b")]
        try:
            for url, proc in ((u, p) for p, u in replicas):
                wait_ready(url, proc)
            (_, a), (_, b) = replicas
            officer = {"Authorization": f"Bearer {key}"}
            for url in (a, b):  # a key made by the command line works on every replica
                assert httpx.get(f"{url}/api/v1/whoami", headers=officer).json()["audience"] == "officer"

            def center_metrics(url: str) -> Any:
                resp = httpx.get(f"{url}/api/v1/centers/example/metrics")
                assert resp.status_code == 200, resp.text
                return resp.json()

            before = center_metrics(b)
            hits = httpx.get(f"{b}/api/v1/search", params={"openness": "open", "size": 1}).json()["hits"]
            rec_id = hits[0]["id"]

            # an officer's override through replica a ...
            resp = httpx.post(f"{a}/api/v1/records/{rec_id}/overrides", headers=officer,
                              json={"tag": "openness", "value": "metadata_only", "reason": "landing page only"})
            assert resp.status_code == 201, resp.text
            # ... is served by replica b: the record, its search facet, the center's metrics, the audit log
            assert httpx.get(f"{b}/api/v1/records/{rec_id}").json()["access"]["openness"] == "metadata_only"
            ids = {h["id"] for h in httpx.get(f"{b}/api/v1/search",
                                              params={"openness": "metadata_only", "size": 100}).json()["hits"]}
            assert rec_id in ids
            assert center_metrics(b) != before, "replica b's metrics cache saw the change made through a"
            audit = httpx.get(f"{b}/api/v1/audit", headers=officer).json()
            assert any(rec_id in str(entry) for entry in audit["entries"]), audit

            # the term table fedcat reindex writes reaches a replica already running
            assert fedcat(tmp_path, "--config", str(config), "reindex").returncode == 0
            body = httpx.get(f"{b}/api/v1/search", params={"q": "glacier"}).json()
            assert body["query"]["translations"], body["query"]

            # a key revoked by the command line is refused by every replica at once
            assert fedcat(tmp_path, "--config", str(config), "keys", "revoke", "officer-1").returncode == 0
            for url in (a, b):
                assert httpx.get(f"{url}/api/v1/whoami", headers=officer).status_code == 401
        finally:
            for proc, _ in replicas:
                proc.terminate()
            for proc, _ in replicas:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    assert sorted(p.name for p in (tmp_path / "fedcat-data").iterdir()) == ["index"], "only the index is a file"
