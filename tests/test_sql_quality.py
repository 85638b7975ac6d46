"""Quality reports counted in SQL (``ObservationIndex``) give exactly what reading every
case's facts gives: the same figures, the same cases in the same order, at every judging
instant; refreshed case by case as cases change; rebuilt for another calendar or
configuration. On SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pg
import pytest
import quality_scenario as qs
from quality_scenario import SH, at

from techsvc_flow import Store, WorkCalendar, Workflow
from techsvc_flow.quality import (
    DEFAULT_CONFIG,
    Period,
    QualityConfig,
    QualityReport,
    observe,
    report,
    windows,
)
from techsvc_flow.sql import IndexOutOfDate, ObservationIndex, SqlStore

Q4 = Period.parse("2025-Q4", tz=SH)
TICK = dt.timedelta(microseconds=1)


@contextlib.contextmanager
def quarter_in(database: str, directory: Path) -> Iterator[Workflow]:
    """The recorded quarter in a new SQL store: a SQLite file in ``directory``, or a
    fresh schema on the throw-away PostgreSQL server."""
    if database == "sqlite":
        store = SqlStore(f"sqlite:///{directory}/flow.db", engine_options={"synchronous": "OFF"})
        yield qs.build(store)
        store.close()
        return
    server = pg.require()
    with pg.fresh_schema(server) as schema:
        store = SqlStore(pg.engine(server.url), schema=schema)
        yield qs.build(store)
        store.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def recorded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workflow]:
    """The recorded quarter in a SQL store (one per database, shared by the module)."""
    with quarter_in(request.param, tmp_path_factory.mktemp("sqlq")) as wf:
        yield wf


@pytest.fixture(scope="module")
def in_memory() -> Workflow:
    return qs.build()


def everything(rep: QualityReport) -> list[Any]:
    """Every figure of a report and every observation behind it, instants with offsets."""

    def obs(found: Any) -> list[Any]:
        return [(*o[:3], o.at.isoformat(), *o[4:]) for o in found]

    out: list[Any] = [rep.period.to_dict(), rep.as_of.isoformat()]
    for span, results in [(rep.period, rep.results), *rep.months]:
        for r in results:
            out.append((span.label, r.to_dict(cases=True), obs(r.observations), obs(r.missed)))
    return out


def by_facts(store: Store, period: Period, cal: WorkCalendar, **kw: Any) -> QualityReport:
    return report(store, period, calendar=cal, index=False, **kw)


PERIODS = [
    Q4,
    Period.parse("2025", tz=SH),
    Period.parse("2025-11", tz=SH),
    Period.parse("2025-10-08..2025-10-14", tz=SH),
]


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_counted_in_sql_as_read_from_facts(
    recorded: Workflow, in_memory: Workflow, period: Period
) -> None:
    store, cal = recorded.store, recorded.calendar
    assert isinstance(store, SqlStore)
    for as_of in (None, at(10, 20), at(11, 30, 17, 45), at(12, 19), qs.AS_OF):
        kw = {} if as_of is None else {"as_of": as_of}
        counted = report(store, period, calendar=cal, **kw)
        assert "read from the index" in repr(counted.results[0].observations)
        expected = everything(by_facts(store, period, cal, **kw))
        assert everything(counted) == expected
        # and the same as the very same quarter recorded in memory
        assert everything(report(in_memory.store, period, calendar=cal, **kw)) == expected


def test_the_case_lists_are_read_when_asked_for(recorded: Workflow) -> None:
    rep = report(recorded.store, Q4, calendar=recorded.calendar, as_of=qs.AS_OF)
    r = rep.result("complaint_timeliness")
    assert "read from the index when used" in repr(r.observations)
    assert len(r.observations) == r.denominator  # known without reading them
    assert len(r.missed) == r.denominator - r.numerator
    assert r.observations == tuple(r.observations) and r.missed[0] in r.observations
    assert r.missed == by_facts(recorded.store, Q4, recorded.calendar).result(r.code).missed


def test_windows_hold_exactly_where_observe_does(in_memory: Workflow) -> None:
    """Judged at any instant — every breakpoint, a microsecond either side, every day
    of the quarter — the windows holding there are the observations made there."""
    cal = in_memory.calendar
    facts = list(in_memory.store.facts())
    found = list(windows(facts, calendar=cal))
    bounds = {b for w in found for b in (w.after, w.until) if b is not None}
    assert bounds, "the scenario has clocks still running: breakpoints to test"
    instants = {b + d for b in bounds for d in (-TICK, dt.timedelta(0), TICK)}
    day = dt.datetime(2025, 9, 1, tzinfo=SH)
    while day < dt.datetime(2026, 3, 1, tzinfo=SH):
        instants |= {day, day + dt.timedelta(hours=12)}
        day += dt.timedelta(days=1)
    for as_of in sorted(instants):
        made = sorted(observe(facts, calendar=cal, as_of=as_of), key=repr)
        held = [
            w.observation
            for w in found
            if (w.after is None or w.after < as_of) and (w.until is None or as_of <= w.until)
        ]
        assert sorted(held, key=repr) == made, as_of


@pytest.fixture(params=["sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workflow]:
    """The recorded quarter in a store of its own, for tests that change it."""
    with quarter_in(request.param, tmp_path) as wf:
        yield wf


def test_only_changed_cases_are_observed_again(fresh: Workflow) -> None:
    store, cal = fresh.store, fresh.calendar
    assert isinstance(store, SqlStore)
    index = ObservationIndex(store, calendar=cal)
    with pytest.raises(IndexOutOfDate, match="refresh"):
        index.report(Q4)  # never made
    assert index.stale() == 36
    assert index.refresh() == 36
    assert (index.stale(), index.refresh()) == (0, 0)
    before = everything(index.report(Q4, as_of=qs.AS_OF))
    # a complaint is withdrawn, an engagement responded to, a new complaint arrives
    fresh.fire(
        "C20",
        "withdraw",
        at=at(12, 31),  # C20 was received on 12-30
        actor=qs.HANDLER,
        payload={"withdrawal_statement": "resolved by phone"},
    )
    fresh.fire(
        "E09", "respond", at=at(12, 31, 21), actor=qs.HANDLER, payload={"response_channel": "phone"}
    )
    late = store.load("C01")
    fresh.start(
        "complaint",
        case_id="C99",
        at=at(12, 22),
        actor=qs.STAFF,
        data={
            "channel": "email",
            "category": "service_quality",
            "severity": "low",
            "description": "a late addition",
        },
    )
    assert index.stale() == 3
    assert (index.refresh(), index.refresh()) == (3, 0)
    after = index.report(Q4, as_of=qs.AS_OF)
    assert everything(after) == everything(by_facts(store, Q4, cal, as_of=qs.AS_OF))
    assert everything(after) != before
    # C99's feedback limit (7 working days) ends at 24:00 on Dec 31: still pending at
    # AS_OF (midnight), late after it, with no refresh between
    assert "C99" not in after.result("complaint_timeliness").denominator_cases
    later = dt.datetime(2026, 1, 10, tzinfo=SH)
    assert "C99" in index.report(Q4, as_of=later).result("complaint_timeliness").missed_cases
    assert everything(index.report(Q4, as_of=later)) == everything(
        by_facts(store, Q4, cal, as_of=later)
    )
    assert store.load("C01") == late


def test_another_configuration_or_calendar_rebuilds_the_index(fresh: Workflow) -> None:
    store, cal = fresh.store, fresh.calendar
    assert isinstance(store, SqlStore)
    report(store, Q4, calendar=cal)  # made for the default configuration
    strict = QualityConfig(satisfied_index=Decimal(90), excluded_faults=())
    index = ObservationIndex(store, calendar=cal, config=strict)
    assert index.fingerprint != ObservationIndex(store, calendar=cal).fingerprint
    assert index.stale() == 36
    with pytest.raises(IndexOutOfDate):
        index.report(Q4)
    got = report(store, Q4, calendar=cal, config=strict)
    assert everything(got) == everything(by_facts(store, Q4, cal, config=strict))
    # a newly published schedule: 2025-12-01 made a holiday moves working-day deadlines
    moved = cal.with_schedule(
        2025,
        holidays=[*_holidays_2025(cal), dt.date(2025, 12, 1)],
        workdays=_workdays_2025(cal),
    )
    assert ObservationIndex(store, calendar=moved).stale() == 36
    got = report(store, Q4, calendar=moved, as_of=qs.AS_OF)
    assert everything(got) == everything(by_facts(store, Q4, moved, as_of=qs.AS_OF))
    # thresholds and the satisfaction basis are applied when counting: changing them
    # observes nothing again
    report(store, Q4, calendar=cal)
    counted = attrs.evolve(
        DEFAULT_CONFIG.with_thresholds(response_timeliness=99), satisfaction_basis="index"
    )
    assert ObservationIndex(store, calendar=cal, config=counted).stale() == 0
    got = report(store, Q4, calendar=cal, config=counted, as_of=qs.AS_OF)
    assert got.result("response_timeliness").threshold == Decimal(99)
    assert got.result("customer_satisfaction").basis == "index"
    assert everything(got) == everything(by_facts(store, Q4, cal, config=counted, as_of=qs.AS_OF))


def _holidays_2025(cal: WorkCalendar) -> list[dt.date]:
    day, out = dt.date(2025, 1, 1), []
    while day.year == 2025:
        if day.weekday() < 5 and not cal.is_working_day(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def _workdays_2025(cal: WorkCalendar) -> list[dt.date]:
    day, out = dt.date(2025, 1, 1), []
    while day.year == 2025:
        if day.weekday() >= 5 and cal.is_working_day(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def test_a_bound_store_refreshes_in_the_host_transaction(fresh: Workflow) -> None:
    store = fresh.store
    assert isinstance(store, SqlStore)
    with store.engine.connect() as conn:
        bound = store.bind(conn)
        index = ObservationIndex(bound, calendar=fresh.calendar)
        assert index.refresh() == 36
        assert index.report(Q4).results == report(bound, Q4, calendar=fresh.calendar).results
        conn.rollback()
    assert ObservationIndex(store, calendar=fresh.calendar).stale() == 36  # rolled back


def test_refreshes_running_at_once_leave_one_consistent_index(fresh: Workflow) -> None:
    store, cal = fresh.store, fresh.calendar
    assert isinstance(store, SqlStore)
    errors: list[BaseException] = []
    done: list[int] = []

    def run() -> None:
        try:
            index = ObservationIndex(store, calendar=cal)
            index.page_size = 4
            done.append(index.refresh())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sum(done) >= 36  # every case observed, some twice: never half
    index = ObservationIndex(store, calendar=cal)
    assert index.stale() == 0
    assert everything(index.report(Q4, as_of=qs.AS_OF)) == everything(
        by_facts(store, Q4, cal, as_of=qs.AS_OF)
    )


def test_only_sql_stores_on_sqlite_or_postgresql_have_an_index(in_memory: Workflow) -> None:
    with pytest.raises(TypeError, match="SqlStore"):
        ObservationIndex(in_memory.store, calendar=in_memory.calendar)  # type: ignore[arg-type]


def test_a_refresh_overtaken_by_another_configuration_stops_cleanly(fresh: Workflow) -> None:
    """Another configuration's refresh empties the index under a running one: the
    running one stops at its next page with a clear error, and writes nothing more."""
    store, cal = fresh.store, fresh.calendar
    assert isinstance(store, SqlStore)
    ours = ObservationIndex(store, calendar=cal)
    ours.page_size = 5
    theirs = ObservationIndex(store, calendar=cal, config=QualityConfig(excluded_faults=()))

    def overtaken(done: int) -> None:
        if done == 5:
            theirs._claim()  # what the other refresh does first

    with pytest.raises(IndexOutOfDate, match="while this refresh ran"):
        ours.refresh(progress=overtaken)
    assert theirs.stale() == 36  # emptied for them: none of ours left behind
    assert theirs.refresh() == 36
    got = theirs.report(Q4, as_of=qs.AS_OF)
    expected = by_facts(store, Q4, cal, as_of=qs.AS_OF, config=theirs.config)
    assert everything(got) == everything(expected)
