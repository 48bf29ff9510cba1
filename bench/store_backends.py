"""Record store benchmark: the same full harvest into a SQLite store and into a PostgreSQL store.

    python bench/store_backends.py                     # demo corpus x 20 (12,000 records), 2 rounds
    python bench/store_backends.py --scale 5 --rounds 1   # quick

The five demo OAI-PMH centers (``fedcat.harvester.demo``), each with ``--scale`` times its records, are
served on loopback by a child process. Each round runs, for every store, in a fresh data folder (and a
fresh database): ``fedcat harvest`` (a full harvest of the five sources through the CLI, as a child
process), then ``fedcat reindex``. The stores, in an order that alternates between rounds:

- ``sqlite``: the default, ``data_dir/records.sqlite3`` (WAL, ``synchronous=NORMAL``) [baseline];
- ``postgresql``: a database on a throwaway PostgreSQL server started for the run (initdb, loopback
  port, stock durability: ``fsync`` and ``synchronous_commit`` on);
- ``postgresql-async``: another database of that server with ``synchronous_commit = off``, which, like
  SQLite's WAL with ``synchronous=NORMAL``, does not wait for the disk at each commit.

Wall times are of the child processes (Python start-up included); ratios are PostgreSQL / SQLite from
the same run (above 1: PostgreSQL slower). The embedded index is the same in all cases.

``PostgresCluster`` and ``DemoCorpus`` are also used by bench/replicas.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pwd
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("bench.store_backends")
HERE = Path(__file__).resolve()
PG_BINDIR = Path("/usr/lib/postgresql/15/bin")


# -- a throwaway PostgreSQL server ----------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, all processes), from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle, iowait
    return (sum(ticks[:8]) - idle) / CLOCK_TICKS


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    """initdb in a temporary folder, pg_ctl on a free loopback port (as tests/pg_server.py does).

    Run as root, the server runs as the ``postgres`` system user (initdb refuses root). Trust
    authentication on 127.0.0.1 only; the server's settings are PostgreSQL's defaults except
    ``settings``."""

    def __init__(self, bindir: Path = PG_BINDIR, settings: dict[str, str] | None = None) -> None:
        if not (bindir / "initdb").exists():
            raise RuntimeError(f"no PostgreSQL binaries in {bindir}")
        self.bindir = bindir
        self.settings = {"max_connections": "100", **(settings or {})}
        self.root = Path(tempfile.mkdtemp(prefix="fedcat-bench-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
            self.user = "postgres"
        self._started = False

    def _run(self, *args: str, timeout: float = 90) -> None:
        result = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            server_log = self.root / "server.log"
            tail = server_log.read_text(errors="replace")[-2000:] if server_log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}{tail}")

    def start(self) -> PostgresCluster:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user,
                  "-E", "UTF8", "--locale=C", "--no-instructions")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        options += "".join(f" -c {k}={v}" for k, v in self.settings.items())
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        self._started = True
        return self

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(statement.encode())

    def create_database(self, name: str, **settings: str) -> str:
        """A new empty database (``settings``: ``ALTER DATABASE ... SET``); its URL."""
        self.sql(f"CREATE DATABASE {name}")
        for key, value in settings.items():
            self.sql(f"ALTER DATABASE {name} SET {key} = {value}")
        return self.url(name)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server so far: the postmaster, its live processes and the
        backends that have exited (counted in the postmaster's children times)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        fields = _stat(pid)
        total = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    try:
                        total += sum(int(v) for v in _stat(int(child))[11:13])
                    except OSError:
                        continue  # gone meanwhile (then counted in cutime)
        return total / CLOCK_TICKS

    def drop_database(self, name: str) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            if self._started:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the demo corpus, scaled, served by a child process ----------------------------------------------


def serve(scale: int, page_size: int, out: Path) -> None:
    """Child process: the demo federation's OAI-PMH centers with ``scale`` times their records."""
    from dataclasses import replace

    from fedcat.harvester.demo.corpus import demo_centers
    from fedcat.harvester.demo.federation import DemoFederation

    centers = [replace(c, n_records=c.n_records * scale, page_size=page_size) for c in demo_centers()]
    federation = DemoFederation(centers=centers).start()
    info = {"sources": federation.source_configs(),
            "records": sum(len(federation.records(c.id)) for c in centers),
            "deleted": sum(r.deleted for c in centers for r in federation.records(c.id))}
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, ensure_ascii=False))
    tmp.rename(out)
    while True:
        time.sleep(3600)


