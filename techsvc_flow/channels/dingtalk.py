"""DingTalk (钉钉) custom robot.

Format, as documented by DingTalk ("自定义机器人发送群消息" / custom robot access,
https://open.dingtalk.com/document/robots/custom-robot-access and its signing section):
POST JSON to ``https://oapi.dingtalk.com/robot/send?access_token=<token>``. With the
"加签" (signing) security setting, the URL also carries ``timestamp`` (the send time in
milliseconds) and ``sign``: the HMAC-SHA256, keyed with the secret, of
``timestamp + "\\n" + secret``, Base64-encoded, then URL-encoded; the timestamp must be
within an hour of DingTalk's clock. ``msgtype`` is ``text`` (``text.content``) or
``markdown`` (``markdown.title``, ``markdown.text``); ``at.atMobiles``, ``at.atUserIds``
and ``at.isAtAll`` say whom to @mention (the markdown text must also contain
``@<mobile>``). The answer is HTTP 200 with ``errcode`` (0: sent) and ``errmsg``. A robot
takes 20 messages a minute; beyond that ``errcode`` 130101 ("send too fast") and the robot
is held back for 10 minutes, so the retry waits that long. 310000 is a failed security
check (sign not match, invalid timestamp, keyword or IP not allowed) and 300001 / 300005
a bad access token: configuration errors.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import urllib.parse
from typing import Any, ClassVar

from ._robot import Robot
from .messages import Message

__all__ = ["DingTalk", "dingtalk_sign"]


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """The ``sign`` query value (already URL-encoded) for ``timestamp_ms``.

    >>> dingtalk_sign(1759222800000, "SECabc")
    'xk%2B%2FTcHeqk48Ug%2BXWEDbjC3Uswef1Efho5r2xITHogk%3D'
    """
    signed = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


class DingTalk(Robot):
    """A DingTalk custom robot: ``DingTalk(url, secret=..., fmt="markdown" | "text")``.

    >>> DingTalk("https://oapi.dingtalk.com/robot/send?access_token=t0k", secret="SECx")
    DingTalk('https://oapi.dingtalk.com/…', fmt='markdown', signed)
    """

    FORMATS: ClassVar[tuple[str, ...]] = ("markdown", "text")
    RATE_LIMITED: ClassVar[frozenset[int]] = frozenset({130101})
    WINDOW: ClassVar[dt.timedelta] = dt.timedelta(minutes=10)
    BAD_CONFIG: ClassVar[frozenset[int]] = frozenset({310000, 300001, 300005})

    def request(self, message: Message, url: str, secret: str | None) -> tuple[str, dict[str, Any]]:
        if secret is not None:
            stamp = int(self._clock.now().timestamp() * 1000)
            sep = "&" if urllib.parse.urlsplit(url).query else "?"
            url = f"{url}{sep}timestamp={stamp}&sign={dingtalk_sign(stamp, secret)}"
        mobiles = [p.mobile for p in message.people if p.mobile]
        ids = [p.dingtalk for p in message.people if p.dingtalk and not p.mobile]
        at = {"atMobiles": mobiles, "atUserIds": ids, "isAtAll": False}
        if self.fmt == "markdown":
            text = message.markdown() + "".join(f"\n@{m}" for m in mobiles)
            body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}}
        else:
            body = {"msgtype": "text", "text": {"content": message.text()}}
        return url, {**body, "at": at}
