"""The organisation records (issue 15 item 10): internal audit tied to appraisal,
management review, staff training, supplier evaluation, the expert team — each small,
registered, and feeding the PDCA improvement process."""

from __future__ import annotations

from typing import Any

import pytest
from processes_helpers import ACTORS, Walk

from techsvc_flow import FlowError, WorkCalendar, processes

RECORDS: dict[str, tuple[str, dict[str, Any]]] = {
    "internal_audit": (
        "quality_manager",
        {
            "audit_scope": "complaint handling",
            "auditors": ["wu"],
            "findings": ["two complaints acknowledged late"],
            "appraisal_ref": "DOC-APPRAISAL-2025",
        },
    ),
    "management_review": (
        "manager",
        {"review_inputs": ["DOC-Q4"], "participants": ["ma", "wu"], "decisions": ["staff up"]},
    ),
    "staff_training": (
        "quality_manager",
        {"topic": "GB/T 19012", "trainees": ["li"], "assessment": ["li: passed"]},
    ),
    "supplier_evaluation": (
        "quality_manager",
        {"supplier": "Lab A", "criteria": ["CNAS"], "evaluation_result": "conditional"},
    ),
    "expert_team": (
        "manager",
        {"experts": ["zhang: IP, patent attorney"], "fields_covered": ["intellectual_property"]},
    ),
}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_record_feeds_the_improvement_process(china: WorkCalendar, name: str) -> None:
    assert name in processes.TEMPLATES and name in processes.ALL
    role, record = RECORDS[name]
    w = Walk(processes.builtin(name), china, data={}, case_id="R-1")
    w.wf.register(processes.improvement())
    # what recording requires is named
    missing = next(iter(record))
    partial = {k: v for k, v in record.items() if k != missing}
    with pytest.raises(FlowError, match=missing):
        w.fire("record", role, **partial)
    assert w.fire("record", role, **record) == "recorded"
    assert w.status("closing") == "running"
    # something to improve: no close without the improvement case
    assert w.refused("close", "quality_manager", conclusion="gaps", needs_improvement=True) == {
        "improvement_missing": ("needs improvement: name the improvement case (improvement_case)",)
    }
    w.wf.start(
        "improvement",
        case_id="IMP-1",
        data={"source_kind": name, "problem": "gaps", "related_case": "R-1"},
        actor=ACTORS["quality_manager"],
    )
    state = w.fire(
        "close", "manager", conclusion="gaps", needs_improvement=True, improvement_case="IMP-1"
    )
    assert state == "closed" and w.status("closing") == "stopped"
    assert w.wf.get("IMP-1").data["source_kind"] == name


def test_nothing_to_improve_closes_without_a_case(china: WorkCalendar) -> None:
    role, record = RECORDS["staff_training"]
    w = Walk(processes.staff_training(closing="3wd"), china, data={}, case_id="T-1")
    assert w.why("record", role, topic="x") != []
    w.fire("record", role, **record)
    assert next(s for s in w.wf.deadlines(w.id) if s.name == "closing").duration == "3wd"
    assert w.fire("close", "quality_manager", conclusion="ok", needs_improvement=False) == "closed"


def test_cancel_needs_a_reason(china: WorkCalendar) -> None:
    w = Walk(processes.management_review(), china, data={}, case_id="M-1")
    assert w.fire("cancel", "manager", cancel_reason="merged into the annual review") == (
        "cancelled"
    )