class DemoCorpus:
    """The scaled demo federation in a child process (so it does not share the harvester's interpreter)."""

    def __init__(self, scale: int, page_size: int) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="fedcat-bench-demo-"))
        out = self._folder / "sources.json"
        self.proc = subprocess.Popen([sys.executable, str(HERE), "--serve", str(scale), str(page_size), str(out)])
        deadline = time.monotonic() + 300
        while not out.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the demo corpus server did not start")
            time.sleep(0.2)
        info = json.loads(out.read_text())
        self.sources: list[dict[str, Any]] = info["sources"]
        #: Records listed by the five centers together (deleted ones included, as a harvest lists them).
        self.records: int = info["records"]
        self.deleted: int = info["deleted"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> DemoCorpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- running fedcat -----------------------------------------------------------------------------------


def write_config(folder: Path, sources: list[dict[str, Any]], store_url: str | None, **extra: Any) -> Path:
    """A config file in ``folder`` (data in ``folder/data``); ``store_url``: PostgreSQL, else SQLite."""
    import yaml

    config: dict[str, Any] = {"data_dir": str(folder / "data"), "sources": sources, **extra}
    if store_url:
        config["store"] = {"backend": "postgresql", "url": store_url}
    path = folder / "fedcat.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def fedcat_env() -> dict[str, str]:
    # bytecode cached as in any installed copy (the default), even where PYTHONDONTWRITEBYTECODE is set
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Run:
    seconds: float  # wall
    cpu_s: float  # user + system CPU of the fedcat process (and any children it waited for)
    stdout: str


def run_fedcat(config: Path, *command: str) -> Run:
    """Run ``fedcat --config CONFIG COMMAND`` as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "fedcat.api.cli", "--config", str(config), *command],
                            capture_output=True, text=True, env=fedcat_env())
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"fedcat {' '.join(command)} exited with {result.returncode}:\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Run(elapsed, cpu, result.stdout)


# -- the benchmark ----------------------------------------------------------------------------------


STORES = ("sqlite", "postgresql", "postgresql-async")
#: What is measured of each run of each store: wall seconds, and CPU seconds of fedcat and of PostgreSQL.
FIGURES = ("harvest_s", "harvest_cpu_s", "harvest_pg_cpu_s", "harvest_machine_cpu_s", "reindex_s", "reindex_cpu_s",
           "reindex_pg_cpu_s", "reindex_machine_cpu_s")


def one_store(store: str, round_no: int, corpus: DemoCorpus, pg: PostgresCluster, workers: int,
              parent: Path) -> dict[str, float]:
    folder = parent / f"{store}-{round_no}"
    folder.mkdir()
    url: str | None = None
    dbname = f"bench_{store.replace('-', '_')}_{round_no}"
    if store == "postgresql":
        url = pg.create_database(dbname)
    elif store == "postgresql-async":
        url = pg.create_database(dbname, synchronous_commit="off")
    config = write_config(folder, corpus.sources, url, workers=workers)
    try:
        pg0, busy0 = pg.cpu_seconds(), machine_busy_seconds()
        harvest = run_fedcat(config, "harvest")
        pg1, busy1 = pg.cpu_seconds(), machine_busy_seconds()
        reindex = run_fedcat(config, "reindex")
        pg2, busy2 = pg.cpu_seconds(), machine_busy_seconds()
    finally:
        if url:
            pg.drop_database(dbname)
        shutil.rmtree(folder, ignore_errors=True)
    indexed = int(next((w for w in reindex.stdout.split("indexed", 1)[-1].split() if w.isdigit()), "0"))
    log.info("round %d, %-16s harvest %6.1f s (CPU %.1f s, PostgreSQL %.1f s), reindex %5.1f s (CPU %.1f s, "
             "PostgreSQL %.1f s; %d records indexed)", round_no, store, harvest.seconds, harvest.cpu_s, pg1 - pg0,
             reindex.seconds, reindex.cpu_s, pg2 - pg1, indexed)
    return {"harvest_s": harvest.seconds, "harvest_cpu_s": harvest.cpu_s, "harvest_pg_cpu_s": pg1 - pg0,
            "reindex_s": reindex.seconds, "reindex_cpu_s": reindex.cpu_s, "reindex_pg_cpu_s": pg2 - pg1,
            "harvest_machine_cpu_s": busy1 - busy0, "reindex_machine_cpu_s": busy2 - busy1, "indexed": indexed}


def run(scale: int, page_size: int, rounds: int, workers: int, stores: tuple[str, ...]) -> dict[str, Any]:
    results: dict[str, dict[str, list[float]]] = {s: {k: [] for k in (*FIGURES, "indexed")} for s in stores}
    wall = time.perf_counter()
    with DemoCorpus(scale, page_size) as corpus, PostgresCluster() as pg, \
            tempfile.TemporaryDirectory(prefix="fedcat-bench-stores-") as tmp:
        log.info("demo corpus x %d: %d records (%d deleted) from %d sources; PostgreSQL on port %d", scale,
                 corpus.records, corpus.deleted, len(corpus.sources), pg.port)
        for r in range(rounds):
            order = stores if r % 2 == 0 else tuple(reversed(stores))
            for store in order:
                for key, value in one_store(store, r, corpus, pg, workers, Path(tmp)).items():
                    results[store][key].append(value)
        records, deleted = corpus.records, corpus.deleted
    return {"scale": scale, "page_size": page_size, "rounds": rounds, "workers": workers, "records": records,
            "deleted": deleted, "cpus": os.cpu_count(), "wall_s": time.perf_counter() - wall, "stores": results}


def report(res: dict[str, Any]) -> str:
    n = res["records"]
    stores: dict[str, dict[str, list[float]]] = res["stores"]
    med = {name: {k: statistics.median(v) for k, v in t.items()} for name, t in stores.items()}
    base = med.get("sqlite")
    lines = [f"full harvest of the demo corpus x {res['scale']}: {n} records ({res['deleted']} deleted) from 5 "
             f"OAI-PMH sources, {res['page_size']} per page, workers {res['workers']}; {res['cpus']} CPUs; "
             f"{res['rounds']} rounds, medians; ratios against sqlite from the same run",
             f"{'':<18}{'harvest':>32}{'reindex':>32}",
             f"{'store':<18}" + f"{'wall (s)':>9}{'ratio':>7}{'rec/s':>7}{'CPU fedcat+PG':>16}   "
             f"{'wall (s)':>9}{'ratio':>7}{'CPU fedcat+PG':>16}"]
    for name, m in med.items():
        hr = m["harvest_s"] / base["harvest_s"] if base else float("nan")
        xr = m["reindex_s"] / base["reindex_s"] if base else float("nan")
        lines.append(f"{name:<18}{m['harvest_s']:>9.1f}{hr:>6.2f}x{n / m['harvest_s']:>7.0f}"
                     f"{m['harvest_cpu_s']:>9.1f}+{m['harvest_pg_cpu_s']:<6.1f}   "
                     f"{m['reindex_s']:>9.1f}{xr:>6.2f}x{m['reindex_cpu_s']:>9.1f}+{m['reindex_pg_cpu_s']:<6.1f}")
    lines.append("each round, harvest / reindex wall (s): " + "; ".join(
        f"{name} " + ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(t["harvest_s"], t["reindex_s"]))
        for name, t in stores.items()))
    if "sqlite" in stores:
        b = stores["sqlite"]
        lines.append("each round, ratio to sqlite, harvest / reindex: " + "; ".join(
            f"{name} " + ", ".join(f"{h / bh:.2f}/{x / bx:.2f}" for h, bh, x, bx in
                                   zip(t["harvest_s"], b["harvest_s"], t["reindex_s"], b["reindex_s"]))
            for name, t in stores.items() if name != "sqlite"))
    indexed = ", ".join(f"{name} {int(t['indexed'][0])}" for name, t in stores.items())
    lines.append(f"records indexed by reindex: {indexed}")
    lines.append("CPU: seconds of the fedcat process + of the PostgreSQL server (its backends and background "
                 "processes) over the command")
    lines.append("machine busy over the commands, cores (everything running, the demo server included): " + "; ".join(
        f"{name} " + ", ".join(f"{c / w:.2f}/{d / x:.2f}" for c, w, d, x in
                               zip(t["harvest_machine_cpu_s"], t["harvest_s"], t["reindex_machine_cpu_s"],
                                   t["reindex_s"]))
        for name, t in stores.items()) + " (harvest/reindex, each round)")
    lines.append(f"wall time {res['wall_s']:.0f} s")
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=20, help="records per demo center, times its demo count (600 in all)")
    p.add_argument("--page-size", type=int, default=200, help="records per OAI-PMH page")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--workers", type=int, default=4, help="sources harvested at the same time (config `workers`)")
    p.add_argument("--stores", default=",".join(STORES), help=f"comma-separated, of {', '.join(STORES)}")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    stores = tuple(s.strip() for s in args.stores.split(",") if s.strip())
    unknown = [s for s in stores if s not in STORES]
    if unknown:
        p.error(f"unknown store {unknown[0]!r}")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    res = run(args.scale, args.page_size, args.rounds, args.workers, stores)
    sys.stdout.write(json.dumps(res, indent=2) + "\n" if args.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
