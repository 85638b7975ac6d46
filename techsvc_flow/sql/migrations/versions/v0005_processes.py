"""The content hash of each process version that ran on this database, so that a
version number stands for one content across restarts (``SqlStore.record_process``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEY = 255


def upgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    op.create_table(
        f"{prefix}processes",
        sa.Column("name", sa.String(KEY)),
        sa.Column("version", sa.Integer),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name=f"pk_{prefix}processes"),
        schema=schema,
    )


def downgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    op.drop_table(f"{prefix}processes", schema=schema)
