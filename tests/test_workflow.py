"""The workflow: starting cases, firing triggers, refusals, SLAs, timers, notifications."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from delegating import Delegating

from techsvc_flow import (
    Actor,
    Case,
    CaseNotFound,
    ConcurrentUpdate,
    Event,
    Field,
    FlowError,
    Guard,
    GuardFailed,
    HistoryEntry,
    MemoryStore,
    PermissionDenied,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Store,
    Transition,
    TransitionNotAllowed,
    WorkCalendar,
    Workflow,
    processes,
)
from techsvc_flow.case import verify_chain
from techsvc_flow.errors import (
    CaseExists,
    DefinitionError,
    InvalidValue,
    NaiveDatetimeError,
    ProcessNotFound,
)
from techsvc_flow.guards import GuardContext
from techsvc_flow.sla import Timer

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)  # the `clock` fixture's start

AGENT = Actor("ann", {"agent"})
MANAGER = Actor("max", {"manager"})
CLIENT = Actor("cli", {"client"})
SECRET = "13800138000"


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def signed(ctx: GuardContext) -> Any:
    return True if ctx.value("note") != "unsigned" else "the client has not signed"


COMPLAINT = ProcessDefinition(
    name="complaint",
    version=1,
    fields=[
        Field("channel", "str", choices=["phone", "web", "letter"]),
        Field("complainant", "str"),
        Field("phone", "str", confidential=True),
        Field("id_type", "str", confidential=True, choices=["passport", "id_card"]),
        Field("severity", "int"),
        Field("amount", "decimal"),
        Field("received_on", "date"),
        Field("remedy", "str", choices=["refund", "rework", "apology"]),
        Field("clauses", "list"),
        Field("note", "str"),
    ],
    requires=["channel", "complainant"],
    states=[
        State("received", initial=True),
        State("acknowledged"),
        State("investigating"),
        State("waiting"),
        State("responded"),
        State("escalated"),
        State("closed", final=True),
    ],
    transitions=[
        Transition(
            "acknowledge",
            source="received",
            dest="acknowledged",
            roles="agent",
            accepts=("note", "phone", "id_type"),
            record_refusals=True,
        ),
        Transition(
            "assess",
            source="acknowledged",
            dest="investigating",
            roles="agent",
            requires="severity",
            guards=[Guard.one_of("severity_range", "severity", [1, 2, 3])],
        ),
        Transition("wait", source="investigating", dest="waiting", roles="agent"),
        Transition("resume", source="waiting", dest="investigating", roles=("agent", "client")),
        Transition(
            "respond",
            source="investigating",
            dest="responded",
            roles="agent",
            requires="remedy",
            accepts=("clauses", "amount", "note"),
            guards=[
                Guard.contains_all("clauses_missing", "clauses", ["a", "b"]),
                Guard.call("not_signed", "signed"),
            ],
        ),
        # two candidates for one trigger: the first whose guards pass wins
        Transition(
            "route",
            source="investigating",
            dest="responded",
            guards=[Guard.equals("not_minor", "severity", 1)],
        ),
        Transition("route", source="investigating", dest="escalated"),
        Transition(
            "escalate",
            source=["received", "acknowledged", "investigating"],
            dest="escalated",
            roles="manager",
        ),
        Transition("note", source="*", dest="investigating", roles="agent", accepts="note"),
        Transition("close", source=["responded", "escalated"], dest="closed", roles="agent"),
    ],
    slas=[
        Sla(
            "ack",
            "24h",
            start_states="received",
            stop_states=["acknowledged", "escalated", "closed"],
            breach_trigger="escalate",
        ),
        Sla(
            "feedback",
            "7wd",
            start_states="received",
            pause_states="waiting",
            stop_states=["responded", "closed"],
        ),
    ],
    functions={"signed": signed},
)

START_DATA = {"channel": "phone", "complainant": "李雷", "phone": SECRET}


@pytest.fixture
def wf(china: WorkCalendar, clock: SteppedClock) -> Workflow:
    return Workflow(calendar=china, clock=clock, processes=[COMPLAINT])


@pytest.fixture
def case(wf: Workflow) -> Case:
    return wf.start("complaint", case_id="C-1", data=START_DATA, actor=AGENT)


def kinds(wf: Workflow, case_id: str = "C-1") -> list[str]:
    return [e.kind for e in wf.history(case_id)]


def to_investigating(wf: Workflow, case_id: str = "C-1", severity: int = 2) -> Case:
    wf.fire(case_id, "acknowledge", actor=AGENT)
    return wf.fire(case_id, "assess", actor=AGENT, payload={"severity": severity})


class Recorder:
    """A receiver that records what it gets (and what the store showed at the time)."""

    def __init__(self, wf: Workflow | None = None, fail: int = 0) -> None:
        self.events: list[Event] = []
        self.states: list[str] = []
        self.wf = wf
        self.fail = fail

    def __call__(self, event: Event) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("receiver down")
        self.events.append(event)
        if self.wf is not None:
            self.states.append(self.wf.get(event.case_id).state)

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]


class View(Delegating):
    """A shared store as another worker sees it, with one stale read on demand."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.stale_case: Case | None = None
        self.stale_timers: list[Timer] | None = None

    def load(self, case_id: str) -> Case:
        if self.stale_case is not None:
            stale, self.stale_case = self.stale_case, None
            return stale
        return self.inner.load(case_id)

    def due_timers(self, now: dt.datetime, limit: int) -> list[Timer]:
        if self.stale_timers is not None:
            stale, self.stale_timers = self.stale_timers, None
            return stale
        return self.inner.due_timers(now, limit)


# --- start ----------------------------------------------------------------------------


def test_start(wf: Workflow, case: Case) -> None:
    assert case.id == "C-1"
    assert case.process == "complaint"
    assert case.process_version == 1
    assert case.state == "received"
    assert case.data == START_DATA
    assert case.version == 1
    assert case.created_at == case.updated_at == case.entered_at == T0
    assert case.counts == {}
    assert set(case.clocks) == {"ack", "feedback"}
    assert case.clocks["ack"].status == "running"
    assert wf.get("C-1") == case
    entries = wf.history("C-1")
    assert [e.kind for e in entries] == ["start", "sla.started", "sla.started"]
    assert case.seq == 3
    assert case.head == entries[-1].hash
    first = entries[0]
    assert (first.actor, first.dest, first.version, first.payload) == (
        "ann",
        "received",
        1,
        START_DATA,
    )
    assert first.definition_hash == COMPLAINT.hash
    assert entries[1].payload == {
        "sla": "ack",
        "duration": "24h",
        "status": "running",
        "due": "2025-10-01T17:00:00+08:00",
        # the digest of the calendar the deadline was computed with
        "calendar": wf.calendar.digest(2025, 2025),
    }


def test_start_with_a_definition_registers_it(china: WorkCalendar, clock: SteppedClock) -> None:
    wf = Workflow(calendar=china, clock=clock)
    case = wf.start(COMPLAINT, data=START_DATA)
    assert len(case.id) == 32  # a random hex id
    assert wf.process("complaint") is COMPLAINT


