"""Harvest benchmark: fedcat against bare Sickle over the same loopback OAI-PMH server.

    python bench/harvest.py                      # 50k records, 200k for RSS, 20 x 5k sources
    python bench/harvest.py --records 5000 --rss-records 0 --sources 5 --source-records 1000   # quick

Reports, in one run and as ratios against baselines measured in the same run:

1. bare Sickle iteration rate over an N-record oai_dc server (the baseline);
2. `fedcat harvest` rate into a fresh store + index, its ratio to (1), and its peak RSS (of the
   harvest process and its children together), with the defaults and with mapping and index writes
   in child processes (`map_process`, `index.write_process`); then the peak RSS of a 200k-record
   harvest, both ways;
   and the CPU per record of that harvest (its process's user + system time, against bare Sickle's), split
   into the stages each run's report keeps (map, store, index, metrics: the harvesting thread's CPU,
   harvester/pipeline/stage_clock.py) and the rest (the listing's fetching and parsing thread, tantivy's
   merging threads, start-up);
3. an unchanged re-harvest (incremental, and with --full) as a share of the full harvest time;
4. the ratio of (2) to (1) again, against a server that answers like a remote one: pages of 100
   records, each after the per-page delay of (5);
5. S sources x M records with a delay per page: total time against the slowest single source, and
   the same ratio for bare Sickle (one thread per source), which is what the machine and the server
   allow a client that does nothing with the records.

Servers run in a separate process so they do not share the harvester's interpreter.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger("bench.harvest")
HERE = Path(__file__).resolve()


# -- server side (run in a child process) -------------------------------------------------------


def serve(count: int, records: int, page_size: int, delay: float, ports_file: Path) -> None:
    from fedcat.harvester.demo.corpus import DemoCenter, demo_centers, generate_records
    from fedcat.harvester.demo.oai_server import FaultAction, FaultContext, OAIRepository, OAIServer

    template = next(c for c in demo_centers() if c.id == "ncdc")
    base = generate_records(template)
    servers = []
    for s in range(count):
        center = DemoCenter(**{**template.__dict__, "id": f"b{s}", "n_records": records, "page_size": page_size,
                               "metadata_formats": ("oai_dc",)})
        start = datetime(2020, 1, 1, tzinfo=UTC)
        # every record its own dataset (own DOI and CSTR), as in a real center
        recs = [replace(base[i % len(base)], local_id=f"r{i:07d}", identifier=f"oai:b{s}:r{i:07d}", deleted=False,
                        datestamp=start + timedelta(minutes=i), doi=f"10.99999/b{s}.r{i:07d}",
                        cstr=f"CSTR:99999.11.b{s}.r{i:07d}") for i in range(records)]
        server = OAIServer(OAIRepository(center, recs), port=0)
        if delay:
            def slow(ctx: FaultContext, d: float = delay) -> FaultAction | None:
                return FaultAction(delay=d) if ctx.params.get("verb") == "ListRecords" else None
            server.fault = slow
        servers.append(server.start())
    ports_file.write_text(json.dumps([srv.url for srv in servers]))
    while True:
        time.sleep(3600)


class Servers:
    def __init__(self, count: int, records: int, page_size: int, delay: float = 0.0) -> None:
        self.ports_file = Path(tempfile.mkdtemp()) / "urls.json"
        self.proc = subprocess.Popen([sys.executable, str(HERE), "--serve", str(count), str(records), str(page_size),
                                      str(delay), str(self.ports_file)])
        deadline = time.monotonic() + 600
        while not self.ports_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("benchmark server did not start")
            time.sleep(0.2)
        time.sleep(0.2)
        self.urls: list[str] = json.loads(self.ports_file.read_text())

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


# -- client side --------------------------------------------------------------------------------


def bare_sickle(url: str) -> tuple[int, float]:
    from sickle import Sickle

    start = time.perf_counter()
    n = sum(1 for _ in Sickle(url).ListRecords(metadataPrefix="oai_dc"))
    return n, time.perf_counter() - start


def _tree_rss(pid: int) -> tuple[int, int, int]:
    """Resident bytes of a process and its descendants (the index writer process), from /proc: (all,
    anonymous, file-backed: the index's mapped files and the libraries)."""
    total = anon = file = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                fields = {k: int(v.split()[0]) * 1024 for k, _, v in (line.partition(":") for line in f)
                          if k in ("VmRSS", "RssAnon", "RssFile")}
            total += fields.get("VmRSS", 0)
            anon += fields.get("RssAnon", 0)
            file += fields.get("RssFile", 0)
            for task in os.listdir(f"/proc/{p}/task"):  # children are listed by the thread that started them
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total, anon, file


@dataclass
class Memory:
    """A harvest's peak resident memory (bytes): the largest sampled sum (or the process's own ``wait4``
    peak, if larger), and the largest anonymous and file-backed parts seen."""

    peak: int = 0
    anon: int = 0
    file: int = 0


class PeakRss:
    """Samples the RSS of a process tree every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.memory = pid, Memory()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            total, anon, file = _tree_rss(self.pid)
            m = self.memory
            m.peak, m.anon, m.file = max(m.peak, total), max(m.anon, anon), max(m.file, file)

    def stop(self) -> Memory:
        self._stop.set()
        self._thread.join()
        return self.memory


def run_fedcat(config: dict[str, Any], folder: Path, *extra: str,
               cpu: dict[str, Any] | None = None) -> tuple[float, Memory, str]:
    """Run `fedcat harvest` as a child; returns (seconds, peak resident memory, stdout).

    The peak RSS is the larger of the harvest process's own peak (``wait4``) and the peak of the
    sampled sum of it and its children (the embedded index's writer process). With ``cpu``, ``cpu`` gets
    the process's CPU seconds (``wait4``: user + system, its own threads only) as ``process_s``, and the
    CPU seconds of each stage summed over the newest run of each source (``stages``, from the run reports
    in the store: ``cpu_s``).
    """
    import yaml

    cfg = folder / "bench.yaml"
    cfg.write_text(yaml.safe_dump(config, allow_unicode=True))
    start = time.perf_counter()
    # Bytecode is cached as in any installed copy, even where PYTHONDONTWRITEBYTECODE is set: a re-harvest
    # would otherwise time recompiling fedcat's modules.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen([sys.executable, "-m", "fedcat.api.cli", "--config", str(cfg), "harvest", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    sampler = PeakRss(proc.pid)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    memory = sampler.stop()
    if status != 0:
        raise RuntimeError(f"fedcat harvest exited with {status}: {out}")
    memory.peak = max(usage.ru_maxrss * 1024, memory.peak)
    if cpu is not None:
        cpu["process_s"] = usage.ru_utime + usage.ru_stime
        cpu["stages"] = stage_seconds(Path(config["data_dir"]) / "records.sqlite3",
                                      [s["id"] for s in config["sources"]])
    return elapsed, memory, out


def stage_seconds(store_path: Path, source_ids: list[str]) -> dict[str, float]:
    """The CPU seconds of each stage, summed over the newest run of each source in the store."""
    from fedcat.harvester.store import RecordStore

    total: dict[str, float] = {}
    store = RecordStore(store_path)
    try:
        for source_id in source_ids:
            for run in store.runs.recent(source_id, limit=1):
                for stage, seconds in run.cpu_s.items():
                    total[stage] = total.get(stage, 0.0) + seconds
    finally:
        store.close()
    return total


def config_for(urls: list[str], data: Path, workers: int) -> dict[str, Any]:
    return {"data_dir": str(data), "workers": workers,
            "sources": [{"id": f"b{i}", "name": f"基准{i}", "url": u, "metadata_prefix": "oai_dc",
                         "policy": {"security": "general"}} for i, u in enumerate(urls)]}


#: The settings that put mapping and index writes in child processes (see docs/performance.md).
CHILDREN = {"map_process": True, "index": {"write_process": True}}


def single_source(records: int, page_size: int) -> dict[str, Any]:
    with Servers(1, records, page_size) as srv, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sickle_cpu = time.process_time()
        n, sickle_s = bare_sickle(srv.urls[0])
        sickle_cpu_s = time.process_time() - sickle_cpu
        cfg = config_for(srv.urls, folder / "data", 1)
        cpu: dict[str, Any] = {}
        fedcat_s, memory, _ = run_fedcat(cfg, folder, cpu=cpu)
        again_s, _, _ = run_fedcat(cfg, folder)
        full_again_s, _, _ = run_fedcat(cfg, folder, "--full")
        (folder / "children").mkdir()
        children_s, children_memory, _ = run_fedcat({**config_for(srv.urls, folder / "children" / "data", 1),
                                                  **CHILDREN}, folder / "children")
    return {
        "children_rate": n / children_s,
        "ratio_children_to_sickle": sickle_s / children_s,
        "children_peak_rss_mb": children_memory.peak / 2**20,
        "records": n,
        "sickle_rate": n / sickle_s,
        "fedcat_rate": n / fedcat_s,
        "ratio_fedcat_to_sickle": (n / fedcat_s) / (n / sickle_s),
        "fedcat_seconds": fedcat_s,
        "sickle_seconds": sickle_s,
        "peak_rss_mb": memory.peak / 2**20,
        "reharvest_incremental_share": again_s / fedcat_s,
        "reharvest_full_share": full_again_s / fedcat_s,
        "sickle_cpu_s": sickle_cpu_s,
        "fedcat_cpu": cpu,
    }


def remote_like(records: int, page_size: int, delay: float) -> dict[str, Any]:
    """Bare Sickle and fedcat over a server that waits ``delay`` before each page, as a distant one does."""
    with Servers(1, records, page_size, delay) as srv, tempfile.TemporaryDirectory() as tmp:
        n, sickle_s = bare_sickle(srv.urls[0])
        fedcat_s, _, _ = run_fedcat(config_for(srv.urls, Path(tmp) / "data", 1), Path(tmp))
    return {"records": n, "page_size": page_size, "page_delay_s": delay, "sickle_seconds": sickle_s,
            "fedcat_seconds": fedcat_s, "ratio_fedcat_to_sickle": sickle_s / fedcat_s}


def rss_only(records: int, page_size: int) -> dict[str, Any]:
    """Harvests of a large source for their peak RSS (no baseline): with the defaults (one process)
    and with mapping and index writes in child processes."""
    out: dict[str, Any] = {"records": records}
    with Servers(1, records, page_size) as srv:
        for label, extra in (("default", {}), ("children", CHILDREN)):
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                seconds, memory, _ = run_fedcat({**config_for(srv.urls, folder / "data", 1), **extra}, folder)
            out[label] = {"seconds": seconds, "peak_rss_mb": memory.peak / 2**20,
                          "peak_anon_mb": memory.anon / 2**20, "peak_file_mb": memory.file / 2**20}
    return out


def many_sources(count: int, records: int, page_size: int, delay: float) -> dict[str, Any]:
    with Servers(count, records, page_size, delay) as srv, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        singles = []
        for i, url in enumerate(srv.urls[:3]):
            (folder / f"one{i}").mkdir()
            s, _, _ = run_fedcat(config_for([url], folder / f"one{i}" / "data", 1), folder / f"one{i}")
            singles.append(s)
        (folder / "all").mkdir()
        all_s, _, _ = run_fedcat(config_for(srv.urls, folder / "all" / "data", count), folder / "all")
        sickle_slowest = max(bare_sickle(url)[1] for url in srv.urls[:3])
        start = time.perf_counter()
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(bare_sickle, srv.urls))
        sickle_all = time.perf_counter() - start
    slowest = max(singles)
    return {"sources": count, "records_each": records, "page_delay_s": delay, "slowest_single_seconds": slowest,
            "all_seconds": all_s, "ratio_all_to_slowest": all_s / slowest,
            "sickle_slowest_single_seconds": sickle_slowest, "sickle_all_seconds": sickle_all,
            "sickle_ratio_all_to_slowest": sickle_all / sickle_slowest}


def cpu_lines(r: dict[str, Any]) -> str:
    """CPU per record of the full harvest, by stage, against bare Sickle's (target: fedcat <= 0.5 ms)."""
    n, cpu = r["records"], r["fedcat_cpu"]
    stages = cpu["stages"]
    other = cpu["process_s"] - sum(stages.values())
    per = ", ".join(f"{stage} {1000 * s / n:.3f}" for stage, s in stages.items())
    return (f"  CPU per record (ms): fedcat {1000 * cpu['process_s'] / n:.3f} (the harvest process, user + system;"
            f" target <= 0.5), bare Sickle {1000 * r['sickle_cpu_s'] / n:.3f}\n"
            f"    by stage (the harvesting thread's CPU): {per}; other {1000 * other / n:.3f} (fetching and parsing"
            " the listing, tantivy's merging threads, start-up)\n")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), Path(sys.argv[6]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=50_000)
    p.add_argument("--page-size", type=int, default=500)
    p.add_argument("--sources", type=int, default=20)
    p.add_argument("--source-records", type=int, default=5_000)
    p.add_argument("--source-page-size", type=int, default=500)
    p.add_argument("--page-delay", type=float, default=0.2)
    p.add_argument("--remote-records", type=int, default=20_000,
                   help="records of the remote-like source (pages of --remote-page-size, --page-delay each; 0: skip)")
    p.add_argument("--remote-page-size", type=int, default=100)
    p.add_argument("--rss-records", type=int, default=200_000,
                   help="records of the source harvested for peak RSS alone (0: skip)")
    p.add_argument("--skip-single", action="store_true")
    p.add_argument("--skip-many", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results: dict[str, Any] = {}
    if not args.skip_single:
        results["single"] = single_source(args.records, args.page_size)
    if args.remote_records:
        results["remote"] = remote_like(args.remote_records, args.remote_page_size, args.page_delay)
    if args.rss_records:
        results["rss"] = rss_only(args.rss_records, args.page_size)
    if not args.skip_many:
        results["many"] = many_sources(args.sources, args.source_records, args.source_page_size, args.page_delay)
    if args.json:
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
        return 0
    if "single" in results:
        r = results["single"]
        sys.stdout.write(
            f"single source, {r['records']} oai_dc records\n"
            f"  bare Sickle:         {r['sickle_rate']:8.0f} records/s ({r['sickle_seconds']:.1f} s)  [baseline]\n"
            f"  fedcat harvest:      {r['fedcat_rate']:8.0f} records/s ({r['fedcat_seconds']:.1f} s)"
            f"  ratio {r['ratio_fedcat_to_sickle']:.2f}x  (target >= 0.75x)\n"
            f"  peak RSS:            {r['peak_rss_mb']:8.0f} MB\n"
            f"  with child processes:{r['children_rate']:8.0f} records/s  ratio {r['ratio_children_to_sickle']:.2f}x,"
            f" peak RSS {r['children_peak_rss_mb']:.0f} MB  (map_process, index.write_process)\n"
            f"  re-harvest, unchanged, incremental: {100 * r['reharvest_incremental_share']:.1f}% of the full harvest"
            f" (target <= 2%)\n"
            f"  re-harvest, unchanged, --full:      {100 * r['reharvest_full_share']:.1f}% of the full harvest\n"
            + cpu_lines(r))
    if "remote" in results:
        r = results["remote"]
        sys.stdout.write(
            f"single source, {r['records']} oai_dc records, {r['page_size']} per page, {r['page_delay_s']} s per page\n"
            f"  bare Sickle:    {r['sickle_seconds']:6.1f} s  [baseline]\n"
            f"  fedcat harvest: {r['fedcat_seconds']:6.1f} s  ratio {r['ratio_fedcat_to_sickle']:.2f}x"
            "  (target >= 1.0x)\n")
    if "rss" in results:
        r = results["rss"]
        d, c = r["default"], r["children"]
        sys.stdout.write(
            f"single source, {r['records']} oai_dc records, fedcat only (target: peak RSS <= 250 MB)\n"
            f"  peak RSS, defaults:        {d['peak_rss_mb']:6.0f} MB  (one process; harvest {d['seconds']:.0f} s)\n"
            f"    of which at most {d['peak_anon_mb']:.0f} MB anonymous, {d['peak_file_mb']:.0f} MB file-backed"
            " (index files mapped by tantivy, libraries)\n"
            f"  peak RSS, child processes: {c['peak_rss_mb']:6.0f} MB  (map_process, index.write_process;"
            f" harvest {c['seconds']:.0f} s)\n"
            f"    of which at most {c['peak_anon_mb']:.0f} MB anonymous, {c['peak_file_mb']:.0f} MB file-backed\n")
    if "many" in results:
        m = results["many"]
        sys.stdout.write(
            f"{m['sources']} sources x {m['records_each']} records, {m['page_delay_s']} s per page\n"
            f"  slowest single source: {m['slowest_single_seconds']:.1f} s  [baseline]\n"
            f"  all sources at once:   {m['all_seconds']:.1f} s  ratio {m['ratio_all_to_slowest']:.2f}x"
            f"  (target <= 1.5x)\n"
            f"  bare Sickle, same sources: slowest single {m['sickle_slowest_single_seconds']:.1f} s,"
            f" all at once {m['sickle_all_seconds']:.1f} s, ratio {m['sickle_ratio_all_to_slowest']:.2f}x\n"
            f"  fedcat's ratio against bare Sickle's:"
            f" {m['ratio_all_to_slowest'] / m['sickle_ratio_all_to_slowest']:.2f}x  (target <= 1.2x)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
