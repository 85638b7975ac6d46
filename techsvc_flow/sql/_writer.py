"""The writes of a create and a commit, in as few driver calls as the database allows
(private to :mod:`techsvc_flow.sql`).

A fire's write is the store's hottest path, and on a real network every round trip to
the database costs more than all the client's work. So the statements are compiled once
per store and sent through the database driver itself:

- **PostgreSQL**: the whole write — the case row under the optimistic check, its history
  entries, its timers and work rows replaced, its outbox rows and idempotency key — is
  *one* statement (data-modifying ``WITH`` clauses, each table's rows passed as one
  JSON document and expanded by ``json_to_recordset``). Every child write reads the
  row the ``UPDATE`` (or ``INSERT … ON CONFLICT DO NOTHING``) returned, so when the
  check fails nothing at all is written.
  Sent outside a transaction it is its own transaction: one round trip, no ``BEGIN``,
  no ``COMMIT``; inside a host's transaction it is one statement of that transaction.
- **SQLite** (in process; statements cost CPU, not round trips): the same writes as
  separate statements in the store's ``BEGIN IMMEDIATE`` transaction, precompiled, their
  parameters converted by the columns' own SQLAlchemy bind processors, repeated rows
  sent with ``executemany``.

The optimistic check also refuses a commit whose idempotency key is stored already, so
that a fire computed from a cached case can never apply a request twice.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from ._rows import _CASE_COLUMNS, _UPDATED, _WORK_COLUMNS, _Writes
from .tables import SqlTables

__all__ = ["Writer", "driver_connection", "rows_replaced", "writer_for"]

#: every column of a new case row (the keys of ``_Writes.case`` on current tables)
_CASE_INSERTED = (*_CASE_COLUMNS, "created_at", "updated_at", "body", *_WORK_COLUMNS, "index_sig")
_HISTORY = ("case_id", "seq", "kind", "at", "version", "hash", "body", "dest", "at_offset")
_TIMER = ("case_id", "sla", "mark", "due_at", "attempts", "error", "since")
_OUTBOX = ("event_id", "case_id", "type", "status", "attempts", "delivered_to", "event")
_KEY = ("case_id", "key", "body")
_WORK = ("case_id", "who", "due_at", "sig")
_FIELDS = ("case_id", "name", "s", "n", "sig")
_TIMER_DEFAULTS = {"attempts": 0, "error": None, "since": None}


class Writer(abc.ABC):
    """Writes a case's create or commit (:class:`_Writes`) on a connection."""

    #: whether :meth:`commit` and :meth:`create` need a transaction around them
    needs_transaction = True

    @abc.abstractmethod
    def create(self, conn: Connection, w: _Writes) -> bool:
        """Insert the case and its children; False (nothing written) if the id is taken."""

    @abc.abstractmethod
    def commit(self, conn: Connection, w: _Writes, seq: int, head: str) -> bool:
        """Update the case from ``seq``/``head`` and write its children; False (nothing
        written) if the case is not at ``seq``/``head`` or the key is stored already."""

    #: the case row's columns as :func:`~._rows._case_from` reads them, by id
    load_sql: str
    #: the placeholder of the case id in :attr:`load_sql`
    load_param: Callable[[str], Any]

    def load(self, conn: Connection, case_id: str) -> tuple[Any, ...] | None:
        """The case row (``_CASE_COLUMNS`` and ``body``), or None."""
        cursor = driver_connection(conn).cursor()
        try:
            cursor.execute(self.load_sql, self.load_param(case_id))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else tuple(row)


def rows_replaced(t: SqlTables) -> sa.ColumnElement[bool]:
    """Whether a commit must replace the case's stored ``work`` and ``case_fields``
    rows (labelled ``has_work``, for the case row's ``UPDATE … RETURNING``): they are
    not those of the new ``index_sig`` (a digest the rows carry) — rows with another
    digest, or none with it while it names some."""
    w, f, bp = t.work, t.case_fields, sa.bindparam
    sig = bp("index_sig", type_=t.cases.c.index_sig.type)
    return sa.or_(
        sa.exists().where(w.c.case_id == bp("b_id"), w.c.sig.is_distinct_from(sig)),
        sa.exists().where(f.c.case_id == bp("b_id"), f.c.sig.is_distinct_from(sig)),
        sa.and_(
            sig.is_not(None),
            ~sa.exists().where(w.c.case_id == bp("b_id"), w.c.sig == sig),
            ~sa.exists().where(f.c.case_id == bp("b_id"), f.c.sig == sig),
        ),
    ).label("has_work")


