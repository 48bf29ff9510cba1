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
from fedcat.harvester.store.link_results import LinkStatus

from .audience import Caller
from .catalog import Catalog
from .cli_common import _config, command_line
from .console import make_console

console = make_console()


def _catalog(args: argparse.Namespace) -> Catalog:
    return Catalog.open(_config(args))


#: Cells the center column keeps on a narrow terminal (longer names are folded onto more lines).
CENTER_MIN_WIDTH = 12
#: Ranking columns that may take two lines (``173.0`` over ``(sufficient)``) so the table fits 80 columns.
WRAPPED = frozenset({"completeness", "open licence"})
#: Shown for a figure that has no value yet (no records, never harvested).
NO_VALUE = "–"


def _pct(value: float | None) -> str:
    return NO_VALUE if value is None else f"{100 * value:.1f}%"


def _num(value: object) -> str:
    return NO_VALUE if value is None else str(value)


def _score(score: object, rating: object) -> str:
    """``72 (good)``; ``–`` when there is no score (no records to score)."""
    if score is None:
        return NO_VALUE
    return f"{score} ({rating})" if rating is not None else str(score)


def _never_harvested(catalog: Catalog) -> list[str]:
    """Ids of the configured sources without a single harvest run."""
    return [s.id for s in catalog.config.sources if not catalog.store.runs.recent(s.id, limit=1)]


def cmd_metrics(args: argparse.Namespace) -> int:
    from .metrics import center_body, csv_rows, ranking_body, to_csv  # the API's module: loaded when used

    catalog = _catalog(args)
    try:
        caller = Caller.anonymous(catalog.config.api)
        if args.audience:
            caller = Caller(Audience(args.audience), "cli", caller.unknown_as)
        kind = "center" if args.center else "ranking"
        body = center_body(catalog, caller, args.center) if args.center else ranking_body(catalog, caller)
        names = {s.id: s.name for s in catalog.config.sources}
        never = _never_harvested(catalog)
    finally:
        catalog.close()
    if args.format == "json":
        print(json.dumps(body, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        sys.stdout.write(to_csv(csv_rows(kind, body)))
    else:
        if args.center:
            _center_table(body)
        else:
            _ranking_table(body, names)
        _not_harvested_hint(args, [c for c in never if not args.center or c == args.center])
    return 0


def _not_harvested_hint(args: argparse.Namespace, never: list[str]) -> None:
    """Under the table: which centers were never harvested (their figures are empty), and how to."""
    if never:
        console.print(f"not yet harvested: {', '.join(never)}; harvest with: {command_line(args, 'harvest')}",
                      markup=False, highlight=False, soft_wrap=True)


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
        ("completeness", f"{c['score']} / {c['max']} ({c['rating']})" if c["score"] is not None else NO_VALUE),
        *((f"  {d}", f"{v['score']} / {v['max']}" if v["score"] is not None else NO_VALUE)
          for d, v in c["dimensions"].items()),
        ("declared open but not reachable", f"{r['unreachable']} of {r['checked']} checked"),
        ("  login walls", str(r["login_wall"])),
        ("overdue embargoes", str(m["embargo"]["passed_not_open"])),
        ("median days since modified", _num(f["median_days_since_modified"])),
        ("last successful harvest", f["last_successful_harvest"] or "never"),
        ("harvest success rate", _pct(f["harvest_success_rate"])),
        ("ranking score", _num(m["ranking_score"])),
    ]
    for name, value in rows:
        table.add_row(name, escape(value))
    console.print(table)


def _ranking_table(body: dict[str, Any], names: dict[str, str]) -> None:
    """One row per center, named (``国家冰川冻土沙漠科学数据中心 (ncdc)``), then the overall figures."""
    table = Table(title=f"Ranking ({body['audience']}, {body['as_of']})", box=box.SIMPLE_HEAD, padding=0,
                  pad_edge=False)  # the box puts one space between columns: the nine fit in 80
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("center", overflow="fold", min_width=CENTER_MIN_WIDTH)  # folded, never cut
    for col in ("score", "records", "open", "completeness", "PID", "open licence", "reachable"):
        table.add_column(col, justify="right", no_wrap=col not in WRAPPED)  # numbers whole, never cut
    for r in body["ranking"]:
        center = f"{names[r['center']]} ({r['center']})" if r["center"] in names else r["center"]
        table.add_row(str(r["rank"]), escape(center), _num(r["ranking_score"]), _num(r["records"]),
                      _pct(r["open_share"]), _score(r["completeness"], r["rating"]), _pct(r["pid_share"]),
                      _pct(r["open_licence_share"]), _pct(r["reachable_share"]))
    console.print(table)
    o = body["overall"]
    console.print(f"overall: {o['records']} records, open share {_pct(o['open_share'])}, completeness "
                  f"{_score(o['completeness']['score'], o['completeness']['rating'])}, declared open but not "
                  f"reachable {o['reachability']['unreachable']} of {o['reachability']['checked']} checked",
                  markup=False, highlight=False)


def cmd_linkcheck(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    if args.source:
        catalog.config.source(args.source)  # an unknown id is a ConfigError naming the known ones
    try:
        with console.status("checking the links of records declared open"):
            report = catalog.check_links(args.source)
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
