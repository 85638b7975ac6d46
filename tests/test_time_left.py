"""Time left on an SLA clock in a human form: ``SlaState.left`` and ``deadlines(running=)``."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import MemoryStore, SteppedClock, WorkCalendar, Workflow, processes
from techsvc_flow.case import Actor
from techsvc_flow.durations import TimeLeft

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def workflow(hours: str | None) -> tuple[Workflow, SteppedClock]:
    clock = SteppedClock(at(10, 20, 9))
    cal = WorkCalendar.china(business_hours=hours, coverage="provisional")
    wf = Workflow(MemoryStore(), calendar=cal, clock=clock, processes=[processes.complaint()])
    data = {"channel": "email", "description": "late", "complainant_contact": "x@y.cn"}
    wf.start("complaint", case_id="C-1", actor=Actor("r", {"reception"}), data=data)
    return wf, clock


def test_left_reads_in_working_days_hours_or_overdue() -> None:
    wf, _ = workflow("09:00-12:00,13:30-18:00")
    states = {s.name: s for s in wf.deadlines("C-1", at=at(10, 20, 10))}
    feedback = next(s for s in states.values() if s.duration == "7wd")
    assert feedback.remaining is not None and isinstance(feedback.remaining, dt.timedelta)
    assert feedback.workday == dt.timedelta(hours=7, minutes=30)
    # the rest of the day of receipt, then 7 working days of 7h30; one hour used
    assert str(feedback.left) == "7 wd 6h30"
    assert feedback.left is not None and feedback.left.text("zh") == "7个工作日6小时30分"
    ack = next(s for s in states.values() if s.duration == "24h")
    assert str(ack.left) == "23h" and ack.left is not None and ack.left.kind == "clock"
    late = {s.name: s for s in wf.deadlines("C-1", at=at(10, 21, 10))}[ack.name]
    assert str(late.left) == "overdue by 1h" and late.left is not None and late.left.overdue
    # a working-day limit that ran out on Wednesday 18:00 is late that evening, with no
    # working time used past it: "overdue", not "0h working"
    evening = {s.name: s for s in wf.deadlines("C-1", at=at(10, 29, 20))}[feedback.name]
    assert evening.remaining == dt.timedelta(0) and str(evening.left) == "overdue"


def test_left_of_a_working_day_limit_without_business_hours() -> None:
    wf, _ = workflow(None)
    feedback = next(s for s in wf.deadlines("C-1", at=at(10, 20, 10)) if s.duration == "7wd")
    assert feedback.workday == dt.timedelta(days=1)
    assert str(feedback.left) == "7 wd 14h"  # days of 24 working hours


def test_deadlines_can_list_only_the_running_clocks() -> None:
    wf, _ = workflow(None)
    every = wf.deadlines("C-1", at=at(10, 20, 10))
    running = wf.deadlines("C-1", at=at(10, 20, 10), running=True)
    assert {s.status for s in every} > {"running"}  # idle clocks too
    assert running == [s for s in every if s.status == "running"] and running
    idle = next(s for s in every if s.status == "idle")
    assert idle.left is None


def test_working_hours_form() -> None:
    assert str(TimeLeft(dt.timedelta(hours=53, minutes=30), "working")) == "53h30 working"
    assert (
        TimeLeft(dt.timedelta(hours=53, minutes=30), "working").text("zh")
        == "53小时30分（工作时间）"
    )
    assert str(TimeLeft(dt.timedelta(hours=-1), "working")) == "overdue by 1h working"
    assert str(TimeLeft(dt.timedelta(hours=24.5), "working", dt.timedelta(hours=7.5))) == "3 wd 2h"


def test_transition_not_allowed_lists_what_the_actor_could_fire() -> None:
    from techsvc_flow import TransitionNotAllowed

    wf, _ = workflow(None)
    with pytest.raises(TransitionNotAllowed) as info:
        wf.fire("C-1", "close", actor=Actor("h", {"handler"}))
    err = info.value
    assert "escalate_overdue" not in err.allowed and err.allowed  # the system fires it
    assert "escalate_overdue" in err.system_only and "escalate_overdue" in err.others
    assert "escalate_overdue (system only)" in str(err)
    allowed = str(err).split("allowed: ")[1].split(";")[0]
    assert "escalate_overdue" not in allowed