def driver_connection(conn: Connection) -> Any:
    """The driver's own connection under ``conn``."""
    return conn.connection.dbapi_connection


# --- SQLite ------------------------------------------------------------------------------


class _Statement:
    """A statement compiled once: its driver SQL and how to turn a row into parameters."""

    def __init__(self, statement: Any, dialect: sa.Dialect, keys: Sequence[str] = ()) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        self.sql: str = compiled.string
        names: list[str] = list(compiled.positiontup or ())
        self.convert: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ]

    def params(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            row[name] if convert is None or row[name] is None else convert(row[name])
            for name, convert in self.convert
        )


class _SqliteWriter(Writer):
    def __init__(self, tables: SqlTables, dialect: sa.Dialect) -> None:
        t = tables
        c, k, tm, w, bp = t.cases, t.idempotency, t.timers, t.work, sa.bindparam
        update = (
            sa.update(c)
            .where(
                c.c.id == bp("b_id"),
                c.c.seq == bp("b_seq"),
                c.c.head == bp("b_head"),
                ~sa.exists().where(k.c.case_id == bp("b_id"), k.c.key == bp("b_key")),
            )
            .values({name: bp(name, type_=c.c[name].type) for name in _UPDATED})
            .returning(
                sa.exists().where(tm.c.case_id == bp("b_id")).label("has_timers"),
                rows_replaced(t),
            )
        )
        self.update = _Statement(update, dialect)
        select = sa.select(*[c.c[n] for n in (*_CASE_COLUMNS, "body")]).where(c.c.id == bp("b_id"))
        self.load_sql = _Statement(select, dialect).sql
        self.load_param = _one
        self.insert_case = _Statement(
            sqlite_dialect.insert(c).on_conflict_do_nothing(index_elements=[c.c.id]),
            dialect,
            _CASE_INSERTED,
        )
        self.history = _Statement(sa.insert(t.history), dialect, _HISTORY)
        self.timers = _Statement(sa.insert(tm), dialect, _TIMER)
        self.outbox = _Statement(
            sqlite_dialect.insert(t.outbox).on_conflict_do_nothing(
                index_elements=[t.outbox.c.event_id]
            ),
            dialect,
            _OUTBOX,
        )
        self.key = _Statement(sa.insert(k), dialect, _KEY)
        self.work = _Statement(sa.insert(w), dialect, _WORK)
        self.fields = _Statement(sa.insert(t.case_fields), dialect, _FIELDS)
        self.del_timers = _Statement(sa.delete(tm).where(tm.c.case_id == bp("b_id")), dialect)
        self.del_work = _Statement(sa.delete(w).where(w.c.case_id == bp("b_id")), dialect)
        f = t.case_fields
        self.del_fields = _Statement(sa.delete(f).where(f.c.case_id == bp("b_id")), dialect)

    def create(self, conn: Connection, w: _Writes) -> bool:
        cursor = driver_connection(conn).cursor()
        try:
            cursor.execute(self.insert_case.sql, self.insert_case.params(w.case))
            if cursor.rowcount != 1:
                return False
            self._children(cursor, w, old_timers=False, old_work=None)
        finally:
            cursor.close()
        return True

    def commit(self, conn: Connection, w: _Writes, seq: int, head: str) -> bool:
        params = {name: w.case[name] for name in _UPDATED}
        params |= {"b_id": w.case["id"], "b_seq": seq, "b_head": head,
                   "b_key": None if w.key is None else w.key["key"]}  # fmt: skip
        cursor = driver_connection(conn).cursor()
        try:
            row = cursor.execute(self.update.sql, self.update.params(params)).fetchone()
            if row is None:
                return False
            self._children(cursor, w, old_timers=bool(row[0]), old_work=bool(row[1]))
        finally:
            cursor.close()
        return True

    def _children(
        self, cursor: Any, w: _Writes, *, old_timers: bool, old_work: bool | None
    ) -> None:
        """The rows beside the case row; ``old_work``: whether the stored ``work`` and
        ``case_fields`` rows are to be replaced (``None``: a new case has none)."""
        case_id = (w.case["id"],)
        _rows(cursor, self.history, w.entries)
        if old_timers:
            cursor.execute(self.del_timers.sql, case_id)
        _rows(cursor, self.timers, [_TIMER_DEFAULTS | row for row in w.timers])
        _rows(cursor, self.outbox, w.events)
        if w.key is not None:
            cursor.execute(self.key.sql, self.key.params(w.key))
        if old_work is False:  # the stored rows are these already
            return
        if old_work:
            cursor.execute(self.del_work.sql, case_id)
            if w.fields is not None:
                cursor.execute(self.del_fields.sql, case_id)
        _rows(cursor, self.work, w.work)
        _rows(cursor, self.fields, w.fields or [])


