"""Survey, technology-transfer and incubation templates walked end to end."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from processes_helpers import CLAUSES, SHANGHAI, Walk

from techsvc_flow import PermissionDenied, WorkCalendar
from techsvc_flow.processes import (
    complaint,
    incubation,
    satisfaction_survey,
    technology_transfer,
)
from techsvc_flow.processes.standards import SURVEY_ITEMS

# --- 4. satisfaction survey and return visit --------------------------------------------------

SUBJECT = {
    "subject_case": "ENG-1",
    "subject_process": "service_engagement",
    "survey_kind": "both",
    "method": "phone",
}
GOOD = {item.code: 4 for item in SURVEY_ITEMS}
POOR = {**GOOD, "result_quality": 2, "timeliness": 2}


def survey(china: WorkCalendar, **limits: str | int) -> Walk:
    return Walk(satisfaction_survey(**limits), china, data=dict(SUBJECT), case_id="SV-1")


def test_survey_satisfied(china: WorkCalendar) -> None:
    w = survey(china)
    w.fire("attempt_contact", "reception", contact_result="no_answer")
    w.fire("attempt_contact", "reception", contact_result="reached")
    assert w.fire("record_responses", "reception", scores=GOOD, respondent="Ms Zhou") == "satisfied"
    assert w.status("return_visit") == "stopped"


def test_survey_not_satisfied(china: WorkCalendar) -> None:
    w = survey(china)
    state = w.fire("record_responses", "client", scores=POOR, respondent="Ms Zhou")
    assert state == "not_satisfied"


def test_survey_scores_are_checked(china: WorkCalendar) -> None:
    w = survey(china)
    reasons = w.refused("record_responses", "reception", scores={"speed": 9}, respondent="x")
    assert reasons["scores_invalid"] == ("unknown item 'speed'",)
    assert w.why("record_responses", "reception", scores={"competence": 5}, respondent="x")[0] == (
        "scores_invalid"
    )


def test_return_visit_outcome_without_a_questionnaire(china: WorkCalendar) -> None:
    w = survey(china)
    assert w.fire("record_visit", "reception", visit_outcome="not_satisfied", respondent="x") == (
        "not_satisfied"
    )


def test_survey_window_expiry_ends_not_reached(china: WorkCalendar) -> None:
    w = survey(china, return_visit="3wd")
    # 3 working days from Tue 09-30: 10-09, 10-10, Sat 10-11 (make-up)
    assert w.due("return_visit") == dt.datetime(2025, 10, 12, 0, 0, tzinfo=SHANGHAI)
    w.clock.set(dt.datetime(2025, 10, 12, 9, 0, tzinfo=SHANGHAI))
    assert w.why("record_responses", "reception", scores=GOOD, respondent="x") == [
        "return_visit_window_expired"
    ]
    assert "sla.breach:return_visit" in w.tick()
    assert w.state == "not_reached"
    assert w.fired() == [("window_expired", "system")]


def test_contact_attempts_are_bounded(china: WorkCalendar) -> None:
    w = survey(china, max_attempts=2)
    w.fire("attempt_contact", "reception", contact_result="no_answer")
    w.fire("attempt_contact", "reception", contact_result="no_answer")
    assert w.refused("attempt_contact", "reception", contact_result="no_answer") == {
        "attempts_exhausted": ("attempt_contact",)
    }
    assert w.fire("give_up", "reception", give_up_reason="max_attempts") == "not_reached"


def test_survey_cancel_and_roles(china: WorkCalendar) -> None:
    w = survey(china)
    with pytest.raises(PermissionDenied):
        w.fire("cancel", "reception", cancel_reason="x")
    assert w.fire("cancel", "quality_manager", cancel_reason="engagement terminated") == "cancelled"


def test_survey_follows_a_complaint(china: WorkCalendar) -> None:
    """A survey case is linked to the case it follows (here: a closed complaint)."""
    c = Walk(complaint(), china, data={"channel": "email", "description": "d"}, case_id="TS-9")
    c.fire("acknowledge", "handler", acknowledgement_via="email")
    c.fire("close_not_accepted", "handler", not_accepted_reason="outside_scope", explanation="e")
    s = c.wf
    s.register(satisfaction_survey())
    case = s.start(
        "satisfaction_survey",
        case_id="SV-9",
        data={
            "subject_case": "TS-9",
            "subject_process": "complaint",
            "survey_kind": "return_visit",
        },
    )
    assert case.data["subject_case"] == c.id
    assert s.process("satisfaction_survey").fields["subject_process"].choices is not None


# --- 5. technology transfer -------------------------------------------------------------------

SUPPLIER = {
    "client_id": "U-1",
    "client_name": "Some University",
    "party_role": "supplier",
    "service_type": "technology_transfer",
}
SERVICE_CONTRACT: dict[str, Any] = {
    "service_contract_no": "FW-1",
    "service_contract_document": "DOC-FW-1",
    "informed_via": "email",
    "offered_scope": "find a licensee",
    "service_time_limit": "6 months",
    "rights_obligations": "DOC-RO",
    "contract_clauses": list(CLAUSES),
    "ownership_evidence": "DOC-PATENT",
    "ip_status": "granted_patent",
}
TECH_CONTRACT = {
    "tech_contract_no": "JS-1",
    "tech_contract_type": "licensing",
    "transaction_mode": "licensing",
    "tech_contract_price": 100,
    "tech_contract_document": "DOC-JS-1",
    "tech_deliverables": ["drawings", "training"],
}


def transfer(china: WorkCalendar) -> Walk:
    return Walk(technology_transfer(), china, data=dict(SUPPLIER), case_id="TT-1")


def to_matching(w: Walk) -> None:
    assert w.fire("respond", "consultant", response_channel="phone") == "consulting"
    assert w.fire("accept_commission", "manager", **SERVICE_CONTRACT) == "needs_analysis"
    assert w.why("start_matching", "consultant", public_profile="DOC-PUB") == [
        "disclosure_not_consented"
    ]
    w.fire("start_matching", "consultant", public_profile="DOC-PUB", disclosure_consent="DOC-OK")
    assert w.state == "matching"


def test_transfer_happy_path(china: WorkCalendar) -> None:
    w = transfer(china)
    to_matching(w)
    w.fire("record_matching_activity", "consultant", activity_kind="roadshow")
    state = w.fire(
        "open_negotiation", "consultant", counterparty_name="Acme", counterparty_role="demander"
    )
    assert state == "negotiating"
    assert w.status("matching_window") == "paused"
    assert w.fire("sign_tech_contract", "project_manager", **TECH_CONTRACT) == "contract_signed"
    w.fire("register_contract", "consultant", registration_no="R-1", registry="Shenzhen")
    w.fire("record_delivery", "consultant", deliverable_id="drawings")
    w.fire("record_payment", "project_manager", payment_amount=50)
    assert w.refused("start_settlement", "project_manager", delivered=["drawings"]) == {
        "deliverables_outstanding": ("training",)
    }
    w.fire("start_settlement", "project_manager", delivered=["drawings", "training"])
    assert w.why("complete_settlement", "manager", settlement_statement="S") == [
        "service_fee_unsettled"
    ]
    state = w.fire(
        "complete_settlement", "manager", settlement_statement="S", service_fee_settled=True
    )
    assert state == "after_sales"
    w.fire("record_return_visit", "reception", visit_outcome="reached", survey_outcome="satisfied")
    archive = {
        "archive_ref": "A",
        "archive_record": dict.fromkeys(
            ("service_period", "content", "process", "results", "evaluation"), "x"
        ),
    }
    assert w.fire("archive", "quality_manager", **archive) == "archived"


def test_transfer_accept_needs_title_clauses_and_information(china: WorkCalendar) -> None:
    w = transfer(china)
    w.fire("respond", "consultant", response_channel="phone")
    payload = {
        **SERVICE_CONTRACT,
        "ownership_evidence": None,
        "contract_clauses": list(CLAUSES)[:9],
        "rights_obligations": "",
    }
    assert w.refused("accept_commission", "manager", **payload) == {
        "client_not_informed": ("rights_obligations",),
        "missing_contract_clause": ("confidentiality",),
        "ip_title_unverified": ("ownership_evidence",),
    }


def test_transfer_negotiation_rules(china: WorkCalendar) -> None:
    w = transfer(china)
    to_matching(w)
    assert w.why(
        "open_negotiation", "consultant", counterparty_name="X", counterparty_role="supplier"
    ) == ["counterparty_same_side"]
    w.fire("open_negotiation", "consultant", counterparty_name="Acme", counterparty_role="demander")
    assert w.why(
        "sign_tech_contract",
        "project_manager",
        **{**TECH_CONTRACT, "transaction_mode": "auction"},
    ) == ["mode_type_mismatch"]
    assert w.fire("negotiation_failed", "consultant", failure_reason="price") == "matching"
    assert w.fire("close_unmatched", "manager", unmatched_reason="no buyer") == "closed_unmatched"


def test_transfer_know_how_needs_an_nda(china: WorkCalendar) -> None:
    w = Walk(
        technology_transfer(),
        china,
        data={**SUPPLIER, "ip_status": "know_how"},
        case_id="TT-2",
    )
    w.fire("respond", "consultant", response_channel="phone")
    w.fire("accept_commission", "manager", **{**SERVICE_CONTRACT, "ip_status": "know_how"})
    w.fire("request_evaluation", "consultant", evaluation_method="expert_review", evaluator="CAST")
    assert w.why(
        "complete_evaluation", "consultant", evaluation_conclusion="c", public_profile="P"
    ) == [
        "evaluation_report_missing",
        "disclosure_not_consented",
    ]
    w.fire(
        "complete_evaluation",
        "consultant",
        evaluation_conclusion="mature",
        evaluation_report="R",
        public_profile="P",
        disclosure_consent="OK",
    )
    assert w.why(
        "open_negotiation", "consultant", counterparty_name="A", counterparty_role="demander"
    ) == ["nda_missing"]


# --- 6. incubation ----------------------------------------------------------------------------

APPLICANT = {"applicant_name": "Tiny Robotics", "field_class": "general", "business_plan": "BP"}
AGREEMENT = {
    "agreement_no": "FH-1",
    "agreement_document": "DOC-FH-1",
    "incubation_term": "36mo",
    "graduation_criteria": ["revenue", "high_tech_certified"],
    "exit_conditions": ["rent_unpaid_3_months"],
}

# a 48-month term and a 24-month tracking period reach past the official holiday data
provisional_ok = pytest.mark.filterwarnings("ignore::techsvc_flow.errors.ProvisionalWarning")


def incubator(china: WorkCalendar, data: dict[str, Any] | None = None) -> Walk:
    return Walk(incubation(), china, data=data or dict(APPLICANT), case_id="FH-1")


def to_incubating(w: Walk) -> None:
    assert w.fire("start_screening", "manager", screening_panel=["a", "b"]) == "screening"
    assert w.refused("admit", "manager", admission_criteria={"tech_based": True, "age": False}) == {
        "admission_criteria_not_met": ("age",)
    }
    assert w.fire("admit", "manager", admission_criteria={"tech_based": True}) == "admitted"
    assert w.fire("sign_agreement", "manager", **AGREEMENT) == "agreement_signed"
    assert w.fire("move_in", "reception", moved_in_on=dt.date(2025, 10, 9)) == "incubating"


@provisional_ok
def test_incubation_happy_path(china: WorkCalendar) -> None:
    w = incubator(china)
    to_incubating(w)
    assert w.status("incubation_term") == "running"
    w.fire(
        "record_service",
        "consultant",
        service_kind="investment_financing",
        service_description="VC day",
    )
    w.fire(
        "periodic_review",
        "consultant",
        review_period_end=dt.date(2026, 9, 30),
        review_metrics={"revenue": 1},
    )
    assert (
        w.fire("apply_graduation", "client", graduation_evidence=["DOC-G"]) == "graduation_review"
    )
    assert w.refused(
        "graduate",
        "manager",
        graduated_on=dt.date(2027, 1, 1),
        criteria_met={"revenue": "DOC-R"},
        formalities={"space_returned": True},
    ) == {
        "graduation_criteria_not_met": ("high_tech_certified",),
        "formalities_incomplete": ("fees_settled", "handover"),
    }
    state = w.fire(
        "graduate",
        "manager",
        graduated_on=dt.date(2027, 1, 1),
        criteria_met={"revenue": "DOC-R", "high_tech_certified": "DOC-H"},
        formalities={"space_returned": True, "fees_settled": True, "handover": "DOC-HO"},
    )
    assert state == "graduated"
    assert w.status("incubation_term") == "stopped"
    assert w.fire("start_tracking", "quality_manager", tracking_contact="ceo@tiny") == "tracking"
    w.fire("record_tracking", "consultant", tracking_status="growing")
    assert w.why("end_tracking", "quality_manager") == ["tracking_period_open"]
    w.advance(days=2 * 366)
    assert "sla.breach:tracking" in w.tick()
    assert w.state == "tracking_closed"
    assert w.fired()[-1] == ("end_tracking", "system")


@provisional_ok
def test_incubation_term_limit(china: WorkCalendar) -> None:
    w = incubator(china)
    w.fire("start_screening", "manager", screening_panel=["a"])
    w.fire("admit", "manager", admission_criteria={"tech_based": True})
    assert w.refused("sign_agreement", "manager", **{**AGREEMENT, "incubation_term": "60mo"}) == {
        "term_exceeds_maximum": ("60 months exceed 48 for general",)
    }
    assert w.why("sign_agreement", "manager", **{**AGREEMENT, "incubation_term": "1000d"}) == [
        "term_exceeds_maximum"
    ]
    bio = incubator(china, {**APPLICANT, "field_class": "biomedicine"})
    bio.fire("start_screening", "manager", screening_panel=["a"])
    bio.fire("admit", "manager", admission_criteria={"tech_based": True})
    assert bio.fire("sign_agreement", "manager", **{**AGREEMENT, "incubation_term": "60mo"}) == (
        "agreement_signed"
    )
    assert incubation(incubation_term="36mo").sla_map["incubation_term"].duration.months == 36  # type: ignore[attr-defined]


@provisional_ok
def test_incubation_screening_and_exit(china: WorkCalendar) -> None:
    w = incubator(china, {"applicant_name": "No Plan Co", "field_class": "general"})
    assert w.why("start_screening", "manager", screening_panel=["a"]) == ["application_incomplete"]
    assert w.fire("withdraw", "client", withdraw_reason="moved") == "withdrawn"
    w2 = incubator(china)
    to_incubating(w2)
    payload = {"exit_reason": "breach_of_agreement", "exit_on": dt.date(2026, 3, 1)}
    assert w2.why("exit", "manager", **payload) == ["exit_condition_not_agreed"]
    assert w2.fire("exit", "manager", **payload, exit_condition="rent_unpaid_3_months") == "exited"
    w2.fire("start_tracking", "consultant", tracking_contact="x")
    w2.fire("record_tracking", "consultant", tracking_status="closed")
    assert w2.fire("end_tracking", "quality_manager") == "tracking_closed"


@provisional_ok
def test_incubation_wrong_role_and_reject(china: WorkCalendar) -> None:
    w = incubator(china)
    w.fire("start_screening", "reception", screening_panel=["a"])
    with pytest.raises(PermissionDenied):
        w.fire("admit", "consultant", admission_criteria={"x": True})
    assert w.fire("reject", "manager", rejection_reason="not technology-based") == "rejected"
