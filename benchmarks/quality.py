"""Quality-report benchmark: the seven indicators over a million cases.

A year (2025) of synthetic cases — 60 % complaints, 25 % service engagements, 15 %
satisfaction surveys, a few per cent late — and ``quality.report`` over the whole year
with the month-by-month trend. Run from the repository root::

    python -m benchmarks.quality --markdown              # in memory + SQLite, 100k and 1M
    python -m benchmarks.quality --markdown --postgres   # PostgreSQL too (tests/pg.py)
    python -m benchmarks.quality --sql-only --sql-cases 100000   # one SQL size, no memory rows
    python -m benchmarks.quality --quick                 # smoke run: small counts

**In memory** (no database), side by side in one run:

- *facts only*: producing the per-case facts (what any store pays to hand them over);
- *report over facts*: ``quality.report`` reading those facts (the Python aggregation:
  SLA outcomes in Chinese working time, seven indicators, twelve months);
- *default Store.facts*: the base class's ``facts`` on a ``MemoryStore`` (one
  ``history()`` read per case) for a smaller number of cases, per case and extrapolated.

**In SQL** (``--sql-cases``, default 100,000 and 1,000,000): the same synthetic cases are
written straight into a ``SqlStore``'s tables with bulk inserts — a SQLite file, and with
``--postgres`` a throw-away PostgreSQL server (``tests/pg.py``) filled from that file with
``COPY`` — each case with its whole history (start, fires, and the ``sla.started`` /
``sla.stopped`` entries of its clocks; ~8 rows a case), the history rows in time order as
a running system writes them. The rows are the store's own: before timing, a sample is
compared with what ``SqlStore``'s own writing code makes of the same cases, and read back.
(Entry hashes are stand-ins: facts do not read them.) Then, on the same data:

- ``report(store, index=False)``: every case's facts read through ``SqlStore.facts``
  (cases filtered and first entries grouped in the database, rows streamed);
- the observation index (``techsvc_flow.sql.quality_index``): its first ``refresh()`` (every
  case observed and written), then ``report(store)`` with the index up to date (the
  refresh finds nothing to do; the year and its months counted with ``GROUP BY``), the
  same with the late-case lists read (what the text and HTML reports show), and
  ``report(store)`` after 1 % of the cases were marked changed (their observations made
  again inside the report); the first two are the best of ``--repeat`` runs;
- ``report`` through the default ``Store.facts`` (``cases()`` + one ``history()`` per
  case); at 1,000,000 cases it is measured on the 100,000-case database and
  extrapolated (marked "≈"); ``--skip-default`` leaves it out.

Before anything is printed, a cheap sanity check: every path gives the same seven
figures on the same cases. That the paths agree in every detail (months, case lists, late
cases, after changes) is asserted by ``tests/test_quality_agreement.py`` on a few hundred
of these cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import json
import multiprocessing
import platform
import sqlite3
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from . import _postgres

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
START = dt.datetime(2025, 1, 2, 9, 0, tzinfo=SH)
YEAR_SECONDS = 360 * 86_400
SCORES = {
    "responsiveness": 4,
    "competence": 5,
    "communication": 4,
    "timeliness": 4,
    "result_quality": 4,
}
GENESIS = "0" * 64


# (process, state, data, counts, [(state entered, at)], clocks)
Parts = tuple[
    str, str, dict[str, Any], dict[str, int], list[tuple[str, dt.datetime]], dict[str, Any]
]
# (kind, at, actor, trigger, source, dest, payload), in history order
Entry = tuple[str, dt.datetime, str | None, str | None, str | None, str | None, dict[str, Any]]
TRIGGERS = {
    "acknowledged": "acknowledge",
    "decision_communicated": "communicate_decision",
    "closed": "close",
    "needs_matching": "respond",
    "delivered": "deliver",
    "after_sales": "accept_delivery",
    "return_visited": "record_return_visit",
    "satisfied": "record_responses",
    "not_satisfied": "record_responses",
}


def _kind(i: int) -> str:
    k = i % 20
    return "complaint" if k < 12 else "service_engagement" if k < 17 else "satisfaction_survey"


class Synthetic:
    """Builds the facts, the cases and histories, and the table rows of case i."""

    def __init__(self, n: int) -> None:
        from techsvc_flow import Duration

        self.n = n
        self.step = YEAR_SECONDS / n
        self.h24 = Duration.parse("24h")
        self.wd7 = Duration.parse("7wd")
        self.wd1 = Duration.parse("1wd")
        self.mo1 = Duration.parse("1mo")

    def created(self, i: int) -> dt.datetime:
        return START + dt.timedelta(seconds=int(i * self.step))

    def parts(self, i: int) -> Parts:
        """(process, state, data, counts, [(state entered, at)], clocks) of case i."""
        from techsvc_flow.sla import ClockEvent, SlaClock

        kind = _kind(i)
        t0 = self.created(i)
        hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
        if kind == "complaint":
            ack = t0 + (30 * hour if i % 37 == 0 else 2 * hour)
            told = t0 + (12 * day if i % 23 == 0 else 3 * day)
            clocks = {
                "acknowledge": SlaClock(
                    "acknowledge", self.h24, (ClockEvent("start", t0), ClockEvent("stop", ack))
                ),
                "feedback": SlaClock(
                    "feedback", self.wd7, (ClockEvent("start", t0), ClockEvent("stop", told))
                ),
            }
            entered = [
                ("received", t0),
                ("acknowledged", ack),
                ("decision_communicated", told),
                ("closed", told + day),
            ]
            data: dict[str, Any] = {"channel": "phone", "category": "fees", "remedies": ["apology"]}
            counts = {"acknowledge": 1, "communicate_decision": 1, "close": 1}
            return kind, "closed", data, counts, entered, clocks
        if kind == "service_engagement":
            responded = t0 + (30 * hour if i % 29 == 0 else 3 * hour)
            delivered = t0 + (35 * day if i % 11 == 0 else 25 * day)
            accepted = delivered + 2 * day
            visited = accepted + 5 * day
            clocks = {
                "response": SlaClock(
                    "response", self.wd1, (ClockEvent("start", t0), ClockEvent("stop", responded))
                ),
                "return_visit": SlaClock(
                    "return_visit",
                    self.mo1,
                    (ClockEvent("start", accepted), ClockEvent("stop", visited)),
                ),
            }
            entered = [
                ("request_received", t0),
                ("needs_matching", responded),
                ("delivered", delivered),
                ("after_sales", accepted),
                ("return_visited", visited),
            ]
            data = {
                "delivery_due": (t0 + 30 * day).date(),
                "visit_outcome": "reached",
                "survey_outcome": "satisfied" if i % 13 else "not_satisfied",
            }
            counts = {"respond": 1, "deliver": 1, "record_return_visit": 1}
            if i % 7 == 0:
                counts["raise_objection"] = 1
            return kind, "return_visited", data, counts, entered, clocks
        done = t0 + 3 * day
        state = "satisfied" if i % 9 else "not_satisfied"
        data = {"scores": SCORES if state == "satisfied" else dict.fromkeys(SCORES, 2)}
        return kind, state, data, {"record_responses": 1}, [("scheduled", t0), (state, done)], {}

    def facts(self, i: int) -> Any:
        from techsvc_flow.facts import CaseFacts

        process, state, data, counts, entered, clocks = self.parts(i)
        return CaseFacts(
            f"K{i}", process, 1, state, data, counts, entered[0][1], entered[-1][1],
            dict(entered), clocks,
        )  # fmt: skip

    @staticmethod
    def entries(parts: Parts) -> list[Entry]:
        """The history of a case: its start, its fires and its clocks' start and stop."""
        _, _, _, _, entered, clocks = parts
        first, t0 = entered[0]
        items: list[tuple[dt.datetime, int, Entry]] = [
            (t0, 0, ("start", t0, "staff", None, None, first, {}))
        ]
        for (source, _), (dest, at) in itertools.pairwise(entered):
            items.append((at, 1, ("fire", at, "staff", TRIGGERS[dest], source, dest, {})))
        for name, clock in clocks.items():
            duration = str(clock.duration)
            for event in clock.events:
                status = "running" if event.kind == "start" else "stopped"
                payload = {"sla": name, "duration": duration, "status": status, "due": None}
                kind = "sla.started" if event.kind == "start" else "sla.stopped"
                items.append((event.at, 2, (kind, event.at, None, None, None, None, payload)))
        items.sort(key=lambda item: (item[0], item[1]))
        return [entry for _, _, entry in items]

    def case(self, i: int) -> tuple[Any, list[Any]]:
        """Case i and its history entries, as the store's own objects."""
        from techsvc_flow import Case, HistoryEntry

        parts = self.parts(i)
        process, state, data, counts, entered, clocks = parts
        cid = f"K{i}"
        entries = []
        version, prev = 0, GENESIS
        for seq, (kind, at, actor, trigger, source, dest, payload) in enumerate(
            self.entries(parts), 1
        ):
            version += kind in ("start", "fire")
            digest = _hash(i, seq)
            entries.append(
                HistoryEntry(cid, seq, kind, at, actor, trigger, source, dest, payload,
                             DEFINITION, version, prev, digest)
            )  # fmt: skip
            prev = digest
        case = Case(cid, process, 1, state, data, version, len(entries), prev,
                    entered[0][1], entered[-1][1], entered[-1][1], counts, clocks)  # fmt: skip
        return case, entries

    def rows(self, i: int) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        """The rows of case i in a ``SqlStore``'s cases and history tables (SQLite values):
        the same text the store writes, built without its checks (see :func:`check_rows`)."""
        parts = self.parts(i)
        process, state, data, counts, entered, clocks = parts
        cid = f"K{i}"
        history = []
        version, prev = 0, GENESIS
        for seq, (kind, at, actor, trigger, source, dest, payload) in enumerate(
            self.entries(parts), 1
        ):
            version += kind in ("start", "fire")
            digest = _hash(i, seq)
            key = (kind, actor, trigger, source, dest, *payload.values())
            template = _TEMPLATES.get(key)
            if template is None:
                template = _TEMPLATES[key] = _template(kind, actor, trigger, source, dest, payload)
            text = template % (at.isoformat(), version, prev, digest)
            history.append(
                (cid, seq, kind, _sqlite_instant(at), version, digest, text, dest, OFFSET)
            )
            prev = digest
        created, updated = entered[0][1], entered[-1][1]
        body = {
            "data": {k: {"$date": v.isoformat()} if isinstance(v, dt.date) else v
                     for k, v in data.items()},
            "created_at": created.isoformat(),
            "updated_at": updated.isoformat(),
            "entered_at": updated.isoformat(),
            "counts": counts,
            "clocks": {
                name: {
                    "duration": str(c.duration),
                    "events": [[e.kind, {"$datetime": e.at.isoformat()}] for e in c.events],
                    "fired": list(c.fired),
                }
                for name, c in clocks.items()
            },
        }  # fmt: skip
        case = (cid, process, 1, state, version, len(history), prev,
                _sqlite_instant(created), _sqlite_instant(updated), _json(body))  # fmt: skip
        return case, history


