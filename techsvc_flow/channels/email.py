"""E-mail over SMTP with the standard library (``smtplib``, ``email``).

Each event is one message with a plain-text and an HTML part, sent to the e-mail
addresses of the people a lookup gives. ``security`` is ``"starttls"`` (port 587:
upgrade the connection, then log in), ``"ssl"`` (port 465: TLS from the first byte) or
``"none"`` (loopback relays only). A login refused, or a sender or recipient the server
rejects (5xx), is a configuration error: dead at once; any other failure is retried.
``timeout`` bounds the whole attempt (connect, TLS, login, sending), not each read.
"""

from __future__ import annotations

import contextlib
import email.message
import email.utils
import math
import smtplib
import socket
import ssl
import threading
from collections.abc import Sequence

from ..errors import ConfigurationError
from ..notifications import DeliveryFailed, Event
from ._robot import People, people_of
from .messages import Messages, Person

__all__ = ["SECURITY", "Email"]

SECURITY = ("starttls", "ssl", "none")


class Email:
    """A remote receiver that e-mails each event.

    Args:
        host, port: the SMTP server.
        sender: the ``From`` address.
        people: whom to send to (their ``email``), a list or a lookup by event.
        security: ``"starttls"`` (default), ``"ssl"`` or ``"none"``.
        username, password: the login, if the server wants one.
        messages: how events are rendered.
        timeout: seconds the whole attempt may take (a hard total deadline).
        context: the TLS context (default: the system's trusted CAs).

    Its repr shows the server and the login name, never the password:

    >>> Email("smtp.example.com", 587, sender="flow@example.com", username="flow",
    ...       password="hunter2")
    Email('smtp.example.com:587', starttls, user='flow')

    Raises:
        ConfigurationError: an unknown ``security``, a bad port or timeout, a password
            without a username.
    """

    #: delivered only by ``Workflow.dispatch()``
    remote = True

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        people: People = (),
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        messages: Messages | None = None,
        timeout: float = 10.0,
        context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITY:
            raise ConfigurationError("Email.security", f"must be one of {SECURITY}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigurationError("Email.port", f"must be an int in 1..65535, not {port!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ConfigurationError("Email.timeout", "must be a number of seconds")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConfigurationError("Email.timeout", f"must be finite and > 0, not {timeout}")
        if password is not None and not username:
            raise ConfigurationError("Email.password", "is given without a username")
        if not isinstance(sender, str) or "@" not in sender:
            raise ConfigurationError("Email.sender", "must be an e-mail address")
        self.host = host
        self.port = port
        self.sender = sender
        self.people = people
        self.security = security
        self.username = username
        self._password = password
        self.messages = messages if messages is not None else Messages()
        self.timeout = float(timeout)
        self._context = context

    def __repr__(self) -> str:
        user = f", user={self.username!r}" if self.username else ""
        return f"Email('{self.host}:{self.port}', {self.security}{user})"

    def __call__(self, event: Event) -> None:
        self.send(event, people_of(self.people, event))

    def compose(self, event: Event, people: Sequence[Person]) -> email.message.EmailMessage:
        """The message for ``event``: a text and an HTML part, to ``people``."""
        rendered = self.messages.render(event, people)
        mail = email.message.EmailMessage()
        mail["Subject"] = rendered.title
        mail["From"] = self.sender
        mail["To"] = ", ".join(p.email for p in people if p.email)
        mail["Message-ID"] = f"<{event.id}@techsvc-flow>"  # the same on every retry
        mail["Date"] = email.utils.format_datetime(event.at)
        mail.set_content(rendered.text())
        mail.add_alternative(f"<html><body>{rendered.html()}</body></html>", subtype="html")
        return mail

    def send(self, event: Event, people: Sequence[Person] = ()) -> None:
        """E-mail ``event`` to ``people`` who have an address.

        Raises:
            DeliveryFailed: nobody to send to, or the server refused or was unreachable.
        """
        if not any(p.email for p in people):
            raise DeliveryFailed(None, "no recipient has an e-mail address", permanent=True)
        mail = self.compose(event, people)
        context = self._context or ssl.create_default_context()
        expired = threading.Event()
        try:
            smtp: smtplib.SMTP
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(timeout=self.timeout)
            # the whole attempt ends at the deadline: a server that answers a byte at a
            # time is cut off (socket timeouts bound each read only)
            watchdog = threading.Timer(self.timeout, _cut, (smtp, expired))
            watchdog.daemon = True
            watchdog.start()
            try:
                smtp.connect(self.host, self.port)
                with smtp:
                    if self.security == "starttls":
                        smtp.starttls(context=context)
                    if self.username:
                        smtp.login(self.username, self._password or "")
                    smtp.send_message(mail)
            finally:
                watchdog.cancel()
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(exc.smtp_code, "login refused", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            permanent = all(code >= 500 for code in codes)
            raise DeliveryFailed(codes[0], "recipients refused", permanent=permanent) from None
        except smtplib.SMTPResponseException as exc:
            said = exc.smtp_error
            text = (said.decode(errors="replace") if isinstance(said, bytes) else said)[:200]
            raise DeliveryFailed(exc.smtp_code, text, permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryFailed(
                None, f"the server does not support {self.security}", permanent=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            if expired.is_set():
                raise DeliveryFailed(
                    None, f"TimeoutError: no complete answer within {self.timeout:g} s"
                ) from None
            raise DeliveryFailed(None, f"{type(exc).__name__}: {exc}") from None


def _cut(smtp: smtplib.SMTP, expired: threading.Event) -> None:
    """End a connection whose attempt ran out of time (from the watchdog thread)."""
    expired.set()
    sock = getattr(smtp, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
