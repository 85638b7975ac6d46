"""The two engagement templates walked end to end: happy paths and refusal paths."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from processes_helpers import CLAUSES, SHANGHAI, Walk

from techsvc_flow import Actor, GuardFailed, PermissionDenied, TransitionNotAllowed, WorkCalendar
from techsvc_flow.processes import innovation_service, service_engagement

CLIENT = {"client_id": "C-42", "client_name": "Shenzhen Widgets Ltd."}

CONTRACT: dict[str, Any] = {
    "contract_no": "HT-2025-17",
    "contract_document": "DOC-HT-17",
    "contract_signed_on": dt.date(2025, 10, 20),
    "contract_clauses": list(CLAUSES),
    "delivery_due": dt.date(2025, 12, 31),
    "acceptance_method": "expert review",
    "contract_deliverables": ["report", "prototype"],
    "milestones": ["M1"],
}
WORK_GROUP = [{"user": "li", "duty": "lead", "qualification": "senior engineer"}]
ARCHIVE = {
    "archive_ref": "ARC-1",
    "archive_record": {
        "service_period": "2025-10-20/2025-12-10",
        "content": "patent analysis",
        "process": "DOC-PROC",
        "results": "report and prototype",
        "evaluation": "satisfied",
    },
}
ACCEPTANCE = {
    "accepted_by": "Ms Zhou (client CTO)",
    "acceptance_method_used": "expert review",
    "acceptance_record": "DOC-ACC",
}


# --- 1. service engagement (six stages) -------------------------------------------------------


def engagement(china: WorkCalendar, **limits: str | int) -> Walk:
    data = {**CLIENT, "channel": "web", "service_field": "ip_service"}
    return Walk(service_engagement(**limits), china, data=data, case_id="ENG-1")


def to_contracting(w: Walk) -> None:
    assert w.fire("respond", "reception", response_channel="phone") == "needs_matching"
    w.fire("record_materials", "client", materials=["DOC-A"], authenticity_prompted=True)
    w.fire("review_materials", "consultant", review_result="complete")
    assert w.fire("begin_assessment", "consultant") == "feasibility_assessment"
    w.fire(
        "accept",
        "consultant",
        feasibility="feasible",
        informed_via="email",
        offered_scope="patent landscape",
        service_time_limit="60 days",
        rights_obligations="DOC-RO",
    )
    assert w.fire("start_plan", "project_manager") == "plan_drafting"
    w.fire("submit_plan", "project_manager", plan_version=1, plan_document="DOC-PLAN-1")
    assert w.state == "plan_confirmation"
    w.fire("confirm_plan", "client", confirmed_plan_version=1, plan_confirmation="DOC-CONF-1")
    assert w.state == "contracting"


def to_implementing(w: Walk) -> None:
    to_contracting(w)
    assert w.fire("sign_contract", "manager", **CONTRACT) == "implementing"
    w.fire("form_work_group", "project_manager", work_group=WORK_GROUP)


def to_after_sales(w: Walk) -> None:
    to_implementing(w)
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D-M1")
    w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    assert w.fire("accept_delivery", "client", **ACCEPTANCE) == "after_sales"


def test_engagement_happy_path(china: WorkCalendar) -> None:
    w = engagement(china)
    to_implementing(w)
    w.fire("record_research", "consultant", research_methods=["interview"], research_summary="R")
    w.fire("report_progress", "project_manager", progress_summary="half done", percent_complete=50)
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D-M1")
    assert w.fire("deliver", "project_manager", deliverables=["report", "prototype"]) == "delivered"
    assert w.fire("accept_delivery", "client", **ACCEPTANCE) == "after_sales"
    state = w.fire(
        "record_return_visit",
        "quality_manager",
        visit_outcome="reached",
        survey_outcome="satisfied",
    )
    assert state == "return_visited"
    assert w.fire("archive", "quality_manager", **ARCHIVE) == "archived"
    assert all(s.status in ("idle", "stopped") for s in w.wf.deadlines(w.id))
    assert w.wf.verify_history(w.id)


def test_engagement_response_sla(china: WorkCalendar) -> None:
    w = engagement(china)
    # 1 working day from Tue 09-30 17:00: the holiday runs to 10-08, so 10-09 24:00
    assert w.due("response") == dt.datetime(2025, 10, 10, 0, 0, tzinfo=SHANGHAI)
    w2 = engagement(china, response="4h")
    assert w2.due("response") == dt.datetime(2025, 9, 30, 21, 0, tzinfo=SHANGHAI)


def test_missing_contract_clauses_are_named(china: WorkCalendar) -> None:
    w = engagement(china)
    to_contracting(w)
    partial = [c for c in CLAUSES if c not in ("fees", "confidentiality")]
    reasons = w.wf.why_not(
        w.id, "sign_contract", actor="manager", payload={**CONTRACT, "contract_clauses": partial}
    )
    assert [(r.code, r.details) for r in reasons if r.kind == "guard"] == [
        ("missing_contract_clause", ("fees", "confidentiality"))
    ]
    reasons = w.wf.why_not(
        w.id,
        "sign_contract",
        actor=None,  # no actor: the role reason is listed too
        payload={**CONTRACT, "contract_clauses": [], "delivery_due": None},
    )
    codes = [r.code for r in reasons]
    assert codes == ["role_required", "missing_contract_clause", "delivery_due_missing"]
    assert len(reasons[1].details) == 10


def test_sign_contract_wrong_role(china: WorkCalendar) -> None:
    w = engagement(china)
    to_contracting(w)
    with pytest.raises(PermissionDenied):
        w.fire("sign_contract", "client", **CONTRACT)


def test_plan_needs_written_confirmation_before_the_contract(china: WorkCalendar) -> None:
    w = engagement(china)
    w.fire("respond", "reception", response_channel="phone")
    w.fire("record_materials", "client", materials=["DOC-A"], authenticity_prompted=True)
    w.fire("review_materials", "consultant", review_result="complete")
    w.fire("begin_assessment", "consultant")
    w.fire(
        "accept",
        "consultant",
        feasibility="feasible",
        informed_via="email",
        offered_scope="s",
        service_time_limit="t",
        rights_obligations="r",
    )
    w.fire("start_plan", "project_manager")
    assert w.refused("submit_plan", "project_manager", plan_version=1) == {
        "plan_not_in_writing": ("plan_document",)
    }
    w.fire("submit_plan", "project_manager", plan_version=1, plan_document="P1")
    with pytest.raises(TransitionNotAllowed):  # no contract, no implementation, unconfirmed
        w.fire("sign_contract", "manager", **CONTRACT)
    assert w.refused("confirm_plan", "client", confirmed_plan_version=1) == {
        "confirmation_not_in_writing": ("plan_confirmation",)
    }
    assert w.why("confirm_plan", "client", confirmed_plan_version=2, plan_confirmation="C") == [
        "plan_version_mismatch"
    ]
    w.fire("request_plan_revision", "client", revision_comments="more detail")
    assert w.why("submit_plan", "project_manager", plan_version=1, plan_document="P1b") == [
        "plan_version_not_increasing"
    ]
    w.fire("submit_plan", "project_manager", plan_version=2, plan_document="P2")
    w.fire("confirm_plan", "client", confirmed_plan_version=2, plan_confirmation="C2")
    assert w.state == "contracting"


def test_adjusted_plan_needs_a_new_confirmation(china: WorkCalendar) -> None:
    w = engagement(china)
    to_implementing(w)
    assert w.refused("propose_adjustment", "project_manager", adjustment_basis="policy_change") == {
        "no_adjustment_options": ("no adjustment options for the client to choose from",)
    }
    w.fire(
        "propose_adjustment",
        "project_manager",
        adjustment_basis="policy_change",
        adjustment_options=[{"option_id": "A"}, {"option_id": "B"}],
    )
    assert w.state == "adjustment_pending"
    assert w.why("choose_adjustment", "client", chosen_option="C", plan_version=2) == [
        "plan_not_in_writing",
        "unknown_option",
    ]
    w.fire("choose_adjustment", "client", chosen_option="B", plan_version=2, plan_document="P2")
    assert w.state == "implementing"
    # the adjusted plan (version 2) is not confirmed yet: no milestone, no delivery
    assert w.refused(
        "submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D"
    ) == {"plan_not_confirmed": ("plan version 2 is not confirmed by the client (confirmed: 1)",)}
    assert w.why("deliver", "project_manager", deliverables=["report", "prototype"]) == [
        "plan_not_confirmed"
    ]
    assert w.why("confirm_plan", "client", confirmed_plan_version=1, plan_confirmation="C") == [
        "plan_version_mismatch"
    ]
    w.fire("confirm_plan", "client", confirmed_plan_version=2, plan_confirmation="DOC-CONF-2")
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D")
    assert w.fire("deliver", "project_manager", deliverables=["report", "prototype"]) == "delivered"


def test_keeping_the_plan_needs_no_new_confirmation(china: WorkCalendar) -> None:
    w = engagement(china)
    to_implementing(w)
    w.fire(
        "propose_adjustment",
        "consultant",
        adjustment_basis="data_analysis",
        adjustment_options=[{"option_id": "A"}],
    )
    assert w.fire("keep_current_plan", "client") == "implementing"
    assert w.fire("deliver", "project_manager", deliverables=["report", "prototype"]) == "delivered"


def test_delivery_against_the_contract(china: WorkCalendar) -> None:
    w = engagement(china)
    to_contracting(w)
    w.fire("sign_contract", "manager", **CONTRACT)
    assert w.why("deliver", "project_manager", deliverables=["report"]) == [
        "work_group_not_formed",
        "contract_deliverables_missing",
    ]
    w.fire("form_work_group", "project_manager", work_group=WORK_GROUP)
    assert w.refused("deliver", "project_manager", deliverables=["report"]) == {
        "contract_deliverables_missing": ("prototype",)
    }
    assert w.why(
        "submit_milestone", "project_manager", milestone_id="M9", milestone_deliverable="D"
    ) == ["unknown_milestone"]


def test_work_group_must_be_qualified(china: WorkCalendar) -> None:
    w = engagement(china)
    to_contracting(w)
    w.fire("sign_contract", "manager", **CONTRACT)
    assert w.refused("form_work_group", "project_manager", work_group=[{"user": "x"}]) == {
        "work_group_unqualified": (
            "work_group[0].duty missing",
            "work_group[0].qualification missing",
        )
    }


def test_acceptance_records_who_and_how(china: WorkCalendar) -> None:
    w = engagement(china)
    to_implementing(w)
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D")
    w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    assert w.refused("accept_delivery", "client") == {
        "acceptance_not_recorded": ("accepted_by", "acceptance_method_used", "acceptance_record")
    }
    assert w.why(
        "accept_delivery", "client", **{**ACCEPTANCE, "acceptance_method_used": "glance"}
    ) == ["acceptance_method_mismatch"]
    evidence = {"evidence_document": "DOC-ACC-1", "evidence_channel": "email"}
    assert w.fire("accept_delivery", "reception", **ACCEPTANCE, **evidence) == "after_sales"
    assert w.case.data["accepted_by"] == "Ms Zhou (client CTO)"


def test_rework_loop_is_bounded(china: WorkCalendar) -> None:
    w = engagement(china)
    to_implementing(w)
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D")
    deliverables = ["report", "prototype"]
    w.fire("deliver", "project_manager", deliverables=deliverables)
    for n in range(3):
        assert w.fire("raise_objection", "client", objections=[{"item_id": f"o{n}"}]) == "rework"
        assert w.status("rework") == "running"
        w.fire(
            "redeliver", "project_manager", deliverables=deliverables, objection_responses=["ok"]
        )
        assert w.state == "delivered"
    reasons = w.refused("raise_objection", "client", objections=[{"item_id": "o4"}])
    assert reasons == {"rework_limit_reached": ("raise_objection",)}
    assert w.fire("escalate_dispute", "client", dispute_summary="still wrong") == "disputed"
    assert (
        w.fire("grant_extra_rework", "manager", extra_rework_justification="goodwill") == "rework"
    )
    w.fire("redeliver", "project_manager", deliverables=deliverables, objection_responses=["ok"])
    w.fire("escalate_dispute", "client", dispute_summary="still wrong")
    assert w.refused(
        "settle_dispute", "manager", settlement="S", settlement_outcome="accepted_as_is"
    ) == {"client_consent_missing": ("client_consent",)}
    w.fire(
        "settle_dispute",
        "manager",
        settlement="S",
        settlement_outcome="accepted_with_fee_reduction",
        client_consent="C",
    )
    assert w.state == "after_sales"
    assert w.case.counts["raise_objection"] == 3  # recorded


def test_rework_bound_is_a_limit(china: WorkCalendar) -> None:
    w = engagement(china, max_rework_rounds=1)
    to_implementing(w)
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D")
    w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    w.fire("raise_objection", "client", objections=[{"item_id": "o"}])
    w.fire(
        "redeliver",
        "project_manager",
        deliverables=["report", "prototype"],
        objection_responses=["r"],
    )
    assert w.why("raise_objection", "client", objections=[{"item_id": "o2"}]) == [
        "rework_limit_reached"
    ]


def test_return_visit_window(china: WorkCalendar) -> None:
    w = engagement(china)
    to_after_sales(w)
    w.advance(days=40)
    assert w.refused(
        "record_return_visit",
        "quality_manager",
        visit_outcome="reached",
        survey_outcome="satisfied",
    ) == {"return_visit_window_expired": ("1mo",)}
    assert "sla.breach:return_visit" in w.tick()
    assert w.state == "return_visited"
    assert w.fired()[-1] == ("return_visit_missed", "system")
    assert w.refused(
        "archive", "quality_manager", archive_ref="A", archive_record={"content": "c"}
    ) == {"archive_record_incomplete": ("service_period", "process", "results", "evaluation")}
    assert w.fire("archive", "quality_manager", **ARCHIVE) == "archived"


def test_return_visit_window_is_a_limit(china: WorkCalendar) -> None:
    w = engagement(china, return_visit="5wd")
    to_after_sales(w)
    start = w.case.entered_at
    assert w.due("return_visit") == china.deadline(start, "5wd").due
    w.advance(days=20)
    assert w.why(
        "record_return_visit", "reception", visit_outcome="reached", survey_outcome="satisfied"
    ) == ["return_visit_window_expired"]


def test_decline_with_a_reason(china: WorkCalendar) -> None:
    w = engagement(china)
    w.fire("respond", "reception", response_channel="phone")
    assert w.refused("decline", "consultant", informed_via="email") == {
        "decline_reason_missing": ("decline_reason", "decline_reason_text")
    }
    state = w.fire(
        "decline",
        "consultant",
        informed_via="email",
        decline_reason="out_of_scope",
        decline_reason_text="we do not do clinical trials",
    )
    assert state == "declined"
    assert w.status("feasibility") == "stopped"


def test_accept_tells_the_client(china: WorkCalendar) -> None:
    w = engagement(china)
    w.fire("respond", "reception", response_channel="phone")
    w.fire("record_materials", "client", materials=["DOC-A"], authenticity_prompted=True)
    w.fire("review_materials", "consultant", review_result="complete")
    w.fire("begin_assessment", "consultant")
    assert w.refused(
        "accept", "consultant", feasibility="feasible", informed_via="email", offered_scope="s"
    ) == {"client_not_informed": ("service_time_limit", "rights_obligations")}


def test_materials_review_and_site_visit(china: WorkCalendar) -> None:
    w = engagement(china)
    w.fire("respond", "reception", response_channel="phone")
    assert w.why("review_materials", "consultant", review_result="complete") == ["no_materials"]
    assert w.why("record_materials", "client", materials=["D"]) == ["authenticity_not_prompted"]
    w.fire("record_materials", "client", materials=["D"], authenticity_prompted=True)
    w.fire("review_materials", "consultant", review_result="incomplete")
    assert w.why("begin_assessment", "consultant") == ["materials_not_reviewed"]
    w.fire("review_materials", "consultant", review_result="complete", site_visit_required=True)
    assert w.refused("begin_assessment", "consultant") == {
        "site_visit_missing": ("site_visit_required but no site visit recorded",)
    }
    w.fire(
        "record_site_visit",
        "consultant",
        site_visit_date=dt.date(2025, 10, 10),
        site_visit_findings="lab ok",
    )
    assert w.fire("begin_assessment", "consultant") == "feasibility_assessment"


def test_withdraw_before_the_contract_terminate_after(china: WorkCalendar) -> None:
    w = engagement(china)
    to_contracting(w)
    assert w.fire("withdraw", "client", withdraw_reason="budget cut") == "withdrawn"
    w2 = engagement(china)
    to_implementing(w2)
    with pytest.raises(TransitionNotAllowed):
        w2.fire("withdraw", "client", withdraw_reason="budget cut")
    base = {
        "termination_kind": "rescission_by_agreement",
        "initiated_by": "client",
        "fault": "none",
        "termination_effective_on": dt.date(2025, 11, 1),
    }
    assert w2.refused("terminate", "manager", **base) == {
        "termination_basis_missing": ("termination_basis",),
        "bilateral_consent_missing": ("client_consent",),
    }
    state = w2.fire(
        "terminate", "manager", **base, termination_basis="clause i) 2", client_consent="C"
    )
    assert state == "terminated"
    assert w2.fire("archive", "project_manager", **ARCHIVE) == "archived"


def test_contract_change(china: WorkCalendar) -> None:
    w = engagement(china)
    to_implementing(w)
    w.fire(
        "request_change", "client", change_request={"delivery_due": "2026-01-31"}, change_reason="x"
    )
    assert w.why("agree_change", "manager", change_effective_on=dt.date(2025, 11, 1)) == [
        "bilateral_consent_missing"
    ]
    w.fire(
        "agree_change",
        "manager",
        change_effective_on=dt.date(2025, 11, 1),
        client_consent="DOC-C",
        delivery_due=dt.date(2026, 1, 31),
    )
    assert w.state == "implementing"
    assert w.case.data["delivery_due"] == dt.date(2026, 1, 31)


# --- 2. innovation-enterprise service (《科技创新企业服务规范》 §6) ---------------------


def innovation(china: WorkCalendar, **limits: str | int) -> Walk:
    data = {**CLIENT, "service_kind": "ip", "matters": "patent search", "service_items": ["ip.b"]}
    return Walk(innovation_service(**limits), china, data=data, case_id="INN-1")


def to_plan(w: Walk) -> None:
    assert w.fire("respond", "reception", response_channel="phone") == "communicating"
    w.fire("record_materials", "client", materials=["DOC-A"], authenticity_prompted=True)
    assert w.why("begin_review", "consultant") == ["requirements_not_communicated"]
    w.fire("begin_review", "consultant", requirements="search CN and US")
    assert w.refused("complete_review", "consultant", review_result="incomplete") == {
        "materials_incomplete": ("review_result",)
    }
    assert (
        w.fire("complete_review", "consultant", review_result="complete")
        == "feasibility_assessment"
    )
    w.fire(
        "accept",
        "manager",
        feasibility="feasible",
        informed_via="email",
        offered_scope="patent search",
        service_time_limit="30 days",
        rights_obligations="DOC-RO",
    )
    assert w.fire("sign_contract", "manager", **CONTRACT) == "work_group_forming"
    assert w.fire("form_work_group", "project_manager", work_group=WORK_GROUP) == "researching"
    assert w.refused(
        "complete_research", "consultant", research_methods=["interview"], research_summary="R"
    ) == {"research_incomplete": ("material_analysis",)}
    w.fire(
        "complete_research",
        "consultant",
        research_methods=["material_analysis", "questionnaire"],
        research_summary="R",
    )
    assert w.state == "plan_drafting"


def test_innovation_happy_path(china: WorkCalendar) -> None:
    w = innovation(china)
    to_plan(w)
    w.fire("submit_plan", "project_manager", plan_version=1, plan_document="P1")
    assert w.fire("confirm_plan", "client", confirmed_plan_version=1, plan_confirmation="C1") == (
        "implementing"
    )
    w.fire("provide_guidance", "consultant", guidance_topic="claims drafting")
    w.fire("record_data", "consultant", dataset="DS-1")
    w.fire("report_progress", "consultant", progress_summary="search done")
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D1")
    w.fire(
        "coordinate_third_party",
        "project_manager",
        third_party="IP firm",
        third_party_scope="filing",
    )
    w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    assert w.fire("accept_delivery", "client", **ACCEPTANCE) == "satisfaction_survey"
    w.fire(
        "record_feedback", "reception", feedback_kind="suggestion", feedback_text="faster please"
    )
    state = w.fire(
        "record_survey", "quality_manager", survey_outcome="satisfied", survey_case="SV-1"
    )
    assert state == "evaluated"
    assert w.fire("archive", "quality_manager", **ARCHIVE) == "archived"


def test_innovation_service_kind_is_required_and_from_the_list(china: WorkCalendar) -> None:
    p = innovation_service()
    with pytest.raises(GuardFailed) as info:
        Walk(p, china, data={**CLIENT, "matters": "m"})
    assert [r.code for r in info.value.reasons] == ["missing_field"]
    with pytest.raises(GuardFailed) as info:
        Walk(p, china, data={**CLIENT, "matters": "m", "service_kind": "catering"})
    assert [r.code for r in info.value.reasons] == ["invalid_field"]


def test_innovation_implementation_waits_for_the_confirmed_plan(china: WorkCalendar) -> None:
    w = innovation(china)
    to_plan(w)
    with pytest.raises(TransitionNotAllowed):
        w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    w.fire("submit_plan", "project_manager", plan_version=1, plan_document="P1")
    w.fire("confirm_plan", "client", confirmed_plan_version=1, plan_confirmation="C1")
    w.fire(
        "propose_adjustment",
        "project_manager",
        adjustment_basis="client_request",
        adjustment_options=[{"option_id": "A"}],
    )
    w.fire("choose_adjustment", "client", chosen_option="A", plan_version=2, plan_document="P2")
    assert w.why("deliver", "project_manager", deliverables=["report", "prototype"]) == [
        "plan_not_confirmed"
    ]
    w.fire("confirm_plan", "client", confirmed_plan_version=2, plan_confirmation="C2")
    assert w.why("deliver", "project_manager", deliverables=["report", "prototype"]) == []


def test_innovation_site_visit_and_decline(china: WorkCalendar) -> None:
    w = innovation(china)
    w.fire("respond", "reception", response_channel="phone", requirements="r")
    w.fire("record_materials", "client", materials=["DOC-A"], authenticity_prompted=True)
    w.fire("begin_review", "consultant")
    assert w.fire("require_site_visit", "consultant", site_visit_reason="check lab") == "site_visit"
    w.fire(
        "record_site_visit",
        "consultant",
        site_visit_date=dt.date(2025, 10, 9),
        site_visit_findings="no lab",
    )
    state = w.fire(
        "decline",
        "manager",
        informed_via="letter",
        decline_reason="lacks_conditions",
        decline_reason_text="no lab",
    )
    assert state == "declined"


def test_innovation_objections_are_bounded(china: WorkCalendar) -> None:
    w = innovation(china, max_rework_rounds=2)
    to_plan(w)
    w.fire("submit_plan", "project_manager", plan_version=1, plan_document="P1")
    w.fire("confirm_plan", "client", confirmed_plan_version=1, plan_confirmation="C1")
    for _ in range(2):
        w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
        assert w.fire("raise_objection", "client", objections=[{"item_id": "x"}]) == "implementing"
    w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    assert w.why("raise_objection", "client", objections=[{"item_id": "y"}]) == [
        "rework_limit_reached"
    ]


def test_innovation_survey_window_and_feedback(china: WorkCalendar) -> None:
    w = innovation(china, survey="5wd")
    to_plan(w)
    w.fire("submit_plan", "project_manager", plan_version=1, plan_document="P1")
    w.fire("confirm_plan", "client", confirmed_plan_version=1, plan_confirmation="C1")
    w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    w.fire("accept_delivery", "client", **ACCEPTANCE)
    assert w.refused(
        "record_feedback", "handler", feedback_kind="complaint", feedback_text="late"
    ) == {"complaint_case_missing": ("complaint_case",)}
    w.fire(
        "record_feedback",
        "handler",
        feedback_kind="complaint",
        feedback_text="late",
        complaint_case="TS-1",
    )
    w.advance(days=20)  # 5 working days from Tue 09-30 end on 10-14 (National Day)
    assert w.why("record_survey", "quality_manager", survey_outcome="satisfied") == [
        "survey_window_expired"
    ]
    assert "sla.breach:survey" in w.tick()
    assert w.state == "evaluated"
    assert w.fired()[-1] == ("survey_missed", "system")


# --- the client's own acts (6.3.3, 6.3.4 f, 6.4.1) ------------------------------------------

EVIDENCE = {"evidence_document": "LETTER-7", "evidence_channel": "post"}


def test_one_actor_cannot_stand_in_for_the_client(china: WorkCalendar) -> None:
    make: Any = Actor
    pm: Actor = make("wang", {"project_manager"})  # holds only project_manager
    w = engagement(china)
    to_contracting(w)
    w.wf.fire(w.id, "sign_contract", actor=pm, payload=dict(CONTRACT))
    w.fire("form_work_group", "project_manager", work_group=WORK_GROUP)

    def refused(trigger: str, **payload: Any) -> dict[str, tuple[str, ...]]:
        with pytest.raises(GuardFailed) as info:
            w.wf.fire(w.id, trigger, actor=pm, payload=payload)
        return {r.code: r.details for r in info.value.reasons}

    options = [{"option_id": "A"}, {"option_id": "B"}]
    w.wf.fire(
        w.id,
        "propose_adjustment",
        actor=pm,
        payload={"adjustment_basis": "policy_change", "adjustment_options": options},
    )
    choice = {"chosen_option": "A", "plan_version": 2, "plan_document": "DOC-PLAN-2"}
    assert refused("choose_adjustment", **choice) == {
        "same_actor": ("propose_adjustment",),
        "evidence_missing": ("evidence_document", "evidence_channel"),
    }
    assert refused("keep_current_plan") == {
        "same_actor": ("propose_adjustment",),
        "evidence_missing": ("evidence_document", "evidence_channel"),
    }
    w.fire("choose_adjustment", "client", **choice)
    w.fire("confirm_plan", "client", confirmed_plan_version=2, plan_confirmation="DOC-CONF-2")
    w.wf.fire(
        w.id,
        "submit_milestone",
        actor=pm,
        payload={"milestone_id": "M1", "milestone_deliverable": "D-M1"},
    )
    w.wf.fire(w.id, "deliver", actor=pm, payload={"deliverables": ["report", "prototype"]})
    for trigger, payload in (
        ("accept_delivery", ACCEPTANCE),
        ("raise_objection", {"objections": [{"item_id": "report", "description": "x"}]}),
    ):
        # even with evidence, who delivered does not accept or object for the client
        assert refused(trigger, **payload) == {
            "same_actor": ("deliver",),
            "evidence_missing": ("evidence_document", "evidence_channel"),
        }
        assert refused(trigger, **payload, **EVIDENCE) == {"same_actor": ("deliver",)}
    assert w.why("accept_delivery", "reception", **ACCEPTANCE) == ["evidence_missing"]
    assert w.fire("accept_delivery", "reception", **ACCEPTANCE, **EVIDENCE) == "after_sales"
    entry = [e for e in w.wf.history(w.id) if e.kind == "fire"][-1]
    assert (entry.trigger, entry.actor) == ("accept_delivery", "reception")
    assert {k: entry.payload[k] for k in EVIDENCE} == EVIDENCE


def test_the_plan_is_confirmed_by_the_client_or_with_its_written_confirmation(
    china: WorkCalendar,
) -> None:
    make: Any = Actor
    pm: Actor = make("wang", {"project_manager"})
    w = engagement(china)
    w.fire("respond", "reception", response_channel="phone")
    w.fire("record_materials", "client", materials=["DOC-A"], authenticity_prompted=True)
    w.fire("review_materials", "consultant", review_result="complete")
    w.fire("begin_assessment", "consultant")
    w.fire(
        "accept",
        "consultant",
        feasibility="feasible",
        informed_via="email",
        offered_scope="s",
        service_time_limit="60 days",
        rights_obligations="DOC-RO",
    )
    w.wf.fire(w.id, "start_plan", actor=pm)
    w.wf.fire(
        w.id, "submit_plan", actor=pm, payload={"plan_version": 1, "plan_document": "DOC-PLAN-1"}
    )
    confirm = {"confirmed_plan_version": 1, "plan_confirmation": "DOC-CONF-1"}
    assert [r.code for r in w.wf.why_not(w.id, "confirm_plan", actor=pm, payload=confirm)] == [
        "same_actor",
        "evidence_missing",
    ]
    assert w.why("confirm_plan", "reception", **confirm) == ["evidence_missing"]
    assert w.fire("confirm_plan", "client", **confirm) == "contracting"


def test_research_before_the_plan_and_support_during_implementation(
    china: WorkCalendar,
) -> None:
    w = engagement(china)
    w.fire("respond", "reception", response_channel="phone")
    w.fire("record_materials", "client", materials=["DOC-A"], authenticity_prompted=True)
    w.fire("review_materials", "consultant", review_result="complete")
    w.fire("begin_assessment", "consultant")
    w.fire(
        "accept",
        "consultant",
        feasibility="feasible",
        informed_via="email",
        offered_scope="s",
        service_time_limit="60 days",
        rights_obligations="DOC-RO",
    )
    research = {"research_methods": ["interview"], "research_summary": "needs"}
    assert w.fire("record_research", "consultant", **research) == "accepted"  # 6.3.3
    w.fire("start_plan", "project_manager")
    assert w.fire("record_research", "consultant", **research) == "plan_drafting"
    w2 = engagement(china)
    to_implementing(w2)
    assert w2.fire("provide_guidance", "consultant", guidance_topic="claims") == "implementing"
    assert w2.fire("record_data", "consultant", dataset="DOC-DATA") == "implementing"
    w2.fire("coordinate_third_party", "project_manager", third_party="lab", third_party_scope="t")
    assert w2.case.data["third_party"] == "lab"


def test_complaints_and_suggestions_after_delivery(china: WorkCalendar) -> None:
    w = engagement(china)
    to_implementing(w)
    with pytest.raises(TransitionNotAllowed):
        w.fire("record_feedback", "reception", feedback_kind="suggestion", feedback_text="x")
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D")
    w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    assert w.fire(
        "record_feedback", "reception", feedback_kind="suggestion", feedback_text="x"
    ) == ("delivered")
    w.fire("accept_delivery", "client", **ACCEPTANCE)
    assert w.why("record_feedback", "handler", feedback_kind="complaint", feedback_text="late") == [
        "complaint_case_missing"
    ]
    assert (
        w.fire(
            "record_feedback",
            "handler",
            feedback_kind="complaint",
            feedback_text="late",
            complaint_case="TS-1",
        )
        == "after_sales"
    )


# --- custody of the client's materials and samples (clause e), confidentiality (clause j) ---

SAMPLE = {
    "item_id": "S1",
    "description": "alloy sample",
    "received_on": "2025-10-09",
    "kept_at": "lab cabinet 3",
    "confidential": True,
}


def test_custody_log_and_no_archive_until_every_item_is_accounted_for(
    china: WorkCalendar,
) -> None:
    w = engagement(china)
    w.fire("respond", "reception", response_channel="phone")
    assert w.refused("record_custody", "reception", custody_log=[{"item_id": "S1"}]) == {
        "custody_log_invalid": (
            "custody_log[0].description missing",
            "custody_log[0].received_on missing",
            "custody_log[0].kept_at missing",
        )
    }
    w.fire("record_custody", "reception", custody_log=[SAMPLE])
    other = {**SAMPLE, "item_id": "D2", "confidential": False}
    assert w.refused("record_custody", "reception", custody_log=[other]) == {
        "custody_log_invalid": ("item S1 dropped from the log",)
    }
    # clause j): confidential material received, so the contract needs a confidentiality term
    w.fire("record_materials", "client", materials=["DOC-A"], authenticity_prompted=True)
    w.fire("review_materials", "consultant", review_result="complete")
    w.fire("begin_assessment", "consultant")
    w.fire(
        "accept",
        "consultant",
        feasibility="feasible",
        informed_via="email",
        offered_scope="s",
        service_time_limit="60 days",
        rights_obligations="DOC-RO",
    )
    w.fire("start_plan", "project_manager")
    w.fire("submit_plan", "project_manager", plan_version=1, plan_document="DOC-PLAN-1")
    w.fire("confirm_plan", "client", confirmed_plan_version=1, plan_confirmation="DOC-CONF-1")
    assert w.refused("sign_contract", "manager", **CONTRACT) == {
        "confidentiality_term_missing": ("confidentiality_until",)
    }
    w.fire("sign_contract", "manager", **CONTRACT, confidentiality_until=dt.date(2030, 12, 31))
    w.fire("form_work_group", "project_manager", work_group=WORK_GROUP)
    w.fire("submit_milestone", "project_manager", milestone_id="M1", milestone_deliverable="D")
    w.fire("deliver", "project_manager", deliverables=["report", "prototype"])
    w.fire("accept_delivery", "client", **ACCEPTANCE)
    w.fire(
        "record_return_visit",
        "quality_manager",
        visit_outcome="reached",
        survey_outcome="satisfied",
    )
    assert w.refused("archive", "quality_manager", **ARCHIVE) == {
        "custody_not_settled": ("item S1 not returned or disposed of",)
    }
    returned = {**SAMPLE, "outcome": "returned"}
    assert w.refused("record_custody", "reception", custody_log=[returned]) == {
        "custody_log_invalid": ("custody_log[0].acknowledged_by missing",)
    }
    w.fire("record_custody", "reception", custody_log=[{**returned, "acknowledged_by": "Zhou"}])
    assert w.fire("archive", "quality_manager", **ARCHIVE) == "archived"


# --- service fields: the ten of the standards system, 002's eight as aliases (item 11) ------


def test_service_field_is_one_of_the_ten_or_an_alias(china: WorkCalendar) -> None:
    from techsvc_flow import FlowError
    from techsvc_flow.errors import InvalidValue
    from techsvc_flow.processes import standards
    from techsvc_flow.quality.archive import archive

    assert len(standards.SERVICE_FIELDS) == 10
    assert [t.zh for t in standards.SERVICE_FIELDS][::9] == [
        "研究开发服务",
        "科技咨询及其他科技服务",
    ]
    for new in standards.SERVICE_FIELD_CODES:
        Walk(service_engagement(), china, data={**CLIENT, "channel": "web", "service_field": new})
    # every one of 002's nine codes still starts a case and resolves to one of the ten
    for old in standards.TSO_SERVICE_FIELDS:
        assert standards.service_field(old.code).code in standards.SERVICE_FIELD_CODES
    assert standards.service_field("digital_transformation").code == "information_technology"
    assert standards.service_field("incubation").zh == "企业孵化服务"
    with pytest.raises(InvalidValue, match="'space' is not a service field"):
        standards.service_field("space")
    with pytest.raises(FlowError, match="service_field"):
        Walk(service_engagement(), china, data={**CLIENT, "channel": "web", "service_field": "x"})
    # the archive classifies the case by the ten, keeping what was recorded
    w = engagement(china)
    record = archive(w.wf, w.id)["case"]["service_field"]
    assert record == {
        "code": "intellectual_property",
        "zh": "知识产权服务",
        "en": "Intellectual property",
        "recorded": "ip_service",
    }


# --- after-sales: a guarantee period, support requests under their own SLA (item 9) ---------


def test_support_requests_within_the_guarantee(china: WorkCalendar) -> None:
    w = engagement(china)
    to_after_sales(w)
    # no guarantee agreed: no support request
    assert w.why("request_support", "client", support_request="DOC-S1") == ["guarantee_expired"]
    today = w.clock.now().astimezone(SHANGHAI).date()
    w.fire("agree_guarantee", "project_manager", guarantee_until=today + dt.timedelta(days=60))
    assert w.status("support") == "idle"
    assert w.fire("request_support", "client", support_request="DOC-S1") == "after_sales"
    assert w.status("support") == "running"
    assert w.due("support") is not None
    # one open request at a time, and the return visit goes on meanwhile
    assert w.why("request_support", "reception", support_request="S2") == ["support_request_open"]
    w.fire(
        "record_return_visit",
        "quality_manager",
        visit_outcome="reached",
        survey_outcome="satisfied",
    )
    assert w.state == "return_visited"
    assert "support_request_open" in w.refused("archive", "quality_manager", **ARCHIVE)
    assert w.fire("resolve_support", "consultant", support_resolution="patched") == "return_visited"
    assert w.status("support") == "stopped"
    assert w.why("resolve_support", "consultant", support_resolution="x") == ["no_support_request"]
    # a second request restarts the clock; past the guarantee, none is accepted
    w.fire("request_support", "client", support_request="DOC-S2")
    assert w.status("support") == "running"
    w.fire("resolve_support", "project_manager", support_resolution="explained")
    w.advance(days=61)
    assert w.refused("request_support", "client", support_request="DOC-S3") == {
        "guarantee_expired": (f"guarantee period ended on {today + dt.timedelta(days=60)}",)
    }
    assert w.fire("archive", "quality_manager", **ARCHIVE) == "archived"


def test_support_sla_is_a_limit(china: WorkCalendar) -> None:
    w = engagement(china, support="2wd")
    to_after_sales(w)
    today = w.clock.now().astimezone(SHANGHAI).date()
    w.fire("agree_guarantee", "manager", guarantee_until=today)
    w.fire("request_support", "reception", support_request="DOC-S1")
    assert next(s for s in w.wf.deadlines(w.id) if s.name == "support").duration == "2wd"
    # from Tue 09-30 17:00, the National Day holiday runs to 10-08: due 10-11 00:00
    assert w.due("support") == dt.datetime(2025, 10, 11, 0, 0, tzinfo=SHANGHAI)
    w.advance(days=20)
    assert "sla.breach:support" in w.tick()
