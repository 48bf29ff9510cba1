"""One HTTP request to an already checked address (http.client; the address is pinned, not re-resolved)."""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

from .guard import IPAddress

#: Bytes of a GET body read before the connection is closed (only the status matters).
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    location: str | None


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((str(self._address), self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def request(method: str, scheme: str, host: str, port: int, address: IPAddress, target: str,
            *, timeout: float, user_agent: str) -> Answer:
    """Send one request; socket.timeout / OSError / http.client.HTTPException propagate."""
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = cls(host, port, address, timeout)
    try:
        conn.request(method, target, headers={"User-Agent": user_agent, "Accept": "text/html,*/*;q=0.8",
                                              "Connection": "close"})
        resp = conn.getresponse()
        if method == "GET":
            resp.read(MAX_BODY)
        return Answer(resp.status, resp.getheader("Location"))
    finally:
        conn.close()
