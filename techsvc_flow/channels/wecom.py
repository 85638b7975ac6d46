"""WeCom (企业微信) group robot.

Format, as documented by WeCom ("群机器人配置说明",
https://developer.work.weixin.qq.com/document/path/91770): POST JSON to the robot's URL
``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>``. ``msgtype`` is ``text``
(``text.content``, with ``text.mentioned_list`` of user ids and
``text.mentioned_mobile_list`` of mobile numbers to @mention) or ``markdown``
(``markdown.content``; a mention is ``<@userid>`` inside the content). The answer is
HTTP 200 with ``errcode`` (0: sent) and ``errmsg``. A robot takes at most 20 messages a
minute: beyond that ``errcode`` 45009 (retried after the minute); 93000 is an invalid
webhook URL (a wrong or removed key: a configuration error).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from ._robot import Robot
from .messages import Message

__all__ = ["WeCom"]


class WeCom(Robot):
    """A WeCom group robot: ``WeCom(url, people=..., fmt="markdown" | "text")``.

    >>> WeCom("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0a1b2c")
    WeCom('https://qyapi.weixin.qq.com/…', fmt='markdown')
    """

    FORMATS: ClassVar[tuple[str, ...]] = ("markdown", "text")
    RATE_LIMITED: ClassVar[frozenset[int]] = frozenset({45009})
    WINDOW: ClassVar[dt.timedelta] = dt.timedelta(minutes=1)
    BAD_CONFIG: ClassVar[frozenset[int]] = frozenset({93000})

    def request(self, message: Message, url: str, secret: str | None) -> tuple[str, dict[str, Any]]:
        if self.fmt == "markdown":
            ids = [p.wecom for p in message.people if p.wecom]
            content = message.markdown() + "".join(f"\n<@{i}>" for i in ids)
            return url, {"msgtype": "markdown", "markdown": {"content": content}}
        text: dict[str, Any] = {"content": message.text()}
        ids = [p.wecom for p in message.people if p.wecom]
        mobiles = [p.mobile for p in message.people if p.mobile and not p.wecom]
        if ids:
            text["mentioned_list"] = ids
        if mobiles:
            text["mentioned_mobile_list"] = mobiles
        return url, {"msgtype": "text", "text": text}
