"""Alembic's entry point for the shipped migrations (see ``__init__.py``)."""

from alembic import context

from techsvc_flow.sql.migrations import run_env

if hasattr(context, "config"):  # run by Alembic, not merely imported
    run_env(context)
