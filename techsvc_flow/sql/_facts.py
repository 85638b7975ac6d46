"""The facts query: each case's :class:`~techsvc_flow.facts.CaseFacts`, computed in the
database (private to :mod:`techsvc_flow.sql`).

One statement selects the cases of a process (or given ids), filtered by period, in id
order, each with the first entry into each state it has been in, grouped in SQL over
the history's ``entered`` index: ``json_group_array`` on SQLite, ``DISTINCT ON`` and
``json_agg`` on PostgreSQL. See docs/performance.md, "Quality reports".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..facts import CaseFacts
from ._rows import _FACT_COLUMNS, _aware, _entered, _facts_from
from .tables import SqlTables


def _facts_query(
    tables: SqlTables,
    dialect: str,
    process: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    ids: Sequence[str] | None = None,
) -> sa.Select[Any]:
    """The selected cases in id order: ``_FACT_COLUMNS``, then a JSON array of
    ``[state, seq, at, at_offset]``, the first entry into each state of the case,
    then the case's ``seq``."""
    c, h = tables.cases, tables.history

    def chosen(cases: sa.FromClause) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if process is not None:
            where.append(cases.c.process == process)
        if until is not None:
            where.append(cases.c.created_at < _aware(until, "until"))
        if since is not None:
            where.append(cases.c.updated_at >= _aware(since, "since"))
        if ids is not None:
            where.append(cases.c.id.in_(ids))
        return where

    columns = [c.c[name] for name in _FACT_COLUMNS]
    # the kinds as literals, as in the entered index's predicate: a planner cannot
    # match a partial index to bound parameters
    kinds: list[sa.ColumnElement[Any]] = [
        sa.literal_column(f"'{kind}'") for kind in ("start", "fire")
    ]
    entering = (h.c.kind.in_(kinds), h.c.dest.is_not(None))
    if dialect == "sqlite":
        # the stored text is UTC: give it its offset
        local = sa.type_coerce(h.c.at, sa.Text).concat(sa.literal_column("'+00:00'"))
        # per case, the entries grouped by state (min(seq): the other columns come from
        # the row holding the minimum), read in the order of the entered index
        first = (
            sa.select(h.c.dest, sa.func.min(h.c.seq).label("seq"), local.label("at"), h.c.at_offset)
            .where(h.c.case_id == c.c.id, *entering)
            .group_by(h.c.dest)
            .correlate(c)
            .subquery("f")
        )
        entered = sa.select(
            sa.func.json_group_array(
                sa.func.json_array(first.c.dest, first.c.seq, first.c.at, first.c.at_offset)
            )
        ).scalar_subquery()
        return sa.select(*columns, entered, c.c.seq).where(*chosen(c)).order_by(c.c.id)
    # PostgreSQL: the first entries of the chosen cases (DISTINCT ON over the entered
    # index), then one array per case, merged with the cases by id
    c2 = c.alias("chosen")
    first = _distinct_on(
        sa.select(h.c.case_id, h.c.dest, h.c.seq, h.c.at, h.c.at_offset)
        .select_from(c2.join(h, h.c.case_id == c2.c.id))
        .where(*entering, *chosen(c2))
        .order_by(h.c.case_id, h.c.dest, h.c.seq),
        h.c.case_id,
        h.c.dest,
    ).subquery("f")
    array = sa.func.json_build_array(first.c.dest, first.c.seq, first.c.at, first.c.at_offset)
    per_case = (
        sa.select(first.c.case_id, sa.func.json_agg(array).label("entered"))
        .group_by(first.c.case_id)
        .subquery("e")
    )
    return (
        sa.select(*columns, sa.cast(per_case.c.entered, sa.Text), c.c.seq)
        .select_from(c.outerjoin(per_case, per_case.c.case_id == c.c.id))
        .where(*chosen(c))
        .order_by(c.c.id)
    )


def _facts_rows(
    conn: Connection, tables: SqlTables, query: sa.Select[Any], *, batch: int | None
) -> Iterator[tuple[CaseFacts, int]]:
    """Each case's facts and its ``seq`` (the version of its history they are of), from
    ``query`` (made by :func:`_facts_query`) run on ``conn``: streamed ``batch`` rows at
    a time (a server-side cursor on PostgreSQL), or all fetched at once (``None``)."""
    h = tables.history
    body = sa.select(h.c.body).where(h.c.case_id == sa.bindparam("b_id"))
    body = body.where(h.c.seq == sa.bindparam("b_seq"))

    def read(case_id: str, seq: int) -> str:
        text: str = conn.execute(body, {"b_id": case_id, "b_seq": seq}).scalar_one()
        return text

    options = {"stream_results": True, "yield_per": batch} if batch is not None else {}
    for row in conn.execute(query, execution_options=options):
        yield _facts_from(row, _entered(row[5], row[0], read)), row[6]


def _distinct_on(query: sa.Select[Any], *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """``query`` with PostgreSQL's ``DISTINCT ON (columns)``."""
    try:
        from sqlalchemy.dialects.postgresql import distinct_on
    except ImportError:  # SQLAlchemy 2.0
        return query.distinct(*columns)
    return query.ext(distinct_on(*columns))
