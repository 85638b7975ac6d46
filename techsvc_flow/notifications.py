"""Notifications: events, subscriptions, and delivery from the outbox.

Every change of a case yields events (``case.started``, ``case.transition``,
``state.left``, ``state.entered``, ``sla.started`` / ``paused`` / ``resumed`` /
``stopped``, ``sla.warning``, ``sla.breach``). They are written to the outbox in the
same transaction as the change and delivered after it is durable: at least once, with
the event id as a stable idempotency key. A receiver that fails is retried with
exponential backoff; after ``max_attempts`` the event is parked as *dead* where it can
be listed and replayed.

Receivers are *local* (a plain callable: in-process, quick, may run right after the
commit) or *remote* (anything that talks to another machine: it declares
``remote = True`` and is only ever called by ``Workflow.dispatch()``, never inside a
user's request). Three ready receivers: any callable, :func:`log_events` (Python
logging) and :class:`Webhook` (remote: HTTP POST, signed with a timestamp, verified by
:func:`verify_signature`).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import hmac
import json
import logging
import math
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, Protocol

import attrs

from ._http import post
from .clock import Clock, SystemClock
from .errors import ConfigurationError, FlowError, SignatureError

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Delivery",
    "DeliveryFailed",
    "Event",
    "Headers",
    "Subscription",
    "Webhook",
    "is_remote",
    "log_events",
    "signature",
    "verify_signature",
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
    "sla.goal_changed",
    "sla.escalation",
    "incident.opened",
    "incident.resolved",
    "work.assign",
    "work.claim",
    "work.unclaim",
    "work.reassign",
    "work.delegate",
    "work.urge",
    "work.comment",
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


class DeliveryFailed(FlowError, RuntimeError):
    """A receiver could not deliver an event, and says how the outbox should go on.

    Raised by receivers (the chat robots and e-mail of :mod:`techsvc_flow.channels`);
    any other exception is an ordinary failure, retried with backoff. The message
    (kept in the dead letter) holds the vendor's code and text, never a secret.

    Attributes:
        code: the vendor's error code (or HTTP status, SMTP reply code), if any.
        detail: the vendor's message.
        retry_after: a rate limit: try again after this long; the attempt is not
            counted toward ``max_attempts``, so the event is never dropped for it.
        permanent: a configuration error (a bad key or signature): retrying cannot
            help, the event is parked as dead at once.

    >>> str(DeliveryFailed(310000, "sign not match", permanent=True))
    'permanent configuration error: code 310000: sign not match'
    """

    def __init__(
        self,
        code: int | str | None,
        detail: str,
        *,
        retry_after: dt.timedelta | None = None,
        permanent: bool = False,
    ) -> None:
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        self.permanent = permanent
        head = "permanent configuration error: " if permanent else ""
        if retry_after is not None:
            head = f"rate limited, retry after {retry_after.total_seconds():g} s: "
        code_text = "" if code is None else f"code {code}: "
        super().__init__(f"{head}{code_text}{detail}")


def is_remote(receiver: Receiver) -> bool:
    """Whether ``receiver`` is remote: it has a ``remote`` attribute that is ``True``.

    A remote receiver (a webhook, a chat robot, e-mail) is delivered only by
    ``Workflow.dispatch()`` (a worker), never right after the commit inside the request
    that made the change. Declare it on the receiver's class: ``remote = True``.

    >>> is_remote(print), is_remote(Webhook("https://crm.example.com/hook", secret=None))
    (False, True)
    """
    return getattr(receiver, "remote", False) is True


@attrs.frozen
class Subscription:
    """A receiver for the events whose type matches ``pattern`` (``"sla.*"``, ``"*"``)."""

    pattern: str
    receiver: Receiver
    name: str

    @property
    def remote(self) -> bool:
        """Whether the receiver is remote (see :func:`is_remote`)."""
        return is_remote(self.receiver)

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
    remote: bool = True,
) -> Delivery:
    """Hand ``delivery``'s event to every matching subscription not yet served.

    Returns the delivery's new state. A receiver that raises is tried again in a later
    round; those that succeeded are not called again. With ``remote=False`` only local
    receivers are called: if all of them took the event and remote ones are still to
    be served, the delivery stays pending, due at ``now``, and no round is counted.
    """
    done = list(delivery.delivered_to)
    error: str | None = None
    left = False
    permanent = False
    counted = False  # an ordinary failure: the round counts toward max_attempts
    wait: dt.timedelta | None = None  # the longest rate-limit window asked for
    for name, sub in subscriptions.items():
        if name in done or not sub.matches(delivery.event.type):
            continue
        if not remote and sub.remote:
            left = True
            continue
        try:
            sub.receiver(delivery.event)
        except Exception as exc:  # a receiver's failure must not stop the others
            error = f"{name}: {type(exc).__name__}: {exc}"
            if isinstance(exc, DeliveryFailed) and exc.permanent:
                permanent = True
            elif isinstance(exc, DeliveryFailed) and exc.retry_after is not None:
                wait = exc.retry_after if wait is None else max(wait, exc.retry_after)
            else:
                counted = True
        else:
            done.append(name)
    if error is None and left:
        return attrs.evolve(delivery, delivered_to=tuple(done), next_attempt_at=now)
    if error is None:
        return attrs.evolve(
            delivery,
            status="delivered",
            attempts=delivery.attempts + 1,
            delivered_to=tuple(done),
            last_error=None,
            next_attempt_at=None,
        )
    # a rate limit alone does not count the round: the event waits out the window
    attempts = delivery.attempts + 1 if counted or permanent else delivery.attempts
    delay = backoff(attempts, base, cap) if counted else dt.timedelta(0)
    if wait is not None:
        delay = max(delay, wait)
    dead = permanent or (counted and attempts >= max_attempts)
    status: DeliveryStatus = "dead" if dead else "pending"
    return attrs.evolve(
        delivery,
        status=status,
        attempts=attempts,
        delivered_to=tuple(done),
        last_error=error,
        next_attempt_at=now + (backoff(attempts, base, cap) if dead else delay),
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


# --- signing ------------------------------------------------------------------------

#: the header carrying ``sha256=<hex HMAC-SHA256 of "<timestamp>." + body>``
SIGNATURE_HEADER = "X-Techsvc-Signature"
#: the header carrying the send time in whole Unix seconds, covered by the signature
TIMESTAMP_HEADER = "X-Techsvc-Timestamp"


def _secret(secret: object, setting: str) -> bytes:
    """The secret as bytes; refuses an empty or mistyped one (never echoing it)."""
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, bytes):
        raise ConfigurationError(setting, f"must be str or bytes, not {type(secret).__name__}")
    if not secret:
        raise ConfigurationError(setting, "is empty: give a shared secret (None: unsigned)")
    return secret


def signature(body: bytes, secret: str | bytes, timestamp: int) -> str:
    """The :data:`SIGNATURE_HEADER` value for ``body`` sent at ``timestamp``.

    The signed string is the timestamp in decimal ASCII, a dot, then the exact body
    bytes: ``b"1759222800." + body``.

    >>> signature(b'{"id":"x"}', "s3cret", 1759222800)[:15]
    'sha256=fb9610d7'
    """
    signed = str(int(timestamp)).encode("ascii") + b"." + body
    key = _secret(secret, "secret")
    return "sha256=" + hmac.new(key, signed, hashlib.sha256).hexdigest()


class Headers(Protocol):
    """Request headers: a mapping, or ``http.server``'s ``self.headers``."""

    def items(self) -> Iterable[tuple[str, Any]]: ...


