"""Confidentiality levels (密级) and clearance-filtered reads (知悉范围).

《科技创新企业服务规范》4.4.1 b) asks for a confidentiality system with its scope, its
classification levels and who may see what (保密范围、密级划分、接触权限); 4.1.5 for
keeping the client's technical and business secrets. The standard names no levels: the
four below are ours, after common Chinese enterprise practice.

=================  ========  ==============================================================
level              label     meant for
=================  ========  ==============================================================
``public``         公开      anything (the default of a field)
``internal``       内部      the organisation's staff
``confidential``   秘密      those who handle the case (``Field(confidential=True)``)
``secret``         机密      a few named people (contract amounts, client's technical secrets)
=================  ========  ==============================================================

A field at ``confidential`` or above never appears in notification payloads or log
lines. A reader with a clearance sees a field whose level is at most the clearance; any
other value is replaced by a marker naming its level (``"[redacted: secret]"``), so the
reader knows something is withheld. The marker replaces the value wherever the field's
name is a key: in the case data, in history payloads, and nested inside other values
(an objection, a change request, an archive record that copies it).

>>> hidden = above({"fee": "secret", "phone": "confidential", "topic": "public"}, "confidential")
>>> hidden
{'fee': 'secret'}
>>> redact({"area": "AI", "fee": 100, "log": [{"fee": 90, "by": "ann"}]}, hidden)
{'area': 'AI', 'fee': '[redacted: secret]', 'log': [{'fee': '[redacted: secret]', 'by': 'ann'}]}
>>> rank("top", "Actor.clearance")
Traceback (most recent call last):
...
techsvc_flow.errors.InvalidValue: Actor.clearance: unknown level 'top';
use one of public, internal, confidential, secret
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InvalidValue

__all__ = [
    "CONFIDENTIAL",
    "LABELS",
    "LEVELS",
    "PUBLIC",
    "above",
    "highest",
    "marker",
    "rank",
    "redact",
]

#: the levels, lowest first
LEVELS = ("public", "internal", "confidential", "secret")
#: the Chinese label of each level
LABELS = {"public": "公开", "internal": "内部", "confidential": "秘密", "secret": "机密"}
#: the lowest level: a field's default, and the clearance of an actor given none
PUBLIC = "public"
#: the level ``Field(confidential=True)`` stands for; from here up a value is kept out of
#: notifications and log lines
CONFIDENTIAL = "confidential"

_RANK = {name: i for i, name in enumerate(LEVELS)}


def rank(level: object, where: str) -> int:
    """The position of ``level`` on the scale (0 for ``public``).

    Raises:
        InvalidValue: ``level`` is not one of :data:`LEVELS`; the message names ``where``.
    """
    found = _RANK.get(level) if isinstance(level, str) else None
    if found is None:
        raise InvalidValue(where, f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    return found


def highest(levels: Iterable[str]) -> str:
    """The highest of ``levels`` (``public`` when there are none)."""
    return max(levels, key=_RANK.__getitem__, default=PUBLIC)


def above(levels: Mapping[str, str], clearance: str) -> dict[str, str]:
    """The fields (name → level) of ``levels`` classified above ``clearance``."""
    limit = _RANK[clearance]
    return {name: level for name, level in levels.items() if _RANK[level] > limit}


def marker(level: str) -> str:
    """What stands for a value withheld at ``level``."""
    return f"[redacted: {level}]"


def redact(value: Any, hidden: Mapping[str, str]) -> Any:
    """A copy of ``value`` in which every mapping key named in ``hidden`` (name → level)
    has its value replaced by the level's :func:`marker`, at any depth (mappings, lists
    and tuples are walked; lists and tuples come back as lists). Nothing is dropped; the
    argument is not changed."""
    if not hidden:
        return value
    if isinstance(value, Mapping):
        return {
            k: marker(hidden[k]) if isinstance(k, str) and k in hidden else redact(v, hidden)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, hidden) for v in value]
    return value
