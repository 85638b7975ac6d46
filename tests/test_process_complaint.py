"""The complaint template walked end to end: happy path, refusals, SLAs, overrides."""

from __future__ import annotations

import datetime as dt

import pytest
from processes_helpers import RECEIVED, SHANGHAI, Walk

from techsvc_flow import (
    Event,
    PermissionDenied,
    ProcessDefinition,
    TransitionNotAllowed,
    WorkCalendar,
)
from techsvc_flow.errors import DefinitionError
from techsvc_flow.processes import complaint

START = {
    "channel": "phone",
    "description": "the test report came a month late",
    "complainant_name": "Wang",
    "complainant_contact": "138 0000 0000",
    "related_case": "ENG-7",
}


def at(month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, 0, tzinfo=SHANGHAI)


def walk(china: WorkCalendar, process: ProcessDefinition | None = None) -> Walk:
    return Walk(process or complaint(), china, data=dict(START), case_id="TS-2025-001")


def to_investigating(w: Walk) -> None:
    assert w.fire("acknowledge", "handler", acknowledgement_via="phone") == "acknowledged"
    w.fire("assess", "handler", severity="medium", priority="p2", category="timeliness")
    assert w.fire("start_investigation", "handler", investigator="li") == "investigating"


def to_communicated(w: Walk, remedies: list[str] | None = None) -> None:
    w.fire(
        "decide_response",
        "handler",
        findings="report delayed by a lab backlog",
        upheld="upheld",
        remedies=remedies or ["apology", "fee_reduction"],
    )
    w.fire(
        "communicate_decision", "handler", decision_text="we apologise…", communication_via="phone"
    )
    assert w.state == "decision_communicated"


def test_happy_path(china: WorkCalendar) -> None:
    w = walk(china)
    assert w.state == "received"
    to_investigating(w)
    to_communicated(w)
    assert w.fire("record_reply", "client", reply="accepted") == "remedy_in_progress"
    state = w.fire(
        "close",
        "handler",
        remedies_done=["apology", "fee_reduction"],
        remedy_evidence=["DOC-9"],
    )
    assert state == "closed"
    assert [t for t, _ in w.fired()] == [
        "acknowledge",
        "assess",
        "start_investigation",
        "decide_response",
        "communicate_decision",
        "record_reply",
        "close",
    ]
    assert w.status("acknowledge") == w.status("feedback") == "stopped"
    assert not any(s.breached for s in w.wf.deadlines(w.id))
    assert w.wf.verify_history(w.id)


def test_sla_deadlines_from_a_tuesday_before_national_day(china: WorkCalendar) -> None:
    w = walk(china)
    assert w.due("acknowledge") == at(10, 1, 17)  # 24 h of clock time, holiday or not
    # 7 working days: 10-01..10-08 off, Sat 10-11 a make-up working day → ends 10-16 24:00
    assert w.due("feedback") == dt.datetime(2025, 10, 17, 0, 0, tzinfo=SHANGHAI)
    assert w.due("feedback").isoformat() == "2025-10-17T00:00:00+08:00"  # type: ignore[union-attr]


def test_the_feedback_clock_runs_on_while_waiting_on_the_complainant(
    china: WorkCalendar,
) -> None:
    # the strict reading of 「7 个工作日内处理反馈」: no pause unless switched on
    w = walk(china)
    to_investigating(w)
    w.clock.set(at(10, 9, 10))
    w.fire("request_info", "handler", info_question="which invoice?")
    assert w.status("feedback") == "running"
    assert w.due("feedback") == dt.datetime(2025, 10, 17, 0, 0, tzinfo=SHANGHAI)
    assert complaint().sla_map["feedback"].pause_states == ()
    with pytest.raises(DefinitionError, match="pause_feedback"):
        complaint(pause_feedback="yes")  # type: ignore[arg-type]