def test_start_ids_and_at(china: WorkCalendar, clock: SteppedClock) -> None:
    numbers = iter(range(1, 100))
    wf = Workflow(
        calendar=china, clock=clock, processes=[COMPLAINT], ids=lambda: f"N{next(numbers)}"
    )
    assert wf.start("complaint", data=START_DATA).id == "N1"
    later = wf.start("complaint", data=START_DATA, at=T0 + 5 * H)
    assert later.id == "N2"
    assert later.created_at == T0 + 5 * H


def test_start_lists_every_data_problem(wf: Workflow) -> None:
    with pytest.raises(GuardFailed) as info:
        wf.start(
            "complaint",
            case_id="bad",
            data={"channel": "fax", "severity": "high", "colour": "red"},
        )
    reasons = info.value.reasons
    assert [(r.code, r.kind) for r in reasons] == [
        ("unexpected_field", "field"),
        ("missing_field", "field"),
        ("invalid_field", "field"),
    ]
    assert reasons[0].details == ("colour",)
    assert reasons[1].details == ("complainant",)
    assert reasons[2].details == (
        "channel: 'fax' is not one of phone, web, letter",
        "severity: expected int, got str",
    )
    assert info.value.trigger == "start"
    with pytest.raises(CaseNotFound):  # nothing was stored
        wf.get("bad")


def test_start_type_checks(wf: Workflow) -> None:
    ok = {
        **START_DATA,
        "severity": 2,
        "amount": Decimal("12.50"),
        "received_on": dt.date(2025, 9, 30),
        "clauses": ["a"],
    }
    assert wf.start("complaint", case_id="ok", data=ok).data == ok
    for field, value in [
        ("severity", True),  # a bool is not an int
        ("amount", 1.5),  # a float is not a decimal
        ("received_on", T0),  # a datetime is not a date
        ("clauses", "a"),
    ]:
        with pytest.raises(GuardFailed) as info:
            wf.start("complaint", data={**START_DATA, field: value})
        assert [r.code for r in info.value.reasons] == ["invalid_field"]
        assert info.value.reasons[0].details[0].startswith(f"{field}: expected ")


def test_start_duplicate_id(wf: Workflow, case: Case) -> None:
    with pytest.raises(CaseExists) as info:
        wf.start("complaint", case_id="C-1", data=START_DATA)
    assert info.value.case_id == "C-1"
    assert wf.get("C-1") == case
    assert len(wf.history("C-1")) == 3


def test_start_keeps_a_copy_of_the_data(wf: Workflow) -> None:
    clauses = ["a"]
    wf.start("complaint", case_id="C-9", data={**START_DATA, "clauses": clauses})
    clauses.append("b")
    assert wf.get("C-9").data["clauses"] == ["a"]
    assert wf.verify_history("C-9")


def test_unknown_process(wf: Workflow) -> None:
    with pytest.raises(ProcessNotFound) as info:
        wf.start("complaints")
    assert str(info.value) == (
        "process 'complaints' is not registered (registered: complaint v1); call register() first"
    )
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, FlowError)
    assert (info.value.name, info.value.version) == ("complaints", None)
    assert info.value.registered == (("complaint", 1),)
    with pytest.raises(LookupError, match="'complaint' version 7 is not registered"):
        wf.process("complaint", 7)


def test_naive_at_refused(wf: Workflow, case: Case) -> None:
    naive = dt.datetime(2025, 10, 1, 9, 0)
    with pytest.raises(NaiveDatetimeError):
        wf.fire("C-1", "acknowledge", actor=AGENT, at=naive)
    with pytest.raises(NaiveDatetimeError):
        wf.start("complaint", data=START_DATA, at=naive)
    with pytest.raises(NaiveDatetimeError):
        wf.tick(naive)
    assert wf.get("C-1") == case


# --- case values --------------------------------------------------------------------------


def test_case_dict_round_trip(wf: Workflow, case: Case) -> None:
    to_investigating(wf)
    wf.fire("C-1", "wait", actor=AGENT, at=T0 + H)
    current = wf.get("C-1")
    data = current.to_dict()
    assert data["clocks"]["feedback"] == {
        "duration": "7wd",
        "events": [["start", T0], ["pause", T0 + H]],
        "fired": [],
    }
    assert data["counts"] == {"acknowledge": 1, "assess": 1, "wait": 1}
    assert Case.from_dict(data) == current


def test_actor() -> None:
    actor = Actor("ann", ["agent", "agent", "lead"])
    assert actor.roles == frozenset({"agent", "lead"})
    assert str(actor) == "ann"
    assert Actor("bob").roles == frozenset()


# --- register ---------------------------------------------------------------------------


def test_register_same_version_other_content_refused(wf: Workflow) -> None:
    assert wf.register(COMPLAINT) is COMPLAINT  # the same content again is fine
    changed = COMPLAINT.with_durations(ack="12h")
    with pytest.raises(DefinitionError, match="already registered with other content"):
        wf.register(changed)
    assert wf.process("complaint") is COMPLAINT
    v2 = attrs.evolve(changed, version=2)
    wf.register(v2)
    assert wf.process("complaint") is v2  # the latest starts new cases
    assert wf.process("complaint", 1) is COMPLAINT
    new = wf.start("complaint", case_id="v2", data=START_DATA)
    assert new.process_version == 2
    assert new.clocks["ack"].due(wf.calendar) == T0 + 12 * H


def test_running_cases_keep_their_version(wf: Workflow, case: Case) -> None:
    wf.register(attrs.evolve(COMPLAINT.with_durations(ack="12h"), version=2))
    moved = wf.fire("C-1", "acknowledge", actor=AGENT)
    assert moved.process_version == 1
    assert wf.history("C-1")[-2].definition_hash == COMPLAINT.hash


# --- fire -----------------------------------------------------------------------------


def test_fire(wf: Workflow, case: Case, clock: SteppedClock) -> None:
    clock.advance(hours=2)
    moved = wf.fire("C-1", "acknowledge", actor=AGENT, payload={"note": "called back"})
    assert moved is not case
    assert case.state == "received" and case.version == 1  # the old value is unchanged
    assert moved.state == "acknowledged"
    assert moved.version == 2
    assert moved.data == {**START_DATA, "note": "called back"}
    assert moved.counts == {"acknowledge": 1}
    assert moved.updated_at == moved.entered_at == T0 + 2 * H
    assert moved.created_at == T0
    assert wf.get("C-1") == moved
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        moved.state = "closed"  # type: ignore[misc]
    entries = wf.history("C-1")
    assert [e.kind for e in entries] == [
        "start",
        "sla.started",
        "sla.started",
        "fire",
        "sla.stopped",
    ]
    fire = entries[3]
    assert fire.actor == "ann"
    assert fire.at == T0 + 2 * H
    assert fire.trigger == "acknowledge"
    assert (fire.source, fire.dest) == ("received", "acknowledged")
    assert fire.payload == {"note": "called back"}
    assert fire.definition_hash == COMPLAINT.hash
    assert fire.version == 2
    assert fire.seq == 4
    assert fire.prev == entries[2].hash
    assert moved.seq == 5 and moved.head == entries[-1].hash


