"""``fedcat harvests``: the harvest runs as a table, their messages whole with ``--long``, and the first
errors of the newest runs that had some."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from fedcat.harvester.store import RunReport

from .catalog import Catalog
from .cli_common import _config, command_line
from .console import make_console

console = make_console()


def cmd_harvests(args: argparse.Namespace) -> int:
    catalog = Catalog.open(_config(args))
    try:
        runs = catalog.store.runs.recent(args.source, limit=args.limit)
    finally:
        catalog.close()
    if args.json:
        print(json.dumps({"harvests": [r.to_dict() for r in runs]}, ensure_ascii=False, indent=2))
        return 0
    console.print(runs_table(runs, long=args.long))
    if args.long:
        for line in run_messages(runs):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    elif any(len(r.message or "") > MESSAGE_SHOWN for r in runs):
        words = ["harvests", *(["--source", args.source] if args.source else []),
                 *(["--limit", str(args.limit)] if args.limit != HARVESTS_LIMIT else []), "--long"]
        console.print(f"messages cut at {MESSAGE_SHOWN} characters; whole: {command_line(args, *words)}",
                      markup=False, highlight=False, soft_wrap=True)
    for line in first_errors(runs):
        console.print(line, markup=False, highlight=False, soft_wrap=args.long)
    return 0


def _retries(counts: Mapping[str, int]) -> str:
    """``{"http_503": 2, "timeout": 1}`` → ``3 (http_503 2, timeout 1)``."""
    if not counts:
        return "0"
    return f"{sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"


def runs_table(runs: Sequence[RunReport], *, long: bool = False) -> Table:
    """``fedcat harvests``: one row per run, newest first, its message cut to :data:`MESSAGE_SHOWN`
    characters; ``long`` (``--long``) leaves the message out, for :func:`run_messages` to print whole."""
    table = Table(title="Harvest runs", box=box.SIMPLE_HEAD)
    columns = ["run", "source", "status", "started", "time", "pages", "added", "updated", "unchanged", "deleted",
               "gated", "errored", "retries", *([] if long else ["message"])]
    for col in columns:
        table.add_column(col, justify="right" if col in ("run", "time", "pages") or col in _COUNTS else "left")
    for r in runs:
        d = r.to_dict()
        took = f"{d['duration_s']:.0f}s" if d["duration_s"] is not None else ""
        message = [] if long else [Text(_cut(r.message or "", MESSAGE_SHOWN))]  # Text: no markup in messages
        table.add_row(str(r.id), r.source_id, r.status.value, r.started_at or "", took, str(r.pages),
                      *(str(d[k]) for k in _COUNTS), _retries(r.retries), *message)
    return table


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def run_messages(runs: Sequence[RunReport]) -> list[str]:
    """``fedcat harvests --long``: each run's message, whole, its warnings and the CPU seconds of its stages
    (newest run first)."""
    lines = []
    for r in runs:
        if r.message:
            lines.append(f"run {r.id} ({r.source_id}) {r.status.value}: {r.message}")
        lines += [f"run {r.id} ({r.source_id}) warning: {w}" for w in r.warnings]
        if any(r.cpu_s.values()):
            lines.append(f"run {r.id} ({r.source_id}) CPU: "
                         + ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in r.cpu_s.items()))
    return lines


_COUNTS = ("added", "updated", "unchanged", "deleted", "gated", "errored")
#: Characters of a run's message the ``fedcat harvests`` table shows (``--long`` prints them whole).
MESSAGE_SHOWN = 60
#: Runs ``fedcat harvests`` lists unless ``--limit`` says otherwise.
HARVESTS_LIMIT = 20
#: Runs whose first errors ``fedcat harvests`` lists under its table (the newest ones with errors).
ERROR_RUNS_SHOWN = 3


def first_errors(runs: Sequence[RunReport]) -> list[str]:
    """The first errors of the newest runs that had some: record id, message, URL."""
    out: list[str] = []
    for r in [r for r in runs if r.errors][:ERROR_RUNS_SHOWN]:
        out.append(f"run {r.id} ({r.source_id}), first errors:")
        for e in r.errors:
            record = f"{r.source_id}:{e.local_id}" if e.local_id else "(no record)"
            out.append(f"  {record}: {e.message}" + (f"\n    {e.url}" if e.url else ""))
    return out