def test_waiting_on_the_complainant_pauses_the_feedback_clock(china: WorkCalendar) -> None:
    w = walk(china, complaint(pause_feedback=True))
    to_investigating(w)
    w.clock.set(at(10, 9, 10))  # Thursday, a working day
    assert w.fire("request_info", "handler", info_question="which invoice?") == (
        "waiting_on_complainant"
    )
    assert w.status("feedback") == "paused"
    assert w.due("feedback") is None
    assert w.status("complainant_silence") == "running"
    w.clock.set(at(10, 10, 10))  # one working day later
    assert w.fire("receive_info", "client", info_received="invoice 42") == "investigating"
    assert w.status("feedback") == "running"
    assert w.status("complainant_silence") == "stopped"
    # one working day on hold: Fri 10-17 is a working day, so the end moves to 10-17 24:00
    assert w.due("feedback") == dt.datetime(2025, 10, 18, 0, 0, tzinfo=SHANGHAI)


def test_breach_of_acknowledgement_escalates(china: WorkCalendar) -> None:
    w = walk(china)
    w.advance(hours=12)
    assert w.tick() == ["sla.warning:acknowledge"]
    w.advance(hours=13)
    assert w.tick() == ["sla.warning:acknowledge", "sla.breach:acknowledge"]
    assert w.fired() == [("escalate_overdue", "system")]
    assert w.state == "received"  # escalation is recorded; the case stays where it was
    breach = [e for e in w.wf.history(w.id) if e.kind == "sla.breach"]
    assert breach[0].payload["sla"] == "acknowledge"
    assert w.fire("acknowledge", "handler", acknowledgement_via="phone") == "acknowledged"


def test_breach_of_feedback_escalates(china: WorkCalendar) -> None:
    w = walk(china)
    to_investigating(w)
    w.clock.set(at(10, 16, 23))
    assert w.tick() == ["sla.warning:feedback", "sla.warning:feedback"]
    w.clock.set(at(10, 17, 0))  # the feedback limit's due instant: not late yet
    assert w.tick() == []
    w.clock.set(at(10, 17, 0) + dt.timedelta(seconds=1))
    assert w.tick() == ["sla.breach:feedback"]
    assert w.fired()[-1] == ("escalate_overdue", "system")
    assert w.state == "investigating"
    assert next(s for s in w.wf.deadlines(w.id) if s.name == "feedback").breached


def test_overriding_limits_moves_the_deadlines(china: WorkCalendar) -> None:
    w = walk(china, complaint(acknowledge="12h", feedback="5wd"))
    assert w.due("acknowledge") == at(10, 1, 5)
    # 5 working days: 10-09, 10-10, Sat 10-11 (make-up), 10-13, 10-14
    assert w.due("feedback") == dt.datetime(2025, 10, 15, 0, 0, tzinfo=SHANGHAI)


def test_close_needs_communication_reply_and_remedy(china: WorkCalendar) -> None:
    w = walk(china)
    to_investigating(w)
    with pytest.raises(TransitionNotAllowed):
        w.fire("close", "handler")
    w.fire(
        "decide_response",
        "handler",
        findings="delay",
        upheld="upheld",
        remedies=["rework"],
    )
    assert w.why("close", "handler") == [
        "decision_not_communicated",
        "complainant_reply_missing",
        "remedy_not_recorded",
    ]
    w.fire("communicate_decision", "handler", decision_text="we redo it", communication_via="email")
    assert w.why("close", "handler") == ["complainant_reply_missing", "remedy_not_recorded"]
    # the complainant's answer, recorded for them: with the written evidence
    assert "evidence_missing" in w.why("record_reply", "handler", reply="accepted")
    w.fire(
        "record_reply",
        "handler",
        reply="accepted",
        evidence_document="CALL-NOTE-7",
        evidence_channel="phone",
    )
    entry = [e for e in w.wf.history(w.id) if e.kind == "fire"][-1]
    assert (entry.actor, entry.payload["evidence_document"]) == ("handler", "CALL-NOTE-7")
    reasons = w.refused("close", "handler", remedies_done=[])
    assert reasons == {"remedy_not_recorded": ("remedy rework not done", "remedy_evidence")}
    assert w.refused("close", "handler", remedies_done=["rework"]) == {
        "remedy_not_recorded": ("remedy_evidence",)
    }
    assert w.fire("close", "handler", remedies_done=["rework"], remedy_evidence=["D1"]) == "closed"


def test_wrong_role(china: WorkCalendar) -> None:
    w = walk(china)
    assert w.why("acknowledge", "client", acknowledgement_via="phone") == ["role_required"]
    with pytest.raises(PermissionDenied):
        w.fire("acknowledge", "client", acknowledgement_via="phone")
    with pytest.raises(PermissionDenied):  # only the timer escalates
        w.fire("escalate_overdue", "manager")


