"""Indexed case data fields in cross-case queries (issue 13), and the SQL store writing
the ``work`` and ``case_fields`` rows only when they change.

The query tests run against every store (``store`` fixture: memory, SQLite,
PostgreSQL) and compare each answer with the reference semantics
(:func:`techsvc_flow.query.matches` over every case).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import test_work

from techsvc_flow import (
    Actor,
    Field,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Store,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.definition import Assign
from techsvc_flow.errors import DefinitionError, InvalidValue
from techsvc_flow.query import CaseQuery, index_value

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 9, 30, 9, 0, tzinfo=SHANGHAI)
NOW = T0 + dt.timedelta(hours=8)
CALENDAR = WorkCalendar.china(coverage="provisional")


EDITABLE = ("client_id", "amount", "vip", "price", "day", "seen")


def order(version: int = 1, indexed: bool = True) -> ProcessDefinition:
    return ProcessDefinition(
        name="order",
        version=version,
        states=[
            State("open", initial=True, assign=Assign(roles=("agent",))),
            State("shipped", assign=Assign(roles=("agent",))),
            State("done", final=True),
        ],
        transitions=[
            Transition("ship", source="open", dest="shipped"),
            Transition("back", source="shipped", dest="open"),
            Transition("edit", source=("open", "shipped"), dest="open", accepts=EDITABLE),
            Transition("close", source="*", dest="done"),
        ],
        fields=[
            Field("client_id", "str", indexed=indexed),
            Field("amount", "int", indexed=indexed),
            Field("vip", "bool", indexed=indexed),
            Field("price", "decimal", indexed=indexed),
            Field("day", "date", indexed=indexed),
            Field("seen", "datetime", indexed=indexed),
            Field("note", "str"),
        ],
        slas=[Sla("respond", "4wh", start_states=("open",), stop_states=("done",))],
    )


PLAIN = ProcessDefinition(
    name="plain",
    version=1,
    states=[State("open", initial=True, assign=Assign(roles=("agent",))),
            State("done", final=True)],
    transitions=[Transition("ping", source="open", dest="open", accepts=("note",)),
                 Transition("close", source="open", dest="done")],
    fields=[Field("note", "str")],
)  # fmt: skip


def make_wf(store: Store | None = None) -> Workflow:
    return Workflow(store, calendar=CALENDAR, clock=SteppedClock(T0), processes=[order(), PLAIN])


def populate(wf: Workflow) -> None:
    clients = ["C-1", "C-2", "C-3"]
    for i in range(12):
        at = T0 + dt.timedelta(minutes=10 * i)
        data: dict[str, Any] = {"client_id": clients[i % 3], "amount": i * 10, "note": "x"}
        if i % 2:
            data |= {"vip": i % 4 == 1, "price": Decimal(i) / 4}
        if i % 3 == 0:
            data |= {"day": dt.date(2025, 10, i + 1),
                     "seen": dt.datetime(2025, 10, 1, i, tzinfo=SHANGHAI)}  # fmt: skip
        wf.start("order", case_id=f"O-{i:02}", data=data, at=at)
        wf.start("plain", case_id=f"P-{i:02}", data={"note": "x"}, at=at)
    at = T0 + dt.timedelta(hours=2)
    wf.fire("O-00", "edit", payload={"client_id": "C-2"}, at=at)  # moved to another client
    wf.fire("O-01", "ship", at=at)
    wf.fire("O-02", "close", at=at)
    wf.fire("O-04", "edit", payload={"amount": 1000}, at=at)


# the same reference answer and paging as the work tests (the same NOW)
reference = test_work.reference
pages = test_work.all_pages


SEEN = dt.datetime(2025, 10, 1, 3, tzinfo=SHANGHAI)
QUERIES: list[dict[str, Any]] = [
    {"fields": {"client_id": "C-2"}},
    {"fields": {"client_id": ["C-1", "C-3"]}, "order": "updated"},
    {"fields": {"amount": 1000}},
    {"fields": {"amount": (10, 20, 30)}},
    {"fields": {"vip": True}},
    {"fields": {"vip": False, "client_id": "C-2"}},
    {"fields": {"price": Decimal("0.25")}},
    {"fields": {"price": [0.75, Decimal("1.25")]}},
    {"fields": {"day": dt.date(2025, 10, 4)}},
    {"fields": {"seen": SEEN.astimezone(dt.UTC)}},  # the same instant in another zone
    {"process": "order", "states": ("open",), "fields": {"client_id": "C-1"}},
    {"fields": {"client_id": "C-1"}, "roles": ("agent",)},
    {"fields": {"client_id": "C-9"}},
]


@pytest.mark.parametrize("filters", QUERIES, ids=[str(q) for q in QUERIES])
def test_every_store_answers_field_queries_as_the_reference_does(
    store: Store, filters: dict[str, Any]
) -> None:
    wf = make_wf(store)
    populate(wf)
    expected = reference(wf, CaseQuery(**filters))
    assert pages(wf, 50, **filters) == expected
    assert pages(wf, 2, **filters) == expected


def test_field_queries_and_counts_answer_what_was_stored(store: Store) -> None:
    wf = make_wf(store)
    populate(wf)
    # O-00 moved to C-2; earliest due first
    assert pages(wf, 50, fields={"client_id": "C-2"}) == ["O-00", "O-01", "O-04", "O-07",
                                                           "O-10"]  # fmt: skip
    assert pages(wf, 50, fields={"seen": SEEN}) == ["O-03"]
    assert pages(wf, 50, fields={"amount": 40}) == []  # O-04 now has 1000
    assert wf.counts("state", fields={"client_id": ["C-1", "C-2"]}, at=NOW) == {
        "open": 7, "shipped": 1}  # fmt: skip
    assert wf.counts("role", fields={"vip": True}, at=NOW) == {"agent": 3}


def test_a_field_must_be_indexed_and_of_a_scalar_type() -> None:
    with pytest.raises(DefinitionError, match=r"'tags' of type 'list' cannot be indexed"):
        ProcessDefinition(name="p", version=1, states=[State("a", initial=True)],
                          transitions=[], fields=[Field("tags", "list", indexed=True)])  # fmt: skip
    with pytest.raises(DefinitionError, match=r"'secret' is confidential"):
        ProcessDefinition(name="p", version=1, states=[State("a", initial=True)],
                          transitions=[], fields=[Field("secret", "str", indexed=True,
                                                        confidential=True)])  # fmt: skip
    d = order()
    assert d.indexed["client_id"] == "str" and "note" not in d.indexed
    assert ProcessDefinition.from_dict(d.to_dict()).indexed == d.indexed
    assert "indexed" not in str(PLAIN.to_dict())  # an old definition keeps its hash


def test_querying_a_field_that_is_not_indexed_is_a_clear_error() -> None:
    wf = make_wf()
    with pytest.raises(InvalidValue, match=r"fields.note.*not an indexed field.*order.amount"):
        wf.query(fields={"note": "x"})
    with pytest.raises(InvalidValue, match=r"fields.client_id.*process 'plain'"):
        wf.query(process="plain", fields={"client_id": "C-1"})
    with pytest.raises(InvalidValue, match=r"fields.amount.*'ten' is not a value of the"):
        wf.counts("state", fields={"amount": "ten"})
    with pytest.raises(InvalidValue, match=r"fields.client_id.*gives no value"):
        wf.query(fields={"client_id": []})
    with pytest.raises(InvalidValue, match=r"fields.client_id.*not a value an index holds"):
        wf.query(fields={"client_id": {"a": 1}})
    with pytest.raises(InvalidValue, match=r"fields.seen"):
        wf.query(fields={"seen": dt.datetime(2025, 10, 1)})  # naive


def test_index_value_compares_instants_as_instants_and_numbers_as_numbers() -> None:
    assert index_value(SEEN) == index_value(SEEN.astimezone(dt.UTC))
    assert index_value(3) == index_value(3.0) == index_value(Decimal("3.00"))
    assert index_value(dt.date(2025, 1, 2)) == ("s", "2025-01-02")
    assert index_value("x" * 300) is None and index_value(float("nan")) is None


# --- SQL: rows written only when they change ------------------------------------------


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[Any]:
    from techsvc_flow.sql import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path}/f.db")
    yield store
    store.close()


def _statements(store: Any) -> list[str]:
    """The first three words of every statement SQLite runs for ``store`` from now on
    (traced by SQLite itself: the store sends its writes through the driver)."""
    import sqlalchemy as sa

    seen: list[str] = []

    def trace(statement: str) -> None:
        seen.append(" ".join(statement.split()[:3]))

    store.engine.dispose()  # the next connections are traced

    @sa.event.listens_for(store.engine, "connect")
    def _trace(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.set_trace_callback(trace)

    return seen


def test_a_fire_rewrites_work_and_field_rows_only_when_they_change(sql_store: Any) -> None:
    wf = make_wf(sql_store)
    wf.start("order", case_id="O-1", data={"client_id": "C-1", "amount": 5})
    wf.start("plain", case_id="P-1")
    seen = _statements(sql_store)
    p = sql_store.tables.prefix

    def touched() -> list[str]:
        out = [s for s in seen if f"{p}work" in s or f"{p}case_fields" in s]
        seen.clear()
        return out

    wf.fire("O-1", "ship")  # same candidates, same due instant, same fields
    wf.fire("P-1", "ping", payload={"note": "y"})
    assert touched() == []
    wf.fire("O-1", "edit", payload={"amount": 6})
    assert touched() == [f"DELETE FROM {p}work", f"DELETE FROM {p}case_fields",
                         f"INSERT INTO {p}work",
                         f"INSERT INTO {p}case_fields", f"INSERT INTO {p}case_fields"]  # fmt: skip
    wf.claim("P-1", actor=Actor("ann", {"agent"}))
    assert touched() == [f"DELETE FROM {p}work", f"INSERT INTO {p}work"]  # fmt: skip
    assert [c.id for c in wf.query(fields={"amount": 6})] == ["O-1"]
    assert [c.id for c in wf.query(assignee="ann")] == ["P-1"]
    with sql_store.reading() as conn:
        import sqlalchemy as sa

        f = sql_store.tables.case_fields
        rows = conn.execute(sa.select(f.c.case_id, f.c.name, f.c.s, f.c.n)).all()
    assert sorted(rows) == [("O-1", "amount", None, 6.0), ("O-1", "client_id", "C-1", None)]


def test_a_field_newly_declared_indexed_is_filled_in_from_the_bodies(tmp_path: Path) -> None:
    from techsvc_flow.sql import SqlStore

    url = f"sqlite:///{tmp_path}/n.db"
    store = SqlStore(url)
    wf = Workflow(store, calendar=CALENDAR, clock=SteppedClock(T0),
                  processes=[order(indexed=False)])  # fmt: skip
    wf.start("order", case_id="O-1", data={"client_id": "C-1"})
    wf.start("order", case_id="O-2", data={"client_id": "C-2"})
    with pytest.raises(InvalidValue, match="not an indexed field"):
        wf.query(fields={"client_id": "C-1"})
    store.close()
    store = SqlStore(url)
    wf = Workflow(store, calendar=CALENDAR, clock=SteppedClock(T0),
                  processes=[order(indexed=False), order(version=2)])  # fmt: skip
    assert [c.id for c in wf.query(fields={"client_id": "C-2"})] == ["O-2"]
    wf.fire("O-2", "edit", payload={"client_id": "C-1"})
    assert [c.id for c in wf.query(fields={"client_id": "C-1"})] == ["O-1", "O-2"]
    store.close()


def test_cases_written_on_revision_0007_tables_are_right_after_the_upgrade(
    tmp_path: Path,
) -> None:
    from techsvc_flow.sql import SqlStore, upgrade
    from techsvc_flow.sql.schema import upgrade_engine

    url = f"sqlite:///{tmp_path}/o.db"
    upgrade(url, revision="0007")
    store = SqlStore(url, migrate=False)
    wf = make_wf(store)
    wf.start("order", case_id="O-1", data={"client_id": "C-1"})
    wf.start("plain", case_id="P-1")
    wf.claim("P-1", actor=Actor("ann", {"agent"}))
    wf.fire("O-1", "ship")
    assert [c.id for c in wf.query(fields={"client_id": "C-1"})] == ["O-1"]  # by reading
    assert [c.id for c in wf.query(assignee="ann")] == ["P-1"]
    upgrade_engine(store.engine, store.tables)
    store.close()
    store = SqlStore(url)
    wf = make_wf(store)
    assert [c.id for c in wf.query(fields={"client_id": "C-1"})] == ["O-1"]
    wf.fire("O-1", "back")  # the rows without a digest are rewritten once
    wf.reassign("P-1", "bob", actor=Actor("ann", {"agent"}), reason="leave")
    assert [c.id for c in wf.query(roles=("agent",))] == ["O-1"]
    assert [c.id for c in wf.query(assignee="bob")] == ["P-1"]
    assert wf.counts("role") == {"agent": 1, None: 1}
    store.close()


def test_event_payloads_copied_directly_are_what_json_gives() -> None:
    from techsvc_flow._codec import jsonable
    from techsvc_flow.engine._events import _plain

    payloads: list[dict[str, Any]] = [
        {"assignment": {"assignee": None, "roles": ["agent"], "delegate": None}, "rule": "x"},
        {"a": (1, [2.5, {"b": True}]), "c": None},
        {"when": dt.date(2025, 1, 2), "n": Decimal("1.5")},  # through the codec
        {"map": {1: "one"}},  # a key JSON turns into text
        {"s": {"x"}},
    ]
    for payload in payloads:
        assert _plain(payload) == jsonable(payload)
    nested = {"a": {"b": [1]}}
    copied = _plain(nested)
    assert copied == nested and copied["a"] is not nested["a"]
