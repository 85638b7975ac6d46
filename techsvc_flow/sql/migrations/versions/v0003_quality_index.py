"""Quality reports in SQL: each case's quality-indicator observations with the judging
instants they hold for, the case version they were made from, and the configuration
they were made with (``techsvc_flow.sql.ObservationIndex`` fills them; they start
empty).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEY = 255


def upgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    p = prefix
    cases_id = f"{schema}.{p}cases.id" if schema else f"{p}cases.id"

    def case_fk(table: str) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(
            ["case_id"], [cases_id], name=f"fk_{p}{table}_case_id", ondelete="CASCADE"
        )

    op.create_table(
        f"{p}quality_obs",
        sa.Column("case_id", sa.String(KEY), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("process", sa.String(KEY), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("at_offset", sa.Integer(), nullable=True),
        sa.Column("hit", sa.SmallInteger(), nullable=True),
        sa.Column("satisfaction", sa.Text(), nullable=True),
        sa.Column("tags", sa.Integer(), nullable=False),
        sa.Column("valid_after_us", sa.BigInteger(), nullable=True),
        sa.Column("valid_until_us", sa.BigInteger(), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.Column("timed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "n", name=f"pk_{p}quality_obs"),
        case_fk("quality_obs"),
        schema=schema,
    )
    op.create_index(
        f"ix_{p}quality_obs_indicator_at",
        f"{p}quality_obs",
        ["indicator", "at_us"],
        schema=schema,
    )
    missed = sa.text("hit = 0")
    op.create_index(
        f"ix_{p}quality_obs_missed",
        f"{p}quality_obs",
        ["indicator", "at_us", "case_id", "n"],
        schema=schema,
        sqlite_where=missed,
        postgresql_where=missed,
    )
    op.create_table(
        f"{p}quality_seen",
        sa.Column("case_id", sa.String(KEY), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=f"pk_{p}quality_seen"),
        case_fk("quality_seen"),
        schema=schema,
    )
    op.create_table(
        f"{p}quality_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=f"pk_{p}quality_meta"),
        schema=schema,
    )


def downgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    op.drop_table(f"{prefix}quality_meta", schema=schema)
    op.drop_table(f"{prefix}quality_seen", schema=schema)
    op.drop_index(f"ix_{prefix}quality_obs_missed", f"{prefix}quality_obs", schema=schema)
    op.drop_index(f"ix_{prefix}quality_obs_indicator_at", f"{prefix}quality_obs", schema=schema)
    op.drop_table(f"{prefix}quality_obs", schema=schema)
