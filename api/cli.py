"""The ``fedcat`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.markup import escape
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from fedcat.harvester.config import Audience
from fedcat.harvester.errors import FedcatError
from fedcat.harvester.store import RunReport, RunStatus
from fedcat.harvester.version import VERSION
from fedcat.index.base import FACETS, MAX_RESULT_WINDOW, SearchQuery, SearchResult

from . import cli_metrics, cli_migrate, cli_officer, cli_schema, cli_serve, cli_status, logs
from .audience import Caller
from .catalog import Catalog
from .cli_common import DEFAULT_CONFIG, _config, command_line, invoked_command
from .cli_runs import HARVESTS_LIMIT, cmd_harvests
from .console import make_console
from .stopping import Stopped, stop_on_signals
from .translate import translated

log = logging.getLogger(__name__)
console = make_console()
err_console = make_console(stderr=True)

#: Hits per page of ``fedcat search`` unless ``--size`` says otherwise.
SEARCH_SIZE = 20


class RichProgress:
    """Harvest progress: one bar per source."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def started(self, source_id: str) -> None:
        self.tasks[source_id] = self.progress.add_task(source_id, total=None)

    def advanced(self, source_id: str, records: int, total_hint: int | None) -> None:
        task = self.tasks[source_id]
        self.progress.update(task, advance=records, total=total_hint)

    def finished(self, report: RunReport) -> None:
        task = self.tasks.get(report.source_id)
        if task is not None:
            done = self.progress.tasks[task].completed
            self.progress.update(task, total=done, description=f"{report.source_id} [{report.status.value}]")


# -- helpers ------------------------------------------------------------------------------------


def _summary(reports: Sequence[RunReport]) -> Table:
    table = Table(title="Harvest summary", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                  collapse_padding=True)
    columns = ["source", "status", "added", "updated", "unchanged", "deleted", "errored", "time"]
    show_gated = any(r.counts.get("gated") for r in reports)
    if show_gated:
        columns.insert(-2, "gated")
    show_retries = any(r.retries for r in reports)
    if show_retries:
        columns.insert(-1, "retries")
    for col in columns:
        table.add_column(col, justify="left" if col in ("source", "status") else "right", no_wrap=True)
    styles = {RunStatus.SUCCEEDED: "green", RunStatus.PARTIAL: "yellow", RunStatus.FAILED: "red",
              RunStatus.INTERRUPTED: "yellow", RunStatus.SKIPPED: "yellow"}
    for r in reports:
        d = r.to_dict()
        row = [r.source_id, f"[{styles.get(r.status, 'white')}]{r.status.value}[/]",
               *(str(d[k]) for k in ("added", "updated", "unchanged", "deleted"))]
        if show_gated:
            row.append(str(d["gated"]))
        row.append(str(d["errored"]))
        if show_retries:
            row.append(str(sum(r.retries.values())))
        row.append(f"{d['duration_s'] or 0:.0f}s")
        table.add_row(*row)
    return table


def _run_harvest(catalog: Catalog, sources: Sequence[str] | None, full: bool) -> list[RunReport]:
    """Harvest with a progress bar per source (none with JSON logs), print the summary; on SIGTERM or
    Ctrl-C, each run stores the page it is on and ends interrupted, and :class:`Stopped` is raised."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with stop_on_signals(catalog.harvester.stop) as stop:
        if logs.json_lines():  # stderr carries the JSON log lines only
            reports = catalog.harvester.harvest(sources, full=full)
        else:
            with Progress(*columns, console=err_console, transient=False) as progress:
                reports = catalog.harvester.harvest(sources, full=full, progress=RichProgress(progress))
    console.print(_summary(reports))
    for r in reports:
        if r.status is RunStatus.SKIPPED and not logs.json_lines():  # the JSON log has said it
            err_console.print(_failure_line(r), style="yellow", markup=False, highlight=False, soft_wrap=True)
        if r.status is not RunStatus.FAILED:
            continue
        if logs.json_lines():
            log.error("%s", r.message or "failed", extra={"source_id": r.source_id, "run_id": r.id})
        else:
            err_console.print(_failure_line(r), style="red", markup=False, highlight=False, soft_wrap=True)
    stop.raise_if_stopped()
    return reports


def _failure_line(report: RunReport) -> str:
    """``[dead] http://… connection refused (…)``: the source id once, even when the message names it."""
    message = report.message or "failed"
    return message if message.startswith(f"[{report.source_id}]") else f"{report.source_id}: {message}"


