"""Quality indicators in a SQL store: observations kept in the database, brought up to
date case by case, counted with ``GROUP BY``.

:func:`quality.report <techsvc_flow.quality.report>` over a
:class:`~techsvc_flow.sql.SqlStore` uses an :class:`ObservationIndex`: each case's
observations (:func:`~techsvc_flow.quality.windows`: what the seven indicators see of
it, for every judging instant) are stored in the
``quality_obs`` table, next to the case version they were made from. A report first
:meth:`~ObservationIndex.refresh` es the cases that changed since the last one (their
version differs), then counts the period's observations in one grouped query, month by
month; the lists of cases behind each figure are read only when asked for. So a report
costs what changed plus a scan of the period's observations, not a read of every case's
history. The index is made for one calendar and one
:class:`~techsvc_flow.quality.QualityConfig` (their digest is stored with it); another
calendar or configuration rebuilds it on the next refresh.

>>> import datetime as dt
>>> from techsvc_flow import WorkCalendar, Workflow
>>> from techsvc_flow.processes import complaint
>>> from techsvc_flow.quality import Period
>>> from techsvc_flow.sql import SqlStore
>>> calendar = WorkCalendar.china()
>>> store = SqlStore("sqlite://")
>>> wf = Workflow(store, calendar=calendar, processes=[complaint()])
>>> at = dt.datetime(2025, 10, 9, 9, 0, tzinfo=calendar.tz)
>>> _ = wf.start("complaint", case_id="C-1", at=at, data={"channel": "phone",
...     "category": "service_quality", "severity": "medium", "description": "late report"})
>>> index = ObservationIndex(store, calendar=calendar)
>>> index.refresh(), index.refresh()          # cases brought up to date: the first time only
(1, 0)
>>> q4 = Period.parse("2025-Q4", tz=calendar.tz)
>>> r = index.report(q4).result("complaint_timeliness")
>>> r.denominator, r.missed_cases             # never acknowledged: late on both limits
(1, ('C-1',))
>>> store.close()
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Protocol, TypeGuard, overload, runtime_checkable

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .._time import EPOCH as _EPOCH
from .._time import to_us as _us
from ..calendar import WorkCalendar
from ..errors import FlowError
from ..facts import CaseFacts
from ..quality import (
    DEFAULT_CONFIG,
    INDICATORS,
    IndicatorResult,
    Observation,
    Period,
    PeriodError,
    QualityConfig,
    QualityReport,
)
from ..quality.config import WHEN_COUNTED
from ..quality.observe import Calc, windows_of
from ..quality.tally import Tally, bits_tags, tag_bits, tally_result
from ._rows import fixed_zone, utc_offset
from .tables import SqlTables

__all__ = ["IndexOutOfDate", "IndexedStore", "ObservationIndex"]

#: the version of the observation rules: a library release that changes what the
#: indicators observe bumps it, and the next refresh rebuilds every index
RULES = "2"
_FINGERPRINT = "fingerprint"


class IndexOutOfDate(FlowError, RuntimeError):
    """The observation index was made with another calendar or configuration (or never):
    refresh it, or let ``report`` refresh it."""


@runtime_checkable
class IndexedStore(Protocol):
    """What an observation index needs of its store: a
    :class:`~techsvc_flow.sql.SqlStore` (or a view of it bound to the host's
    transaction) gives it. Every statement runs on a connection the store hands out."""

    @property
    def tables(self) -> SqlTables:
        """The store's tables, the index's among them."""
        ...

    @property
    def dialect(self) -> str:
        """The database's dialect name (``"sqlite"``, ``"postgresql"``)."""
        ...

    @property
    def engine(self) -> Engine:
        """The store's engine."""
        ...

    @property
    def commits_itself(self) -> bool:
        """False when the store writes in the host's transaction."""
        ...

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection for single-statement reads."""
        ...

    def writing(self) -> AbstractContextManager[Connection]:
        """A connection in a write transaction, committed when the block ends."""
        ...

    def snapshot(self) -> AbstractContextManager[Connection]:
        """A connection in a read-only transaction: one state of the database."""
        ...

    def facts_of(self, conn: Connection, ids: Sequence[str], /) -> list[CaseFacts]:
        """The facts of the cases ``ids`` that exist, in id order, read on ``conn``."""
        ...

    def stream_facts(self, conn: Connection, process: str, /) -> Iterator[tuple[CaseFacts, int]]:
        """Every case of ``process``: its facts and the ``seq`` they are of, streamed."""
        ...


def _indexable(store: object) -> TypeGuard[IndexedStore]:
    """Whether ``store`` is one an index can be kept for (SQLite or PostgreSQL)."""
    return isinstance(store, IndexedStore) and store.dialect in ("sqlite", "postgresql")


def fingerprint(calendar: WorkCalendar, config: QualityConfig) -> str:
    """The digest an index made for ``calendar`` and ``config`` is stored with: of what
    decides the observations (not the thresholds and basis, applied when counting)."""
    observing = attrs.asdict(config, filter=lambda a, _: a.name not in WHEN_COUNTED)
    described = json.dumps([RULES, calendar.digest(), observing], sort_keys=True, default=str)
    return hashlib.sha256(described.encode()).hexdigest()


def _instant(us: int, offset: int | None) -> dt.datetime:
    at = _EPOCH + dt.timedelta(microseconds=us)
    return at if offset is None else at.astimezone(fixed_zone(offset))


_OBS_COLUMNS = (
    "case_id",
    "n",
    "indicator",
    "process",
    "at_us",
    "at_offset",
    "hit",
    "satisfaction",
    "tags",
    "valid_after_us",
    "valid_until_us",
    "created_us",
    "updated_us",
    "timed",
)


class ObservationIndex:
    """The quality-indicator observations of a :class:`~techsvc_flow.sql.SqlStore`'s
    cases, in its database.

    Args:
        store: the store (SQLite or PostgreSQL), or a view of it bound to the host's
            transaction (``store.bind(connection)``): then the refresh writes in it.
        calendar: counts the working-day limits (the one the workflow runs on).
        config: thresholds and definitions (default
            :data:`~techsvc_flow.quality.DEFAULT_CONFIG`).

    Refreshes may run in several processes at once: their writes take turns (an
    advisory lock on PostgreSQL, the write lock on SQLite), each case's rows are replaced
    whole, in one transaction with the version they were made from. In a bound store
    the turn is held until the host's transaction ends. A rebuild streams every case
    from one read transaction while it writes: meanwhile SQLite cannot checkpoint its
    write-ahead log past it, and PostgreSQL's vacuum cannot remove rows it might see.
    """

    #: how many cases a refresh reads and writes at a time
    page_size = 2000

    def __init__(
        self,
        store: IndexedStore,
        *,
        calendar: WorkCalendar,
        config: QualityConfig = DEFAULT_CONFIG,
    ) -> None:
        if not _indexable(store):
            raise TypeError(
                f"an observation index needs a SqlStore on SQLite or PostgreSQL, not {store!r}"
            )
        self.store = store
        self.calendar = calendar
        self.config = config
        self.fingerprint = fingerprint(calendar, config)
        self._engaged = frozenset(config.engagements)
        self._calc = Calc(calendar)  # its deadline memo serves every page of a refresh
        digest = hashlib.sha256(f"{store.tables.schema}.{store.tables.prefix}".encode())
        self._lock_key = int.from_bytes(digest.digest()[:8], "big", signed=True)

    @staticmethod
    def available(store: object) -> bool:
        """Whether ``store`` can keep an index: a :class:`~techsvc_flow.sql.SqlStore` on
        SQLite or PostgreSQL whose schema has the index's tables (revision 0003 or
        later; run ``techsvc-flow db upgrade URL`` on an older one)."""
        if not _indexable(store):
            return False
        t = store.tables
        with store.reading() as conn:
            return sa.inspect(conn).has_table(t.quality_meta.name, schema=t.schema)

    def __repr__(self) -> str:
        return f"ObservationIndex({self.store!r}, fingerprint={self.fingerprint[:12]})"

    # --- writing -------------------------------------------------------------------------

    def _lock(self, conn: Connection) -> None:
        """Take the index's write turn until the transaction ends."""
        if self.store.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": self._lock_key})

    def _stored(self, conn: Connection) -> str | None:
        meta = self.store.tables.quality_meta
        query = sa.select(meta.c.value).where(meta.c.key == _FINGERPRINT)
        value: str | None = conn.execute(query).scalar_one_or_none()
        return value

    def _claim(self) -> bool:
        """Make the index this one's (emptied when it was another's); True if emptied."""
        t = self.store.tables
        with self.store.writing() as conn:
            self._lock(conn)
            if self._stored(conn) == self.fingerprint:
                return False
            conn.execute(sa.delete(t.quality_obs))
            conn.execute(sa.delete(t.quality_seen))
            conn.execute(sa.delete(t.quality_meta).where(t.quality_meta.c.key == _FINGERPRINT))
            conn.execute(
                sa.insert(t.quality_meta), [{"key": _FINGERPRINT, "value": self.fingerprint}]
            )
            return True

    @staticmethod
    def _put(
        conn: Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """Insert ``rows`` (values of ``columns``, needing no conversion) on the driver:
        with ``COPY`` on psycopg 3, else one ``executemany``."""
        name = conn.dialect.identifier_preparer.format_table(table)
        cursor = conn.connection.cursor()
        try:
            copy = getattr(cursor, "copy", None)
            if conn.dialect.name == "postgresql" and copy is not None:
                with copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as target:
                    for row in rows:
                        target.write_row(row)
            else:
                mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
                marks = ", ".join([mark] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows
                )
        finally:
            cursor.close()

    def _stale(self, after: str | None) -> sa.Select[Any]:
        """The next page of cases (id, seq) whose observations are missing or older."""
        c, seen = self.store.tables.cases, self.store.tables.quality_seen
        query = (
            sa.select(c.c.id, c.c.seq)
            .select_from(c.outerjoin(seen, seen.c.case_id == c.c.id))
            .where(
                c.c.process.in_(self.config.processes),
                sa.or_(seen.c.seq.is_(None), seen.c.seq != c.c.seq),
            )
            .order_by(c.c.id)
            .limit(self.page_size)
        )
        return query if after is None else query.where(c.c.id > after)

    def _rows(self, facts: list[CaseFacts]) -> list[tuple[Any, ...]]:
        """The rows of ``facts``' observations, in the order of :data:`_OBS_COLUMNS`."""
        cases = {f.id: f for f in facts}
        numbers: dict[str, int] = {}
        rows = []
        for w in windows_of(facts, self.config, self._calc):
            o = w.observation
            f = cases[o.case_id]
            n = numbers[o.case_id] = numbers.get(o.case_id, -1) + 1
            rows.append(
                (
                    o.case_id,
                    n,
                    o.indicator,
                    o.process,
                    _us(o.at),
                    utc_offset(o.at),
                    None if o.hit is None else int(o.hit),
                    None if o.satisfaction is None else str(o.satisfaction),
                    tag_bits(o.tags),
                    None if w.after is None else _us(w.after),
                    None if w.until is None else _us(w.until),
                    _us(f.created_at),
                    _us(f.updated_at),
                    f.process not in self._engaged,
                )
            )
        return rows

    def refresh(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Bring the observations of every changed case up to date; how many cases were
        (re)observed. The first refresh, and the first after the calendar or the
        configuration changed, observes every case of the configured processes.

        ``progress`` is called with the running count after each page.
        """
        done = 0
        rebuilt = self._claim()
        if rebuilt and self._streams():
            done = self._build(progress)
        # the cases whose version differs from the one observed (all of them after a
        # rebuild of a bound store; those changed meanwhile after a streamed one)
        after: str | None = None
        while True:
            with self.store.snapshot() as conn:
                page = conn.execute(self._stale(after)).all()
                ids = [row.id for row in page]
                facts = self.store.facts_of(conn, ids) if ids else []
            if ids:
                self._write(ids, [row.seq for row in page], self._rows(facts))
                done += len(page)
                if progress is not None:
                    progress(done)
            if len(page) < self.page_size:
                break
            after = ids[-1]
        if rebuilt and self.store.dialect == "postgresql":
            # the planner's statistics of the tables just filled (autovacuum's come
            # later): without them the report's query plans took twice as long
            t = self.store.tables
            with self.store.writing() as conn:
                for table in (t.quality_obs, t.quality_seen):
                    name = conn.dialect.identifier_preparer.format_table(table)
                    conn.execute(sa.text(f"ANALYZE {name}"))
        return done

    def _streams(self) -> bool:
        """Whether a rebuild may stream every case on one connection while it writes on
        another (not in the host's transaction, nor on a one-connection pool)."""
        store = self.store
        return store.commits_itself and not isinstance(store.engine.pool, sa.pool.StaticPool)

    def _build(self, progress: Callable[[int], None] | None) -> int:
        """Observe every case of the configured processes: their facts streamed from one
        snapshot (one query per process), written a page at a time."""
        done = 0
        with self.store.snapshot() as conn:
            for name in self.config.processes:
                batch: list[tuple[CaseFacts, int]] = []
                for pair in self.store.stream_facts(conn, name):
                    batch.append(pair)
                    if len(batch) < self.page_size:
                        continue
                    done += self._write_batch(batch)
                    batch = []
                    if progress is not None:
                        progress(done)
                if batch:
                    done += self._write_batch(batch)
        return done

    def _write_batch(self, batch: list[tuple[CaseFacts, int]]) -> int:
        facts = [f for f, _ in batch]
        self._write([f.id for f in facts], [seq for _, seq in batch], self._rows(facts))
        return len(batch)

    def _write(self, ids: list[str], seqs: list[int], rows: list[tuple[Any, ...]]) -> None:
        """Replace the observations of the cases ``ids``, observed at versions ``seqs``."""
        t = self.store.tables
        with self.store.writing() as conn:
            self._lock(conn)
            if self._stored(conn) != self.fingerprint:
                raise IndexOutOfDate(
                    "the observation index was rebuilt for another calendar or "
                    "configuration while this refresh ran; run it again"
                )
            conn.execute(sa.delete(t.quality_obs).where(t.quality_obs.c.case_id.in_(ids)))
            conn.execute(sa.delete(t.quality_seen).where(t.quality_seen.c.case_id.in_(ids)))
            if rows:
                self._put(conn, t.quality_obs, _OBS_COLUMNS, rows)
            seen = list(zip(ids, seqs, strict=True))
            self._put(conn, t.quality_seen, ("case_id", "seq"), seen)

    def stale(self) -> int:
        """How many cases a :meth:`refresh` would observe now."""
        c = self.store.tables.cases
        with self.store.snapshot() as conn:
            if self._stored(conn) != self.fingerprint:
                query = sa.select(sa.func.count()).where(c.c.process.in_(self.config.processes))
            else:
                query = self._stale(None).limit(None).order_by(None)
                query = query.with_only_columns(sa.func.count())
            count: int = conn.execute(query).scalar_one()
            return count

    # --- reading -------------------------------------------------------------------------

    def _filters(self, period: Period, as_of: dt.datetime) -> list[sa.ColumnElement[bool]]:
        """The observations of ``period`` judged at ``as_of``, with the filters
        :func:`~techsvc_flow.quality.report` applies to the cases it reads."""
        o = self.store.tables.quality_obs.c
        start, end, judged = _us(period.start), _us(period.end), _us(as_of)
        return [
            o.indicator.in_([i.code for i in INDICATORS]),  # the index's first column
            o.at_us >= start,
            o.at_us < end,
            o.created_us < end,
            sa.or_(o.timed.is_(False), o.updated_us >= start),
            sa.or_(o.valid_after_us.is_(None), o.valid_after_us < judged),
            sa.or_(o.valid_until_us.is_(None), o.valid_until_us >= judged),
        ]

    def report(
        self, period: Period, *, as_of: dt.datetime | None = None, trend: bool = True
    ) -> QualityReport:
        """The seven indicators over ``period`` from the index as it stands (no refresh;
        see :func:`~techsvc_flow.quality.report` for ``as_of`` and ``trend``).

        Raises:
            IndexOutOfDate: the index was made with another calendar or configuration,
                or never: :meth:`refresh` it first.
        """
        as_of = period.end if as_of is None else as_of
        if as_of.utcoffset() is None:
            raise PeriodError(f"as_of must be an aware datetime, not {as_of!r}")
        months = period.months() if trend else []
        o = self.store.tables.quality_obs
        bucket: sa.ColumnElement[int]
        if len(months) > 1:
            bucket = sa.case(
                *[(o.c.at_us < _us(m.end), i) for i, m in enumerate(months[:-1])],
                else_=len(months) - 1,
            )
        else:
            bucket = sa.literal(0)
        rows = (
            sa.select(
                o.c.indicator,
                bucket.label("bucket"),
                o.c.hit,
                o.c.tags,
                o.c.satisfaction,
            )
            .where(*self._filters(period, as_of))
            .subquery("o")
        )
        grouped = sa.select(*rows.c, sa.func.count()).group_by(*rows.c)
        with self.store.snapshot() as conn:
            if self._stored(conn) != self.fingerprint:
                raise IndexOutOfDate(
                    "the observation index was made with another calendar or quality "
                    "configuration (or not yet): refresh() it first"
                )
            counts: list[tuple[str, int, int | None, int, str | None, int]] = [
                tuple(row) for row in conn.execute(grouped)
            ]
        spans = months or [period]
        whole = {i.code: Tally() for i in INDICATORS}
        parts = [{i.code: Tally() for i in INDICATORS} for _ in spans]
        for code, b, hit, tags, satisfaction, n in counts:
            if code not in whole:
                continue
            outcome = None if hit is None else bool(hit)
            index = None if satisfaction is None else Decimal(satisfaction)
            whole[code].add(outcome, tags, index, n)
            parts[b][code].add(outcome, tags, index, n)

        def results(span: Period, tallies: dict[str, Tally]) -> tuple[IndicatorResult, ...]:
            out = []
            for i in INDICATORS:
                tally = tallies[i.code]
                listed = _Stored(self, period, as_of, span, i.code, False, tally.total)
                missed = _Stored(
                    self, period, as_of, span, i.code, True, tally.counted - tally.hits
                )
                out.append(tally_result(i, self.config, span, tally, listed, missed))
            return tuple(out)

        trend_results = tuple((m, results(m, parts[k])) for k, m in enumerate(months))
        return QualityReport(period, as_of, results(period, whole), trend_results)

    def _observations(
        self,
        period: Period,
        as_of: dt.datetime,
        span: Period,
        code: str,
        missed: bool,
    ) -> tuple[Observation, ...]:
        o = self.store.tables.quality_obs.c
        query = (
            sa.select(o.case_id, o.process, o.at_us, o.at_offset, o.hit, o.satisfaction, o.tags)
            .where(
                *self._filters(period, as_of),
                o.indicator == code,
                o.at_us >= _us(span.start),
                o.at_us < _us(span.end),
            )
            .order_by(o.at_us, o.case_id, o.n)
        )
        if missed:
            # a literal, as in the partial index's predicate: a planner does not match
            # a partial index to a bound parameter
            query = query.where(o.hit == sa.literal_column("0"))
        with self.store.snapshot() as conn:
            found = conn.execute(query).all()
        return tuple(
            Observation(
                code,
                case_id,
                process,
                _instant(at, offset),
                None if hit is None else bool(hit),
                None if satisfaction is None else Decimal(satisfaction),
                bits_tags(tags),
            )
            for case_id, process, at, offset, hit, satisfaction, tags in found
        )


class _Stored(Sequence[Observation]):
    """Observations of one indicator over one span, read from the index when first used
    (their number is known before)."""

    def __init__(
        self,
        index: ObservationIndex,
        period: Period,
        as_of: dt.datetime,
        span: Period,
        code: str,
        missed: bool,
        length: int,
    ) -> None:
        self._args = (period, as_of, span, code, missed)
        self._index = index
        self._length = length
        self._found: tuple[Observation, ...] | None = None

    def _all(self) -> tuple[Observation, ...]:
        if self._found is None:
            self._found = self._index._observations(*self._args)
        return self._found

    def __len__(self) -> int:
        return self._length if self._found is None else len(self._found)

    @overload
    def __getitem__(self, i: int) -> Observation: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Observation]: ...
    def __getitem__(self, i: int | slice) -> Observation | Sequence[Observation]:
        return self._all()[i]

    def __iter__(self) -> Iterator[Observation]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self._all() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        _, _, span, code, missed = self._args
        what = "missed" if missed else "observations"
        return f"<{len(self)} {what} of {code} in {span.label}, read from the index when used>"