def test_fire_with_explicit_at(wf: Workflow, case: Case) -> None:
    moved = wf.fire("C-1", "acknowledge", actor=AGENT, at=T0 + 3 * H)
    assert moved.updated_at == T0 + 3 * H
    assert wf.history("C-1")[3].at == T0 + 3 * H


def test_self_transition_keeps_entered_at(wf: Workflow, case: Case, clock: SteppedClock) -> None:
    to_investigating(wf)
    entered = wf.get("C-1").entered_at
    clock.advance(hours=1)
    again = wf.fire("C-1", "note", actor=AGENT, payload={"note": "x"})
    assert again.state == "investigating"
    assert again.entered_at == entered
    assert again.updated_at == T0 + H
    assert again.counts["note"] == 1


def test_fire_keeps_a_copy_of_the_payload(wf: Workflow, case: Case) -> None:
    to_investigating(wf)
    clauses = ["a", "b"]
    wf.fire("C-1", "respond", actor=AGENT, payload={"remedy": "refund", "clauses": clauses})
    clauses.append("c")
    assert wf.get("C-1").data["clauses"] == ["a", "b"]
    assert wf.history("C-1")[-2].payload["clauses"] == ["a", "b"]
    assert wf.verify_history("C-1")


def test_transition_not_allowed(wf: Workflow, case: Case) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        wf.fire("C-1", "close", actor=AGENT)
    err = info.value
    assert err.state == "received"
    assert err.trigger == "close"
    assert err.allowed == ("acknowledge", "note")  # what this actor could fire
    assert err.others == ("escalate",) and err.system_only == ()
    assert err.case_id == "C-1"
    assert "allowed: acknowledge, note; not for this actor: escalate (other roles)" in str(err)
    assert isinstance(err, LookupError)
    with pytest.raises(TransitionNotAllowed):
        wf.fire("C-1", "no_such_trigger", actor=AGENT)


def test_case_not_found(wf: Workflow) -> None:
    with pytest.raises(KeyError) as info:
        wf.fire("C-404", "acknowledge", actor=AGENT)
    assert str(info.value) == "no case with id 'C-404'"


def test_permission_denied(wf: Workflow, case: Case) -> None:
    with pytest.raises(PermissionDenied) as info:
        wf.fire("C-1", "acknowledge", actor=CLIENT)
    err = info.value
    assert err.actor == "cli"
    assert err.roles == ("agent",)
    assert err.trigger == "acknowledge"
    assert [r.code for r in err.reasons] == ["role_required"]
    assert isinstance(err, PermissionError)
    with pytest.raises(PermissionDenied):
        wf.fire("C-1", "acknowledge")  # no actor, no roles
    after = wf.get("C-1")
    assert (after.state, after.version, after.data) == (case.state, case.version, case.data)


def test_permission_denied_before_other_reasons(wf: Workflow, case: Case) -> None:
    wf.fire("C-1", "acknowledge", actor=AGENT)
    # the client may not assess, whatever the payload: a role failure is a permission error
    with pytest.raises(PermissionDenied) as info:
        wf.fire("C-1", "assess", actor=CLIENT, payload={"severity": 9})
    assert [r.code for r in info.value.reasons] == ["role_required", "severity_range"]


def test_roles_resolved_for_string_actors(china: WorkCalendar, clock: SteppedClock) -> None:
    directory = {"ann": ["agent"], "max": ["manager"]}
    asked: list[str] = []

    def roles(actor_id: str) -> list[str]:
        asked.append(actor_id)
        return directory.get(actor_id, [])

    wf = Workflow(calendar=china, clock=clock, processes=[COMPLAINT], roles=roles)
    wf.start("complaint", case_id="C-1", data=START_DATA, actor="ann")
    with pytest.raises(PermissionDenied) as info:
        wf.fire("C-1", "acknowledge", actor="max")
    assert info.value.actor == "max"
    moved = wf.fire("C-1", "acknowledge", actor="ann")
    assert moved.state == "acknowledged"
    refused, fired = wf.history("C-1")[3:5]
    assert (refused.kind, refused.actor) == ("refused", "max")
    assert (fired.kind, fired.actor) == ("fire", "ann")
    assert asked == ["ann", "max", "ann"]
    assert wf.available_triggers("C-1", actor="max") == ["escalate"]


def test_guard_failed_lists_every_reason(wf: Workflow, case: Case) -> None:
    to_investigating(wf)
    before = wf.get("C-1")
    with pytest.raises(GuardFailed) as info:
        wf.fire(
            "C-1",
            "respond",
            actor=AGENT,
            payload={"clauses": ["a"], "amount": "12.50", "note": "unsigned"},
        )
    reasons = info.value.reasons
    assert [(r.code, r.kind, r.details) for r in reasons] == [
        ("missing_field", "field", ("remedy",)),
        ("invalid_field", "field", ("amount: expected decimal, got str",)),
        ("clauses_missing", "guard", ("b",)),
        ("not_signed", "guard", ("the client has not signed",)),
    ]
    assert "clauses_missing: clauses lacks b" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert wf.get("C-1") == before


def test_unexpected_payload_field(wf: Workflow, case: Case) -> None:
    with pytest.raises(GuardFailed) as info:
        wf.fire("C-1", "acknowledge", actor=AGENT, payload={"severity": 1, "remedy": "refund"})
    assert [(r.code, r.details) for r in info.value.reasons] == [
        ("unexpected_field", ("remedy", "severity"))
    ]
    after = wf.get("C-1")
    assert (after.state, after.version, after.data) == (case.state, case.version, case.data)


def test_required_field_may_come_from_the_case_data(wf: Workflow) -> None:
    wf.start("complaint", case_id="C-2", data={**START_DATA, "severity": 1})
    wf.fire("C-2", "acknowledge", actor=AGENT)
    assert wf.fire("C-2", "assess", actor=AGENT).state == "investigating"


def test_refused_fire_changes_nothing(wf: Workflow, case: Case) -> None:
    wf.fire("C-1", "acknowledge", actor=AGENT)
    before = wf.get("C-1")
    history = wf.history("C-1")
    for trigger, actor, payload, error in [
        ("assess", AGENT, {"severity": 7}, GuardFailed),
        ("assess", CLIENT, {"severity": 1}, PermissionDenied),
        ("close", AGENT, {}, TransitionNotAllowed),
    ]:
        with pytest.raises(error):
            wf.fire("C-1", trigger, actor=actor, payload=payload)
    assert wf.get("C-1") == before
    assert wf.history("C-1") == history


