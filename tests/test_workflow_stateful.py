"""The workflow as a Hypothesis state machine.

Random triggers, fired by random actors (some lacking the roles) with random payloads
(some missing required fields, some failing the guard, some carrying fields the
trigger does not take), interleaved with random time steps and ``tick`` calls, on a
small complaint process with roles, a guard, a required field, a confidential field
and two SLAs (one pausing while the case waits on the complainant, with a breach
trigger). An independent oracle predicts whether each fire is accepted; the
invariants check that the history replays to the case, the hash chain is intact, SLA
budgets only shrink, refusals change nothing and every mark is raised once.

Every step runs twice, on a :class:`MemoryStore` (the reference store) and on a SQLite
:class:`SqlStore`, and the two must agree on everything: what each call returns or
raises, the case, its history, its deadlines and the events delivered.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from techsvc_flow import (
    Actor,
    Case,
    ConcurrentUpdate,
    Event,
    Field,
    Guard,
    GuardFailed,
    PermissionDenied,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Transition,
    TransitionNotAllowed,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.sql import SqlStore

T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CAL = WorkCalendar.china(coverage="provisional")
REMEDIES = ("refund", "rework", "apology")

PROCESS = ProcessDefinition(
    name="complaint",
    version=1,
    fields=[
        Field("note", "str"),
        Field("remedy", "str"),
        Field("budget", "int"),
        Field("secret", "str", confidential=True),
    ],
    states=[
        State("received", initial=True),
        State("investigating"),
        State("waiting"),
        State("answered"),
        State("escalated"),
        State("closed", final=True),
    ],
    transitions=[
        Transition("acknowledge", source="received", dest="investigating", roles="agent"),
        Transition("ask", source="investigating", dest="waiting", roles="agent", accepts="note"),
        Transition(
            "reply", source="waiting", dest="investigating", roles="client", requires="note"
        ),
        Transition(
            "answer",
            source="investigating",
            dest="answered",
            roles="agent",
            requires="remedy",
            accepts=("budget", "secret"),
            guards=[Guard.one_of("remedy_unknown", "remedy", REMEDIES)],
            record_refusals=True,
        ),
        Transition("reject", source="answered", dest="investigating", roles="client"),
        Transition("close", source="answered", dest="closed", roles=("agent", "lead")),
        Transition("escalate", source="*", dest="escalated", roles="lead"),
        Transition("resume", source="escalated", dest="investigating", roles="lead"),
    ],
    slas=[
        Sla("ack", "24h", start_states="received", stop_states="investigating", warn_at=[0.5]),
        Sla(
            "feedback",
            "5wd",
            start_states="received",
            pause_states="waiting",
            stop_states="closed",
            breach_trigger="escalate",
        ),
    ],
)

TRIGGERS = sorted({t.trigger for t in PROCESS.transitions} | {"no_such_trigger"})
ACTORS = [
    Actor("ann", {"agent"}),
    Actor("cai", {"client"}),
    Actor("lee", {"lead", "agent"}),
    Actor("nobody"),
    None,
]
PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "note": st.sampled_from(["more details", ""]),
        "remedy": st.sampled_from([*REMEDIES, "bogus", ""]),
        "budget": st.integers(0, 1000),
        "secret": st.just("s3cret"),
    },
)


def _set(value: Any) -> bool:
    return value not in (None, "", [], {})


def oracle(
    case: Case, trigger: str, actor: Actor | None, payload: dict[str, Any]
) -> type[Exception] | None:
    """What firing should do, worked out from the definition alone: ``None`` when the
    fire is accepted, else the exception it must raise."""
    transitions = [t for src, t in PROCESS.edges if src == case.state and t.trigger == trigger]
    if not transitions:
        return TransitionNotAllowed
    (t,) = transitions
    roles = actor.roles if actor is not None else frozenset()
    role_ok = not t.roles or bool(roles & set(t.roles))
    value = {**case.data, **payload}
    fields_ok = set(payload) <= set(t.requires) | set(t.accepts) and all(
        _set(value.get(f)) for f in t.requires
    )
    guards_ok = all(value.get(g.args["field"]) in g.args["values"] for g in t.guards)
    if not role_ok:  # a missing role wins, whatever else is wrong
        return PermissionDenied
    if fields_ok and guards_ok:
        return None
    return GuardFailed


def _outcome(call: Callable[[Workflow], Any], wf: Workflow) -> Any:
    try:
        return call(wf)
    except Exception as exc:  # compared, then raised again: both stores must raise the same
        return exc


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, Exception) or isinstance(theirs, Exception):
        return type(ours) is type(theirs) and str(ours) == str(theirs)
    return bool(ours == theirs)


class WorkflowMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = SteppedClock(T0)
        self.wf = Workflow(calendar=CAL, clock=self.clock, processes=[PROCESS])
        self.events: list[Event] = []
        self.wf.on("*", self.events.append, name="events")
        # the same steps on a SQLite store: the two must agree
        self.tmp = tempfile.mkdtemp(prefix="techsvc-flow-stateful-")
        self.sql = SqlStore(f"sqlite:///{self.tmp}/flow.db", engine_options={"synchronous": "OFF"})
        self.twin = Workflow(self.sql, calendar=CAL, clock=self.clock, processes=[PROCESS])
        self.twin_events: list[Event] = []
        self.twin.on("*", self.twin_events.append, name="events")
        # by SLA: (started at, remaining, status, number of clock events) when last seen
        self.remaining: dict[str, tuple[dt.datetime | None, dt.timedelta, str, int]] = {}
        self.keys = 0

    def teardown(self) -> None:
        self.sql.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def both(self, call: Callable[[Workflow], Any]) -> Any:
        """``call`` on the memory store's workflow and on the SQLite one; they must agree
        on what it returns or raises. Returns (or raises) what the memory store's did."""
        ours, theirs = _outcome(call, self.wf), _outcome(call, self.twin)
        assert _same(ours, theirs), (ours, theirs)
        if isinstance(ours, Exception):
            raise ours
        return ours

    @property
    def case(self) -> Case:
        return self.wf.get("C-1")

    @initialize(note=st.sampled_from([None, "first call"]))
    def start(self, note: str | None) -> None:
        data = {} if note is None else {"note": note}
        case = self.both(lambda wf: wf.start("complaint", case_id="C-1", data=data, actor="desk"))
        assert case.state == "received" and case.version == 1

    # --- rules ------------------------------------------------------------------------

    @rule(data=st.data(), keyed=st.booleans())
    def fire(self, data: st.DataObject, keyed: bool) -> None:
        """Mostly a trigger defined from the current state, by an actor holding a role
        for it, with the fields it takes (sometimes missing, or failing the guard);
        sometimes anything at all, by anyone, with any payload."""
        state = self.case.state
        triggers = PROCESS.triggers_from(state)
        payload = data.draw(PAYLOADS, label="payload")
        if not triggers or data.draw(st.integers(0, 3), label="mode") == 0:
            trigger = data.draw(st.sampled_from(TRIGGERS), label="trigger")
            actor = data.draw(st.sampled_from(ACTORS), label="actor")
            self._fire(trigger, actor, payload, keyed)
            return
        # escalate may be fired from everywhere: draw it less often, to get further
        onward = [t for t in triggers if t != "escalate"] or list(triggers)
        trigger = data.draw(st.sampled_from(onward) | st.sampled_from(triggers), label="trigger")
        t = next(t for src, t in PROCESS.edges if src == state and t.trigger == trigger)
        fit = [a for a in ACTORS if a is not None and (not t.roles or a.roles & set(t.roles))]
        actor = data.draw(st.sampled_from(fit) | st.sampled_from(ACTORS), label="actor")
        payload = {k: v for k, v in payload.items() if k in (*t.requires, *t.accepts)}
        self._fire(trigger, actor, payload, keyed)

    def _fire(
        self, trigger: str, actor: Actor | None, payload: dict[str, Any], keyed: bool
    ) -> None:
        before = self.case
        history = len(self.wf.history("C-1"))
        expected = oracle(before, trigger, actor, payload)
        if before.version > 1 and keyed:  # a stale expected_version is refused first
            with pytest.raises(ConcurrentUpdate) as stale:
                self.both(
                    lambda wf: wf.fire(
                        "C-1", trigger, actor=actor, expected_version=before.version - 1
                    )
                )
            assert (stale.value.expected, stale.value.actual) == (
                before.version - 1,
                before.version,
            )
            assert self.case == before
        key = None
        if keyed:
            self.keys += 1
            key = f"key-{self.keys}"
        try:
            after = self.both(
                lambda wf: wf.fire(
                    "C-1", trigger, actor=actor, payload=payload, idempotency_key=key
                )
            )
        except (TransitionNotAllowed, PermissionDenied, GuardFailed) as exc:
            assert type(exc) is expected, (expected, exc)
            event(f"refused: {type(exc).__name__}")
            now = self.case
            entries = self.wf.history("C-1")
            if len(entries) == history:
                assert now == before  # a refusal changes nothing
            else:  # a recorded refusal adds its entry and nothing else
                assert len(entries) == history + 1 and entries[-1].kind == "refused"
                assert entries[-1].trigger == trigger
                assert now.updated_at == entries[-1].at  # the instant of the last entry
                restored = attrs.evolve(
                    now, seq=before.seq, head=before.head, updated_at=before.updated_at
                )
                assert restored == before
            return
        assert expected is None, (expected, before.state, trigger, actor, payload)
        assert after == self.case
        event(f"accepted: {trigger}")
        assert after.version == before.version + 1
        assert after.data == {**before.data, **payload}
        dest = next(
            t.dest for src, t in PROCESS.edges if src == before.state and t.trigger == trigger
        )
        assert after.state == dest
        if key is not None:  # the same key again: the same case, nothing new recorded
            length = len(self.wf.history("C-1"))
            again = self.both(
                lambda wf: wf.fire(
                    "C-1", trigger, actor=actor, payload=payload, idempotency_key=key
                )
            )
            assert again == after and len(self.wf.history("C-1")) == length

    @rule(hours=st.integers(0, 3 * 24), then_tick=st.booleans())
    def wait(self, hours: int, then_tick: bool) -> None:
        self.clock.advance(hours=hours)
        if then_tick:
            self.tick()

    @rule()
    def tick(self) -> None:
        raised = self.both(lambda wf: wf.tick())
        assert all(e.type in ("sla.warning", "sla.breach") for e in raised)
        for e in raised:
            event(f"raised: {e.payload['sla']} {e.payload['mark']}")
        now = self.clock.now()
        for name, clock in self.case.clocks.items():
            if clock.status == "running":  # every mark due by now has been raised
                # (the breach is due strictly after its instant)
                mark = clock.next_due(CAL, PROCESS.sla_map[name].warn_at)
                assert mark is None or mark[2] > now, (name, mark, now)

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def the_stores_agree(self) -> None:
        now = self.clock.now()
        assert self.twin.get("C-1") == self.case
        assert self.twin.history("C-1") == self.wf.history("C-1")
        assert self.twin.deadlines("C-1", at=now) == self.wf.deadlines("C-1", at=now)
        assert self.twin_events == self.events
        assert self.sql.dead() == self.wf.store.dead() == []

    @invariant()
    def state_is_defined(self) -> None:
        assert self.case.state in PROCESS.state_map

    @invariant()
    def history_replays_to_the_case(self) -> None:
        case = self.case
        entries = self.wf.history("C-1")
        assert entries[0].kind == "start"
        state, data, accepted = entries[0].dest, dict(entries[0].payload), 1
        for entry in entries[1:]:
            if entry.kind == "fire":
                state = entry.dest
                data.update(entry.payload)
                accepted += 1
                assert entry.version == accepted
        assert (state, data) == (case.state, dict(case.data))
        assert accepted == case.version
        assert len(entries) == case.seq
        counts = collections.Counter(e.trigger for e in entries if e.kind == "fire")
        assert dict(counts) == dict(case.counts)

    @invariant()
    def history_is_intact(self) -> None:
        check = self.wf.verify_history("C-1")
        assert check, check.problems
        assert check.entries == self.case.seq

    @invariant()
    def sla_budget_never_grows(self) -> None:
        """Remaining time never grows (resuming included: time spent paused is not
        given back, it just does not count); a clock that stayed paused or stopped
        holds still. A clock restarted from scratch would start over: this process
        never restarts one."""
        now = self.clock.now()
        for sla in self.wf.deadlines("C-1", at=now):
            if sla.remaining is None:
                assert sla.status == "idle"
                continue
            events = len(self.case.clocks[sla.name].events)
            previous = self.remaining.get(sla.name)
            if previous is not None:
                started, remaining, status, seen = previous
                assert started == sla.started_at
                assert sla.remaining <= remaining, (sla.name, remaining, sla.remaining)
                if status in ("paused", "stopped") and events == seen:
                    assert sla.remaining == remaining, (sla.name, remaining, sla.remaining)
            self.remaining[sla.name] = (sla.started_at, sla.remaining, sla.status, events)

    @invariant()
    def marks_are_raised_once(self) -> None:
        entries = self.wf.history("C-1")
        marks = collections.Counter(
            (e.payload["sla"], e.payload["mark"])
            for e in entries
            if e.kind in ("sla.warning", "sla.breach")
        )
        assert all(n == 1 for n in marks.values()), marks
        for name, clock in self.case.clocks.items():
            assert len(set(clock.fired)) == len(clock.fired)
            assert {m for s, m in marks if s == name} == set(clock.fired)

    @invariant()
    def confidential_data_stays_out_of_events(self) -> None:
        assert self.events[0].type == "case.started"
        for sent in self.events:
            assert "s3cret" not in json.dumps(sent.to_json())


WorkflowMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
TestWorkflowMachine = WorkflowMachine.TestCase
