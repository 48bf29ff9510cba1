"""Search benchmark: fedcat's search API against the bare tantivy engine, on the same index.

    python bench/search.py                      # 1,000,000 records over 5 sources; S1, S2, S3
    python bench/search.py --records 20000 --sources 2 --repeats 3 --seconds 5     # quick (about 75 s)
    python bench/search.py --skip-reindex --skip-concurrency      # S1 only, on the catalog of the first line
    python bench/search.py --data-dir /srv/bench/search-1m --json # elsewhere than /tmp; JSON with per-query rows

Reports, in one run and as ratios against baselines measured in the same run:

0. the catalog, built through the real harvest path: ``--sources`` synthetic OAI-PMH sources of
   ``--records / --sources`` oai_dc records each (bench/harvest.py's server, ``--serve`` mode, in a child
   process; pages of 1,000), harvested by ``fedcat harvest`` (a child process) into ``--data-dir`` with the
   embedded index. A marker file written after a successful build (``bench-search.json``) lets a later run
   of the same size reuse the catalog: the harvest is then skipped. Its build time is printed.
1. S1, one client, warm: per query class (landing page, rare word, common word, English word, two words,
   Traditional-script word; a few queries each) the median over ``--repeats`` rounds of
   ``GET /api/v1/search?q=...`` against a ``fedcat serve`` child process (http.client on one kept-alive
   connection, the anonymous caller; the cheapest round trip, ``GET /livez``, is printed beside), and of
   the **bare engine**: the same index folder opened with
   ``tantivy.Index.open`` in this process, the identical tantivy query (built once, outside the timing,
   with fedcat's ``plan_search`` from the same ``SearchQuery``: the anonymous audience's visibility of the
   config and the translations of the store's term table, as the API uses them), timed as
   ``searcher.search(limit=20, count=True)`` (ordered by ``published_key`` when there is no text, as fedcat
   does) + reading the 20 stored documents + ``searcher.aggregate`` of the seven terms aggregations of
   ``FACETS`` (size 20). Each round starts its own ``fedcat serve`` and opens the bare index anew, warms
   both up with the same other queries (so no cache in either process holds a measured query: fedcat keeps
   answers to repeated searches, ``index.search_cache``, and tantivy its own), then sends every query twice
   in a row: the first request is the figure, the
   second (the "repeat", which such a cache may answer) is reported apart; the bare engine runs each query
   twice right after. Before the rounds the OS page cache is warmed with the measured queries on the bare
   side. Every query's total must be the same on both sides.
2. S2, reindex: ``fedcat reindex`` (a child process: it reads the store, rebuilds the index beside the live
   one, publishes the groups for OAI-PMH, and mines the term table) against a bare tantivy bulk insert of
   the same documents into a fresh folder: the groups are read from the store in this process and turned
   into fedcat's very documents (``views()`` + ``EmbeddedIndex._document``, the schema of
   ``index/embedded.py``), untimed; only the writer's ``add_document`` calls, the single ``commit`` and the
   wait for merges are timed, with fedcat's writer settings (32 MB heap, one thread). Ratio bare/fedcat
   (target >= 0.7).
3. S3, concurrency: 8 and 32 client threads (``--clients``), each with its own session, sending a fixed
   mix of the S1 queries one after another for ``--seconds`` (after ``--warmup`` seconds), against
   ``fedcat serve`` with one worker and, where ``fedcat serve`` has a ``--workers`` option, two; printed:
   requests/s, p50, p99, errors, the CPU seconds per wall second of the server and of the clients (all
   on one machine), and the 2-worker/1-worker throughput ratio. The mix repeats a few queries: where
   fedcat keeps answers to repeated searches (``index.search_cache``), nearly all are answered from that
   cache, so every case is also run with a copy of the config setting ``index.search_cache: 0``
   (``--cache-on-only``: not).

Everything listens on 127.0.0.1 on free ports; every request has a timeout; child processes are stopped
when the run ends, whatever happens. The logs of the child processes go to ``<data-dir>/logs``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import tantivy
import yaml
from harvest import PeakRss, config_for

from fedcat.api.audience import Caller
from fedcat.api.translate import translated
from fedcat.harvester.config import Config, load_config
from fedcat.harvester.store import open_store
from fedcat.index.base import FACETS, SearchQuery
from fedcat.index.embedded import _WRITER_HEAP, EmbeddedIndex, _schema
from fedcat.index.embedded_search import plan_search
from fedcat.index.groups import views

log = logging.getLogger("bench.search")
HERE = Path(__file__).resolve()
HARVEST_BENCH = HERE.parent / "harvest.py"
MARKER = "bench-search.json"
PAGE_SIZE = 1000
#: Timeout of one HTTP request (seconds).
HTTP_TIMEOUT = 60.0
#: How long a `fedcat serve` may take to answer /readyz, the synthetic servers to start.
READY_TIMEOUT = 300.0
SOURCES_TIMEOUT = 900.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Warm-up requests for the API: not among the measured queries, so their first request is a new one.
WARMUP_PARAMS: tuple[dict[str, str], ...] = (
    {"q": "", "source": "b0"}, {"q": "desert"}, {"q": "沙丘"}, {"q": "monitoring data"},
    {"q": "昆仑山"})


# -- the queries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One measured query: its class and its text."""

    kind: str
    text: str