def test_record_refusals(wf: Workflow, case: Case) -> None:
    seen = Recorder()
    wf.on("case.refused", seen, name="refusals")
    with pytest.raises(PermissionDenied):
        wf.fire("C-1", "acknowledge", actor=CLIENT)
    with pytest.raises(GuardFailed):
        wf.fire("C-1", "acknowledge", actor=AGENT, payload={"remedy": "refund"})
    after = wf.get("C-1")
    assert (after.state, after.data, after.version, after.counts) == (
        case.state,
        case.data,
        case.version,
        case.counts,
    )
    assert after.seq == case.seq + 2
    entries = wf.history("C-1")
    assert [e.kind for e in entries[3:]] == ["refused", "refused"]
    first, second = entries[3:]
    assert (first.actor, first.trigger, first.source, first.dest, first.version) == (
        "cli",
        "acknowledge",
        "received",
        None,
        1,
    )
    assert first.payload == {
        "error": "PermissionDenied",
        "reasons": [{"code": "role_required", "details": ["agent"]}],
    }
    assert second.payload == {
        "error": "GuardFailed",
        "reasons": [{"code": "unexpected_field", "details": ["remedy"]}],
    }
    assert wf.verify_history("C-1")
    assert seen.types == ["case.refused", "case.refused"]
    assert seen.events[0].payload["trigger"] == "acknowledge"


def test_refusal_not_recorded_unless_asked(wf: Workflow, case: Case) -> None:
    wf.fire("C-1", "acknowledge", actor=AGENT)
    with pytest.raises(PermissionDenied):
        wf.fire("C-1", "assess", actor=CLIENT, payload={"severity": 1})
    assert "refused" not in kinds(wf)


def test_why_not(wf: Workflow, case: Case) -> None:
    state = wf.why_not("C-1", "close", actor=AGENT)
    assert [(r.code, r.kind, r.details) for r in state] == [
        ("not_allowed_in_state", "state", ("acknowledge", "escalate", "note"))
    ]
    assert "not allowed in state 'received'" in state[0].message
    wf.fire("C-1", "acknowledge", actor=AGENT)
    wf.fire("C-1", "assess", actor=AGENT, payload={"severity": 2})
    reasons = wf.why_not(
        "C-1", "respond", actor=CLIENT, payload={"clauses": ["b"], "amount": 3, "colour": 1}
    )
    assert [(r.code, r.kind, r.details) for r in reasons] == [
        ("role_required", "role", ("agent",)),
        ("unexpected_field", "field", ("colour",)),
        ("missing_field", "field", ("remedy",)),
        ("clauses_missing", "guard", ("a",)),
    ]
    assert wf.why_not("C-1", "respond", actor=AGENT, payload={"remedy": "x", "clauses": ["a"]})[
        -1
    ].details == ("b",)
    allowed = wf.why_not(
        "C-1", "respond", actor=AGENT, payload={"remedy": "refund", "clauses": ["a", "b"]}
    )
    assert allowed == []
    assert wf.get("C-1").state == "investigating"  # asking changes nothing


def test_available_triggers(wf: Workflow, case: Case) -> None:
    assert wf.available_triggers("C-1", actor=AGENT) == ["acknowledge", "note"]
    assert wf.available_triggers("C-1", actor=MANAGER) == ["escalate"]
    assert wf.available_triggers("C-1", actor=CLIENT) == []
    to_investigating(wf, severity=1)
    # respond: the guard on clauses fails on the current data; route: either candidate
    assert wf.available_triggers("C-1", actor=AGENT) == ["wait", "route", "note"]
    wf.fire("C-1", "wait", actor=AGENT)
    assert wf.available_triggers("C-1", actor=CLIENT) == ["resume"]


def test_first_candidate_whose_guards_pass_wins(wf: Workflow) -> None:
    wf.start("complaint", case_id="minor", data=START_DATA)
    wf.start("complaint", case_id="major", data=START_DATA)
    to_investigating(wf, "minor", severity=1)
    to_investigating(wf, "major", severity=3)
    assert wf.fire("minor", "route").state == "responded"
    assert wf.fire("major", "route").state == "escalated"
    assert wf.history("major")[-1].dest == "escalated"


def test_candidates_for_different_roles() -> None:
    # "*" and a named state both lead to the same place, for different roles
    p = ProcessDefinition(
        name="p",
        version=1,
        states=[State("a", initial=True), State("b"), State("x", final=True)],
        transitions=[
            Transition("go", "a", "b"),
            Transition("cancel", "*", "x", roles="boss"),
            Transition("cancel", "a", "x", roles="agent", guards=[Guard.max_count("c", "go", 1)]),
        ],
    )
    wf = Workflow(
        clock=SteppedClock(T0), calendar=WorkCalendar.china(coverage="provisional"), processes=[p]
    )
    wf.start("p", case_id="1")
    wf.start("p", case_id="2")
    assert wf.fire("1", "cancel", actor=AGENT).state == "x"
    assert wf.fire("2", "cancel", actor=Actor("b", {"boss"})).state == "x"
    wf.start("p", case_id="3")
    wf.fire("3", "go")
    with pytest.raises(PermissionDenied) as info:
        wf.fire("3", "cancel", actor=AGENT)  # from b only the boss may
    assert info.value.roles == ("boss",)


def test_permission_denied_names_every_role_allowed() -> None:
    p = ProcessDefinition(
        name="p",
        version=1,
        states=[State("a", initial=True), State("x", final=True)],
        transitions=[
            Transition("cancel", "a", "x", roles="boss"),
            Transition(
                "cancel", "a", "x", roles="agent", guards=[Guard.max_count("c", "cancel", 0)]
            ),
        ],
    )
    wf = Workflow(
        clock=SteppedClock(T0), calendar=WorkCalendar.china(coverage="provisional"), processes=[p]
    )
    wf.start("p", case_id="1")
    with pytest.raises(PermissionDenied) as info:
        wf.fire("1", "cancel", actor=CLIENT)
    assert info.value.roles == ("boss", "agent")
    # an agent holds a role for the second candidate: its guard is what stands in the way
    with pytest.raises(GuardFailed) as failed:
        wf.fire("1", "cancel", actor=AGENT)
    assert [r.code for r in failed.value.reasons] == ["c"]
    assert [r.code for r in wf.why_not("1", "cancel", actor=AGENT)] == ["c"]


def test_idempotency_key(wf: Workflow, case: Case, clock: SteppedClock) -> None:
    first = wf.fire("C-1", "acknowledge", actor=AGENT, idempotency_key="req-1")
    history = wf.history("C-1")
    clock.advance(hours=1)
    again = wf.fire("C-1", "acknowledge", actor=AGENT, idempotency_key="req-1")
    assert again == first
    assert wf.history("C-1") == history
    # a retry comes back with the same answer even after the case moved on
    wf.fire("C-1", "assess", actor=AGENT, payload={"severity": 1}, idempotency_key="req-2")
    third = wf.fire("C-1", "acknowledge", actor=AGENT, idempotency_key="req-1")
    assert third == first
    assert kinds(wf).count("fire") == 2


