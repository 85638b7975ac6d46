"""Notifications where Chinese teams read them: WeCom, DingTalk and Feishu group
robots and e-mail, with messages people can act on and routing as data.

Every channel is a remote receiver (``remote = True``): subscribed with ``wf.on(...)``
or through a :class:`Routing` table, it is called only by ``Workflow.dispatch()``,
from the outbox, with the outbox's retries. See ``docs/channels.md``.
"""

from ._robot import Robot
from .dingtalk import DingTalk
from .email import Email
from .feishu import Feishu
from .messages import Message, Messages, Person
from .routing import Route, Routing
from .wecom import WeCom

__all__ = [
    "DingTalk",
    "Email",
    "Feishu",
    "Message",
    "Messages",
    "Person",
    "Robot",
    "Route",
    "Routing",
    "WeCom",
]
