"""Notifications: events, subscriptions, and delivery from the outbox.

Every change of a case yields events (``case.started``, ``case.transition``,
``state.left``, ``state.entered``, ``sla.started`` / ``paused`` / ``resumed`` /
``stopped``, ``sla.warning``, ``sla.breach``). They are written to the outbox in the
same transaction as the change and delivered after it is durable: at least once, with
the event id as a stable idempotency key. A receiver that fails is retried with
exponential backoff; after ``max_attempts`` the event is parked as *dead* where it can
be listed and replayed.

Three ready receivers: any callable, :func:`log_events` (Python logging) and
:class:`Webhook` (HTTP POST with an HMAC-SHA256 signature).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

__all__ = [
    "EVENT_TYPES",
    "Delivery",
    "Event",
    "Subscription",
    "Webhook",
    "log_events",
]

EVENT_TYPES = (
    "case.started",
    "case.transition",
    "case.refused",
    "state.left",
    "state.entered",
    "sla.started",
    "sla.paused",
    "sla.resumed",
    "sla.stopped",
    "sla.warning",
    "sla.breach",
    "sla.recomputed",
    "incident.opened",
    "incident.resolved",
)

DeliveryStatus = Literal["pending", "delivered", "dead"]


@attrs.frozen
class Event:
    """Something that happened to a case.

    Attributes:
        id: stable and unique; receivers use it as the idempotency key.
        type: one of :data:`EVENT_TYPES`.
        case_id: the case.
        process: the process name.
        at: when it happened.
        payload: JSON-serialisable details, confidential fields removed.
    """

    id: str
    type: str
    case_id: str
    process: str
    at: dt.datetime
    payload: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-serialisable dict."""
        return {
            "id": self.id,
            "type": self.type,
            "case_id": self.case_id,
            "process": self.process,
            "at": self.at.isoformat(),
            "payload": dict(self.payload),
        }


@attrs.frozen
class Delivery:
    """An event in the outbox and how far its delivery has come.

    Attributes:
        event: the event.
        status: ``pending``, ``delivered`` or ``dead``.
        attempts: delivery rounds tried so far.
        next_attempt_at: not before this instant.
        delivered_to: the subscriptions that have received it.
        last_error: the last receiver's error, if any.
    """

    event: Event
    status: DeliveryStatus = "pending"
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    delivered_to: tuple[str, ...] = ()
    last_error: str | None = None


Receiver = Callable[[Event], object]


@attrs.frozen
class Subscription:
    """A receiver for the events whose type matches ``pattern`` (``"sla.*"``, ``"*"``)."""

    pattern: str
    receiver: Receiver
    name: str

    def matches(self, event_type: str) -> bool:
        """Whether this subscription wants events of ``event_type``."""
        return fnmatch.fnmatchcase(event_type, self.pattern)


def event_id(entry_hash: str, index: int) -> str:
    """A stable event id: the ``index``-th event of the history entry with this hash.

    Entry hashes are unique (each covers its case id and position in the chain), so
    the id is unique too, and the same whenever the event is delivered again.
    """
    return f"{entry_hash[:32]}-{index}"


def backoff(attempts: int, base: dt.timedelta, cap: dt.timedelta) -> dt.timedelta:
    """Exponential backoff after ``attempts`` failed rounds: base, 2·base, 4·base… ≤ cap.

    Doubles only until the cap is reached, so any number of rounds is safe (``base``
    times ``2 ** attempts`` would overflow ``timedelta`` after some forty rounds).

    >>> import datetime as dt
    >>> [backoff(n, dt.timedelta(seconds=30), dt.timedelta(minutes=5)).seconds
    ...  for n in (1, 2, 3, 4, 5, 1000)]
    [30, 60, 120, 240, 300, 300]
    """
    delay = base
    for _ in range(max(attempts - 1, 0)):
        if delay >= cap or delay <= dt.timedelta(0):
            break
        delay *= 2
    return min(cap, delay)


