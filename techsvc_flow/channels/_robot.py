"""What the three group robots share: render, build the vendor's request, POST it under
one total deadline, and read the vendor's code from the HTTP 200 answer.

A robot reports failure as a code inside a 200 body, so the body decides: code 0 is
delivered; a rate-limit code raises :class:`DeliveryFailed` with ``retry_after`` (the
outbox waits out the window without counting the attempt); a bad key or signature code
raises it ``permanent`` (dead at once); any other code, a non-2xx status or a network
error is an ordinary retryable failure. No secret (the key or token in the URL, the
signing secret) is ever put in an error or a repr.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import urllib.error
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from .._http import post
from ..clock import Clock, SystemClock
from ..errors import ConfigurationError
from ..notifications import DeliveryFailed, Event
from .messages import Message, Messages, Person

__all__ = ["People", "Robot", "people_of"]

#: whom a receiver's messages are for: a fixed list, or a lookup by event
People = Sequence[Person] | Callable[[Event], Sequence[Person]]


def people_of(people: People, event: Event) -> Sequence[Person]:
    """The people ``people`` names for ``event``."""
    return people(event) if callable(people) else people


class Robot:
    """A group robot reached by a webhook URL (subclasses give the vendor's format).

    Args:
        url: the webhook URL exactly as the robot's settings show it (it holds the
            robot's key or token: keep it secret).
        secret: the signing secret, where the vendor signs (``None``: unsigned).
        messages: how events are rendered (default: Chinese, no link).
        people: whom to @mention, a list or a lookup by event.
        fmt: the message type, one of the subclass's :attr:`FORMATS`.
        timeout: the total deadline of one attempt, in seconds.
        clock: the signing time (default: the system clock).

    Raises:
        ConfigurationError: a URL that is not http(s), an unknown ``fmt``, an empty
            secret, a timeout that is not a finite number above zero.
    """

    #: delivered only by ``Workflow.dispatch()``
    remote = True
    #: the message types this robot sends; the first is the default
    FORMATS: ClassVar[tuple[str, ...]] = ("text",)
    #: the answer's field holding the result code, and the one holding its text
    CODE: ClassVar[str] = "errcode"
    TEXT: ClassVar[str] = "errmsg"
    #: codes meaning "too many messages": retried after :attr:`WINDOW`, not counted
    RATE_LIMITED: ClassVar[frozenset[int]] = frozenset()
    WINDOW: ClassVar[dt.timedelta] = dt.timedelta(minutes=1)
    #: codes meaning the key, token or signature is wrong: dead at once
    BAD_CONFIG: ClassVar[frozenset[int]] = frozenset()

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        messages: Messages | None = None,
        people: People = (),
        fmt: str | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        name = type(self).__name__
        if not isinstance(url, str):
            raise ConfigurationError(f"{name}.url", f"must be a str, not {type(url).__name__}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"{name}.url", f"must be http:// or https:// with a host, not {parts.scheme!r}"
            )
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ConfigurationError(f"{name}.secret", "must be a non-empty str (None: unsigned)")
        fmt = self.FORMATS[0] if fmt is None else fmt
        if fmt not in self.FORMATS:
            raise ConfigurationError(f"{name}.fmt", f"must be one of {self.FORMATS}, not {fmt!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ConfigurationError(f"{name}.timeout", "must be a number of seconds")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConfigurationError(f"{name}.timeout", f"must be finite and > 0, not {timeout}")
        self._url = url
        self._shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"
        self._secret = secret
        self.messages = messages if messages is not None else Messages()
        self.people = people
        self.fmt = fmt
        self.timeout = float(timeout)
        self._clock: Clock = clock if clock is not None else SystemClock()

    @property
    def signed(self) -> bool:
        """Whether requests are signed (a secret was given)."""
        return self._secret is not None

    def __repr__(self) -> str:
        signed = ", signed" if self.signed else ""
        return f"{type(self).__name__}({self._shown!r}, fmt={self.fmt!r}{signed})"

    def __call__(self, event: Event) -> None:
        self.send(event, people_of(self.people, event))

    def send(self, event: Event, people: Sequence[Person] = ()) -> None:
        """Render ``event`` for ``people`` and post it.

        Raises:
            DeliveryFailed: the robot refused it or could not be reached.
        """
        message = self.messages.render(event, people)
        url, body = self.request(message, self._url, self._secret)
        data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            answer = post(url, data, headers, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                raise DeliveryFailed(429, "too many requests", retry_after=self.WINDOW) from None
            raise DeliveryFailed(exc.code, f"HTTP status {exc.code}") from None
        except urllib.error.URLError as exc:  # its text is the reason, never the URL
            raise DeliveryFailed(None, f"network error: {exc.reason}") from None
        except OSError as exc:
            raise DeliveryFailed(None, f"{type(exc).__name__}: {exc}") from None
        self.check(answer)

    def check(self, answer: bytes) -> None:
        """Raise :class:`DeliveryFailed` unless the answer's code is 0."""
        try:
            found = json.loads(answer)
        except ValueError:
            raise DeliveryFailed(None, "the answer is not JSON") from None
        if not isinstance(found, dict) or not isinstance(found.get(self.CODE), int):
            raise DeliveryFailed(None, f"the answer has no {self.CODE!r}")
        code: int = found[self.CODE]
        if code == 0:
            return
        text = str(found.get(self.TEXT, ""))[:300]
        if code in self.RATE_LIMITED:
            raise DeliveryFailed(code, text, retry_after=self.WINDOW)
        raise DeliveryFailed(code, text, permanent=code in self.BAD_CONFIG)

    def request(self, message: Message, url: str, secret: str | None) -> tuple[str, dict[str, Any]]:
        """The URL to post to and the JSON body for ``message`` (the vendor's format)."""
        raise NotImplementedError
