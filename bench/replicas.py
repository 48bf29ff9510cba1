"""API replicas benchmark: search throughput of 1 `fedcat serve` process against N over one catalog.

    python bench/replicas.py                          # demo corpus x 25, 32 clients, 30 s per measurement
    python bench/replicas.py --scale 5 --duration 10 --rounds 1   # quick

One catalog is built once: the five demo OAI-PMH centers (``fedcat.harvester.demo``, ``--scale`` times
their records, served by a child process) harvested with ``fedcat harvest`` into a PostgreSQL store (a
throwaway server started for the run, see bench/store_backends.py) and the embedded index, then
``fedcat reindex`` (which also mines the bilingual term table, as in a deployment). Every server process
is ``fedcat --config X serve --port P`` over that same config: one PostgreSQL database and one
``data_dir``, whose embedded index all processes open at once.

Each measurement starts the processes on their own ports, waits for ``/readyz``, checks that they all
answer the same query alike, lets the clients run ``--warmup`` seconds, then measures ``--duration``
seconds: ``--clients`` threads, each with its own keep-alive ``httpx.Client``, send
``GET /api/v1/search`` one after another; request k goes to port k mod N (round-robin, no load
balancer). The queries are drawn at random (fixed seed per thread) from a mixed list: the 88 queries of
bench/relevance_judgements.yaml (Chinese, English, Traditional, mixed), the empty query, and the empty
query and some of the judged queries with one facet filter, taken from the values of the catalog's own
facets. Every request asks for the default page (20 hits) and all facets, as the web page does.

An error is a response other than 200 or a failed request (timeout 60 s). Printed for each
measurement: requests/s, p50 and p99 latency, errors, and the CPU seconds used per wall second by the
server processes and by the client threads (all on the same machine); then the ratio N/1 of
requests/s from the same run. The measurements alternate 1, N, N, 1, ...
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from store_backends import (
    DemoCorpus,
    PostgresCluster,
    fedcat_env,
    free_port,
    machine_busy_seconds,
    run_fedcat,
    write_config,
)

log = logging.getLogger("bench.replicas")
HERE = Path(__file__).resolve()
JUDGEMENTS = HERE.parent / "relevance_judgements.yaml"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Params = dict[str, str]


# -- the query list ------------------------------------------------------------------------------------


def judged_queries() -> list[str]:
    data = yaml.safe_load(JUDGEMENTS.read_text(encoding="utf-8"))
    return [str(q["query"]) for q in data["queries"]]


def query_mix(facets: dict[str, list[dict[str, Any]]], seed: int = 0) -> list[Params]:
    """The judged queries, the empty query, and the empty query and some judged queries with one facet
    filter (the two most frequent values of each facet of the whole catalog)."""
    texts = judged_queries()
    mix: list[Params] = [{"q": t} for t in texts] + [{"q": ""}]
    rng = random.Random(seed)
    for name, buckets in sorted(facets.items()):
        for bucket in buckets[:2]:
            value = str(bucket["value"])
            mix.append({"q": "", name: value})
            mix.append({"q": rng.choice(texts), name: value})
    return mix


# -- server processes --------------------------------------------------------------------------------


class Servers:
    """``count`` `fedcat serve` processes over one config, each on its own loopback port."""

    def __init__(self, config: Path, count: int, logs: Path) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = [logs / f"serve-{p}.log" for p in self.ports]
        try:
            for port, log_path in zip(self.ports, self.logs):
                with log_path.open("wb") as out:
                    self.procs.append(subprocess.Popen(
                        [sys.executable, "-m", "fedcat.api.cli", "--config", str(config), "serve", "--port",
                         str(port)], stdout=out, stderr=subprocess.STDOUT, env=fedcat_env()))
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(zip(self.ports, self.procs))
        while pending:
            for port, proc in list(pending.items()):
                if proc.poll() is not None:
                    raise RuntimeError(f"fedcat serve on port {port} exited with {proc.returncode}:\n"
                                       f"{self.log_tail(port)}")
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                    if r.status_code == 200:
                        del pending[port]
                    elif time.monotonic() > deadline:
                        raise RuntimeError(f"fedcat serve on port {port} not ready: {r.text}")
                except httpx.TransportError:
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"fedcat serve not ready on ports {sorted(pending)}")
            time.sleep(0.2)

    def log_tail(self, port: int) -> str:
        path = self.logs[self.ports.index(port)]
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the server processes."""
        total = 0
        for proc in self.procs:
            with open(f"/proc/{proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / CLOCK_TICKS

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the load ----------------------------------------------------------------------------------------


@dataclass
class Load:
    ports: list[int]
    queries: list[Params]
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, seconds: float, seed: int, record: bool) -> float:
        """``clients`` threads sending searches for ``seconds``; returns the wall time they took."""
        stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=self._client, args=(stop_at, seed * 1000 + i, record), daemon=True)
                   for i in range(self.clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start

    def _client(self, stop_at: float, seed: int, record: bool) -> None:
        rng = random.Random(seed)
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < stop_at:
                port = self.ports[next(self._counter) % len(self.ports)]
                params = rng.choice(self.queries)
                start = time.perf_counter()
                try:
                    r = client.get(f"http://127.0.0.1:{port}/api/v1/search", params=params)
                    r.read()
                    if r.status_code != 200:
                        errors[f"HTTP {r.status_code}"] += 1
                        continue
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - start)
        if record:
            with self._lock:
                self.latencies += latencies
                self.errors.update(errors)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(config: Path, count: int, queries: list[Params], clients: int, warmup: float, duration: float,
            logs: Path, seed: int, pg: PostgresCluster) -> dict[str, Any]:
    with Servers(config, count, logs) as servers:
        totals = {httpx.get(f"http://127.0.0.1:{p}/api/v1/search", params={"q": "冰川", "facets": "none"},
                            timeout=30).json()["total"] for p in servers.ports}
        if len(totals) != 1:
            raise RuntimeError(f"the {count} processes answer the same query differently: totals {totals}")
        Load(servers.ports, queries, clients).run(warmup, seed, record=False)
        load = Load(servers.ports, queries, clients)
        cpu0, mine0, pg0, busy0 = servers.cpu_seconds(), _own_cpu(), pg.cpu_seconds(), machine_busy_seconds()
        wall = load.run(duration, seed + 1, record=True)
        cpu1, mine1, pg1, busy1 = servers.cpu_seconds(), _own_cpu(), pg.cpu_seconds(), machine_busy_seconds()
        alive = sum(p.poll() is None for p in servers.procs)
    ok = len(load.latencies)
    res = {"processes": count, "requests": ok, "errors": dict(load.errors), "wall_s": wall,
           "rps": ok / wall, "p50_ms": 1000 * percentile(load.latencies, 0.50),
           "p99_ms": 1000 * percentile(load.latencies, 0.99),
           "mean_ms": 1000 * statistics.fmean(load.latencies) if ok else float("nan"),
           "server_cpu": (cpu1 - cpu0) / wall, "client_cpu": (mine1 - mine0) / wall,
           "pg_cpu": (pg1 - pg0) / wall, "machine_cpu": (busy1 - busy0) / wall, "alive_after": alive}
    log.info("%d process(es): %.1f requests/s, p50 %.0f ms, p99 %.0f ms, %d errors, server CPU %.2f, client CPU"
             " %.2f, PostgreSQL CPU %.2f", count, res["rps"], res["p50_ms"], res["p99_ms"],
             sum(load.errors.values()), res["server_cpu"], res["client_cpu"], res["pg_cpu"])
    return res


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _snapshot(folder: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime)
            for p in folder.rglob("*") if p.is_file()}


