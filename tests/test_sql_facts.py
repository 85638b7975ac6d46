"""``SqlStore.facts`` computes in SQL exactly what the default ``Store.facts`` reads from
``cases()`` and ``history()``: the same facts, in the same order, with every instant in
the offset its history entry was written with. On SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pg
import pytest
import quality_scenario as qs
import sqlalchemy as sa
from alembic import command

from techsvc_flow import (
    Field,
    MemoryStore,
    ProcessDefinition,
    State,
    SteppedClock,
    Store,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.facts import CaseFacts
from techsvc_flow.quality import Period, report
from techsvc_flow.sql import SCHEMA_REVISION, SqlStore, current_revision
from techsvc_flow.sql.schema import alembic_config

SH = ZoneInfo("Asia/Shanghai")
Q4 = Period.parse("2025-Q4", tz=SH)


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of SqlStores on one empty database (a SQLite file, a PostgreSQL schema)."""
    made: list[SqlStore] = []

    def make(**options: Any) -> SqlStore:
        if request.param == "sqlite":
            store = SqlStore(
                f"sqlite:///{tmp_path}/flow.db", engine_options={"synchronous": "OFF"}, **options
            )
        else:
            store = SqlStore(pg.engine(server.url), schema=schema, **options)
        made.append(store)
        return store

    if request.param == "sqlite":
        yield make
    else:
        server = pg.require()
        with pg.fresh_schema(server) as schema:
            yield make
    for store in made:
        store.close()


def same(store: Store, *args: Any, **kwargs: Any) -> list[CaseFacts]:
    """``store.facts(...)``, checked against the base class's reading of the same store."""
    got = list(store.facts(*args, **kwargs))
    expected = list(Store.facts(store, *args, **kwargs))
    assert got == expected
    for mine, theirs in zip(got, expected, strict=True):
        # dicts compare without order, instants without their offset: check both
        assert list(mine.entered) == list(theirs.entered)
        for name, at in mine.entered.items():
            assert at.isoformat() == theirs.entered[name].isoformat()
        for name in ("created_at", "updated_at"):
            assert getattr(mine, name).isoformat() == getattr(theirs, name).isoformat()
    return got


def test_a_recorded_quarter_gives_the_default_facts(make_store: Any) -> None:
    """Also after the migration that added the columns fills them in for old rows."""
    store = make_store()
    wf = qs.build(store)
    assert len(same(store)) == 21 + 11 + 4
    processes = ["complaint", "service_engagement", "satisfaction_survey"]
    for names in (["complaint"], [*processes, "complaint"], ["innovation_service"], []):
        same(store, names)
        same(store, names, since=qs.at(12, 1))
        same(store, names, until=qs.at(12, 30))
        same(store, names, since=qs.at(11, 15), until=qs.at(12, 1))
    assert [f.id for f in same(store, ["complaint"], since=qs.at(12, 1), until=qs.at(12, 30))] == [
        "C13", "C14", "C15", "C16", "C17", "C18", "C19"
    ]  # fmt: skip
    # and the report through either is the same, to the last case id
    fast = report(store, Q4, calendar=wf.calendar)

    class Default(MemoryStore):  # read only through cases() and history()
        def cases(self, process: str | None = None, state: str | None = None) -> Any:
            return store.cases(process, state)

        def history(self, case_id: str) -> Any:
            return store.history(case_id)

    slow = report(Default(), Q4, calendar=wf.calendar)
    assert fast.to_dict() == slow.to_dict()
    # a database recorded before the columns existed: the migration fills them in
    before = list(Store.facts(store))
    tables = store.tables
    with store.engine.connect() as conn:
        command.downgrade(alembic_config(conn, tables), "0001")
        conn.commit()
        assert current_revision(conn, tables) == "0001"
        columns = sa.inspect(conn).get_columns(tables.history.name, schema=tables.schema)
        assert "dest" not in {c["name"] for c in columns}
    again = make_store()  # upgrades to the head, reading dest and at_offset from the bodies
    with again.engine.connect() as conn:
        assert current_revision(conn, again.tables) == SCHEMA_REVISION
    assert same(again) == before