_TEMPLATES: dict[tuple[Any, ...], str] = {}


def _template(
    kind: str,
    actor: str | None,
    trigger: str | None,
    source: str | None,
    dest: str | None,
    payload: dict[str, Any],
) -> str:
    """A history body with ``%s``/``%d`` where its instant, version, prev and hash go."""
    body = {
        "kind": kind, "at": {"$datetime": "\x01"}, "actor": actor, "trigger": trigger,
        "source": source, "dest": dest, "payload": payload, "definition_hash": DEFINITION,
        "version": "\x02", "prev": "\x03", "hash": "\x04",
    }  # fmt: skip
    text = _json(body).replace("%", "%%")
    for mark, slot in (
        ("\\u0001", "%s"),
        ('"\\u0002"', "%d"),
        ("\\u0003", "%s"),
        ("\\u0004", "%s"),
    ):
        assert text.count(mark) == 1
        text = text.replace(mark, slot)
    return text


DEFINITION = "d" * 64
OFFSET = 8 * 3600  # the synthetic instants are all in Shanghai time


def _hash(i: int, seq: int) -> str:
    return f"{i:032x}{seq:032x}"  # a stand-in: facts do not read the hash chain


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sqlite_instant(at: dt.datetime) -> str:
    text = str(at.astimezone(UTC).replace(tzinfo=None))
    return text if at.microsecond else text + ".000000"  # as SQLAlchemy stores a DateTime