def deliver(
    delivery: Delivery,
    subscriptions: Mapping[str, Subscription],
    now: dt.datetime,
    *,
    max_attempts: int,
    base: dt.timedelta,
    cap: dt.timedelta,
) -> Delivery:
    """Hand ``delivery``'s event to every matching subscription not yet served.

    Returns the delivery's new state. A receiver that raises is tried again in a later
    round; those that succeeded are not called again.
    """
    done = list(delivery.delivered_to)
    error: str | None = None
    for name, sub in subscriptions.items():
        if name in done or not sub.matches(delivery.event.type):
            continue
        try:
            sub.receiver(delivery.event)
        except Exception as exc:  # a receiver's failure must not stop the others
            error = f"{name}: {type(exc).__name__}: {exc}"
        else:
            done.append(name)
    attempts = delivery.attempts + 1
    if error is None:
        return attrs.evolve(
            delivery,
            status="delivered",
            attempts=attempts,
            delivered_to=tuple(done),
            last_error=None,
            next_attempt_at=None,
        )
    status: DeliveryStatus = "dead" if attempts >= max_attempts else "pending"
    return attrs.evolve(
        delivery,
        status=status,
        attempts=attempts,
        delivered_to=tuple(done),
        last_error=error,
        next_attempt_at=now + backoff(attempts, base, cap),
    )


# --- receivers ------------------------------------------------------------------------


def log_events(
    logger: logging.Logger | str = "techsvc_flow.events", level: int = logging.INFO
) -> Receiver:
    """A receiver that logs each event as one line of JSON.

    >>> import logging, datetime as dt
    >>> receiver = log_events("demo")
    >>> callable(receiver)
    True
    """
    log = logging.getLogger(logger) if isinstance(logger, str) else logger

    def receive(event: Event) -> None:
        log.log(level, "%s %s", event.type, json.dumps(event.to_json(), ensure_ascii=False))

    return receive


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Treat a redirect as a failed delivery: following it would turn the POST into a
    GET without the event (301/302/303), and a receiver that moved must be re-configured,
    not guessed at."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Webhook:
    """A receiver that POSTs each event as JSON to ``url``.

    Headers: ``X-Techsvc-Event`` (type), ``Idempotency-Key`` (the event id) and, with a
    ``secret``, ``X-Techsvc-Signature: sha256=<hex HMAC-SHA256 of the body>``. A
    non-2xx answer (redirects included: they are not followed) or a network error
    raises, so the event is retried.

    Its repr leaves out credentials and the query string, where robot webhooks keep
    their key:

    >>> Webhook("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0a1b2c")
    Webhook('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…')
    """

    def __init__(self, url: str, *, secret: str | bytes | None = None, timeout: float = 10.0):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url {url!r} must start with http:// or https://")
        self.url = url
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    @staticmethod
    def signature(body: bytes, secret: bytes) -> str:
        """The signature header value for ``body``."""
        return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()

    def __call__(self, event: Event) -> None:
        body = json.dumps(event.to_json(), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Techsvc-Event": event.type,
            "Idempotency-Key": event.id,
        }
        if self.secret:
            headers["X-Techsvc-Signature"] = self.signature(body, self.secret)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                response_headers = response.headers
        except urllib.error.HTTPError as exc:
            exc.close()  # release the connection; the error itself is what the caller needs
            raise
        if not 200 <= status < 300:
            raise urllib.error.HTTPError(
                self.url, status, "webhook refused", response_headers, None
            )

    def __repr__(self) -> str:
        # The query string often carries the receiver's key (WeCom, DingTalk and Feishu
        # robots put it there) and the repr ends up in subscription names and log
        # lines: show only where the webhook goes.
        parts = urllib.parse.urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]  # without user:password@
        shown = f"{parts.scheme}://{host}{parts.path}"
        if parts.query or parts.fragment or parts.username or parts.password:
            shown += "?…"
        return f"Webhook({shown!r})"