def _parse_filters(pairs: Sequence[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value:
            raise FedcatError(f"--filter {pair!r}: expected key=value")
        if key not in FACETS:
            raise FedcatError(f"--filter {key!r}: unknown key (known: {', '.join(FACETS)})")
        filters.setdefault(key, []).append(value)
    return filters


# -- commands ---------------------------------------------------------------------------------------


def cmd_harvest(args: argparse.Namespace) -> int:
    catalog = Catalog.open(_config(args), index_required=False)
    try:
        reports = _run_harvest(catalog, args.source, args.full)
    finally:
        catalog.close()
    return 1 if any(r.status is RunStatus.FAILED for r in reports) else 0


def cmd_search(args: argparse.Namespace) -> int:
    from .app import search_body

    config = _config(args)
    catalog = Catalog.open(config)
    try:
        caller = Caller.anonymous(config.api)
        if args.audience:
            caller = Caller(Audience(args.audience), "cli", caller.unknown_as)
        query = translated(SearchQuery(text=args.query, filters=_parse_filters(args.filter), size=args.size,
                                       offset=(args.page - 1) * args.size, visibility=caller.visibility,
                                       facets=FACETS if args.json else ()), catalog.store)
        result = catalog.index.search(query)
    finally:
        catalog.close()
    if args.json:
        print(json.dumps(search_body(result, query, caller), ensure_ascii=False, indent=2))
        return 0
    console.print(_showing(result, query, args.query), highlight=False)
    _print_hits(result)
    hint = _next_page_hint(args, result, query)
    if hint:
        console.print(hint, markup=False, highlight=False, soft_wrap=True)
    return 0


def _showing(result: SearchResult, query: SearchQuery, text: str) -> Text:
    """``showing 20 of 30 records matching 'glacier'`` (``, from #21`` past the first page; ``, also
    searching glacier → 冰川`` when the term table translated a word)."""
    line = Text.assemble("showing ", (str(len(result.hits)), "bold"), " of ", (str(result.total), "bold"),
                         f" records matching {text!r}")
    if query.offset:
        line.append(f", from #{query.offset + 1}")
    if query.translations:
        line.append(", also searching " + "; ".join(f"{term} → {target}" for term, target in query.translations))
    return line


def _print_hits(result: SearchResult) -> None:
    """Each hit: its id on a line of its own (never cut or wrapped), then title, year and tags, indented."""
    for hit in result.hits:
        doc = hit.doc
        console.print(Text(hit.id, style="bold"), soft_wrap=True)
        facts = " · ".join(v for v in (str(doc.get("year") or ""), doc["openness"], doc["geo_scope"],
                                       doc["security"]) if v)
        console.print(Padding(Text.assemble(doc.get("title") or "", ("  " + facts, "dim")), (0, 0, 0, 2)))


def _next_page_hint(args: argparse.Namespace, result: SearchResult, query: SearchQuery) -> str | None:
    """The command line of the next page, or why there is none although more records match."""
    shown_to = query.offset + len(result.hits)
    if not result.hits and result.total and query.offset:
        last = -(-result.total // query.size)
        return f"page {args.page} is past the last page ({last})"
    if shown_to >= result.total:
        return None
    if shown_to + query.size > MAX_RESULT_WINDOW:
        return f"pages reach at most {MAX_RESULT_WINDOW} records: narrow the query or add --filter to see the rest"
    words = ["search", *(w for f in args.filter for w in ("--filter", f))]
    if args.size != SEARCH_SIZE:
        words += ["--size", str(args.size)]
    if args.audience:
        words += ["--audience", args.audience]
    words += ["--page", str(args.page + 1), *(["--"] if args.query.startswith("-") else []), args.query]
    return "next page: " + command_line(args, *words)


def cmd_reindex(args: argparse.Namespace) -> int:
    catalog = Catalog.open(_config(args))
    try:
        if args.remap:
            with console.status("re-mapping stored raw payloads with the current crosswalks and rules"):
                report = catalog.harvester.maintenance.remap(args.source)
            d = report.to_dict()
            console.print(f"re-mapped: {d['updated']} updated, {d['unchanged']} unchanged, {d['errored']} errored")
            for warning in report.warnings:  # a source being harvested elsewhere
                err_console.print(warning, style="yellow", markup=False, highlight=False, soft_wrap=True)
        with console.status("rebuilding the index and the bilingual term table from the record store"):
            count, _ = catalog.harvester.maintenance.reindex()
    finally:
        catalog.close()
    console.print(f"indexed {count} records")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    if getattr(args, "sources_command", None) == "check":
        return cmd_sources_check(args)
    config = _config(args)
    catalog = Catalog.open(config)
    try:
        stats = catalog.store.records.source_stats()
        table = Table(title="Sources")
        for col in ("id", "name", "protocol", "url", "records", "schedule", "last run"):
            table.add_column(col)
        for s in config.sources:
            runs = catalog.store.runs.recent(s.id, limit=1)
            last = f"{runs[0].status.value} {runs[0].finished_at or ''}" if runs else "never"
            table.add_row(s.id, s.name, s.protocol.value, s.url, str(stats.get(s.id, {}).get("records", 0)),
                          s.schedule or "", last)
    finally:
        catalog.close()
    console.print(table)
    return 0


def cmd_sources_check(args: argparse.Namespace) -> int:
    """Probe one source: exit 0 when it can be harvested, 1 when something is wrong."""
    from fedcat.harvester.pipeline.probe import Level, probe

    config = _config(args)
    source = config.source(args.id)
    console.print(f"[bold]{escape(source.id)}[/] {escape(source.name)} ({source.protocol.value}) {escape(source.url)}")
    report = probe(config, source)
    styles = {Level.OK: "green", Level.WARNING: "yellow", Level.PROBLEM: "red"}
    for finding in report.findings:
        console.print(f"  [{styles[finding.level]}]{finding.level.value:<8}[/] {escape(finding.message)}",
                      highlight=False)
    problems = sum(f.level is Level.PROBLEM for f in report.findings)
    warnings = sum(f.level is Level.WARNING for f in report.findings)
    console.print(f"{problems} problems, {warnings} warnings")
    return 0 if report.ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .server import check_bindable

    if not args.no_serve:  # before the demo centers start and are harvested
        check_bindable(args.host, args.port, hint="choose another with --port or --host (or add --no-serve)")
    return run_demo(data_dir=Path(args.data_dir), host=args.host, port=args.port, serve=not args.no_serve,
                    console=console, harvest=_run_harvest, serve_fn=cli_serve.serve_catalog, command=invoked_command())


# -- parser -------------------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is less than 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fedcat", description="Federation harvester and unified catalog "
                                "for China's national science data centers.")
    p.add_argument("--config", help=f"config file (default: $FEDCAT_CONFIG, else ./{DEFAULT_CONFIG})")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    p.add_argument("--version", action="version", version=f"fedcat {VERSION}")
    p.add_argument("--log-format", choices=logs.FORMATS, default="rich",
                   help="log lines on stderr: for people (rich, the default) or one JSON object a line (json)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    h = sub.add_parser("harvest", help="harvest sources into the store and index")
    h.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    h.add_argument("--full", action="store_true", help="full listing instead of incremental")
    h.set_defaults(fn=cmd_harvest)

    hs = sub.add_parser("harvests", help="show harvest runs")
    hs.add_argument("--source", metavar="ID")
    hs.add_argument("--limit", type=int, default=HARVESTS_LIMIT)
    hs.add_argument("--json", action="store_true")
    hs.add_argument("--long", action="store_true", help="print each run's message whole (the table cuts them)")
    hs.set_defaults(fn=cmd_harvests)

    s = sub.add_parser("search", help="search the catalog")
    s.add_argument("query")
    s.add_argument("--json", action="store_true", help="print JSON (total, hits, facets)")
    s.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                   help=f"filter on {', '.join(FACETS)} (repeatable)")
    s.add_argument("--size", type=_positive, default=SEARCH_SIZE, help="hits per page")
    s.add_argument("--page", type=_positive, default=1, metavar="N", help="page N of the hits (from 1)")
    s.add_argument("--audience", choices=[a.value for a in Audience], help="search as this audience")
    s.set_defaults(fn=cmd_search)

    ri = sub.add_parser("reindex", help="rebuild the search index from the record store")
    ri.add_argument("--remap", action="store_true",
                    help="first re-apply crosswalks and tagging to the stored raw payloads (no harvesting)")
    ri.add_argument("--source", metavar="ID", help="with --remap: only this source")
    ri.set_defaults(fn=cmd_reindex)
    so = sub.add_parser("sources", help="list the configured sources; `sources check ID` probes one")
    so_sub = so.add_subparsers(dest="sources_command", metavar="check")
    chk = so_sub.add_parser("check", help="probe a source (Identify or the first page), validate its profile")
    chk.add_argument("id", metavar="ID")
    so.set_defaults(fn=cmd_sources)

    cli_serve.add_parsers(sub)

    d = sub.add_parser("demo", help="start the demo federation, harvest it and serve the catalog")
    d.add_argument("--data-dir", default="./fedcat-data")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument("--no-serve", action="store_true", help="harvest the demo federation, then exit")
    d.set_defaults(fn=cmd_demo)
    st = sub.add_parser("status", help="does the search index reflect the record store? (exit 1 if not)")
    st.add_argument("--repair", action="store_true", help="index the records that wait for it now")
    st.set_defaults(fn=lambda a: cli_status.run(_config(a), repair=a.repair))
    cli_officer.add_parsers(sub)
    cli_metrics.add_parsers(sub)
    cli_schema.add_parsers(sub)
    cli_migrate.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.log_format, args.verbose, err_console)
    try:
        code: int = args.fn(args)
        return code
    except FedcatError as exc:
        if logs.json_lines():
            log.error("%s", exc)
        else:
            err_console.print("[bold red]error:[/]", escape(str(exc)), highlight=False, soft_wrap=True)
        return 2
    except Stopped as exc:  # the runs in progress stored their page and ended interrupted
        log.warning("%s: the next harvest resumes where this one stopped", exc)
        return exc.code
    except KeyboardInterrupt:
        if logs.json_lines():
            log.warning("interrupted")
        else:
            err_console.print("interrupted")
        return 130
    except BrokenPipeError:  # `fedcat … | head`: the reader stopped reading; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the flush at exit would fail again
        return 128 + signal.SIGPIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
