"""The names quality reads from the templates exist in them.

Quality names states, triggers, fields and SLAs of the templates by string: each
engagement-like template's own profile (``PROFILE``, gathered in
``processes.PROFILES``), the complaint ledger and ``DEFAULT_CONFIG``'s complaint SLAs.
Here every one of them is looked up in the template it names, so a renamed state or a
profile copied from another template fails a test, not a quarterly report. A ledger
built for a complaint template whose SLAs are named otherwise reads them through
``QualityConfig.complaint_slas``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from quality_scenario import SH

from techsvc_flow import Actor, ProcessDefinition, SteppedClock, WorkCalendar, Workflow, processes
from techsvc_flow.quality import DEFAULT_CONFIG, ENGAGEMENTS, QualityConfig, report
from techsvc_flow.quality.ledger import ACKNOWLEDGED, CLOSED_STATES, TRIGGERS, ledger
from techsvc_flow.quality.period import Period


def names_of(p: ProcessDefinition) -> dict[str, set[str]]:
    """Every state, trigger, field and SLA name of a template."""
    return {
        "states": {s.name for s in p.states},
        "triggers": {t.trigger for t in p.transitions},
        "fields": set(p.fields),
        "slas": set(p.sla_map),
    }


@pytest.mark.parametrize("name", sorted(processes.PROFILES))
def test_every_name_a_profile_gives_exists_in_its_template(name: str) -> None:
    template = names_of(processes.builtin(name))
    for kind, named in processes.PROFILES[name].names().items():
        missing = named - template[kind]
        assert not missing, f"{name}'s profile names {kind} it does not have: {sorted(missing)}"


def test_the_engagement_like_templates_each_own_a_profile() -> None:
    assert sorted(processes.PROFILES) == [
        "innovation_service",
        "service_engagement",
        "technology_transfer",
    ]
    for name, template in processes.TEMPLATES.items():
        assert template.build is processes.ALL[name]
        assert processes.LIMITS[name] is template.limits
        assert processes.GUARDS[name] is template.guards
    assert ENGAGEMENTS == processes.PROFILES
    assert DEFAULT_CONFIG.engagements == processes.PROFILES


def test_the_processes_quality_reads_are_templates() -> None:
    for name in DEFAULT_CONFIG.processes:
        assert name in processes.ALL, name


def test_complaint_slas_and_the_ledger_names_exist_in_the_complaint_template() -> None:
    template = names_of(processes.complaint())
    assert set(DEFAULT_CONFIG.complaint_slas) <= template["slas"]
    assert {ACKNOWLEDGED, *CLOSED_STATES} <= template["states"]
    assert template["triggers"] >= TRIGGERS, sorted(TRIGGERS - template["triggers"])


def test_the_survey_states_exist_in_the_survey_template() -> None:
    for name in DEFAULT_CONFIG.survey_processes:
        states = names_of(processes.builtin(name))["states"]
        assert {"satisfied", "not_satisfied", "not_reached"} <= states


# --- a complaint template with its SLAs named otherwise ----------------------------------


def renamed_complaint() -> ProcessDefinition:
    """The complaint template with its two SLAs called ``ack_24h`` and ``reply_7wd``."""
    data = processes.complaint().to_dict()
    renames = {"acknowledge": "ack_24h", "feedback": "reply_7wd"}
    for sla in data["slas"]:
        sla["name"] = renames.get(sla["name"], sla["name"])
    return ProcessDefinition.from_dict(data, functions=processes.FUNCTIONS)


def at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2025, 11, day, hour, tzinfo=SH)


@pytest.fixture(scope="module")
def renamed() -> Workflow:
    wf = Workflow(
        calendar=WorkCalendar.china(),
        clock=SteppedClock(at(1)),
        processes=[renamed_complaint()],
    )
    li = Actor("li", {"handler", "quality_manager"})
    for case_id, received, acknowledged in (("R-1", at(3), at(3, 11)), ("R-2", at(4), at(5, 15))):
        wf.start(
            "complaint",
            case_id=case_id,
            at=received,
            data={"channel": "phone", "description": "…", "complainant_name": "W"},
        )
        wf.fire(
            case_id,
            "acknowledge",
            actor=li,
            at=acknowledged,
            payload={"acknowledgement_via": "phone"},
        )
        for trigger, payload in (
            ("assess", {"severity": "low", "priority": "p3", "category": "fees"}),
            ("start_investigation", {"investigator": "zhao"}),
            ("decide_response", {"findings": "…", "upheld": "upheld", "remedies": ["apology"]}),
            ("communicate_decision", {"decision_text": "…", "communication_via": "phone"}),
        ):
            wf.fire(case_id, trigger, actor=li, at=at(7), payload=payload)
    return wf


RENAMED = QualityConfig(complaint_slas=("ack_24h", "reply_7wd"))


def test_the_ledger_reads_the_slas_the_config_names(renamed: Workflow) -> None:
    book = ledger(renamed.store, calendar=renamed.calendar, config=RENAMED)
    got = [
        (r["complaint_id"], r["acknowledge_limit"], r["acknowledged_within_limit"]) for r in book
    ]
    assert got == [("R-1", "24h", True), ("R-2", "24h", False)]  # after 30 hours
    assert [(r["feedback_limit"], r["fed_back_within_limit"]) for r in book] == [
        ("7wd", True),
        ("7wd", True),
    ]
    # with the default names, the ledger finds no such clocks
    plain = ledger(renamed.store, calendar=renamed.calendar)
    assert [r["acknowledged_within_limit"] for r in plain] == [None, None]


def test_the_indicator_reads_the_slas_the_config_names(renamed: Workflow) -> None:
    november = Period.parse("2025-11", tz=SH)
    r = report(renamed.store, november, calendar=renamed.calendar, config=RENAMED)
    timeliness = r.result("complaint_timeliness")
    assert (timeliness.numerator, timeliness.denominator) == (1, 2)
    assert timeliness.missed_cases == ("R-2",)
