"""A case's history only moves forward: a write dated before its last entry is refused.

And one rule of lateness everywhere: late strictly after the due instant.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import (
    Actor,
    MemoryStore,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Store,
    Transition,
    WorkCalendar,
    Workflow,
    processes,
)
from techsvc_flow.errors import DefinitionError, OutOfOrder
from techsvc_flow.sql import SqlStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENT = Actor("ann", {"agent"})
TICKET = ProcessDefinition(
    name="ticket",
    version=1,
    states=[State("open", initial=True), State("working"), State("done", final=True)],
    transitions=[
        Transition("take", source="open", dest="working", roles=("agent",)),
        Transition("close", source="working", dest="done", roles=("agent",)),
    ],
    slas=[Sla("reply", "4wh", start_states=("open",), stop_states=("done",))],
)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 10, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def wf(china: WorkCalendar) -> Workflow:
    office = china.with_business_hours("09:00-12:00,13:30-18:00")
    return Workflow(calendar=office, clock=SteppedClock(at(17, 14)), processes=[TICKET])


def test_a_fire_dated_before_the_last_entry_is_refused(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1", at=at(17, 14))
    wf.fire("T-1", "take", actor=AGENT, at=at(17, 15))
    before = wf.history("T-1")
    with pytest.raises(OutOfOrder) as caught:
        wf.fire("T-1", "close", actor=AGENT, at=at(17, 14, 30))
    message = str(caught.value)
    assert "2025-10-17T14:30:00+08:00" in message and "2025-10-17T15:00:00+08:00" in message
    assert wf.history("T-1") == before  # nothing written
    assert wf.get("T-1").state == "working"
    # the same instant as the last entry is fine
    assert wf.fire("T-1", "close", actor=AGENT, at=at(17, 15)).state == "done"


def test_marks_move_the_last_instant_too(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1", at=at(17, 14))
    late = at(18, 10)  # Saturday, after the Friday 18:00 due instant
    assert [e.type for e in wf.tick(late)][-1] == "sla.breach"
    assert wf.get("T-1").updated_at == late
    with pytest.raises(OutOfOrder):
        wf.fire("T-1", "take", actor=AGENT, at=at(17, 17))


def test_deadlines_show_the_breach_without_a_tick(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1", at=at(17, 14))
    (friday,) = wf.deadlines("T-1", at=at(17, 18))
    assert friday.due == at(17, 18) and friday.breached is False
    (saturday,) = wf.deadlines("T-1", at=at(18, 10))
    assert saturday.breached is True and saturday.fired == ()  # no tick has run
    assert saturday.remaining == dt.timedelta(0)


def test_a_tick_at_the_due_instant_raises_no_breach(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1", at=at(17, 14))
    assert "sla.breach" not in [e.type for e in wf.tick(at(17, 18))]
    assert [e.type for e in wf.tick(at(17, 18) + dt.timedelta(microseconds=1))] == ["sla.breach"]


def test_a_lagging_clock_keeps_the_history_in_order(wf: Workflow) -> None:
    """Without ``at`` the workflow's clock gives the instant; where it lags the case's
    last entry (another server's clock ran ahead), the entry takes that instant."""
    wf.start("ticket", case_id="T-1", at=at(17, 14))
    wf.fire("T-1", "take", actor=AGENT, at=at(17, 15))  # written by a server ahead
    clock = wf.clock
    assert isinstance(clock, SteppedClock)
    clock.set(at(17, 14, 30))  # this server's clock is behind
    wf.fire("T-1", "close", actor=AGENT)
    entries = wf.history("T-1")
    close = next(e for e in entries if e.trigger == "close")
    assert close.at == at(17, 15)
    assert all(a.at <= b.at for a, b in itertools.pairwise(entries))


def test_a_lagging_tick_writes_in_order(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1", at=at(17, 14))
    wf.fire("T-1", "take", actor=AGENT, at=at(18, 12))  # Saturday, past the due instant
    raised = wf.tick(at(18, 11))  # a worker whose clock is an hour behind
    assert [e.type for e in raised][-1] == "sla.breach"
    entries = wf.history("T-1")
    assert entries[-1].at == at(18, 12)
    assert all(a.at <= b.at for a, b in itertools.pairwise(entries))


# --- one version number, one content: across restarts too --------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_changed_definition_under_the_same_version_is_refused_after_a_restart(
    kind: str, tmp_path: Path, china: WorkCalendar
) -> None:
    def store() -> Store:
        if kind == "memory":
            return shared
        return SqlStore(f"sqlite:///{tmp_path}/flow.db")

    shared = MemoryStore()
    first = Workflow(store(), calendar=china, processes=[processes.complaint()])
    first.start("complaint", case_id="C-1", data={"channel": "phone", "description": "noisy"})
    changed = processes.complaint(acknowledge="12h")  # still version 1
    with pytest.raises(DefinitionError) as caught:
        Workflow(store(), calendar=china, processes=[changed])  # the restart
    assert caught.value.path == "version"
    assert "version=2" in str(caught.value) and "new version" in str(caught.value)
    # the same content again is fine, and so is the change as a new version
    again = Workflow(store(), calendar=china, processes=[processes.complaint()])
    assert again.get("C-1").process_version == 1
    Workflow(store(), calendar=china, processes=[processes.complaint(acknowledge="12h", version=2)])


def test_a_database_from_before_the_record_gives_its_cases_hash(
    tmp_path: Path, china: WorkCalendar
) -> None:
    """Cases stored before the store kept the record (schema 0004) still count."""
    url = f"sqlite:///{tmp_path}/flow.db"
    wf = Workflow(SqlStore(url), calendar=china, processes=[processes.complaint()])
    wf.start("complaint", case_id="C-1", data={"channel": "phone", "description": "noisy"})
    store = SqlStore(url)
    with store.writing() as conn:  # as a database upgraded from 0004 has it: no record
        conn.execute(store.tables.processes.delete())
    with pytest.raises(DefinitionError):
        Workflow(store, calendar=china, processes=[processes.complaint(acknowledge="12h")])
