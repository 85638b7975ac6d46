"""SQL store benchmark: fires committed per second beside a hand-written baseline, and
the time to find due timers among many open cases.

Run from the repository root::

    python -m benchmarks.sql             # full run (a few minutes: fills 1,000,000 cases)
    python -m benchmarks.sql --quick     # smoke run: small counts, 100,000 cases at most
    python -m benchmarks.sql --durable   # commits wait for the disk (fsync) on both sides
    python -m benchmarks.sql --durable --fires 300 --no-timers   # the durable fire rows only

PostgreSQL runs on a throw-away server started for the run (``tests/pg.py``: Debian's
``postgresql`` package, ``initdb`` + ``pg_ctl`` on loopback); without it those rows are
left out with a note.

**Fires.** One fire is ``Workflow.fire`` on a ``SqlStore``: load the case, check the
transition, chain and hash the history entry, build the event, and commit it (update
under the optimistic check, history insert, the case's timers replaced, outbox insert)
in one transaction. The baseline is what a careful hand-written SQLAlchemy Core version
of the same writes costs: read the row, then in one transaction update it with a
version check, insert a history row and an outbox row (JSON bodies, a UUID event id).
Each worker process fires on its own cases; with 4 workers they run at once, in forked
processes. Ours and the baseline take turns, round after round, on the same engine
settings, and the best round of each is kept; the ratio is baseline rate / our rate
(1.0: no overhead).

**Due timers.** The timers table is filled with one timer per open case, most due in
the future and 1,000 due now; we time the indexed query that finds the 1,000 due ones
(``due_at <= now``, claimable, earliest first) and ``SqlStore.due_timers`` itself,
which also claims them for a lease. It is timed at growing numbers of open cases to
show it is flat.

Durability: by default the PostgreSQL server runs with ``fsync=off`` and SQLite with
``synchronous=NORMAL`` (WAL), so that the engine's own cost is visible rather than the
disk's; ``--durable`` measures with fsync on every commit on both sides.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import multiprocessing
import platform
import queue
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import sqlalchemy as sa

from techsvc_flow import Field, ProcessDefinition, State, SteppedClock, Transition, Workflow
from techsvc_flow.sql import SqlStore, sqlite_engine

from . import _postgres as _postgres_server

__all__ = ["Settings", "main", "run"]

UTC = dt.UTC
T0 = dt.datetime(2025, 10, 9, 9, 0, tzinfo=UTC)
FORK = multiprocessing.get_context("fork")
PROCESS = ProcessDefinition(
    name="bench",
    version=1,
    states=[State("open", initial=True), State("done", final=True)],
    transitions=[
        Transition("note", source="open", dest="open", accepts=("text", "n")),
        Transition("close", source="open", dest="done"),
    ],
    fields=[Field("text", "str"), Field("n", "int")],
)


@dataclass(frozen=True)
class Settings:
    """How much work each measurement does."""

    fires: int = 1500  # fires per worker per round
    rounds: int = 5  # rounds per side; the best is kept
    open_cases: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    due: int = 1000
    repeats: int = 20  # timed queries per size; the median is kept
    durable: bool = False
    postgres: bool = True


QUICK = Settings(fires=100, rounds=1, open_cases=(10_000, 100_000), repeats=5)


# --- the baseline: the same writes, by hand ---------------------------------------------


def baseline_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    cases = sa.Table(
        "base_cases",
        metadata,
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("state", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    history = sa.Table(
        "base_history",
        metadata,
        sa.Column("case_id", sa.String(255), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    outbox = sa.Table(
        "base_outbox",
        metadata,
        sa.Column("n", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("case_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Index("ix_base_outbox_status_n", "status", "n"),
    )
    return cases, history, outbox


class Baseline:
    """A hand-written optimistic update + history row + outbox row, on SQLAlchemy Core."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.cases, self.history, self.outbox = baseline_tables(sa.MetaData())
        c = self.cases
        self.reader = engine
        if engine.dialect.name == "postgresql":
            self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        elif engine.dialect.name == "sqlite":
            self.reader = engine.execution_options(sqlite_begin="NONE")
            self.engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        self.select = sa.select(c.c.state, c.c.version, c.c.data).where(
            c.c.id == sa.bindparam("b_id")
        )
        self.update = (
            sa.update(c)
            .where(c.c.id == sa.bindparam("b_id"), c.c.version == sa.bindparam("b_version"))
            .values(
                state=sa.bindparam("state"),
                version=sa.bindparam("version"),
                updated_at=sa.bindparam("updated_at"),
                data=sa.bindparam("data"),
            )
        )
        self.insert_history = sa.insert(self.history)
        self.insert_outbox = sa.insert(self.outbox)

    def start(self, case_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(self.cases),
                {"id": case_id, "state": "open", "version": 1, "updated_at": T0, "data": "{}"},
            )

    def fire(self, case_id: str, payload: dict[str, Any], at: dt.datetime) -> None:
        with self.reader.connect() as conn:
            row = conn.execute(self.select, {"b_id": case_id}).one()
        data = {**json.loads(row.data), **payload}
        version = row.version + 1
        body = {"trigger": "note", "source": row.state, "dest": "open", "payload": payload}
        with self.engine.begin() as conn:
            done = conn.execute(
                self.update,
                {
                    "b_id": case_id,
                    "b_version": row.version,
                    "state": "open",
                    "version": version,
                    "updated_at": at,
                    "data": json.dumps(data, ensure_ascii=False),
                },
            )
            if done.rowcount != 1:
                raise RuntimeError("lost the optimistic check")
            conn.execute(
                self.insert_history,
                {
                    "case_id": case_id,
                    "version": version,
                    "at": at,
                    "body": json.dumps(body, ensure_ascii=False),
                },
            )
            conn.execute(
                self.insert_outbox,
                {
                    "event_id": str(uuid.uuid4()),
                    "case_id": case_id,
                    "type": "case.transition",
                    "status": "pending",
                    "body": json.dumps({**body, "at": at.isoformat()}, ensure_ascii=False),
                },
            )