#: The S1 classes, in display order.
CLASSES: tuple[str, ...] = ("landing page", "rare word", "common word", "English word", "two words",
                            "Traditional word")


def probes(per_source: int) -> list[Probe]:
    """The measured queries. The synthetic records repeat the 150 records of the demo ``ncdc`` center
    (harvester/demo/corpus.py) with their own identifiers, so the shares below hold at any size: an
    identifier token (``r0000123``, of the records' DOI and CSTR) is in one record per source;
    Gurbantunggut / 古尔班通古特 in 2 of the 150 texts; 冰川, data, climate in all; glacier 43, permafrost
    39, dune 11; 遥感 18, 冻土 150, 积雪 42 (asked in Traditional script: 遙感, 凍土, 積雪)."""
    return [
        Probe("landing page", ""),
        Probe("rare word", f"r{per_source // 2:07d}"),
        Probe("rare word", "Gurbantunggut"),
        Probe("rare word", "古尔班通古特"),
        Probe("common word", "冰川"),
        Probe("common word", "data"),
        Probe("common word", "climate"),
        Probe("English word", "glacier"),
        Probe("English word", "permafrost"),
        Probe("English word", "dune"),
        Probe("two words", "glacier inventory"),
        Probe("two words", "冰川 遥感"),
        Probe("two words", "snow depth"),
        Probe("Traditional word", "遙感"),
        Probe("Traditional word", "凍土"),
        Probe("Traditional word", "積雪"),
    ]


# -- child processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fedcat_env() -> dict[str, str]:
    # bytecode cached as in any installed copy, even where PYTHONDONTWRITEBYTECODE is set
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def fedcat_command(config: Path, *command: str) -> list[str]:
    return [sys.executable, "-m", "fedcat.api.cli", "--config", str(config), *command]


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tail(path: Path, size: int = 3000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


def run_fedcat(config: Path, log_path: Path, *command: str, timeout: float) -> tuple[float, dict[str, float]]:
    """Run ``fedcat --config CONFIG COMMAND`` as a child process (killed after ``timeout``): its wall seconds
    and its peak resident memory in MB (bench/harvest.py's sampler of the process tree: ``peak``, and the
    largest ``anon``ymous and ``file``-backed parts seen)."""
    start = time.perf_counter()
    with log_path.open("wb") as out:
        proc = subprocess.Popen(fedcat_command(config, *command), stdout=out, stderr=subprocess.STDOUT,
                                env=fedcat_env())
        sampler = PeakRss(proc.pid)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"fedcat {' '.join(command)} took longer than {timeout:.0f} s "
                               f"(log: {log_path})") from None
        finally:
            memory = sampler.stop()
    elapsed = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"fedcat {' '.join(command)} exited with {code}:\n{tail(log_path)}")
    return elapsed, {"peak": memory.peak / 2**20, "anon": memory.anon / 2**20, "file": memory.file / 2**20}


def memory_note(mb: dict[str, float] | None) -> str:
    if not mb:
        return "peak RSS not measured"
    return f"peak RSS {mb['peak']:.0f} MB (at most {mb['anon']:.0f} MB anonymous, {mb['file']:.0f} MB file-backed)"


