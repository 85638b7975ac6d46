"""The SQL store's tables: :func:`flow_tables` defines them on a ``MetaData``.

Eight tables hold the cases (``<prefix>cases``, ``<prefix>history``, ``<prefix>timers``,
``<prefix>outbox``, ``<prefix>idempotency``, ``<prefix>work``, ``<prefix>case_fields``,
``<prefix>indexed_fields``), three the
quality-indicator observations
(``<prefix>quality_obs``, ``<prefix>quality_seen``, ``<prefix>quality_meta``). The
shipped migrations (``sql/migrations/``) create the same schema; a test checks that
they agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import sqlalchemy as sa

from .._codec import MAX_KEY  # longest id, process, state, SLA name or key (characters)
from .._time import UTC
from .errors import UnstorableValue

__all__ = ["MAX_KEY", "SqlTables", "UtcDateTime", "flow_tables"]


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
            they were made with (:class:`~techsvc_flow.sql.ObservationIndex`).
        processes: the content hash of each process version that ran here (a version
            number stands for one content: :meth:`SqlStore.record_process`).
        calendars: the calendar data loaded here, in order (notices, holiday-cn files,
            schedules, overlays: :meth:`SqlStore.add_calendar_data`).
        work: who may act on each case, for worklists (revision 0007).
        case_fields: the values of each case's indexed data fields (revision 0008).
        indexed_fields: which fields of which process are indexed (revision 0008).
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
    processes: sa.Table
    calendars: sa.Table
    work: sa.Table
    case_fields: sa.Table
    indexed_fields: sa.Table
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
    ['crm_flow_calendars', 'crm_flow_case_fields', 'crm_flow_cases', 'crm_flow_history',
     'crm_flow_idempotency', 'crm_flow_indexed_fields', 'crm_flow_outbox', 'crm_flow_processes',
     'crm_flow_quality_meta', 'crm_flow_quality_obs', 'crm_flow_quality_seen',
     'crm_flow_timers', 'crm_flow_work']
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
            existing("processes"),
            existing("calendars"),
            existing("work"),
            existing("case_fields"),
            existing("indexed_fields"),
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
        # copied out of the body for worklists and queries (revision 0007): the
        # assignee, the earliest due instant of the running clocks (NEVER when none
        # runs, so that it sorts last), whether a clock is paused (1) or not (0)
        sa.Column("assignee", sa.String(MAX_KEY), nullable=True),
        sa.Column("due_at", UtcDateTime, nullable=True),
        sa.Column("paused", sa.SmallInteger, nullable=True),
        # a digest of the case's ``work`` and ``case_fields`` rows (revision 0008): a
        # commit rewrites them only when it differs from the digest the rows carry
        sa.Column("index_sig", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{p}cases"),
        sa.Index(f"ix_{p}cases_process_state", "process", "state"),
        sa.Index(f"ix_{p}cases_due_at", "due_at", "id"),
        sa.Index(f"ix_{p}cases_updated_at", "updated_at", "id"),
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
        # a timer pushed back because its case could not be processed (revision 0004):
        # the failed attempts, the error, when it first failed
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("since", UtcDateTime, nullable=True),
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
    # who may act on a case (revision 0007): ``u:<id>`` for its assignee and delegate,
    # ``r:<role>`` for each candidate role while unclaimed, with the case's due instant
    work = sa.Table(
        f"{p}work",
        metadata,
        sa.Column("case_id", sa.String(MAX_KEY)),
        sa.Column("who", sa.String(MAX_KEY + 2)),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("sig", sa.String(32), nullable=True),  # the case's index_sig (0008)
        sa.PrimaryKeyConstraint("case_id", "who", name=f"pk_{p}work"),
        case_fk("work"),
        sa.Index(f"ix_{p}work_who_due", "who", "due_at", "case_id"),
        schema=schema,
    )
    # the values of the indexed data fields (revision 0008), one row per case and
    # field: text (str, date, datetime as UTC ISO text) in ``s``, numbers in ``n``
    case_fields = sa.Table(
        f"{p}case_fields",
        metadata,
        sa.Column("case_id", sa.String(MAX_KEY)),
        sa.Column("name", sa.String(MAX_KEY)),
        sa.Column("s", sa.String(MAX_KEY), nullable=True),
        sa.Column("n", sa.Float, nullable=True),
        sa.Column("sig", sa.String(32), nullable=True),  # the case's index_sig
        sa.PrimaryKeyConstraint("case_id", "name", name=f"pk_{p}case_fields"),
        case_fk("case_fields"),
        sa.Index(f"ix_{p}case_fields_s", "name", "s", "case_id"),
        sa.Index(f"ix_{p}case_fields_n", "name", "n", "case_id"),
        schema=schema,
    )
    # the fields whose rows are kept, by process: a field newly declared indexed is
    # filled in from the case bodies once (``SqlStore.index_fields``)
    indexed_fields = sa.Table(
        f"{p}indexed_fields",
        metadata,
        sa.Column("process", sa.String(MAX_KEY)),
        sa.Column("name", sa.String(MAX_KEY)),
        sa.PrimaryKeyConstraint("process", "name", name=f"pk_{p}indexed_fields"),
        schema=schema,
    )
    processes = sa.Table(
        f"{p}processes",
        metadata,
        sa.Column("name", sa.String(MAX_KEY)),
        sa.Column("version", sa.Integer),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name=f"pk_{p}processes"),
        schema=schema,
    )
    calendars = sa.Table(
        f"{p}calendars",
        metadata,
        sa.Column("calendar", sa.String(MAX_KEY)),
        sa.Column("digest", sa.String(64)),
        sa.Column("n", sa.Integer, nullable=False),  # the order it was loaded in
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("calendar", "digest", name=f"pk_{p}calendars"),
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
        processes,
        calendars,
        work,
        case_fields,
        indexed_fields,
        prefix,
        schema,
    )