def _one(value: str) -> tuple[str]:
    return (value,)


def _rows(cursor: Any, statement: _Statement, rows: Sequence[Mapping[str, Any]]) -> None:
    if len(rows) == 1:
        cursor.execute(statement.sql, statement.params(rows[0]))
    elif rows:
        cursor.executemany(statement.sql, [statement.params(row) for row in rows])


# --- PostgreSQL --------------------------------------------------------------------------

#: the children of the written case row ``done`` (the ``RETURNING id`` of the update or
#: insert): each reads ``done``, so nothing is written when it is empty
_CHILDREN = """\
, h AS (
  INSERT INTO {history} (case_id, seq, kind, at, version, hash, body, dest, at_offset)
  SELECT done.id, x.* FROM done, json_to_recordset(%(h)s::json) AS x(
    seq int, kind text, at timestamptz, version int, hash text, body text, dest text,
    at_offset int)
), td AS (
  DELETE FROM {timers} WHERE case_id IN (SELECT id FROM done)
    AND sla NOT IN (SELECT y.sla FROM json_to_recordset(%(t)s::json) AS y(sla text))
), ti AS (
  INSERT INTO {timers} (case_id, sla, mark, due_at, attempts, error, since)
  SELECT done.id, x.* FROM done, json_to_recordset(%(t)s::json) AS x(
    sla text, mark text, due_at timestamptz, attempts int, error text, since timestamptz)
  ON CONFLICT (case_id, sla) DO UPDATE SET mark = EXCLUDED.mark, due_at = EXCLUDED.due_at,
    attempts = EXCLUDED.attempts, error = EXCLUDED.error, since = EXCLUDED.since,
    claimed_until = NULL, claimed_by = NULL
), o AS (
  INSERT INTO {outbox} (event_id, case_id, type, status, attempts, delivered_to, event)
  SELECT x.event_id, x.case_id, x.type, 'pending', 0, '[]', x.event
  FROM done, json_to_recordset(%(o)s::json) AS x(
    event_id text, case_id text, type text, event text)
  ON CONFLICT (event_id) DO NOTHING
), k AS (
  INSERT INTO {keys} (case_id, key, body)
  SELECT done.id, %(k_key)s::text, %(k_body)s::text FROM done WHERE %(k_key)s::text IS NOT NULL
), wd AS (
  DELETE FROM {work} WHERE case_id IN (SELECT id FROM done)
    AND who NOT IN (SELECT y.who FROM json_to_recordset(%(w)s::json) AS y(who text))
), wi AS (
  INSERT INTO {work} AS old (case_id, who, due_at, sig)
  SELECT done.id, x.* FROM done, json_to_recordset(%(w)s::json) AS x(
    who text, due_at timestamptz, sig text)
  ON CONFLICT (case_id, who) DO UPDATE SET due_at = EXCLUDED.due_at, sig = EXCLUDED.sig
    WHERE (old.due_at, old.sig) IS DISTINCT FROM (EXCLUDED.due_at, EXCLUDED.sig)
), fd AS (
  DELETE FROM {fields} WHERE %(f_kept)s::boolean AND case_id IN (SELECT id FROM done)
    AND name <> ALL(%(f_name)b::text[])
), fi AS (
  INSERT INTO {fields} AS old (case_id, name, s, n, sig)
  SELECT done.id, x.* FROM done, unnest(
    %(f_name)b::text[], %(f_s)b::text[], %(f_n)b::float8[], %(f_sig)b::text[]) AS x
  ON CONFLICT (case_id, name) DO UPDATE SET s = EXCLUDED.s, n = EXCLUDED.n, sig = EXCLUDED.sig
    WHERE (old.s, old.n, old.sig) IS DISTINCT FROM (EXCLUDED.s, EXCLUDED.n, EXCLUDED.sig)
)
SELECT count(*) FROM done"""

