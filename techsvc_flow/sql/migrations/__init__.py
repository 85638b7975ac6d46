"""Alembic migrations of the SQL store's tables, shipped with the package.

Run them with :func:`techsvc_flow.sql.upgrade` (``python -m techsvc_flow db upgrade
URL``). Every revision takes the table ``prefix`` and ``schema`` as arguments, so one
set of migrations serves stores of any prefix; each prefix keeps its own version table,
``<prefix>alembic_version``, apart from the host's ``alembic_version``.

To add a revision: change the tables in ``techsvc_flow/sql/tables.py``, copy the last file
in ``versions/`` to a new one with the next ``revision`` and ``down_revision``, write its
``upgrade`` and ``downgrade`` with the same ``prefix`` and ``schema`` arguments, raise
``SCHEMA_REVISION``, and let ``tests/test_sqlstore.py`` check that the upgraded schema
matches the tables.
"""

from __future__ import annotations

import zlib
from typing import Any

import sqlalchemy as sa

from ..schema import make_engine
from ..tables import flow_tables

__all__ = ["run_env"]


def run_env(context: Any) -> None:
    """The body of ``env.py``: run the migrations on the connection or URL configured."""
    config = context.config
    prefix: str = config.attributes.get("prefix", "flow_")
    schema: str | None = config.attributes.get("schema")
    tables = flow_tables(prefix=prefix, schema=schema)
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(context, connection, tables.metadata, prefix, schema)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise ValueError("no database: set sqlalchemy.url or pass a connection")
    engine = make_engine(url, {})
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            _migrate(context, conn, tables.metadata, prefix, schema)
            conn.commit()
    finally:
        engine.dispose()


def _migrate(
    context: Any,
    connection: sa.Connection,
    metadata: sa.MetaData,
    prefix: str,
    schema: str | None,
) -> None:
    ours = set(metadata.tables)

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        if type_ == "table":
            return (f"{schema}.{name}" if schema else name) in ours
        return True

    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=f"{prefix}alembic_version",
        version_table_schema=schema,
        include_schemas=schema is not None,
        include_name=include_name,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # several processes may upgrade at once: the first does it, the others wait
            key = zlib.crc32(f"techsvc_flow:{schema}:{prefix}".encode())
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            if schema is not None:
                connection.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
        context.run_migrations(prefix=prefix, schema=schema)
