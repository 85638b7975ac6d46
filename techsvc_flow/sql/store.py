"""Durable state in an SQL database, on SQLAlchemy 2: the :class:`SqlStore`.

SQLite is the embedded default (``SqlStore("sqlite:///flow.db")``: a file in WAL mode);
PostgreSQL (driver psycopg 3, extra ``techsvc_flow[postgres]``) is the store when many
application servers share the cases.

Five tables, named ``<prefix>cases``, ``<prefix>history``, ``<prefix>timers``,
``<prefix>outbox`` and ``<prefix>idempotency`` (prefix ``flow_`` unless told
otherwise, optionally in a schema), are defined (:mod:`techsvc_flow.sql.tables`) on a
:class:`sqlalchemy.MetaData` the host may pass, so that the host's own Alembic sees
them. The package ships their migrations: :func:`~techsvc_flow.sql.upgrade`
(``python -m techsvc_flow db upgrade URL``) creates or
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
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from ..case import GENESIS, Case, HistoryEntry
from ..errors import CaseExists, CaseNotFound, ConcurrentUpdate, InvalidValue
from ..facts import CaseFacts
from ..notifications import Delivery, Event
from ..query import CaseQuery, check_group, sort_key
from ..sla import Timer
from ..store import Store, StoredHistory, broken_head, continuation
from ._facts import _facts_query, _facts_rows
from ._queries import count_statement, query_statement
from ._recent import RecentCases
from ._rows import (
    _CASE_COLUMNS,
    _UPDATED,
    _WORK_COLUMNS,
    _case_from,
    _delivery_from,
    _entry_from,
    _event_row,
    _field_rows,
    _loads,
    _outbox_row,
    _prepare,
    _row_problems,
    _Sizer,
    _timer_row,
    _Writes,
)
from ._writer import Writer, driver_connection, rows_replaced, writer_for
from .quality_index import ObservationIndex
from .schema import (
    BEGIN_OPTION,
    SCHEMA_REVISION,
    check_revision,
    current_revision,
    make_engine,
    upgrade_engine,
)
from .tables import flow_tables

if TYPE_CHECKING:
    from ..calendar import WorkCalendar
    from ..quality import QualityConfig

__all__ = ["SqlStore", "open_store"]


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
            :class:`~techsvc_flow.sql.PayloadTooLarge` before anything is written.
        lease: how long a claimed timer or outbox row is reserved for the worker that
            claimed it (measured in the ``now`` the callers pass).
        engine_options: passed to :func:`sqlalchemy.create_engine` when ``url`` is a URL.
        cache_size: how many cases this store remembers as it last read or wrote them
            (see :meth:`cached`; 0: none).

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
        cache_size: int = 1024,
    ) -> None:
        if max_payload < 1024:
            raise ValueError(f"max_payload must be at least 1024 bytes, not {max_payload}")
        if lease <= dt.timedelta(0):
            raise ValueError(f"lease must be positive, not {lease}")
        self._recent = RecentCases(cache_size)
        self._owns_engine = not isinstance(url, Engine)
        self.engine = make_engine(url, engine_options or {})
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
            self._writer = self.engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
            self._reader = self.engine.execution_options(**{BEGIN_OPTION: "NONE"})
        elif self.dialect == "postgresql":
            self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._statements()
        if migrate:
            try:
                self.migrate()
            except Exception:
                self.close()
                raise

    def __repr__(self) -> str:
        return f"SqlStore({self.engine.url.render_as_string()!r}, prefix={self.tables.prefix!r})"

    # --- schema --------------------------------------------------------------------------

    def migrate(self) -> None:
        """Create the tables or upgrade them to :data:`SCHEMA_REVISION` (if not there).

        Raises:
            SchemaTooNew: a newer version of this library migrated the database.
        """
        self.__dict__.pop("_defers_known", None)
        self.__dict__.pop("_works_known", None)
        self.__dict__.pop("_fast_known", None)
        self.__dict__.pop("_indexes_known", None)
        with self.engine.connect() as conn:
            revision = current_revision(conn, self.tables)
        if revision == SCHEMA_REVISION:
            return
        check_revision(revision)
        upgrade_engine(self.engine, self.tables)

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

    # The connections below are the store's interface to its own package (the
    # observation index uses them): every statement of the store runs on one of them.

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A connection in a write transaction, committed when the block ends (rolled
        back on an exception); on SQLite it holds the write lock from the start. In a
        bound store: the host's connection, in the host's transaction."""
        with self._writer.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for single-statement reads (each sees the latest commit)."""
        with self._reader.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _statement(self) -> Iterator[Connection]:
        """A connection for a write made of one statement: outside a transaction on
        PostgreSQL (the statement is its own transaction: no ``BEGIN``/``COMMIT`` round
        trips), in a write transaction elsewhere; the host's in a bound store."""
        if self.dialect == "postgresql":
            with self._reader.connect() as conn:
                yield conn
        else:
            with self.writing() as conn:
                yield conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
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
        self._sel_tip = sa.select(c.c.seq, c.c.head).where(c.c.id == bp("b_id"))
        self._ins_case = sa.insert(c)
        upsert: Any = {"postgresql": pg_dialect.insert, "sqlite": sqlite_dialect.insert}
        insert = upsert.get(self.dialect)
        self._ins_case_new: Any = None
        if insert is not None:
            self._ins_case_new = (
                insert(c).on_conflict_do_nothing(index_elements=[c.c.id]).returning(c.c.id)
            )
        self._upd_case = self._update_case(_UPDATED)
        # on tables of revision 0007 and before (a store made with ``migrate=False``)
        self._upd_case_0007 = self._update_case(_UPDATED[:-1])
        self._upd_case_0005 = self._update_case(
            [n for n in _UPDATED if n not in (*_WORK_COLUMNS, "index_sig")]
        )
        # whether the case has timers to replace, learnt in the same statement (saves a
        # DELETE per commit for the many cases without a running SLA clock)
        self._returning = self.dialect in ("sqlite", "postgresql")
        w, f = t.work, t.case_fields
        if self._returning:
            has_timers = sa.exists().where(tm.c.case_id == bp("b_id")).label("has_timers")
            stale = rows_replaced(t)
            self._upd_case = self._upd_case.returning(has_timers, stale)
            # on 0007 tables (no digests) the rows are replaced every time
            always = sa.literal(True).label("has_work")
            self._upd_case_0007 = self._upd_case_0007.returning(has_timers, always)
            self._upd_case_0005 = self._upd_case_0005.returning(has_timers)
        self._upd_case_0008 = self._upd_case
        self._del_work = sa.delete(w).where(w.c.case_id == bp("b_id"))
        self._ins_work = sa.insert(w)
        self._del_fields = sa.delete(f).where(f.c.case_id == bp("b_id"))
        self._ins_fields = sa.insert(f)
        #: the indexed fields of each process (``index_fields``)
        self._indexed: dict[str, tuple[str, ...]] = {}
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
        self._writes = writer_for(t, self.engine.dialect)

    def _update_case(self, names: Sequence[str]) -> Any:
        c, bp = self.tables.cases, sa.bindparam
        return (
            sa.update(c)
            .where(c.c.id == bp("b_id"), c.c.seq == bp("b_seq"), c.c.head == bp("b_head"))
            .values({name: bp(name, type_=c.c[name].type) for name in names})
        )

    @property
    def _works(self) -> bool:
        """Whether the tables keep who acts next (revision 0007; a store made with
        ``migrate=False`` may run on older tables: it then writes without, and answers
        queries by reading every case)."""
        known: bool | None = self.__dict__.get("_works_known")
        if known is None:
            c = self.tables.cases
            with self.reading() as conn:
                columns = sa.inspect(conn).get_columns(c.name, schema=c.schema)
            known = self.__dict__["_works_known"] = any(x["name"] == "assignee" for x in columns)
        return known

    @property
    def _fast(self) -> Writer | None:
        """The driver-level writer, on tables of the current revision (a store made
        with ``migrate=False`` on older tables writes with SQLAlchemy statements)."""
        known: tuple[Writer | None] | None = self.__dict__.get("_fast_known")
        if known is None:
            current = self._writes is not None and self._works and self._defers and self._indexes
            known = self.__dict__["_fast_known"] = (self._writes if current else None,)
        return known[0]

    # --- the cache of recent cases -------------------------------------------------------

    def cached(self, case_id: str) -> Case | None:
        """The case as this store last read or wrote it, if it still remembers it.

        It may be stale (another process may have written the case since): a commit
        computed from it is refused with :class:`~techsvc_flow.ConcurrentUpdate` by
        the optimistic check, which also refuses a commit whose idempotency key is
        stored already. :meth:`Workflow.fire` uses it to skip the read of a case it
        has just written, and falls back to a fresh read when the commit (or the
        fire's checks) fail. Each call decodes the remembered row anew: the case
        returned is the caller's own. Always None on tables of an older revision (a
        store made with ``migrate=False``): their writes do not check the key.
        """
        if self._fast is None:  # older tables: the write cannot check the key
            return None
        row = self._recent.get(case_id)
        return None if row is None else _case_from(row)

    @property
    def _indexes(self) -> bool:
        """Whether the tables keep indexed fields and row digests (revision 0008; on
        older tables a commit writes without them, rewriting the ``work`` rows every
        time, and a query on fields reads every case)."""
        known: bool | None = self.__dict__.get("_indexes_known")
        if known is None:
            c = self.tables.cases
            with self.reading() as conn:
                columns = sa.inspect(conn).get_columns(c.name, schema=c.schema)
            known = any(x["name"] == "index_sig" for x in columns)
            self.__dict__["_indexes_known"] = known
            self._upd_case = self._upd_case_0008 if known else self._upd_case_0007
        return known

    def index_fields(self, process: str, fields: Mapping[str, str]) -> None:
        """Keep the ``case_fields`` rows of ``fields`` for the cases of ``process`` from
        now on; a field not kept before (the ``indexed_fields`` table) is filled in
        from the stored cases' bodies first, in one transaction. Every worker writing
        cases of ``process`` must register the same definitions (a worker that does
        not know a field is indexed writes its cases without it)."""
        known = self._indexed.get(process, ())
        if not self._indexes or set(fields) <= set(known):  # nothing new here
            return
        names = tuple(sorted({*known, *fields}))
        self._indexed[process] = names
        ix, c = self.tables.indexed_fields, self.tables.cases
        with self.writing() as conn:
            listed = conn.execute(sa.select(ix.c.name).where(ix.c.process == process))
            kept = {n for (n,) in listed}
            new = [n for n in sorted(fields) if n not in kept]
            if not new:
                return
            conn.execute(sa.insert(ix), [{"process": process, "name": n} for n in new])
            read = (
                sa.select(*self._case_columns)
                .where(c.c.process == process)
                .order_by(c.c.id)
                .limit(self.page_size)
            )
            after: str | None = None
            while True:
                rows = conn.execute(read if after is None else read.where(c.c.id > after)).all()
                found = [r for row in rows for r in _field_rows(_case_from(row), new)]
                if found:  # without a digest: the case's next commit rewrites its rows
                    conn.execute(self._ins_fields, [r | {"sig": None} for r in found])
                if len(rows) < self.page_size:
                    return
                after = rows[-1].id

    # --- writing -------------------------------------------------------------------------

    def _prepare(
        self,
        case: Case,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
        idempotency_key: str | None,
    ) -> _Writes:
        """The rows a create or commit of ``case`` writes, checked and serialised."""
        if not self._indexes:
            writes = _prepare(self._sizer, case, entries, timers, events, idempotency_key)
            del writes.case["index_sig"]
            for row in writes.work:
                del row["sig"]
        else:
            indexed = self._indexed.get(case.process)
            writes = _prepare(self._sizer, case, entries, timers, events, idempotency_key,
                              indexed)  # fmt: skip
        if not self._works:
            for name in _WORK_COLUMNS:
                del writes.case[name]
            writes.work.clear()
        return writes

    def _write_children(
        self,
        conn: Connection,
        writes: _Writes,
        *,
        old_timers: bool,
        old_work: bool | None = None,
    ) -> None:
        """Write the rows beside the case row. ``old_work``: ``None`` for a new case;
        else whether the stored ``work`` and ``case_fields`` rows are to be replaced
        (the UPDATE's ``has_work``: they are not those of the new digest)."""

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
        if old_work is False:  # the stored rows are these already
            return
        if old_work:
            conn.execute(self._del_work, {"b_id": writes.case["id"]})
            if writes.fields is not None:
                conn.execute(self._del_fields, {"b_id": writes.case["id"]})
        if writes.work:
            conn.execute(self._ins_work, rows(writes.work))
        if writes.fields:
            conn.execute(self._ins_fields, rows(writes.fields))

    def create(
        self,
        case: Case,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
    ) -> None:
        writes = self._prepare(case, entries, timers, events, None)
        broken = _broken(case, 0, entries, GENESIS)
        if broken is not None:  # refused either way; a taken id is named first
            with self.reading() as conn:
                if conn.execute(self._sel_seq, {"b_id": case.id}).first() is not None:
                    raise CaseExists(case.id)
            raise broken
        fast = self._fast
        if fast is not None:
            with self.writing() if fast.needs_transaction else self._statement() as conn:
                if not fast.create(conn, writes):
                    raise CaseExists(case.id)
        else:
            with self.writing() as conn:
                if not self._insert_case(conn, writes.case):
                    raise CaseExists(case.id)
                self._write_children(conn, writes, old_timers=False)
        self._recent.put(_row_of(writes.case))

    def _insert_case(self, conn: Connection, row: dict[str, Any]) -> bool:
        """Insert the case row unless its id is taken (by a concurrent writer too);
        whether it was inserted. A taken id raises no database error, so a host's
        transaction stays usable."""
        if self._ins_case_new is not None:  # INSERT ... ON CONFLICT DO NOTHING RETURNING id
            return conn.execute(self._ins_case_new, row).first() is not None
        try:
            with conn.begin_nested():  # a savepoint: the refusal rolls back only itself
                conn.execute(self._ins_case, row)
        except sa.exc.IntegrityError:
            return False
        return True

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
        broken = _broken(case, expected_seq, entries, None)
        head = entries[0].prev if entries else case.head
        fast = self._fast
        if fast is not None:
            if broken is None:
                with self.writing() if fast.needs_transaction else self._statement() as conn:
                    done = fast.commit(conn, writes, expected_seq, head)
                if done:
                    self._recent.put(_row_of(writes.case))
                    return
                self._recent.forget(case.id)
                broken = broken_head(case.id, expected_seq)
            with self.reading() as conn:
                self._refuse(conn, case.id, expected_seq, broken, idempotency_key)
        works = self._works
        params = {name: writes.case[name] for name in _UPDATED if name in writes.case}
        params["b_id"] = case.id
        params["b_seq"] = expected_seq
        params["b_head"] = entries[0].prev if entries else case.head
        with self.writing() as conn:
            if broken is not None:
                self._refuse(conn, case.id, expected_seq, broken)
            result = conn.execute(self._upd_case if works else self._upd_case_0005, params)
            if self._returning:
                row = result.first()
                updated, old_timers = row is not None, bool(row and row.has_timers)
                old_work = works and bool(row and row.has_work)
            else:
                updated, old_timers, old_work = result.rowcount == 1, True, works
            if not updated:
                self._refuse(conn, case.id, expected_seq, broken_head(case.id, expected_seq))
            self._write_children(conn, writes, old_timers=old_timers, old_work=old_work)

    def _refuse(
        self,
        conn: Connection,
        case_id: str,
        expected_seq: int,
        broken: InvalidValue,
        key: str | None = None,
    ) -> NoReturn:
        """Raise why a commit cannot be written: no such case, the case has moved on,
        ``key`` is stored already (the same request again), or else ``broken`` (the
        entries do not continue the stored chain)."""
        tip = conn.execute(self._sel_tip, {"b_id": case_id}).first()
        if tip is None:
            raise CaseNotFound(case_id)
        if tip.seq != expected_seq:
            raise ConcurrentUpdate(case_id, expected_seq, tip.seq)
        if key is not None:
            found = conn.execute(self._sel_key, {"b_id": case_id, "b_key": key}).first()
            if found is not None and found.body is not None:
                raise ConcurrentUpdate(case_id, expected_seq, tip.seq)
        raise broken

    # --- reading -------------------------------------------------------------------------

    def load(self, case_id: str) -> Case:
        fast = self._fast
        with self.reading() as conn:
            if fast is not None:
                row = fast.load(conn, case_id)
            else:
                row = conn.execute(self._sel_case, {"b_id": case_id}).first()
        if row is None:
            raise CaseNotFound(case_id)
        self._recent.put(tuple(row))
        return _case_from(row)

    def history(self, case_id: str) -> list[HistoryEntry]:
        with self.reading() as conn:
            rows = conn.execute(self._sel_history, {"b_id": case_id}).all()
            if not rows and conn.execute(self._sel_seq, {"b_id": case_id}).first() is None:
                raise CaseNotFound(case_id)
        return [_entry_from(case_id, seq, body) for seq, body in rows]

    def stored_history(self, case_id: str) -> StoredHistory:
        """The case's history as stored, for verification: every row read on its own
        (one that cannot be decoded is named, not raised), and every column that a
        report or query reads beside the JSON body checked against the chained entry
        (``kind``, ``at``, ``at_offset``, ``dest``, ``version``, ``hash``) or against
        the case's body (``created_at``, ``updated_at``)."""
        c, h = self.tables.cases, self.tables.history
        raw = sa.type_coerce
        case_row = sa.select(
            raw(c.c.created_at, sa.Text), raw(c.c.updated_at, sa.Text), c.c.body
        ).where(c.c.id == case_id)
        rows = (
            sa.select(
                h.c.seq,
                h.c.kind,
                raw(h.c.at, sa.Text),
                h.c.at_offset,
                h.c.dest,
                h.c.version,
                h.c.hash,
                h.c.body,
            )
            .where(h.c.case_id == case_id)
            .order_by(h.c.seq)
        )
        with self.snapshot() as conn:
            found = conn.execute(case_row).first()
            if found is None:
                raise CaseNotFound(case_id)
            entries, problems = _row_problems(case_id, found, conn.execute(rows))
        return StoredHistory(tuple(entries), tuple(problems))

    def idempotent(self, case_id: str, key: str) -> Case | None:
        with self.reading() as conn:
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
            with self.reading() as conn:
                rows = conn.execute(page).all()
            for row in rows:
                yield _case_from(row)
            if len(rows) < self.page_size:
                return
            after = rows[-1].id

    def query(
        self, query: CaseQuery, limit: int, after: tuple[dt.datetime, str] | None = None
    ) -> list[Case]:
        """The cases matching ``query`` (see :meth:`Store.query`), asked of the indexes:
        ``due_at`` or ``updated_at`` with the id for the order and the keyset, the
        ``work`` table for an assignee or candidate roles (one range per role,
        merged)."""
        if not self._works or (query.fields and not self._indexes):  # older tables
            return super().query(query, limit, after)
        if len(query.roles) > 1:  # one index range per role, merged by the sort key
            merged: dict[str, tuple[Any, Case]] = {}
            for role in query.roles:
                for case in self.query(attrs.evolve(query, roles=(role,)), limit, after):
                    merged[case.id] = (sort_key(case, query.order), case)
            best = sorted(merged.values(), key=lambda kc: kc[0])[:limit]
            return [case for _, case in best]
        select = query_statement(self.tables, self._case_columns, query, limit, after)
        with self.reading() as conn:
            return [_case_from(row) for row in conn.execute(select)]

    def count(self, query: CaseQuery, by: str) -> dict[str | None, int]:
        """How many cases match ``query``, by group (see :meth:`Store.count`), in one
        grouped statement."""
        if not self._works or (query.fields and not self._indexes):  # older tables
            return super().count(query, by)
        check_group(by)  # before any query
        ids = None
        if query.assignee is not None or query.roles:
            ids = [case.id for case in self.query(query, 1 << 62)]
        select = count_statement(self.tables, query, by, ids)
        with self.reading() as conn:
            return {key: n for key, n in conn.execute(select)}

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
        query = _facts_query(self.tables, self.dialect, process, since, until)
        with self.snapshot() as conn:
            for facts, _ in _facts_rows(conn, self.tables, query, batch=self.facts_batch):
                yield facts

    def stream_facts(self, conn: Connection, process: str) -> Iterator[tuple[CaseFacts, int]]:
        """The facts of every case of ``process`` with the ``seq`` they are of (the
        version of the case's history), in id order, streamed on ``conn`` (from
        :meth:`snapshot`) :attr:`facts_batch` rows at a time. For the observation index.
        """
        query = _facts_query(self.tables, self.dialect, process, None, None)
        return _facts_rows(conn, self.tables, query, batch=self.facts_batch)

    def facts_of(self, conn: Connection, ids: Sequence[str]) -> list[CaseFacts]:
        """The facts of the cases ``ids`` (those that exist, in id order), read on
        ``conn``: as :meth:`facts` gives them (SQLite and PostgreSQL). For the
        observation index."""
        query = _facts_query(self.tables, self.dialect, None, None, None, ids)
        return [facts for facts, _ in _facts_rows(conn, self.tables, query, batch=None)]

    # --- timers and outbox: claimed for a lease -------------------------------------------

    def _claimable(self, table: sa.Table, now: dt.datetime) -> sa.ColumnElement[bool]:
        return sa.or_(
            table.c.claimed_until.is_(None),
            table.c.claimed_until <= now,
            table.c.claimed_by == self.worker_id,
        )

    def _picked(
        self, table: sa.Table, pick: sa.Select[Any], key: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[bool]:
        """The rows of ``table`` that ``pick`` (selecting ``key``) selects, for an update
        that claims them. On PostgreSQL ``pick`` locks them, skipping rows another
        claimer holds, and selects their physical addresses (locked rows stay put until
        the update): the update fetches them by address (a TID scan) rather than joining
        back through the primary key (1,000 of 1,000,000 timers: 30 -> 15 ms)."""
        if self.dialect != "postgresql":
            return key.in_(pick)
        ctid: sa.ColumnClause[Any] = sa.literal_column("ctid")
        pick = pick.with_only_columns(ctid).with_for_update(skip_locked=True)
        name = self.engine.dialect.identifier_preparer.format_table(table, use_schema=False)
        return sa.literal_column(f"{name}.ctid") == sa.any_(sa.func.array(pick.scalar_subquery()))

    def _claim_timers(self, now: Any, limit: Any, until: Any) -> Any:
        """The statement claiming up to ``limit`` timers due by ``now`` until ``until``."""
        tm = self.tables.timers
        pick = (
            sa.select(tm.c.case_id, tm.c.sla)
            .where(tm.c.due_at <= now, self._claimable(tm, now))
            .order_by(tm.c.due_at, tm.c.case_id, tm.c.sla)
            .limit(limit)
        )
        return (
            sa.update(tm)
            .where(self._picked(tm, pick, sa.tuple_(tm.c.case_id, tm.c.sla)))
            .values(claimed_until=until, claimed_by=self.worker_id)
            .returning(*self._timer_columns)
        )

    def due_timers(self, now: dt.datetime, limit: int) -> list[Timer]:
        until = now + self.lease
        if self._fast is not None and self.dialect == "postgresql":
            # through the driver: a thousand rows read without SQLAlchemy's result
            # processing (a third of the claim's time), with the statement compiled once
            compiled: tuple[str, dict[str, Any]] | None = self.__dict__.get("_claim_sql")
            if compiled is None:
                bp = sa.bindparam
                claim = self._claim_timers(bp("now", now), bp("limit", limit), bp("until", until))
                made = claim.compile(dialect=self.engine.dialect)
                compiled = self.__dict__["_claim_sql"] = (made.string, dict(made.params))
            sql, defaults = compiled  # the defaults: this store's worker id
            params = defaults | {"now": now, "limit": limit, "until": until}
            with self._statement() as conn, driver_connection(conn).cursor() as cursor:
                cursor.execute(sql, params)
                found = cursor.fetchall()
            utc = dt.UTC
            timers = [
                Timer(case_id, sla, mark, due.astimezone(utc), attempts, error,
                      since and since.astimezone(utc))
                for case_id, sla, mark, due, attempts, error, since in found
            ]  # fmt: skip
        else:
            with self._statement() as conn:  # one statement: its own transaction
                rows = conn.execute(self._claim_timers(now, limit, until)).all()
            timers = [Timer(*r) for r in rows]
        timers.sort(key=lambda t: (t.due_at, t.case_id, t.sla))
        return timers

    @property
    def _timer_columns(self) -> list[sa.Column[Any]]:
        tm = self.tables.timers
        names: tuple[str, ...] = ("case_id", "sla", "mark", "due_at")
        if self._defers:
            names += ("attempts", "error", "since")
        return [tm.c[name] for name in names]

    @property
    def _defers(self) -> bool:
        """Whether the timer rows can record a failure (revision 0004; a store made
        with ``migrate=False`` may run on older tables)."""
        known: bool | None = self.__dict__.get("_defers_known")
        if known is None:
            tm = self.tables.timers
            with self.reading() as conn:
                columns = sa.inspect(conn).get_columns(tm.name, schema=tm.schema)
            known = self.__dict__["_defers_known"] = any(c["name"] == "error" for c in columns)
        return known

    def defer_timer(self, timer: Timer, deferred: Timer, events: Sequence[Event] = ()) -> bool:
        """See :meth:`Store.defer_timer`.

        Raises:
            NotImplementedError: the tables predate revision 0004 (run ``db upgrade``).
        """
        if not self._defers:
            raise NotImplementedError(
                "the timers table predates schema revision 0004: run 'db upgrade'"
            )
        tm = self.tables.timers
        name = f"case {timer.case_id!r}"
        row = _timer_row(deferred, name)
        outbox = [_outbox_row(self._sizer, e, f"{name} event {e.type}") for e in events]
        push = (
            sa.update(tm)
            .where(
                tm.c.case_id == timer.case_id,
                tm.c.sla == timer.sla,
                tm.c.mark == timer.mark,
                tm.c.due_at == timer.due_at,
            )
            .values(
                {
                    **row,
                    "attempts": deferred.attempts,
                    "error": deferred.error,
                    "since": deferred.since,
                    "claimed_until": None,
                    "claimed_by": None,
                }
            )
        )
        with self.writing() as conn:
            if conn.execute(push).rowcount != 1:
                return False
            if outbox:
                conn.execute(self._ins_outbox, outbox)
        return True

    def deferred_timers(self, limit: int = 100, *, case_id: str | None = None) -> list[Timer]:
        if not self._defers:
            return []
        tm = self.tables.timers
        query = (
            sa.select(*self._timer_columns)
            .where(
                tm.c.error.is_not(None), sa.true() if case_id is None else tm.c.case_id == case_id
            )
            .order_by(tm.c.due_at, tm.c.case_id, tm.c.sla)
            .limit(limit)
        )
        with self.reading() as conn:
            return [Timer(*r) for r in conn.execute(query)]

    def incident_cases(self) -> Iterator[Case]:
        """The cases with open incidents (a text search of the case rows first)."""
        c = self.tables.cases
        query = sa.select(*self._case_columns).where(c.c.body.contains('"incidents"'))
        with self.reading() as conn:
            rows = conn.execute(query.order_by(c.c.id)).all()
        return (case for case in map(_case_from, rows) if case.incidents)

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
        claim = (
            sa.update(o)
            .where(self._picked(o, pick, o.c.n))
            .values(claimed_until=now + self.lease, claimed_by=self.worker_id)
            .returning(*o.c)
        )
        with self._statement() as conn:  # one statement: its own transaction
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
        with self.writing() as conn:
            done = conn.execute(
                sa.update(o).where(o.c.event_id == delivery.event.id).values(values)
            )
            if done.rowcount == 0:
                row = _event_row(self._sizer, delivery.event, f"event {delivery.event.id}")
                conn.execute(self._ins_outbox, {**row, **values})

    def dead(self, limit: int = 100) -> list[Delivery]:
        o = self.tables.outbox
        query = sa.select(o).where(o.c.status == "dead").order_by(o.c.status, o.c.n).limit(limit)
        with self.reading() as conn:
            return [_delivery_from(r) for r in conn.execute(query)]

    def requeue(self, event_id: str, now: dt.datetime) -> Delivery:
        o = self.tables.outbox
        with self.writing() as conn:
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

    def add_calendar_data(self, calendar: str, kind: str, body: str) -> bool:
        """See :meth:`Store.add_calendar_data`: kept in the ``calendars`` table (revision
        0006), keyed by the data's digest, so that loading it twice keeps it once."""
        t = self.tables.calendars
        digest = hashlib.sha256(f"{kind}\0{body}".encode()).hexdigest()
        dialect = pg_dialect if self.dialect == "postgresql" else sqlite_dialect
        with self.writing() as conn:
            last = conn.execute(
                sa.select(sa.func.max(t.c.n)).where(t.c.calendar == calendar)
            ).scalar_one()
            done = conn.execute(
                dialect.insert(t)
                .values(calendar=calendar, digest=digest, n=(last or 0) + 1, kind=kind, body=body)
                .on_conflict_do_nothing()
                .returning(t.c.n)
            ).first()
            return done is not None

    def calendar_data(self, calendar: str) -> list[tuple[str, str]]:
        """See :meth:`Store.calendar_data`."""
        t = self.tables.calendars
        query = sa.select(t.c.kind, t.c.body).where(t.c.calendar == calendar)
        with self.reading() as conn:
            if not sa.inspect(conn).has_table(t.name, schema=self.tables.schema):
                return []
            rows = conn.execute(query.order_by(t.c.n, t.c.digest)).all()
        return [(str(kind), str(body)) for kind, body in rows]

    def record_process(self, name: str, version: int, definition_hash: str) -> str:
        """See :meth:`Store.record_process`: kept in the ``processes`` table (revision
        0005; on older tables, with ``migrate=False``, nothing is recorded)."""
        t = self.tables
        with self.reading() as conn:
            if not sa.inspect(conn).has_table(t.processes.name, schema=t.schema):
                return definition_hash
        known = sa.select(t.processes.c.hash).where(
            t.processes.c.name == name, t.processes.c.version == version
        )
        with self.writing() as conn:
            row = conn.execute(known).first()
            if row is not None:
                return str(row[0])
            # cases of this version stored before the record was kept: their hash
            stored = conn.execute(
                sa.select(t.history.c.case_id, t.history.c.seq, t.history.c.body)
                .join(t.cases, t.cases.c.id == t.history.c.case_id)
                .where(t.cases.c.process == name, t.cases.c.process_version == version)
                .order_by(t.history.c.case_id, t.history.c.seq)
                .limit(1)
            ).first()
            found = (
                _entry_from(stored[0], stored[1], stored[2]).definition_hash
                if stored is not None
                else definition_hash
            )
            dialect = pg_dialect if self.dialect == "postgresql" else sqlite_dialect
            conn.execute(  # a registration racing this one may have recorded it meanwhile
                dialect.insert(t.processes)
                .values(name=name, version=version, hash=found)
                .on_conflict_do_nothing()
            )
            return str(conn.execute(known).scalar_one())

    def quality_index(
        self, calendar: WorkCalendar, config: QualityConfig
    ) -> ObservationIndex | None:
        """The quality observations kept in this database (see
        :class:`~techsvc_flow.sql.ObservationIndex`): on SQLite and PostgreSQL once the
        schema has the index's tables (revision 0003), else ``None``."""
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
    def writing(self) -> Iterator[Connection]:
        yield self._connection()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        yield self._connection()

    @contextlib.contextmanager
    def _statement(self) -> Iterator[Connection]:
        yield self._connection()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        yield self._connection()

    def migrate(self) -> None:
        self.parent.migrate()

    def bind(self, target: Connection | Session, /) -> SqlStore:
        return self.parent.bind(target)

    def close(self) -> None:
        """Nothing to release: the host owns the connection."""


_ROW_COLUMNS = (*_CASE_COLUMNS, "body")


def _row_of(written: Mapping[str, Any]) -> tuple[Any, ...]:
    """The row :meth:`SqlStore.load` reads, from the values a write wrote."""
    return tuple([written[name] for name in _ROW_COLUMNS])


def _broken(
    case: Case, expected_seq: int, entries: Sequence[HistoryEntry], start: str | None
) -> InvalidValue | None:
    """Why ``entries`` cannot continue the chain (see :func:`continuation`), or None."""
    try:
        head = continuation(case, expected_seq, entries)
    except InvalidValue as exc:
        return exc
    if start is not None and head != start:
        return broken_head(case.id, expected_seq)
    return None


def open_store(
    url: str | sa.URL, /, *, prefix: str = "flow_", schema: str | None = None
) -> SqlStore:
    """The existing store at ``url``, as it is: never creates or upgrades its tables
    (a mistyped URL must not look like an empty store). For the command line.
    ``prefix`` and ``schema`` are those the tables were created with (``SqlStore``'s).

    Raises:
        FileNotFoundError: ``url`` names a SQLite file that does not exist.
        LookupError: the database has no tables of this library (no revision).
        SchemaTooNew: a newer version of this library migrated the database.
        ImportError: the URL's database driver is not installed.
    """
    parsed = sa.make_url(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).exists():
        raise FileNotFoundError(f"no database file {file!r}")
    store = SqlStore(parsed, migrate=False, prefix=prefix, schema=schema)
    with store.engine.connect() as connection:
        revision = current_revision(connection, store.tables)
    try:
        if revision is None:
            where = parsed.render_as_string(hide_password=True)
            raise LookupError(
                f"no techsvc_flow tables at {where}: run 'techsvc-flow db upgrade URL'"
            )
        check_revision(revision)
    except Exception:
        store.close()
        raise
    return store
