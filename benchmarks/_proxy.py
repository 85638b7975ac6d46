"""A loopback TCP proxy that delays every forwarded chunk and counts round trips.

Put it in front of a database server so that round trips show as time, as on a real
network::

    with DelayProxy(("127.0.0.1", 5432), delay=0.001) as proxy:
        url = f"postgresql+psycopg://flow@127.0.0.1:{proxy.port}/postgres"
        ...
        proxy.reset()
        ...  # the measured batch
        trips = proxy.round_trips

Every chunk read from one side is forwarded to the other ``delay`` seconds after it
arrived, in arrival order per direction (one forwarding thread per direction and
connection, so a chunk never waits behind another one's delay: a burst of pipelined
chunks is delayed once, not once per chunk).

A **round trip** is a client-to-server burst followed by the server's reply: the proxy
counts one each time data arrives from the client and either the connection has sent
nothing before, or the proxy has forwarded server data on that connection since the
client's last data. Pipelined requests (several sent before any reply) count once.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import socket
import threading
import time
from types import TracebackType

__all__ = ["DelayProxy"]

_CHUNK = 65536
_EOF = b""


class _Link:
    """One client connection and its server connection."""

    def __init__(self, proxy: DelayProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.server = server
        self.replied = True  # counts the connection's first client data as a round trip
        self.lock = threading.Lock()

    def start(self) -> None:
        for source, target, upstream in (
            (self.client, self.server, True),
            (self.server, self.client, False),
        ):
            pending: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
            for target_fn, args in (
                (self._read, (source, pending, upstream)),
                (self._write, (target, pending, upstream)),
            ):
                threading.Thread(target=target_fn, args=args, daemon=True).start()

    def _read(
        self,
        source: socket.socket,
        pending: queue.SimpleQueue[tuple[float, bytes]],
        upstream: bool,
    ) -> None:
        while True:
            try:
                data = source.recv(_CHUNK)
            except OSError:
                data = _EOF
            if data and upstream:
                with self.lock:
                    if self.replied:
                        self.replied = False
                        self.proxy._count()
            pending.put((time.monotonic() + self.proxy.delay, data))
            if not data:
                return

    def _write(
        self,
        target: socket.socket,
        pending: queue.SimpleQueue[tuple[float, bytes]],
        upstream: bool,
    ) -> None:
        while True:
            due, data = pending.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
                return
            if not upstream:
                with self.lock:
                    self.replied = True
            try:
                target.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class DelayProxy:
    """A TCP proxy on 127.0.0.1 in front of ``target``, adding ``delay`` seconds each way.

    Args:
        target: the ``(host, port)`` the proxy forwards to.
        delay: seconds each chunk waits before it is forwarded, in either direction
            (0: forward at once, only counting).

    Attributes:
        port: the loopback port the proxy listens on (after :meth:`start`).
    """

    def __init__(self, target: tuple[str, int], delay: float = 0.0) -> None:
        if delay < 0:
            raise ValueError(f"delay must be 0 or more seconds, not {delay!r}")
        self.target = target
        self.delay = delay
        self.port = 0
        self._trips = 0
        self._lock = threading.Lock()
        self._links: collections.deque[_Link] = collections.deque()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    @property
    def round_trips(self) -> int:
        """Round trips counted since the start or the last :meth:`reset`."""
        with self._lock:
            return self._trips

    def reset(self) -> int:
        """Set the round-trip count to 0; returns the count it had."""
        with self._lock:
            trips, self._trips = self._trips, 0
            return trips

    def _count(self) -> None:
        with self._lock:
            self._trips += 1

    def start(self) -> DelayProxy:
        """Listen on a free loopback port and forward each accepted connection."""
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(self, client, server)
            self._links.append(link)
            link.start()

    def stop(self) -> None:
        """Stop listening and close every forwarded connection."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        if self._acceptor is not None:
            self._acceptor.join(5)
            self._acceptor = None
        while self._links:
            self._links.popleft().close()

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
