"""Cross-case queries: what a worklist or a dashboard asks a store (:class:`CaseQuery`).

A query filters the stored cases (process, state, who is to act, SLA status, created
and updated ranges, the values of indexed case data fields) and orders them by due
instant or by last change, a page at a time with an opaque keyset cursor
(:class:`Page`). :func:`matches` and :func:`sort_key` are the meaning every store
answers: the :class:`~techsvc_flow.store.MemoryStore` applies them to every case, the
SQL store asks its indexes the same question.

>>> import datetime as dt
>>> q = CaseQuery(process="complaint", overdue_at=dt.datetime(2025, 10, 9, tzinfo=dt.UTC))
>>> q.order
'due'
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Generic, Literal, TypeVar

import attrs

from ._codec import MAX_KEY
from .case import Case
from .errors import InvalidValue

__all__ = [
    "GROUPS",
    "NEVER",
    "CaseQuery",
    "Page",
    "check_group",
    "decode_cursor",
    "encode_cursor",
    "index_value",
    "is_paused",
    "matches",
    "sort_key",
]

#: the due instant of a case without a running clock, for ordering (after every real one)
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)

Order = Literal["due", "updated"]
T = TypeVar("T")

#: what counts group cases by (``Workflow.counts``, ``Store.count``)
GROUPS = ("state", "process", "assignee", "role")


def check_group(by: str) -> None:
    """Raise :class:`~techsvc_flow.errors.InvalidValue` unless ``by`` is one of
    :data:`GROUPS`."""
    if by not in GROUPS:
        raise InvalidValue("by", f"is {by!r}: use one of {', '.join(GROUPS)}")


def _tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


#: an indexed value as it is compared: text (str, date, datetime in UTC) or a number
IndexValue = tuple[str, str] | tuple[str, float]


def index_value(value: object) -> IndexValue | None:
    """How an indexed field's value is compared (``None``: not a value an index holds).

    Text (up to :data:`~techsvc_flow._codec.MAX_KEY` characters, without NUL) is
    compared as text, a date as its ISO text, an aware datetime as its ISO text
    in UTC (so instants compare as instants), numbers and booleans as doubles.

    >>> index_value("C-7"), index_value(True), index_value(dt.date(2025, 10, 9))
    (('s', 'C-7'), ('n', 1.0), ('s', '2025-10-09'))
    >>> index_value([1, 2]) is None
    True
    """
    if isinstance(value, str):
        ok = len(value) <= MAX_KEY and "\x00" not in value
        return ("s", value) if ok else None
    if isinstance(value, bool | int | Decimal | float):
        try:
            number = float(value)
        except OverflowError:
            return None
        return ("n", number) if math.isfinite(number) else None
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            return None
        return ("s", value.astimezone(dt.UTC).isoformat(timespec="microseconds"))
    if isinstance(value, dt.date):
        return ("s", value.isoformat())
    return None


FieldFilter = tuple[tuple[str, tuple[object, ...]], ...]


def _fields(value: Mapping[str, object] | FieldFilter | None) -> FieldFilter:
    if value is None:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for name, wanted in items:
        many = isinstance(wanted, list | tuple | set | frozenset)
        values = tuple(wanted) if many else (wanted,)  # type: ignore[arg-type]
        out.append((name, values))
    return tuple(sorted(out, key=lambda nv: str(nv[0])))


@attrs.frozen
class CaseQuery:
    """Which cases, in which order. Every filter given must hold (``None``: any).

    Attributes:
        process: of this process.
        states: in one of these states.
        assignee: assigned to this person, or delegated to them.
        roles: unclaimed (no assignee) and claimable by one of these candidate roles.
        unclaimed: True: no assignee; False: an assignee.
        overdue_at: a running clock is late at this instant (due strictly before it).
        due_by: a running clock is due at or before this instant (overdue included).
        paused: True: an SLA clock is paused; False: none is.
        running: True: an SLA clock runs (a due instant); False: none runs.
        created_from, created_until: created in ``[from, until)``.
        updated_from, updated_until: last changed in ``[from, until)``.
        fields: indexed case data field → the value it must have, or a list (or tuple
            or set) of values it must have one of (see :func:`index_value`).
        order: ``"due"`` (earliest due first, cases without one last) or ``"updated"``
            (least recently changed first); ties by case id.
    """

    process: str | None = None
    states: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    assignee: str | None = None
    roles: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    unclaimed: bool | None = None
    overdue_at: dt.datetime | None = None
    due_by: dt.datetime | None = None
    paused: bool | None = None
    running: bool | None = None
    created_from: dt.datetime | None = None
    created_until: dt.datetime | None = None
    updated_from: dt.datetime | None = None
    updated_until: dt.datetime | None = None
    fields: FieldFilter = attrs.field(default=(), converter=_fields)
    order: Order = "due"

    def __attrs_post_init__(self) -> None:
        if self.order not in ("due", "updated"):
            raise InvalidValue("order", f"is {self.order!r}: use 'due' or 'updated'")
        for name in ("overdue_at", "due_by", "created_from", "created_until",
                     "updated_from", "updated_until"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, dt.datetime) or value.utcoffset() is None
            ):
                raise InvalidValue(name, f"must be an aware datetime, not {value!r}")
        for field, values in self.fields:
            if not isinstance(field, str) or not field:
                raise InvalidValue("fields", f"{field!r} is not a field name")
            if not values:
                raise InvalidValue(f"fields.{field}", "gives no value to match")
            for value in values:
                if index_value(value) is None:
                    raise InvalidValue(
                        f"fields.{field}",
                        f"{value!r} is not a value an index holds (text, a number, a "
                        "boolean, a date or an aware datetime)",
                    )


@attrs.frozen
class Page(Generic[T]):
    """One page of a query's results.

    Attributes:
        items: the results, in order.
        next: the cursor of the next page (``None``: this is the last).
    """

    items: list[T]
    next: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def is_paused(case: Case) -> bool:
    """Whether an SLA clock of ``case`` is paused."""
    return any(c.status == "paused" for c in case.clocks.values())


def _between(value: dt.datetime, start: dt.datetime | None, end: dt.datetime | None) -> bool:
    return (start is None or value >= start) and (end is None or value < end)


def matches(case: Case, q: CaseQuery) -> bool:
    """Whether ``case`` is one ``q`` asks for (the meaning every store answers)."""
    if q.process is not None and case.process != q.process:
        return False
    if q.states and case.state not in q.states:
        return False
    a = case.assignment
    assignee = None if a is None else a.assignee
    if q.assignee is not None and (a is None or q.assignee not in (a.assignee, a.delegate)):
        return False
    if q.roles and (a is None or assignee is not None or not set(q.roles) & set(a.roles)):
        return False
    if q.unclaimed is not None and q.unclaimed != (assignee is None):
        return False
    due = case.due_at
    if q.overdue_at is not None and (due is None or not due < q.overdue_at):
        return False
    if q.due_by is not None and (due is None or due > q.due_by):
        return False
    if q.running is not None and q.running != (due is not None):
        return False
    if q.paused is not None and q.paused != is_paused(case):
        return False
    for name, values in q.fields:
        held = index_value(case.data.get(name))
        if held is None or held not in {index_value(v) for v in values}:
            return False
    return _between(case.created_at, q.created_from, q.created_until) and _between(
        case.updated_at, q.updated_from, q.updated_until
    )


def sort_key(case: Case, order: Order) -> tuple[dt.datetime, str]:
    """Where ``case`` stands in a query's order: (due instant or last change, id)."""
    if order == "updated":
        return (case.updated_at, case.id)
    return (case.due_at or NEVER, case.id)


def encode_cursor(section: int, instant: dt.datetime, case_id: str) -> str:
    """An opaque cursor: the position after (``section``, ``instant``, ``case_id``)."""
    plain = [section, instant.astimezone(dt.UTC).isoformat(), case_id]
    text = json.dumps(plain, separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, dt.datetime, str]:
    """Read back :func:`encode_cursor`.

    Raises:
        InvalidValue: not a cursor a page gave.
    """
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        section, instant, case_id = json.loads(text)
        at = dt.datetime.fromisoformat(instant)
        if type(section) is not int or not isinstance(case_id, str) or at.tzinfo is None:
            raise ValueError("malformed")
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidValue("after", f"is not a cursor a page gave ({exc})") from exc
    return section, at, case_id