def _facts_store(n: int) -> Any:
    from techsvc_flow import MemoryStore

    synthetic = Synthetic(n)

    class FactsStore(MemoryStore):
        """A store that hands over facts in bulk, as a SQL override of facts() would."""

        def facts(
            self,
            processes: Iterable[str] | None = None,
            *,
            since: dt.datetime | None = None,
            until: dt.datetime | None = None,
        ) -> Iterator[Any]:
            wanted = None if processes is None else set(processes)
            for i in range(n):
                if wanted is not None and _kind(i) not in wanted:
                    continue
                f = synthetic.facts(i)
                if until is not None and f.created_at >= until:
                    continue
                if since is not None and f.updated_at < since:
                    continue
                yield f

    return FactsStore()


def _memory_store(n: int) -> Any:
    from techsvc_flow import MemoryStore

    synthetic = Synthetic(n)
    store = MemoryStore()
    for i in range(n):
        case, entries = synthetic.case(i)
        store.create(case, entries, [], [])
    return store


def _default(store: Any) -> Any:
    """``store`` seen through the base class's ``facts`` (cases() + history())."""
    from techsvc_flow import MemoryStore

    class Default(MemoryStore):  # read only through cases() and history()
        def cases(self, process: str | None = None, state: str | None = None) -> Any:
            return store.cases(process, state)

        def history(self, case_id: str) -> Any:
            return store.history(case_id)

    return Default()


