"""The service archive (档案) of an engagement: the five elements, the history, the chain
check, and the client's secrets withheld unless asked for."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest
import quality_scenario as qs
from quality_scenario import at

from techsvc_flow import MemoryStore, SteppedClock, Store, WorkCalendar, Workflow, processes
from techsvc_flow.quality.archive import archive, archive_json


@pytest.fixture(scope="module")
def wf() -> Workflow:
    return qs.build()


@pytest.fixture(scope="module")
def e01(wf: Workflow) -> dict[str, Any]:
    return archive(wf, "E01")


def test_the_five_elements(e01: dict[str, Any]) -> None:
    assert e01["case"]["id"] == "E01" and e01["case"]["state"] == "archived"
    assert e01["case"]["state_label"] == {"zh": "已归档", "en": "Archived"}
    assert e01["case"]["archive_ref"] == "ARC-E01"
    # time
    assert e01["time"]["received_at"] == "2025-11-03T09:00:00+08:00"
    assert e01["time"]["archived_at"] == "2025-12-01T09:00:00+08:00"
    assert e01["time"]["service_period"] == "2025-11-03/2025-11-25"
    stages = [s["state"] for s in e01["time"]["stages"]]
    assert stages[:3] == ["request_received", "needs_matching", "feasibility_assessment"]
    assert stages[-3:] == ["after_sales", "return_visited", "archived"]
    # content
    assert e01["content"]["summary"] == "patent search for the client's product line"
    assert e01["content"]["data"]["service_field"] == "ip_service"
    assert e01["content"]["data"]["delivery_due"] == "2025-11-28"
    assert e01["content"]["labels"]["delivery_due"] == {"zh": "约定交付日期", "en": "Delivery due"}
    # process
    steps = e01["process"]["steps"]
    assert steps[0]["trigger"] == "respond" and steps[0]["actor"] == "staff"
    assert steps[0]["label"] == {"zh": "响应需求", "en": "Respond to the request"}
    assert [s["trigger"] for s in steps][-3:] == [
        "accept_delivery",
        "record_return_visit",
        "archive",
    ]
    response = next(s for s in e01["process"]["slas"] if s["sla"] == "response")
    assert response["status"] == "on_time" and response["within_limit"] is True
    assert response["due"] == "2025-11-05T00:00:00+08:00"
    # results and evaluation
    assert e01["results"]["delivered_at"] == "2025-11-20T09:00:00+08:00"
    assert e01["results"]["accepted_at"] == "2025-11-21T09:00:00+08:00"
    assert e01["results"]["rework_rounds"] == 0
    assert e01["results"]["summary"] == "search report delivered on time"
    assert e01["evaluation"]["summary"] == "satisfied (index 88.5)"
    assert e01["evaluation"]["survey_outcome"] == "satisfied"
    assert e01["evaluation"]["satisfaction_index"] == "88.5"


def test_history_and_its_chain(wf: Workflow, e01: dict[str, Any]) -> None:
    history = e01["history"]
    assert len(history) == len(wf.history("E01"))
    assert history[0]["kind"] == "start" and history[0]["seq"] == 1
    assert [h["prev"] for h in history[1:]] == [h["hash"] for h in history[:-1]]
    assert e01["verification"] == {
        "ok": True,
        "entries": len(history),
        "problems": [],
        "head": history[-1]["hash"],
    }


def test_secrets_are_withheld_unless_asked(wf: Workflow, e01: dict[str, Any]) -> None:
    text = json.dumps(e01, ensure_ascii=False)
    assert "DOC-SECRET-E01" not in text and "secret-contact@example.cn" not in text
    assert {"client_contact", "materials", "contract_document"} <= set(
        e01["confidential"]["withheld"]
    )
    assert e01["content"]["data"]["materials"] == "[confidential]"
    start = e01["history"][0]
    assert start["payload"]["client_contact"] == "[confidential]"
    assert "client_contact" in start["withheld"]
    full = archive_json(wf, "E01", include_confidential=True)
    assert "DOC-SECRET-E01" in full and "secret-contact@example.cn" in full
    assert json.loads(full)["confidential"]["withheld"] == []


def test_linked_survey_and_rework(wf: Workflow) -> None:
    e10 = archive(wf, "E10")
    assert e10["evaluation"]["surveys"] == [
        {"case_id": "SV-E10", "state": "satisfied", "satisfaction_index": "75.00"}
    ]
    e02 = archive(wf, "E02")
    assert e02["results"]["rework_rounds"] == 1
    response = next(s for s in e02["process"]["slas"] if s["sla"] == "response")
    assert response["status"] == "late" and response["within_limit"] is False
    e04 = archive(wf, "E04")
    assert e04["results"]["terminated_at"] == "2025-12-05T09:00:00+08:00"
    assert e04["results"]["termination"]["fault"] == "organisation"
    assert e04["evaluation"]["summary"] is None  # not archived yet: no record


def test_a_tampered_history_is_reported() -> None:
    wf = Workflow(
        MemoryStore(),
        calendar=WorkCalendar.china(),
        clock=SteppedClock(at(11, 1)),
        processes=[processes.service_engagement()],
    )
    a = qs.Agenda(wf)
    qs.engagement(a, "E1", at(11, 3), respond=at(11, 3, 15), delivery_due=dt.date(2025, 12, 1))
    a.run()
    assert archive(wf, "E1")["verification"]["ok"] is True
    slot = wf.store._slots["E1"]  # type: ignore[attr-defined]
    slot.entries[1] = attrs.evolve(slot.entries[1], actor="someone else")
    check = archive(wf, "E1")["verification"]
    assert check["ok"] is False
    assert check["problems"] == ["seq 2: content was changed after it was recorded"]


def test_archive_from_every_store(store: Store) -> None:
    wf = Workflow(
        store,
        calendar=WorkCalendar.china(),
        clock=SteppedClock(at(11, 1)),
        processes=[processes.service_engagement()],
    )
    a = qs.Agenda(wf)
    qs.engagement(
        a,
        "E1",
        at(11, 3),
        respond=at(11, 3, 15),
        delivery_due=dt.date(2025, 11, 28),
        deliver=at(11, 20),
        accept=at(11, 21),
        visit=(at(11, 25), "reached", "satisfied", None),
        archive=at(12, 1),
    )
    a.run()
    got = archive(wf, "E1")
    assert got["verification"]["ok"] is True
    assert got["time"]["archived_at"] == "2025-12-01T09:00:00+08:00"
    assert got["content"]["data"]["contract_signed_on"] == "2025-11-03"
    assert "DOC-SECRET-E1" not in archive_json(wf, "E1")
