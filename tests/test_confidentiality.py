"""Confidentiality levels and clearance-filtered reads (issue 15 item 8, 003 4.4.1 b)):
fields carry a level; reading a case, its history, the archive or the ledger gives an
actor only what its clearance allows, nested copies included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import quality_scenario as qs

from conftest import STORE_FACTORIES
from techsvc_flow import (
    Actor,
    Field,
    GuardFailed,
    ProcessDefinition,
    State,
    SteppedClock,
    Store,
    Transition,
    Workflow,
    processes,
)
from techsvc_flow.case import verify_chain
from techsvc_flow.confidentiality import LABELS, LEVELS, above, highest, marker, rank, redact
from techsvc_flow.errors import ConfigurationError, DefinitionError, InvalidValue
from techsvc_flow.notifications import Event
from techsvc_flow.quality.archive import WITHHELD, archive
from techsvc_flow.quality.ledger import ledger

T0 = dt.datetime(2025, 11, 3, 9, 0, tzinfo=dt.UTC)
SECRET = marker("secret")
CONFIDENTIAL = marker("confidential")
INTERNAL = marker("internal")


def deal(**extra: Any) -> ProcessDefinition:
    """A small process with a field at each level, and two values that carry copies."""
    return ProcessDefinition(
        name="deal",
        version=1,
        states=[State("open", initial=True), State("objected"), State("done", final=True)],
        transitions=[
            Transition("object", source="open", dest="objected", requires=("objection",)),
            Transition(
                "close", source=("open", "objected"), dest="done", accepts=("archive_record",)
            ),
        ],
        fields=[
            Field("topic", "str"),
            Field("notes", "str", level="internal"),
            Field("phone", "str", confidential=True),
            Field("fee", "decimal", level="secret"),
            Field("objection", "dict"),
            Field("archive_record", "dict"),
        ],
        **extra,
    )


ROLES = {"ann": ["handler"], "fin": ["finance"], "sam": ["staff"]}
CLEARANCES = {"staff": "internal", "handler": "confidential", "finance": "secret"}


def run(store: Store | None = None) -> Workflow:
    wf = Workflow(
        store,
        clock=SteppedClock(T0),
        processes=[deal()],
        roles=lambda who: ROLES.get(who, []),
        clearances=CLEARANCES,
    )
    data = {"topic": "AI", "notes": "n", "phone": "138", "fee": Decimal("100")}
    wf.start("deal", case_id="D-1", data=data)
    objection = {"reason": "too dear", "fee": Decimal("90"), "by": [{"phone": "139"}]}
    wf.fire("D-1", "object", payload={"objection": objection})
    record = {"content": "AI deal", "fee": Decimal("90")}
    wf.fire("D-1", "close", payload={"archive_record": record})
    return wf


@pytest.fixture
def wf() -> Workflow:
    return run()


# --- levels ----------------------------------------------------------------------------


def test_levels_are_ordered_lowest_first() -> None:
    assert LEVELS == ("public", "internal", "confidential", "secret")
    assert [rank(level, "x") for level in LEVELS] == [0, 1, 2, 3]
    assert [LABELS[level] for level in LEVELS] == ["公开", "内部", "秘密", "机密"]
    assert highest(["internal", "secret", "public"]) == "secret"
    assert highest([]) == "public"
    assert above({"a": "public", "b": "internal", "c": "secret"}, "internal") == {"c": "secret"}


def test_a_field_carries_a_level() -> None:
    p = deal(default_level="internal")
    assert dict(p.levels) == {
        "topic": "internal",  # the process default
        "notes": "internal",
        "phone": "confidential",  # confidential=True means the level confidential
        "fee": "secret",
        "objection": "internal",
        "archive_record": "internal",
    }
    # from confidential up a field stays out of notifications and log lines
    assert p.fields["fee"].confidential is True
    assert p.confidential == {"phone", "fee"}
    assert ProcessDefinition.from_json(p.to_json()) == p
    assert ProcessDefinition.from_dict(p.to_dict()).levels == p.levels
    assert deal(default_level="secret").confidential == set(p.fields) - {"notes"}


def test_old_definitions_stay_valid_and_keep_their_hash() -> None:
    old = processes.complaint()  # no level set on any field: its dict form has none
    assert "default_level" not in old.to_dict()
    assert all("level" not in f for f in old.to_dict()["fields"])
    assert set(old.levels.values()) == {"public", "confidential"}
    assert old.confidential == {n for n, f in old.fields.items() if f.confidential}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"fields": [Field("fee", "decimal", level="top-secret")]}, "fields.fee.level"),
        ({"fields": [Field("fee", "decimal", level="Secret")]}, "fields.fee.level"),
        ({"default_level": "restricted"}, "default_level"),
    ],
)
def test_a_bad_level_is_refused_naming_the_field_and_the_levels(
    change: dict[str, Any], path: str
) -> None:
    states = [State("open", initial=True, final=True)]
    with pytest.raises(DefinitionError) as caught:
        ProcessDefinition(name="p", version=1, states=states, transitions=[], **change)
    assert caught.value.path == path
    assert "use one of public, internal, confidential, secret" in str(caught.value)


def test_a_bad_level_in_the_dict_form_is_refused() -> None:
    data = deal().to_dict()
    data["fields"][0]["level"] = "top"
    with pytest.raises(DefinitionError, match=r"fields\.topic\.level: unknown level 'top'"):
        ProcessDefinition.from_dict(data)


def test_confidential_below_its_level_is_a_contradiction() -> None:
    states = [State("open", initial=True, final=True)]
    fields = [Field("phone", "str", confidential=True, level="internal")]
    with pytest.raises(DefinitionError, match=r"fields\.phone\.level: 'internal' is below"):
        ProcessDefinition(name="p", version=1, states=states, transitions=[], fields=fields)


def test_a_bad_clearance_is_refused() -> None:
    with pytest.raises(InvalidValue, match=r"Actor\.clearance: unknown level 'top'; use one"):
        Actor("ann", clearance="top")
    with pytest.raises(ConfigurationError, match=r"clearances\['staff'\]: unknown level"):
        Workflow(clearances={"staff": "top"})
    with pytest.raises(InvalidValue, match="clearance: unknown level"):
        ledger(Workflow().store, calendar=Workflow().calendar, clearance="all")


# --- clearance -------------------------------------------------------------------------


def test_an_actors_clearance(wf: Workflow) -> None:
    assert wf.clearance(Actor("x", {"staff"})) == "internal"
    assert wf.clearance(Actor("x", {"staff", "finance"})) == "secret"  # the highest
    assert wf.clearance(Actor("x", clearance="confidential")) == "confidential"
    assert wf.clearance(Actor("x", {"finance"}, clearance="internal")) == "secret"
    assert wf.clearance("ann") == "confidential"  # a string actor: roles from roles=
    assert wf.clearance("nobody") == "public"  # no role, no clearance: the lowest
    assert wf.clearance(Actor("x")) == "public"
    assert wf.clearance(None) == "secret"  # the system (timers) reads everything


# --- filtered reads --------------------------------------------------------------------


def test_a_case_read_as_its_reader_may(wf: Workflow) -> None:
    as_handler = wf.get("D-1", actor="ann").data
    assert as_handler["topic"] == "AI" and as_handler["phone"] == "138"
    assert as_handler["fee"] == SECRET
    # a copy nested in a field that is not classified is withheld too, never dropped
    assert as_handler["objection"] == {
        "reason": "too dear",
        "fee": SECRET,
        "by": [{"phone": "139"}],
    }
    assert as_handler["archive_record"] == {"content": "AI deal", "fee": SECRET}
    as_public = wf.get("D-1", actor=Actor("guest")).data
    assert as_public["notes"] == INTERNAL and as_public["phone"] == CONFIDENTIAL
    assert as_public["objection"]["by"] == [{"phone": CONFIDENTIAL}]
    assert wf.get("D-1", actor="fin").data == wf.store.load("D-1").data


def test_without_an_actor_a_read_is_unfiltered(wf: Workflow) -> None:
    assert wf.get("D-1") == wf.store.load("D-1")
    assert wf.get("D-1").data["fee"] == Decimal("100")
    assert wf.history("D-1") == wf.store.history("D-1")


def test_history_payloads_are_filtered_as_a_view(wf: Workflow) -> None:
    entries = wf.history("D-1", actor=Actor("sam", {"staff"}))
    start, objected, closed = (e.payload for e in entries if e.kind in ("start", "fire"))
    assert start == {"topic": "AI", "notes": "n", "phone": CONFIDENTIAL, "fee": SECRET}
    assert objected["objection"]["fee"] == SECRET
    assert objected["objection"]["by"] == [{"phone": CONFIDENTIAL}]
    assert closed["archive_record"]["fee"] == SECRET
    # a view: its seals no longer match, the stored chain is untouched and verifies
    assert not verify_chain(entries)
    assert verify_chain(wf.store.history("D-1"))
    assert wf.verify_history("D-1")
    assert wf.store.history("D-1")[0].payload["fee"] == Decimal("100")


def test_a_filtered_read_through_sqlite() -> None:
    with STORE_FACTORIES["sqlite"]() as store:
        wf = run(store)
        assert type(store).__name__ == "SqlStore"
        assert wf.get("D-1", actor="ann").data["objection"]["fee"] == SECRET
        entries = wf.history("D-1", actor="ann")
        assert entries[0].payload["fee"] == SECRET and entries[0].payload["phone"] == "138"
        assert wf.get("D-1", actor="fin").data["fee"] == Decimal("100")
        assert wf.verify_history("D-1")


# --- archive and ledger ----------------------------------------------------------------


def test_the_archive_of_a_case_as_its_reader_may(wf: Workflow) -> None:
    record = archive(wf, "D-1", actor=Actor("sam", {"staff"}))
    data = record["content"]["data"]
    assert data["fee"] == SECRET and data["phone"] == CONFIDENTIAL and data["notes"] == "n"
    assert data["objection"]["fee"] == SECRET
    assert record["confidential"]["withheld"] == ["fee", "phone"]
    assert "clearance" in record["confidential"]["note"]
    payloads = [e["payload"] for e in record["history"]]
    assert payloads[0]["fee"] == SECRET and payloads[2]["archive_record"]["fee"] == SECRET
    assert record["verification"]["ok"] is True  # checked on the stored history
    full = archive(wf, "D-1", actor="fin")
    assert full["content"]["data"]["fee"] == "100" and full["confidential"]["withheld"] == []
    # without a reader: as before, confidential values withheld unless asked for
    old = archive(wf, "D-1")
    assert old["content"]["data"]["fee"] == WITHHELD and old["content"]["data"]["notes"] == "n"


@pytest.fixture(scope="module")
def quarter() -> Workflow:
    return qs.build()


def test_the_archive_of_an_engagement_hides_the_clients_secrets(quarter: Workflow) -> None:
    handler = Actor("li", {"project_manager"}, clearance="confidential")
    record = archive(quarter, "E01", actor=handler)
    assert record["content"]["data"]["materials"] == SECRET  # the client's secrets
    steps = [e for e in record["history"] if e["trigger"] == "record_materials"]
    assert steps[0]["payload"]["materials"] == SECRET
    assert "DOC-SECRET-E01" not in str(record)
    cleared = archive(quarter, "E01", actor=Actor("boss", clearance="secret"))
    assert cleared["content"]["data"]["materials"] == ["DOC-SECRET-E01"]


def test_the_ledger_as_its_reader_may(quarter: Workflow) -> None:
    args: dict[str, Any] = {"calendar": quarter.calendar, "include_confidential": True}
    staff = {str(r["case_id"]): r for r in ledger(quarter.store, clearance="internal", **args)}
    c01 = staff["C01"]
    assert c01["complainant_contact"] == CONFIDENTIAL
    assert c01["complainant_name"] == CONFIDENTIAL and c01["description"] == CONFIDENTIAL
    assert c01["channel"] == "phone" and c01["remedies"] == ["apology"]
    assert "138 0000 0000" not in ledger(quarter.store, clearance="internal", **args).to_csv()
    cleared = ledger(quarter.store, clearance="confidential", **args)
    handler = {str(r["case_id"]): r for r in cleared}
    assert handler["C01"]["complainant_contact"] == "138 0000 0000"
    unfiltered = {str(r["case_id"]): r for r in ledger(quarter.store, **args)}
    assert unfiltered["C01"]["complainant_contact"] == "138 0000 0000"


# --- notifications, errors, templates --------------------------------------------------


def test_notifications_still_exclude_confidential_values() -> None:
    events: list[Event] = []
    wf = Workflow(clock=SteppedClock(T0), processes=[deal()])
    wf.on("*", events.append)
    wf.start("deal", case_id="D-2", data={"topic": "AI", "fee": Decimal("100"), "notes": "n"})
    objection = {"reason": "too dear", "fee": Decimal("90")}
    wf.fire("D-2", "object", payload={"objection": objection})
    started = next(e for e in events if e.type == "case.started")
    assert started.payload["data"] == {"topic": "AI", "notes": "n"}  # fee: secret
    moved = next(e for e in events if e.type == "case.transition")
    assert moved.payload["payload"]["objection"] == {"reason": "too dear", "fee": SECRET}
    assert "90" not in str([e.payload for e in events])


def test_an_error_does_not_echo_a_value_confidential_by_the_process_default() -> None:
    states = [State("open", initial=True), State("done", final=True)]
    p = ProcessDefinition(
        name="p",
        version=1,
        states=states,
        transitions=[Transition("close", source="open", dest="done", accepts=("code",))],
        fields=[Field("code", "str", choices=("a", "b"))],
        default_level="secret",
    )
    wf = Workflow(clock=SteppedClock(T0), processes=[p])
    wf.start("p", case_id="P-1")
    with pytest.raises(GuardFailed) as caught:
        wf.fire("P-1", "close", payload={"code": "the-secret-code"})
    assert "the-secret-code" not in str(caught.value)


def test_the_templates_classify_their_sensitive_fields() -> None:
    engagement = processes.service_engagement().levels
    assert engagement["contract_fee"] == engagement["materials"] == "secret"
    assert engagement["client_contact"] == "confidential"
    assert engagement["client_id"] == "public"
    assert processes.technology_transfer().levels["tech_contract_price"] == "secret"
    complaint = processes.complaint().levels
    assert complaint["complainant_contact"] == complaint["complainant_name"] == "confidential"
    audit = processes.internal_audit().levels
    assert audit["findings"] == "internal" and audit["details"] == "confidential"


def test_redact_walks_mappings_and_lists_without_changing_them() -> None:
    value = {"a": [{"fee": 1}, ({"fee": 2},)], "fee": None, "b": {"c": {"fee": 3}}}
    hidden = {"fee": "secret"}
    assert redact(value, hidden) == {
        "a": [{"fee": SECRET}, [{"fee": SECRET}]],
        "fee": SECRET,
        "b": {"c": {"fee": SECRET}},
    }
    assert value["b"] == {"c": {"fee": 3}}
    assert redact(value, {}) is value


# --- worklists and queries ---------------------------------------------------------------


def test_worklists_and_queries_read_as_the_reader_may() -> None:
    from techsvc_flow.definition import Assign

    desk = ProcessDefinition(
        name="desk",
        version=1,
        states=[
            State("open", initial=True, assign=Assign(roles=("handler", "staff"))),
            State("done", final=True),
        ],
        transitions=[Transition("close", source="open", dest="done")],
        fields=[
            Field("client", "str", level="internal", indexed=True),
            Field("fee", "decimal", level="secret"),
            Field("request", "dict"),
        ],
    )
    wf = Workflow(
        clock=SteppedClock(T0),
        processes=[desk],
        roles=lambda who: ROLES.get(who, []),
        clearances=CLEARANCES,
    )
    data = {"client": "C-7", "fee": Decimal("5"), "request": {"fee": Decimal("4")}}
    wf.start("desk", case_id="W-1", data=data)
    (item,) = wf.worklist("ann")  # a handler: confidential clearance
    assert item.case.data == {"client": "C-7", "fee": SECRET, "request": {"fee": SECRET}}
    (seen,) = wf.query(process="desk", actor="sam")
    assert seen.data["fee"] == SECRET and seen.data["client"] == "C-7"
    (full,) = wf.query(process="desk")  # no reader given: unfiltered
    assert full.data["fee"] == Decimal("5")
    assert [c.id for c in wf.query(fields={"client": "C-7"}, actor="sam")] == ["W-1"]
    with pytest.raises(InvalidValue, match=r"fields\.client"):  # the answer would tell
        wf.query(fields={"client": "C-7"}, actor=Actor("guest"))
