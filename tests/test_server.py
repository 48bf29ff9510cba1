"""The real HTTP server: raw UTF-8 in the request line (as curl sends 冰川) is accepted."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from fedcat.api.server import Utf8RequestLineProtocol


@pytest.fixture
def server_port() -> Iterator[int]:
    app = FastAPI()

    @app.get("/echo")
    def echo(q: str = "") -> dict[str, str]:
        return {"q": q}

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=Utf8RequestLineProtocol,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(5)


def _exchange(sock: socket.socket, target: bytes) -> bytes:
    sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b"\r\n")[0] + b" " + body


def test_raw_utf8_and_percent_encoded_queries_on_one_keep_alive_connection(server_port: int) -> None:
    with socket.create_connection(("127.0.0.1", server_port), timeout=5) as sock:
        raw = _exchange(sock, "/echo?q=冰川".encode())
        encoded = _exchange(sock, b"/echo?q=%E5%9F%BA%E5%9B%A0")
        raw_again = _exchange(sock, "/echo?q=基因组 genome".replace(" ", "+").encode())
    assert raw == 'HTTP/1.1 200 OK {"q":"冰川"}'.encode()
    assert encoded == 'HTTP/1.1 200 OK {"q":"基因"}'.encode()
    assert raw_again == 'HTTP/1.1 200 OK {"q":"基因组 genome"}'.encode()


def test_connections_of_workers_send_without_nagles_delay() -> None:
    """``--workers`` hands each worker the supervisor's listening socket, made with proto 0, on which asyncio
    leaves Nagle's algorithm on: each response then waited for the client's delayed ACK (about 40 ms a
    request). The protocol turns it off on every TCP connection it is given."""
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    seen: list[int] = []

    class Recording(Utf8RequestLineProtocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            seen.append(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # as uvicorn's Config.bind_socket makes it
    assert listener.proto == 0
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, http=Recording, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert _exchange(sock, b"/ping").endswith(b'{"ok":"yes"}')
        assert seen and all(seen), seen
    finally:
        server.should_exit = True
        thread.join(5)
        listener.close()