def test_idempotency_key_when_the_first_attempt_wins_a_race(wf: Workflow, case: Case) -> None:
    view = View(wf.store)
    other = wf.with_store(view)
    first = wf.fire("C-1", "acknowledge", actor=AGENT, idempotency_key="req-1")
    # the retry had read the case (and found no key) before the first attempt was stored
    view.stale_case = case
    asked: list[str] = []

    def idempotent(case_id: str, key: str) -> Case | None:
        asked.append(key)
        return None if len(asked) == 1 else wf.store.idempotent(case_id, key)

    view.idempotent = idempotent  # type: ignore[method-assign]
    assert other.fire("C-1", "acknowledge", actor=AGENT, idempotency_key="req-1") == first
    assert asked == ["req-1", "req-1"]
    assert kinds(wf).count("fire") == 1


def test_stale_expected_version(wf: Workflow, case: Case) -> None:
    wf.fire("C-1", "acknowledge", actor=AGENT, expected_version=1)
    with pytest.raises(ConcurrentUpdate) as info:
        wf.fire("C-1", "assess", actor=AGENT, payload={"severity": 1}, expected_version=1)
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert isinstance(info.value, RuntimeError)
    assert wf.get("C-1").state == "acknowledged"


def test_concurrent_commit_conflict(wf: Workflow, case: Case) -> None:
    view = View(wf.store)
    other = wf.with_store(view)
    wf.fire("C-1", "acknowledge", actor=AGENT)
    history = wf.history("C-1")
    # the other worker loaded the case before that fire was stored
    view.stale_case = case
    with pytest.raises(ConcurrentUpdate) as info:
        other.fire("C-1", "escalate", actor=MANAGER)
    assert (info.value.expected, info.value.actual) == (case.seq, case.seq + 2)
    assert wf.history("C-1") == history
    assert wf.get("C-1").state == "acknowledged"


# --- SLA clocks -----------------------------------------------------------------------


def test_sla_clocks_follow_the_states(wf: Workflow, case: Case, clock: SteppedClock) -> None:
    clock.advance(hours=1)
    to_investigating(wf)
    assert wf.get("C-1").clocks["ack"].status == "stopped"
    clock.advance(hours=1)
    waiting = wf.fire("C-1", "wait", actor=AGENT)
    assert waiting.clocks["feedback"].status == "paused"
    clock.advance(hours=10)
    resumed = wf.fire("C-1", "resume", actor=CLIENT)
    assert resumed.clocks["feedback"].status == "running"
    clock.advance(hours=1)
    done = wf.fire(
        "C-1", "respond", actor=AGENT, payload={"remedy": "refund", "clauses": ["a", "b"]}
    )
    assert done.clocks["feedback"].status == "stopped"
    sla_entries = [(e.kind, e.payload["sla"], e.at) for e in wf.history("C-1") if "sla" in e.kind]
    assert sla_entries == [
        ("sla.started", "ack", T0),
        ("sla.started", "feedback", T0),
        ("sla.stopped", "ack", T0 + H),
        ("sla.paused", "feedback", T0 + 2 * H),
        ("sla.resumed", "feedback", T0 + 12 * H),
        ("sla.stopped", "feedback", T0 + 13 * H),
    ]
    paused_entry = next(e for e in wf.history("C-1") if e.kind == "sla.paused")
    assert paused_entry.actor is None
    assert paused_entry.payload == {
        "sla": "feedback",
        "duration": "7wd",
        "status": "paused",
        "due": None,
        "calendar": None,
    }
    entries = wf.history("C-1")
    paused = next(i for i, e in enumerate(entries) if e.kind == "sla.paused")
    assert entries[paused - 1].trigger == "wait"  # right after its fire
    assert entries[paused - 1].version == entries[paused].version


def test_sla_started_by_a_trigger_and_restarted() -> None:
    p = ProcessDefinition(
        name="loop",
        version=1,
        states=[State("idle", initial=True), State("busy"), State("done", final=True)],
        transitions=[
            Transition("take", "idle", "busy"),
            Transition("drop", "busy", "idle"),
            Transition("finish", "busy", "done"),
        ],
        slas=[Sla("work", "4h", start_triggers="take", stop_states=["idle", "done"])],
    )
    wf = Workflow(
        clock=SteppedClock(T0), calendar=WorkCalendar.china(coverage="provisional"), processes=[p]
    )
    c = wf.start("loop", case_id="L")
    assert c.clocks == {}
    assert wf.fire("L", "take").clocks["work"].started_at == T0
    assert wf.fire("L", "drop", at=T0 + H).clocks["work"].status == "stopped"
    again = wf.fire("L", "take", at=T0 + 2 * H)
    assert again.clocks["work"].started_at == T0 + 2 * H
    assert again.clocks["work"].status == "running"
    assert [e.kind for e in wf.history("L") if e.kind.startswith("sla.")] == [
        "sla.started",
        "sla.stopped",
        "sla.started",
    ]


def test_deadlines(wf: Workflow, case: Case, clock: SteppedClock) -> None:
    ack, feedback = wf.deadlines("C-1", at=T0 + 6 * H)
    assert ack.name == "ack"
    assert ack.status == "running"
    assert ack.duration == "24h"
    assert ack.started_at == T0
    assert ack.due == at(10, 1, 17)
    assert ack.remaining == 18 * H
    assert ack.breached is False
    assert ack.provisional is False
    assert ack.next_mark == ("warning:50%", at(10, 1, 5))
    assert ack.fired == ()
    assert feedback.due is not None
    assert feedback.due.isoformat() == "2025-10-17T00:00:00+08:00"
    assert feedback.next_mark == ("warning:50%", at(10, 13, 8, 30))
    # the budget is 7 days and the 7 h left of Tue 09-30; 6 of those are gone
    assert feedback.remaining == dt.timedelta(days=7, hours=1)
    # paused: no due, the remaining time frozen
    to_investigating(wf)
    clock.set(at(10, 9, 12))
    wf.fire("C-1", "wait", actor=AGENT)
    ack, feedback = wf.deadlines("C-1", at=at(10, 20))
    assert ack.status == "stopped" and ack.due is None and ack.next_mark is None
    assert feedback.status == "paused"
    assert feedback.due is None
    assert feedback.remaining == dt.timedelta(days=6, hours=12)


def test_deadlines_of_an_idle_sla() -> None:
    p = ProcessDefinition(
        name="p",
        version=1,
        states=[State("a", initial=True), State("b", final=True)],
        transitions=[Transition("go", "a", "b")],
        slas=[Sla("later", "1h", start_triggers="go")],
    )
    wf = Workflow(
        clock=SteppedClock(T0), calendar=WorkCalendar.china(coverage="provisional"), processes=[p]
    )
    wf.start("p", case_id="1")
    (state,) = wf.deadlines("1")
    assert (state.status, state.due, state.remaining, state.breached, state.next_mark) == (
        "idle",
        None,
        None,
        False,
        None,
    )


# --- timers ---------------------------------------------------------------------------


