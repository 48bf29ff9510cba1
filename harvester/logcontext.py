"""What a log event is about: the harvest run (source and run id) the current thread works for.

The pipeline sets it around each source's run (:func:`about_run`, in ``pipeline/run.py``), and the
fetching thread a run starts takes it along (``sources/base.py``, ``prefetch``). A log handler reads it
with :func:`current_run` to say which source and run an event belongs to (``fedcat --log-format json``);
an event may also name them itself: ``log.warning(..., extra={"source_id": ..., "run_id": ...})``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RunContext:
    source_id: str
    run_id: int | None


_CURRENT: ContextVar[RunContext | None] = ContextVar("fedcat_run", default=None)


def current_run() -> RunContext | None:
    """The run the current thread (or task) works for, if any."""
    return _CURRENT.get()


@contextmanager
def about_run(source_id: str, run_id: int | None) -> Iterator[None]:
    """Within this block, log events of this thread are about this source's run."""
    token = _CURRENT.set(RunContext(source_id, run_id))
    try:
        yield
    finally:
        _CURRENT.reset(token)
