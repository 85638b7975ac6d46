"""Loopback fakes of the WeCom, DingTalk and Feishu robots, for tests and docs.

Each fake is an HTTP server on ``127.0.0.1`` that checks requests as its vendor
documents (the key or token, the signature and its timestamp window, the message
type), answers HTTP 200 with the vendor's result code, limits the rate (20 messages a
minute by default) and records what it accepted. :meth:`FakeRobot.fail` makes the next
answers carry an error code, to rehearse outages::

    with FakeWeCom() as robot:
        receiver = WeCom(robot.url)
        ...
        robot.received  # the accepted bodies, in order

The signature checks are written here from the vendors' descriptions, apart from the
senders in :mod:`techsvc_flow.channels`, so that each side checks the other.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.parse
from types import TracebackType
from typing import Any

__all__ = ["FakeDingTalk", "FakeFeishu", "FakeRobot", "FakeWeCom"]

Answer = tuple[int, str]


class FakeRobot:
    """A robot on loopback (start it with ``with`` or :meth:`start`).

    Args:
        token: the key or access token its URL carries.
        secret: the signing secret it checks (``None``: unsigned).
        per_minute: messages accepted in any 60 s before answering the rate-limit code.

    Attributes:
        received: the JSON bodies accepted, in order.
        answers: every result code answered, in order (0: accepted).
    """

    OK: Answer = (0, "ok")
    RATE_LIMITED: Answer = (0, "")
    CODE = "errcode"
    TEXT = "errmsg"

    def __init__(
        self, token: str = "k-0123456789", *, secret: str | None = None, per_minute: int = 20
    ) -> None:
        self.token = token
        self.secret = secret
        self.per_minute = per_minute
        self.received: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self._failures: collections.deque[Answer] = collections.deque()
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None

    # --- what the vendor checks (subclasses) ----------------------------------------

    def path(self) -> str:
        """The webhook's path and query, without the host."""
        raise NotImplementedError

    def check(self, path: str, query: dict[str, str], body: dict[str, Any]) -> Answer | None:
        """The error answer for a request the vendor would refuse, else ``None``."""
        raise NotImplementedError

    # --- the server ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The webhook URL to configure (holds the token)."""
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.path()}"

    def fail(self, code: int, message: str = "fake failure", times: int = 1) -> None:
        """Answer the next ``times`` requests with ``code`` (HTTP 200)."""
        with self._lock:
            self._failures.extend([(code, message)] * times)

    def texts(self) -> list[str]:
        """The text of every accepted message."""
        return [json.dumps(body, ensure_ascii=False) for body in self.received]

    def _answer(self, raw: bytes, target: str) -> Answer:
        parts = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        try:
            body = json.loads(raw)
        except ValueError:
            return (400, "invalid json")
        with self._lock:
            if self._failures:
                return self._failures.popleft()
            refused = self.check(parts.path, query, body)
            if refused is not None:
                return refused
            now = time.monotonic()
            while self._sent and self._sent[0] <= now - 60:
                self._sent.popleft()
            if len(self._sent) >= self.per_minute:
                return self.RATE_LIMITED
            self._sent.append(now)
            self.received.append(body)
            return self.OK

    def start(self) -> FakeRobot:
        """Serve on a free loopback port, in a daemon thread."""
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                code, text = fake._answer(self.rfile.read(length), self.path)
                with fake._lock:
                    fake.answers.append(code)
                out = json.dumps({fake.CODE: code, fake.TEXT: text}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeRobot:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _within_hour(stamp: str, unit: float) -> bool:
    return stamp.isdigit() and abs(time.time() - int(stamp) / unit) <= 3600


class FakeWeCom(FakeRobot):
    """WeCom: the ``key`` must match (else 93000); text or markdown with content."""

    RATE_LIMITED = (45009, "api freq out of limit")

    def path(self) -> str:
        return f"/cgi-bin/webhook/send?key={self.token}"

    def check(self, path: str, query: dict[str, str], body: dict[str, Any]) -> Answer | None:
        if path != "/cgi-bin/webhook/send" or query.get("key") != self.token:
            return (93000, "invalid webhook url")
        kind = body.get("msgtype")
        if kind not in ("text", "markdown") or not body.get(kind, {}).get("content"):
            return (40008, "invalid message type")
        return None


class FakeDingTalk(FakeRobot):
    """DingTalk: the ``access_token`` must match (else 300005); with a secret, the URL's
    ``timestamp`` (ms, within an hour) and ``sign`` must match (else 310000)."""

    RATE_LIMITED = (130101, "send too fast, exceed 20 times per minute")

    def path(self) -> str:
        return f"/robot/send?access_token={self.token}"

    def check(self, path: str, query: dict[str, str], body: dict[str, Any]) -> Answer | None:
        if path != "/robot/send" or query.get("access_token") != self.token:
            return (300005, "token is not exist")
        if self.secret is not None:
            stamp = query.get("timestamp", "")
            if not _within_hour(stamp, 1000):
                return (310000, "invalid timestamp")
            string_to_sign = f"{stamp}\n{self.secret}".encode()
            mac = hmac.new(self.secret.encode(), string_to_sign, hashlib.sha256).digest()
            # parse_qsl has already URL-decoded the sign
            if not hmac.compare_digest(base64.b64encode(mac).decode(), query.get("sign", "")):
                return (310000, "sign not match")
        kind = body.get("msgtype")
        if kind not in ("text", "markdown") or not body.get(kind):
            return (40035, "invalid msgtype")
        return None


class FakeFeishu(FakeRobot):
    """Feishu: the hook token must match (else 19001); with a secret, the body's
    ``timestamp`` (s, within an hour) and ``sign`` must match (else 19021)."""

    OK = (0, "success")
    RATE_LIMITED = (9499, "too many request")
    CODE = "code"
    TEXT = "msg"

    def path(self) -> str:
        return f"/open-apis/bot/v2/hook/{self.token}"

    def check(self, path: str, query: dict[str, str], body: dict[str, Any]) -> Answer | None:
        if path != self.path():
            return (19001, "param invalid: incoming webhook access token invalid")
        if self.secret is not None:
            stamp = str(body.get("timestamp", ""))
            key = f"{stamp}\n{self.secret}".encode()
            mac = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            sign = str(body.get("sign", ""))
            if not _within_hour(stamp, 1) or not hmac.compare_digest(mac, sign):
                return (19021, "sign match fail or timestamp is not within one hour")
        kind = body.get("msg_type")
        if kind == "text" and body.get("content", {}).get("text"):
            return None
        if kind == "interactive" and isinstance(body.get("card"), dict):
            return None
        return (19002, "params error, msg_type need")
