"""Running the API under uvicorn, accepting raw UTF-8 in request lines.

Browsers percent-encode ``/api/v1/search?q=冰川``, but curl, scripts and some
proxies send the UTF-8 bytes as they are, which HTTP parsers reject with 400.
:class:`Utf8RequestLineProtocol` percent-encodes non-ASCII bytes of the
request line before uvicorn's h11 parser sees them, so both forms work.

:func:`check_bindable` tells, before anything is harvested or started, whether the
address can be listened on at all (a port already in use is the usual reason not).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import socket
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from fedcat.harvester.errors import FedcatError

from .stopping import STOP_GRACE_S

log = logging.getLogger(__name__)

_HIGH = re.compile(rb"[\x80-\xff]")


def _encode_high(chunk: bytes) -> bytes:
    return _HIGH.sub(lambda m: b"%%%02X" % m.group(0)[0], chunk)


class Utf8RequestLineProtocol(H11Protocol):
    """uvicorn's h11 protocol, percent-encoding non-ASCII bytes of each request line; and every TCP
    connection without Nagle's delay, also under ``--workers``."""

    _in_request_line = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # asyncio turns Nagle's algorithm off only on sockets it sees as TCP (proto IPPROTO_TCP); the
        # listening socket uvicorn's supervisor hands to --workers has proto 0, so every response of a
        # worker waited for the client's delayed ACK (about 40 ms a request; S3 of bench/search.py)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

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


def serve_options() -> dict[str, Any]:
    """uvicorn's settings for every way fedcat serves: requests in progress have a few seconds to finish
    after SIGTERM or Ctrl-C; uvicorn logs through fedcat's handler (``--log-format``), not a format of its own."""
    return {"log_level": "warning", "log_config": None, "timeout_graceful_shutdown": int(STOP_GRACE_S / 2)}


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve in this process until SIGTERM or Ctrl-C."""
    uvicorn.run(app, host=host, port=port, http=Utf8RequestLineProtocol, **serve_options())


class AddressUnavailable(FedcatError):
    """The API cannot listen on the chosen host and port (names them and the flags that change them)."""

    def __init__(self, host: str, port: int, reason: str, hint: str) -> None:
        self.host = host
        self.port = port
        super().__init__(f"cannot serve on {host}:{port}: {reason}; {hint}")


def check_bindable(host: str, port: int, *, hint: str = "choose another with --port or --host") -> None:
    """Raise :class:`AddressUnavailable` when ``host:port`` cannot be listened on, as uvicorn would.

    Every address the host resolves to is tried the way asyncio binds them (``SO_REUSEADDR``, IPv6
    only on IPv6 sockets); an address family the machine lacks is skipped, as asyncio skips it.
    """
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AddressUnavailable(host, port, f"unknown host ({exc.strerror})", hint) from exc
    failures = [err for err in (_bind_error(info[0], info[4]) for info in infos) if err is not None]
    real = [err for err in failures if err.errno != errno.EADDRNOTAVAIL]
    if real or (failures and len(failures) == len(infos)):
        err = (real or failures)[0]
        raise AddressUnavailable(host, port, _reason(err), hint) from err


def _bind_error(family: int, address: tuple[object, ...]) -> OSError | None:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if os.name == "posix":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return exc
    return None


def _reason(err: OSError) -> str:
    if err.errno == errno.EADDRINUSE:
        return "the port is already in use"
    if err.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    return (err.strerror or str(err)).lower()
