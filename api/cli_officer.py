"""Commands about tags and people: explain, override, review, embargoes, API keys, the audit log."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from fedcat.harvester.config import Audience
from fedcat.harvester.errors import FedcatError
from fedcat.harvester.model import Record, access_labels
from fedcat.harvester.pipeline.decisions import Decision, Status
from fedcat.harvester.pipeline.retagging import retag_store

from .catalog import Catalog
from .cli_common import _config
from .console import make_console

console = make_console()
TAGS = ("openness", "geo_scope", "security")


def _catalog(args: argparse.Namespace) -> Catalog:
    return Catalog.open(_config(args))


def _record(catalog: Catalog, record_id: str) -> Record:
    rec = catalog.store.records.get(record_id)
    if rec is not None:
        return rec
    gated = catalog.store.records.gated_level(record_id)
    if gated is not None:
        raise FedcatError(f"{record_id} is {gated[1]}: only its id, source and level are kept")
    raise FedcatError(f"no record {record_id!r}")


def cmd_explain(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        rec = _record(catalog, args.id)
        overrides = catalog.store.overrides.for_record(rec.id)
    finally:
        catalog.close()
    acc = rec.access
    if args.json:
        body: dict[str, Any] = rec.to_dict()["access"]
        body["labels"] = access_labels(rec)
        body["overrides"] = [o.__dict__ for o in overrides]
        print(json.dumps({"id": rec.id, "title": rec.title, "access": body}, ensure_ascii=False, indent=2))
        return 0
    labels = access_labels(rec)
    console.print(f"[bold]{rec.id}[/]  {rec.title}")
    for tag in TAGS:
        value = getattr(acc, tag).value
        conflict = "  [yellow](conflicting signals: most restrictive kept)[/]" if tag in acc.conflicts else ""
        console.print(f"  {tag:<10} [bold]{value}[/] {labels[tag]}{conflict}")
    if acc.embargo_until or acc.openness_after_embargo:
        after = acc.openness_after_embargo.value if acc.openness_after_embargo else "?"
        console.print(f"  embargo    until {acc.embargo_until or 'unstated'}, then {after}")
    if acc.flags:
        console.print(f"  flags      {', '.join(acc.flags)}")
    console.print("evidence:")
    for ev in acc.evidence:
        where = f" · field {escape(ev.field)}" if ev.field else ""
        seen = f" · value {escape(repr(ev.source_value))}" if ev.source_value else ""
        console.print(f"  {ev.tag} = {ev.value} [dim]({ev.tier})[/] rule {escape(ev.rule)}{where}{seen}",
                      highlight=False)
    return 0


def _print_decision(d: Decision) -> None:
    if d.status is Status.PENDING:
        what = f"{d.tag} = {d.value}" if d.value is not None else f"removing the {d.tag} override"
        console.print(f"{d.record_id}: {what} is [bold]pending[/]: it lowers the record out of important, core "
                      f"or secret, so a second officer must confirm it:\n  fedcat override {d.record_id} "
                      f"--tag {d.tag} --confirm --by <another officer>", highlight=False)
        return
    if d.status is Status.DISCARDED:
        console.print(f"{d.record_id}: the pending {d.tag} change by {d.pending.by if d.pending else '?'} is dropped")
        return
    if d.status is Status.REMOVED:
        console.print(f"removed the {d.tag} override of {d.record_id}")
    elif d.override is not None:
        o = d.override
        second = f", confirmed by {o.confirmed_by}" if o.confirmed_by else ""
        console.print(f"{o.record_id}: {o.tag} = {o.value} (by {o.by}{second}, {o.at})")
    if d.tags is not None:
        console.print(f"{d.record_id}: re-tagged: " + ", ".join(f"{t}={v}" for t, v in d.tags.items()))


def cmd_override(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        decisions = catalog.decisions
        if args.confirm:
            decision = decisions.confirm(args.id, args.tag, args.by)
        elif args.reject:
            decision = decisions.reject(args.id, args.tag, args.by, args.reason or "")
        elif args.remove:
            decision = decisions.remove(args.id, args.tag, args.by, args.reason or "override removed")
        else:
            if not args.value or not args.reason:
                raise FedcatError("--value and --reason are required (or --remove, --confirm, --reject)")
            decision = decisions.override(args.id, args.tag, args.value, args.by, args.reason)
        _print_decision(decision)
    finally:
        catalog.close()
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        if args.id:
            if not args.value or not args.reason:
                raise FedcatError("deciding a review needs --value (its security level) and --reason")
            _print_decision(catalog.decisions.decide_review(args.id, args.value, args.by, args.reason))
            return 0
        queue = catalog.decisions.review_queue(args.source, args.limit)
        pending = catalog.store.overrides.pending()
    finally:
        catalog.close()
    if args.json:
        from .review import queue_entry

        print(json.dumps({"records": [queue_entry(r) for r in queue], "pending": [p.to_dict() for p in pending]},
                         ensure_ascii=False, indent=2))
        return 0
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"{len(queue)} records awaiting review")
    for col in ("record", "title", "why (rule: words)"):
        table.add_column(col, overflow="fold")
    for rec in queue:
        why = "; ".join(f"{e.rule}: {e.source_value or ''}" for e in rec.access.evidence if e.tag == "security")
        table.add_row(rec.id, rec.title, why)
    console.print(table)
    if pending:
        pt = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"{len(pending)} changes awaiting a second officer")
        for col in ("record", "change", "by", "at", "reason"):
            pt.add_column(col, overflow="fold")
        for p in pending:
            pt.add_row(p.record_id, f"{p.tag} = {p.value}" if p.value else f"remove the {p.tag} override",
                       p.by, p.at, p.reason)
        console.print(pt)
    if queue:
        console.print(f"decide one: fedcat review {queue[0].id} --value general|sensitive|important --reason \"…\"",
                      highlight=False)
    return 0


def cmd_retag(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        with console.status("re-tagging the stored records with the current rules"):
            report = retag_store(catalog.harvester, args.source or None)
    finally:
        catalog.close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return 0
    m = report.moves
    console.print(f"re-tagged {report.records} records: {report.changed} changed — {m['more_restricted']} more "
                  f"restricted, {m['more_open']} more open, {m['mixed']} both, {m['relabelled']} evidence only"
                  + (f"; {report.gated} now gated (core/secret)" if report.gated else ""))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("tag", "more restricted", "more open"):
        table.add_column(col)
    for tag, counts in report.per_tag.items():
        table.add_row(tag, str(counts["more_restricted"]), str(counts["more_open"]))
    console.print(table)
    for rec_id, tag, before, after in report.examples[:10]:
        console.print(f"  {rec_id}: {tag} {before} → {after}", highlight=False)
    return 0


def cmd_embargoes(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        lifted = catalog.harvester.maintenance.lift_embargoes()
    finally:
        catalog.close()
    for rec, _ in lifted:
        console.print(f"{rec.id}: embargo until {rec.access.embargo_until} ended → {rec.access.openness.value}")
    console.print(f"{len(lifted)} embargoes lifted")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        keys = catalog.store.keys
        if args.action == "create":
            key, secret = keys.create(args.name, Audience(args.audience))
            # the note to stderr, the key alone to stdout: KEY=$(fedcat keys create ...) keeps just the key
            make_console(stderr=True).print(f"API key {key.name!r} ({key.audience.value}), shown once — store it now:")
            print(secret)
        elif args.action == "revoke":
            key = keys.revoke(args.name)
            console.print(f"revoked {key.name!r} (id {key.id}) at {key.revoked_at}")
        else:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            for col in ("id", "name", "audience", "prefix", "created", "last used", "revoked"):
                table.add_column(col)
            for k in keys.list():
                table.add_row(str(k.id), k.name, k.audience.value, k.prefix, k.created_at,
                              k.last_used_at or "", k.revoked_at or "")
            console.print(table)
    finally:
        catalog.close()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        entries = catalog.store.audit.entries(args.limit)
    finally:
        catalog.close()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("at", "actor", "action", "records", "detail"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(e.at, e.actor, e.action, ", ".join(e.record_ids), e.detail or "")
    console.print(table)
    return 0


def add_parsers(sub: Any) -> None:
    ex = sub.add_parser("explain", help="show a record's tags and the evidence for each")
    ex.add_argument("id")
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(fn=cmd_explain)

    ov = sub.add_parser("override", help="set (or --remove) an officer's value for one tag of a record; lowering "
                                         "a record out of important/core/secret needs a second officer (--confirm)")
    ov.add_argument("id")
    ov.add_argument("--tag", required=True, choices=TAGS)
    ov.add_argument("--value", help="the tag's new value")
    ov.add_argument("--reason", help="why (kept with the override)")
    ov.add_argument("--by", default=os.environ.get("USER", "officer"), help="who decides (default: $USER)")
    act = ov.add_mutually_exclusive_group()
    act.add_argument("--remove", action="store_true", help="remove the override: the rules decide again")
    act.add_argument("--confirm", action="store_true", help="confirm another officer's pending change")
    act.add_argument("--reject", action="store_true", help="drop a pending change")
    ov.set_defaults(fn=cmd_override)

    rv = sub.add_parser("review", help="records awaiting review and changes awaiting a second officer; "
                                       "with an id, decide that record's security")
    rv.add_argument("id", nargs="?", help="decide this record (with --value and --reason)")
    rv.add_argument("--value", choices=["general", "sensitive", "important", "core", "secret"])
    rv.add_argument("--reason")
    rv.add_argument("--by", default=os.environ.get("USER", "officer"), help="who decides (default: $USER)")
    rv.add_argument("--source", help="only this source's records")
    rv.add_argument("--limit", type=int, default=200)
    rv.add_argument("--json", action="store_true")
    rv.set_defaults(fn=cmd_review)

    rt = sub.add_parser("retag", help="tag the stored records again after a rule change (tags only: no fetch, "
                                      "no crosswalk); reports what moved")
    rt.add_argument("--source", metavar="ID", action="append", help="only this source (repeatable)")
    rt.add_argument("--json", action="store_true")
    rt.set_defaults(fn=cmd_retag)

    sub.add_parser("embargoes", help="lift the embargoes that have ended (also a daily scheduled job)") \
        .set_defaults(fn=cmd_embargoes)

    k = sub.add_parser("keys", help="API keys: create, list, revoke")
    ksub = k.add_subparsers(dest="action", required=True, metavar="ACTION")
    kc = ksub.add_parser("create", help="create a key (shown once)")
    kc.add_argument("--name", required=True)
    kc.add_argument("--audience", required=True, choices=[Audience.REGISTERED.value, Audience.OFFICER.value])
    kc.set_defaults(fn=cmd_keys)
    ksub.add_parser("list", help="list keys (never the secrets)").set_defaults(fn=cmd_keys)
    kr = ksub.add_parser("revoke", help="revoke a key by name, id or prefix")
    kr.add_argument("name")
    kr.set_defaults(fn=cmd_keys)

    au = sub.add_parser("audit", help="officer reads of review and important records, and officers' decisions "
                                      "(overrides, reviews, four-eyes steps), newest first")
    au.add_argument("--limit", type=int, default=50)
    au.set_defaults(fn=cmd_audit)