LOOP = ProcessDefinition(
    name="loop",
    version=1,
    states=[State("open", initial=True), State("waiting"), State("done", final=True)],
    transitions=[
        Transition("note", source="open", dest="open"),
        Transition("wait", source="open", dest="waiting"),
        Transition("resume", source="waiting", dest="open"),
        Transition("close", source=("open", "waiting"), dest="done"),
    ],
    fields=[Field("extra", "any")],
)

UTC = dt.UTC
ODD = dt.timezone(dt.timedelta(hours=-3, minutes=-30))
SUBSECOND = dt.timezone(dt.timedelta(hours=5, microseconds=250))


def test_states_entered_again_and_offsets(make_store: Any) -> None:
    store = make_store()
    t0 = dt.datetime(2025, 10, 9, 9, 0, 0, 123456, tzinfo=SH)
    wf = Workflow(store, calendar=WorkCalendar.china(coverage="provisional"), processes=[LOOP])
    # re-entered states keep their first entry; each instant keeps its own offset
    wf.start("loop", case_id="A", at=t0, data={"extra": {"$date": "not a tag"}})
    wf.fire("A", "note", at=t0 + dt.timedelta(hours=1))
    wf.fire("A", "wait", at=(t0 + dt.timedelta(hours=2)).astimezone(ODD))
    wf.fire("A", "resume", at=(t0 + dt.timedelta(hours=3)).astimezone(UTC))
    wf.fire("A", "wait", at=t0 + dt.timedelta(hours=4))
    wf.fire("A", "close", at=(t0 + dt.timedelta(hours=5)).astimezone(SUBSECOND))
    # a state entered again keeps its first entry (instants only move forward in a case:
    # a fire dated before the last entry is refused)
    wf.start("loop", case_id="B", at=t0)
    wf.fire("B", "wait", at=t0 + dt.timedelta(days=2))
    wf.fire("B", "resume", at=t0 + dt.timedelta(days=2, hours=1))
    wf.fire("B", "wait", at=t0 + dt.timedelta(days=2, hours=2))
    wf.start("loop", case_id="C", at=(t0 + dt.timedelta(days=3)).astimezone(SUBSECOND))
    facts = {f.id: f for f in same(store)}
    a, b, c = facts["A"], facts["B"], facts["C"]
    assert list(a.entered) == ["open", "waiting", "done"]
    assert a.entered["waiting"].isoformat() == "2025-10-08T23:30:00.123456-03:30"
    assert a.entered["done"].utcoffset() == dt.timedelta(hours=5, microseconds=250)
    assert a.data == {"extra": {"$date": "not a tag"}}
    assert b.entered["waiting"] == t0 + dt.timedelta(days=2)  # not the later entry
    assert c.entered == {"open": t0 + dt.timedelta(days=3)}
    assert c.entered["open"].utcoffset() == SUBSECOND.utcoffset(None)
    same(store, ["loop"], since=t0 + dt.timedelta(days=2), until=t0 + dt.timedelta(days=3))


def test_facts_stream_and_release_their_connection(make_store: Any) -> None:
    store = make_store()
    store.facts_batch = 3
    wf = Workflow(
        store,
        calendar=WorkCalendar.china(coverage="provisional"),
        clock=SteppedClock(qs.at(10, 9)),
        processes=[LOOP],
    )
    for n in range(10):
        wf.start("loop", case_id=f"L{n}")
    facts = store.facts(["loop"])
    assert next(facts).id == "L0"
    assert store.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    facts.close()
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert [f.id for f in same(store, ["loop"])] == [f"L{n}" for n in range(10)]


def test_a_bound_store_reads_facts_in_the_host_transaction(make_store: Any) -> None:
    store = make_store()
    with store.engine.connect() as conn:
        bound = store.bind(conn)
        wf = Workflow(bound, calendar=WorkCalendar.china(coverage="provisional"), processes=[LOOP])
        wf.start("loop", case_id="T-1", at=qs.at(10, 9))
        wf.fire("T-1", "close", at=qs.at(10, 10))
        assert [f.entered["done"] for f in same(bound)] == [qs.at(10, 10)]
        conn.rollback()
    assert list(store.facts()) == []