def test_tick_raises_each_mark_once(wf: Workflow, case: Case, clock: SteppedClock) -> None:
    seen = Recorder()
    wf.on("sla.*", seen, name="sla")
    wf.fire("C-1", "acknowledge", actor=AGENT)  # stops "ack"; "feedback" runs on
    assert wf.tick(at(10, 13, 8)) == []
    raised = wf.tick(at(10, 13, 9))
    assert [(e.type, e.payload["mark"]) for e in raised] == [("sla.warning", "warning:50%")]
    assert raised[0].payload["reached_at"] == "2025-10-13T08:30:00+08:00"
    assert raised[0].payload["sla"] == "feedback"
    assert wf.tick(at(10, 13, 9)) == []  # again: nothing
    assert wf.tick(at(10, 14, 9)) == []
    raised = wf.tick(at(10, 17, 1))  # 75 % and the breach at once
    assert [e.payload["mark"] for e in raised] == ["warning:75%", "breach"]
    assert [e.type for e in raised] == ["sla.warning", "sla.breach"]
    assert wf.tick(at(10, 17, 1)) == []
    assert wf.tick(at(12, 1)) == []
    assert seen.types == ["sla.stopped", "sla.warning", "sla.warning", "sla.breach"]
    marks = [
        e.payload["mark"] for e in wf.history("C-1") if e.kind in ("sla.warning", "sla.breach")
    ]
    assert marks == ["warning:50%", "warning:75%", "breach"]
    (_, feedback) = wf.deadlines("C-1", at=at(10, 17, 1))
    assert feedback.breached is True
    assert feedback.fired == ("warning:50%", "warning:75%", "breach")
    assert feedback.next_mark is None
    assert wf.verify_history("C-1")


def test_tick_of_two_workflows_sharing_a_store(china: WorkCalendar, clock: SteppedClock) -> None:
    store = MemoryStore()
    view = View(store)
    one = Workflow(store, calendar=china, clock=clock, processes=[COMPLAINT])
    two = Workflow(view, calendar=china, clock=clock, processes=[COMPLAINT])
    one.start("complaint", case_id="C-1", data=START_DATA)
    now = at(10, 1, 6)  # past 50 % of the 24 h acknowledgement
    due = store.due_timers(now, 10)
    assert [(t.sla, t.mark) for t in due] == [("ack", "warning:50%")]
    stale = store.load("C-1")
    assert [e.payload["mark"] for e in one.tick(now)] == ["warning:50%"]
    # the second worker found the same timer and read the case before the first stored
    view.stale_timers = due
    view.stale_case = stale
    assert two.tick(now) == []
    assert two.tick(now) == []
    assert [e.kind for e in store.history("C-1")].count("sla.warning") == 1


def test_breach_trigger_fired_by_the_system(china: WorkCalendar, clock: SteppedClock) -> None:
    def roles(actor_id: str) -> list[str]:
        return {"ann": ["agent"]}[actor_id]  # the directory knows no "system"

    wf = Workflow(calendar=china, clock=clock, processes=[COMPLAINT], roles=roles)
    seen = Recorder()
    wf.on("*", seen, name="all")
    wf.start("complaint", case_id="C-1", data=START_DATA)
    assert wf.tick(at(10, 1, 16)) != []
    assert wf.get("C-1").state == "received"
    assert wf.tick(at(10, 1, 17)) == []  # exactly at the due instant: not late yet
    assert wf.deadlines("C-1", at=at(10, 1, 17))[0].breached is False
    late = at(10, 1, 17) + dt.timedelta(microseconds=1)
    assert wf.deadlines("C-1", at=late)[0].breached is True  # without waiting for a tick
    raised = wf.tick(late)
    assert [e.type for e in raised] == ["sla.breach"]
    case = wf.get("C-1")
    assert case.state == "escalated"  # "escalate" needs a manager: the system may
    fire = next(e for e in wf.history("C-1") if e.kind == "fire")
    assert (fire.actor, fire.trigger, fire.at) == ("system", "escalate", late)
    assert case.clocks["ack"].status == "stopped"
    assert wf.tick(at(10, 2)) == []
    assert [e.kind for e in wf.history("C-1")].count("fire") == 1
    assert "case.transition" in seen.types


def test_breach_trigger_not_allowed_any_more_is_skipped(
    wf: Workflow, china: WorkCalendar, clock: SteppedClock
) -> None:
    p = ProcessDefinition(
        name="p",
        version=1,
        states=[State("a", initial=True), State("b"), State("x", final=True)],
        transitions=[
            Transition("go", "a", "b"),
            Transition("late", "a", "x"),
            Transition("end", "b", "x"),
        ],
        slas=[Sla("s", "2h", start_states="a", warn_at=(), breach_trigger="late")],
    )
    wf.register(p)
    wf.start("p", case_id="1")
    wf.start("p", case_id="2")
    wf.fire("2", "go")  # "late" is not defined from b: the breach is only raised
    raised = wf.tick(T0 + 3 * H)
    assert sorted((e.case_id, e.type) for e in raised) == [("1", "sla.breach"), ("2", "sla.breach")]
    assert wf.get("1").state == "x"
    assert wf.get("2").state == "b"


def test_tick_limit(wf: Workflow) -> None:
    for n in range(5):
        wf.start("complaint", case_id=f"C-{n}", data=START_DATA)
    assert len(wf.tick(at(10, 1, 6), limit=2)) == 2
    assert len(wf.tick(at(10, 1, 6), limit=100)) == 3
    assert wf.tick(at(10, 1, 6)) == []


def test_tick_reschedules_a_timer_that_no_longer_fits(wf: Workflow, case: Case) -> None:
    # a timer set with other calendar data (e.g. before a new schedule was loaded)
    early = Timer("C-1", "ack", "warning:50%", T0 + H)
    wf.store.commit(case, case.seq, [], [early], [])
    assert wf.store.due_timers(T0 + H, 10) == [early]
    assert wf.tick(T0 + H) == []
    assert wf.store.due_timers(T0 + H, 10) == []  # not due again and again
    assert [(t.sla, t.mark, t.due_at) for t in wf.store.due_timers(at(12, 1), 10)] == [
        ("ack", "warning:50%", T0 + 12 * H),
        ("feedback", "warning:50%", at(10, 13, 8, 30)),
    ]
    assert wf.get("C-1") == case


# --- history ----------------------------------------------------------------------------


def tampered(wf: Workflow) -> list[HistoryEntry]:
    store = wf.store
    assert isinstance(store, MemoryStore)
    return store._slots["C-1"].entries


def test_verify_history_intact(wf: Workflow, case: Case) -> None:
    to_investigating(wf)
    check = wf.verify_history("C-1")
    assert check.ok and bool(check)
    assert check.entries == len(wf.history("C-1")) == 6
    assert check.problems == ()


def test_verify_history_detects_an_edited_entry(wf: Workflow, case: Case) -> None:
    to_investigating(wf)
    entries = tampered(wf)
    entries[3] = attrs.evolve(entries[3], actor="mallory")
    check = wf.verify_history("C-1")
    assert not check
    assert check.problems == ("seq 4: content was changed after it was recorded",)


def test_verify_history_detects_a_resealed_entry(wf: Workflow, case: Case) -> None:
    to_investigating(wf)
    entries = tampered(wf)
    entries[3] = attrs.evolve(entries[3], actor="mallory").sealed()
    check = wf.verify_history("C-1")
    assert check.problems == ("seq 5: does not follow the entry before it",)


