"""The command line's log output on stderr: rich lines for people (the default), or JSON lines.

``fedcat --log-format json COMMAND`` writes one JSON object per line and nothing else on stderr (no
progress bars): ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and, when the event is about
a harvest run, ``source_id`` and ``run_id`` (from the event's ``extra=`` or the run the thread works for:
:mod:`fedcat.harvester.logcontext`); ``exception`` holds a traceback when there is one; the event that ends
a harvest run carries ``cpu_s``, the CPU seconds of each stage (:mod:`fedcat.harvester.pipeline.stage_clock`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

from fedcat.harvester.logcontext import current_run

FORMATS = ("rich", "json")

_json = False


def json_lines() -> bool:
    """Whether the log goes out as JSON lines (then nothing else may be written to stderr)."""
    return _json


class JsonFormatter(logging.Formatter):
    """One log event as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        run = current_run()
        source_id = getattr(record, "source_id", None) or (run.source_id if run else None)
        run_id = getattr(record, "run_id", None) or (run.run_id if run and run.source_id == source_id else None)
        if source_id is not None:
            event["source_id"] = source_id
        if run_id is not None:
            event["run_id"] = run_id
        cpu = getattr(record, "cpu_s", None)
        if isinstance(cpu, dict):  # the end of a harvest run: CPU seconds per stage (pipeline/stage_clock.py)
            event["cpu_s"] = cpu
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


def configure(log_format: str, verbosity: int, console: Console) -> None:
    """Log at WARNING (``-v`` INFO, ``-vv`` DEBUG) to stderr, rich or as JSON lines."""
    global _json
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    _json = log_format == "json"
    handler: logging.Handler
    if _json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        handler = RichHandler(console=console, show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
