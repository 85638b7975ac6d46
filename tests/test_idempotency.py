"""An idempotency key names one request: the same request again gets the stored case
back, another request under the same key is refused (on every store)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import Actor, ProcessDefinition, State, SteppedClock, Store, Transition, Workflow
from techsvc_flow.calendar import WorkCalendar
from techsvc_flow.definition import Field
from techsvc_flow.errors import IdempotencyConflict

SHANGHAI = ZoneInfo("Asia/Shanghai")
ANN = Actor("ann", {"agent"})
BOB = Actor("bob", {"agent"})
ORDER = ProcessDefinition(
    name="order",
    version=1,
    fields=[Field("amount", "decimal"), Field("note", "str")],
    states=[State("open", initial=True), State("priced"), State("done", final=True)],
    transitions=[
        Transition("price", source="open", dest="priced", roles=("agent",),
                   accepts=("amount", "note")),
        Transition("cancel", source="open", dest="done", roles=("agent",)),
        Transition("ship", source="priced", dest="done", roles=("agent",)),
    ],
)  # fmt: skip


@pytest.fixture
def wf(store: Store, china: WorkCalendar) -> Workflow:
    clock = SteppedClock(dt.datetime(2025, 9, 30, 9, 0, tzinfo=SHANGHAI))
    flow = Workflow(store, calendar=china, clock=clock, processes=[ORDER])
    flow.start("order", case_id="O-1")
    return flow


PRICE = {"amount": Decimal("12.50"), "note": "list price"}


def test_the_same_request_again_gets_the_stored_case(wf: Workflow) -> None:
    first = wf.fire("O-1", "price", actor=ANN, payload=PRICE, idempotency_key="req-1")
    history = wf.history("O-1")
    again = wf.fire("O-1", "price", actor=ANN, payload=dict(PRICE), idempotency_key="req-1")
    assert again == first
    assert wf.history("O-1") == history


@pytest.mark.parametrize(
    ("trigger", "payload", "actor", "differs"),
    [
        ("cancel", {}, ANN, ("trigger", "payload")),
        ("price", {**PRICE, "amount": Decimal("99")}, ANN, ("payload",)),
        ("price", PRICE, BOB, ("actor",)),
    ],
)
def test_another_request_under_the_same_key_is_refused(
    wf: Workflow,
    trigger: str,
    payload: dict[str, object],
    actor: Actor,
    differs: tuple[str, ...],
) -> None:
    wf.fire("O-1", "price", actor=ANN, payload=PRICE, idempotency_key="req-1")
    history = wf.history("O-1")
    with pytest.raises(IdempotencyConflict) as caught:
        wf.fire("O-1", trigger, actor=actor, payload=payload, idempotency_key="req-1")
    assert caught.value.differs == differs
    assert caught.value.key == "req-1" and caught.value.case_id == "O-1"
    assert "req-1" in str(caught.value) and "new key" in str(caught.value)
    assert "99" not in str(caught.value)  # values are never echoed
    assert wf.history("O-1") == history  # nothing written