class SyntheticSources:
    """``count`` OAI-PMH servers of ``records`` synthetic records each: bench/harvest.py ``--serve`` in a child."""

    def __init__(self, count: int, records: int, page_size: int, folder: Path) -> None:
        ports_file = folder / "source-urls.json"
        ports_file.unlink(missing_ok=True)
        self.log_path = folder / "sources.log"
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, str(HARVEST_BENCH), "--serve", str(count), str(records),
                                          str(page_size), "0", str(ports_file)], stdout=out,
                                         stderr=subprocess.STDOUT)
        try:
            self.urls = self._wait(ports_file, count)
        except BaseException:
            stop_process(self.proc)
            raise

    def _wait(self, ports_file: Path, count: int) -> list[str]:
        deadline = time.monotonic() + SOURCES_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the synthetic sources exited with {self.proc.returncode}:\n"
                                   f"{tail(self.log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the synthetic sources did not start within {SOURCES_TIMEOUT:.0f} s")
            try:
                urls = json.loads(ports_file.read_text())
            except (OSError, ValueError):  # not written yet, or half written
                time.sleep(0.2)
                continue
            if isinstance(urls, list) and len(urls) == count:
                return [str(u) for u in urls]
            time.sleep(0.2)

    def __enter__(self) -> SyntheticSources:
        return self

    def __exit__(self, *exc: object) -> None:
        stop_process(self.proc, grace=5.0)


