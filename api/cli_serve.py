"""``fedcat serve`` and ``fedcat schedule``: the two long-running services."""

from __future__ import annotations

import argparse
from typing import Any

from fedcat.harvester.config import Config
from fedcat.harvester.errors import FedcatError

from .catalog import Catalog
from .cli_common import _config, config_path
from .console import make_console
from .stopping import stop_on_signals

console = make_console()


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import check_bindable

    config = _config(args)
    host, port = args.host or config.api.host, args.port or config.api.port
    check_bindable(host, port, hint="choose another with --port (or api.port in the config) or --host")
    if args.workers < 1:
        raise FedcatError(f"--workers must be at least 1, not {args.workers}")
    if args.workers > 1:
        from .workers import serve_workers

        serve_workers(config_path(args), host, port, args.workers, log_format=args.log_format,
                      verbosity=args.verbose)
        return 0
    serve_catalog(config, host, port)
    return 0


def serve_catalog(config: Config, host: str, port: int) -> None:
    """Serve ``config``'s catalog in this process until SIGTERM or Ctrl-C."""
    from .app import create_app
    from .server import serve

    # uvicorn stops on SIGTERM or Ctrl-C itself, then raises the signal again: caught here, to close the catalog
    with stop_on_signals(on_stop=_leave):
        catalog = Catalog.open(config)
        try:
            serve(create_app(catalog), host, port)
        finally:
            catalog.close()


def _leave() -> None:
    """A service asked to stop exits with 0, once its work in progress is stored."""
    raise SystemExit(0)


def cmd_schedule(args: argparse.Namespace) -> int:
    from .scheduler import run_foreground

    config = _config(args)
    catalog = Catalog.open(config, index_required=False)
    try:
        with stop_on_signals(catalog.harvester.stop, on_stop=_leave):  # the jobs' runs end interrupted
            run_foreground(catalog, console)
    finally:
        catalog.close()
    return 0


def add_parsers(sub: Any) -> None:
    sv = sub.add_parser("serve", help="serve the HTTP API")
    sv.add_argument("--host")
    sv.add_argument("--port", type=int)
    sv.add_argument("--workers", type=int, default=1, metavar="N",
                    help="API processes sharing the port, one per core you give it (default 1)")
    sv.set_defaults(fn=cmd_serve)

    sub.add_parser("schedule", help="run harvests on each source's cron schedule (foreground)").set_defaults(
        fn=cmd_schedule)