def test_remedy_from_the_fixed_list(china: WorkCalendar) -> None:
    w = walk(china)
    to_investigating(w)
    reasons = w.refused(
        "decide_response", "handler", findings="x", upheld="upheld", remedies=["free_lunch"]
    )
    assert list(reasons) == ["invalid_field"]
    reasons = w.refused(
        "decide_response", "handler", findings="x", upheld="not_upheld", remedies=["refund"]
    )
    assert reasons == {"remedy_inconsistent": ("refund for a complaint not upheld",)}


def test_rejection_escalates_through_the_levels_then_goes_external(china: WorkCalendar) -> None:
    w = walk(china)
    to_investigating(w)
    to_communicated(w)
    assert w.refused("record_reply", "client", reply="rejected") == {
        "recourse_not_informed": ("recourse_informed",)
    }
    for level in (2, 3):
        w.fire("record_reply", "client", reply="rejected", recourse_informed=True)
        assert w.state == "decision_rejected"
        assert w.fire("escalate", "client") == "escalated"
        assert w.status("review_feedback") == "running"
        payload = {"reviewer": "r", "escalation_instructions": "again"}
        with pytest.raises(PermissionDenied):
            w.fire("review_escalation", "handler", **payload)
        if level == 3:  # the quality manager reviews level 2 only
            assert w.refused("review_escalation", "quality_manager", **payload) == {
                "review_level_too_low": ("escalate",)
            }
        w.fire("review_escalation", "quality_manager" if level == 2 else "manager", **payload)
        assert w.state == "investigating"
        to_communicated(w)
    w.fire("record_reply", "client", reply="rejected", recourse_informed=True)
    assert w.refused("escalate", "client") == {"max_escalation_reached": ("escalate",)}
    w.fire("refer_external", "client", external_mechanism="mediation", external_body="CCPIT")
    assert w.state == "external_resolution"
    state = w.fire(
        "record_external_outcome",
        "manager",
        external_outcome="settled",
        external_decision="DOC-M",
        remedies=["refund"],
    )
    assert state == "remedy_in_progress"
    assert w.fire("close", "handler", remedies_done=["refund"], remedy_evidence=["R"]) == "closed"


def test_fewer_escalation_levels(china: WorkCalendar) -> None:
    w = walk(china, complaint(escalation_levels=1))
    to_investigating(w)
    to_communicated(w)
    w.fire("record_reply", "client", reply="rejected", recourse_informed=True)
    assert w.why("escalate", "client") == ["max_escalation_reached"]
    assert w.fire("close_unresolved", "manager", closing_statement="options exhausted") == "closed"


def test_external_outcome_with_nothing_owed_closes(china: WorkCalendar) -> None:
    w = walk(china)
    to_investigating(w)
    to_communicated(w)
    w.fire("record_reply", "client", reply="rejected", recourse_informed=True)
    w.fire("refer_external", "handler", external_mechanism="arbitration", external_body="CIETAC")
    state = w.fire(
        "record_external_outcome",
        "manager",
        external_outcome="for_organisation",
        external_decision="AWARD-1",
        remedies=[],
    )
    assert state == "closed"


def close_quickly(w: Walk) -> None:
    to_investigating(w)
    to_communicated(w, ["apology"])
    w.fire("record_reply", "client", reply="accepted")
    w.fire("close", "handler", remedies_done=["apology"], remedy_evidence=["A"])


def test_reopen_within_the_window(china: WorkCalendar) -> None:
    w = walk(china)
    close_quickly(w)
    w.advance(days=29)
    assert w.fire("reopen", "quality_manager", reopen_reason="new facts") == "investigating"
    assert w.status("reopen_feedback") == "running"
    to_communicated(w, ["apology"])
    w.fire("record_reply", "client", reply="accepted")
    w.fire("close", "handler", remedies_done=["apology"], remedy_evidence=["A"])
    w.fire("reopen", "quality_manager", reopen_reason="more facts")
    to_communicated(w, ["apology"])
    w.fire("record_reply", "client", reply="accepted")
    w.fire("close", "handler", remedies_done=["apology"], remedy_evidence=["A"])
    assert w.why("reopen", "quality_manager", reopen_reason="again") == ["reopen_limit_reached"]