def _seconds(run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    result = run(*args)
    return time.perf_counter() - t0, result


# --- SQL: the tables filled in bulk ------------------------------------------------------


def _chunk(n: int, lo: int, hi: int) -> list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    synthetic = Synthetic(n)
    return [synthetic.rows(i) for i in range(lo, hi)]


def fill_sqlite(path: Path, n: int, *, batch: int = 10_000) -> Any:
    """A ``SqlStore`` on a new SQLite file holding the ``n`` synthetic cases.

    Rows are built in worker processes and go in with ``executemany`` on the driver
    connection, the history in time order (a case's entries spread over weeks, between
    other cases' entries, as a running system writes them).
    """
    from techsvc_flow.sql import SqlStore

    store = SqlStore(f"sqlite:///{path}", engine_options={"synchronous": "OFF"})
    t = store.tables
    expected = ("case_id", "seq", "kind", "at", "version", "hash", "body", "dest", "at_offset")
    assert tuple(c.name for c in t.history.c) == expected, "the history table has changed"
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-1000000")  # 1 GB: the random-order index inserts
    put_case = (
        f"INSERT INTO {t.cases.name} (id, process, process_version, state, version, seq, "
        "head, created_at, updated_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    put_entry = f"INSERT INTO {t.history.name} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    pending: dict[str, list[tuple[Any, ...]]] = {}  # history rows by their instant's day

    def flush(before: str | None) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for day in sorted(d for d in pending if before is None or d < before):
            rows = pending.pop(day)
            rows.sort(key=lambda r: r[3])
            out += rows
        return out

    gc.disable()  # millions of live rows: the collector would scan them again and again
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            ranges = [(n, lo, min(n, lo + batch)) for lo in range(0, n, batch)]
            for made in pool.imap(_star_chunk, ranges):
                for _, history in made:
                    for row in history:
                        pending.setdefault(row[3][:10], []).append(row)
                raw.execute("BEGIN")
                raw.executemany(put_case, [case for case, _ in made])
                raw.executemany(put_entry, flush(made[-1][0][7][:10]))
                raw.execute("COMMIT")
        raw.execute("BEGIN")
        raw.executemany(put_entry, flush(None))
        raw.execute("COMMIT")
    finally:
        gc.enable()
    raw.execute("ANALYZE")
    raw.close()
    return store


def _star_chunk(args: tuple[int, int, int]) -> list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    return _chunk(*args)


def check_rows(store: Any, n: int, sample: Iterable[int]) -> None:
    """Stop unless the bulk rows are what ``SqlStore`` itself writes and reads back."""
    import sqlalchemy as sa

    synthetic = Synthetic(n)
    t = store.tables
    with store.engine.connect() as conn:
        for i in sample:
            case, entries = synthetic.case(i)
            writes = store._prepare(case, entries, [], [], None)
            row = conn.execute(
                sa.select(t.cases.c.body, t.cases.c.created_at, t.cases.c.head).where(
                    t.cases.c.id == case.id
                )
            ).one()
            assert row.body == writes.case["body"], (i, row.body, writes.case["body"])
            assert (row.created_at, row.head) == (case.created_at, case.head)
            stored = conn.execute(
                sa.select(t.history).where(t.history.c.case_id == case.id).order_by("seq")
            ).all()
            assert [(r.body, r.dest, r.at_offset, r.at) for r in stored] == [
                (w["body"], w["dest"], w["at_offset"], w["at"]) for w in writes.entries
            ], i
            assert store.load(case.id) == case and store.history(case.id) == entries


def copy_to_postgres(source: Any, target: Any) -> None:
    """Fill ``target``'s tables (PostgreSQL, empty) from ``source``'s (SQLite) with COPY."""
    import sqlalchemy as sa

    s, t = source.tables, target.tables
    instants = {"created_at", "updated_at", "at"}
    with source.engine.connect() as read:
        raw = target.engine.raw_connection()
        try:
            cursor = raw.cursor()
            # the rows are consistent already: no foreign-key trigger per row (superuser)
            cursor.execute("SET session_replication_role = replica")
            for src, dst in ((s.cases, t.cases), (s.history, t.history)):
                names = [c.name for c in src.c]
                stamp = [k for k, name in enumerate(names) if name in instants]
                rows = read.execute(
                    sa.text(f"SELECT {', '.join(names)} FROM {src.name} ORDER BY rowid")
                ).yield_per(20_000)
                sql = f"COPY {dst.fullname} ({', '.join(names)}) FROM STDIN"
                with cursor.copy(sql) as copy:
                    for row in rows:
                        values = list(row)
                        for k in stamp:
                            values[k] += "+00"
                        copy.write_row(values)
            raw.commit()
        finally:
            raw.close()
    with target.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (t.cases, t.history):
            conn.execute(sa.text(f"VACUUM ANALYZE {table.fullname}"))


# --- the run -------------------------------------------------------------------------------


def _count(store: Any) -> int:
    return sum(1 for _ in store.facts())


def _figures(rep: Any) -> list[tuple[int, int]]:
    return [(r.numerator, r.denominator) for r in rep.results]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in the report")
    parser.add_argument("--memory-cases", type=int, default=100_000, help="for the default path")
    parser.add_argument(
        "--sql-cases",
        default="100000,1000000",
        help="comma-separated case counts of the SQL rows ('' or 0: no SQL rows)",
    )
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--sql-only", action="store_true", help="only the SQL rows")
    parser.add_argument("--repeat", type=int, default=1, help="SQL reports: best of N runs")
    parser.add_argument(
        "--skip-default", action="store_true", help="SQL rows: leave out the default path"
    )
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    n, m = (4_000, 2_000) if args.quick else (args.cases, min(args.memory_cases, args.cases))
    sql_sizes = [int(x) for x in args.sql_cases.split(",") if x.strip() and int(x)]
    if args.quick:
        sql_sizes = [1_000] if sql_sizes else []

    from importlib.metadata import version

    from techsvc_flow import WorkCalendar
    from techsvc_flow.errors import ProvisionalWarning
    from techsvc_flow.quality import Period, report

    warnings.simplefilter("ignore", ProvisionalWarning)
    print(f"machine: {platform.platform()}, {platform.processor() or 'cpu'}, "
          f"python {sys.version.split()[0]}, techsvc_flow {version('techsvc_flow')}, "
          f"SQLite {sqlite3.sqlite_version}")  # fmt: skip
    calendar = WorkCalendar.china(coverage="provisional")
    year = Period.parse("2025", tz=SH)
    as_of = dt.datetime(2026, 3, 1, tzinfo=SH)

    def run_report(store: Any, index: bool = True) -> Any:
        return report(store, year, calendar=calendar, as_of=as_of, index=index)

    run_report.calendar = calendar  # type: ignore[attr-defined]

    expected: dict[int, list[tuple[int, int]]] = {}

    def figures_of(k: int) -> list[tuple[int, int]]:
        """The figures of k synthetic cases, reported from their facts in memory."""
        if k not in expected:
            expected[k] = _figures(run_report(_facts_store(k)))
        return expected[k]

    if not args.sql_only:
        _in_memory(n, m, run_report, expected, markdown=args.markdown)
    if sql_sizes:
        sql_rows = _sql(sql_sizes, args, run_report, figures_of)
        _print_sql(sql_rows, markdown=args.markdown)
    return 0


def _in_memory(
    n: int,
    m: int,
    run_report: Callable[[Any], Any],
    expected: dict[int, list[tuple[int, int]]],
    *,
    markdown: bool,
) -> None:
    """The rows without a database: facts handed over in bulk, and the default path."""
    from techsvc_flow import Store

    store = _facts_store(n)
    gen, count = _seconds(_count, store)
    total, rep = _seconds(run_report, store)
    assert count == n
    counted = sum(r.denominator for r in rep.results)
    expected[n] = _figures(rep)
    memory = _memory_store(m)
    default, facts_count = _seconds(lambda: sum(1 for _ in Store.facts(memory)))
    memory_total, memory_rep = _seconds(run_report, memory)
    assert facts_count == m
    # the same synthetic cases give the same figures through either path
    if m not in expected:
        expected[m] = _figures(run_report(_facts_store(m)))
    assert _figures(memory_rep) == expected[m]

    rows = [
        (f"facts only ({n:,} cases)", gen, gen / n),
        (f"report over facts ({n:,} cases, year + 12 months)", total, total / n),
        ("  of which aggregation (report − facts)", total - gen, (total - gen) / n),
        (f"default Store.facts on MemoryStore ({m:,} cases)", default, default / m),
        (f"report through default facts ({m:,} cases)", memory_total, memory_total / m),
        ("  extrapolated to 1,000,000 cases", memory_total / m * 1e6, memory_total / m),
    ]
    if markdown:
        print("\n| what | seconds | µs / case |")
        print("|---|---|---|")
        for name, sec, per in rows:
            print(f"| {name} | {sec:.2f} | {per * 1e6:.1f} |")
    else:
        print()
        for name, sec, per in rows:
            print(f"{name:<58} {sec:9.2f} s {per * 1e6:9.1f} µs/case")
    print(f"\nobservations counted: {counted:,}; seven results:")
    for r in rep.results:
        print(f"  {r.code:<28} {r.numerator:>9,} / {r.denominator:<9,} {r.value}% {r.status}")


@attrs.frozen
class SqlRow:
    """One database and size: seconds for each way of making the year's report."""

    database: str
    cases: int
    indexed: float  # report(store): index up to date (refresh finds nothing + GROUP BY)
    with_late: float  # the same, and its late-case lists read (what text / HTML show)
    changed: float  # report(store) after 1 % of the cases changed: their refresh included
    build: float  # the first refresh: every case observed and written
    facts: float  # report(store, index=False): every case's facts read (SqlStore.facts)
    default: float  # report through the default Store.facts (one history() per case)
    default_measured: int  # the case count the default path was measured on


def _late(run_report: Callable[..., Any], store: Any) -> int:
    """The report, and how many late cases it lists (read from the store)."""
    return len(run_report(store).late)


def _forget(store: Any, every: int) -> int:
    """Make every ``every``-th case stale in the index, as if it had changed (its
    observations are made again on the next refresh: the work a real change causes)."""
    import sqlalchemy as sa

    seen = store.tables.quality_seen
    with store.engine.begin() as conn:
        ids = conn.execute(sa.select(seen.c.case_id).order_by(seen.c.case_id)).scalars().all()
        chosen = ids[::every]
        for lo in range(0, len(chosen), 5000):
            conn.execute(sa.delete(seen).where(seen.c.case_id.in_(chosen[lo : lo + 5000])))
    return len(chosen)


def _sql(
    sizes: list[int],
    args: argparse.Namespace,
    run_report: Callable[..., Any],
    figures_of: Callable[[int], list[tuple[int, int]]],
) -> list[SqlRow]:
    from techsvc_flow.sql import ObservationIndex, SqlStore

    server = (
        _postgres.start({"shared_buffers": "512MB"})
        if args.postgres
        else "not asked for (--postgres)"
    )
    if isinstance(server, str):
        print(f"\nPostgreSQL rows left out: {server}")
    out: list[SqlRow] = []
    default_per_case: dict[str, tuple[float, int]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="techsvc-flow-quality-") as tmp:
            for k in sorted(sizes):
                built, lite = _seconds(fill_sqlite, Path(tmp) / f"q{k}.db", k)
                check_rows(lite, k, sorted({0, 1, 12, 13, 17, 18, k // 2, k - 1}))
                stores: list[tuple[str, Any, float]] = [("SQLite", lite, built)]
                if not isinstance(server, str):
                    pg_store = SqlStore(server.url, prefix=f"q{k}_")
                    copied, _ = _seconds(copy_to_postgres, lite, pg_store)
                    check_rows(pg_store, k, [0, 13, k - 1])
                    stores.append(("PostgreSQL", pg_store, copied))
                for name, store, setup in stores:
                    print(f"\n{name}, {k:,} cases (built in {setup:.1f} s) ...", flush=True)
                    facts, by_facts = _seconds(run_report, store, False)
                    assert _figures(by_facts) == figures_of(k), (name, k)
                    index = ObservationIndex(store, calendar=run_report.calendar)  # type: ignore[attr-defined]
                    build, observed = _seconds(index.refresh)
                    assert observed == k
                    indexed, rep = _seconds(run_report, store)
                    with_late, late = _seconds(_late, run_report, store)
                    for _ in range(args.repeat - 1):
                        indexed = min(indexed, _seconds(run_report, store)[0])
                        with_late = min(with_late, _seconds(_late, run_report, store)[0])
                    # a sanity check (the agreement itself: tests/test_quality_agreement.py)
                    assert _figures(rep) == figures_of(k), (name, k)
                    assert late == len(by_facts.late)
                    stale = _forget(store, 100)
                    changed, again = _seconds(run_report, store)
                    assert _figures(again) == figures_of(k), (name, k)
                    assert index.stale() == 0, stale
                    if args.skip_default:
                        default_per_case[name] = (float("nan"), 0)
                    elif k <= 100_000 or name not in default_per_case:
                        slow, slow_rep = _seconds(run_report, _default(store), False)
                        assert _figures(slow_rep) == figures_of(k), (name, k)
                        default_per_case[name] = (slow / k, k)
                    per, measured = default_per_case[name]
                    row = SqlRow(
                        name, k, indexed, with_late, changed, build, facts, per * k, measured
                    )
                    out.append(row)
                    print(f"  report {indexed:.2f} s (+ late lists {with_late:.2f} s, after "
                          f"{stale:,} changed {changed:.2f} s); first refresh {build:.2f} s; "
                          f"facts path {facts:.2f} s; default {per * k:.2f} s",
                          flush=True)  # fmt: skip
                    store.close()
    finally:
        if not isinstance(server, str):
            server.stop()
    return out


def _print_sql(rows: list[SqlRow], *, markdown: bool) -> None:
    head = (
        "| database | cases | report (s) | with late-case lists (s) | after 1 % changed (s) "
        "| first refresh (s) | report via `SqlStore.facts` (s) "
        "| report via default `Store.facts` (s) | facts ÷ report |"
    )
    print()
    if markdown:
        print(head)
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        approx = "" if r.default_measured == r.cases else "≈ "
        note = "" if r.default_measured == r.cases else f" (from {r.default_measured:,})"
        if not r.default_measured:
            approx, note = "", "not measured"
        cells = (
            r.database, f"{r.cases:,}", f"{r.indexed:.2f}", f"{r.with_late:.2f}",
            f"{r.changed:.2f}", f"{r.build:.1f}", f"{r.facts:.1f}",
            note if not r.default_measured else f"{approx}{r.default:,.1f}{note}",
            f"{r.facts / r.indexed:.0f}×",
        )  # fmt: skip
        if markdown:
            print("| " + " | ".join(cells) + " |")
        else:
            print("  ".join(cells))


if __name__ == "__main__":
    raise SystemExit(main())
