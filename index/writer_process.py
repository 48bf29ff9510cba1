"""The embedded index's writes in a child process, so a harvest uses both CPU cores: the parent's end.

Building index documents (group views, CJK analysis) and feeding tantivy costs
about as much Python time per record as fetching, mapping and storing it. With
``index.write_process`` on, :class:`~fedcat.index.embedded.EmbeddedIndex`
hands its writes to a child (``python -m fedcat.index.writer <folder>``, :mod:`.writer`) that
owns the tantivy writer, while the parent keeps searching the same folder.

Protocol, over the child's stdin and stdout: each message is a 4-byte
big-endian length and a JSON array ``[op, payload]``. ``upsert`` (groups as
``[key, [record, ...]]``) and ``delete`` (record ids) get no answer, so
the parent never waits on them; ``commit``, ``clear`` and ``close`` are answered
``["ok", null]`` or ``["error", message]``; ``close`` commits first. A failed
upsert or delete is reported by the next commit, whose caller then leaves its records pending for
the index catch-up; the pipe's buffer bounds how far the parent runs ahead.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from fedcat.harvester import serial
from fedcat.harvester.frames import read_frame, write_frame
from fedcat.harvester.grouping import DatasetGroup

from .errors import IndexBackendError, IndexUnavailable

log = logging.getLogger(__name__)

#: The child's module, run with ``python -m``.
CHILD_MODULE = "fedcat.index.writer"
#: Seconds to wait for the child to exit once asked to close.
REPLY_TIMEOUT_S = 600.0


def write_message(stream: IO[bytes], op: str, payload: Any) -> None:
    write_frame(stream, serial.dumps_bytes([op, payload]))


def read_message(stream: IO[bytes]) -> list[Any] | None:
    body = read_frame(stream)
    if body is None:
        return None
    message = serial.loads(body)
    assert isinstance(message, list)
    return message


class WriterProcess:
    """The parent's end: sends writes to the child, waits only for commits."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        #: Writes were sent since the last commit: if the child is gone they are lost, which must be said.
        self._uncommitted = False

    def _child(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is not None and self._uncommitted:
            code = self._forget()
            raise IndexUnavailable(f"the index writer process died (exit status {code}) before committing")
        if self._proc is None or self._proc.poll() is not None:
            try:
                self._proc = subprocess.Popen([sys.executable, "-m", CHILD_MODULE, str(self.folder)],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            except OSError as exc:
                raise IndexUnavailable(f"cannot start the index writer process: {exc}") from exc
        return self._proc

    def _send(self, op: str, payload: Any) -> None:
        proc = self._child()
        assert proc.stdin is not None
        try:
            write_message(proc.stdin, op, payload)
        except OSError as exc:  # a broken pipe: the child is gone
            self._forget()
            raise IndexUnavailable(f"the index writer process is gone ({op}): {exc}") from exc

    def _ask(self, op: str) -> None:
        self._send(op, None)
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        reply = read_message(proc.stdout)
        if reply is None:
            code = self._forget()
            raise IndexUnavailable(f"the index writer process ended during {op} (exit status {code})")
        status, message = reply
        if status != "ok":
            raise IndexBackendError(f"index writer: {message}")

    def _forget(self) -> int | None:
        proc, self._proc = self._proc, None
        self._uncommitted = False
        if proc is None:
            return None
        proc.kill()
        return proc.wait()

    def upsert(self, groups: Iterable[DatasetGroup]) -> None:
        payload = [[g.key, [m.to_dict() for m in g.members]] for g in groups]
        with self._lock:
            self._send("upsert", payload)
            self._uncommitted = True

    def delete(self, ids: list[str]) -> None:
        with self._lock:
            self._send("delete", ids)
            self._uncommitted = True

    def commit(self) -> None:
        with self._lock:
            self._ask("commit")
            self._uncommitted = False

    def clear(self) -> None:
        with self._lock:
            self._ask("clear")
            self._uncommitted = False

    def close(self) -> None:
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            try:
                self._ask("close")
                proc.wait(timeout=REPLY_TIMEOUT_S)
            except (IndexBackendError, IndexUnavailable, subprocess.TimeoutExpired) as exc:
                log.warning("index writer process did not close cleanly: %s", exc)
            finally:
                self._forget()
