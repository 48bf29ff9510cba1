"""Crosswalk and tag pages in a child process, so a harvest uses both CPU cores.

Mapping a record (crosswalk, tagging, citation) is the largest share of a
harvest's Python time. With ``map_process`` on, the pipeline sends each page's
changed items to a child (``python -m fedcat.harvester.pipeline.mapper``) as raw
payloads and gets the mapped records back as JSON, while it stores the page
before and fetches the page after (see ``Harvester._run_pages``).

The child rebuilds each item from its raw payload (the same path as
``fedcat reindex --remap``), so what it maps is exactly what the store keeps.
Messages are pickles in length-prefixed frames (:mod:`.frames`), between this
process and its own child only: the config once, then ``tagger`` (a source's overrides, once per
run) and ``map`` requests, each answered in order with one result per item.

If the child cannot be started or dies, :class:`MapperProcess` raises
:class:`MapperUnavailable` for the requests it had; the pipeline maps those
pages in its own process, so a dead child costs time, not records.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from lxml import etree

from ..citation import gbt7714
from ..config_schema import Config, SourceConfig
from ..crosswalks import crosswalk_for
from ..errors import CrosswalkError, FedcatError, HarvestError
from ..frames import read_frame, write_frame
from ..memory import MemoryReleaser
from ..model import GATED_SECURITY, Record
from ..sources.base import HarvestedItem
from ..sources.registry import item_from_raw
from ..tagging import Override, RuleBook, SourceTagger

log = logging.getLogger(__name__)

#: Exceptions a crosswalk may raise on a malformed record; the record is isolated, the page kept.
RECORD_ERRORS = (CrosswalkError, ValueError, LookupError, TypeError, AttributeError, etree.Error)


def map_item(item: HarvestedItem, source: SourceConfig, run_id: int | None, tagger: SourceTagger) -> Record:
    """Crosswalk, tag and complete one harvested item (also used to re-map stored raw payloads)."""
    record = crosswalk_for(item.format, source.id)(item, source, run_id)
    tagger.tag(record)
    if record.access.security in GATED_SECURITY:
        return record  # gated whatever else is wrong with it: its metadata is never kept
    if not record.deleted:
        if not record.titles:
            raise CrosswalkError("record has no title", source_id=source.id, local_id=item.local_id)
        record.citation = record.citation or gbt7714(record)
    return record


def map_raw(raw: bytes, fmt: str, source: SourceConfig, run_id: int | None, tagger: SourceTagger) -> Record | str:
    """Map a raw payload as stored (the item rebuilt from its bytes): the record, or why it could not be."""
    try:
        return map_item(item_from_raw(raw, fmt, source), source, run_id, tagger)
    except (*RECORD_ERRORS, HarvestError) as exc:  # HarvestError: a payload that does not rebuild
        return f"{type(exc).__name__}: {exc}"


class MapperUnavailable(FedcatError):
    """The mapping process could not be started, or ended before answering."""


@dataclass(frozen=True)
class Mapped:
    """One item's result: the record as JSON, or why it could not be mapped."""

    record_json: str | None
    error: str | None = None


