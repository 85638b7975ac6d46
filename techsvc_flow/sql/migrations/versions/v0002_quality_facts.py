"""Quality reports in the database: history rows keep the state they entered and the
UTC offset of their instant as columns (existing rows are filled in from their JSON
body, a page at a time), a partial index holds each case's entries into states, and an
index lists one process's cases in id order.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KEY = 255
PAGE = 5000


def _offset(body: dict[str, Any]) -> int | None:
    at = body.get("at")
    if not isinstance(at, dict) or not isinstance(at.get("$datetime"), str):
        return None
    offset = dt.datetime.fromisoformat(at["$datetime"]).utcoffset()
    if offset is None or offset.microseconds:
        return None
    return offset.days * 86_400 + offset.seconds


def _backfill(history: sa.TableClause) -> None:
    """Copy ``dest`` and the offset of ``at`` out of the body of every existing row."""
    conn = op.get_bind()
    h = history.c
    read = sa.select(h.case_id, h.seq, h.body).order_by(h.case_id, h.seq).limit(PAGE)
    write = (
        sa.update(history)
        .where(h.case_id == sa.bindparam("b_case_id"), h.seq == sa.bindparam("b_seq"))
        .values(dest=sa.bindparam("b_dest"), at_offset=sa.bindparam("b_offset"))
    )
    after: tuple[str, int] | None = None
    while True:
        page = read
        if after is not None:
            page = read.where(sa.tuple_(h.case_id, h.seq) > sa.tuple_(*after))
        rows = conn.execute(page).all()
        if not rows:
            return
        updates = []
        for case_id, seq, text in rows:
            body = json.loads(text)  # only "dest" and "at" are read: no tags to decode
            dest = body.get("dest")
            updates.append(
                {
                    "b_case_id": case_id,
                    "b_seq": seq,
                    "b_dest": dest if isinstance(dest, str) else None,
                    "b_offset": _offset(body),
                }
            )
        conn.execute(write, updates)
        after = (rows[-1][0], rows[-1][1])


def upgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    p = prefix
    op.add_column(f"{p}history", sa.Column("dest", sa.String(KEY), nullable=True), schema=schema)
    op.add_column(f"{p}history", sa.Column("at_offset", sa.Integer(), nullable=True), schema=schema)
    history = sa.table(
        f"{p}history",
        sa.column("case_id", sa.String(KEY)),
        sa.column("seq", sa.Integer()),
        sa.column("body", sa.Text()),
        sa.column("dest", sa.String(KEY)),
        sa.column("at_offset", sa.Integer()),
        schema=schema,
    )
    _backfill(history)
    entering = sa.text("kind IN ('start', 'fire')")
    op.create_index(
        f"ix_{p}history_entered",
        f"{p}history",
        ["case_id", "dest", "seq", "at", "at_offset", "kind"],
        schema=schema,
        sqlite_where=entering,
        postgresql_where=entering,
    )
    op.create_index(f"ix_{p}cases_process_id", f"{p}cases", ["process", "id"], schema=schema)


def downgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    op.drop_index(f"ix_{prefix}cases_process_id", f"{prefix}cases", schema=schema)
    op.drop_index(f"ix_{prefix}history_entered", f"{prefix}history", schema=schema)
    with op.batch_alter_table(f"{prefix}history", schema=schema) as batch:
        batch.drop_column("at_offset")
        batch.drop_column("dest")
