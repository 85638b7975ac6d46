"""The SQL store: durable state in SQLite or PostgreSQL, on SQLAlchemy 2 and Alembic.

The only package of the library that imports SQLAlchemy or Alembic; ``import
techsvc_flow`` does not import it (import ``techsvc_flow.sql`` when you use it).

- :mod:`~techsvc_flow.sql.store`: :class:`SqlStore`, the store, and :func:`open_store`.
- :mod:`~techsvc_flow.sql.tables`: :func:`flow_tables`, the table definitions.
- :mod:`~techsvc_flow.sql.schema`: :func:`upgrade`, :func:`current_revision`, the shipped
  migrations (``sql/migrations/``) and :func:`sqlite_engine`.
- :mod:`~techsvc_flow.sql.quality_index`: :class:`ObservationIndex`, quality-indicator
  observations kept in the database.
- :mod:`~techsvc_flow.sql.errors`: :class:`UnstorableValue`, :class:`PayloadTooLarge`,
  :class:`SchemaTooNew`.
"""

from __future__ import annotations

from .errors import PayloadTooLarge, SchemaTooNew, UnstorableValue
from .quality_index import IndexOutOfDate, ObservationIndex
from .schema import MIGRATIONS, SCHEMA_REVISION, current_revision, sqlite_engine, upgrade
from .store import SqlStore, open_store
from .tables import MAX_KEY, SqlTables, UtcDateTime, flow_tables

__all__ = [
    "MAX_KEY",
    "MIGRATIONS",
    "SCHEMA_REVISION",
    "IndexOutOfDate",
    "ObservationIndex",
    "PayloadTooLarge",
    "SchemaTooNew",
    "SqlStore",
    "SqlTables",
    "UnstorableValue",
    "UtcDateTime",
    "current_revision",
    "flow_tables",
    "open_store",
    "sqlite_engine",
    "upgrade",
]