class FedcatServer:
    """``fedcat --config X serve --port P [--workers N]`` on a free loopback port, ready when constructed."""

    def __init__(self, config: Path, log_path: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        command = fedcat_command(config, "serve", "--port", str(self.port))
        if workers > 1:
            command += ["--workers", str(workers)]
        with log_path.open("wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=fedcat_env())
        try:
            self._wait_ready()
        except BaseException:
            stop_process(self.proc)
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fedcat serve exited with {self.proc.returncode}:\n{tail(self.log_path)}")
            try:
                with new_session() as session:
                    if session.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                        return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"fedcat serve not ready within {READY_TIMEOUT:.0f} s:\n{tail(self.log_path)}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the server process and its children (workers)."""
        total, todo = 0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except (OSError, ValueError):
                continue  # gone meanwhile
        return total / CLOCK_TICKS

    def __enter__(self) -> FedcatServer:
        return self

    def __exit__(self, *exc: object) -> None:
        stop_process(self.proc)


def serve_workers_option() -> tuple[bool, str]:
    """Whether ``fedcat serve`` takes ``--workers``, and its usage line."""
    result = subprocess.run([sys.executable, "-m", "fedcat.api.cli", "serve", "--help"], capture_output=True,
                            text=True, env=fedcat_env(), timeout=120, check=False)
    usage = " ".join(result.stdout.split("\n\n")[0].split())
    return "--workers" in result.stdout, usage


# -- the catalog -------------------------------------------------------------------------------------


def count_documents(index_folder: Path) -> int:
    """The complete views in an embedded index (one per dataset, as ``EmbeddedIndex.count``)."""
    index = tantivy.Index.open(str(index_folder))
    found = index.searcher().search(tantivy.Query.term_query(index.schema, "view", "all"), limit=1, count=True)
    return int(getattr(found, "count", 0) or 0)


def build_catalog(folder: Path, per_source: int, sources: int, timeout: float) -> dict[str, Any]:
    """The catalog of ``sources`` x ``per_source`` synthetic records in ``folder`` (reused when its marker says
    it is complete and of this size)."""
    marker = folder / MARKER
    config_path = folder / "fedcat.yaml"
    want = {"records": per_source * sources, "sources": sources, "records_per_source": per_source,
            "page_size": PAGE_SIZE}
    try:
        done = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        done = None
    if (isinstance(done, dict) and done.get("complete") and all(done.get(k) == v for k, v in want.items())
            and config_path.exists() and (folder / "data" / "index").is_dir()):
        log.info("reusing the catalog in %s (built %s)", folder, done.get("built_at"))
        return {**done, "reused": True}
    if folder.exists() and any(folder.iterdir()) and not (config_path.exists() or marker.exists()):
        raise RuntimeError(f"{folder} is not empty and holds no catalog of this benchmark: choose another "
                           "--data-dir")
    marker.unlink(missing_ok=True)
    shutil.rmtree(folder / "data", ignore_errors=True)
    shutil.rmtree(folder / "bare-index", ignore_errors=True)
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    log.info("building the catalog: %d sources x %d records in %s", sources, per_source, folder)
    with SyntheticSources(sources, per_source, PAGE_SIZE, folder / "logs") as src:
        config = config_for(src.urls, folder / "data", sources)
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        seconds, memory = run_fedcat(config_path, folder / "logs" / "harvest.log", "harvest", timeout=timeout)
    documents = count_documents(folder / "data" / "index")
    if documents != want["records"]:
        raise RuntimeError(f"the harvest indexed {documents} datasets, expected {want['records']} "
                           f"(log: {folder / 'logs' / 'harvest.log'})")
    built = {**want, "complete": True, "build_s": seconds, "build_memory_mb": memory, "documents": documents,
             "built_at": datetime.now(UTC).isoformat(timespec="seconds")}
    marker.write_text(json.dumps(built, indent=2), encoding="utf-8")
    log.info("catalog built: %d records in %.1f s", documents, seconds)
    return {**built, "reused": False}


# -- S1: one client ----------------------------------------------------------------------------------


@dataclass
class BareQuery:
    """A query as the bare engine runs it: fedcat's tantivy query, search arguments and aggregations."""

    query: tantivy.Query
    search_kwargs: dict[str, Any]
    aggregations: dict[str, Any]


def bare_query(schema: tantivy.Schema, search: SearchQuery) -> BareQuery:
    plan = plan_search(schema, search)
    kwargs: dict[str, Any] = {"limit": search.size, "count": True}
    if not plan.ranked:  # as fedcat's run_search: no text, newest first
        kwargs.update(order_by_field="published_key", order=tantivy.Order.Desc)
    aggs = {name: {"terms": {"field": name, "size": search.facet_size}} for name in FACETS}
    return BareQuery(plan.query, kwargs, aggs)


def run_bare(index: tantivy.Index, q: BareQuery) -> tuple[float, int]:
    """(seconds, total) of search + count, the stored documents of the page, the terms aggregations."""
    start = time.perf_counter()
    searcher = index.searcher()
    found = searcher.search(q.query, **q.search_kwargs)
    for _, address in found.hits:
        searcher.doc(address)
    searcher.aggregate(q.query, q.aggregations)
    return time.perf_counter() - start, int(getattr(found, "count", 0) or 0)


class ApiClient:
    """GETs to `fedcat serve` on one kept-alive connection (http.client): the client's own Python costs about
    0.3 ms a request, where requests' costs about 1 ms, which S1 would count against fedcat."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=HTTP_TIMEOUT)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def get(self, path: str, params: dict[str, str] | None = None) -> tuple[int, bytes]:
        target = path + ("?" + urllib.parse.urlencode(params) if params else "")
        self._conn.request("GET", target)
        response = self._conn.getresponse()
        return response.status, response.read()


def run_api(client: ApiClient, params: dict[str, str]) -> tuple[float, int]:
    """(seconds, total) of one ``GET /api/v1/search``, its whole body read."""
    start = time.perf_counter()
    status, body = client.get("/api/v1/search", params)
    elapsed = time.perf_counter() - start
    if status != 200:
        raise RuntimeError(f"GET /api/v1/search {params} answered {status}: {body[:300]!r}")
    return elapsed, int(json.loads(body)["total"])


def http_floor(client: ApiClient, times: int = 50) -> float:
    """Seconds of the cheapest round trip to the server (``GET /livez``): what any request costs."""
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        status, _ = client.get("/livez")
        samples.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"GET /livez answered {status}")
    return statistics.median(samples)


def anonymous_queries(config: Config, texts: list[str]) -> list[SearchQuery]:
    """The ``SearchQuery`` the API makes of ``?q=TEXT`` for the anonymous caller (its visibility, the term
    table's translations)."""
    visibility = Caller.anonymous(config.api).visibility
    store = open_store(config.store, config.data_path)
    try:
        return [translated(SearchQuery(text=t, visibility=visibility), store) for t in texts]
    finally:
        store.close()


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment
    return session


def single_client(config_path: Path, logs: Path, queries: list[Probe], repeats: int, warmup: int) -> dict[str, Any]:
    """Each round starts its own `fedcat serve` (so a cache in the process holds none of the measured queries)
    and opens the bare index anew, warms both up with the same other queries, then sends every query twice in
    a row; the bare engine runs each query twice right after."""
    config = load_config(config_path)
    searches = anonymous_queries(config, [p.text for p in queries])
    index = tantivy.Index.open(str(config.data_path / "index"))
    bare = [bare_query(index.schema, s) for s in searches]
    samples: dict[str, list[list[float]]] = {k: [[] for _ in queries] for k in ("api", "api_repeat", "bare",
                                                                                 "bare_repeat")}
    totals: list[int] = [0] * len(queries)
    floors: list[float] = []
    mismatches: list[str] = []
    for _ in range(warmup):  # the OS page cache (shared with the server) for the measured queries' terms
        for q in bare:
            run_bare(index, q)
    warm_searches = anonymous_queries(config, [p["q"] for p in WARMUP_PARAMS])
    for r in range(repeats):
        with FedcatServer(config_path, logs / "serve-s1.log") as server, ApiClient(server.url) as client:
            # the bare side starts each round as cold as the new server: an index opened anew (tantivy's own
            # caches in this process empty), warmed up with the same other queries
            index = tantivy.Index.open(str(config.data_path / "index"))
            bare = [bare_query(index.schema, s) for s in searches]
            warm = [bare_query(index.schema, replace(s, filters={"source": [p["source"]]} if "source" in p else {}))
                    for s, p in zip(warm_searches, WARMUP_PARAMS, strict=True)]
            for _ in range(warmup):
                for params in WARMUP_PARAMS:
                    run_api(client, params)
                for q in warm:
                    run_bare(index, q)
            floors.append(http_floor(client))
            for i, probe in enumerate(queries):
                params = {"q": probe.text}
                api_s, api_total = run_api(client, params)
                again_s, _ = run_api(client, params)
                bare_s, bare_total = run_bare(index, bare[i])
                bare_again_s, _ = run_bare(index, bare[i])
                for key, value in (("api", api_s), ("api_repeat", again_s), ("bare", bare_s),
                                   ("bare_repeat", bare_again_s)):
                    samples[key][i].append(value)
                totals[i] = bare_total
                if r == 0 and api_total != bare_total:
                    mismatches.append(f"{probe.text!r}: API {api_total}, bare {bare_total}")
    per_query = [{"class": p.kind, "q": p.text, "total": totals[i],
                  "translations": [f"{a} → {b}" for a, b in searches[i].translations],
                  **{f"{k}_ms": 1000 * statistics.median(v[i]) for k, v in samples.items()}}
                 for i, p in enumerate(queries)]
    classes = []
    for kind in CLASSES:
        members = [i for i, p in enumerate(queries) if p.kind == kind]
        if not members:
            continue
        row: dict[str, Any] = {"class": kind, "queries": len(members), "min_total": min(totals[i] for i in members),
                               "max_total": max(totals[i] for i in members)}
        for key, values in samples.items():
            row[f"{key}_ms"] = 1000 * statistics.median([s for i in members for s in values[i]])
        classes.append(row)
    return {"repeats": repeats, "classes": classes, "queries": per_query, "total_mismatches": mismatches,
            "http_floor_ms": 1000 * statistics.median(floors),
            "search_cache": search_cache_setting(config)}


def search_cache_setting(config: Config) -> int | None:
    """fedcat's ``index.search_cache`` in this config (answers kept for repeated searches); None: no such
    setting in this version of fedcat."""
    value = getattr(config.index, "search_cache", None)
    return int(value) if isinstance(value, int) else None


# -- S2: reindex -------------------------------------------------------------------------------------


def bare_bulk_insert(config: Config, folder: Path, batch: int = 1000) -> dict[str, Any]:
    """fedcat's documents of every group in the store, written by a bare tantivy writer into ``folder``; only
    the writer's calls are timed."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    maker = EmbeddedIndex(None)  # in memory: only its document builder is used
    store = open_store(config.store, config.data_path)
    write_s = 0.0
    added = 0
    start = time.perf_counter()
    try:
        index = tantivy.Index(_schema(), path=str(folder))
        writer = index.writer(_WRITER_HEAP, 1)  # fedcat's settings (index/embedded.py)
        pending: list[tantivy.Document] = []

        def write() -> None:
            nonlocal write_s, added
            t = time.perf_counter()
            for doc in pending:
                writer.add_document(doc)
            write_s += time.perf_counter() - t
            added += len(pending)
            pending.clear()

        for group in store.indexing.iter_groups():
            pending += [maker._document(view) for view in views(group)]
            if len(pending) >= batch:
                write()
        write()
        t = time.perf_counter()
        writer.commit()
        writer.wait_merging_threads()
        write_s += time.perf_counter() - t
        total_s = time.perf_counter() - start
        index.reload()
        complete = tantivy.Query.term_query(index.schema, "view", "all")
        documents = int(getattr(index.searcher().search(complete, limit=1, count=True), "count", 0) or 0)
    finally:
        store.close()
        maker.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {"documents_added": added, "documents": documents, "write_s": write_s,
            "read_and_build_s": total_s - write_s}


def reindex(config_path: Path, folder: Path, timeout: float) -> dict[str, Any]:
    config = load_config(config_path)
    log.info("S2: fedcat reindex")
    fedcat_s, fedcat_memory = run_fedcat(config_path, folder / "logs" / "reindex.log", "reindex", timeout=timeout)
    fedcat_docs = count_documents(config.data_path / "index")
    log.info("S2: bare tantivy bulk insert of the same documents")
    bare = bare_bulk_insert(config, folder / "bare-index")
    if bare["documents"] != fedcat_docs:
        raise RuntimeError(f"the bare index holds {bare['documents']} datasets, fedcat's {fedcat_docs}")
    return {"fedcat_s": fedcat_s, "fedcat_memory_mb": fedcat_memory, "fedcat_documents": fedcat_docs,
            **{f"bare_{k}": v for k, v in bare.items()},
            "ratio_bare_to_fedcat": bare["write_s"] / fedcat_s}


# -- S3: concurrent clients --------------------------------------------------------------------------


@dataclass
class Load:
    url: str
    mix: list[dict[str, str]]
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, seconds: float, record: bool) -> float:
        """``clients`` threads sending searches for ``seconds``; the wall time they took."""
        stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=self._client, args=(stop_at, i, record), daemon=True)
                   for i in range(self.clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 2 * HTTP_TIMEOUT + 10)
        if any(t.is_alive() for t in threads):
            raise RuntimeError("client threads did not finish")
        return time.perf_counter() - start

    def _client(self, stop_at: float, number: int, record: bool) -> None:
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        k = number  # each client walks the fixed mix from its own place
        with new_session() as session:
            while time.monotonic() < stop_at:
                params = self.mix[k % len(self.mix)]
                k += 1
                start = time.perf_counter()
                try:
                    response = session.get(f"{self.url}/api/v1/search", params=params, timeout=HTTP_TIMEOUT)
                    _ = response.content
                except requests.RequestException as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if response.status_code != 200:
                    errors[f"HTTP {response.status_code}"] += 1
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


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def config_without_cache(config_path: Path) -> Path:
    """A copy of the config beside it with ``index.search_cache: 0`` (fedcat keeps no answers)."""
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data["index"] = {**(data.get("index") or {}), "search_cache": 0}
    path = config_path.with_name("fedcat-no-search-cache.yaml")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def concurrency(config_path: Path, logs: Path, queries: list[Probe], clients: list[int], seconds: float,
                warmup: float, cache_off: bool) -> dict[str, Any]:
    """Each case as configured and, with ``cache_off`` where fedcat has a search cache, with it off too."""
    supported, usage = serve_workers_option()
    workers = [1, 2] if supported else [1]
    skipped = None if supported else f"`fedcat serve` has no --workers option ({usage})"
    if skipped:
        log.info("S3: the 2-worker case is skipped: %s", skipped)
    entries = search_cache_setting(load_config(config_path))
    configs = [("as configured", config_path)]
    if cache_off and entries:
        configs.append(("search cache off", config_without_cache(config_path)))
    mix = [{"q": p.text} for p in queries]
    rows: list[dict[str, Any]] = []
    for label, path in configs:
        for w in workers:
            name = f"serve-s3-w{w}" + ("-nocache" if path != config_path else "")
            with FedcatServer(path, logs / f"{name}.log", workers=w) as server:
                for n in clients:
                    log.info("S3: %s, %d worker(s), %d clients, %.0f s", label, w, n, seconds)
                    Load(server.url, mix, n).run(warmup, record=False)
                    load = Load(server.url, mix, n)
                    cpu0, mine0 = server.cpu_seconds(), own_cpu()
                    wall = load.run(seconds, record=True)
                    cpu1, mine1 = server.cpu_seconds(), own_cpu()
                    ok = len(load.latencies)
                    rows.append({"config": label, "workers": w, "clients": n, "requests": ok,
                                 "errors": dict(load.errors), "wall_s": wall, "rps": ok / wall,
                                 "p50_ms": 1000 * percentile(load.latencies, 0.5),
                                 "p99_ms": 1000 * percentile(load.latencies, 0.99),
                                 "server_cpu": (cpu1 - cpu0) / wall, "client_cpu": (mine1 - mine0) / wall})
    ratios: dict[str, float] = {}
    for label, _ in configs:
        for n in clients:
            one = next((r["rps"] for r in rows if (r["config"], r["workers"], r["clients"]) == (label, 1, n)), None)
            two = next((r["rps"] for r in rows if (r["config"], r["workers"], r["clients"]) == (label, 2, n)), None)
            if one and two:
                ratios[f"{label}, {n} clients"] = two / one
    return {"seconds": seconds, "warmup_s": warmup, "queries": len(mix), "rows": rows, "search_cache": entries,
            "ratio_2_to_1_workers": ratios, "two_workers_skipped": skipped}


# -- report ------------------------------------------------------------------------------------------


def report(res: dict[str, Any]) -> str:
    c = res["catalog"]
    how = "reused (built earlier" + (f" in {c['build_s']:.1f} s)" if "build_s" in c else ")") if c["reused"] \
        else f"built in {c['build_s']:.1f} s"
    lines = [f"catalog: {c['records']} records ({c['sources']} sources x {c['records_per_source']}, pages of "
             f"{c['page_size']}), harvested by `fedcat harvest` into {res['data_dir']}: {how}; "
             f"{os.cpu_count()} CPUs",
             f"  the harvest's {memory_note(c.get('build_memory_mb'))}"]
    if "s1" in res:
        s1 = res["s1"]
        lines += ["",
                  f"S1  one client, warm: median over {s1['repeats']} rounds (ms); API = GET /api/v1/search over "
                  "HTTP (anonymous), bare = tantivy search + count, 20 stored docs, 7 terms aggregations",
                  "    each round a new `fedcat serve` warmed up with other queries; repeat = the same request again "
                  "at once (API search cache: " + cache_note(s1["search_cache"]) + ")",
                  "    the client: http.client on one kept-alive connection; the cheapest round trip to the server "
                  f"(GET /livez) took {s1['http_floor_ms']:.2f} ms",
                  f"{'class':<17}{'queries':>8}{'hits':>18}{'API':>9}{'bare':>9}{'API/bare':>10}   |"
                  f"{'repeat: API':>12}{'bare':>9}{'API/bare':>10}"]
        for row in s1["classes"]:
            hits = (str(row["min_total"]) if row["min_total"] == row["max_total"]
                    else f"{row['min_total']}-{row['max_total']}")
            lines.append(f"{row['class']:<17}{row['queries']:>8}{hits:>18}{row['api_ms']:>9.1f}{row['bare_ms']:>9.1f}"
                         f"{row['api_ms'] / row['bare_ms']:>9.2f}x   |{row['api_repeat_ms']:>12.1f}"
                         f"{row['bare_repeat_ms']:>9.1f}{row['api_repeat_ms'] / row['bare_repeat_ms']:>9.2f}x")
        translated_queries = [q["q"] for q in s1["queries"] if q["translations"]]
        lines.append("queries searched with translations from the term table: "
                     + (", ".join(translated_queries) if translated_queries else "none (no term table yet)"))
        lines.append("totals of API and bare engine: " + ("equal for every query" if not s1["total_mismatches"]
                                                          else "DIFFER: " + "; ".join(s1["total_mismatches"])))
    if "s2" in res:
        s2 = res["s2"]
        lines += ["",
                  f"S2  reindex of {s2['fedcat_documents']} datasets",
                  f"  fedcat reindex (child process, whole command):   {s2['fedcat_s']:8.1f} s;"
                  f" {memory_note(s2.get('fedcat_memory_mb'))}",
                  f"  bare tantivy writer, add_document + commit:      {s2['bare_write_s']:8.1f} s"
                  f"  ratio bare/fedcat {s2['ratio_bare_to_fedcat']:.2f}  (target >= 0.7)",
                  f"  (untimed in the baseline: reading the store and building fedcat's documents, "
                  f"{s2['bare_read_and_build_s']:.1f} s in this process)"]
    if "s3" in res:
        s3 = res["s3"]
        lines += ["",
                  f"S3  concurrent clients: fixed mix of the {s3['queries']} S1 queries, "
                  f"{s3['seconds']:.0f} s measured after {s3['warmup_s']:.0f} s of warm-up",
                  f"{'config':<18}{'workers':>7}{'clients':>8}{'requests/s':>12}{'p50 (ms)':>10}{'p99 (ms)':>10}"
                  f"{'requests':>10}{'errors':>8}{'server CPU':>12}{'client CPU':>12}"]
        for r in s3["rows"]:
            errors = sum(r["errors"].values())
            lines.append(f"{r['config']:<18}{r['workers']:>7}{r['clients']:>8}{r['rps']:>12.1f}"
                         f"{r['p50_ms']:>10.0f}{r['p99_ms']:>10.0f}{r['requests']:>10}{errors:>8}"
                         f"{r['server_cpu']:>12.2f}{r['client_cpu']:>12.2f}"
                         + (f"  {r['errors']}" if errors else ""))
        if s3["two_workers_skipped"]:
            lines.append(f"2 workers: skipped, {s3['two_workers_skipped']}")
        for case, ratio in s3["ratio_2_to_1_workers"].items():
            lines.append(f"ratio 2/1 workers, {case}: {ratio:.2f}x requests/s")
        if s3.get("search_cache"):
            lines.append(f"as configured: the mix repeats {s3['queries']} queries and fedcat keeps answers to repeated "
                         f"searches ({cache_note(s3['search_cache'])}), so nearly all are answered from that cache")
        lines.append("CPU columns: CPU seconds per wall second (1.00 = one core busy) of the server process(es) and "
                     "of this script's client threads")
    lines.append(f"wall time {res['wall_s']:.0f} s")
    return "\n".join(lines) + "\n"


def cache_note(entries: int | None) -> str:
    if entries is None:
        return "no index.search_cache setting in this fedcat"
    return f"index.search_cache = {entries}" + (" (off)" if entries == 0 else " answers")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=1_000_000, help="records in all (split evenly over the sources)")
    p.add_argument("--sources", type=int, default=5, help="synthetic OAI-PMH sources")
    p.add_argument("--data-dir", type=Path, help="the catalog's folder (default /tmp/fedcat-bench-search-<N>x<S>)")
    p.add_argument("--repeats", type=int, default=5, help="S1: rounds per query (the median is reported)")
    p.add_argument("--warmup-rounds", type=int, default=2, help="S1: warm-up rounds before measuring")
    p.add_argument("--clients", type=int, nargs="+", default=[8, 32], help="S3: concurrent clients")
    p.add_argument("--seconds", type=float, default=20.0, help="S3: seconds measured per case")
    p.add_argument("--warmup", type=float, default=3.0, help="S3: seconds of load before each case")
    p.add_argument("--build-timeout", type=float, default=6 * 3600.0,
                   help="seconds `fedcat harvest` and `fedcat reindex` may take")
    p.add_argument("--cache-on-only", action="store_true",
                   help="S3: only the config as it is (else also with index.search_cache: 0, where fedcat has it)")
    p.add_argument("--skip-search", action="store_true", help="skip S1")
    p.add_argument("--skip-reindex", action="store_true", help="skip S2")
    p.add_argument("--skip-concurrency", action="store_true", help="skip S3")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.sources < 1 or args.records < args.sources:
        p.error("--records must be at least --sources, and --sources at least 1")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    per_source = args.records // args.sources
    folder: Path = (args.data_dir or Path(f"/tmp/fedcat-bench-search-{args.records}x{args.sources}")).resolve()
    wall = time.perf_counter()
    res: dict[str, Any] = {"data_dir": str(folder)}
    res["catalog"] = build_catalog(folder, per_source, args.sources, args.build_timeout)
    config_path, logs = folder / "fedcat.yaml", folder / "logs"
    logs.mkdir(exist_ok=True)
    queries = probes(per_source)
    if not args.skip_search:
        log.info("S1: one client, %d rounds", args.repeats)
        res["s1"] = single_client(config_path, logs, queries, args.repeats, args.warmup_rounds)
    if not args.skip_reindex:
        res["s2"] = reindex(config_path, folder, args.build_timeout)
    if not args.skip_concurrency:
        res["s3"] = concurrency(config_path, logs, queries, args.clients, args.seconds, args.warmup,
                              cache_off=not args.cache_on_only)
    res["wall_s"] = time.perf_counter() - wall
    sys.stdout.write(json.dumps(res, indent=2, ensure_ascii=False) + "\n" if args.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
