"""The store test-suite: what every :class:`Store` must do.

Written only against the ``Store`` interface and run against every store in
``STORE_FACTORIES`` (see ``conftest.py``), so a new store joins by adding its factory.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from techsvc_flow import (
    Case,
    CaseNotFound,
    ConcurrentUpdate,
    Duration,
    Event,
    HistoryEntry,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Store,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.case import GENESIS, verify_chain
from techsvc_flow.case import _chain as chain
from techsvc_flow.errors import CaseExists
from techsvc_flow.notifications import Delivery
from techsvc_flow.sla import ClockEvent, SlaClock, Timer

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)
H = dt.timedelta(hours=1)
DEF_HASH = "d" * 64


def make_case(
    case_id: str = "C-1",
    *,
    process: str = "complaint",
    state: str = "received",
    version: int = 1,
    seq: int = 0,
    head: str = GENESIS,
    **changes: Any,
) -> Case:
    return Case(
        id=case_id,
        process=process,
        process_version=1,
        state=state,
        data=changes.pop("data", {"channel": "phone"}),
        version=version,
        seq=seq,
        head=head,
        created_at=T0,
        updated_at=changes.pop("updated_at", T0),
        entered_at=changes.pop("entered_at", T0),
        counts=changes.pop("counts", {}),
        clocks=changes.pop("clocks", {}),
    )


def draft(case_id: str, kind: str, at: dt.datetime, **changes: Any) -> HistoryEntry:
    values: dict[str, Any] = {
        "case_id": case_id,
        "seq": 0,
        "kind": kind,
        "at": at,
        "actor": "ann",
        "trigger": None,
        "source": None,
        "dest": None,
        "payload": {},
        "definition_hash": DEF_HASH,
        "version": 1,
        "prev": "",
    }
    values.update(changes)
    return HistoryEntry(**values)


def event(case_id: str, n: int, at: dt.datetime = T0, **payload: Any) -> Event:
    return Event(f"{case_id}-e{n}", "case.transition", case_id, "complaint", at, payload)


def started(store: Store, case_id: str = "C-1", **changes: Any) -> tuple[Case, list[HistoryEntry]]:
    """Create a case with one start entry; returns it and its entries."""
    base = make_case(case_id, **changes)
    entries, head, seq = chain(GENESIS, 0, [draft(case_id, "start", T0, dest=base.state)])
    case = attrs.evolve(base, seq=seq, head=head)
    store.create(case, entries, [], [])
    return case, entries


def moved(
    store: Store,
    case: Case,
    state: str,
    *,
    timers: tuple[Timer, ...] = (),
    events: tuple[Event, ...] = (),
    key: str | None = None,
    at: dt.datetime = T0 + H,
) -> tuple[Case, list[HistoryEntry]]:
    """Commit one fire moving ``case`` to ``state``; returns the new case and entries."""
    entries, head, seq = chain(
        case.head,
        case.seq,
        [
            draft(
                case.id,
                "fire",
                at,
                trigger="go",
                source=case.state,
                dest=state,
                version=case.version + 1,
            )
        ],
    )
    new = attrs.evolve(
        case, state=state, version=case.version + 1, seq=seq, head=head, updated_at=at
    )
    store.commit(new, case.seq, entries, list(timers), list(events), key)
    return new, entries


def outbox(store: Store) -> list[Delivery]:
    """Every outbox row, whatever its state (pending far in the future, or dead)."""
    far = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    return sorted(store.pending(far, 1000) + store.dead(1000), key=lambda d: d.event.id)


# --- create, load, history --------------------------------------------------------------


def test_round_trip_of_every_case_field(store: Store) -> None:
    utc_instant = dt.datetime(2025, 10, 9, 1, 30, 15, 123456, tzinfo=dt.UTC)
    clocks = {
        "feedback": SlaClock(
            "feedback",
            "7wd",
            [
                ClockEvent("start", T0),
                ClockEvent("pause", T0 + 2 * H),
                ClockEvent("resume", utc_instant),
            ],
            ("warning:50%",),
        ),
        "respond": SlaClock("respond", "4.5wh", [ClockEvent("start", T0)]),
        "ack": SlaClock("ack", "24h", [ClockEvent("start", T0), ClockEvent("stop", T0 + H)]),
    }
    data = {
        "complainant": "李雷",
        "description": "服务未按合同约定的时间交付；要求退款。",
        "amount": Decimal("12345.60"),
        "received_on": dt.date(2025, 9, 30),
        "reported_at": dt.datetime(2025, 9, 29, 8, 15, tzinfo=SHANGHAI),
        "clauses": ["a", "b", "j"],
        "contact": {"phone": "13800138000", "wechat": None},
        "severity": 2,
        "score": 4.5,
        "urgent": True,
    }
    case = make_case(
        "案件-1",
        state="investigating",
        version=7,
        data=data,
        counts={"acknowledge": 1, "rework": 2},
        clocks=clocks,
        updated_at=utc_instant,
        entered_at=T0 + 2 * H,
    )
    payload = {"amount": Decimal("0.10"), "on": dt.date(2025, 10, 8), "备注": "已电话回访"}
    entries, head, seq = chain(
        GENESIS,
        0,
        [
            draft("案件-1", "start", T0, dest="received", payload={"data": data}),
            draft("案件-1", "fire", utc_instant, trigger="assess", payload=payload, version=7),
            draft("案件-1", "sla.started", utc_instant, actor=None, payload={"sla": "feedback"}),
        ],
    )
    case = attrs.evolve(case, seq=seq, head=head)
    store.create(case, entries, [], [])

    loaded = store.load("案件-1")
    assert loaded == case
    for name in attrs.fields_dict(Case):
        assert getattr(loaded, name) == getattr(case, name), name
    assert loaded.data["amount"] == Decimal("12345.60")
    assert isinstance(loaded.data["amount"], Decimal)
    assert type(loaded.data["received_on"]) is dt.date
    assert loaded.data["reported_at"] == dt.datetime(2025, 9, 29, 0, 15, tzinfo=dt.UTC)
    assert loaded.data["reported_at"].utcoffset() is not None
    assert loaded.clocks["feedback"].events[2].at == utc_instant
    assert loaded.clocks["respond"].duration == Duration.parse("4.5wh")
    assert loaded.clocks["feedback"].fired == ("warning:50%",)

    history = store.history("案件-1")
    assert history == entries
    assert history[1].payload == payload
    assert [e.seq for e in history] == [1, 2, 3]
    assert history[2].actor is None
    assert verify_chain(history, head=loaded.head)


def test_create_stores_timers_and_events(store: Store) -> None:
    case = make_case("C-1")
    timers = [Timer("C-1", "ack", "warning:50%", T0 + 12 * H)]
    events = [event("C-1", 1, note="新投诉"), event("C-1", 2)]
    store.create(case, [], timers, events)
    assert store.due_timers(T0 + 12 * H, 10) == timers
    pending = store.pending(T0, 10)
    assert [d.event for d in pending] == events
    assert pending[0].event.payload == {"note": "新投诉"}
    assert all(
        (d.status, d.attempts, d.delivered_to, d.last_error) == ("pending", 0, (), None)
        for d in pending
    )


def test_duplicate_create(store: Store) -> None:
    case, entries = started(store)
    with pytest.raises(CaseExists) as info:
        store.create(
            make_case("C-1", state="other"),
            [],
            [Timer("C-1", "x", "breach", T0)],
            [event("C-1", 1)],
        )
    assert info.value.case_id == "C-1"
    assert store.load("C-1") == case
    assert store.history("C-1") == entries
    assert store.due_timers(T0 + 1000 * H, 10) == []
    assert store.pending(T0, 10) == []


def test_unknown_ids(store: Store) -> None:
    started(store)
    with pytest.raises(CaseNotFound) as info:
        store.load("nope")
    assert info.value.case_id == "nope"
    with pytest.raises(CaseNotFound):
        store.history("nope")
    with pytest.raises(CaseNotFound):
        store.idempotent("nope", "key")
    with pytest.raises(CaseNotFound):
        store.commit(make_case("nope", seq=1), 0, [], [], [])
    with pytest.raises(KeyError):  # CaseNotFound is a KeyError too
        store.load("nope")
    assert [c.id for c in store.cases()] == ["C-1"]


# --- commit -------------------------------------------------------------------------------


def test_commit(store: Store) -> None:
    case, first = started(store)
    timer = Timer("C-1", "feedback", "warning:50%", T0 + 5 * H)
    new, entries = moved(store, case, "acknowledged", timers=(timer,), events=(event("C-1", 1),))
    assert store.load("C-1") == new
    assert store.history("C-1") == first + entries
    assert verify_chain(store.history("C-1"), head=new.head)
    assert store.due_timers(T0 + 5 * H, 10) == [timer]
    assert [d.event.id for d in store.pending(T0, 10)] == ["C-1-e1"]


def test_commit_with_stale_seq_writes_nothing(store: Store) -> None:
    case, _ = started(store)
    timer = Timer("C-1", "ack", "warning:50%", T0 + 5 * H)
    current, _ = moved(store, case, "acknowledged", timers=(timer,), events=(event("C-1", 1),))
    history = store.history("C-1")
    rows = outbox(store)
    with pytest.raises(ConcurrentUpdate) as info:
        # based on the case as it was before the last commit
        moved(
            store,
            case,
            "escalated",
            timers=(Timer("C-1", "ack", "breach", T0),),
            events=(event("C-1", 2),),
            key="k",
        )
    assert (info.value.expected, info.value.actual) == (case.seq, current.seq)
    assert isinstance(info.value, RuntimeError)
    assert store.load("C-1") == current
    assert store.history("C-1") == history
    assert store.due_timers(T0 + 1000 * H, 10) == [timer]
    assert outbox(store) == rows
    assert store.idempotent("C-1", "k") is None


def test_commit_without_entries(store: Store) -> None:
    case, entries = started(store)
    timer = Timer("C-1", "ack", "breach", T0 + 24 * H)
    store.commit(case, case.seq, [], [timer], [])
    assert store.load("C-1") == case
    assert store.history("C-1") == entries
    assert store.due_timers(T0 + 24 * H, 10) == [timer]


def test_commit_replaces_the_cases_timers(store: Store) -> None:
    case, _ = started(store)
    other, _ = started(store, "C-2")
    theirs = Timer("C-2", "ack", "breach", T0 + 3 * H)
    store.commit(other, other.seq, [], [theirs], [])
    t1 = Timer("C-1", "ack", "warning:50%", T0 + 1 * H)
    t2 = Timer("C-1", "feedback", "warning:50%", T0 + 2 * H)
    store.commit(case, case.seq, [], [t1, t2], [])
    late = T0 + 1000 * H
    assert store.due_timers(late, 10) == [t1, t2, theirs]
    t3 = Timer("C-1", "ack", "warning:75%", T0 + 4 * H)
    store.commit(case, case.seq, [], [t3], [])
    assert store.due_timers(late, 10) == [theirs, t3]
    store.commit(case, case.seq, [], [], [])
    assert store.due_timers(late, 10) == [theirs]
    # committing the very same timer value again leaves one timer, not two
    store.commit(case, case.seq, [], [t3], [])
    store.commit(case, case.seq, [], [t3], [])
    assert store.due_timers(late, 10) == [theirs, t3]


def test_due_timers_order_and_limit(store: Store) -> None:
    due = {
        "C-1": [Timer("C-1", "ack", "warning:50%", T0 + 3 * H)],
        "C-2": [
            Timer("C-2", "ack", "warning:50%", T0 + 1 * H),
            Timer("C-2", "feedback", "breach", T0 + 5 * H),
        ],
        "C-3": [Timer("C-3", "ack", "breach", (T0 + 2 * H).astimezone(dt.UTC))],
    }
    for case_id, timers in due.items():
        case, _ = started(store, case_id)
        store.commit(case, case.seq, [], timers, [])
    assert store.due_timers(T0, 10) == []
    assert store.due_timers(T0 + 1 * H - dt.timedelta(microseconds=1), 10) == []
    assert store.due_timers(T0 + 1 * H, 10) == due["C-2"][:1]  # due at `now` counts
    assert [t.case_id for t in store.due_timers(T0 + 4 * H, 10)] == ["C-2", "C-3", "C-1"]
    assert [t.case_id for t in store.due_timers(T0 + 9 * H, 2)] == ["C-2", "C-3"]
    everything = store.due_timers(T0 + 9 * H, 100)
    assert [(t.case_id, t.due_at) for t in everything] == [
        ("C-2", T0 + 1 * H),
        ("C-3", T0 + 2 * H),
        ("C-1", T0 + 3 * H),
        ("C-2", T0 + 5 * H),
    ]
    assert everything[1] == due["C-3"][0]
    # reading does not consume: a timer stays until a commit replaces it
    assert store.due_timers(T0 + 9 * H, 100) == everything


# --- outbox -------------------------------------------------------------------------------


def test_pending_oldest_first_and_limit(store: Store) -> None:
    case, _ = started(store)
    store.commit(case, case.seq, [], [], [event("C-1", 1), event("C-1", 2)])
    store.commit(case, case.seq, [], [], [event("C-1", 3)])
    assert [d.event.id for d in store.pending(T0, 10)] == ["C-1-e1", "C-1-e2", "C-1-e3"]
    assert [d.event.id for d in store.pending(T0, 2)] == ["C-1-e1", "C-1-e2"]


def test_save_delivery(store: Store) -> None:
    case, _ = started(store)
    e1, e2, e3 = event("C-1", 1), event("C-1", 2, text="回访"), event("C-1", 3)
    store.commit(case, case.seq, [], [], [e1, e2, e3])
    done = Delivery(e1, "delivered", 1, None, ("mail", "sms"))
    retry = Delivery(e2, "pending", 2, T0 + 60 * dt.timedelta(seconds=1), ("mail",), "sms: down")
    gone = Delivery(e3, "dead", 8, T0 + H, ("mail",), "sms: ConnectionError: down")
    for delivery in (done, retry, gone):
        store.save_delivery(delivery)
    assert store.pending(T0, 10) == []  # e2 waits for its next attempt
    assert store.pending(T0 + dt.timedelta(seconds=60), 10) == [retry]
    assert store.dead() == [gone]
    assert store.dead(0) == []


def test_requeue(store: Store) -> None:
    case, _ = started(store)
    e1, e2 = event("C-1", 1), event("C-1", 2)
    store.commit(case, case.seq, [], [], [e1, e2])
    store.save_delivery(Delivery(e1, "dead", 8, T0 + H, ("mail",), "sms: down"))
    store.save_delivery(Delivery(e2, "delivered", 1, None, ("mail", "sms")))
    later = T0 + 2 * H
    again = store.requeue("C-1-e1", later)
    assert (again.event, again.status, again.attempts, again.next_attempt_at) == (
        e1,
        "pending",
        0,
        later,
    )
    assert again.delivered_to == ()  # every subscription gets it again
    assert store.dead() == []
    replay = store.requeue("C-1-e2", later)
    assert (replay.status, replay.attempts, replay.delivered_to) == ("pending", 0, ())
    assert store.pending(T0 + H, 10) == []
    # oldest first: e1 was stored before e2, whatever order they were requeued in
    assert store.pending(later, 10) == [again, replay]
    with pytest.raises(KeyError):
        store.requeue("no-such-event", later)


def test_dead_limit(store: Store) -> None:
    case, _ = started(store)
    events = [event("C-1", n) for n in range(5)]
    store.commit(case, case.seq, [], [], events)
    for e in events:
        store.save_delivery(Delivery(e, "dead", 3, T0, (), "x"))
    assert len(store.dead(3)) == 3
    assert len(store.dead()) == 5


# --- idempotency keys and queries ---------------------------------------------------------


def test_idempotent(store: Store) -> None:
    case, _ = started(store)
    first, _ = moved(store, case, "acknowledged", key="req-1")
    assert store.idempotent("C-1", "req-1") == first
    assert store.idempotent("C-1", "req-2") is None
    second, _ = moved(store, first, "investigating", at=T0 + 2 * H)
    assert store.idempotent("C-1", "req-1") == first  # as it was after that commit
    assert store.load("C-1") == second
    started(store, "C-2")
    assert store.idempotent("C-2", "req-1") is None  # keys belong to one case


def test_cases_filters(store: Store) -> None:
    started(store, "A", process="complaint", state="received")
    started(store, "B", process="complaint", state="closed")
    started(store, "C", process="engagement", state="received")
    assert sorted(c.id for c in store.cases()) == ["A", "B", "C"]
    assert sorted(c.id for c in store.cases(process="complaint")) == ["A", "B"]
    assert sorted(c.id for c in store.cases(state="received")) == ["A", "C"]
    assert [c.id for c in store.cases("complaint", "closed")] == ["B"]
    assert list(store.cases("survey")) == []
    assert all(isinstance(c, Case) for c in store.cases())


def test_close_is_allowed(store: Store) -> None:
    case, _ = started(store)
    assert store.load("C-1") == case
    assert store.close() is None
    store.close()  # a second close is harmless (a `finally` may call it again)


# --- a workflow on the store --------------------------------------------------------------


def test_a_workflow_runs_on_the_store(store: Store) -> None:
    p = ProcessDefinition(
        name="ticket",
        version=1,
        states=[State("open", initial=True), State("done", final=True)],
        transitions=[Transition("close", source="open", dest="done")],
        slas=[Sla("handle", "2h", start_states="open", stop_states="done")],
    )
    clock = SteppedClock(T0)
    wf = Workflow(
        store, calendar=WorkCalendar.china(coverage="provisional"), clock=clock, processes=[p]
    )
    received: list[str] = []
    wf.on("*", lambda e: received.append(e.type), name="all")
    wf.start("ticket", case_id="工单-1", actor="ann")
    assert [e.type for e in wf.tick(T0 + 90 * dt.timedelta(minutes=1))] == [
        "sla.warning",
        "sla.warning",
    ]
    done = wf.fire("工单-1", "close", actor="ann", at=T0 + 100 * dt.timedelta(minutes=1))
    assert store.load("工单-1") == done
    assert [e.kind for e in store.history("工单-1")] == [
        "start",
        "sla.started",
        "sla.warning",
        "sla.warning",
        "fire",
        "sla.stopped",
    ]
    assert wf.verify_history("工单-1")
    assert store.due_timers(T0 + 1000 * H, 10) == []
    # delivered after each commit within the inline budget (100 ms of wall time); what a
    # loaded machine left over, dispatch delivers
    wf.dispatch(T0 + 1000 * H)
    assert "sla.stopped" in received
    assert store.pending(T0 + 1000 * H, 100) == []  # all delivered
