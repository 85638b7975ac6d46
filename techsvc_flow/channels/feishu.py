"""Feishu (飞书) custom bot.

Format, as documented by Feishu ("自定义机器人使用指南",
https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot): POST JSON to
``https://open.feishu.cn/open-apis/bot/v2/hook/<token>``. With signature verification
on, the body carries ``timestamp`` (Unix seconds, as a string, within an hour of Feishu's
clock) and ``sign``: ``timestamp + "\\n" + secret`` is the HMAC-SHA256 *key*, over an
empty message, Base64-encoded. ``msg_type`` is ``text`` (``content.text``; a mention is
``<at user_id="open_id"></at>``) or ``interactive`` (a message card in ``card``). The
answer is HTTP 200 with ``code`` (0: sent) and ``msg``. Beyond the bot's rate (100 a
minute, 5 a second) ``code`` is 9499 ("too many request"); 19021 is a signature that does
not match or a stale timestamp, 19001 an invalid hook token: configuration errors.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any, ClassVar

from ._robot import Robot
from .messages import Message

__all__ = ["Feishu", "feishu_sign"]


def feishu_sign(timestamp: int, secret: str) -> str:
    """The body's ``sign`` for ``timestamp`` (Unix seconds).

    >>> feishu_sign(1759222800, "s3cret")
    'M2V9w+Ra8KsWVjEYe3daHiJ+3NHbXUWmpLNGD+cZjvk='
    """
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class Feishu(Robot):
    """A Feishu custom bot: ``Feishu(url, secret=..., fmt="interactive" | "text")``.

    >>> Feishu("https://open.feishu.cn/open-apis/bot/v2/hook/0a1b-2c3d")
    Feishu('https://open.feishu.cn/…', fmt='interactive')
    """

    FORMATS: ClassVar[tuple[str, ...]] = ("interactive", "text")
    CODE: ClassVar[str] = "code"
    TEXT: ClassVar[str] = "msg"
    RATE_LIMITED: ClassVar[frozenset[int]] = frozenset({9499})
    WINDOW: ClassVar[dt.timedelta] = dt.timedelta(minutes=1)
    BAD_CONFIG: ClassVar[frozenset[int]] = frozenset({19021, 19001})

    def request(self, message: Message, url: str, secret: str | None) -> tuple[str, dict[str, Any]]:
        ats = "".join(f'<at user_id="{p.feishu}"></at>' for p in message.people if p.feishu)
        body: dict[str, Any]
        if self.fmt == "text":
            body = {"msg_type": "text", "content": {"text": message.text() + ats}}
        else:
            elements: list[dict[str, Any]] = [
                {"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(message.lines)}}
            ]
            if ats:
                elements.append({"tag": "div", "text": {"tag": "lark_md", "content": ats}})
            if message.link:
                button = {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": message.open_label},
                    "url": message.link,
                    "type": "primary",
                }
                elements.append({"tag": "action", "actions": [button]})
            elements.append(
                {"tag": "note", "elements": [{"tag": "plain_text", "content": message.event_id}]}
            )
            header = {"title": {"tag": "plain_text", "content": message.title}}
            body = {"msg_type": "interactive", "card": {"header": header, "elements": elements}}
        if secret is not None:
            stamp = int(self._clock.now().timestamp())
            body = {"timestamp": str(stamp), "sign": feishu_sign(stamp, secret), **body}
        return url, body
