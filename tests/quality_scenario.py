"""A realistic quarter of recorded history for the quality tests (2025-Q4, Shanghai).

Twenty-one complaints (some acknowledged or fed back late, one paused while waiting on
the complainant, escalated, reopened, referred out, withdrawn, not accepted), eleven
service engagements (late response, late and missing deliveries, rework, terminations,
a missed return visit) and four satisfaction surveys, all run through a
:class:`Workflow` on a stepped clock. Every step is scheduled at an explicit instant and
the steps run in time order, so each case's history is in order.

The expected figures are worked out by hand in ``EXPECTED`` (see test_quality.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from techsvc_flow import (
    Actor,
    ProcessDefinition,
    SteppedClock,
    Store,
    WorkCalendar,
    Workflow,
    processes,
)
from techsvc_flow.processes.standards import CONTRACT_CLAUSE_CODES

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2026, 1, 1, 0, 0, tzinfo=SH)

_ROLES = (
    "client",
    "reception",
    "consultant",
    "project_manager",
    "quality_manager",
    "handler",
    "manager",
)


def actor(name: str, *roles: str) -> Actor:
    """``name`` holding ``roles`` (default: every role)."""
    make: Any = Actor  # see tests/processes_helpers.py: a typing gap of the converter
    made: Actor = make(name, set(roles or _ROLES))
    return made


STAFF = actor("staff")
HANDLER = actor("li")
#: the client's own acts (6.3.3, 6.4.1) and a reviewer other than who decided (four eyes)
CLIENT = actor("zhou", "client")
REVIEWER = actor("qm")


def at(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2025) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


class Agenda:
    """Steps at instants, run in time order (ties in the order they were added)."""

    def __init__(self, wf: Workflow) -> None:
        self.wf = wf
        self.steps: list[tuple[dt.datetime, int, Callable[[], object]]] = []

    def add(self, when: dt.datetime, step: Callable[[], object]) -> None:
        self.steps.append((when, len(self.steps), step))

    def start(self, when: dt.datetime, process: str, case_id: str, **data: Any) -> None:
        self.add(
            when,
            lambda: self.wf.start(process, case_id=case_id, data=data, actor=STAFF, at=when),
        )

    def fire(
        self, when: dt.datetime, case_id: str, trigger: str, who: Actor = STAFF, **payload: Any
    ) -> None:
        self.add(
            when,
            lambda: self.wf.fire(case_id, trigger, actor=who, payload=payload, at=when),
        )

    def tick(self, when: dt.datetime) -> None:
        self.add(when, lambda: self.wf.tick(when, limit=10_000))

    def run(self) -> None:
        clock = self.wf.clock
        assert isinstance(clock, SteppedClock)
        for when, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            clock.set(when)
            step()


# --- complaints -------------------------------------------------------------------------------


def complaint(
    a: Agenda,
    case_id: str,
    received: dt.datetime,
    *,
    ack: dt.timedelta = dt.timedelta(hours=2),
    feedback: dt.timedelta | None = dt.timedelta(days=3),
    close: bool = True,
    category: str = "timeliness",
    client_id: str = "C-1",
) -> None:
    a.start(
        received,
        "complaint",
        case_id,
        channel="phone",
        description=f"secret details of {case_id}",
        complainant_name=f"Complainant {case_id}",
        complainant_contact="138 0000 0000",
        client_id=client_id,
    )
    a.fire(received + ack, case_id, "acknowledge", HANDLER, acknowledgement_via="phone")
    a.fire(
        received + ack + dt.timedelta(minutes=30),
        case_id,
        "assess",
        HANDLER,
        severity="medium",
        priority="p3",
        category=category,
    )
    a.fire(
        received + ack + dt.timedelta(hours=1), case_id, "start_investigation", investigator="zh"
    )
    if feedback is None:
        return
    decided(a, case_id, received + feedback - dt.timedelta(hours=1))
    a.fire(
        received + feedback,
        case_id,
        "communicate_decision",
        HANDLER,
        decision_text="we apologise",
        communication_via="phone",
    )
    if close:
        accepted_and_closed(a, case_id, received + feedback + dt.timedelta(hours=4))


def decided(a: Agenda, case_id: str, when: dt.datetime) -> None:
    a.fire(
        when,
        case_id,
        "decide_response",
        findings="backlog",
        upheld="upheld",
        remedies=["apology"],
    )


def accepted_and_closed(a: Agenda, case_id: str, when: dt.datetime) -> None:
    a.fire(when, case_id, "record_reply", reply="accepted")
    a.fire(
        when + dt.timedelta(hours=2),
        case_id,
        "close",
        HANDLER,
        remedies_done=["apology"],
        remedy_evidence=["DOC-EV"],
    )


def complaints(a: Agenda) -> None:
    h = dt.timedelta(hours=1)
    d = dt.timedelta(days=1)
    complaint(a, "C00", at(9, 15))  # in Q3: outside the period
    complaint(a, "C01", at(11, 3))
    complaint(a, "C02", at(11, 3, 14))
    complaint(a, "C03", at(11, 4), ack=30 * h)  # acknowledged late
    complaint(a, "C04", at(11, 4, 15))
    # not accepted within hours: both clocks stop in time
    a.start(at(11, 5, 10), "complaint", "C05", channel="email", description="x", client_id="C-2")
    a.fire(
        at(11, 5, 13),
        "C05",
        "close_not_accepted",
        HANDLER,
        not_accepted_reason="not_a_complaint",
        explanation="a request for a quote",
    )
    complaint(a, "C06", at(11, 6, 10), feedback=None)
    a.fire(at(11, 7, 10), "C06", "withdraw", withdrawal_statement="solved by phone")
    complaint(a, "C07", at(11, 10), ack=26 * h, feedback=12 * d)  # both late
    complaint(a, "C08", at(11, 11))
    # escalated once, then accepted
    complaint(a, "C09", at(11, 12), close=False)
    a.fire(at(11, 15, 16), "C09", "record_reply", reply="rejected", recourse_informed=True)
    a.fire(at(11, 15, 17), "C09", "escalate")
    a.fire(
        at(11, 17, 10),
        "C09",
        "review_escalation",
        REVIEWER,
        reviewer="qm",
        escalation_instructions="redo",
    )
    decided(a, "C09", at(11, 18, 10))
    a.fire(
        at(11, 18, 11),
        "C09",
        "communicate_decision",
        decision_text="again",
        communication_via="email",
    )
    accepted_and_closed(a, "C09", at(11, 19, 10))
    # closed, then reopened and closed again
    complaint(a, "C10", at(11, 13))
    a.fire(at(11, 24, 10), "C10", "reopen", reopen_reason="it happened again")
    decided(a, "C10", at(11, 25, 10))
    a.fire(
        at(11, 25, 11),
        "C10",
        "communicate_decision",
        decision_text="again",
        communication_via="phone",
    )
    accepted_and_closed(a, "C10", at(11, 26, 10))
    complaint(a, "C11", at(11, 17, 10), feedback=dt.timedelta(days=11))  # fed back late
    # waiting on the complainant for three working days: late under the strict reading,
    # on time only with the pause switched on
    complaint(a, "C12", at(11, 3, 11), feedback=None)
    a.fire(at(11, 5, 10), "C12", "request_info", HANDLER, info_question="which invoice?")
    a.fire(at(11, 10, 10), "C12", "receive_info", HANDLER, info_received="invoice 42")
    decided(a, "C12", at(11, 14, 14))
    a.fire(
        at(11, 14, 15), "C12", "communicate_decision", HANDLER, decision_text="ok",
        communication_via="phone",
    )  # fmt: skip
    accepted_and_closed(a, "C12", at(11, 17, 10))
    # rejected and referred to mediation, which closes it
    complaint(a, "C13", at(11, 18), close=False)
    a.fire(at(11, 21, 16), "C13", "record_reply", reply="rejected", recourse_informed=True)
    a.fire(
        at(11, 22, 10),
        "C13",
        "refer_external",
        external_mechanism="mediation",
        external_body="industry association",
    )
    a.fire(
        at(12, 5, 10),
        "C13",
        "record_external_outcome",
        external_outcome="for_organisation",
        external_decision="DOC-MED",
        remedies=[],
    )
    complaint(a, "C14", at(12, 1))
    complaint(a, "C15", at(12, 2), ack=25 * h)  # acknowledged late
    complaint(a, "C16", at(12, 3), category="fees")
    complaint(a, "C17", at(12, 8))
    complaint(a, "C18", at(12, 9))
    # still open at the end of the quarter: their feedback limit is not yet due
    complaint(a, "C19", at(12, 29), feedback=None)
    complaint(a, "C20", at(12, 30), feedback=None)


# --- engagements ------------------------------------------------------------------------------

CLAUSES = list(CONTRACT_CLAUSE_CODES)


def engagement(
    a: Agenda,
    case_id: str,
    received: dt.datetime,
    *,
    respond: dt.datetime | None,
    delivery_due: dt.date | None = None,
    deliver: dt.datetime | None = None,
    objections: list[tuple[dt.datetime, dt.datetime]] = (),  # type: ignore[assignment]
    accept: dt.datetime | None = None,
    visit: tuple[dt.datetime, str, str, Decimal | None] | None = None,
    survey_case: str | None = None,
    terminate: tuple[dt.datetime, str] | None = None,
    decline: dt.datetime | None = None,
    archive: dt.datetime | None = None,
) -> None:
    a.start(
        received,
        "service_engagement",
        case_id,
        client_id=f"CL-{case_id}",
        client_name=f"Client of {case_id}",
        client_contact="secret-contact@example.cn",
        channel="web",
        service_field="ip_service",
    )
    if respond is None:
        return
    a.fire(respond, case_id, "respond", response_channel="phone")
    step = respond + dt.timedelta(minutes=10)
    tick = dt.timedelta(minutes=10)
    a.fire(
        step,
        case_id,
        "record_materials",
        materials=[f"DOC-SECRET-{case_id}"],
        authenticity_prompted=True,
    )
    a.fire(step + tick, case_id, "review_materials", review_result="complete")
    if decline is not None:
        a.fire(
            decline,
            case_id,
            "decline",
            informed_via="email",
            decline_reason="out_of_scope",
            decline_reason_text="not our field",
        )
        return
    assert delivery_due is not None
    a.fire(step + 2 * tick, case_id, "begin_assessment")
    a.fire(
        step + 3 * tick,
        case_id,
        "accept",
        feasibility="feasible",
        informed_via="email",
        offered_scope="patent search",
        service_time_limit="30 days",
        rights_obligations="DOC-RO",
    )
    a.fire(step + 4 * tick, case_id, "start_plan")
    a.fire(step + 5 * tick, case_id, "submit_plan", plan_version=1, plan_document="DOC-PLAN")
    a.fire(
        step + 6 * tick,
        case_id,
        "confirm_plan",
        CLIENT,
        confirmed_plan_version=1,
        plan_confirmation="DOC-CONF",
    )
    a.fire(
        step + 7 * tick,
        case_id,
        "sign_contract",
        contract_no=f"HT-{case_id}",
        contract_document="DOC-HT",
        contract_signed_on=(step + 7 * tick).date(),
        contract_clauses=CLAUSES,
        delivery_due=delivery_due,
        acceptance_method="expert review",
        contract_deliverables=["report"],
    )
    a.fire(
        step + 8 * tick,
        case_id,
        "form_work_group",
        work_group=[{"user": "li", "duty": "lead", "qualification": "senior engineer"}],
    )
    if deliver is not None:
        a.fire(deliver, case_id, "deliver", deliverables=["report"])
    for raised, redelivered in objections:
        a.fire(
            raised,
            case_id,
            "raise_objection",
            CLIENT,
            objections=[{"item_id": "report", "description": "figures missing"}],
        )
        a.fire(
            redelivered,
            case_id,
            "redeliver",
            deliverables=["report"],
            objection_responses=[{"item_id": "report", "resolution": "added"}],
        )
    if terminate is not None:
        when, fault = terminate
        a.fire(
            when,
            case_id,
            "terminate",
            termination_kind="early_termination",
            initiated_by="organisation" if fault == "organisation" else "client",
            fault=fault,
            termination_effective_on=when.date(),
            termination_basis="clause i) 2",
        )
    if accept is not None:
        a.fire(
            accept,
            case_id,
            "accept_delivery",
            CLIENT,
            accepted_by="Ms Zhou",
            acceptance_method_used="expert review",
            acceptance_record="DOC-ACC",
        )
    if visit is not None:
        when, outcome, survey, index = visit
        payload: dict[str, Any] = {"visit_outcome": outcome, "survey_outcome": survey}
        if index is not None:
            payload["satisfaction_index"] = index
        if survey_case is not None:
            payload["survey_case"] = survey_case
        a.fire(when, case_id, "record_return_visit", **payload)
    if archive is not None:
        a.fire(
            archive,
            case_id,
            "archive",
            archive_ref=f"ARC-{case_id}",
            archive_record={
                "service_period": "2025-11-03/2025-11-25",
                "content": "patent search for the client's product line",
                "process": "DOC-PROC",
                "results": "search report delivered on time",
                "evaluation": "satisfied (index 88.5)",
            },
        )


def engagements(a: Agenda) -> None:
    engagement(
        a,
        "E00",
        at(9, 29),
        respond=at(9, 29, 10),
        delivery_due=dt.date(2025, 10, 31),
        deliver=at(10, 28),
        accept=at(10, 29),
        visit=(at(11, 5), "reached", "satisfied", Decimal(90)),
    )
    engagement(
        a,
        "E01",
        at(11, 3),
        respond=at(11, 3, 15),
        delivery_due=dt.date(2025, 11, 28),
        deliver=at(11, 20),
        accept=at(11, 21),
        visit=(at(11, 25), "reached", "satisfied", Decimal("88.5")),
        archive=at(12, 1),
    )
    engagement(
        a,
        "E02",
        at(11, 3, 10),
        respond=at(11, 6, 10),  # 1 working day ended Tue 24:00: late
        delivery_due=dt.date(2025, 11, 21),
        deliver=at(11, 24, 10),  # late
        objections=[(at(11, 25), at(11, 27))],
        accept=at(11, 28),
        visit=(at(12, 2), "reached", "not_satisfied", Decimal(60)),
    )
    engagement(
        a,
        "E03",
        at(11, 4),
        respond=at(11, 4, 10),
        delivery_due=dt.date(2025, 11, 20),
        deliver=at(11, 14),
        accept=at(11, 17),  # then nobody visits: the return-visit window runs out
    )
    engagement(
        a,
        "E04",
        at(11, 5),
        respond=at(11, 5, 10),
        delivery_due=dt.date(2025, 12, 10),
        deliver=at(12, 1),
        terminate=(at(12, 5), "organisation"),
    )
    engagement(
        a,
        "E05",
        at(11, 6),
        respond=at(11, 6, 11),
        delivery_due=dt.date(2025, 12, 20),
        terminate=(at(11, 20), "client"),
    )
    engagement(
        a, "E06", at(11, 7), respond=at(11, 7, 10), delivery_due=dt.date(2025, 12, 15)
    )  # never delivered
    engagement(a, "E07", at(11, 10), respond=at(11, 10, 9, 30), delivery_due=dt.date(2026, 2, 27))
    engagement(a, "E08", at(11, 11), respond=at(11, 11, 10), decline=at(11, 12))
    engagement(a, "E09", at(12, 31, 20), respond=None)  # response not yet due
    engagement(
        a,
        "E10",
        at(11, 12),
        respond=at(11, 12, 10),
        delivery_due=dt.date(2025, 12, 5),
        deliver=at(12, 3),
        accept=at(12, 4),
        visit=(at(12, 10), "reached", "satisfied", None),
        survey_case="SV-E10",
    )


# --- surveys ----------------------------------------------------------------------------------


def surveys(a: Agenda) -> None:
    every = ("responsiveness", "competence", "communication", "timeliness", "result_quality")
    a.start(
        at(12, 4, 12),
        "satisfaction_survey",
        "SV-E10",
        subject_case="E10",
        subject_process="service_engagement",
        survey_kind="both",
        method="online_questionnaire",
        conducted_by="third_party",
        respondent_contact="secret-respondent@example.cn",
    )
    a.fire(
        at(12, 9),
        "SV-E10",
        "record_responses",
        scores=dict.fromkeys(every, 4),
        respondent="Ms Zhou",
    )
    a.start(
        at(11, 7),
        "satisfaction_survey",
        "SV-C01",
        subject_case="C01",
        subject_process="complaint",
        survey_kind="return_visit",
        method="phone",
    )
    a.fire(at(11, 10), "SV-C01", "record_visit", visit_outcome="satisfied", respondent="Wang")
    a.start(
        at(11, 7, 10),
        "satisfaction_survey",
        "SV-C02",
        subject_case="C02",
        subject_process="complaint",
        survey_kind="satisfaction_survey",
        method="phone",
    )
    a.fire(
        at(11, 10, 10),
        "SV-C02",
        "record_responses",
        scores=dict.fromkeys(every, 2),
        respondent="Zhao",
    )
    a.start(
        at(11, 20),
        "satisfaction_survey",
        "SV-NR",
        subject_case="E03",
        subject_process="service_engagement",
        survey_kind="return_visit",
        method="phone",
    )
    a.fire(at(11, 21), "SV-NR", "give_up", give_up_reason="refused")


def build(
    store: Store | None = None,
    *,
    calendar: WorkCalendar | None = None,
    complaint: ProcessDefinition | None = None,
) -> Workflow:
    """The workflow with the whole quarter run into ``store`` (default: in memory);
    ``complaint`` replaces the default complaint template (e.g. with the pause on)."""
    wf = Workflow(
        store,
        calendar=calendar or WorkCalendar.china(coverage="provisional"),
        clock=SteppedClock(at(9, 1)),
        processes=[
            complaint or processes.complaint(),
            processes.service_engagement(),
            processes.satisfaction_survey(),
        ],
    )
    a = Agenda(wf)
    complaints(a)
    engagements(a)
    surveys(a)
    a.tick(at(12, 20))  # E03's return-visit window ran out on Dec 17
    a.run()
    return wf
