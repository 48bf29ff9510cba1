"""``fedcat status``: does the search index reflect the record store? (and ``--repair``: make it so)."""

from __future__ import annotations

from fedcat.harvester.config import Config
from fedcat.index.embedded import EmbeddedIndex

from .catalog import Catalog
from .console import make_console

console = make_console()


def run(config: Config, *, repair: bool) -> int:
    """Print the store's and the index's state; exit 1 while records wait for the index (0 once in step)."""
    catalog = Catalog.open(config, index_required=False)
    try:
        marked = catalog.harvester.feeder.marked
        live, pending = catalog.store.indexing.index_counts()
        console.print(f"record store  {catalog.store.location}: {live} live records, {pending} waiting for the index")
        console.print(f"index         {catalog.index.name}: {catalog.index.count()} datasets searchable")
        if marked:
            console.print(f"[yellow]the index did not reflect this store (new, lost, or built from another "
                          f"store): {marked} records were marked to be indexed again[/]")
        cut_short = catalog.index.rebuild_progress() if isinstance(catalog.index, EmbeddedIndex) else None
        if cut_short is not None:
            console.print(f"[yellow]a rebuild was cut short after {cut_short} records: "
                          "`fedcat reindex` continues it (the old index serves until then)[/]")
        if pending and repair:
            with console.status(f"indexing {pending} records"):
                done = catalog.harvester.feeder.catch_up()
            pending = catalog.store.indexing.index_counts()[1]
            console.print(f"indexed {done} records; {pending} still waiting")
        elif pending:
            console.print("`fedcat status --repair` indexes them now (so does the next harvest)")
        if not pending:
            console.print("[green]the index is in step with the store[/]")
        return 1 if pending else 0
    finally:
        catalog.close()