def test_verify_history_detects_a_deleted_middle_entry(wf: Workflow, case: Case) -> None:
    to_investigating(wf)
    del tampered(wf)[3]
    check = wf.verify_history("C-1")
    assert not check
    assert check.problems[:2] == (
        "seq 4: found entry numbered 5 (one missing?)",
        "seq 5: does not follow the entry before it",
    )


def test_verify_history_detects_a_deleted_last_entry(wf: Workflow, case: Case) -> None:
    to_investigating(wf)
    tampered(wf).pop()
    check = wf.verify_history("C-1")
    assert not check
    assert check.entries == 5
    assert check.problems == (
        "the last entry is not the case's latest (entries deleted at the end?)",
    )


def test_history_hashes_do_not_depend_on_the_offset(wf: Workflow, case: Case) -> None:
    # a store may hand instants back in UTC (PostgreSQL does): the chain still holds
    to_investigating(wf)
    utc = [
        attrs.evolve(e, at=e.at.astimezone(dt.UTC), payload=dict(e.payload))
        for e in wf.history("C-1")
    ]
    assert utc[0].at.utcoffset() == dt.timedelta()
    assert verify_chain(utc, head=wf.get("C-1").head)


# --- notifications ----------------------------------------------------------------------


def test_events_of_a_case(wf: Workflow) -> None:
    seen = Recorder()
    wf.on("*", seen, name="all")
    wf.start("complaint", case_id="C-1", data=START_DATA, actor=AGENT)
    wf.fire("C-1", "acknowledge", actor=AGENT)
    assert seen.types == [
        "case.started",
        "state.entered",
        "sla.started",
        "sla.started",
        "case.transition",
        "state.left",
        "state.entered",
        "sla.stopped",
    ]
    transition = seen.events[4]
    assert transition.case_id == "C-1" and transition.process == "complaint"
    assert transition.at == T0
    assert transition.payload == {
        "actor": "ann",
        "version": 2,
        "trigger": "acknowledge",
        "source": "received",
        "dest": "acknowledged",
        "payload": {},
    }
    assert len({e.id for e in seen.events}) == len(seen.events)
    json.dumps([e.to_json() for e in seen.events])  # JSON-serialisable


def test_confidential_fields_never_reach_a_notification(wf: Workflow) -> None:
    seen = Recorder()
    wf.on("*", seen, name="all")
    wf.start("complaint", case_id="C-1", data=START_DATA, actor=AGENT)
    with pytest.raises(GuardFailed) as info:
        wf.fire("C-1", "acknowledge", actor=AGENT, payload={"id_type": "P-secret-42"})
    assert "P-secret-42" not in str(info.value)
    wf.fire(
        "C-1",
        "acknowledge",
        actor=AGENT,
        payload={"phone": "13900139000", "id_type": "passport", "note": "ok"},
    )
    to_json = json.dumps([e.to_json() for e in seen.events], ensure_ascii=False)
    for secret in (SECRET, "13900139000", "P-secret-42"):
        assert secret not in to_json
    for event in seen.events:
        for values in (
            event.payload,
            event.payload.get("data", {}),
            event.payload.get("payload", {}),
        ):
            assert not {"phone", "id_type"} & set(values)
    started = seen.events[0]
    assert started.payload["data"] == {"channel": "phone", "complainant": "李雷"}
    transition = next(e for e in seen.events if e.type == "case.transition")
    assert transition.payload["payload"] == {"note": "ok"}
    assert "case.refused" in seen.types
    # the record keeps them
    assert wf.get("C-1").data["phone"] == "13900139000"


def test_callbacks_run_after_the_change_is_stored(wf: Workflow, case: Case) -> None:
    seen = Recorder(wf)
    wf.on("case.transition", seen, name="moves")
    wf.fire("C-1", "acknowledge", actor=AGENT)
    assert seen.states == ["acknowledged"]


def test_failing_callback_is_retried_then_parked(china: WorkCalendar, clock: SteppedClock) -> None:
    wf = Workflow(
        calendar=china,
        clock=clock,
        processes=[COMPLAINT],
        max_attempts=3,
        retry_base=dt.timedelta(seconds=30),
    )
    good = Recorder()
    bad = Recorder(fail=10)
    wf.on("case.transition", good, name="good")
    wf.on("case.transition", bad, name="bad")
    wf.start("complaint", case_id="C-1", data=START_DATA)
    moved = wf.fire("C-1", "acknowledge", actor=AGENT)  # the receiver fails: no harm done
    assert moved.state == "acknowledged"
    assert wf.get("C-1").state == "acknowledged"
    assert len(good.events) == 1 and bad.fail == 9
    # backoff: not before 30 s
    assert wf.dispatch(T0 + dt.timedelta(seconds=29)) == 0
    assert bad.fail == 9
    assert wf.dispatch(T0 + dt.timedelta(seconds=30)) == 0
    assert bad.fail == 8
    # then 60 s after that round
    assert wf.dispatch(T0 + dt.timedelta(seconds=89)) == 0
    assert bad.fail == 8
    assert wf.dispatch(T0 + dt.timedelta(seconds=90)) == 0
    assert bad.fail == 7
    dead = wf.dead_letters()
    assert len(dead) == 1
    assert dead[0].status == "dead"
    assert dead[0].attempts == 3
    assert dead[0].delivered_to == ("good",)
    assert "ConnectionError: receiver down" in (dead[0].last_error or "")
    assert wf.dispatch(at(12, 1)) == 0  # a dead event is not retried by itself
    assert bad.fail == 7
    assert len(good.events) == 1
    # replay: the receiver is back; every subscription gets the event again, with the
    # same id, so a receiver that had it already can tell
    bad.fail = 0
    replayed = wf.replay(dead[0].event.id, at=T0 + 5 * H)
    assert replayed.status == "delivered"
    assert replayed.delivered_to == ("good", "bad")
    assert [e.id for e in bad.events] == [dead[0].event.id]
    assert [e.id for e in good.events] == [dead[0].event.id] * 2
    assert wf.dead_letters() == []


def test_dispatch_delivers_what_waits(china: WorkCalendar, clock: SteppedClock) -> None:
    wf = Workflow(calendar=china, clock=clock, processes=[COMPLAINT], dispatch="manual")
    seen = Recorder()
    wf.on("case.*", seen, name="cases")
    wf.start("complaint", case_id="C-1", data=START_DATA)
    wf.fire("C-1", "acknowledge", actor=AGENT)
    assert seen.events == []
    assert wf.dispatch(T0) == 8  # every event of both changes, the unmatched ones too
    assert seen.types == ["case.started", "case.transition"]
    assert wf.dispatch(T0) == 0
    # replaying a delivered event sends it to every subscription again
    delivery = wf.replay(seen.events[1].id, at=T0 + H)
    assert delivery.status == "delivered"
    assert seen.types == ["case.started", "case.transition", "case.transition"]
    assert seen.events[2] == seen.events[1]


