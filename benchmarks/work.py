"""Worklists and overdue queries among many open cases, against load-and-filter.

    python -m benchmarks.work                      # 10k, 100k and 1M open cases, SQLite
    python -m benchmarks.work --postgres           # and PostgreSQL
    python -m benchmarks.work --sizes 10000,100000 # other sizes
    python -m benchmarks.work --quick              # smoke run: small counts

A few seed cases are made through a real ``Workflow`` (so their rows are exactly what
the store writes); the other open cases are bulk-inserted as copies of them with
their own ids, due instants spread over a month, assignees among 1,000 people and the
rest unclaimed for the role ``agent``. Measured, each the best of ``--repeat`` runs:

- ``worklist``: ``wf.worklist(person, limit=50)``: their cases, then the claimable ones;
- ``overdue``: ``wf.query(overdue=True, limit=50)``;
- ``due 4wh``: ``wf.query(due_within="4wh", limit=50)``;
- ``client page``: ``wf.query(fields={"client": ...}, limit=50)``, an indexed field
  (1,000 clients, so one in a thousand cases matches);
- the baseline: the same overdue page by reading every case (``store.cases()``) and
  filtering in Python (run up to ``--baseline-max`` cases);
- a fire into a state with an assignment rule against the same fire into one without
  (in memory, and committed to a SQLite file; ``--fires`` fires each, interleaved,
  best of 6 rounds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sqlite3
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 10, 9, 9, 0, tzinfo=SH)  # a Thursday
NOW = T0 + dt.timedelta(days=10)
PEOPLE = 1000


CLIENTS = 1000


def _process(assigned: bool, indexed: bool = False) -> Any:
    from techsvc_flow import Field, ProcessDefinition, Sla, State, Transition
    from techsvc_flow.definition import Assign

    rule = Assign(roles=("agent",), managers=("lead",)) if assigned else None
    return ProcessDefinition(
        name="ticket" if assigned else "plain",
        version=1,
        states=[
            State("open", initial=True, assign=rule),
            State("working", assign=rule),
            State("done", final=True),
        ],
        transitions=[
            Transition("work", source="open", dest="working"),
            Transition("back", source="working", dest="open"),
            Transition("close", source="*", dest="done"),
        ],
        slas=[Sla("respond", "8wh", start_states=("open",), stop_states=("done",))],
        fields=[Field("client", "str", indexed=True)] if indexed else [],
    )


def _workflow(store: Any, *processes: Any) -> Any:
    from techsvc_flow import SteppedClock, WorkCalendar, Workflow

    calendar = WorkCalendar.china(coverage="provisional")
    return Workflow(store, calendar=calendar, clock=SteppedClock(NOW), processes=processes)


def fill(store: Any, n: int, batch: int = 20_000) -> None:
    """``n`` open cases in ``store``'s tables: seed cases made by a workflow, bulk copies."""
    import sqlalchemy as sa

    from techsvc_flow import Actor

    wf = _workflow(store, _process(True, indexed=True))
    wf.start("ticket", case_id="seed-u", at=T0, data={"client": "c0"})
    wf.start("ticket", case_id="seed-a", at=T0, data={"client": "c0"})
    wf.claim("seed-a", actor=Actor("p0", {"agent"}), at=T0)
    t = store.tables
    with store.engine.connect() as conn:
        seeds = {
            row.id: row._asdict()
            for row in conn.execute(sa.select(t.cases).where(t.cases.c.id.like("seed-%")))
        }
    due0 = wf.store.load("seed-u").due_at
    assert due0 is not None
    step = dt.timedelta(days=30) / n
    rows: list[dict[str, Any]] = []
    work: list[dict[str, Any]] = []
    fields: list[dict[str, Any]] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.insert(t.cases), rows)
            conn.execute(sa.insert(t.work), work)
            conn.execute(sa.insert(t.case_fields), fields)
        rows.clear()
        work.clear()
        fields.clear()

    for i in range(n):
        claimed = i % 3 == 0
        seed = seeds["seed-a" if claimed else "seed-u"]
        due = due0 + step * i
        body = json.loads(seed["body"])
        body["due_at"] = due.isoformat()
        person = f"p{i % PEOPLE}"
        if claimed:
            body["assignment"]["assignee"] = person
        client = f"c{i % CLIENTS}"
        body["data"]["client"] = client
        case_id = f"B{i:07}"
        rows.append({**seed, "id": case_id, "due_at": due, "body": json.dumps(body),
                     "assignee": person if claimed else None})  # fmt: skip
        work.append({"case_id": case_id, "who": f"u:{person}" if claimed else "r:agent",
                     "due_at": due})  # fmt: skip
        fields.append({"case_id": case_id, "name": "client", "s": client})
        if len(rows) >= batch:
            flush()
    if rows:
        flush()
    if store.dialect == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def _best(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best * 1000, result


def measure(store: Any, n: int, repeat: int, baseline_max: int) -> list[tuple[str, float]]:
    """The query timings (ms) among ``n`` open cases in ``store``."""
    from techsvc_flow import Actor
    from techsvc_flow.query import CaseQuery, matches, sort_key

    wf = _workflow(store, _process(True, indexed=True))
    person = Actor("p3", {"agent"})
    out = []
    ms, page = _best(lambda: wf.worklist(person, limit=50, at=NOW), repeat)
    assert len(page) == 50 and page.items[0].mine, "the worklist starts with p3's cases"
    out.append(("worklist page", ms))
    ms, page = _best(lambda: wf.query(overdue=True, limit=50, at=NOW), repeat)
    assert len(page) == 50
    out.append(("overdue page", ms))
    overdue = [c.id for c in page]
    ms, page = _best(lambda: wf.query(due_within="4wh", limit=50, at=NOW), repeat)
    assert len(page) == 50
    out.append(("due within 4wh page", ms))
    ms, page = _best(lambda: wf.query(fields={"client": "c7"}, limit=50, at=NOW), repeat)
    assert len(page) and all(c.data["client"] == "c7" for c in page)
    out.append(("client page (indexed field)", ms))
    if n <= baseline_max:
        q = CaseQuery(overdue_at=NOW)

        def baseline() -> list[str]:
            found = [c for c in store.cases() if matches(c, q)]
            found.sort(key=lambda c: sort_key(c, "due"))
            return [c.id for c in found[:50]]

        ms, ids = _best(baseline, 1)
        assert ids == overdue, "the baseline gives the same page"
        out.append(("baseline: load and filter (overdue page)", ms))
    return out


def fire_ratio(store: Any, fires: int, rounds: int = 6) -> tuple[float, float]:
    """µs per fire into a state with an assignment rule, and without: the two kinds
    interleaved round by round (so that both see the same machine load), best round."""
    wf = _workflow(store, _process(True), _process(False))
    for name in ("ticket", "plain"):
        for i in range(fires):
            wf.start(name, case_id=f"{name}-{i}", at=T0)
    best = {"ticket": float("inf"), "plain": float("inf")}
    for round_ in range(rounds):
        trigger = ("work", "back")[round_ % 2]
        at = T0 + dt.timedelta(minutes=1 + round_)
        for name in ("ticket", "plain"):
            start = time.perf_counter()
            for i in range(fires):
                wf.fire(f"{name}-{i}", trigger, at=at)
            best[name] = min(best[name], (time.perf_counter() - start) / fires * 1e6)
    return best["ticket"], best["plain"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="open cases")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="leave SQLite out")
    parser.add_argument("--no-fires", action="store_true", help="leave the fire ratio out")
    parser.add_argument("--repeat", type=int, default=5, help="best of N runs")
    parser.add_argument("--baseline-max", type=int, default=100_000,
                        help="run the load-and-filter baseline up to this many cases")  # fmt: skip
    parser.add_argument("--fires", type=int, default=2000, help="fires for the fire ratio")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    if args.quick:
        sizes, args.fires, args.repeat = [500, 2000], 200, 2

    from techsvc_flow.errors import ProvisionalWarning
    from techsvc_flow.sql import SqlStore

    warnings.simplefilter("ignore", ProvisionalWarning)
    print(f"machine: {platform.platform()}, python {sys.version.split()[0]}, "
          f"SQLite {sqlite3.sqlite_version}")  # fmt: skip
    print("| store | open cases | what | ms |")
    print("| --- | ---: | --- | ---: |")
    server = None
    if args.postgres:
        from benchmarks._postgres import start

        server = start({"fsync": "off", "synchronous_commit": "off"})
        if isinstance(server, str):
            print(f"PostgreSQL skipped: {server}")
            server = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-work-") as tmp:
            for n in sizes:
                targets: list[tuple[str, Any]] = [
                    ("sqlite", lambda n=n: SqlStore(f"sqlite:///{tmp}/w{n}.db",
                                                    engine_options={"synchronous": "OFF"}))
                ]  # fmt: skip
                if args.no_sqlite:
                    targets = []
                if server is not None:
                    targets.append(("postgres", lambda n=n: _pg_store(server, n)))
                for kind, make in targets:
                    store = make()
                    began = time.perf_counter()
                    fill(store, n)
                    built = time.perf_counter() - began
                    print(f"| {kind} | {n:,} | (bulk insert) | {built * 1000:,.0f} |")
                    for what, ms in measure(store, n, args.repeat, args.baseline_max):
                        print(f"| {kind} | {n:,} | {what} | {ms:,.2f} |", flush=True)
                    store.close()
            from techsvc_flow import MemoryStore

            if args.no_fires:
                return 0
            print("\n| store | fire, with an assignment rule (µs) | without (µs) | ratio |")
            print("| --- | ---: | ---: | ---: |")
            for kind, store in (
                ("memory", MemoryStore()),
                ("sqlite", SqlStore(f"sqlite:///{tmp}/fires.db",
                                    engine_options={"synchronous": "OFF"})),
            ):  # fmt: skip
                with_rule, without = fire_ratio(store, args.fires)
                store.close()
                print(f"| {kind} | {with_rule:,.0f} | {without:,.0f} | "
                      f"{with_rule / without:.2f}x |", flush=True)  # fmt: skip
    finally:
        if server is not None:
            server.stop()
    return 0


def _pg_store(server: Any, n: int) -> Any:
    import sqlalchemy as sa

    from techsvc_flow.sql import SqlStore

    engine = sa.create_engine(server.url.replace("postgresql://", "postgresql+psycopg://"))
    schema = f"work{n}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return SqlStore(engine, schema=schema)


if __name__ == "__main__":
    raise SystemExit(main())
