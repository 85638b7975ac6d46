"""A loopback SMTP server for tests and docs (needs ``aiosmtpd``, in the ``dev`` extra).

::

    with FakeSmtp(username="flow", password="pw") as smtp:
        receiver = Email(smtp.host, smtp.port, security="none", username="flow", ...)
        ...
        smtp.messages  # the accepted messages (email.message.EmailMessage)
"""

from __future__ import annotations

import email
import email.message
import email.policy
import warnings
from types import TracebackType
from typing import Any

__all__ = ["FakeSmtp"]


class FakeSmtp:
    """An SMTP server on ``127.0.0.1`` that keeps what it accepts.

    Args:
        username, password: the only login it accepts (``None``: no login needed).

    Attributes:
        messages: the accepted messages, parsed.
        envelopes: ``(sender, recipients)`` of each.
    """

    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.username = username
        self.password = password
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._controller: Any = None
        self.host = "127.0.0.1"
        self.port = 0

    def start(self) -> FakeSmtp:
        """Serve on a free loopback port."""
        import socket

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        fake = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                assert isinstance(parsed, email.message.EmailMessage)
                fake.messages.append(parsed)
                fake.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                return "250 OK"

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> Any:
            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == fake.username
                and data.password.decode() == fake.password
            )
            return AuthResult(success=ok, handled=False)

        # a loopback fake: a login without TLS is what it is for
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(
            Handler(),
            hostname=self.host,
            port=self.port,
            authenticator=authenticate if self.username else None,
            auth_required=self.username is not None,
            auth_require_tls=False,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> FakeSmtp:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
