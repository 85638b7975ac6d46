"""Quality-report benchmark: the seven indicators over a million cases.

A year (2025) of synthetic cases — 60 % complaints, 25 % service engagements, 15 %
satisfaction surveys, a few per cent late — and ``quality.report`` over the whole year
with the month-by-month trend. Measured side by side in one run:

- *facts only*: producing the per-case facts (what any store pays to hand them over);
- *report over facts*: ``quality.report`` reading those facts (the Python aggregation:
  SLA outcomes in Chinese working time, seven indicators, twelve months);
- *default Store.facts*: the base class's ``facts`` on a ``MemoryStore`` (one
  ``history()`` read per case) for a smaller number of cases, per case and extrapolated.

A SQL store that overrides ``Store.facts`` with one grouped query pays the first line in
the database instead. Run: ``python -m benchmarks.quality`` (``--cases N``, ``--quick``
for a smoke run, ``--markdown`` for a table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import platform
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2025, 1, 2, 9, 0, tzinfo=SH)
YEAR_SECONDS = 360 * 86_400
SCORES = {
    "responsiveness": 4,
    "competence": 5,
    "communication": 4,
    "timeliness": 4,
    "result_quality": 4,
}


# (process, state, data, counts, [(state entered, at)], clocks)
Parts = tuple[
    str, str, dict[str, Any], dict[str, int], list[tuple[str, dt.datetime]], dict[str, Any]
]


def _kind(i: int) -> str:
    k = i % 20
    return "complaint" if k < 12 else "service_engagement" if k < 17 else "satisfaction_survey"


class Synthetic:
    """Builds the facts (and, for the default path, the cases and histories) of case i."""

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
        from techsvc_flow import SlaClock
        from techsvc_flow.sla import ClockEvent

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


def _facts_store(n: int) -> Any:
    from techsvc_flow import Store

    synthetic = Synthetic(n)

    class FactsStore(Store):
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
    from techsvc_flow import Case, HistoryEntry, MemoryStore

    synthetic = Synthetic(n)
    store = MemoryStore()
    for i in range(n):
        process, state, data, counts, entered, clocks = synthetic.parts(i)
        cid = f"K{i}"
        entries = [
            HistoryEntry(cid, k + 1, "start" if k == 0 else "fire", at, None,
                         None if k == 0 else "t", None, dest, {}, "h", k + 1, "", "")
            for k, (dest, at) in enumerate(entered)
        ]  # fmt: skip
        case = Case(cid, process, 1, state, data, len(entries), len(entries), "",
                    entered[0][1], entered[-1][1], entered[-1][1], counts, clocks)  # fmt: skip
        store.create(case, entries, [], [])
    return store


def _seconds(run: Any) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    result = run()
    return time.perf_counter() - t0, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in the report")
    parser.add_argument("--memory-cases", type=int, default=100_000, help="for the default path")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    n, m = (4_000, 2_000) if args.quick else (args.cases, min(args.memory_cases, args.cases))

    from importlib.metadata import version

    from techsvc_flow import ProvisionalWarning, Store, WorkCalendar
    from techsvc_flow.quality import Period, report

    warnings.simplefilter("ignore", ProvisionalWarning)
    print(f"machine: {platform.platform()}, {platform.processor() or 'cpu'}, "
          f"python {sys.version.split()[0]}, techsvc_flow {version('techsvc_flow')}")  # fmt: skip
    calendar = WorkCalendar.china(coverage="provisional")
    year = Period.parse("2025", tz=SH)
    as_of = dt.datetime(2026, 3, 1, tzinfo=SH)

    store = _facts_store(n)
    gen, count = _seconds(lambda: sum(1 for _ in store.facts()))
    total, rep = _seconds(lambda: report(store, year, calendar=calendar, as_of=as_of))
    assert count == n
    counted = sum(r.denominator for r in rep.results)

    memory = _memory_store(m)
    default, facts_count = _seconds(lambda: sum(1 for _ in Store.facts(memory)))
    memory_total, memory_rep = _seconds(
        lambda: report(memory, year, calendar=calendar, as_of=as_of)
    )
    assert facts_count == m
    # the same synthetic cases give the same figures through either path
    small, _ = _facts_store(m), None
    assert [(r.numerator, r.denominator) for r in memory_rep.results] == [
        (r.numerator, r.denominator)
        for r in report(small, year, calendar=calendar, as_of=as_of).results
    ]

    rows = [
        (f"facts only ({n:,} cases)", gen, gen / n),
        (f"report over facts ({n:,} cases, year + 12 months)", total, total / n),
        ("  of which aggregation (report − facts)", total - gen, (total - gen) / n),
        (f"default Store.facts on MemoryStore ({m:,} cases)", default, default / m),
        (f"report through default facts ({m:,} cases)", memory_total, memory_total / m),
        ("  extrapolated to 1,000,000 cases", memory_total / m * 1e6, memory_total / m),
    ]
    if args.markdown:
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
