"""One HTTP POST under one total wall-clock deadline.

``urllib``'s ``timeout`` bounds each socket operation, so a server that trickles one
byte at a time can hold a request indefinitely. :func:`post` bounds the whole attempt:
connecting (TLS handshake included), sending, and reading the whole answer, recomputing
the socket timeout from the time left before every read. Proxies from the environment
are honoured as by ``urllib``; redirects are refused.
"""

from __future__ import annotations

import http.client
import io
import math
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["post"]

#: the most of an answer's body :func:`post` keeps (a robot's answer is a short JSON)
MAX_ANSWER = 1 << 20

TIMED_OUT = "webhook delivery exceeded its total timeout"


def _left(deadline: float) -> float:
    """Seconds left before ``deadline`` (a ``time.monotonic()`` value); raises when none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(TIMED_OUT)
    return left


class _DeadlineReader(io.RawIOBase):
    """Reads the socket with a timeout recomputed from the time left before each read,
    so a receiver trickling bytes cannot stretch the attempt past its deadline."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        sock = self._owner.sock
        sock.settimeout(_left(self._owner.deadline))
        return sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.release()
        super().close()


class _DeadlineSocket:
    """The connected socket as ``http.client`` uses it (``sendall``, ``makefile``,
    ``close``), every operation bounded by what is left of the deadline. Like a socket,
    it stays open while a file made from it is (``urllib`` closes the connection before
    the answer's body is read)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self._files = 0
        self._closed = False

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(_left(self.deadline))  # a total bound for sendall (3.5+)
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._files += 1
        return io.BufferedReader(_DeadlineReader(self))

    def release(self) -> None:
        self._files -= 1
        if self._closed and self._files == 0:
            self.sock.close()

    def close(self) -> None:
        self._closed = True
        if self._files == 0:
            self.sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def _connect(conn: Any, connect: Callable[[], None]) -> None:
    """Connect with the time left as the timeout (a total bound for ``connect`` and the
    TLS handshake), then hand ``http.client`` a socket bounded by the deadline."""
    conn.timeout = _left(conn.deadline)
    connect()
    conn.sock = _DeadlineSocket(conn.sock, conn.deadline)


class _HTTPConnection(http.client.HTTPConnection):
    deadline = math.inf

    def connect(self) -> None:
        _connect(self, super().connect)


class _HTTPSConnection(http.client.HTTPSConnection):
    deadline = math.inf

    def connect(self) -> None:
        _connect(self, super().connect)


class _DeadlineHandlers(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """Opens ``http`` and ``https`` URLs with connections bounded by one deadline."""

    def __init__(self, deadline: float) -> None:
        urllib.request.HTTPHandler.__init__(self)
        urllib.request.HTTPSHandler.__init__(self)
        self.deadline = deadline

    def _connection(
        self, base: type[_HTTPConnection | _HTTPSConnection]
    ) -> Callable[..., http.client.HTTPConnection]:
        def connect(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
            conn = base(*args, **kwargs)
            conn.deadline = self.deadline
            return conn

        return connect

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection(_HTTPConnection), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection(_HTTPSConnection), req)  # default TLS context


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Treat a redirect as a failed delivery: following it would turn the POST into a
    GET without the event (301/302/303), and a receiver that moved must be re-configured,
    not guessed at."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> bytes:
    """POST ``body`` to ``url``; returns the body of a 2xx answer, read whole within
    ``timeout`` s (at most :data:`MAX_ANSWER` bytes are kept).

    Raises:
        urllib.error.HTTPError: any other status (redirects are not followed).
        TimeoutError: the deadline passed.
        OSError: a network error.
    """
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    opener = urllib.request.build_opener(_DeadlineHandlers(deadline), _RefuseRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            response_headers = response.headers
            answer = bytearray()
            while chunk := response.read(65536):  # the whole answer, within the deadline
                _left(deadline)
                if len(answer) < MAX_ANSWER:
                    answer += chunk[: MAX_ANSWER - len(answer)]
    except urllib.error.HTTPError as exc:
        exc.close()  # release the connection; the error itself is what the caller needs
        raise
    except TimeoutError:  # every socket timeout is what was left of the deadline
        raise TimeoutError(TIMED_OUT) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise TimeoutError(TIMED_OUT) from None
        raise
    if not 200 <= status < 300:
        raise urllib.error.HTTPError(url, status, "webhook refused", response_headers, None)
    return bytes(answer)