# -- the benchmark ----------------------------------------------------------------------------------


def run(scale: int, page_size: int, replicas: int, clients: int, warmup: float, duration: float,
        rounds: int) -> dict[str, Any]:
    wall = time.perf_counter()
    with PostgresCluster() as pg, tempfile.TemporaryDirectory(prefix="fedcat-bench-replicas-") as tmp:
        folder = Path(tmp)
        url = pg.create_database("bench_replicas")
        with DemoCorpus(scale, page_size) as corpus:
            config = write_config(folder, corpus.sources, url)
            harvest_s = run_fedcat(config, "harvest").seconds
            records = corpus.records
        reindex = run_fedcat(config, "reindex")
        reindex_s = reindex.seconds
        log.info("catalog: %d records harvested in %.1f s, reindex %.1f s (%s)", records, harvest_s, reindex_s,
                 reindex.stdout.strip().splitlines()[-1])
        (folder / "logs").mkdir()
        with Servers(config, 1, folder / "logs") as one:
            first = httpx.get(f"http://127.0.0.1:{one.ports[0]}/api/v1/search", timeout=60).json()
        queries = query_mix(first["facets"])
        data = folder / "data"
        before = _snapshot(data)
        measurements: list[dict[str, Any]] = []
        for r in range(rounds):
            for count in ((1, replicas) if r % 2 == 0 else (replicas, 1)):
                measurements.append(measure(config, count, queries, clients, warmup, duration, folder / "logs",
                                            seed=100 * r + count, pg=pg))
        after = _snapshot(data)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return {"scale": scale, "records": records, "documents": first["total"], "harvest_s": harvest_s,
            "reindex_s": reindex_s, "queries": len(queries), "clients": clients, "replicas": replicas,
            "warmup_s": warmup, "duration_s": duration, "cpus": os.cpu_count(),
            "data_dir_files_changed_while_serving": changed, "measurements": measurements,
            "wall_s": time.perf_counter() - wall}


