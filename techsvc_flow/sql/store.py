"""Durable state in an SQL database, on SQLAlchemy 2: the :class:`SqlStore`.

SQLite is the embedded default (``SqlStore("sqlite:///flow.db")``: a file in WAL mode);
PostgreSQL (driver psycopg 3, extra ``techsvc_flow[postgres]``) is the store when many
application servers share the cases.

Five tables, named ``<prefix>cases``, ``<prefix>history``, ``<prefix>timers``,
``<prefix>outbox`` and ``<prefix>idempotency`` (prefix ``flow_`` unless told
otherwise, optionally in a schema), are defined on a :class:`sqlalchemy.MetaData` the
host may pass, so that the host's own Alembic sees them. The package ships their
migrations: :func:`upgrade` (``python -m techsvc_flow db upgrade URL``) creates or
upgrades them, and a store made with ``migrate=True`` (the default) does so on first
use.

Each :meth:`~SqlStore.commit` is one transaction: the case row is updated only while
its ``seq`` is the one the change was computed from (``UPDATE … WHERE id = ? AND seq
= ?``; no row updated means another writer won: :class:`~techsvc_flow.ConcurrentUpdate`),
then the history entries, the case's timers and the outbox rows are written. With
:meth:`SqlStore.bind` the writes go into the host's own transaction instead, and the
host commits or rolls them back with its own.

Timers and outbox rows are *claimed* for a lease before they are handed out, so that
workers on other machines calling ``tick`` or ``dispatch`` at the same time do not do
the same work twice: on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, on SQLite with a
conditional update. Exactly-once firing does not rest on the claim: it rests on the
optimistic check of the commit.

Quality reports read the cases through :meth:`~SqlStore.facts`: one query per process
filters the cases and groups each case's first entry into each state in the database,
and streams the result (see docs/performance.md, "Quality reports").

Values round-trip exactly: case data, history payloads and events are stored as JSON
text (Chinese kept as is; aware instants with their UTC offset, dates and Decimals
tagged); the instants that are queried (``due_at``, ``next_attempt_at``) are UTC
timestamp columns. Oversize or unstorable values are refused before anything is
written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import operator
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from . import _codec
from .case import Case, HistoryEntry
from .durations import Duration
from .errors import CaseNotFound, ConcurrentUpdate, FlowError
from .facts import CaseFacts
from .notifications import Delivery, DeliveryStatus, Event
from .sla import ClockEvent, SlaClock, Timer
from .store import Store

if TYPE_CHECKING:
    from .calendar import WorkCalendar
    from .quality import QualityConfig
    from .sqlquality import ObservationIndex

__all__ = [
    "SCHEMA_REVISION",
    "PayloadTooLarge",
    "SqlStore",
    "SqlTables",
    "UnstorableValue",
    "current_revision",
    "flow_tables",
    "sqlite_engine",
    "upgrade",
]

#: The Alembic revision the tables defined here correspond to.
SCHEMA_REVISION = "0003"

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: Longest id, process name, state, SLA name or idempotency key stored (characters).
MAX_KEY = 255

UTC = dt.UTC


class UnstorableValue(FlowError, ValueError):
    """A value cannot be stored as it is (refused before anything was written).

    Attributes:
        what: which value (e.g. ``case 'T-1' data``).
        problem: what is wrong with it.
    """

    def __init__(self, what: str, problem: str) -> None:
        self.what = what
        self.problem = problem
        super().__init__(f"{what} cannot be stored: {problem}")


class PayloadTooLarge(UnstorableValue):
    """A serialized value is larger than the store's ``max_payload``.

    Attributes:
        size: its size in bytes (UTF-8 JSON).
        limit: the store's limit in bytes.
    """

    def __init__(self, what: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            what,
            f"{size:,} bytes of JSON exceed the limit of {limit:,} bytes "
            "(keep large documents outside the case and store a reference; or raise "
            "SqlStore(max_payload=...))",
        )


# --- tables ---------------------------------------------------------------------------


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """An aware instant, stored in UTC (naive UTC text on SQLite, timestamptz elsewhere)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise UnstorableValue(f"instant {value!r}", "it is naive; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            value = dt.datetime.fromisoformat(str(value))
        instant: dt.datetime = value
        if instant.tzinfo is None:
            return instant.replace(tzinfo=UTC)
        return instant.astimezone(UTC)


#: the history entries that enter a state (the predicate of the partial index on them)
_ENTERING = sa.text("kind IN ('start', 'fire')")


#: the observations in the denominator, not the numerator (the partial index on them)
_MISSED = sa.text("hit = 0")


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@attrs.frozen
class SqlTables:
    """The store's tables, on one :class:`sqlalchemy.MetaData`.

    Attributes:
        metadata: where they are defined.
        cases, history, timers, outbox, idempotency: the tables.
        quality_obs, quality_seen, quality_meta: the quality-indicator observations of
            each case, the case version they were made from, and the configuration
            they were made with (:class:`~techsvc_flow.sqlquality.ObservationIndex`).
        prefix, schema: how they are named.
    """

    metadata: sa.MetaData
    cases: sa.Table
    history: sa.Table
    timers: sa.Table
    outbox: sa.Table
    idempotency: sa.Table
    quality_obs: sa.Table
    quality_seen: sa.Table
    quality_meta: sa.Table
    prefix: str
    schema: str | None

    @property
    def version_table(self) -> str:
        """The name of the Alembic version table of these tables."""
        return f"{self.prefix}alembic_version"


def flow_tables(
    metadata: sa.MetaData | None = None, *, prefix: str = "flow_", schema: str | None = None
) -> SqlTables:
    """Define the store's tables on ``metadata`` (or reuse them if defined already).

    Pass your application's ``MetaData`` so that your Alembic autogenerate sees them
    (and does not propose to drop them).

    >>> import sqlalchemy as sa
    >>> tables = flow_tables(sa.MetaData(), prefix="crm_flow_")
    >>> sorted(tables.metadata.tables)  # doctest: +NORMALIZE_WHITESPACE
    ['crm_flow_cases', 'crm_flow_history', 'crm_flow_idempotency', 'crm_flow_outbox',
     'crm_flow_quality_meta', 'crm_flow_quality_obs', 'crm_flow_quality_seen',
     'crm_flow_timers']
    """
    metadata = metadata if metadata is not None else sa.MetaData()
    if not prefix.replace("_", "").isalnum() or not prefix[:1].isalpha():
        raise ValueError(f"table prefix {prefix!r} must be letters, digits and _")
    key = f"{schema}.{prefix}cases" if schema else f"{prefix}cases"
    if key in metadata.tables:
        qualify = f"{schema}." if schema else ""

        def existing(name: str) -> sa.Table:
            return metadata.tables[f"{qualify}{prefix}{name}"]

        return SqlTables(
            metadata,
            existing("cases"),
            existing("history"),
            existing("timers"),
            existing("outbox"),
            existing("idempotency"),
            existing("quality_obs"),
            existing("quality_seen"),
            existing("quality_meta"),
            prefix,
            schema,
        )
    p = prefix
    cases_id = f"{schema}.{p}cases.id" if schema else f"{p}cases.id"

    def case_fk(table: str) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(
            ["case_id"], [cases_id], name=f"fk_{p}{table}_case_id", ondelete="CASCADE"
        )

    cases = sa.Table(
        f"{p}cases",
        metadata,
        sa.Column("id", sa.String(MAX_KEY)),
        sa.Column("process", sa.String(MAX_KEY), nullable=False),
        sa.Column("process_version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(MAX_KEY), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{p}cases"),
        sa.Index(f"ix_{p}cases_process_state", "process", "state"),
        # one process's cases in id order (``facts``); a commit never changes either
        sa.Index(f"ix_{p}cases_process_id", "process", "id"),
        schema=schema,
    )
    history = sa.Table(
        f"{p}history",
        metadata,
        sa.Column("case_id", sa.String(MAX_KEY)),
        sa.Column("seq", sa.Integer),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        # copied out of the body for quality reports (``SqlStore.facts``): the state
        # entered, and the UTC offset ``at`` was given in, in seconds (NULL when it is
        # not a whole number of seconds; the body still has it)
        sa.Column("dest", sa.String(MAX_KEY), nullable=True),
        sa.Column("at_offset", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("case_id", "seq", name=f"pk_{p}history"),
        case_fk("history"),
        # the states each case entered, grouped by state, first entry first: ``facts``
        # reads the first entries from this index alone (``kind`` makes it covering on
        # SQLite, which counts the predicate's columns as read)
        sa.Index(
            f"ix_{p}history_entered",
            "case_id",
            "dest",
            "seq",
            "at",
            "at_offset",
            "kind",
            sqlite_where=_ENTERING,
            postgresql_where=_ENTERING,
        ),
        schema=schema,
    )
    timers = sa.Table(
        f"{p}timers",
        metadata,
        sa.Column("case_id", sa.String(MAX_KEY)),
        sa.Column("sla", sa.String(MAX_KEY)),
        sa.Column("mark", sa.String(MAX_KEY), nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("claimed_until", UtcDateTime, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("case_id", "sla", name=f"pk_{p}timers"),
        case_fk("timers"),
        sa.Index(f"ix_{p}timers_due_at", "due_at", "case_id", "sla"),
        schema=schema,
    )
    outbox = sa.Table(
        f"{p}outbox",
        metadata,
        sa.Column("n", _serial(), autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(MAX_KEY), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=True),
        sa.Column("claimed_until", UtcDateTime, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("delivered_to", sa.Text, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("event", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("n", name=f"pk_{p}outbox"),
        sa.UniqueConstraint("event_id", name=f"uq_{p}outbox_event_id"),
        sa.Index(f"ix_{p}outbox_status_n", "status", "n"),
        schema=schema,
    )
    idempotency = sa.Table(
        f"{p}idempotency",
        metadata,
        sa.Column("case_id", sa.String(MAX_KEY)),
        sa.Column("key", sa.String(MAX_KEY)),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "key", name=f"pk_{p}idempotency"),
        case_fk("idempotency"),
        schema=schema,
    )
    quality_obs = sa.Table(
        f"{p}quality_obs",
        metadata,
        sa.Column("case_id", sa.String(MAX_KEY)),
        sa.Column("n", sa.Integer),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("process", sa.String(MAX_KEY), nullable=False),
        # instants as whole microseconds since 1970-01-01 UTC (compact, compared and
        # bound as plain integers); ``at_offset``: the UTC offset ``at`` was given in
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("at_offset", sa.Integer, nullable=True),
        # 1 numerator, 0 denominator only, NULL neither (reported only)
        sa.Column("hit", sa.SmallInteger, nullable=True),
        sa.Column("satisfaction", sa.Text, nullable=True),
        sa.Column("tags", sa.Integer, nullable=False),
        # the judging instants it holds for: valid_after < as_of <= valid_until
        sa.Column("valid_after_us", sa.BigInteger, nullable=True),
        sa.Column("valid_until_us", sa.BigInteger, nullable=True),
        # the case's, for the period filters reports apply to cases
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("timed", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "n", name=f"pk_{p}quality_obs"),
        case_fk("quality_obs"),
        sa.Index(f"ix_{p}quality_obs_indicator_at", "indicator", "at_us"),
        # the observations that missed (the late-case lists), in the order they are read
        sa.Index(
            f"ix_{p}quality_obs_missed",
            "indicator",
            "at_us",
            "case_id",
            "n",
            sqlite_where=_MISSED,
            postgresql_where=_MISSED,
        ),
        schema=schema,
    )
    quality_seen = sa.Table(
        f"{p}quality_seen",
        metadata,
        sa.Column("case_id", sa.String(MAX_KEY)),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=f"pk_{p}quality_seen"),
        case_fk("quality_seen"),
        schema=schema,
    )
    quality_meta = sa.Table(
        f"{p}quality_meta",
        metadata,
        sa.Column("key", sa.String(64)),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name=f"pk_{p}quality_meta"),
        schema=schema,
    )
    return SqlTables(
        metadata,
        cases,
        history,
        timers,
        outbox,
        idempotency,
        quality_obs,
        quality_seen,
        quality_meta,
        prefix,
        schema,
    )


# --- engines and migrations -----------------------------------------------------------

_BEGIN_OPTION = "sqlite_begin"


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
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "")
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


def _engine(url: str | sa.URL | Engine, options: Mapping[str, Any]) -> Engine:
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


def _alembic_config(connection: Connection, tables: SqlTables) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["prefix"] = tables.prefix
    config.attributes["schema"] = tables.schema
    return config


def _upgrade_engine(engine: Engine, tables: SqlTables, revision: str = "head") -> None:
    from alembic import command

    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        command.upgrade(_alembic_config(conn, tables), revision)
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
    engine = _engine(url, {})
    try:
        _upgrade_engine(engine, flow_tables(prefix=prefix, schema=schema), revision)
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


# --- values <-> rows ------------------------------------------------------------------

_CASE_COLUMNS = ("id", "process", "process_version", "state", "version", "seq", "head")
# what a commit rewrites: a case never changes its id, process or creation (and leaving
# ``process`` out of the SET spares SQLite the (process, state) index when the state
# does not change)
_UPDATED = ("process_version", "state", "version", "seq", "head", "updated_at", "body")


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise UnstorableValue(f"{what} {value!r}", "it must be an aware datetime")
    return value


def _offset(value: dt.datetime) -> int | None:
    """The UTC offset of an aware instant in seconds; None if not whole seconds."""
    offset = value.utcoffset()
    if offset is None or offset.microseconds:
        return None
    return offset.days * 86_400 + offset.seconds


def _key(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise UnstorableValue(what, f"it must be a str, not {type(value).__name__}")
    if len(value) > MAX_KEY:
        raise UnstorableValue(f"{what} {value[:40]!r}…", f"it is longer than {MAX_KEY} characters")
    if "\x00" in value:
        raise UnstorableValue(f"{what} {value!r}", "it contains a NUL character")
    return value


class _Sizer:
    """Serialises values to JSON text and enforces the size limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, value: Any, what: str) -> str:
        try:
            text = _codec.dumps(value)
        except (TypeError, ValueError) as exc:
            raise UnstorableValue(what, str(exc)) from exc
        if len(text) * 4 <= self.limit and text.isascii():
            return text
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise UnstorableValue(
                what, f"it holds text that is not valid Unicode ({exc.reason}: lone surrogate?)"
            ) from exc
        if size > self.limit:
            raise PayloadTooLarge(what, size, self.limit)
        return text


def _escape(value: Any) -> Any:
    """User data with its one-key ``{"$…": …}`` dicts wrapped, so that the codec's tags
    (``{"$date": …}``) cannot be forged by data and come back as something else."""
    if isinstance(value, Mapping):
        out = {
            key: _escape(item) if isinstance(item, Mapping | list | tuple) else item
            for key, item in value.items()
        }
        if len(out) == 1:
            ((key, item),) = out.items()
            if isinstance(key, str) and key.startswith("$"):
                return {"$map": [[key, item]]}
        return out
    if isinstance(value, list | tuple):
        return [
            _escape(item) if isinstance(item, Mapping | list | tuple) else item for item in value
        ]
    return value


def _unescape(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$map" in obj:
        return {key: item for key, item in obj["$map"]}
    return _codec._decode(obj)


def _hook(obj: dict[str, Any]) -> Any:
    # only a one-key dict can be a tag or an escape; instants are the usual tag
    if len(obj) != 1:
        return obj
    value = obj.get("$datetime")
    if value is not None:
        return dt.datetime.fromisoformat(value)
    return _unescape(obj)


_PLAIN = json.JSONDecoder()
_TAGGED = json.JSONDecoder(object_hook=_hook)


def _loads(text: str) -> Any:
    """Read JSON written by the store (codec tags and escaped data)."""
    # raw_decode: the store writes no surrounding whitespace; one decoder object reused
    if '"$' not in text:  # nothing tagged: the C decoder alone
        return _PLAIN.raw_decode(text)[0]
    return _TAGGED.raw_decode(text)[0]


_INSTANTS = ("created_at", "updated_at", "entered_at")


def _case_body(case: Case) -> dict[str, Any]:
    return {
        "data": _escape(case.data),
        # ISO text with the offset: read back exactly, without a tag to decode
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "entered_at": case.entered_at.isoformat(),
        "counts": dict(case.counts),
        "clocks": case.to_dict()["clocks"] if case.clocks else {},
    }


def _case_from(row: Any) -> Case:
    """A case from a row of ``_CASE_COLUMNS`` followed by ``body``, in that order."""
    *columns, text = row
    body = _loads(text)
    for name in _INSTANTS:
        body[name] = dt.datetime.fromisoformat(body[name])
    return Case.from_dict(dict(zip(_CASE_COLUMNS, columns, strict=True)) | body)


def _entry_from(case_id: str, seq: int, body: str) -> HistoryEntry:
    return HistoryEntry(case_id=case_id, seq=seq, **_loads(body))


def _event_from(event_id: str, case_id: str, body: str) -> Event:
    data = _loads(body)
    return Event(event_id, data["type"], case_id, data["process"], data["at"], data["payload"])


def _delivery_from(row: Any) -> Delivery:
    status: DeliveryStatus = row.status
    return Delivery(
        _event_from(row.event_id, row.case_id, row.event),
        status=status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_to=tuple(json.loads(row.delivered_to)),
        last_error=row.last_error,
    )


_DURATIONS: dict[str, Duration] = {}


def _facts_from(row: Any, entered: dict[str, dt.datetime]) -> CaseFacts:
    """The facts of a case from a row starting with ``_FACT_COLUMNS``: the values
    :func:`_case_from` would give, without building the case."""
    body = _loads(row[4])
    clocks = {}
    for name, c in body["clocks"].items():
        duration = _DURATIONS.get(c["duration"])
        if duration is None:
            duration = _DURATIONS[c["duration"]] = Duration.parse(c["duration"])
        events = tuple([ClockEvent(kind, at) for kind, at in c["events"]])
        clocks[name] = SlaClock(name, duration, events, tuple(c["fired"]))
    return CaseFacts(
        id=row[0],
        process=row[1],
        process_version=row[2],
        state=row[3],
        data=body["data"],  # fresh from JSON: no copy needed
        counts=body["counts"],
        created_at=dt.datetime.fromisoformat(body["created_at"]),
        updated_at=dt.datetime.fromisoformat(body["updated_at"]),
        entered=entered,
        clocks=clocks,
    )


_FACT_COLUMNS = ("id", "process", "process_version", "state", "body")
_ZONES: dict[int, dt.tzinfo] = {}


def _zone(offset: int) -> dt.tzinfo:
    """The zone ``offset`` seconds east of UTC, one object per offset (aware instants
    with the very same ``tzinfo`` compare much faster than with equal ones)."""
    zone = _ZONES.get(offset)
    if zone is None:
        zone = _ZONES[offset] = dt.timezone(dt.timedelta(seconds=offset))
    return zone


def _entered(
    text: str | None, case_id: str, body: Callable[[str, int], str]
) -> dict[str, dt.datetime]:
    """The first entry into each state, in history order, from the JSON array of
    ``[state, seq, at, at_offset]`` the facts query makes (``at`` as ISO text with an
    offset); ``body(case_id, seq)`` reads an entry whose offset is not in a column. The
    instants come out as the history entries have them: in the offset they were given in."""
    if not text:
        return {}
    found = _PLAIN.raw_decode(text)[0]
    if len(found) > 1:
        found.sort(key=_SEQ)
    entered: dict[str, dt.datetime] = {}
    zones = _ZONES
    for dest, seq, at, offset in found:
        if offset is None:
            at = _PLAIN.raw_decode(body(case_id, seq))[0]["at"]["$datetime"]
            entered[dest] = dt.datetime.fromisoformat(at)
        else:
            zone = zones.get(offset) or _zone(offset)
            entered[dest] = dt.datetime.fromisoformat(at).astimezone(zone)
    return entered


_SEQ = operator.itemgetter(1)


def _distinct_on(query: sa.Select[Any], *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """``query`` with PostgreSQL's ``DISTINCT ON (columns)``."""
    try:
        from sqlalchemy.dialects.postgresql import distinct_on
    except ImportError:  # SQLAlchemy 2.0
        return query.distinct(*columns)
    return query.ext(distinct_on(*columns))


@attrs.frozen
class _Writes:
    """Everything one create/commit writes, serialised and checked before any write."""

    case: dict[str, Any]
    entries: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    events: list[dict[str, Any]]
    key: dict[str, Any] | None


# --- the store ------------------------------------------------------------------------


class SqlStore(Store):
    """A store in an SQL database through SQLAlchemy 2 (SQLite or PostgreSQL).

    Args:
        url: a database URL (``"sqlite:///flow.db"``,
            ``"postgresql+psycopg://user@host/db"``) or an existing
            :class:`sqlalchemy.Engine` (the host's; it is not disposed by :meth:`close`).
        metadata: define the tables on this ``MetaData`` (the host's, for its Alembic).
        prefix: table name prefix.
        schema: the database schema of the tables (PostgreSQL).
        migrate: create or upgrade the tables on first use (with the shipped Alembic
            migrations). Pass False when the host's own migrations manage them.
        max_payload: largest JSON document stored per case row, history entry or
            event, in bytes (default 1 MiB); larger values raise
            :class:`PayloadTooLarge` before anything is written.
        lease: how long a claimed timer or outbox row is reserved for the worker that
            claimed it (measured in the ``now`` the callers pass).
        engine_options: passed to :func:`sqlalchemy.create_engine` when ``url`` is a URL.

    >>> import datetime as dt
    >>> from techsvc_flow import ProcessDefinition, State, Transition, Workflow
    >>> store = SqlStore("sqlite://")      # in memory; use a file for real work
    >>> p = ProcessDefinition(
    ...     name="ticket", version=1,
    ...     states=[State("open", initial=True), State("done", final=True)],
    ...     transitions=[Transition("close", source="open", dest="done")],
    ... )
    >>> wf = Workflow(store, processes=[p])
    >>> at = dt.datetime(2025, 10, 9, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    >>> wf.start("ticket", case_id="T-1", at=at).state
    'open'
    >>> wf.fire("T-1", "close", at=at).version
    2
    >>> store.load("T-1").updated_at.isoformat()   # the offset survives
    '2025-10-09T09:00:00+08:00'
    >>> store.close()
    """

    commits_itself = True
    #: how many cases :meth:`cases` reads per query
    page_size = 500
    #: how many cases :meth:`facts` fetches at a time
    facts_batch = 2000

    def __init__(
        self,
        url: str | sa.URL | Engine,
        /,
        *,
        metadata: sa.MetaData | None = None,
        prefix: str = "flow_",
        schema: str | None = None,
        migrate: bool = True,
        max_payload: int = 1 << 20,
        lease: dt.timedelta = dt.timedelta(minutes=1),
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        if max_payload < 1024:
            raise ValueError(f"max_payload must be at least 1024 bytes, not {max_payload}")
        if lease <= dt.timedelta(0):
            raise ValueError(f"lease must be positive, not {lease}")
        self._owns_engine = not isinstance(url, Engine)
        self.engine = _engine(url, engine_options or {})
        self.tables = flow_tables(metadata, prefix=prefix, schema=schema)
        self.dialect = self.engine.dialect.name
        self.max_payload = max_payload
        self.lease = lease
        self._sizer = _Sizer(max_payload)
        #: identifies this store's claims on timer and outbox rows
        self.worker_id = uuid.uuid4().hex
        # writes take SQLite's write lock up front; single-statement reads need no BEGIN
        self._writer = self.engine
        self._reader = self.engine
        if self.dialect == "sqlite":
            self._writer = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            self._reader = self.engine.execution_options(**{_BEGIN_OPTION: "NONE"})
        elif self.dialect == "postgresql":
            self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._statements()
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        return f"SqlStore({self.engine.url.render_as_string()!r}, prefix={self.tables.prefix!r})"

    # --- schema --------------------------------------------------------------------------

    def migrate(self) -> None:
        """Create the tables or upgrade them to :data:`SCHEMA_REVISION` (if not there)."""
        with self.engine.connect() as conn:
            if current_revision(conn, self.tables) == SCHEMA_REVISION:
                return
        _upgrade_engine(self.engine, self.tables)

    # --- transactions --------------------------------------------------------------------

    def bind(self, target: Connection | Session, /) -> SqlStore:
        """This store, writing inside the host's transaction on ``target``.

        The returned store's ``commits_itself`` is False: nothing is durable until the
        host commits ``target``'s transaction, and a rollback drops our writes with the
        host's. A workflow using it (``workflow.with_store(store.bind(session))``) does
        not deliver events itself; they wait in the outbox for :meth:`Workflow.dispatch`
        after the host's commit.
        """
        if not isinstance(target, Connection | Session):
            raise TypeError(
                f"bind() takes a SQLAlchemy Connection or Session, not {type(target).__name__}"
            )
        return _BoundSqlStore(self, target)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._writer.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._reader.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read-only transaction: its statements see one state of the database."""
        engine = self.engine
        if self.dialect == "postgresql":
            engine = engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with engine.connect() as conn, conn.begin():  # SQLite: a deferred BEGIN
            yield conn

    # --- statements ------------------------------------------------------------------------

    def _statements(self) -> None:
        t = self.tables
        c, h, tm, o, k = t.cases, t.history, t.timers, t.outbox, t.idempotency
        bp = sa.bindparam
        self._case_columns = [c.c[name] for name in (*_CASE_COLUMNS, "body")]
        self._sel_case = sa.select(*self._case_columns).where(c.c.id == bp("b_id"))
        self._sel_seq = sa.select(c.c.seq).where(c.c.id == bp("b_id"))
        self._ins_case = sa.insert(c)
        self._upd_case = (
            sa.update(c)
            .where(c.c.id == bp("b_id"), c.c.seq == bp("b_seq"))
            .values({name: bp(name, type_=c.c[name].type) for name in _UPDATED})
        )
        # whether the case has timers to replace, learnt in the same statement (saves a
        # DELETE per commit for the many cases without a running SLA clock)
        self._returning = self.dialect in ("sqlite", "postgresql")
        if self._returning:
            has_timers = sa.exists().where(tm.c.case_id == bp("b_id"))
            self._upd_case = self._upd_case.returning(has_timers.label("has_timers"))
        self._ins_history = sa.insert(h)
        self._sel_history = (
            sa.select(h.c.seq, h.c.body).where(h.c.case_id == bp("b_id")).order_by(h.c.seq)
        )
        self._del_timers = sa.delete(tm).where(tm.c.case_id == bp("b_id"))
        self._ins_timers = sa.insert(tm)
        self._ins_key = sa.insert(k)
        self._sel_key = (
            sa.select(c.c.id, k.c.body)
            .select_from(c.outerjoin(k, sa.and_(k.c.case_id == c.c.id, k.c.key == bp("b_key"))))
            .where(c.c.id == bp("b_id"))
        )
        if self.dialect == "postgresql":
            self._ins_outbox: Any = pg_dialect.insert(o).on_conflict_do_nothing(
                index_elements=[o.c.event_id]
            )
        elif self.dialect == "sqlite":
            self._ins_outbox = sqlite_dialect.insert(o).on_conflict_do_nothing(
                index_elements=[o.c.event_id]
            )
        else:
            self._ins_outbox = sa.insert(o)

    # --- writing -------------------------------------------------------------------------

    def _prepare(
        self,
        case: Case,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
        idempotency_key: str | None,
    ) -> _Writes:
        size = self._sizer
        _key(case.id, "case id")
        name = f"case {case.id!r}"
        row = {
            "id": case.id,
            "process": _key(case.process, f"{name} process"),
            "process_version": case.process_version,
            "state": _key(case.state, f"{name} state"),
            "version": case.version,
            "seq": case.seq,
            "head": case.head,
            "created_at": _aware(case.created_at, f"{name} created_at"),
            "updated_at": _aware(case.updated_at, f"{name} updated_at"),
            "body": size(_case_body(case), f"{name} (data, counts and clocks)"),
        }
        entry_rows = []
        for entry in entries:
            body = entry.content()
            del body["case_id"], body["seq"]
            body["payload"] = _escape(entry.payload)
            body["hash"] = entry.hash
            entry_rows.append(
                {
                    "case_id": case.id,
                    "seq": entry.seq,
                    "kind": entry.kind,
                    "at": _aware(entry.at, f"{name} history entry {entry.seq} at"),
                    "version": entry.version,
                    "hash": entry.hash,
                    "body": size(body, f"{name} history entry {entry.seq} ({entry.kind})"),
                    "dest": None if entry.dest is None else _key(entry.dest, f"{name} dest"),
                    "at_offset": _offset(entry.at),
                }
            )
        timer_rows = [
            {
                "case_id": case.id,
                "sla": _key(timer.sla, f"{name} SLA name"),
                "mark": _key(timer.mark, f"{name} SLA mark"),
                "due_at": _aware(timer.due_at, f"{name} timer due_at"),
            }
            for timer in timers
        ]
        event_rows = [
            {
                "event_id": _key(event.id, "event id"),
                "case_id": event.case_id,
                "type": event.type,
                "status": "pending",
                "attempts": 0,
                "delivered_to": "[]",
                "event": size(
                    {
                        "type": event.type,
                        "process": event.process,
                        "at": event.at,
                        "payload": _escape(event.payload),
                    },
                    f"{name} event {event.type}",
                ),
            }
            for event in events
        ]
        key_row = None
        if idempotency_key is not None:
            key_row = {
                "case_id": case.id,
                "key": _key(idempotency_key, "idempotency key"),
                "body": size(
                    {**case.to_dict(), "data": _escape(case.data)},
                    f"{name} (as remembered for the idempotency key)",
                ),
            }
        return _Writes(row, entry_rows, timer_rows, event_rows, key_row)

    def _write_children(self, conn: Connection, writes: _Writes, *, old_timers: bool) -> None:
        def rows(items: list[dict[str, Any]]) -> Any:
            return items[0] if len(items) == 1 else items  # one row: no executemany

        if writes.entries:
            conn.execute(self._ins_history, rows(writes.entries))
        if old_timers:
            conn.execute(self._del_timers, {"b_id": writes.case["id"]})
        if writes.timers:
            conn.execute(self._ins_timers, rows(writes.timers))
        if writes.events:
            conn.execute(self._ins_outbox, rows(writes.events))
        if writes.key is not None:
            conn.execute(self._ins_key, writes.key)

    def create(
        self,
        case: Case,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
    ) -> None:
        writes = self._prepare(case, entries, timers, events, None)
        try:
            with self._write() as conn:
                seq = conn.execute(self._sel_seq, {"b_id": case.id}).scalar()
                if seq is not None:
                    raise ConcurrentUpdate(case.id, 0, self._version(conn, case.id))
                conn.execute(self._ins_case, writes.case)
                self._write_children(conn, writes, old_timers=False)
        except sa.exc.IntegrityError as exc:  # a concurrent create won the race
            raise ConcurrentUpdate(case.id, 0, None) from exc

    def _version(self, conn: Connection, case_id: str) -> int | None:
        c = self.tables.cases
        version: int | None = conn.execute(sa.select(c.c.version).where(c.c.id == case_id)).scalar()
        return version

    def commit(
        self,
        case: Case,
        expected_seq: int,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
        idempotency_key: str | None = None,
    ) -> None:
        writes = self._prepare(case, entries, timers, events, idempotency_key)
        params = {name: writes.case[name] for name in _UPDATED}
        params["b_id"] = case.id
        params["b_seq"] = expected_seq
        with self._write() as conn:
            result = conn.execute(self._upd_case, params)
            if self._returning:
                row = result.first()
                updated, old_timers = row is not None, bool(row and row.has_timers)
            else:
                updated, old_timers = result.rowcount == 1, True
            if not updated:
                actual = conn.execute(self._sel_seq, {"b_id": case.id}).scalar()
                if actual is None:
                    raise CaseNotFound(case.id)
                raise ConcurrentUpdate(case.id, expected_seq, actual)
            self._write_children(conn, writes, old_timers=old_timers)

    # --- reading -------------------------------------------------------------------------

    def load(self, case_id: str) -> Case:
        with self._read() as conn:
            row = conn.execute(self._sel_case, {"b_id": case_id}).first()
        if row is None:
            raise CaseNotFound(case_id)
        return _case_from(row)

    def history(self, case_id: str) -> list[HistoryEntry]:
        with self._read() as conn:
            rows = conn.execute(self._sel_history, {"b_id": case_id}).all()
            if not rows and conn.execute(self._sel_seq, {"b_id": case_id}).first() is None:
                raise CaseNotFound(case_id)
        return [_entry_from(case_id, seq, body) for seq, body in rows]

    def idempotent(self, case_id: str, key: str) -> Case | None:
        with self._read() as conn:
            row = conn.execute(self._sel_key, {"b_id": case_id, "b_key": key}).first()
        if row is None:
            raise CaseNotFound(case_id)
        if row.body is None:
            return None
        return Case.from_dict(_loads(row.body))

    def cases(self, process: str | None = None, state: str | None = None) -> Iterator[Case]:
        """The stored cases in id order, read a page at a time (no connection is held
        between pages, so the caller may stop early)."""
        c = self.tables.cases
        query = sa.select(*self._case_columns).order_by(c.c.id).limit(self.page_size)
        if process is not None:
            query = query.where(c.c.process == process)
        if state is not None:
            query = query.where(c.c.state == state)
        after: str | None = None
        while True:
            page = query if after is None else query.where(c.c.id > after)
            with self._read() as conn:
                rows = conn.execute(page).all()
            for row in rows:
                yield _case_from(row)
            if len(rows) < self.page_size:
                return
            after = rows[-1].id

    def facts(
        self,
        processes: Iterable[str] | None = None,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Iterator[CaseFacts]:
        """The :class:`~techsvc_flow.facts.CaseFacts` of the stored cases, computed in the
        database: the same facts, in the same order, as :meth:`Store.facts`.

        One query per process, in a read-only transaction and streamed (a server-side
        cursor on PostgreSQL): the cases, filtered by process and period in SQL, in id
        order, each with the first entry into each state it has been in, grouped in SQL
        over the history's ``entered`` index. The first entry is the one with the lowest
        ``seq``, as reading the history in order finds it (not the earliest instant: a
        history's instants need not be in order), and its instant comes back in the UTC
        offset it was written with. On databases other than SQLite and PostgreSQL: the
        default.

        A connection and its read transaction are held until the iterator is exhausted
        or closed: while it is open, SQLite cannot checkpoint its WAL past it and
        PostgreSQL's vacuum cannot remove rows it might still see.
        """
        if self.dialect not in ("sqlite", "postgresql"):
            yield from super().facts(processes, since=since, until=until)
            return
        names: list[str | None] = [None] if processes is None else list(dict.fromkeys(processes))
        for name in names:
            yield from self._facts(name, since, until)

    def _facts(
        self, process: str | None, since: dt.datetime | None, until: dt.datetime | None
    ) -> Iterator[CaseFacts]:
        query = self._facts_query(process, since, until)
        with self._snapshot() as conn:
            for facts, _ in self._facts_rows(conn, query, stream=True):
                yield facts

    def _facts_rows(
        self, conn: Connection, query: sa.Select[Any], *, stream: bool
    ) -> Iterator[tuple[CaseFacts, int]]:
        """Each case's facts and its ``seq`` (the version of its history they are of)."""
        h = self.tables.history
        body = sa.select(h.c.body).where(h.c.case_id == sa.bindparam("b_id"))
        body = body.where(h.c.seq == sa.bindparam("b_seq"))

        def read(case_id: str, seq: int) -> str:
            text: str = conn.execute(body, {"b_id": case_id, "b_seq": seq}).scalar_one()
            return text

        options = {"stream_results": True, "yield_per": self.facts_batch} if stream else {}
        for row in conn.execute(query, execution_options=options):
            yield _facts_from(row, _entered(row[5], row[0], read)), row[6]

    def _facts_of(self, conn: Connection, ids: Sequence[str]) -> list[CaseFacts]:
        """The facts of the cases ``ids`` (those that exist, in id order), read on
        ``conn``: as :meth:`facts` gives them (SQLite and PostgreSQL)."""
        query = self._facts_query(None, None, None, ids)
        return [facts for facts, _ in self._facts_rows(conn, query, stream=False)]

    def _facts_query(
        self,
        process: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        ids: Sequence[str] | None = None,
    ) -> sa.Select[Any]:
        """The selected cases in id order: ``_FACT_COLUMNS``, then a JSON array of
        ``[state, seq, at, at_offset]``, the first entry into each state of the case,
        then the case's ``seq``."""
        c, h = self.tables.cases, self.tables.history

        def chosen(cases: sa.FromClause) -> list[sa.ColumnElement[bool]]:
            where: list[sa.ColumnElement[bool]] = []
            if process is not None:
                where.append(cases.c.process == process)
            if until is not None:
                where.append(cases.c.created_at < _aware(until, "until"))
            if since is not None:
                where.append(cases.c.updated_at >= _aware(since, "since"))
            if ids is not None:
                where.append(cases.c.id.in_(ids))
            return where

        columns = [c.c[name] for name in _FACT_COLUMNS]
        # the kinds as literals, as in the entered index's predicate: a planner cannot
        # match a partial index to bound parameters
        kinds: list[sa.ColumnElement[Any]] = [
            sa.literal_column(f"'{kind}'") for kind in ("start", "fire")
        ]
        entering = (h.c.kind.in_(kinds), h.c.dest.is_not(None))
        if self.dialect == "sqlite":
            # the stored text is UTC: give it its offset
            local = sa.type_coerce(h.c.at, sa.Text).concat(sa.literal_column("'+00:00'"))
            # per case, the entries grouped by state (min(seq): the other columns come from
            # the row holding the minimum), read in the order of the entered index
            first = (
                sa.select(
                    h.c.dest, sa.func.min(h.c.seq).label("seq"), local.label("at"), h.c.at_offset
                )
                .where(h.c.case_id == c.c.id, *entering)
                .group_by(h.c.dest)
                .correlate(c)
                .subquery("f")
            )
            entered = sa.select(
                sa.func.json_group_array(
                    sa.func.json_array(first.c.dest, first.c.seq, first.c.at, first.c.at_offset)
                )
            ).scalar_subquery()
            return sa.select(*columns, entered, c.c.seq).where(*chosen(c)).order_by(c.c.id)
        # PostgreSQL: the first entries of the chosen cases (DISTINCT ON over the entered
        # index), then one array per case, merged with the cases by id
        c2 = c.alias("chosen")
        first = _distinct_on(
            sa.select(h.c.case_id, h.c.dest, h.c.seq, h.c.at, h.c.at_offset)
            .select_from(c2.join(h, h.c.case_id == c2.c.id))
            .where(*entering, *chosen(c2))
            .order_by(h.c.case_id, h.c.dest, h.c.seq),
            h.c.case_id,
            h.c.dest,
        ).subquery("f")
        array = sa.func.json_build_array(first.c.dest, first.c.seq, first.c.at, first.c.at_offset)
        per_case = (
            sa.select(first.c.case_id, sa.func.json_agg(array).label("entered"))
            .group_by(first.c.case_id)
            .subquery("e")
        )
        return (
            sa.select(*columns, sa.cast(per_case.c.entered, sa.Text), c.c.seq)
            .select_from(c.outerjoin(per_case, per_case.c.case_id == c.c.id))
            .where(*chosen(c))
            .order_by(c.c.id)
        )

    # --- timers and outbox: claimed for a lease -------------------------------------------

    def _claimable(self, table: sa.Table, now: dt.datetime) -> sa.ColumnElement[bool]:
        return sa.or_(
            table.c.claimed_until.is_(None),
            table.c.claimed_until <= now,
            table.c.claimed_by == self.worker_id,
        )

    def due_timers(self, now: dt.datetime, limit: int) -> list[Timer]:
        tm = self.tables.timers
        pick = (
            sa.select(tm.c.case_id, tm.c.sla)
            .where(tm.c.due_at <= now, self._claimable(tm, now))
            .order_by(tm.c.due_at, tm.c.case_id, tm.c.sla)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        claim = (
            sa.update(tm)
            .where(sa.tuple_(tm.c.case_id, tm.c.sla).in_(pick))
            .values(claimed_until=now + self.lease, claimed_by=self.worker_id)
            .returning(tm.c.case_id, tm.c.sla, tm.c.mark, tm.c.due_at)
        )
        with self._write() as conn:
            rows = conn.execute(claim).all()
        timers = [Timer(r.case_id, r.sla, r.mark, r.due_at) for r in rows]
        timers.sort(key=lambda t: (t.due_at, t.case_id, t.sla))
        return timers

    def pending(self, now: dt.datetime, limit: int) -> list[Delivery]:
        o = self.tables.outbox
        pick = (
            sa.select(o.c.n)
            .where(
                o.c.status == "pending",
                sa.or_(o.c.next_attempt_at.is_(None), o.c.next_attempt_at <= now),
                self._claimable(o, now),
            )
            .order_by(o.c.status, o.c.n)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        claim = (
            sa.update(o)
            .where(o.c.n.in_(pick))
            .values(claimed_until=now + self.lease, claimed_by=self.worker_id)
            .returning(*o.c)
        )
        with self._write() as conn:
            rows = conn.execute(claim).all()
        return [_delivery_from(r) for r in sorted(rows, key=lambda r: int(r.n))]

    def save_delivery(self, delivery: Delivery) -> None:
        o = self.tables.outbox
        values = {
            "status": delivery.status,
            "attempts": delivery.attempts,
            "next_attempt_at": delivery.next_attempt_at,
            "delivered_to": json.dumps(list(delivery.delivered_to), ensure_ascii=False),
            "last_error": delivery.last_error,
            "claimed_until": None,
            "claimed_by": None,
        }
        with self._write() as conn:
            done = conn.execute(
                sa.update(o).where(o.c.event_id == delivery.event.id).values(values)
            )
            if done.rowcount == 0:
                writes = self._prepare_event(delivery.event)
                conn.execute(self._ins_outbox, {**writes, **values})

    def _prepare_event(self, event: Event) -> dict[str, Any]:
        body = {
            "type": event.type,
            "process": event.process,
            "at": event.at,
            "payload": _escape(event.payload),
        }
        return {
            "event_id": _key(event.id, "event id"),
            "case_id": event.case_id,
            "type": event.type,
            "event": self._sizer(body, f"event {event.id}"),
        }

    def dead(self, limit: int = 100) -> list[Delivery]:
        o = self.tables.outbox
        query = sa.select(o).where(o.c.status == "dead").order_by(o.c.status, o.c.n).limit(limit)
        with self._read() as conn:
            return [_delivery_from(r) for r in conn.execute(query)]

    def requeue(self, event_id: str, now: dt.datetime) -> Delivery:
        o = self.tables.outbox
        with self._write() as conn:
            row = conn.execute(
                sa.update(o)
                .where(o.c.event_id == event_id)
                .values(
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    delivered_to="[]",
                    claimed_until=None,
                    claimed_by=None,
                )
                .returning(*o.c)
            ).first()
        if row is None:
            raise KeyError(f"no outbox event {event_id!r}")
        return _delivery_from(row)

    def quality_index(
        self, calendar: WorkCalendar, config: QualityConfig
    ) -> ObservationIndex | None:
        """The quality observations kept in this database (see
        :class:`~techsvc_flow.sqlquality.ObservationIndex`): on SQLite and PostgreSQL
        once the schema has the index's tables (revision 0003), else ``None``."""
        from .sqlquality import ObservationIndex

        if not ObservationIndex.available(self):
            return None
        return ObservationIndex(self, calendar=calendar, config=config)

    def close(self) -> None:
        """Dispose of the engine if this store made it."""
        if self._owns_engine:
            self.engine.dispose()


class _BoundSqlStore(SqlStore):
    """A :class:`SqlStore` view writing inside the host's transaction (see ``bind``)."""

    commits_itself = False

    def __init__(self, parent: SqlStore, target: Connection | Session) -> None:
        # share everything with the parent (statements, tables, claims), not the engine use
        self.__dict__.update(parent.__dict__)
        self._owns_engine = False
        self._target = target
        self.parent = parent

    def __repr__(self) -> str:
        return f"{self.parent!r}.bind({type(self._target).__name__})"

    def _connection(self) -> Connection:
        if isinstance(self._target, Session):
            return self._target.connection()
        return self._target

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        yield self._connection()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        yield self._connection()

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        yield self._connection()

    def migrate(self) -> None:
        self.parent.migrate()

    def bind(self, target: Connection | Session, /) -> SqlStore:
        return self.parent.bind(target)

    def close(self) -> None:
        """Nothing to release: the host owns the connection."""
