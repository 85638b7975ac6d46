"""Worklists and cross-case queries, answered by the store (see :mod:`techsvc_flow.query`).

:func:`worklist` is what a person's desk shows: the cases assigned (or delegated) to
them, then the unclaimed ones their roles may claim, each section earliest due first,
with where each running SLA clock stands (:class:`WorkItem`). :func:`query` pages any
:class:`~techsvc_flow.query.CaseQuery`; :func:`counts` groups the matches for a
dashboard. "Due within N working hours" is turned into an instant with the workflow's
calendar first, so that the store answers it from its index. A filter on case data
``fields`` is checked first (:func:`check_fields`): each must be declared ``indexed``
by the process asked for (or, without one, by every process declaring it), and given
values of its type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ..case import Case
from ..durations import Duration
from ..errors import DurationError, InvalidValue
from ..query import CaseQuery, Page, check_group, decode_cursor, encode_cursor, sort_key

if TYPE_CHECKING:
    from .workflow import Workflow

__all__ = ["MAX_PAGE", "WorkItem", "check_fields", "counts", "due_by", "query", "worklist"]

#: the Python types an indexed field's query value may have, by field type
_VALUE_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float, Decimal),
    "decimal": (int, float, Decimal),
    "bool": (bool,),
    "date": (dt.date,),
    "datetime": (dt.datetime,),
}


def _fits(value: object, kind: str) -> bool:
    if isinstance(value, bool) and kind != "bool":
        return False
    if isinstance(value, dt.datetime) and kind == "date":
        return False
    return isinstance(value, _VALUE_TYPES[kind])


def check_fields(wf: Workflow, q: CaseQuery) -> None:
    """Check ``q``'s case data field filters against the registered definitions.

    Raises:
        InvalidValue: a field the process asked for (or, without one, a process
            declaring the field) does not declare ``indexed``, or a value not of the
            field's type.
    """
    for name, values in q.fields:
        declared: dict[str, set[str]] = {}  # process -> the field's types, where indexed
        plain: set[str] = set()  # processes declaring the field without an index
        indexed: set[str] = set()
        for (process, _), machine in wf._machines.items():
            if q.process is not None and process != q.process:
                continue
            d = machine.definition
            indexed.update(f"{process}.{n}" for n in d.indexed)
            field = d.fields.get(name)
            if field is None:
                continue
            if field.indexed:
                declared.setdefault(process, set()).add(field.type)
            else:
                plain.add(process)
        plain -= set(declared)  # indexed in another version of the process
        if not declared or plain:
            where = f"process {q.process!r}" if q.process is not None else "every process"
            missing = f" ({', '.join(sorted(plain))} do not)" if plain and declared else ""
            raise InvalidValue(
                f"fields.{name}",
                f"is not an indexed field of {where}{missing}; indexed: "
                f"{', '.join(sorted(indexed)) or '(none)'}",
            )
        kinds = set().union(*declared.values())
        for value in values:
            if not any(_fits(value, kind) for kind in kinds):
                raise InvalidValue(
                    f"fields.{name}",
                    f"{value!r} is not a value of the field's type ({', '.join(sorted(kinds))})",
                )


#: the largest page a query returns
MAX_PAGE = 1000


@attrs.frozen
class WorkItem:
    """One line of a worklist.

    Attributes:
        case: the case.
        mine: True: assigned or delegated to the person; False: theirs to claim.
        due_at: the earliest due instant of the running clocks (``None``: none runs).
        remaining: the working time left to ``due_at`` (negative once late).
        breached: a running clock is late (see :meth:`Workflow.deadlines` for each).
    """

    case: Case
    mine: bool
    due_at: dt.datetime | None
    remaining: dt.timedelta | None
    breached: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (instants as ISO text, the remaining time in seconds)."""
        a = self.case.assignment
        return {
            "case": self.case.id,
            "process": self.case.process,
            "state": self.case.state,
            "mine": self.mine,
            "assignee": None if a is None else a.assignee,
            "delegate": None if a is None else a.delegate,
            "roles": [] if a is None else list(a.roles),
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
            "remaining_s": None if self.remaining is None else self.remaining.total_seconds(),
            "breached": self.breached,
        }


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("limit", f"must be an int from 1 to {MAX_PAGE}, not {limit!r}")
    return limit


def due_by(wf: Workflow, within: Duration | str, at: dt.datetime) -> dt.datetime:
    """The instant ``within`` (e.g. ``"4wh"``) after ``at``, in the workflow's calendar."""
    try:
        return wf.calendar.deadline(at, within).due
    except (DurationError, TypeError) as exc:
        raise InvalidValue("due_within", str(exc)) from exc


def query(wf: Workflow, q: CaseQuery, limit: int, after: str | None) -> Page[Case]:
    """See :meth:`Workflow.query`."""
    limit = _limit(limit)
    check_fields(wf, q)
    position = None
    if after is not None:
        section, instant, case_id = decode_cursor(after)
        if section != 0:
            raise InvalidValue("after", "is a worklist's cursor, not a query's")
        position = (instant, case_id)
    found = wf.store.query(q, limit + 1, position)
    more = len(found) > limit
    found = found[:limit]
    cursor = encode_cursor(0, *sort_key(found[-1], q.order)) if more else None
    return Page(found, cursor)


def _item(wf: Workflow, case: Case, mine: bool, at: dt.datetime) -> WorkItem:
    due = case.due_at
    remaining = None
    if due is not None:  # the clock that is due first
        first = min(
            (c for c in case.clocks.values() if c.status == "running"),
            key=lambda c: c.due(wf.calendar) or due,
        )
        remaining = first.remaining(wf.calendar, at)
    return WorkItem(case, mine, due, remaining, due is not None and due < at)


def worklist(
    wf: Workflow,
    actor_id: str,
    roles: Iterable[str],
    at: dt.datetime,
    q: CaseQuery,
    limit: int,
    after: str | None,
) -> Page[WorkItem]:
    """See :meth:`Workflow.worklist`."""
    limit = _limit(limit)
    check_fields(wf, q)
    section, position = 1, None
    if after is not None:
        section, instant, case_id = decode_cursor(after)
        if section not in (1, 2):
            raise InvalidValue("after", "is a query's cursor, not a worklist's")
        position = (instant, case_id)
    sections = [(1, attrs.evolve(q, assignee=actor_id, order="due"))]
    held = tuple(sorted(set(roles)))
    if held:
        sections.append((2, attrs.evolve(q, roles=held, unclaimed=True, order="due")))
    items: list[WorkItem] = []
    cursor = None
    for number, sq in sections:
        if number < section:
            continue
        want = limit - len(items)
        found = wf.store.query(sq, want + 1, position if number == section else None)
        items += [_item(wf, c, number == 1, at) for c in found[:want]]
        if len(found) > want:
            cursor = encode_cursor(number, *sort_key(found[want - 1], "due"))
            break
        if len(items) == limit and number < sections[-1][0]:
            cursor = encode_cursor(number, *sort_key(items[-1].case, "due"))
            break
    return Page(items, cursor)


def counts(wf: Workflow, q: CaseQuery, by: str) -> dict[str | None, int]:
    """See :meth:`Workflow.counts`."""
    check_group(by)
    check_fields(wf, q)
    return wf.store.count(q, by)