def test_reopen_outside_the_window(china: WorkCalendar) -> None:
    w = walk(china)
    close_quickly(w)
    closed_at = w.case.entered_at
    w.clock.set(closed_at + dt.timedelta(days=40))
    reasons = w.refused("reopen", "quality_manager", reopen_reason="late")
    assert reasons == {"reopen_period_expired": ("30d",)}


def test_reopen_window_is_a_limit(china: WorkCalendar) -> None:
    w = walk(china, complaint(reopen_within="15d"))
    close_quickly(w)
    w.clock.set(w.case.entered_at + dt.timedelta(days=20))
    assert w.why("reopen", "quality_manager", reopen_reason="x") == ["reopen_period_expired"]


def test_not_accepted_and_duplicates(china: WorkCalendar) -> None:
    w = walk(china)
    assert w.refused("close_not_accepted", "handler", not_accepted_reason="duplicate") == {
        "duplicate_of_missing": ("duplicate_of",),
        "explanation_missing": ("explanation",),
    }
    w.fire(
        "close_not_accepted",
        "handler",
        not_accepted_reason="duplicate",
        duplicate_of="TS-2025-000",
        explanation="already handled as TS-2025-000",
    )
    assert w.state == "closed"
    assert w.status("acknowledge") == "stopped"
    assert w.why("reopen", "handler", reopen_reason="x") == ["not_reopenable"]


def test_investigator_must_not_be_the_subject(china: WorkCalendar) -> None:
    w = walk(china)
    w.fire("acknowledge", "handler", acknowledgement_via="phone")
    w.fire("assess", "handler", severity="high", priority="p1", category="staff_conduct")
    assert w.why("start_investigation", "handler", investigator="zhao", subject_staff="zhao") == [
        "investigator_conflict"
    ]


def test_immediate_action_is_recorded(china: WorkCalendar) -> None:
    w = walk(china)
    w.fire("acknowledge", "handler", acknowledgement_via="phone")
    codes = w.why(
        "assess",
        "handler",
        severity="critical",
        priority="p1",
        category="confidentiality",
        immediate_action_needed=True,
    )
    assert codes == ["immediate_action_missing"]


def test_withdrawn(china: WorkCalendar) -> None:
    w = walk(china)
    to_investigating(w)
    assert w.fire("withdraw", "client", withdrawal_statement="settled privately") == "withdrawn"
    assert w.status("feedback") == "stopped"


def test_silent_complainant_is_closed_by_the_timer(china: WorkCalendar) -> None:
    w = walk(china)
    to_investigating(w)
    w.fire("request_info", "handler", info_question="which invoice?")
    w.clock.set(at(12, 1))
    assert "sla.breach:complainant_silence" in w.tick()
    assert w.state == "closed"
    assert w.fired()[-1] == ("close_no_response", "system")
    assert w.status("feedback") == "stopped"


def test_confidential_fields_stay_out_of_events(china: WorkCalendar) -> None:
    events: list[Event] = []
    w = walk(china)
    w.wf.on("*", events.append)
    to_investigating(w)
    text = repr([e.payload for e in events])
    assert "138 0000 0000" not in text
    p = complaint()
    assert {"complainant_contact", "complainant_name", "description"} <= p.confidential


def test_started_at_the_receipt_instant(china: WorkCalendar) -> None:
    w = walk(china)
    assert w.case.created_at == RECEIVED


def test_who_decided_the_remedy_does_not_review_it(china: WorkCalendar) -> None:
    w = walk(china)
    to_investigating(w)
    w.fire("decide_response", "manager", findings="x", upheld="upheld", remedies=["apology"])
    w.fire("communicate_decision", "handler", decision_text="sorry", communication_via="phone")
    w.fire("record_reply", "client", reply="rejected", recourse_informed=True)
    w.fire("escalate", "client")
    payload = {"reviewer": "r", "escalation_instructions": "again"}
    assert w.refused("review_escalation", "manager", **payload) == {
        "same_actor": ("decide_response",)
    }
    assert w.fire("review_escalation", "quality_manager", **payload) == "investigating"
