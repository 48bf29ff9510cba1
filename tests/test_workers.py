"""``fedcat serve --workers N``: N processes answer on one port, each sees what another wrote at its
next request (its kept search answers included), and SIGTERM stops them all."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fedcat.harvester.demo import OAIRepository, OAIServer
from fedcat.harvester.demo.corpus import generate_records

from .conftest import center
from .test_cli import cli_env, closed_port, config_for, fedcat
from .test_replicas import wait_ready


def children(pid: int) -> set[int]:
    """The worker processes under ``pid`` (not multiprocessing's resource tracker)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    found = set()
    for child in map(int, text.split()):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"resource_tracker" not in cmdline:
            found.add(child)
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_two_workers_serve_one_catalog_and_stop_together(tmp_path: Path) -> None:
    c = center("ncdc")
    with OAIServer(OAIRepository(c, generate_records(c)[:60], page_size=30)) as server:
        config = tmp_path / "fedcat.yaml"
        config.write_text(config_for(server.url), encoding="utf-8")
        assert fedcat(tmp_path, "--config", str(config), "harvest").returncode == 0
    key = fedcat(tmp_path, "--config", str(config), "keys", "create", "--name", "officer-1",
                 "--audience", "officer").stdout.strip()
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115  # the process keeps it
    proc = subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--config", str(config), "serve", "--port",
                             str(port), "--workers", "2"], cwd=tmp_path, env=cli_env(), stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    try:
        wait_ready(url, proc)
        deadline = time.monotonic() + 20
        while len(children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = children(proc.pid)
        assert len(workers) == 2, workers

        def open_ids() -> set[str]:  # a connection of its own: any worker may take it
            hits = httpx.get(f"{url}/api/v1/search", params={"openness": "open", "size": 100}, timeout=10,
                             headers={"Connection": "close"}).json()["hits"]
            return {h["id"] for h in hits}

        def until_each_worker_answered(expected: set[str]) -> None:
            start = {pid: cpu_ticks(pid) for pid in workers}
            for _ in range(300):
                assert open_ids() == expected
                if all(cpu_ticks(pid) > start[pid] for pid in workers):
                    return
            raise AssertionError("one worker never answered")

        before = open_ids()
        rec_id = sorted(before)[0]
        until_each_worker_answered(before)  # each worker answers (and keeps) this search
        resp = httpx.post(f"{url}/api/v1/records/{rec_id}/overrides", headers={"Authorization": f"Bearer {key}"},
                          json={"tag": "openness", "value": "metadata_only", "reason": "landing page only"})
        assert resp.status_code == 201, resp.text
        until_each_worker_answered(before - {rec_id})  # whichever answers, the override is in its search at once
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, (tmp_path / "serve.log").read_text(encoding="utf-8")
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_workers_below_one_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "fedcat.yaml"
    config.write_text("data_dir: ./d\nsources: []\n", encoding="utf-8")
    done = fedcat(tmp_path, "--config", str(config), "serve", "--port", str(closed_port()), "--workers", "0")
    assert done.returncode == 2 and "--workers must be at least 1" in done.stderr
