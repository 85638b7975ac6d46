"""The SQL store's cache of recent cases, and the one-statement write.

A fire on a case this process has just read or written skips the read; the case it
remembers may be stale (another process wrote since). These tests make it stale on
purpose, through a second store on the same database (another "server"), and check that
the optimistic check catches every stale decision and the fire is decided again on a
fresh read: nothing lost, nothing doubled, no wrong refusal, no refusal recorded twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import test_sqlstore
from test_sqlstore import T0, Database, workflow

from techsvc_flow import (
    ConcurrentUpdate,
    ProcessDefinition,
    State,
    Transition,
    TransitionNotAllowed,
)
from techsvc_flow.case import verify_chain

H = dt.timedelta(hours=1)
db = test_sqlstore.db  # the same databases: a SQLite file, a PostgreSQL schema


def servers(db: Database, **options: Any) -> tuple[Any, Any]:
    """Two workflows on the same database, each with its own store (its own cache)."""
    one, two = workflow(db.store(**options)), workflow(db.store(**options))
    one.start("ticket", case_id="T-1", data={"title": "t"}, at=T0)
    return one, two


def test_a_fire_after_a_write_reads_nothing(db: Database) -> None:
    wf, _ = servers(db)
    store = wf.store
    # every read of the store (through SQLAlchemy or the driver) takes a reading connection
    reads: list[str] = []
    reading = store.reading

    def counted() -> Any:
        reads.append("read")
        return reading()

    store.reading = counted  # type: ignore[method-assign]
    wf.fire("T-1", "note", payload={"text": "a"}, at=T0 + H)
    assert reads == []  # the case came from the cache: no read
    del store.reading
    assert store.cached("T-1") == store.load("T-1")
    assert store.load("T-1").data["text"] == "a"


def test_without_the_cache_a_fire_reads_the_case(db: Database) -> None:
    # the counterpart of the test above: the count sees a read when there is one
    store = db.store(cache_size=0)
    wf = workflow(store)
    wf.start("ticket", case_id="T-1", at=T0)
    reads: list[str] = []
    reading = store.reading

    def counted() -> Any:
        reads.append("read")
        return reading()

    store.reading = counted  # type: ignore[method-assign]
    wf.fire("T-1", "note", payload={"text": "a"}, at=T0 + H)
    assert reads == ["read"]


def test_a_stale_cache_loses_no_update(db: Database) -> None:
    one, two = servers(db)
    one.fire("T-1", "note", payload={"text": "one"}, at=T0 + H)  # one remembers v2
    two.fire("T-1", "note", payload={"text": "two"}, at=T0 + 2 * H)  # v3, one does not know
    stale = one.store.cached("T-1")
    assert stale is not None and stale.version == 2
    case = one.fire("T-1", "note", payload={"text": "one again"}, at=T0 + 3 * H)
    assert case.version == 4 and case.data["text"] == "one again"
    history = one.history("T-1")
    assert [e.payload.get("text") for e in history if e.kind == "fire"] == [
        "one",
        "two",
        "one again",
    ]
    assert verify_chain(history, head=case.head)
    assert one.store.cached("T-1") == one.store.load("T-1")


def test_expected_version_is_checked_against_the_stored_case(db: Database) -> None:
    one, two = servers(db)
    one.fire("T-1", "note", payload={"text": "one"}, at=T0 + H)  # one remembers v2
    two.fire("T-1", "note", payload={"text": "two"}, at=T0 + 2 * H)  # stored: v3
    # the cached v2 would refuse this; the stored case is v3: accepted
    assert one.fire("T-1", "note", expected_version=3, at=T0 + 3 * H).version == 4
    with pytest.raises(ConcurrentUpdate):  # and the other way round: stale for real
        two.fire("T-1", "note", expected_version=3, at=T0 + 4 * H)


def test_a_stale_refusal_is_decided_again(db: Database) -> None:
    one, two = servers(db)
    one.fire("T-1", "wait", at=T0 + H)  # one remembers "waiting": no "note" there
    two.fire("T-1", "resume", at=T0 + 2 * H)  # stored: "open" again
    assert one.fire("T-1", "note", payload={"text": "ok"}, at=T0 + 3 * H).state == "open"
    # and a refusal that holds on the stored case is still raised
    two.fire("T-1", "close", at=T0 + 4 * H)
    with pytest.raises(TransitionNotAllowed):
        one.fire("T-1", "note", at=T0 + 5 * H)


RECORDED = ProcessDefinition(
    name="guarded",
    version=1,
    states=[State("open", initial=True), State("held"), State("done", final=True)],
    transitions=[
        Transition("hold", source="open", dest="held"),
        Transition("release", source="held", dest="open"),
        Transition(
            "close", source=("open", "held"), dest="done", roles=("lead",), record_refusals=True
        ),
    ],
)


def test_a_refusal_is_recorded_once_and_only_when_it_holds(db: Database) -> None:
    one, two = workflow(db.store()), workflow(db.store())
    one.register(RECORDED)
    two.register(RECORDED)
    one.start("guarded", case_id="G-1", at=T0)
    one.fire("G-1", "hold", at=T0 + H)
    two.fire("G-1", "release", at=T0 + 2 * H)
    with pytest.raises(Exception, match="role"):  # refused by role, on the stored case
        one.fire("G-1", "close", actor="someone", at=T0 + 3 * H)
    refused = [e for e in one.history("G-1") if e.kind == "refused"]
    assert len(refused) == 1 and refused[0].source == "open"


def test_the_same_request_again_is_not_applied_twice(db: Database) -> None:
    one, two = servers(db)
    first = one.fire("T-1", "note", payload={"text": "k"}, idempotency_key="K-1", at=T0 + H)
    # the cache is fresh: the key is checked by the write itself
    again = one.fire("T-1", "note", payload={"text": "k"}, idempotency_key="K-1", at=T0 + H)
    assert again.version == first.version == 2
    two.fire("T-1", "note", payload={"text": "other"}, at=T0 + 2 * H)
    one.fire("T-1", "note", payload={"text": "x"}, at=T0 + 3 * H)  # one is fresh again
    third = one.fire("T-1", "note", payload={"text": "k"}, idempotency_key="K-1", at=T0 + H)
    assert third.version == 2  # the case as stored under the key
    fires = [e for e in one.history("T-1") if e.kind == "fire"]
    assert [e.payload.get("text") for e in fires] == ["k", "other", "x"]


def test_the_cache_is_bounded_and_can_be_off(db: Database) -> None:
    wf = workflow(db.store(cache_size=2))
    for n in range(3):
        wf.start("ticket", case_id=f"C-{n}", at=T0)
    assert wf.store.cached("C-0") is None  # the oldest went first
    assert wf.store.cached("C-1") is not None and wf.store.cached("C-2") is not None
    wf.get("C-0")  # a read is remembered too
    assert wf.store.cached("C-0") is not None and wf.store.cached("C-1") is None
    off = workflow(db.store(cache_size=0))
    off.fire("C-2", "note", at=T0 + H)
    assert off.store.cached("C-2") is None
    with pytest.raises(ValueError, match="cache_size"):
        db.store(cache_size=-1)


def test_a_returned_case_is_the_callers_own(db: Database) -> None:
    wf, _ = servers(db)
    case = wf.fire("T-1", "note", payload={"text": "a"}, at=T0 + H)
    case.data["text"] = "changed by the caller"  # type: ignore[index]
    assert wf.store.cached("T-1").data["text"] == "a"  # type: ignore[union-attr]
    assert wf.fire("T-1", "note", at=T0 + 2 * H).data["text"] == "a"


def test_a_rolled_back_host_transaction_leaves_no_trace(db: Database) -> None:
    store = db.store()
    wf = workflow(store)
    wf.start("ticket", case_id="T-1", at=T0)
    with store.engine.connect() as conn:
        conn.begin()
        workflow(store.bind(conn)).fire("T-1", "note", payload={"text": "gone"}, at=T0 + H)
        conn.rollback()
    # the cache may remember the rolled-back case: the next fire still builds on the stored one
    case = wf.fire("T-1", "note", payload={"text": "kept"}, at=T0 + 2 * H)
    assert case.version == 2 and store.load("T-1").data["text"] == "kept"
    assert [e.payload.get("text") for e in wf.history("T-1") if e.kind == "fire"] == ["kept"]


def test_on_older_tables_nothing_is_remembered(tmp_path: Any) -> None:
    # a store made with migrate=False on tables of an older revision writes through
    # SQLAlchemy statements, which do not check the idempotency key in the write: it
    # must not offer remembered cases, or a request sent twice would apply twice
    from techsvc_flow.sql import SqlStore, upgrade

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, revision="0007")
    store = SqlStore(url, migrate=False)
    try:
        wf = workflow(store)
        wf.start("ticket", case_id="T-1", at=T0)
        assert store.cached("T-1") is None
        first = wf.fire("T-1", "note", payload={"text": "k"}, idempotency_key="K", at=T0 + H)
        assert wf.get("T-1").version == 2  # a read, which a cache would remember
        again = wf.fire("T-1", "note", payload={"text": "k"}, idempotency_key="K", at=T0 + H)
        assert again.version == first.version == 2
        assert [e.kind for e in store.history("T-1")].count("fire") == 1
    finally:
        store.close()
