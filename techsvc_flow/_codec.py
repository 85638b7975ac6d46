"""JSON with exact round trips for the values cases hold (private).

Aware datetimes (kept with their UTC offset), dates and Decimals are tagged, so that
``loads(dumps(x)) == x``. :func:`canonical` writes instants in UTC, so that equal
instants hash alike whatever offset a store hands them back with. :func:`check` says
whether a value is one of these, before anything is written; :func:`check_key` does the
same for ids (a case id is a key column of the SQL store).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .errors import InvalidValue

__all__ = ["MAX_DEPTH", "MAX_KEY", "canonical", "check", "check_key", "dumps", "jsonable", "loads"]

#: the longest id (case id, process, state, SLA name) a store keeps: the SQL key columns
MAX_KEY = 255

#: how many levels of lists and mappings a field's value may nest
MAX_DEPTH = 64

#: the largest integer written as JSON (Python's limit on int-to-text conversion)
_MAX_INT_BITS = 14_000

_CONTROL = frozenset({"Cc", "Zl", "Zp"})

_SCALARS = (str, int, float, Decimal, dt.date, type(None))


def check(value: Any, path: str) -> None:
    """Refuse what :func:`dumps` cannot round-trip, naming where it is.

    Allowed: ``str`` (encodable as UTF-8), ``bool``, ``int``, finite ``float`` and
    ``Decimal``, ``date``, ``datetime``, ``None``, and lists, tuples, sets and dicts
    with ``str`` keys of these, nested at most :data:`MAX_DEPTH` deep (``value`` itself
    may be any mapping). The message names the key path (``payload.items[3].price``) and
    the type, never the value (it may be confidential).

    Raises:
        InvalidValue: at the first value that cannot be stored.
    """
    _check(value, path, 0)


def _check(value: Any, path: str, depth: int) -> None:
    if isinstance(value, _SCALARS):
        if isinstance(value, str):
            if not value.isascii():
                _utf8(value, path)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidValue(path, "a float must be finite (NaN and ±inf are not JSON)")
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise InvalidValue(path, "a Decimal must be finite (NaN and ±inf are refused)")
        elif isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            raise InvalidValue(path, f"an integer of more than {_MAX_INT_BITS} bits is refused")
        return
    if depth > MAX_DEPTH:
        raise InvalidValue(path, f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict) or (depth == 0 and isinstance(value, Mapping)):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidValue(path, f"keys must be str, not {type(key).__name__}")
            if not key.isascii():
                _utf8(key, path)
            _check(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]", depth + 1)
    else:
        raise InvalidValue(
            path,
            f"a {type(value).__name__} cannot be stored (allowed: str, int, float, Decimal, "
            "bool, None, date, datetime, and lists and dicts of these)",
        )


def _utf8(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(path, "the text is not valid Unicode (a lone surrogate)") from None


def check_key(value: object, path: str) -> str:
    """``value`` if it can serve as an id: a non-empty ``str`` of at most :data:`MAX_KEY`
    characters, valid Unicode, without control characters.

    Raises:
        InvalidValue: naming ``path`` and what is wrong.
    """
    if not isinstance(value, str):
        raise InvalidValue(path, f"must be a str, not {type(value).__name__}")
    if not value:
        raise InvalidValue(path, "must not be empty")
    if len(value) > MAX_KEY:
        raise InvalidValue(path, f"is {len(value)} characters long; at most {MAX_KEY} fit")
    _utf8(value, path)
    if not value.isprintable() and any(unicodedata.category(c) in _CONTROL for c in value):
        raise InvalidValue(path, "must not contain control characters or line breaks")
    return value


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
