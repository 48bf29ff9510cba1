"""``fedcat metrics`` (the API's metrics bodies as a table, JSON or CSV) and ``fedcat linkcheck``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from fedcat.harvester.config import Audience
from fedcat.harvester.linkcheck.result import LinkStatus

from .audience import Caller
from .console import make_console
from .catalog import Catalog

console = make_console()


def _catalog(args: argparse.Namespace) -> Catalog:
    from .cli import _config  # the main CLI module registers these commands

    return Catalog.open(_config(args))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def cmd_metrics(args: argparse.Namespace) -> int:
    from .metrics import center_body, csv_rows, ranking_body, to_csv  # the API's module: loaded when used

    catalog = _catalog(args)
    try:
        caller = Caller.anonymous(catalog.config.api)
        if args.audience:
            caller = Caller(Audience(args.audience), "cli", caller.unknown_as)
        kind = "center" if args.center else "ranking"
        body = center_body(catalog, caller, args.center) if args.center else ranking_body(catalog, caller)
    finally:
        catalog.close()
    if args.format == "json":
        print(json.dumps(body, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        sys.stdout.write(to_csv(csv_rows(kind, body)))
    elif args.center:
        _center_table(body)
    else:
        _ranking_table(body)
    return 0


def _center_table(body: dict[str, Any]) -> None:
    m = body["metrics"]
    c = m["completeness"]
    r = m["reachability"]
    f = m["freshness"]
    table = Table(title=f"{body['center']['id']} {body['center']['name']} ({body['audience']}, {m['as_of']})",
                  box=box.SIMPLE_HEAD, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("records (visible)", str(m["records"])), ("gated core/secret", f"{m['gated']['core']}/{m['gated']['secret']}"),
        ("open share", _pct(m["open_share"])), ("PID share (DOI or CSTR)", _pct(m["pid"]["any_share"])),
        ("licence present", _pct(m["licence"]["present_share"])), ("open licence", _pct(m["licence"]["open_share"])),
        ("citation complete", _pct(m["citation"]["complete_share"])), ("version present", _pct(m["version"]["share"])),
        ("completeness", f"{c['score']} / {c['max']} ({c['rating']})" if c["score"] is not None else "–"),
        *((f"  {d}", f"{v['score']} / {v['max']}") for d, v in c["dimensions"].items()),
        ("declared open but not reachable", f"{r['unreachable']} of {r['checked']} checked"),
        ("  login walls", str(r["login_wall"])),
        ("overdue embargoes", str(m["embargo"]["passed_not_open"])),
        ("median days since modified", str(f["median_days_since_modified"])),
        ("last successful harvest", f["last_successful_harvest"] or "never"),
        ("harvest success rate", _pct(f["harvest_success_rate"])),
        ("ranking score", str(m["ranking_score"])),
    ]
    for name, value in rows:
        table.add_row(name, escape(value))
    console.print(table)


def _ranking_table(body: dict[str, Any]) -> None:
    table = Table(title=f"Ranking ({body['audience']}, {body['as_of']})", box=box.SIMPLE_HEAD)
    for col in ("rank", "center", "score", "records", "open", "completeness", "PID", "open licence", "reachable"):
        table.add_column(col, justify="left" if col == "center" else "right")
    for r in body["ranking"]:
        table.add_row(str(r["rank"]), r["center"], str(r["ranking_score"]), str(r["records"]), _pct(r["open_share"]),
                      f"{r['completeness']} ({r['rating']})" if r["completeness"] is not None else "–",
                      _pct(r["pid_share"]), _pct(r["open_licence_share"]), _pct(r["reachable_share"]))
    console.print(table)
    o = body["overall"]
    console.print(f"overall: {o['records']} records, open share {_pct(o['open_share'])}, completeness "
                  f"{o['completeness']['score']} ({o['completeness']['rating']}), declared open but not reachable "
                  f"{o['reachability']['unreachable']} of {o['reachability']['checked']} checked")


def cmd_linkcheck(args: argparse.Namespace) -> int:
    from fedcat.harvester.linkcheck.run import check_links  # loaded by this command only

    catalog = _catalog(args)
    if args.source:
        catalog.config.source(args.source)  # an unknown id is a ConfigError naming the known ones
    try:
        with console.status("checking the links of records declared open"):
            report = check_links(catalog.store, catalog.config, args.source)
    finally:
        catalog.close()
    by_source = report.by_source()
    if args.json:
        print(json.dumps({"checked": len(report.results), "not_checked_other_hosts": report.out_of_scope,
                          "by_source": by_source, "results": [r.to_dict() for r in report.results]},
                         ensure_ascii=False, indent=2))
        return 0
    table = Table(title="Link check of records declared open", box=box.SIMPLE_HEAD)
    statuses = [s.value for s in LinkStatus]
    table.add_column("source")
    for s in statuses:
        table.add_column(s, justify="right")
    for sid, counts in sorted(by_source.items()):
        table.add_row(sid, *(str(counts.get(s, 0)) for s in statuses))
    console.print(table)
    bad = sum(1 for r in report.results if not r.status.reachable)
    console.print(f"[bold]declared open but not reachable:[/] {bad} of {len(report.results)} links")
    if report.out_of_scope:
        console.print(f"not checked: {report.out_of_scope} links on hosts outside linkcheck.only_hosts")
    return 0


def add_parsers(sub: Any) -> None:
    m = sub.add_parser("metrics", help="openness metrics per center and the ranking (as the API gives them)")
    m.add_argument("--center", metavar="ID", help="one center's metrics (default: the ranking and overall)")
    m.add_argument("--format", choices=("table", "json", "csv"), default="table")
    m.add_argument("--audience", choices=[a.value for a in Audience], help="compute as this audience sees")
    m.set_defaults(fn=cmd_metrics)
    lc = sub.add_parser("linkcheck", help="visit the landing and access URLs of records declared open")
    lc.add_argument("--source", metavar="ID", help="only this source")
    lc.add_argument("--json", action="store_true", help="print every result as JSON")
    lc.set_defaults(fn=cmd_linkcheck)
