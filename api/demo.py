"""``fedcat demo``: the demo federation harvested into the embedded index and served."""

from __future__ import annotations

import logging
import shlex
import shutil
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape

from fedcat.harvester.config import Config, config_from_dict
from fedcat.harvester.demo.federation import DemoFederation
from fedcat.harvester.store import RunReport
from fedcat.index.embedded import EmbeddedIndex

from .catalog import Catalog

log = logging.getLogger(__name__)

#: The demo centers listen on consecutive ports from here when they are free.
DEMO_BASE_PORT = 9101
#: What the demo centers say about access when their records do not.
DEMO_POLICY = {"security": "general"}
#: The demo centers are on loopback: the link checker may visit them there, quickly, and nothing else
#: (a DOI's resolver link is left unchecked: the demo sends nothing off this machine).
DEMO_LINKCHECK: dict[str, Any] = {"allow_networks": ["127.0.0.0/8"], "only_hosts": ["127.0.0.1"],
                                  "min_delay": 0.0, "timeout": 5.0}


def _ports_free(base: int, count: int) -> bool:
    for port in range(base, base + count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def start_federation() -> DemoFederation:
    """Start the demo centers, on the fixed ports when free (stable landing URLs), else ephemeral."""
    probe = DemoFederation(rest=True)
    base = DEMO_BASE_PORT if _ports_free(DEMO_BASE_PORT, probe.server_count) else None
    return DemoFederation(base_port=base, rest=True, link_faults=True).start()


def demo_config(federation: DemoFederation, data_dir: Path, host: str, port: int) -> dict[str, Any]:
    sources = [dict(src, policy=dict(DEMO_POLICY)) for src in federation.source_configs()]
    return {"data_dir": str(data_dir.resolve()), "sources": sources, "api": {"host": host, "port": port},
            "http": {"contact": "demo@fedcat.invalid"}, "linkcheck": dict(DEMO_LINKCHECK)}


def next_steps(command: str, config_path: Path, base: str | None) -> str:
    """What to try next: the catalog's pages and API under ``base`` (when served), and CLI commands
    that run verbatim (``command`` as the user ran fedcat, then ``--config`` with the demo's config)."""
    cli = escape(f"{command} --config {shlex.quote(str(config_path))}")
    lines = []
    if base is not None:
        lines += [
            f"\nServing the catalog on [bold]{base}[/] (Ctrl-C to stop). Try:",
            f"  {base}/                         (search page)",
            f"  {base}/centers                  (center dashboards)",
            f"  {base}/api/v1/search?q=冰川",
            f"  {base}/api/v1/metrics/ranking",
            f"  {base}/api/v1/search?q=genome",
            f"  {base}/api/v1/sources",
            f"  {base}/api/v1/docs",
        ]
    else:
        lines.append("\nTry (serve starts the catalog's web pages and API):")
    lines += [f"  {cli} search 冰川", f"  {cli} metrics"]
    if base is None:
        lines.append(f"  {cli} serve")
    return "\n".join(lines) + "\n"


def run_demo(
    *,
    data_dir: Path,
    host: str,
    port: int,
    serve: bool,
    console: Console,
    harvest: Callable[[Catalog, Sequence[str] | None, bool], list[RunReport]],
    serve_fn: Callable[[Config, str, int], None],
    command: str = "fedcat",
) -> int:
    """Start the demo centers, harvest them, check their links and serve the catalog.

    ``command`` is how the user ran fedcat (``.venv/bin/fedcat``): the printed hints start with it.
    """
    federation = start_federation()
    try:
        raw = demo_config(federation, data_dir, host, port)
        data_dir.mkdir(parents=True, exist_ok=True)
        config_path = data_dir / "demo.yaml"
        config_path.write_text(
            "# Written by `fedcat demo`: the demo federation's sources on this machine.\n"
            + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        config = config_from_dict(raw, path=str(config_path))
        console.print(f"[bold]Demo federation[/]: {federation.server_count} mock data centers on 127.0.0.1"
                      f" ({len(federation.rest_servers)} with a JSON API only)")
        for src in raw["sources"]:
            console.print(f"  {src['id']:<10} {src.get('protocol', 'oaipmh'):<7} {src['name']}  {src['url']}")
        index_dir = config.data_path / "index"
        rebuild = EmbeddedIndex.outdated(index_dir)
        if rebuild:  # left by an older fedcat: the demo's index is rebuilt from its record store
            console.print(f"The index at {index_dir} is of an older version: rebuilding it.")
            shutil.rmtree(index_dir)
        catalog = Catalog.open(config)
        try:
            if rebuild:
                catalog.harvester.feeder.rebuild()
            harvest(catalog, None, False)
            catalog.harvester.maintenance.write_terms()  # what `fedcat reindex` does: English finds Chinese
            docs = catalog.index.count()
            links = catalog.check_links()
            unreachable = sum(1 for r in links.results if not r.status.reachable)
        finally:
            catalog.close()
        console.print(f"\n[bold green]{docs} records indexed.[/] Config written to {config_path}")
        console.print(f"Link check: {unreachable} of {len(links.results)} links of records declared open"
                      " are not reachable (login walls, dead pages).")
        console.print(next_steps(command, config_path, f"http://{host}:{port}" if serve else None),
                      highlight=False, soft_wrap=True)
        if not serve:
            return 0
        serve_fn(config, host, port)
        return 0
    finally:
        federation.stop()