# --- databases ------------------------------------------------------------------------


@dataclass
class Backend:
    """A database to measure on: a URL and how to make engines for it."""

    name: str
    url: str
    durable: bool

    def engine(self) -> sa.Engine:
        if self.name == "SQLite":
            return sqlite_engine(self.url, synchronous="FULL" if self.durable else "NORMAL")
        return sa.create_engine(self.url, pool_size=2)


def _worker(n: int, backend: Backend, side: str, fires: int, barrier: Any, out: Any) -> None:
    engine = backend.engine()
    case_id = f"{side}-{n}-{uuid.uuid4().hex[:8]}"
    clock = SteppedClock(T0)
    if side == "ours":
        wf = Workflow(SqlStore(engine, migrate=False), clock=clock, processes=[PROCESS])
        wf.start("bench", case_id=case_id)

        def fire(i: int) -> None:
            wf.fire(case_id, "note", payload={"text": "回访记录", "n": i})
    else:
        base = Baseline(engine)
        base.start(case_id)

        def fire(i: int) -> None:
            base.fire(case_id, {"text": "回访记录", "n": i}, clock.now())

    fire(-1)  # warm up: statement caches, prepared statements
    barrier.wait(60)
    start = time.perf_counter()
    for i in range(fires):
        fire(i)
    out.put(time.perf_counter() - start)
    engine.dispose()


