"""Length-prefixed frames over a pipe: how fedcat talks to its own child processes.

A frame is a 4-byte big-endian length and that many bytes. The index writer
(:mod:`fedcat.index.writer`) puts JSON in them, the mapping process
(:mod:`fedcat.harvester.pipeline.mapper`) pickles.
"""

from __future__ import annotations

import struct
from typing import IO

_HEADER = struct.Struct(">I")


def write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame's bytes; None at the end of the stream (or a frame cut short by it)."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None
