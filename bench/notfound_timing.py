"""Can a caller tell a hidden record from a missing one by the time its 404 takes?

    python bench/notfound_timing.py               # 800 pairs
    python bench/notfound_timing.py --pairs 4000

A store holds one ``general`` record and one ``important`` record (hidden from anonymous callers, with a
long description, as real records have). Anonymous requests for the hidden id and for an id that does not
exist are sent in alternating pairs through the real FastAPI app (in process, so network jitter does not
hide a difference). Reported: the median of each, the mean paired difference and its z score (mean
difference over its standard error). |z| below about 3 means the two cannot be told apart at this sample
size; the 404 route is built so that both do the same work (see ``Records.get_visible``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.harvester.config import config_from_dict
from fedcat.harvester.model import Access, GeoScope, Identifiers, LangText, Openness, Record, Security
from fedcat.harvester.store import PageItem, RunReport


def record(local_id: str, security: Security) -> Record:
    return Record(
        id=f"lab:{local_id}", source_id="lab", local_id=local_id, titles=[LangText(f"冰川数据 {local_id}", "zh")],
        descriptions=[LangText("青藏高原冰川物质平衡观测。" * 400, "zh")], identifiers=Identifiers(), year=2024,
        subjects=[f"主题{i}" for i in range(50)],
        access=Access(openness=Openness.OPEN, geo_scope=GeoScope.INTERNATIONAL, security=security))


def measure(pairs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog.open(config_from_dict({"data_dir": str(Path(tmp) / "data"), "sources": []}))
        cat.harvester.clock = lambda: date(2026, 1, 1)
        run = cat.store.runs.start_run(RunReport(source_id="lab", full=True))
        cat.store.store_page(run, [PageItem(record("open", Security.GENERAL), None),
                                   PageItem(record("hidden", Security.IMPORTANT), None)], checkpoint=None)
        diffs, hidden, missing = asyncio.run(_pairs(cat, pairs))
        cat.close()
    mean = statistics.fmean(diffs)
    return {"pairs": pairs, "hidden_median_ms": round(statistics.median(hidden) * 1e3, 4),
            "missing_median_ms": round(statistics.median(missing) * 1e3, 4),
            "mean_difference_ms": round(mean * 1e3, 4),
            "z": round(mean / (statistics.stdev(diffs) / len(diffs) ** 0.5), 2)}


async def _pairs(cat: Catalog, pairs: int) -> tuple[list[float], list[float], list[float]]:
    transport = httpx.ASGITransport(app=create_app(cat))
    diffs: list[float] = []
    hidden: list[float] = []
    missing: list[float] = []
    order = ("/api/v1/records/lab:hidden", "/api/v1/records/lab:absent")
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for i in range(pairs + 50):
            times = {}
            for path in (order if i % 2 else order[::-1]):
                start = time.perf_counter()
                assert (await client.get(path)).status_code == 404
                times[path] = time.perf_counter() - start
            if i >= 50:  # warm-up
                hidden.append(times[order[0]])
                missing.append(times[order[1]])
                diffs.append(times[order[0]] - times[order[1]])
    return diffs, hidden, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=800)
    print(json.dumps(measure(parser.parse_args().pairs), indent=2))


if __name__ == "__main__":
    main()
