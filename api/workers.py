"""``fedcat serve --workers N``: N API processes on one listening socket.

One Python process answers on one core at a time. With ``--workers N`` uvicorn's supervisor listens once
and starts N worker processes that accept from the same socket; it restarts a worker that dies and stops
them all on SIGTERM or Ctrl-C. Each worker opens its own catalog (:func:`worker_app`) from the config
file named in the environment: the workers share nothing but the store and the index folder, like API
replicas on several machines (every request reads the store; each worker's kept search answers follow
the index's generation, see :mod:`fedcat.index.search_cache`).

The supervisor opens the catalog once before the workers start, so the store's migrations and the
index's catch-up run once, not N times at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from fedcat.harvester.config import load_config

from . import logs
from .catalog import Catalog
from .console import make_console
from .server import Utf8RequestLineProtocol, serve_options

log = logging.getLogger(__name__)

CONFIG_ENV = "FEDCAT_WORKER_CONFIG"
LOG_ENV = "FEDCAT_WORKER_LOG"


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls it in each): its own catalog, closed when it stops."""
    from .app import create_app

    log_format, _, verbosity = os.environ.get(LOG_ENV, "rich:0").partition(":")
    logs.configure(log_format, int(verbosity or 0), make_console(stderr=True))
    catalog = Catalog.open(load_config(os.environ[CONFIG_ENV]))
    app = create_app(catalog)

    @asynccontextmanager
    async def closing(_: object) -> AsyncIterator[None]:
        try:
            yield
        finally:
            catalog.close()

    app.router.lifespan_context = closing
    return app


def serve_workers(config_path: Path, host: str, port: int, workers: int, *, log_format: str,
                  verbosity: int) -> None:
    """Serve with ``workers`` processes until SIGTERM or Ctrl-C."""
    Catalog.open(load_config(config_path)).close()  # migrations and the index's catch-up, once
    os.environ[CONFIG_ENV] = str(config_path.resolve())
    os.environ[LOG_ENV] = f"{log_format}:{verbosity}"
    log.info("serving on %s:%d with %d worker processes", host, port, workers)
    uvicorn.run(f"{__name__}:worker_app", factory=True, host=host, port=port, workers=workers,
                http=Utf8RequestLineProtocol, **serve_options())