def fires_per_second(backend: Backend, side: str, workers: int, fires: int) -> float:
    """Aggregate committed fires per second of ``workers`` processes (fork)."""
    barrier = FORK.Barrier(workers)
    out = FORK.Queue()
    procs = [
        FORK.Process(target=_worker, args=(n, backend, side, fires, barrier, out))
        for n in range(workers)
    ]
    for proc in procs:
        proc.start()
    times: list[float] = []
    deadline = time.monotonic() + 600
    while len(times) < workers:
        try:
            times.append(out.get(timeout=1))
        except queue.Empty:
            # a worker that died (e.g. on a database error) must not leave us waiting
            failed = [p for p in procs if p.exitcode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                for proc in procs:
                    proc.kill()
                raise RuntimeError(f"a {side} worker failed on {backend.name}") from None
    for proc in procs:
        proc.join(60)
        if proc.exitcode != 0:
            raise RuntimeError(f"a {side} worker failed on {backend.name}")
    return workers * fires / max(times)


@dataclass(frozen=True)
class FireRow:
    backend: str
    workers: int
    ours: float  # fires per second
    baseline: float

    @property
    def overhead(self) -> float:
        return self.baseline / self.ours

    @property
    def met(self) -> bool:
        return self.overhead <= 1.5


def measure_fires(backend: Backend, settings: Settings, workers: int) -> FireRow:
    best = {"ours": 0.0, "baseline": 0.0}
    for _ in range(settings.rounds):
        for side in ("baseline", "ours"):
            rate = fires_per_second(backend, side, workers, settings.fires)
            best[side] = max(best[side], rate)
    return FireRow(backend.name, workers, best["ours"], best["baseline"])


def check_fires(backend: Backend, settings: Settings, rows: Sequence[FireRow]) -> None:
    """Both sides wrote what they claim: one history and one outbox row per fire."""
    engine = backend.engine()
    store = SqlStore(engine, migrate=False)
    base = Baseline(engine)
    with engine.connect() as conn:
        count = sa.func.count()
        ours_fires = conn.execute(
            sa.select(count)
            .select_from(store.tables.history)
            .where(store.tables.history.c.kind == "fire")
        ).scalar_one()
        base_fires = conn.execute(sa.select(count).select_from(base.history)).scalar_one()
        base_out = conn.execute(sa.select(count).select_from(base.outbox)).scalar_one()
    runs = sum(settings.rounds * row.workers for row in rows)
    expected = runs * (settings.fires + 1)  # + the warm-up fire
    if not ours_fires == base_fires == base_out == expected:
        raise AssertionError(
            f"{backend.name}: expected {expected} fires on each side, found ours "
            f"{ours_fires}, baseline {base_fires} (outbox {base_out})"
        )
    engine.dispose()


# --- due timers among many open cases -------------------------------------------------


def _fill(conn: sa.Connection, store: SqlStore, first: int, last: int, due: int) -> None:
    """Open cases ``first``..``last - 1``, each with one timer; the first ``due`` are due."""
    cases, timers = store.tables.cases.fullname, store.tables.timers.fullname
    at = T0.isoformat()
    body = json.dumps(
        {
            "data": {},
            "created_at": at,
            "updated_at": at,
            "entered_at": at,
            "counts": {},
            "clocks": {},
        }
    )
    if conn.dialect.name == "postgresql":
        numbers = "generate_series(:first, :last - 1) AS s(i)"
        ident = "'C-' || lpad(i::text, 8, '0')"
        due_at = (
            "CASE WHEN i < :due THEN :t0 - i * interval '1 second' "
            "ELSE :t0 + interval '30 days' + i * interval '1 second' END"
        )
        now = ":t0"
    else:
        numbers = (
            "(WITH RECURSIVE s(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM s "
            "WHERE i + 1 < :last) SELECT i FROM s)"
        )
        ident = "'C-' || printf('%08d', i)"
        due_at = (
            "CASE WHEN i < :due THEN datetime(:t0, '-' || i || ' seconds') || '.000000' "
            "ELSE datetime(:t0, '+30 days', '+' || i || ' seconds') || '.000000' END"
        )
        now = "'2025-10-09 09:00:00.000000'"
    params: dict[str, Any] = {"first": first, "last": last, "due": due, "t0": T0}
    if conn.dialect.name == "sqlite":
        params["t0"] = "2025-10-09 09:00:00"
    conn.execute(
        sa.text(
            f"INSERT INTO {cases} (id, process, process_version, state, version, seq, head, "
            f"created_at, updated_at, body) SELECT {ident}, 'bench', 1, 'open', 1, 1, "
            f"'{'0' * 64}', {now}, {now}, '{body}' FROM {numbers}"
        ),
        params,
    )
    conn.execute(
        sa.text(
            f"INSERT INTO {timers} (case_id, sla, mark, due_at) "
            f"SELECT {ident}, 'reply', 'breach', {due_at} FROM {numbers}"
        ),
        params,
    )


@dataclass(frozen=True)
class TimerRow:
    backend: str
    open_cases: int
    find_ms: float
    claim_ms: float
    found: int

    @property
    def met(self) -> bool:
        return self.find_ms <= 20.0


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def measure_timers(backend: Backend, settings: Settings) -> list[TimerRow]:
    engine = backend.engine()
    store = SqlStore(engine, prefix="due_")
    tm = store.tables.timers
    find = (
        sa.select(tm.c.case_id, tm.c.sla, tm.c.mark, tm.c.due_at)
        .where(tm.c.due_at <= T0, store._claimable(tm, T0))
        .order_by(tm.c.due_at, tm.c.case_id, tm.c.sla)
        .limit(settings.due)
    )
    rows = []
    filled = 0
    for size in settings.open_cases:
        with engine.begin() as conn:
            _fill(conn, store, filled, size, settings.due)
        filled = size
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE main")
        finds, claims, found = [], [], 0
        for _ in range(settings.repeats):
            with engine.connect() as conn:
                start = time.perf_counter()
                found = len(conn.execute(find).all())
                finds.append(time.perf_counter() - start)
            start = time.perf_counter()
            claimed = store.due_timers(T0, settings.due)  # same worker: re-claims them
            claims.append(time.perf_counter() - start)
            if len(claimed) != settings.due or found != settings.due:
                raise AssertionError(f"found {found}, claimed {len(claimed)} due timers")
        rows.append(
            TimerRow(backend.name, size, _median(finds) * 1e3, _median(claims) * 1e3, found)
        )
    store.close()
    engine.dispose()
    return rows


# --- the run -------------------------------------------------------------------------


def fire_table(rows: Sequence[FireRow]) -> str:
    lines = [
        "| database | workers | ours (fires/s) | baseline (fires/s) | overhead | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        mark = "met" if r.met else "**missed**"
        lines.append(
            f"| {r.backend} | {r.workers} | {r.ours:,.0f} | {r.baseline:,.0f} | "
            f"{r.overhead:.2f}× | ≤ 1.5× {mark} |"
        )
    return "\n".join(lines)


def timer_table(rows: Sequence[TimerRow]) -> str:
    lines = [
        "| database | open cases | find 1,000 due (ms) | claim them: `due_timers` (ms) | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        mark = "met" if r.met else "**missed**"
        lines.append(
            f"| {r.backend} | {r.open_cases:,} | {r.find_ms:.1f} | {r.claim_ms:.1f} | "
            f"≤ 20 ms {mark} |"
        )
    return "\n".join(lines)


def _postgres(durable: bool) -> Any:
    settings = {"shared_buffers": "256MB"}
    if durable:
        settings |= {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    return _postgres_server.start(settings)


def run(settings: Settings, *, out: Callable[[str], None] = print) -> int:
    """Run every measurement and print the tables; returns 0 if every target is met."""
    out(
        f"python {platform.python_version()}, SQLAlchemy {version('sqlalchemy')}, "
        f"{platform.machine()}, {multiprocessing.cpu_count()} CPUs; "
        f"{'durable commits (fsync)' if settings.durable else 'fsync off / WAL NORMAL'}"
    )
    fire_rows: list[FireRow] = []
    timer_rows: list[TimerRow] = []
    with tempfile.TemporaryDirectory(prefix="techsvc-flow-bench-") as tmp:
        backends = [Backend("SQLite", f"sqlite:///{tmp}/bench.db", settings.durable)]
        server = _postgres(settings.durable) if settings.postgres else "not asked for"
        if isinstance(server, str):
            out(f"PostgreSQL rows left out: {server}")
        else:
            backends.append(Backend("PostgreSQL", server.url, settings.durable))
        try:
            for backend in backends:
                engine = backend.engine()
                SqlStore(engine)  # migrate
                baseline_tables(metadata := sa.MetaData())
                metadata.create_all(engine)
                engine.dispose()
                rows = [measure_fires(backend, settings, workers) for workers in (1, 4)]
                check_fires(backend, settings, rows)
                fire_rows += rows
                timer_rows += measure_timers(backend, settings)
        finally:
            if not isinstance(server, str):
                server.stop()
    out("")
    out(fire_table(fire_rows))
    out("")
    out(timer_table(timer_rows))
    met = all(r.met for r in fire_rows) and all(r.met for r in timer_rows)
    out("")
    out(f"targets met: {'yes' if met else 'no'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: ``python -m benchmarks.sql [--quick] [--durable]``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sql",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument("--durable", action="store_true", help="fsync every commit")
    parser.add_argument("--fires", type=int, help="fires per worker and round")
    parser.add_argument(
        "--no-timers", action="store_true", help="leave out the due-timer measurement"
    )
    parser.add_argument("--sqlite-only", action="store_true", help="leave out PostgreSQL")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else Settings()
    if args.durable:
        settings = dataclasses.replace(settings, durable=True)
    if args.fires:
        settings = dataclasses.replace(settings, fires=args.fires)
    if args.no_timers:
        settings = dataclasses.replace(settings, open_cases=())
    if args.sqlite_only:
        settings = dataclasses.replace(settings, postgres=False)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
