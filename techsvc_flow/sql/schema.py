"""The SQL store's schema and engines: migrations, SQLite set-up, revisions.

:func:`upgrade` (``python -m techsvc_flow db upgrade URL``) creates or upgrades the
tables with the Alembic migrations shipped in ``sql/migrations/``;
:func:`current_revision` says where a database stands. :func:`sqlite_engine` makes a
SQLite engine as the store needs it: WAL, foreign keys, real transactions, and writers
that take the write lock up front.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .errors import SchemaTooNew
from .tables import SqlTables, flow_tables

__all__ = [
    "BEGIN_OPTION",
    "MIGRATIONS",
    "SCHEMA_REVISION",
    "alembic_config",
    "check_revision",
    "current_revision",
    "head_revision",
    "make_engine",
    "sqlite_engine",
    "upgrade",
    "upgrade_engine",
]

#: The Alembic revision the tables defined here correspond to.
SCHEMA_REVISION = "0008"

#: The folder of the shipped Alembic migrations.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: the execution option naming how a SQLite transaction begins (``"IMMEDIATE"``: with
#: the write lock; ``"NONE"``: no BEGIN, each statement commits itself)
BEGIN_OPTION = "sqlite_begin"


def _sqlite_setup(engine: Engine, synchronous: str, busy_timeout: float) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN; WAL; foreign keys on."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "")
        if mode == "NONE":  # each statement commits itself (the store's reads)
            return
        dbapi_connection = conn.connection.dbapi_connection
        if mode == "IMMEDIATE":
            _begin_immediate(dbapi_connection, busy_timeout)
        else:
            dbapi_connection.execute(f"BEGIN {mode}".strip())  # type: ignore[union-attr]


def _begin_immediate(dbapi_connection: Any, timeout: float) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock in short random naps.

    SQLite's own busy handler sleeps ever longer (up to 100 ms at a time), so writers
    from several processes queueing for the lock spend most of their time asleep.
    """
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + timeout
        nap = 0.0001
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(random.uniform(0, nap))
            nap = min(nap * 2, 0.004)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")


def sqlite_engine(
    url: str | sa.URL = "sqlite:///flow.db", *, synchronous: str = "FULL", **options: Any
) -> Engine:
    """An engine for a SQLite file set up as the store needs it.

    WAL journal (readers do not block the writer), foreign keys on, a 30-second busy
    timeout, and real transactions: BEGIN is emitted by SQLAlchemy (the ``sqlite3``
    module's legacy mode would not begin one before a SELECT). A connection run with
    ``execution_options(sqlite_begin="IMMEDIATE")`` takes the write lock when it begins,
    as the store's own writes do. ``synchronous="NORMAL"`` trades the durability of the
    last commits before a power cut for speed.
    """
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    made = sa.make_url(url)
    if made.get_backend_name() != "sqlite":
        raise ValueError(f"{made.render_as_string()!r} is not a SQLite URL")
    connect_args = dict(options.pop("connect_args", {}))
    connect_args.setdefault("timeout", 30.0)
    if made.database in (None, "", ":memory:"):
        # one shared connection, else every pooled connection is its own empty database
        connect_args.setdefault("check_same_thread", False)
        options.setdefault("poolclass", sa.pool.StaticPool)
    engine = sa.create_engine(made, connect_args=connect_args, **options)
    _sqlite_setup(engine, synchronous.upper(), float(connect_args["timeout"]))
    return engine


def make_engine(url: str | sa.URL | Engine, options: Mapping[str, Any]) -> Engine:
    """The engine for ``url`` (set up by :func:`sqlite_engine` for SQLite), or ``url``
    itself when it is an engine already.

    Raises:
        ImportError: the URL's database driver is not installed (with a hint).
    """
    if isinstance(url, Engine):
        return url
    made = sa.make_url(url)
    if made.get_backend_name() == "sqlite":
        return sqlite_engine(made, **options)
    try:
        return sa.create_engine(made, **options)
    except ImportError as exc:
        hint = " (pip install 'techsvc_flow[postgres]')" if "psycopg" in str(exc) else ""
        raise ImportError(
            f"no database driver for {made.drivername!r}: {exc}{hint}", name=exc.name
        ) from exc


def alembic_config(connection: Connection, tables: SqlTables) -> Any:
    """The Alembic ``Config`` that runs the shipped migrations of ``tables`` on
    ``connection`` (for ``alembic.command``: ``upgrade``, ``downgrade``, ...)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["prefix"] = tables.prefix
    config.attributes["schema"] = tables.schema
    return config


def upgrade_engine(engine: Engine, tables: SqlTables, revision: str = "head") -> None:
    """Upgrade ``tables`` on ``engine`` to ``revision`` (SQLite: holding the write lock).

    Raises:
        SchemaTooNew: the database is at a revision this library does not ship.
    """
    from alembic import command

    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        check_revision(current_revision(conn, tables))
        command.upgrade(alembic_config(conn, tables), revision)
        conn.commit()


def upgrade(
    url: str | sa.URL | Engine,
    *,
    prefix: str = "flow_",
    schema: str | None = None,
    revision: str = "head",
) -> None:
    """Create the store's tables in an empty database, or upgrade them to ``revision``.

    Safe to run again (it does nothing when the schema is current) and from several
    processes at once. This is ``python -m techsvc_flow db upgrade URL``.
    """
    engine = make_engine(url, {})
    try:
        upgrade_engine(engine, flow_tables(prefix=prefix, schema=schema), revision)
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def current_revision(connection: Connection, tables: SqlTables) -> str | None:
    """The Alembic revision of the store's tables in the database (None: not created)."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(tables.version_table, schema=tables.schema):
        return None
    version = sa.table(tables.version_table, sa.column("version_num"), schema=tables.schema)
    return connection.execute(sa.select(version.c.version_num)).scalar()


@functools.cache
def _shipped() -> tuple[str, frozenset[str]]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    head = scripts.get_current_head()
    assert head is not None, "the shipped migrations have one head"
    return head, frozenset(script.revision for script in scripts.walk_revisions())


def head_revision() -> str:
    """The newest revision of the shipped migrations (read from ``sql/migrations/``)."""
    return _shipped()[0]


def check_revision(revision: str | None) -> None:
    """Refuse a database stamped with a revision the shipped migrations do not know.

    Raises:
        SchemaTooNew: naming ``revision`` and :func:`head_revision`.
    """
    if revision is not None and revision != SCHEMA_REVISION and revision not in _shipped()[1]:
        raise SchemaTooNew(revision, head_revision())