def verify_signature(
    body: bytes,
    headers: Headers,
    secret: str | bytes,
    *,
    now: dt.datetime | None = None,
    tolerance: dt.timedelta = dt.timedelta(minutes=5),
) -> dt.datetime:
    """Check a webhook request on the receiving side; returns the instant it was signed.

    Call it with the raw body, before parsing it. ``headers`` is any mapping (looked
    up case-insensitively, e.g. ``self.headers`` of an ``http.server`` handler). The
    signature is compared in constant time; a timestamp more than ``tolerance`` away
    from ``now`` (default: the system clock, UTC) is refused, so a captured request
    cannot be replayed later. Within the window, drop repeats by ``Idempotency-Key``.

    Raises:
        SignatureError: ``reason`` is ``"missing"`` (no or malformed header),
            ``"mismatch"`` (body or timestamp altered, or another secret) or
            ``"stale"`` (outside the tolerance window).
    """
    found = {str(k).lower(): str(v) for k, v in headers.items()}
    sent = found.get(SIGNATURE_HEADER.lower())
    stamp = found.get(TIMESTAMP_HEADER.lower(), "")
    if not sent:
        raise SignatureError("missing", f"no {SIGNATURE_HEADER} header")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise SignatureError("missing", f"no valid {TIMESTAMP_HEADER} header")
    if not hmac.compare_digest(signature(body, secret, int(stamp)), sent):
        raise SignatureError("mismatch", "the body, the timestamp or the secret differ")
    signed_at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
    now = now if now is not None else SystemClock().now()
    if abs(now - signed_at) > tolerance:
        raise SignatureError(
            "stale", f"signed at {signed_at.isoformat()}, more than {tolerance} from now"
        )
    return signed_at


