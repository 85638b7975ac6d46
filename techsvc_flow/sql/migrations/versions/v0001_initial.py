"""The SQL store's tables: cases, history, timers, outbox, idempotency keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KEY = 255


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    p = prefix
    cases_id = f"{schema}.{p}cases.id" if schema else f"{p}cases.id"
    op.create_table(
        f"{p}cases",
        sa.Column("id", sa.String(KEY), nullable=False),
        sa.Column("process", sa.String(KEY), nullable=False),
        sa.Column("process_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(KEY), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("updated_at", _instant(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{p}cases"),
        schema=schema,
    )
    op.create_index(f"ix_{p}cases_process_state", f"{p}cases", ["process", "state"], schema=schema)
    op.create_table(
        f"{p}history",
        sa.Column("case_id", sa.String(KEY), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name=f"pk_{p}history"),
        sa.ForeignKeyConstraint(
            ["case_id"], [cases_id], name=f"fk_{p}history_case_id", ondelete="CASCADE"
        ),
        schema=schema,
    )
    op.create_table(
        f"{p}timers",
        sa.Column("case_id", sa.String(KEY), nullable=False),
        sa.Column("sla", sa.String(KEY), nullable=False),
        sa.Column("mark", sa.String(KEY), nullable=False),
        sa.Column("due_at", _instant(), nullable=False),
        sa.Column("claimed_until", _instant(), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("case_id", "sla", name=f"pk_{p}timers"),
        sa.ForeignKeyConstraint(
            ["case_id"], [cases_id], name=f"fk_{p}timers_case_id", ondelete="CASCADE"
        ),
        schema=schema,
    )
    op.create_index(
        f"ix_{p}timers_due_at", f"{p}timers", ["due_at", "case_id", "sla"], schema=schema
    )
    op.create_table(
        f"{p}outbox",
        sa.Column(
            "n",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(KEY), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _instant(), nullable=True),
        sa.Column("claimed_until", _instant(), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("delivered_to", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("event", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("n", name=f"pk_{p}outbox"),
        sa.UniqueConstraint("event_id", name=f"uq_{p}outbox_event_id"),
        schema=schema,
    )
    op.create_index(f"ix_{p}outbox_status_n", f"{p}outbox", ["status", "n"], schema=schema)
    op.create_table(
        f"{p}idempotency",
        sa.Column("case_id", sa.String(KEY), nullable=False),
        sa.Column("key", sa.String(KEY), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "key", name=f"pk_{p}idempotency"),
        sa.ForeignKeyConstraint(
            ["case_id"], [cases_id], name=f"fk_{p}idempotency_case_id", ondelete="CASCADE"
        ),
        schema=schema,
    )


def downgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    for name in ("idempotency", "outbox", "timers", "history", "cases"):
        op.drop_table(f"{prefix}{name}", schema=schema)