def _write(stream: IO[bytes], message: Any) -> None:
    write_frame(stream, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _read(stream: IO[bytes]) -> Any:
    body = read_frame(stream)
    if body is None:
        raise EOFError
    return pickle.loads(body)  # our own child's messages


class _Channel:
    """One child process and the requests waiting on it; once dead, it takes no more."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.lock = threading.Lock()  # guards waiting and dead; never held while writing to the child
        self.waiting: dict[int, Future[list[Mapped]]] = {}
        self.dead: str | None = None
        self.taggers: set[int] = set()

    def expect(self, req_id: int) -> Future[list[Mapped]]:
        future: Future[list[Mapped]] = Future()
        with self.lock:
            if self.dead is not None:
                raise MapperUnavailable(self.dead)
            self.waiting[req_id] = future
        return future

    def answer(self, req_id: int, results: list[Mapped]) -> None:
        with self.lock:
            future = self.waiting.pop(req_id, None)
        if future is not None:
            future.set_result(results)

    def fail(self, why: str) -> None:
        with self.lock:
            if self.dead is None:
                self.dead = why
            waiting, self.waiting = self.waiting, {}
        for future in waiting.values():
            future.set_exception(MapperUnavailable(why))
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def send(self, message: Any) -> None:
        assert self.proc.stdin is not None
        try:
            _write(self.proc.stdin, message)
        except OSError as exc:
            self.fail(f"the mapping process is gone: {exc}")
            raise MapperUnavailable(f"the mapping process is gone: {exc}") from exc

    def read_replies(self) -> None:
        assert self.proc.stdout is not None
        why = "the mapping process's replies stopped"  # whatever stops this loop fails the waiting pages
        try:
            while True:
                req_id, results = _read(self.proc.stdout)
                self.answer(req_id, [Mapped(*r) for r in results])
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            why = f"the mapping process ended ({type(exc).__name__})"
        finally:
            self.fail(why)


class MapperProcess:
    """The parent's end: :meth:`submit` returns a future of one page's results."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()  # one writer to the child at a time
        self._channel: _Channel | None = None
        self._ids = itertools.count(1)

    def _open(self) -> _Channel:
        channel = self._channel
        if channel is not None and channel.dead is None:
            return channel
        try:
            proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError as exc:
            raise MapperUnavailable(f"cannot start the mapping process: {exc}") from exc
        channel = self._channel = _Channel(proc)
        threading.Thread(target=channel.read_replies, name="mapper-replies", daemon=True).start()
        channel.send(("config", self.config))
        return channel

    def submit(self, source: SourceConfig, run_id: int | None, tagger_id: int, overrides: Sequence[Override],
               day: date, items: Sequence[HarvestedItem]) -> Future[list[Mapped]]:
        """Map ``items`` of ``source``'s run; ``tagger_id`` names the run's overrides (sent once)."""
        with self._lock:
            channel = self._open()
            if tagger_id not in channel.taggers:
                channel.send(("tagger", tagger_id, source.id, list(overrides)))
                channel.taggers.add(tagger_id)
            req_id = next(self._ids)
            future = channel.expect(req_id)
            channel.send(("map", req_id, tagger_id, source.id, run_id, day, [(hi.raw, hi.format) for hi in items]))
        return future

    def close(self) -> None:
        with self._lock:
            channel, self._channel = self._channel, None
        if channel is None:
            return
        proc = channel.proc
        assert proc.stdin is not None
        try:
            proc.stdin.close()  # end of input: the child exits
            proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("the mapping process did not exit cleanly: %s", exc)
            proc.kill()
            proc.wait()


# -- the child -----------------------------------------------------------------------------------


class _Child:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.rules = RuleBook.from_config(config)
        self.specs: dict[int, tuple[SourceConfig, list[Override]]] = {}
        self.taggers: dict[tuple[int, date], SourceTagger] = {}

    def tagger(self, tagger_id: int, day: date) -> SourceTagger:
        found = self.taggers.get((tagger_id, day))
        if found is None:
            source, overrides = self.specs[tagger_id]
            found = self.taggers[(tagger_id, day)] = self.rules.for_source(
                source, clock=lambda: day, overrides=overrides)
        return found

    def map(self, tagger_id: int, source_id: str, run_id: int | None, day: date,
            payloads: list[tuple[bytes, str]]) -> list[tuple[str | None, str | None]]:
        """(record JSON, None) or (None, error) per payload: plain tuples, as this runs as ``__main__``."""
        source = self.config.source(source_id)
        tagger = self.tagger(tagger_id, day)
        out: list[tuple[str | None, str | None]] = []
        for raw, fmt in payloads:
            result = map_raw(raw, fmt, source, run_id, tagger)
            out.append((None, result) if isinstance(result, str) else (result.to_json(), None))
        return out


def serve(inbox: IO[bytes], outbox: IO[bytes]) -> int:
    child: _Child | None = None
    memory = MemoryReleaser()
    while True:
        try:
            message = _read(inbox)
        except EOFError:
            return 0
        kind = message[0]
        if kind == "config":
            child = _Child(message[1])
        elif kind == "tagger":
            assert child is not None
            _, tagger_id, source_id, overrides = message
            child.specs[tagger_id] = (child.config.source(source_id), overrides)
        elif kind == "map":
            assert child is not None
            _, req_id, tagger_id, source_id, run_id, day, payloads = message
            _write(outbox, (req_id, child.map(tagger_id, source_id, run_id, day, payloads)))
            memory.release()  # the page's memory goes back to the system


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    return serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    sys.exit(main())
