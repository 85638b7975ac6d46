"""The SQL store under load and faults, with real worker processes.

* 8 processes fire several hundred times each on a few shared cases (PostgreSQL): no
  update is lost, conflicts surface as ``ConcurrentUpdate`` and the retry helper
  completes them.
* 4 processes tick the same due timers: each mark is raised exactly once, with claims
  and with claims defeated (a lease of one microsecond).
* A worker killed (SIGKILL) after its commit but before delivery: the notification is
  delivered after the restart; killed while dispatching: after its lease runs out.
* A worker killed in the middle of a commit: nothing of it is visible.

Every wait is bounded; the whole module runs in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pg
import pytest
import sqlalchemy as sa

from techsvc_flow import (
    ConcurrentUpdate,
    Event,
    Field,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.case import verify_chain
from techsvc_flow.engine.retry import fire_with_retry
from techsvc_flow.sql import SqlStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)
H = dt.timedelta(hours=1)
JOIN = 90.0  # seconds: a worker still running after this is a failure

PROCESS = ProcessDefinition(
    name="load",
    version=1,
    states=[State("open", initial=True), State("done", final=True)],
    transitions=[
        Transition("note", source="open", dest="open", accepts=("who", "n")),
        Transition("close", source="open", dest="done"),
    ],
    fields=[Field("who", "int"), Field("n", "int")],
    slas=[Sla("reply", "24h", start_states=("open",), stop_states=("done",), warn_at=(0.5,))],
)
CALENDAR = WorkCalendar.china(coverage="provisional")
FORK = multiprocessing.get_context("fork")


@dataclass(frozen=True)
class Target:
    """Where the workers meet: a SQLite file or a PostgreSQL schema."""

    kind: str
    url: str
    schema: str | None

    def store(self, **options: Any) -> SqlStore:
        if self.kind == "sqlite":
            options.setdefault("engine_options", {"synchronous": "OFF"})
        else:
            options.setdefault("engine_options", {"pool_size": 2})
        return SqlStore(self.url, schema=self.schema, **options)


def _target(kind: str, tmp_path: Path) -> Iterator[Target]:
    if kind == "sqlite":
        yield Target("sqlite", f"sqlite:///{tmp_path}/flow.db", None)
        return
    server = pg.require()
    with pg.fresh_schema(server) as schema:
        yield Target("postgres", server.url, schema)


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from _target(request.param, tmp_path)


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Target]:
    yield from _target("postgres", tmp_path)


def workflow(store: SqlStore, at: dt.datetime = T0, **options: Any) -> Workflow:
    return Workflow(
        store, calendar=CALENDAR, clock=SteppedClock(at), processes=[PROCESS], **options
    )


def run_workers(
    count: int, work: Callable[..., None], *args: Any, exitcode: int = 0
) -> list[multiprocessing.process.BaseProcess]:
    """Start ``count`` forked workers running ``work(n, *args)``; wait (bounded) and
    check that each ended with ``exitcode``."""
    workers = [FORK.Process(target=work, args=(n, *args)) for n in range(count)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + JOIN
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    stuck = [w for w in workers if w.is_alive()]
    for worker in stuck:
        worker.kill()
        worker.join(5)
    assert not stuck, f"{len(stuck)} workers did not finish within {JOIN} s"
    assert [w.exitcode for w in workers] == [exitcode] * count, "a worker failed (see above)"
    return workers


def case_of(target: Target) -> Callable[[str], tuple[int, int, int]]:
    """Reads (version, seq, history rows) of a case straight from the tables."""

    def read(case_id: str) -> tuple[int, int, int]:
        store = target.store(migrate=False)
        try:
            case = store.load(case_id)
            return case.version, case.seq, len(store.history(case_id))
        finally:
            store.close()

    return read


# --- 8 processes, several hundred fires each, on a few shared cases -------------------

WORKERS, FIRES, CASES = 8, 200, 4


def _fire_worker(n: int, target: Target, out: Path, barrier: Any) -> None:
    store = target.store(migrate=False)
    wf = workflow(store)
    accepted = conflicts = retried = 0
    barrier.wait(30)
    clock = wf.clock
    assert isinstance(clock, SteppedClock)
    for i in range(FIRES):
        case_id = f"S-{i % CASES}"
        payload = {"who": n, "n": i}
        # each worker's clock runs on its own, as the clocks of several servers do: the
        # engine keeps each case's history in order where a worker's clock lags
        clock.set(T0 + dt.timedelta(seconds=i))
        try:
            wf.fire(case_id, "note", payload=payload)
        except ConcurrentUpdate:
            conflicts += 1
            fire_with_retry(wf, case_id, "note", payload=payload, attempts=100)
            retried += 1
        else:
            accepted += 1
    store.close()
    out.joinpath(f"{n}.json").write_text(json.dumps([accepted, conflicts, retried]))


def test_eight_processes_lose_no_update(postgres: Target, tmp_path: Path) -> None:
    store = postgres.store()
    wf = workflow(store)
    for c in range(CASES):
        wf.start("load", case_id=f"S-{c}", at=T0)
    started = time.monotonic()
    run_workers(WORKERS, _fire_worker, postgres, tmp_path, FORK.Barrier(WORKERS))
    elapsed = time.monotonic() - started
    results = [json.loads(tmp_path.joinpath(f"{n}.json").read_text()) for n in range(WORKERS)]
    accepted, conflicts, retried = (sum(r[i] for r in results) for i in range(3))
    assert accepted + retried == WORKERS * FIRES
    assert conflicts == retried and conflicts > 0, "no conflict: the workers did not overlap"
    for c in range(CASES):
        case_id = f"S-{c}"
        case = store.load(case_id)
        history = store.history(case_id)
        fires = [e for e in history if e.kind == "fire"]
        made = sorted((e.payload["who"], e.payload["n"]) for e in fires)
        wanted = sorted((w, i) for w in range(WORKERS) for i in range(FIRES) if i % CASES == c)
        assert made == wanted  # every accepted fire exactly once, none lost, none doubled
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert [e.version for e in fires] == list(range(2, len(fires) + 2))  # contiguous
        assert case.version == len(fires) + 1 and case.seq == len(history)
        assert verify_chain(history, head=case.head)
        assert all(a.at <= b.at for a, b in itertools.pairwise(history))
    print(
        f"\n{WORKERS} processes x {FIRES} fires on {CASES} cases: {elapsed:.1f} s, "
        f"{conflicts} conflicts retried"
    )
    store.close()


# --- 4 processes tick the same due timers -------------------------------------------------

TICKED = 40


def _tick_worker(n: int, target: Target, out: Path, barrier: Any, lease: float) -> None:
    store = target.store(migrate=False, lease=dt.timedelta(seconds=lease))
    wf = workflow(store)
    raised: list[tuple[str, str]] = []
    barrier.wait(30)
    idle = 0
    while idle < 3:
        events = wf.tick(T0 + 30 * H, limit=4)
        raised += [(e.case_id, e.payload["mark"]) for e in events]
        idle = idle + 1 if not events else 0
    store.close()
    out.joinpath(f"{n}.json").write_text(json.dumps(raised))


@pytest.mark.parametrize("lease", [60.0, 1e-6], ids=["claimed", "claims-defeated"])
def test_four_processes_tick_each_timer_once(target: Target, tmp_path: Path, lease: float) -> None:
    store = target.store()
    wf = workflow(store)
    for c in range(TICKED):
        wf.start("load", case_id=f"T-{c}", at=T0)
    run_workers(4, _tick_worker, target, tmp_path, FORK.Barrier(4), lease)
    raised = [tuple(r) for n in range(4) for r in json.loads((tmp_path / f"{n}.json").read_text())]
    wanted = [(f"T-{c}", mark) for c in range(TICKED) for mark in ("warning:50%", "breach")]
    assert sorted(raised) == sorted(wanted)  # each raised once, by one worker
    for c in range(TICKED):
        kinds = [e.kind for e in store.history(f"T-{c}")]
        assert (kinds.count("sla.warning"), kinds.count("sla.breach")) == (1, 1)
    assert store.due_timers(T0 + 1000 * H, 100) == []
    store.close()


# --- killed after commit, before delivery -------------------------------------------------


def _die(event: Event) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _fire_then_die(n: int, target: Target) -> None:
    wf = workflow(target.store(migrate=False))
    wf.on("*", _die, name="crm")
    wf.fire("K-1", "note", payload={"who": n, "n": 1}, at=T0 + H)  # dies delivering


def _dispatch_then_die(n: int, target: Target) -> None:
    wf = workflow(target.store(migrate=False))
    wf.on("*", _die, name="crm")
    wf.dispatch(T0 + 2 * H)  # claims the pending rows, then dies on the first


def test_killed_after_commit_the_event_is_delivered_after_restart(target: Target) -> None:
    store = target.store()
    quiet = workflow(store)
    quiet.start("load", case_id="K-1", at=T0)  # no subscription yet: events wait
    run_workers(1, _fire_then_die, target, exitcode=-signal.SIGKILL)
    case = store.load("K-1")
    assert case.version == 2  # the commit happened before the kill
    fire = store.history("K-1")[-1]
    assert fire.kind == "fire" and fire.payload == {"who": 0, "n": 1}

    run_workers(1, _dispatch_then_die, target, exitcode=-signal.SIGKILL)

    restarted = workflow(target.store(migrate=False))
    received: list[Event] = []
    restarted.on("*", received.append, name="crm")
    # the dead worker's claim holds until its lease runs out, then the rows are ours
    assert restarted.dispatch(T0 + 2 * H) == 0
    assert restarted.dispatch(T0 + 2 * H + store.lease) == 4
    assert sorted(e.type for e in received) == [
        "case.started",
        "case.transition",
        "sla.started",
        "state.entered",
    ]
    (transition,) = [e for e in received if e.type == "case.transition"]
    assert transition.payload["payload"] == {"who": 0, "n": 1}
    assert restarted.dispatch(T0 + 5 * H) == 0  # nothing delivered twice after that
    restarted.store.close()
    store.close()


# --- killed in the middle of a commit -------------------------------------------------------


def _die_mid_commit(n: int, target: Target) -> None:
    store = target.store(migrate=False)
    history = store.tables.history.name

    @sa.event.listens_for(store.engine, "connect")
    def _kill_at_history(dbapi_connection: Any, record: Any) -> None:
        def trace(statement: str) -> None:
            if statement.lstrip().upper().startswith("INSERT") and history in statement:
                os.kill(os.getpid(), signal.SIGKILL)  # the case row is updated, not committed

        dbapi_connection.set_trace_callback(trace)

    workflow(store).fire("M-1", "note", payload={"who": n, "n": 99}, at=T0 + H)


def test_killed_mid_transaction_leaves_nothing_partial(tmp_path: Path) -> None:
    # SQLite: the commit's statements run in one transaction; the writer dies after the
    # case row's update, before the history insert
    (target,) = _target("sqlite", tmp_path)
    store = target.store()
    wf = workflow(store)
    wf.start("load", case_id="M-1", at=T0)
    before = case_of(target)("M-1")
    outbox = len(store.pending(T0, 100))
    run_workers(1, _die_mid_commit, target, exitcode=-signal.SIGKILL)
    assert case_of(target)("M-1") == before
    assert len(store.pending(T0 + H, 100)) == outbox
    assert not [e for e in store.history("M-1") if e.kind == "fire"]
    # the dead writer holds no lock: the next fire goes through
    assert wf.fire("M-1", "note", payload={"who": 1, "n": 1}, at=T0 + 2 * H).version == 2
    store.close()


def _fire_slowly(n: int, target: Target) -> None:
    workflow(target.store(migrate=False)).fire(
        "M-1", "note", payload={"who": n, "n": 99}, at=T0 + H
    )


@pytest.mark.postgres
def test_killed_mid_statement_writes_all_or_nothing(postgres: Target) -> None:
    # PostgreSQL: a fire's write is one statement; the writer is killed while the server
    # runs it (a trigger holds the history insert for a second, after the case row's
    # update): the case, its history and its outbox rows are written together or not at all
    store = postgres.store()
    wf = workflow(store)
    wf.start("load", case_id="M-1", at=T0)
    history = store.tables.history
    table = f'"{history.schema}"."{history.name}"'
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE FUNCTION "{history.schema}".slow() RETURNS trigger LANGUAGE plpgsql AS '
            "$$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER slow BEFORE INSERT ON {table} FOR EACH ROW "
            f'EXECUTE FUNCTION "{history.schema}".slow()'
        )
    worker = FORK.Process(target=_fire_slowly, args=(0, postgres))
    worker.start()
    deadline = time.monotonic() + JOIN
    sleeping = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
    running = 0
    with store.engine.connect() as conn:  # until the statement runs: the insert waits
        while not running and time.monotonic() < deadline:
            running = conn.exec_driver_sql(sleeping).scalar() or 0
            conn.rollback()
            time.sleep(0.02)
    worker.kill()
    assert running, "the fire's statement never ran"
    worker.join(5)
    assert worker.exitcode == -signal.SIGKILL
    time.sleep(1.5)  # the server finishes (or aborts) the statement
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TRIGGER slow ON {table}")
    case = store.load("M-1")
    fires = [e for e in store.history("M-1") if e.kind == "fire"]
    notes = [d for d in store.pending(T0 + H, 100) if d.event.type == "case.transition"]
    assert (case.version, len(fires), len(notes)) in ((1, 0, 0), (2, 1, 1))
    # nobody holds a lock: the next fire goes through
    again = wf.fire("M-1", "note", payload={"who": 1, "n": 1}, at=T0 + 2 * H)
    assert again.version == case.version + 1
    store.close()
