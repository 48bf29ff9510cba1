"""Running the API under uvicorn, accepting raw UTF-8 in request lines.

Browsers percent-encode ``/api/v1/search?q=冰川``, but curl, scripts and some
proxies send the UTF-8 bytes as they are, which HTTP parsers reject with 400.
:class:`Utf8RequestLineProtocol` percent-encodes non-ASCII bytes of the
request line before uvicorn's h11 parser sees them, so both forms work.
"""

from __future__ import annotations

import logging
import re

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_HIGH = re.compile(rb"[\x80-\xff]")


def _encode_high(chunk: bytes) -> bytes:
    return _HIGH.sub(lambda m: b"%%%02X" % m.group(0)[0], chunk)


class Utf8RequestLineProtocol(H11Protocol):
    """uvicorn's h11 protocol, percent-encoding non-ASCII bytes of each request line."""

    _in_request_line = False

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and not self._in_request_line:
            self._in_request_line = True
        if self._in_request_line:
            end = data.find(b"\r\n")
            if end == -1:
                data = _encode_high(data)
            else:
                data = _encode_high(data[:end]) + data[end:]
                self._in_request_line = False
        super().data_received(data)


def serve(app: FastAPI, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_level="warning", http=Utf8RequestLineProtocol)
