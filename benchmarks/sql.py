"""SQL store benchmark: fires committed per second and round trips per fire beside a
hand-written baseline, and the time to claim due timers among many open cases.

Run from the repository root::

    python -m benchmarks.sql             # full run (several minutes: fills 1,000,000 cases)
    python -m benchmarks.sql --quick     # smoke run: small counts, 100,000 cases at most
    python -m benchmarks.sql --durable   # commits wait for the disk (fsync) on both sides
    python -m benchmarks.sql --durable --fires 300 --no-timers   # the durable fire rows only

PostgreSQL runs on a throw-away server started for the run (``tests/pg.py``: Debian's
``postgresql`` package, ``initdb`` + ``pg_ctl`` on loopback); without it those rows are
left out with a note.

**Fires.** One fire is ``Workflow.fire`` on a ``SqlStore``: load the case, check the
transition, chain and hash the history entry, build the event, and commit it (case row
under the optimistic check, history entry, the case's timers, outbox row) in one
transaction. The baseline is what a careful hand-written SQLAlchemy Core version of the
same writes costs: read the row, then in one transaction update it with a version check,
insert a history row and an outbox row (JSON bodies, a UUID event id). Each worker
process fires on its own cases, each case twice in a row (cold: a case this process has
not fired before, started by another store; then warm); with 4 workers they run at once,
in forked processes. Ours and the baseline take turns, round after round, on the same
engine settings, and the best round of each is kept; the ratio is ours / baseline fires
per second (2.0: ours does twice as many).

**Round trips.** On PostgreSQL each side also runs through a loopback TCP proxy
(``benchmarks/_proxy.py``) that delays every chunk by 1 ms each way, so that round trips
show as time as on a real network, and counts them: a round trip is data from the
client after the server last answered on that connection. Round trips per fire are
counted cold and warm apart, on connections made before counting starts.

**Due timers.** The timers table is filled with one timer per open case, most due in
the future and 1,000 due now; we time the indexed query that finds the 1,000 due ones
(``due_at <= now``, claimable, earliest first) and ``SqlStore.due_timers`` itself,
which also claims them for a lease. It is timed at growing numbers of open cases to
show it is flat.

Durability: by default the PostgreSQL server runs with ``fsync=off`` and SQLite with
``synchronous=NORMAL`` (WAL), so that the engine's own cost is visible rather than the
disk's; ``--durable`` measures with fsync on every commit on both sides.

Exits non-zero, naming the counts, if either side wrote fewer history or outbox rows
than the fires it made.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import sqlalchemy as sa

from techsvc_flow.sql import SqlStore

from . import _postgres as _postgres_server
from ._proxy import DelayProxy
from ._sqlbench import (
    SIDES,
    T0,
    Backend,
    FireRow,
    TripRow,
    baseline_tables,
    check_fires,
    count_round_trips,
    fire_table,
    measure_fires,
    trip_table,
)

__all__ = ["Settings", "main", "run"]


@dataclass(frozen=True)
class Settings:
    """How much work each measurement does."""

    fires: int = 1500  # fires per worker per round, straight to the database
    delayed_fires: int = 300  # the same through the delaying proxy
    rounds: int = 5  # rounds per side; the best is kept
    delay: float = 0.001  # seconds the proxy adds each way
    trip_cases: int = 50  # cases per side whose round trips are counted (2 fires each)
    open_cases: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    due: int = 1000
    repeats: int = 20  # timed queries per size; the median is kept
    durable: bool = False
    postgres: bool = True


QUICK = Settings(
    fires=100, delayed_fires=20, rounds=1, trip_cases=5, open_cases=(10_000, 100_000), repeats=5
)


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
        return self.claim_ms <= 20.0


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


def timer_table(rows: Sequence[TimerRow]) -> str:
    lines = [
        "| database | open cases | find 1,000 due (ms) | claim them: `due_timers` (ms) | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        mark = "met" if r.met else "**missed**"
        lines.append(
            f"| {r.backend} | {r.open_cases:,} | {r.find_ms:.1f} | {r.claim_ms:.1f} | "
            f"claim ≤ 20 ms {mark} |"
        )
    return "\n".join(lines)


def _postgres(durable: bool) -> Any:
    settings = {"shared_buffers": "256MB"}
    if durable:
        settings |= {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    return _postgres_server.start(settings)


def _fire_rows(
    backend: Backend, settings: Settings, out: Callable[[str], None]
) -> tuple[list[FireRow], list[TripRow]]:
    """The fire rows of ``backend``: straight, and on PostgreSQL through the proxy too."""
    done = dict.fromkeys(SIDES, 0)
    fire_rows = [
        measure_fires(backend, workers, settings.fires, settings.rounds, done=done)
        for workers in (1, 4)
    ]
    trip_rows = []
    if backend.name == "PostgreSQL":
        with DelayProxy(backend.address, delay=settings.delay) as proxy:
            for workers in (1, 4):
                fire_rows.append(
                    measure_fires(
                        backend,
                        workers,
                        settings.delayed_fires,
                        settings.rounds,
                        proxy=proxy,
                        done=done,
                    )
                )
            for side in SIDES:
                row, fires = count_round_trips(backend, proxy, side, settings.trip_cases)
                trip_rows.append(row)
                done[side] += fires
    check_fires(backend, done)
    out(f"{backend.name}: rows checked: {done['ours']:,} fires on each side")
    return fire_rows, trip_rows


def run(settings: Settings, *, out: Callable[[str], None] = print) -> int:
    """Run every measurement and print the tables; returns 0 (missed targets are
    marked in the tables).

    Raises:
        AssertionError: a side wrote fewer (or more) rows than the fires it made.
    """
    commits = "durable commits (fsync)" if settings.durable else "fsync off / WAL NORMAL"
    out(
        f"python {platform.python_version()}, SQLAlchemy {version('sqlalchemy')}, "
        f"{platform.machine()}, {multiprocessing.cpu_count()} CPUs; {commits}"
    )
    fire_rows: list[FireRow] = []
    trip_rows: list[TripRow] = []
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
                fires, trips = _fire_rows(backend, settings, out)
                fire_rows += fires
                trip_rows += trips
                timer_rows += measure_timers(backend, settings)
        finally:
            if not isinstance(server, str):
                server.stop()
    out("")
    out(fire_table(fire_rows, settings.durable))
    if trip_rows:
        out("")
        out(trip_table(trip_rows, settings.delay * 1e3))
    if timer_rows:
        out("")
        out(timer_table(timer_rows))
    verdicts = [r.met for r in fire_rows] + [r.met for r in trip_rows]
    verdicts += [r.met for r in timer_rows]
    out("")
    out(f"targets met: {'yes' if all(v is not False for v in verdicts) else 'no'}")
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
        fires = args.fires + args.fires % 2  # each case is fired twice
        delayed = min(settings.delayed_fires, fires)
        settings = dataclasses.replace(settings, fires=fires, delayed_fires=delayed)
    if args.no_timers:
        settings = dataclasses.replace(settings, open_cases=())
    if args.sqlite_only:
        settings = dataclasses.replace(settings, postgres=False)
    try:
        return run(settings)
    except AssertionError as error:
        print(f"benchmarks.sql: FAILED: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