def test_dispatch_without_subscriptions_leaves_the_outbox(wf: Workflow, case: Case) -> None:
    assert wf.dispatch(T0) == 0
    assert len(wf.store.pending(T0, 100)) == 4


def test_subscription_names(wf: Workflow) -> None:
    def receiver(event: Event) -> None:
        pass

    sub = wf.on("sla.*", receiver)
    assert sub.name.endswith("receiver:sla.*")
    with pytest.raises(ValueError, match="exists already"):
        wf.on("sla.*", receiver)
    wf.off(sub.name)
    wf.on("sla.*", receiver)


# --- with_store -----------------------------------------------------------------------


class HostTransaction(MemoryStore):
    """A store bound to the host's own transaction: durable only after the host commits."""

    commits_itself = False


def test_with_store(wf: Workflow, case: Case) -> None:
    seen = Recorder()
    wf.on("*", seen, name="all")
    host = HostTransaction()
    bound = wf.with_store(host)
    assert bound.store is host and wf.store is not host
    assert bound.calendar is wf.calendar and bound.clock is wf.clock
    assert bound.process("complaint") is COMPLAINT
    bound.start("complaint", case_id="H-1", data=START_DATA)
    moved = bound.fire("H-1", "acknowledge", actor=AGENT)
    assert moved.state == "acknowledged"
    assert host.load("H-1") == moved
    with pytest.raises(KeyError):
        wf.get("H-1")
    # nothing is delivered until the host has committed and dispatches
    assert all(e.case_id == "C-1" for e in seen.events)
    assert bound.dispatch(T0) == 8
    assert [e.case_id for e in seen.events].count("H-1") == 8
    # the original still writes to its own store
    assert wf.fire("C-1", "acknowledge", actor=AGENT).version == 2
    with pytest.raises(KeyError):
        host.load("C-1")


def test_stop_trigger_on_a_self_loop_restarts_a_recurring_clock(
    china: WorkCalendar, clock: SteppedClock
) -> None:
    process = ProcessDefinition(
        name="project",
        version=1,
        states=[State("running", initial=True), State("done", final=True)],
        transitions=[
            Transition("report", source="running", dest="running"),
            Transition("finish", source="running", dest="done"),
        ],
        slas=[
            Sla(
                "progress_report",
                "10wd",
                start_states="running",
                start_triggers="report",
                stop_triggers="report",
                stop_states="done",
            )
        ],
    )
    wf = Workflow(calendar=china, clock=clock, processes=[process])
    wf.start("project", case_id="P", at=at(9, 1, 9))
    first_due = wf.deadlines("P")[0].due
    case = wf.fire("P", "report", at=at(9, 5, 9))
    (state,) = wf.deadlines("P")
    assert case.clocks["progress_report"].started_at == at(9, 5, 9)
    assert state.status == "running" and state.due is not None and first_due is not None
    assert state.due > first_due
    kinds = [e.kind for e in wf.history("P")]
    assert kinds == ["start", "sla.started", "fire", "sla.stopped", "sla.started"]
    wf.fire("P", "finish", at=at(9, 8, 9))
    assert wf.deadlines("P")[0].status == "stopped"


def test_unknown_stop_trigger_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"slas\[0\]\.stop_triggers\[0\]: unknown trigger"):
        ProcessDefinition(
            name="p",
            version=1,
            states=[State("a", initial=True), State("b", final=True)],
            transitions=[Transition("go", source="a", dest="b")],
            slas=[Sla("s", "1wd", start_states="a", stop_triggers="nope")],
        )


def test_guards_see_the_actors_roles(china: WorkCalendar, clock: SteppedClock) -> None:
    def manager_for_critical(ctx: GuardContext) -> Any:
        if ctx.value("severity") == "critical" and "manager" not in ctx.roles:
            return "a critical case needs a manager"
        return True

    process = ProcessDefinition(
        name="triage",
        version=1,
        states=[State("new", initial=True), State("assessed", final=True)],
        transitions=[
            Transition(
                "assess",
                source="new",
                dest="assessed",
                accepts="severity",
                guards=[Guard.call("manager_needed", "manager_for_critical")],
            )
        ],
        fields=[Field("severity", "str")],
        functions={"manager_for_critical": manager_for_critical},
    )
    wf = Workflow(calendar=china, clock=clock, processes=[process])
    wf.start("triage", case_id="T")
    reasons = wf.why_not("T", "assess", actor=AGENT, payload={"severity": "critical"})
    assert [(r.code, r.details) for r in reasons] == [
        ("manager_needed", ("a critical case needs a manager",))
    ]
    assert wf.why_not("T", "assess", actor=MANAGER, payload={"severity": "critical"}) == []


def test_a_string_no_store_can_keep_is_refused_before_anything_is_written(
    china: WorkCalendar, clock: SteppedClock
) -> None:
    process = ProcessDefinition(
        name="note",
        version=1,
        states=[State("open", initial=True), State("done", final=True)],
        transitions=[Transition("close", source="open", dest="done", accepts="text")],
        fields=[Field("text", "str")],
    )
    wf = Workflow(calendar=china, clock=clock, processes=[process])
    wf.start("note", case_id="N")
    with pytest.raises(InvalidValue, match=r"^payload\.text: .*lone surrogate"):
        wf.fire("N", "close", payload={"text": "lone surrogate \ud800 and 中文"})
    assert len(wf.history("N")) == 1
    wf.fire("N", "close", payload={"text": "中文"})
    assert wf.verify_history("N")


# --- one order everywhere: the definition's -----------------------------------------------


@pytest.mark.parametrize("name", sorted(processes.ALL))
def test_every_order_a_user_sees_is_the_definitions(name: str) -> None:
    """``transitions`` once listed the triggers of ``implementing`` in another order than
    the definition; now the triggers of a state, ``available_triggers`` and the
    ``allowed`` of a refusal all come in the definition's order."""
    definition = processes.builtin(name)
    wf = Workflow(calendar=WorkCalendar.china(coverage="provisional"), processes=[definition])
    machine = wf._machine(definition.name)
    for state in definition.states:
        assert machine.triggers(state.name) == definition.triggers_from(state.name)
    case = wf.start(name, data={f: _filled(definition, f) for f in definition.requires}, at=T0)
    everyone = Actor("all", {r for t in definition.transitions for r in t.roles})
    offered = wf.available_triggers(case.id, actor=everyone, at=T0)
    order = definition.triggers_from(case.state)
    assert offered == [t for t in order if t in offered]
    with pytest.raises(TransitionNotAllowed) as refused:
        wf.fire(case.id, "no_such_trigger", actor=everyone, at=T0)
    assert tuple(refused.value.allowed) == order


def _filled(definition: ProcessDefinition, name: str) -> object:
    kind = definition.fields[name].type
    choices = definition.fields[name].choices
    if choices:
        return choices[0] if kind != "list" else [choices[0]]
    samples: dict[str, object] = {
        "int": 1, "float": 1.0, "bool": True, "decimal": Decimal(1), "date": T0.date(),
        "datetime": T0, "list": ["x"], "dict": {"x": 1},
    }  # fmt: skip
    return samples.get(kind, "x")
