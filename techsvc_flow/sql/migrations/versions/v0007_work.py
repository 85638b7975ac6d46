"""Who acts next: each case's assignee, earliest due instant and paused flag as
columns, the ``work`` table (who may act on which case) and the indexes worklists and
cross-case queries read; existing cases are backfilled from their bodies (the due
instants counted with the official China calendar, provisional past its horizon).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from typing import Any

import attrs
import sqlalchemy as sa
from alembic import op

from techsvc_flow.calendar import WorkCalendar
from techsvc_flow.query import NEVER, is_paused
from techsvc_flow.sql._rows import _CASE_COLUMNS, _case_from, _work_rows
from techsvc_flow.sql.tables import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEY = 255
PAGE = 2000


def _backfill(cases: sa.TableClause, work: sa.TableClause) -> None:
    """Set the new columns and ``work`` rows of every existing case from its body."""
    conn = op.get_bind()
    calendar = WorkCalendar.china(coverage="provisional")
    c = cases.c
    read = sa.select(*(c[n] for n in (*_CASE_COLUMNS, "body"))).order_by(c.id).limit(PAGE)
    write = (
        sa.update(cases)
        .where(c.id == sa.bindparam("b_id"))
        .values(
            assignee=sa.bindparam("b_assignee"),
            due_at=sa.bindparam("b_due", type_=UtcDateTime),
            paused=sa.bindparam("b_paused"),
        )
    )
    after: str | None = None
    while True:
        rows = conn.execute(read if after is None else read.where(c.id > after)).all()
        if not rows:
            return
        updates, members = [], []
        for row in rows:
            case = _case_from(row)
            dues = [k.due(calendar) for k in case.clocks.values() if k.status == "running"]
            due = min((d for d in dues if d is not None), default=None)
            case = attrs.evolve(case, due_at=due)
            a = case.assignment
            updates.append({
                "b_id": case.id,
                "b_assignee": None if a is None else a.assignee,
                "b_due": NEVER if due is None else due,
                "b_paused": int(is_paused(case)),
            })  # fmt: skip
            members += _work_rows(case, f"case {case.id!r}")
        conn.execute(write, updates)
        if members:
            conn.execute(sa.insert(work), members)
        after = rows[-1][0]


def upgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    p = prefix
    table = f"{p}cases"
    op.add_column(table, sa.Column("assignee", sa.String(KEY), nullable=True), schema=schema)
    op.add_column(table, sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
                  schema=schema)  # fmt: skip
    op.add_column(table, sa.Column("paused", sa.SmallInteger(), nullable=True), schema=schema)
    cases_id = f"{schema}.{p}cases.id" if schema else f"{p}cases.id"
    op.create_table(
        f"{p}work",
        sa.Column("case_id", sa.String(KEY), nullable=False),
        sa.Column("who", sa.String(KEY + 2), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "who", name=f"pk_{p}work"),
        sa.ForeignKeyConstraint(
            ["case_id"], [cases_id], name=f"fk_{p}work_case_id", ondelete="CASCADE"
        ),
        schema=schema,
    )
    columns: list[sa.ColumnClause[Any]] = [sa.column(n) for n in (*_CASE_COLUMNS, "body")]
    cases = sa.table(table, *columns, sa.column("assignee"), sa.column("due_at", UtcDateTime),
                     sa.column("paused"), schema=schema)  # fmt: skip
    work = sa.table(f"{p}work", sa.column("case_id"), sa.column("who"),
                    sa.column("due_at", UtcDateTime), schema=schema)  # fmt: skip
    _backfill(cases, work)
    op.create_index(f"ix_{p}cases_due_at", table, ["due_at", "id"], schema=schema)
    op.create_index(f"ix_{p}cases_updated_at", table, ["updated_at", "id"], schema=schema)
    op.create_index(f"ix_{p}work_who_due", f"{p}work", ["who", "due_at", "case_id"],
                    schema=schema)  # fmt: skip


def downgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    p = prefix
    op.drop_index(f"ix_{p}work_who_due", table_name=f"{p}work", schema=schema)
    op.drop_table(f"{p}work", schema=schema)
    op.drop_index(f"ix_{p}cases_updated_at", table_name=f"{p}cases", schema=schema)
    op.drop_index(f"ix_{p}cases_due_at", table_name=f"{p}cases", schema=schema)
    for column in ("paused", "due_at", "assignee"):
        op.drop_column(f"{p}cases", column, schema=schema)
