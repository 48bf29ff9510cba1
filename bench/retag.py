"""Re-tag benchmark: records/s of `fedcat retag` over a large store after a rule change.

    python bench/retag.py                    # 100k records
    python bench/retag.py --records 10000    # quick

The store is filled with copies of the demo federation's records (harvested from its loopback
servers, then copied under new ids until there are ``--records``), tagged with the shipped rules and
indexed in the embedded index. Then a rule is added that moves about one record in ten (permafrost
records become domestic) and the whole store is re-tagged (:func:`fedcat.harvester.pipeline.retagging.retag_store`):
each record read, tagged again, the changed ones written and sent to the index.

Reported, in one run: records/s of the re-tag, and its time as a ratio against a baseline measured in
the same run on the same store: reading and decoding every record (``iter_records``) without tagging;
and the tagger alone, in microseconds per record.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import tempfile
import time
from pathlib import Path

from fedcat.api.demo import demo_config, start_federation
from fedcat.harvester.config import config_from_dict
from fedcat.harvester.model import Record
from fedcat.harvester.pipeline.retagging import retag_store
from fedcat.harvester.pipeline.run import Harvester
from fedcat.harvester.store import PageItem, RecordStore, RunReport
from fedcat.index.embedded import EmbeddedIndex

log = logging.getLogger("bench.retag")
RULE = {"id": "bench-permafrost-domestic", "when": {"content": "冻土(?!沙漠)|permafrost"},
        "set": {"geo_scope": "domestic"}}


def fill(data: Path, records: int) -> dict[str, object]:
    """Harvest the demo federation into ``data``, then copy its records up to ``records``."""
    federation = start_federation()
    try:
        raw = demo_config(federation, data, "127.0.0.1", 8000)
        config = config_from_dict(raw)
        store = RecordStore(data / "records.sqlite3")
        harvester = Harvester(config, store, None)
        harvester.harvest()
        base = list(store.records.iter_records())
        run = store.runs.start_run(RunReport(source_id="bench", full=True))
        copies, batch = len(base), []
        while copies < records:
            rec = base[copies % len(base)]
            copy = Record.from_dict(rec.to_dict())
            copy.local_id = f"{rec.local_id}.c{copies}"
            copy.id = Record.make_id(rec.source_id, copy.local_id)
            copy.identifiers.doi = copy.identifiers.cstr = None  # each copy its own dataset
            batch.append(PageItem(copy, None))
            copies += 1
            if len(batch) == 2000:
                store.store_page(run, batch, checkpoint=None)
                batch = []
        if batch:
            store.store_page(run, batch, checkpoint=None)
        store.close()
        return raw
    finally:
        federation.stop()


def tagging_alone(harvester: Harvester, records: list[Record]) -> float:
    """Microseconds per record of the tagger alone (best of 3 passes, no store, no index)."""
    taggers = {s.id: harvester.tagger_for(s) for s in harvester.config.sources}
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for rec in records:
            taggers[rec.source_id].tag(rec)
        best = min(best, time.perf_counter() - t0)
    return best / len(records) * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        raw = fill(data, args.records)
        store = RecordStore(data / "records.sqlite3")
        index = EmbeddedIndex(data / "index")
        harvester = Harvester(config_from_dict(raw), store, index)
        harvester.feeder.rebuild()

        t0 = time.perf_counter()
        n = sum(1 for _ in store.records.iter_records())
        read_s = time.perf_counter() - t0
        tag_us = tagging_alone(harvester, list(itertools.islice(store.records.iter_records(), 5000)))

        changed = config_from_dict({**raw, "tagging": {"rules": [RULE]}})
        harvester = Harvester(changed, store, index)
        t0 = time.perf_counter()
        report = retag_store(harvester)
        retag_s = time.perf_counter() - t0
        index.close()
        store.close()
    out = {"records": n, "changed": report.changed, "moves": report.moves,
           "read_s": round(read_s, 2), "retag_s": round(retag_s, 2), "tagging_us_per_record": round(tag_us),
           "retag_records_per_s": round(n / retag_s), "ratio_to_read": round(retag_s / read_s, 2)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{n} records, {report.changed} changed by the new rule ({report.moves})")
        print(f"baseline: reading and decoding every record   {read_s:7.2f} s")
        print(f"tagging alone (5,000 records, best of 3)       {tag_us:7.0f} us/record")
        print(f"re-tag (read, tag, write changed, index them)  {retag_s:7.2f} s  "
              f"{n / retag_s:,.0f} records/s  {retag_s / read_s:.1f}x the baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
