"""The statements behind :meth:`SqlStore.query` and :meth:`SqlStore.count`
(private to :mod:`techsvc_flow.sql`).

A query is asked of the indexes: ``due_at`` or ``updated_at`` with the id for the order
and the keyset, the ``work`` table for an assignee or a candidate role, the
``case_fields`` rows for the indexed data fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ..query import NEVER, CaseQuery, check_group, index_value
from .tables import SqlTables, UtcDateTime

__all__ = ["count_statement", "query_statement"]


def query_statement(
    t: SqlTables,
    columns: Sequence[sa.Column[Any]],
    query: CaseQuery,
    limit: int,
    after: tuple[dt.datetime, str] | None,
) -> sa.Select[Any]:
    """The page of ``columns`` of the cases matching ``query`` (one role at most) after
    the keyset position ``after``."""
    c, w = t.cases, t.work
    select = sa.select(*columns)
    key = c.c.due_at if query.order == "due" else c.c.updated_at
    who = None
    if query.assignee is not None:
        who = f"u:{query.assignee}"
    elif query.roles:
        who = f"r:{query.roles[0]}"
    if who is not None:
        select = select.select_from(w.join(c, c.c.id == w.c.case_id)).where(w.c.who == who)
        if query.order == "due":
            key = w.c.due_at
    case_id = c.c.id if who is None else w.c.case_id
    select = select.where(*_filters(c, query, t.case_fields))
    if after is not None:
        position = NEVER if after[0] > NEVER else after[0]
        select = select.where(sa.tuple_(key, case_id) > sa.tuple_(
            sa.literal(position, UtcDateTime), sa.literal(after[1])))  # fmt: skip
    return select.order_by(key, case_id).limit(limit)


def count_statement(
    t: SqlTables, query: CaseQuery, by: str, ids: Sequence[str] | None
) -> sa.Select[Any]:
    """How many cases match ``query``, grouped ``by`` (one of
    :data:`~techsvc_flow.query.GROUPS`); ``ids``: only these cases (those an assignee or
    role filter found), ``None``: no such filter."""
    check_group(by)
    c, w = t.cases, t.work
    columns = {"state": c.c.state, "process": c.c.process, "assignee": c.c.assignee}
    if by == "role":
        group: Any = sa.func.substr(w.c.who, 3)
        select = sa.select(group, sa.func.count()).select_from(
            c.outerjoin(w, sa.and_(w.c.case_id == c.c.id, w.c.who.like("r:%")))
        )
    else:
        group = columns[by]
        select = sa.select(group, sa.func.count()).select_from(c)
    if ids is not None:
        select = select.where(c.c.id.in_(ids))
    return select.where(*_filters(c, query, t.case_fields)).group_by(group)


def _filters(c: sa.Table, q: CaseQuery, f: sa.Table) -> list[sa.ColumnElement[bool]]:
    """The conditions on the case columns that ``q`` asks for (but assignee and roles),
    and on the indexed fields' rows (``f``: one ``IN`` over its index per field)."""
    out: list[sa.ColumnElement[bool]] = []
    for name, values in q.fields:
        held = [index_value(v) for v in values]
        texts = [v[1] for v in held if v is not None and v[0] == "s"]
        numbers = [v[1] for v in held if v is not None and v[0] == "n"]
        wanted = [column.in_(found) for column, found in ((f.c.s, texts), (f.c.n, numbers))
                  if found]  # fmt: skip
        rows = sa.select(f.c.case_id).where(f.c.name == name, sa.or_(*wanted))
        out.append(c.c.id.in_(rows))
    if q.process is not None:
        out.append(c.c.process == q.process)
    if q.states:
        out.append(c.c.state.in_(q.states))
    if q.unclaimed is not None:
        out.append(c.c.assignee.is_(None) if q.unclaimed else c.c.assignee.is_not(None))
    if q.overdue_at is not None:
        out.append(c.c.due_at < min(q.overdue_at, NEVER))
    if q.due_by is not None:
        out.append(c.c.due_at <= q.due_by)
        out.append(c.c.due_at < NEVER)
    if q.running is not None:
        out.append(c.c.due_at < NEVER if q.running else c.c.due_at >= NEVER)
    if q.paused is not None:
        out.append(c.c.paused == int(q.paused))
    for column, start, end in (
        (c.c.created_at, q.created_from, q.created_until),
        (c.c.updated_at, q.updated_from, q.updated_until),
    ):
        if start is not None:
            out.append(column >= start)
        if end is not None:
            out.append(column < end)
    return out
