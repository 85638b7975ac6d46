"""Timers that could not be processed: pushed back with the failure recorded (the
attempts, the error, when it first failed), for the incidents of ``Workflow.tick``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    table = f"{prefix}timers"
    op.add_column(
        table,
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        schema=schema,
    )
    op.add_column(table, sa.Column("error", sa.Text(), nullable=True), schema=schema)
    op.add_column(
        table, sa.Column("since", sa.DateTime(timezone=True), nullable=True), schema=schema
    )


def downgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    table = f"{prefix}timers"
    for column in ("since", "error", "attempts"):
        op.drop_column(table, column, schema=schema)