# --- the webhook ---------------------------------------------------------------------


def _timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ConfigurationError(
            "Webhook.timeout", f"must be a number of seconds, not {type(timeout).__name__}"
        )
    if not math.isfinite(timeout) or timeout <= 0:
        raise ConfigurationError("Webhook.timeout", f"must be finite and > 0, not {timeout}")
    return float(timeout)


class Webhook:
    """A remote receiver that POSTs each event as JSON to ``url``.

    Headers: ``X-Techsvc-Event`` (type), ``Idempotency-Key`` (the event id) and, with a
    ``secret``, ``X-Techsvc-Timestamp`` (the send time, Unix seconds) and
    ``X-Techsvc-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>`` (see
    :func:`signature`, :func:`verify_signature`); ``secret=None`` sends unsigned. A
    non-2xx answer (redirects included: they are not followed), a network error or the
    ``timeout`` running out raises, so the event is retried.

    ``timeout`` is the total wall-clock deadline of one attempt in seconds: connecting
    (TLS included), sending and reading the whole answer, however slowly the receiver
    trickles it. ``clock`` gives the signing time (default: the system clock).

    Its repr leaves out credentials and the query string, where robot webhooks keep
    their key:

    >>> Webhook("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0a1b2c", secret=None)
    Webhook('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…')

    Raises:
        ConfigurationError: an URL that is not ``http(s)://host...``, an empty secret,
            a timeout that is not a finite number of seconds above zero.
    """

    #: delivered only by ``Workflow.dispatch()`` (see :func:`is_remote`)
    remote = True

    def __init__(
        self,
        url: str,
        *,
        secret: str | bytes | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(url, str):
            raise ConfigurationError("Webhook.url", f"must be a str, not {type(url).__name__}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # only the scheme is shown: the rest of the URL may hold a robot's key
            raise ConfigurationError(
                "Webhook.url", f"must be http:// or https:// with a host, not {parts.scheme!r}"
            )
        self.url = url
        self._secret = None if secret is None else _secret(secret, "Webhook.secret")
        self.timeout = _timeout(timeout)
        self._clock: Clock = clock if clock is not None else SystemClock()

    @property
    def signed(self) -> bool:
        """Whether requests carry a signature (a secret was given)."""
        return self._secret is not None

    def __call__(self, event: Event) -> None:
        body = json.dumps(event.to_json(), ensure_ascii=False, allow_nan=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Techsvc-Event": event.type,
            "Idempotency-Key": event.id,
        }
        if self._secret is not None:
            stamp = int(self._clock.now().timestamp())
            headers[TIMESTAMP_HEADER] = str(stamp)
            headers[SIGNATURE_HEADER] = signature(body, self._secret, stamp)
        post(self.url, body, headers, timeout=self.timeout)

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
