"""The benchmark's delaying proxy counts round trips and adds its delay (loopback only)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from benchmarks._proxy import DelayProxy


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """A server that echoes what it receives, one thread per connection."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(5)


def _exchange(sock: socket.socket, message: bytes) -> bytes:
    sock.sendall(message)
    got = b""
    while len(got) < len(message):
        chunk = sock.recv(65536)
        assert chunk, "the proxy closed the connection"
        got += chunk
    return got


def test_each_request_and_reply_is_one_round_trip(echo: tuple[str, int]) -> None:
    with DelayProxy(echo) as proxy, socket.create_connection(("127.0.0.1", proxy.port), 5) as s:
        assert _exchange(s, b"hello") == b"hello"  # connection setup: outside the window
        assert proxy.reset() == 1
        for i in range(10):
            assert _exchange(s, f"ping {i}".encode()) == f"ping {i}".encode()
        assert proxy.round_trips == 10
        assert proxy.reset() == 10
        assert proxy.round_trips == 0


def test_the_delay_shows_each_way(echo: tuple[str, int]) -> None:
    delay = 0.02
    proxy = DelayProxy(echo, delay=delay).start()
    with socket.create_connection(("127.0.0.1", proxy.port), 5) as s:
        start = time.perf_counter()
        for _ in range(3):
            _exchange(s, b"x")
        took = time.perf_counter() - start
    proxy.stop()
    assert took >= 3 * 2 * delay
    assert proxy.round_trips == 3


def test_pipelined_requests_count_once(echo: tuple[str, int]) -> None:
    with DelayProxy(echo, delay=0.01) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), 5) as s:
            for part in (b"a", b"b", b"c"):
                s.sendall(part)  # three sends before any reply
            got = b""
            while len(got) < 3:
                got += s.recv(16)
        assert got == b"abc"
        assert proxy.round_trips == 1


def test_connections_count_separately_and_stop_closes_them(echo: tuple[str, int]) -> None:
    proxy = DelayProxy(echo).start()
    first = socket.create_connection(("127.0.0.1", proxy.port), 5)
    second = socket.create_connection(("127.0.0.1", proxy.port), 5)
    _exchange(first, b"1")
    _exchange(second, b"2")
    _exchange(first, b"3")
    assert proxy.round_trips == 3
    proxy.stop()
    first.settimeout(5)
    assert first.recv(16) == b""  # the proxy closed its side
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proxy.port), 1)
    first.close()
    second.close()


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="delay"):
        DelayProxy(("127.0.0.1", 1), delay=-1)