def report(res: dict[str, Any]) -> str:
    n = res["replicas"]
    lines = [f"catalog: demo corpus x {res['scale']}, {res['records']} records harvested ({res['documents']} "
             f"searchable documents), PostgreSQL store + embedded index in one data_dir; {res['cpus']} CPUs",
             f"load: {res['clients']} client threads, {res['queries']} queries in the mix, {res['warmup_s']:.0f} s "
             f"warm-up, {res['duration_s']:.0f} s measured; round-robin over the processes' ports",
             f"{'processes':>9}{'requests/s':>12}{'p50 (ms)':>10}{'p99 (ms)':>10}{'requests':>10}{'errors':>8}"
             f"{'server CPU':>12}{'client CPU':>12}{'PG CPU':>8}{'machine':>9}{'alive':>7}"]
    for m in res["measurements"]:
        errors = sum(m["errors"].values())
        lines.append(f"{m['processes']:>9}{m['rps']:>12.1f}{m['p50_ms']:>10.0f}{m['p99_ms']:>10.0f}"
                     f"{m['requests']:>10}{errors:>8}{m['server_cpu']:>12.2f}{m['client_cpu']:>12.2f}{m['pg_cpu']:>8.2f}"
                     f"{m['machine_cpu']:>9.2f}"
                     f"{m['alive_after']:>4}/{m['processes']}"
                     + (f"  {m['errors']}" if errors else ""))
    ones = [m["rps"] for m in res["measurements"] if m["processes"] == 1]
    many = [m["rps"] for m in res["measurements"] if m["processes"] == n]
    if ones and many:
        lines.append(f"ratio {n}/1 requests/s: {statistics.median(many) / statistics.median(ones):.2f}x "
                     f"(medians; per round: {', '.join(f'{b / a:.2f}x' for a, b in zip(ones, many))})")
    lines.append("CPU columns: CPU seconds per wall second (1.00 = one core busy) of the server processes, of this "
                 "script's client threads, of PostgreSQL, of the whole machine (everything running);")
    lines.append("alive: server processes still running at the end")
    changed = res["data_dir_files_changed_while_serving"]
    lines.append("data_dir files changed while serving: " + (", ".join(changed) if changed else "none"))
    lines.append(f"catalog built in {res['harvest_s']:.0f} s (harvest) + {res['reindex_s']:.0f} s (reindex); "
                 f"wall time {res['wall_s']:.0f} s")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=25, help="records per demo center, times its demo count (600 in all)")
    p.add_argument("--page-size", type=int, default=200, help="records per OAI-PMH page of the harvest")
    p.add_argument("--replicas", type=int, default=4, help="server processes compared against one")
    p.add_argument("--clients", type=int, default=32, help="concurrent client threads")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of load before each measurement")
    p.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    p.add_argument("--rounds", type=int, default=2, help="pairs of measurements (1 and N processes)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    res = run(args.scale, args.page_size, args.replicas, args.clients, args.warmup, args.duration, args.rounds)
    sys.stdout.write(json.dumps(res, indent=2, ensure_ascii=False) + "\n" if args.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
