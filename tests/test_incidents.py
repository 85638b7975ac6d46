"""Escalations are never lost and one bad timer stalls nothing (issue 11, faults 1, 2, 7).

* A breach and its ``breach_trigger`` commit together (a failing write or a SIGKILL in
  between leaves neither; the next tick escalates once).
* A refused or failing automatic trigger is an incident: an ``incident`` entry and an
  ``incident.opened`` event, listed, retried with backoff, resolved by a retry that gets
  through or by a person.
* A timer whose case cannot be processed is put aside with backoff as a timer
  incident; the other due timers are processed in the same call.
* ``tick()`` says when it stopped at its limit (``more``).

On the MemoryStore, SQLite and PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from delegating import Delegating

from techsvc_flow import (
    Case,
    Field,
    HistoryEntry,
    MemoryStore,
    ProcessDefinition,
    SteppedClock,
    Store,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.definition import Sla, State, Transition
from techsvc_flow.errors import IncidentNotFound, InvalidValue
from techsvc_flow.guards import Guard, GuardContext
from techsvc_flow.notifications import Event
from techsvc_flow.sla import Timer
from techsvc_flow.sql import SqlStore, current_revision
from techsvc_flow.sql.schema import SCHEMA_REVISION, upgrade_engine
from techsvc_flow.sql.tables import flow_tables

UTC = dt.UTC
T0 = dt.datetime(2025, 10, 9, 9, 0, tzinfo=UTC)
LATE = T0 + dt.timedelta(hours=3)  # the 2 h SLA is breached by then
MIN = dt.timedelta(minutes=1)
CALENDAR = WorkCalendar.china(coverage="provisional")


def may_escalate(ctx: GuardContext) -> bool:
    mode = ctx.data.get("mode")
    if mode == "boom":
        raise RuntimeError("the guard exploded")
    return mode != "no"


PROCESS = ProcessDefinition(
    name="esc",
    version=1,
    states=[State("open", initial=True), State("escalated"), State("done", final=True)],
    transitions=[
        Transition("escalate", source="open", dest="escalated", guards=[Guard.call("may", "may")]),
        Transition("note", source="open", dest="open", accepts=("mode", "secret")),
        Transition("close", source=("open", "escalated"), dest="done"),
    ],
    fields=[Field("mode", "str"), Field("secret", "str")],
    slas=[
        Sla(
            "reply",
            "2h",
            start_states=("open",),
            stop_states=("done",),
            warn_at=(),
            breach_trigger="escalate",
        )
    ],
    functions={"may": may_escalate},
)

OTHER = ProcessDefinition(
    name="other",
    version=1,
    states=[State("open", initial=True), State("done", final=True)],
    transitions=[Transition("close", source="open", dest="done")],
    slas=[Sla("reply", "1h", start_states=("open",), warn_at=())],
)


def workflow(store: Store, *processes: ProcessDefinition) -> Workflow:
    return Workflow(
        store,
        calendar=CALENDAR,
        clock=SteppedClock(T0),
        processes=processes or [PROCESS],
        dispatch="manual",
    )


def kinds(store: Store, case_id: str) -> list[str]:
    return [e.kind for e in store.history(case_id)]


def outbox(store: Store, case_id: str) -> list[Event]:
    far = T0 + dt.timedelta(days=365)
    return [d.event for d in store.pending(far, 10_000) if d.event.case_id == case_id]


# --- a breach and its escalation: one transaction ----------------------------------------


class FailingFire(Delegating):
    """Fails the first write that would store a fire (as a crash or a full disk would)."""

    failed = False

    def commit(
        self,
        case: Case,
        expected_seq: int,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
        idempotency_key: str | None = None,
    ) -> None:
        if not self.failed and any(e.kind == "fire" for e in entries):
            self.failed = True
            raise OSError("disk full")
        super().commit(case, expected_seq, entries, timers, events, idempotency_key)


def test_the_breach_and_its_trigger_commit_together(store: Store) -> None:
    failing = FailingFire(store)
    wf = workflow(failing)
    wf.start("esc", case_id="C-1", data={"mode": "yes"})
    assert wf.tick(LATE) == []  # the write failed: neither the mark nor the fire
    assert failing.failed
    assert kinds(store, "C-1") == ["start", "sla.started"]
    assert store.load("C-1").clocks["reply"].fired == ()
    (incident,) = wf.incidents()
    assert (incident.kind, incident.case_id, incident.error) == (
        "timer",
        "C-1",
        "OSError: disk full",
    )
    assert wf.tick(LATE) == []  # put aside for a minute
    raised = wf.tick(LATE + MIN)
    assert [e.type for e in raised] == ["sla.breach"]
    history = kinds(store, "C-1")
    assert (history.count("sla.breach"), history.count("fire")) == (1, 1)
    assert history[2:] == ["incident.resolved", "sla.breach", "fire"]  # one write
    assert store.load("C-1").state == "escalated"
    assert wf.incidents() == []
    assert wf.tick(LATE + 90 * MIN) == []
    assert kinds(store, "C-1").count("fire") == 1


FORK = multiprocessing.get_context("fork")


class KilledBeforeFire(Delegating):
    """Dies (SIGKILL) at the moment a fire is written: between breach and escalation."""

    def commit(
        self,
        case: Case,
        expected_seq: int,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
        idempotency_key: str | None = None,
    ) -> None:
        if any(e.kind == "fire" for e in entries):
            os.kill(os.getpid(), signal.SIGKILL)
        super().commit(case, expected_seq, entries, timers, events, idempotency_key)


def _tick_and_die(url: str) -> None:
    store = SqlStore(url, migrate=False, engine_options={"synchronous": "OFF"})
    workflow(KilledBeforeFire(store)).tick(LATE)


def test_a_worker_killed_between_breach_and_escalation_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/flow.db"
    store = SqlStore(url)
    workflow(store).start("esc", case_id="K-1", data={"mode": "yes"})
    worker = FORK.Process(target=_tick_and_die, args=(url,))
    worker.start()
    worker.join(60)
    assert worker.exitcode == -signal.SIGKILL
    # the dead worker's claim on the timer holds until its lease runs out
    fresh = workflow(SqlStore(url, migrate=False))
    assert fresh.tick(LATE + store.lease) != []
    history = kinds(store, "K-1")
    assert (history.count("sla.breach"), history.count("fire")) == (1, 1)
    assert store.load("K-1").state == "escalated"
    assert fresh.tick(LATE + 2 * store.lease) == []
    assert kinds(store, "K-1").count("fire") == 1
    fresh.store.close()
    store.close()


# --- a refused or failing trigger: an incident ---------------------------------------------


def test_a_refused_trigger_is_an_incident_retried_with_backoff(store: Store) -> None:
    wf = workflow(store)
    wf.start("esc", case_id="C-1", data={"mode": "no", "secret": "s3cret"})
    raised = wf.tick(LATE)
    assert [e.type for e in raised] == ["sla.breach"]
    history = store.history("C-1")
    assert [e.kind for e in history][-2:] == ["sla.breach", "incident"]
    entry = history[-1]
    assert entry.actor == "system" and entry.trigger == "escalate"
    assert entry.payload["sla"] == "reply" and entry.payload["error"] == "GuardFailed"
    assert "s3cret" not in repr(entry.payload)
    (incident,) = wf.incidents()
    assert entry.payload["incident"] == incident.id
    assert (incident.kind, incident.sla, incident.trigger) == ("trigger", "reply", "escalate")
    assert incident.error.startswith("GuardFailed: ")
    assert (incident.opened_at, incident.attempts) == (LATE, 1)
    assert incident.next_attempt_at == LATE + MIN
    (opened,) = [e for e in outbox(store, "C-1") if e.type == "incident.opened"]
    assert opened.payload["incident"] == incident.id and opened.payload["actor"] == "system"
    assert "s3cret" not in repr(opened.payload)

    assert wf.tick(LATE + 30 * dt.timedelta(seconds=1)) == []  # not before its time
    assert wf.incidents()[0].attempts == 1
    wf.tick(LATE + MIN)  # tried again, refused again: the wait doubles
    (incident,) = wf.incidents()
    assert (incident.attempts, incident.next_attempt_at) == (2, LATE + 3 * MIN)
    assert kinds(store, "C-1").count("incident") == 1  # a retry is no new incident

    # the cause is removed; a person's fire keeps the incident open
    wf.fire("C-1", "note", payload={"mode": "yes"}, at=LATE + 2 * MIN)
    assert [i.id for i in wf.incidents(case_id="C-1")] == [incident.id]
    wf.tick(LATE + 2 * MIN)
    assert store.load("C-1").state == "open"
    wf.tick(LATE + 3 * MIN)
    case = store.load("C-1")
    assert case.state == "escalated" and case.incidents == ()
    assert kinds(store, "C-1")[-2:] == ["fire", "incident.resolved"]
    assert store.history("C-1")[-1].actor == "system"
    assert wf.incidents() == []
    (done,) = wf.incidents(include_resolved=True)
    assert (done.id, done.resolved_by, done.resolved_at) == (incident.id, "system", LATE + 3 * MIN)
    assert "incident.resolved" in [e.type for e in outbox(store, "C-1")]
    assert store.due_timers(LATE + dt.timedelta(days=1), 10) == []


def test_a_person_resolves_an_incident(store: Store) -> None:
    wf = workflow(store)
    wf.start("esc", case_id="C-1", data={"mode": "boom"})
    wf.start("esc", case_id="C-2", data={"mode": "yes"})
    raised = wf.tick(LATE)  # the guard raising on C-1 stops nothing
    assert sorted(e.case_id for e in raised) == ["C-1", "C-2"]
    assert store.load("C-2").state == "escalated"
    (incident,) = wf.incidents()
    assert incident.case_id == "C-1"
    assert incident.error == "RuntimeError: the guard exploded"
    with pytest.raises(InvalidValue, match="note"):
        wf.resolve_incident(incident.id, actor="ann", note=" ")
    with pytest.raises(InvalidValue, match="actor"):
        wf.resolve_incident(incident.id, actor=None, note="called the client")
    done = wf.resolve_incident(incident.id, actor="ann", note="called the client", at=LATE + MIN)
    assert (done.resolved_by, done.note, done.resolved_at) == (
        "ann",
        "called the client",
        LATE + MIN,
    )
    entry = store.history("C-1")[-1]
    assert (entry.kind, entry.actor) == ("incident.resolved", "ann")
    assert entry.payload["note"] == "called the client"
    assert wf.incidents() == []
    assert store.load("C-1").state == "open"
    assert store.due_timers(LATE + dt.timedelta(days=1), 10) == []  # nothing owed any more
    with pytest.raises(IncidentNotFound):
        wf.resolve_incident(incident.id, actor="ann", note="again")
    with pytest.raises(IncidentNotFound):
        wf.resolve_incident("nope", actor="ann", note="n")
    (listed,) = wf.incidents(case_id="C-1", include_resolved=True)
    assert (listed.resolved_by, listed.note) == ("ann", "called the client")


# --- one bad timer stalls nothing ---------------------------------------------------------


def test_a_timer_of_an_unknown_process_is_put_aside(store: Store) -> None:
    full = workflow(store, PROCESS, OTHER)
    full.start("other", case_id="A-1", at=T0 - dt.timedelta(hours=1))  # the earliest due
    full.start("esc", case_id="B-1", data={"mode": "yes"})
    worker = workflow(store)  # knows "esc" only
    raised = worker.tick(LATE)
    assert [e.case_id for e in raised] == ["B-1"]  # processed in the same call
    assert store.load("B-1").state == "escalated"
    (incident,) = worker.incidents()
    assert (incident.kind, incident.case_id, incident.sla) == ("timer", "A-1", "reply")
    assert incident.error.startswith("ProcessNotFound: ")
    assert (incident.attempts, incident.next_attempt_at) == (1, LATE + MIN)
    (opened,) = [e for e in outbox(store, "A-1") if e.type == "incident.opened"]
    assert opened.payload["incident"] == incident.id
    assert store.due_timers(LATE, 10) == []  # skipped until its backoff
    worker.tick(LATE + MIN)
    (incident,) = worker.incidents(case_id="A-1")
    assert (incident.attempts, incident.next_attempt_at) == (2, LATE + 3 * MIN)
    assert kinds(store, "A-1") == ["start", "sla.started"]
    # a worker that knows the process gets through, and closes the incident
    assert [e.type for e in full.tick(LATE + 3 * MIN)] == ["sla.breach"]
    assert kinds(store, "A-1")[-2:] == ["incident.resolved", "sla.breach"]
    assert full.incidents() == []


def test_a_person_resolves_a_timer_incident(store: Store) -> None:
    workflow(store, PROCESS, OTHER).start("other", case_id="A-1")
    worker = workflow(store)
    worker.tick(LATE)
    (incident,) = worker.incidents()
    done = worker.resolve_incident(incident.id, actor="ann", note="deployed", at=LATE + MIN)
    assert (done.kind, done.resolved_by) == ("timer", "ann")
    assert worker.incidents() == []
    assert [t.case_id for t in store.due_timers(LATE + MIN, 10)] == ["A-1"]  # tried afresh
    assert "incident.resolved" in [e.type for e in outbox(store, "A-1")]
    with pytest.raises(IncidentNotFound):
        worker.resolve_incident(incident.id, actor="ann", note="again")


def test_an_undecodable_case_row_is_put_aside(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/flow.db")
    wf = workflow(store)
    wf.start("esc", case_id="A-1", data={"mode": "yes"}, at=T0 - dt.timedelta(hours=1))
    wf.start("esc", case_id="B-1", data={"mode": "yes"})
    cases = store.tables.cases
    with store.engine.begin() as conn:
        conn.execute(sa.update(cases).where(cases.c.id == "A-1").values(body="{not json"))
    raised = wf.tick(LATE)
    assert [e.case_id for e in raised] == ["B-1"]
    (incident,) = wf.incidents()
    assert (incident.kind, incident.case_id) == ("timer", "A-1")
    assert "JSONDecodeError" in incident.error
    (timer,) = store.deferred_timers()
    assert (timer.case_id, timer.attempts, timer.due_at) == ("A-1", 1, LATE + MIN)
    assert wf.tick(LATE) == []
    store.close()


class CannotDefer(Delegating):
    """A third-party store without ``defer_timer`` (the base class's default)."""

    def defer_timer(self, timer: Timer, deferred: Timer, events: Sequence[Event] = ()) -> bool:
        return Store.defer_timer(self, timer, deferred, events)


def test_a_store_that_cannot_defer_gets_the_error_after_the_others() -> None:
    inner = MemoryStore()
    full = workflow(inner, PROCESS, OTHER)
    full.start("other", case_id="A-1", at=T0 - dt.timedelta(hours=1))
    full.start("esc", case_id="B-1", data={"mode": "yes"})
    with pytest.raises(Exception, match="other"):
        workflow(CannotDefer(inner)).tick(LATE)
    assert inner.load("B-1").state == "escalated"


# --- the worker loop ------------------------------------------------------------------------


def test_tick_says_when_more_is_due(store: Store) -> None:
    wf = workflow(store)
    for n in range(3):
        wf.start("esc", case_id=f"C-{n}", data={"mode": "yes"})
    first = wf.tick(LATE, limit=2)
    assert (len(first), first.more) == (2, True)
    second = wf.tick(LATE, limit=2)
    assert (len(second), second.more) == (1, False)
    empty = wf.tick(LATE, limit=2)
    assert (empty, empty.more) == ([], False)


# --- the schema ---------------------------------------------------------------------------


def test_upgrade_from_0003_keeps_the_timers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/flow.db"
    engine = sa.create_engine(url)
    tables = flow_tables()
    upgrade_engine(engine, tables, "0003")
    with engine.begin() as conn:
        conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
        conn.execute(
            sa.text(
                "INSERT INTO flow_timers (case_id, sla, mark, due_at) "
                "VALUES ('X', 'reply', 'breach', '2025-10-09 11:00:00.000000')"
            )
        )
    store = SqlStore(url)
    with store.engine.connect() as conn:
        assert current_revision(conn, store.tables) == SCHEMA_REVISION
    (timer,) = store.due_timers(LATE, 10)
    assert (timer.case_id, timer.attempts, timer.error, timer.since) == ("X", 0, None, None)
    store.close()
    engine.dispose()


def test_a_store_defers_only_the_timer_it_handed_out(store: Store) -> None:
    wf = workflow(store, PROCESS, OTHER)
    wf.start("other", case_id="A-1")
    wf.start("other", case_id="A-2")
    first, second = store.due_timers(LATE, 10)
    later = Timer(first.case_id, first.sla, first.mark, LATE + MIN, 1, "Boom: x", LATE)
    assert store.defer_timer(first, later) is True
    assert store.defer_timer(first, later) is False  # it is no longer the stored timer
    assert store.deferred_timers() == [later]
    assert store.deferred_timers(case_id=second.case_id) == []
    assert store.due_timers(LATE, 10) == [second]
    wf.fire(first.case_id, "close")  # a commit of the case replaces its timers
    assert store.deferred_timers() == []