_UPDATE = """\
WITH done AS (
  UPDATE {cases} SET {assignments}
  WHERE id = %(b_id)s AND seq = %(b_seq)s AND head = %(b_head)s
    AND NOT EXISTS (SELECT 1 FROM {keys} WHERE case_id = %(b_id)s AND key = %(k_key)s::text)
  RETURNING id
)"""

_INSERT = """\
WITH done AS (
  INSERT INTO {cases} ({columns}) VALUES ({values})
  ON CONFLICT (id) DO NOTHING RETURNING id
)"""


class _PostgresWriter(Writer):
    needs_transaction = False

    def __init__(self, tables: SqlTables, dialect: sa.Dialect) -> None:
        quote = dialect.identifier_preparer.format_table
        names = {
            "cases": quote(tables.cases),
            "history": quote(tables.history),
            "timers": quote(tables.timers),
            "outbox": quote(tables.outbox),
            "keys": quote(tables.idempotency),
            "work": quote(tables.work),
            "fields": quote(tables.case_fields),
        }
        children = _CHILDREN.format(**names)
        columns = ", ".join((*_CASE_COLUMNS, "body"))
        self.load_sql = f"SELECT {columns} FROM {names['cases']} WHERE id = %(b_id)s"
        self.load_param = _by_id
        assignments = ", ".join(f"{name} = %({name})s" for name in _UPDATED)
        self.update = _UPDATE.format(assignments=assignments, **names) + children
        self.insert = (
            _INSERT.format(
                columns=", ".join(_CASE_INSERTED),
                values=", ".join(f"%({name})s" for name in _CASE_INSERTED),
                **names,
            )
            + children
        )

    def create(self, conn: Connection, w: _Writes) -> bool:
        params = dict(w.case)
        for name in ("created_at", "updated_at", "due_at"):  # index_sig: as it is
            params[name] = _utc(params[name])
        return self._run(conn, self.insert, params, w)

    def commit(self, conn: Connection, w: _Writes, seq: int, head: str) -> bool:
        params = {name: w.case[name] for name in _UPDATED}
        params["updated_at"] = _utc(params["updated_at"])
        params["due_at"] = _utc(params["due_at"])
        params |= {"b_id": w.case["id"], "b_seq": seq, "b_head": head}
        return self._run(conn, self.update, params, w)

    def _run(self, conn: Connection, sql: str, params: dict[str, Any], w: _Writes) -> bool:
        # the rows go as JSON documents (one per table), the fields' values as arrays
        # (numbers stay doubles): the driver adapts a handful of text parameters
        # instead of an array per column
        params["h"] = _json(w.entries, _HISTORY[1:], ("at",))
        params["t"] = _json([_TIMER_DEFAULTS | r for r in w.timers], _TIMER[1:],
                            ("due_at", "since"))  # fmt: skip
        params["o"] = _json(w.events, ("event_id", "case_id", "type", "event"), ())
        params["w"] = _json(w.work, ("who", "due_at", "sig"), ("due_at",))
        params |= _columns("f", w.fields or [], {"name": "name", "s": "s", "n": "n", "sig": "sig"})
        # the fields of a process that indexes some (``None``: it indexes none)
        params["f_kept"] = w.fields is not None
        key = w.key
        params["k_key"] = None if key is None else key["key"]
        params["k_body"] = None if key is None else key["body"]
        with driver_connection(conn).cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return bool(row[0])


def _by_id(value: str) -> dict[str, str]:
    return {"b_id": value}


_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json(rows: Sequence[Mapping[str, Any]], names: Sequence[str], instants: Sequence[str]) -> str:
    """``rows`` as a JSON array of objects of ``names`` (``instants`` as ISO text in UTC)."""
    out = []
    for row in rows:
        item = {name: row[name] for name in names}
        for name in instants:
            value = item[name]
            if value is not None:
                item[name] = value.astimezone(dt.UTC).isoformat()
        out.append(item)
    return _DUMPS(out)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """An instant in UTC (the driver cannot send every offset, e.g. one of seconds)."""
    return None if value is None else value.astimezone(dt.UTC)


def _columns(
    prefix: str, rows: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> dict[str, list[Any]]:
    """``rows`` as one array per column, named ``<prefix>_<name>``."""
    return {f"{prefix}_{name}": [row[column] for row in rows] for name, column in names.items()}


def writer_for(tables: SqlTables, dialect: sa.Dialect) -> Writer | None:
    """The writer for ``dialect`` (None: write with SQLAlchemy statements)."""
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return _PostgresWriter(tables, dialect)
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return _SqliteWriter(tables, dialect)
    return None
