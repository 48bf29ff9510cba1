"""Commands about tags and people: explain, override, embargoes, API keys, the audit log."""

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

from .catalog import Catalog
from .console import make_console

console = make_console()
TAGS = ("openness", "geo_scope", "security")


def _catalog(args: argparse.Namespace) -> Catalog:
    from .cli import _config  # the main CLI module registers these commands

    return Catalog.open(_config(args))


def _record(catalog: Catalog, record_id: str) -> Record:
    rec = catalog.store.get(record_id)
    if rec is not None:
        return rec
    gated = catalog.store.gated_level(record_id)
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


def cmd_override(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        if args.remove:
            if not catalog.store.overrides.remove(args.id, args.tag):
                raise FedcatError(f"no {args.tag} override on {args.id!r}")
            console.print(f"removed the {args.tag} override of {args.id}")
        else:
            if not args.value or not args.reason:
                raise FedcatError("--value and --reason are required (or --remove)")
            source_id = catalog.store.source_of(args.id)
            if source_id is None:
                raise FedcatError(f"no record {args.id!r}")
            o = catalog.store.overrides.put(args.id, source_id, args.tag, args.value, args.by, args.reason)
            console.print(f"{o.record_id}: {o.tag} = {o.value} (by {o.by}, {o.at})")
        for rec, outcome in catalog.harvester.retag([args.id]):
            console.print(f"{rec.id}: re-tagged ({outcome.value}): "
                          + ", ".join(f"{t}={getattr(rec.access, t).value}" for t in TAGS))
    finally:
        catalog.close()
    return 0


def cmd_embargoes(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    try:
        lifted = catalog.harvester.lift_embargoes()
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
            console.print(f"API key {key.name!r} ({key.audience.value}), shown once — store it now:")
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
    for col in ("at", "actor", "action", "records"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(e.at, e.actor, e.action, ", ".join(e.record_ids))
    console.print(table)
    return 0


def add_parsers(sub: Any) -> None:
    ex = sub.add_parser("explain", help="show a record's tags and the evidence for each")
    ex.add_argument("id")
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(fn=cmd_explain)

    ov = sub.add_parser("override", help="set (or --remove) an officer's value for one tag of a record")
    ov.add_argument("id")
    ov.add_argument("--tag", required=True, choices=TAGS)
    ov.add_argument("--value", help="the tag's new value")
    ov.add_argument("--reason", help="why (kept with the override)")
    ov.add_argument("--by", default=os.environ.get("USER", "officer"), help="who decides (default: $USER)")
    ov.add_argument("--remove", action="store_true")
    ov.set_defaults(fn=cmd_override)

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

    au = sub.add_parser("audit", help="officer reads of important records, newest first")
    au.add_argument("--limit", type=int, default=50)
    au.set_defaults(fn=cmd_audit)
