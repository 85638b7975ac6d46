"""Calendar data loaded by one process and used by every worker: State Council notices,
holiday-cn files, schedules and organisation overlays (``SqlStore.add_calendar_data``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KEY = 255


def upgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    op.create_table(
        f"{prefix}calendars",
        sa.Column("calendar", sa.String(KEY)),
        sa.Column("digest", sa.String(64)),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("calendar", "digest", name=f"pk_{prefix}calendars"),
        schema=schema,
    )


def downgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    op.drop_table(f"{prefix}calendars", schema=schema)
