"""Group-walk benchmark: one batch of the walk that `fedcat reindex` and a rebuild read the store with.

    python bench/group_walk.py                    # 100k records
    python bench/group_walk.py --records 20000    # quick

A SQLite store is filled with ``--records`` records (two in three with a DOI), then one batch of 500
groups is read at three places of the walk (near the start, halfway, near the end), five times each,
with the store's own query (``(group_key, id) > (?, ?)``, a row value) and, as the baseline in the same
run, the OR of keys it used before (``group_key > ? OR (group_key = ? AND id > ?)``). Reported: ms a
batch, and the plan SQLite chose for each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from fedcat.harvester.model import Identifiers, LangText, Record
from fedcat.harvester.store import PageItem, RawPayload, RecordStore, RunReport

COLUMNS = "SELECT id, group_key, record_json FROM records WHERE deleted = 0 AND group_key IS NOT NULL" \
          " AND record_json IS NOT NULL AND "
QUERIES = {
    "row value (now)": (COLUMNS + "(group_key, id) > (?, ?) ORDER BY group_key, id LIMIT 500", 2),
    "OR of keys (before)": (COLUMNS + "(group_key > ? OR (group_key = ? AND id > ?)) ORDER BY group_key, id"
                            " LIMIT 500", 3),
}


def fill(store: RecordStore, n: int) -> None:
    for page in range(n // 1000):
        run = store.runs.start_run(RunReport(source_id="lab", full=True))
        items = []
        for i in range(1000):
            doi = f"10.1/{page}.{i}" if i % 3 else None
            rec = Record(id=f"lab:{page:05d}.{i:04d}", source_id="lab", local_id=f"{page:05d}.{i:04d}",
                         titles=[LangText("Glacier mass balance")], identifiers=Identifiers(doi=doi))
            items.append(PageItem(rec, RawPayload("oai_dc", b"x")))
        store.store_page(run, items, checkpoint=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = RecordStore(Path(tmp) / "records.sqlite3")
        started = time.perf_counter()
        fill(store, args.records)
        print(f"{args.records} records stored in {time.perf_counter() - started:.1f} s")
        db = store.connection.db
        keys = [row[0] for row in db.execute("SELECT group_key FROM records ORDER BY group_key")]
        for position in (1000, len(keys) // 2, len(keys) - 1000):
            key = keys[position]
            for name, (sql, arity) in QUERIES.items():
                params = (key, "") if arity == 2 else (key, key, "")
                plan = db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()[0][3]
                started = time.perf_counter()
                for _ in range(5):
                    db.execute(sql, params).fetchall()
                ms = (time.perf_counter() - started) / 5 * 1000
                print(f"batch at {position:>7}: {name:<20} {ms:8.2f} ms  ({plan})")
        store.close()


if __name__ == "__main__":
    main()
