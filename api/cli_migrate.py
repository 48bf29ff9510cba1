"""``fedcat migrate``: bring the record store's layout to this fedcat's schema version.

Opening a store migrates it anyway (every command does, at start-up); this command does it on its own,
before a service starts, and says from which version to which. ``--check`` only reads the version: exit 1
when the store needs migrating, 2 when it was written by a newer fedcat (which refuses to open it).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fedcat.harvester.config import Config
from fedcat.harvester.store import open_store
from fedcat.harvester.store.migrations import SCHEMA_VERSION
from fedcat.harvester.store.record_store import stored_schema_version

from .cli_common import _config
from .console import make_console

console = make_console()


def run(config: Config, *, check: bool) -> int:
    data = Path(config.data_path)
    if check:
        location, version = stored_schema_version(config.store, data)
        if version > SCHEMA_VERSION:
            console.print(f"record store  {location}: schema version {version}, newer than this fedcat's "
                          f"({SCHEMA_VERSION}): it will not be opened")
            return 2
        if version < SCHEMA_VERSION:
            console.print(f"record store  {location}: schema version {version}; `fedcat migrate` brings it "
                          f"to {SCHEMA_VERSION}")
            return 1
        console.print(f"record store  {location}: schema version {version}, current")
        return 0
    data.mkdir(parents=True, exist_ok=True)
    store = open_store(config.store, data)
    try:
        before, after = store.schema_versions
        if before == after:
            console.print(f"record store  {store.location}: schema version {after}, current; nothing to do")
        elif before == 0:
            console.print(f"record store  {store.location}: created at schema version {after}")
        else:
            console.print(f"record store  {store.location}: migrated from schema version {before} to {after}")
        return 0
    finally:
        store.close()


def add_parsers(sub: Any) -> None:
    m = sub.add_parser("migrate", help="bring the record store to this version's schema (says from and to)")
    m.add_argument("--check", action="store_true",
                   help="only read the store's schema version (exit 1: needs migrating, 2: newer than fedcat)")
    m.set_defaults(fn=lambda a: _run(a))


def _run(args: argparse.Namespace) -> int:
    return run(_config(args), check=args.check)
