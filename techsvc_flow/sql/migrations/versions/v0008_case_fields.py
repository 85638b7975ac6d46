"""Indexed case data fields and cheaper worklist rows: the ``case_fields`` table (the
values of the fields a process declares ``indexed``, one row per case and field, with
indexes on ``(name, s, case_id)`` and ``(name, n, case_id)``), the ``indexed_fields``
table (which fields of which process the rows are kept for), and the digest columns
(``cases.index_sig``, ``work.sig``, ``case_fields.sig``) that let a commit leave
unchanged rows alone.

Nothing needs backfilling here: no definition could declare an indexed field before
this revision, and the declarations live in the definitions, not the database. The
rows of a field are filled in from the case bodies when a workflow first registers a
process declaring it indexed (``SqlStore.index_fields``, once per process and field);
the digest columns start empty, which makes the next commit of each case rewrite its
``work`` rows once.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEY = 255
SIG = 32


def upgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    p = prefix
    op.add_column(f"{p}cases", sa.Column("index_sig", sa.String(SIG), nullable=True),
                  schema=schema)  # fmt: skip
    op.add_column(f"{p}work", sa.Column("sig", sa.String(SIG), nullable=True), schema=schema)
    cases_id = f"{schema}.{p}cases.id" if schema else f"{p}cases.id"
    op.create_table(
        f"{p}case_fields",
        sa.Column("case_id", sa.String(KEY), nullable=False),
        sa.Column("name", sa.String(KEY), nullable=False),
        sa.Column("s", sa.String(KEY), nullable=True),
        sa.Column("n", sa.Float(), nullable=True),
        sa.Column("sig", sa.String(SIG), nullable=True),
        sa.PrimaryKeyConstraint("case_id", "name", name=f"pk_{p}case_fields"),
        sa.ForeignKeyConstraint(
            ["case_id"], [cases_id], name=f"fk_{p}case_fields_case_id", ondelete="CASCADE"
        ),
        schema=schema,
    )
    op.create_index(f"ix_{p}case_fields_s", f"{p}case_fields", ["name", "s", "case_id"],
                    schema=schema)  # fmt: skip
    op.create_index(f"ix_{p}case_fields_n", f"{p}case_fields", ["name", "n", "case_id"],
                    schema=schema)  # fmt: skip
    op.create_table(
        f"{p}indexed_fields",
        sa.Column("process", sa.String(KEY), nullable=False),
        sa.Column("name", sa.String(KEY), nullable=False),
        sa.PrimaryKeyConstraint("process", "name", name=f"pk_{p}indexed_fields"),
        schema=schema,
    )


def downgrade(prefix: str = "flow_", schema: str | None = None) -> None:
    p = prefix
    op.drop_table(f"{p}indexed_fields", schema=schema)
    op.drop_index(f"ix_{p}case_fields_n", table_name=f"{p}case_fields", schema=schema)
    op.drop_index(f"ix_{p}case_fields_s", table_name=f"{p}case_fields", schema=schema)
    op.drop_table(f"{p}case_fields", schema=schema)
    op.drop_column(f"{p}work", "sig", schema=schema)
    op.drop_column(f"{p}cases", "index_sig", schema=schema)
