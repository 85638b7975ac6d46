"""JSON with exact round trips for the values cases hold (private).

Aware datetimes (kept with their UTC offset), dates and Decimals are tagged, so that
``loads(dumps(x)) == x``. :func:`canonical` writes instants in UTC, so that equal
instants hash alike whatever offset a store hands them back with.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

__all__ = ["canonical", "dumps", "jsonable", "loads"]


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable: {value!r}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((key, value),) = obj.items()
        if key == "$datetime":
            return dt.datetime.fromisoformat(value)
        if key == "$date":
            return dt.date.fromisoformat(value)
        if key == "$decimal":
            return Decimal(value)
    return obj


def dumps(value: Any) -> str:
    """JSON text, Chinese kept as is."""
    return json.dumps(value, default=_encode, ensure_ascii=False, separators=(",", ":"))


def _encode_canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return {"$datetime": value.astimezone(dt.UTC).isoformat()}
    return _encode(value)


def canonical(value: Any) -> str:
    """Canonical JSON text (sorted keys, aware instants in UTC) for hashing."""
    return json.dumps(
        value,
        default=_encode_canonical,
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


def loads(text: str) -> Any:
    """Read :func:`dumps` back."""
    return json.loads(text, object_hook=_decode)


def jsonable(value: Any) -> Any:
    """A plain JSON value: instants and dates as ISO text, Decimals as text."""
    return json.loads(json.dumps(value, default=_plain, ensure_ascii=False))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable: {value!r}")
