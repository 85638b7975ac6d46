"""SLA clocks as pure functions of their events."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import WorkCalendar
from techsvc_flow.sla import ClockEvent, SlaClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)  # a Tuesday, before National Day
HOURS = "09:00-12:00,13:30-18:00"


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def office(china: WorkCalendar) -> WorkCalendar:
    return china.with_business_hours(HOURS)


# --- events ---------------------------------------------------------------------------


def test_status_follows_the_events() -> None:
    clock = SlaClock("ack", "24h")
    assert clock.status == "idle"
    assert clock.started_at is None
    running = clock.start(T0)
    assert running.status == "running"
    assert running.started_at == T0
    paused = running.pause(T0 + H)
    assert paused.status == "paused"
    resumed = paused.resume(T0 + 2 * H)
    assert resumed.status == "running"
    stopped = resumed.stop(T0 + 3 * H)
    assert stopped.status == "stopped"
    assert [(e.kind, e.at) for e in stopped.events] == [
        ("start", T0),
        ("pause", T0 + H),
        ("resume", T0 + 2 * H),
        ("stop", T0 + 3 * H),
    ]
    assert clock.events == ()  # each step returned a new clock


def test_events_out_of_turn_change_nothing() -> None:
    idle = SlaClock("ack", "24h")
    assert idle.pause(T0) == idle
    assert idle.resume(T0) == idle
    assert idle.stop(T0) == idle
    running = idle.start(T0)
    assert running.start(T0 + H) == running
    assert running.resume(T0 + H) == running
    paused = running.pause(T0 + H)
    assert paused.pause(T0 + 2 * H) == paused
    stopped = paused.stop(T0 + 2 * H)  # a paused clock may be stopped
    assert stopped.status == "stopped"
    assert stopped.start(T0 + 3 * H) == stopped
    assert stopped.resume(T0 + 3 * H) == stopped
    assert stopped.stop(T0 + 3 * H) == stopped


def test_fire_records_marks() -> None:
    clock = SlaClock("ack", "24h").start(T0).fire("warning:50%")
    assert clock.fired == ("warning:50%",)
    assert clock.fire("breach").fired == ("warning:50%", "breach")


def test_budget_needs_a_started_clock(china: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="'ack' has not started"):
        SlaClock("ack", "24h").budget(china)


# --- due ------------------------------------------------------------------------------


def test_due_24h_is_clock_time(china: WorkCalendar) -> None:
    clock = SlaClock("ack", "24h").start(T0)
    assert clock.due(china) == at(10, 1, 17)  # National Day does not matter
    assert clock.budget(china) == 24 * H
    assert clock.provisional(china) is False


def test_due_7wd_national_day(china: WorkCalendar) -> None:
    clock = SlaClock("feedback", "7wd").start(T0)
    due = clock.due(china)
    assert due is not None
    assert due.isoformat() == "2025-10-17T00:00:00+08:00"  # the end of Thu 10-16
    # the budget: the rest of Tue 09-30 plus seven whole working days
    assert clock.budget(china) == 7 * H + dt.timedelta(days=7)


def test_due_7wd_with_business_hours(office: WorkCalendar) -> None:
    clock = SlaClock("feedback", "7wd").start(T0)
    assert clock.due(office) == at(10, 16, 18)  # close of business on the last day
    assert clock.budget(office) == H + 7 * 7.5 * H


def test_due_4wh_with_business_hours(office: WorkCalendar) -> None:
    clock = SlaClock("respond", "4wh").start(T0)
    # 17:00-18:00 on Tue, then the holiday, then 09:00-12:00 on Thu 10-09: ends on the
    # end of a shift and stays there
    assert clock.due(office) == at(10, 9, 12)
    assert clock.budget(office) == 4 * H


def test_due_is_none_unless_running(china: WorkCalendar) -> None:
    clock = SlaClock("ack", "24h")
    assert clock.due(china) is None
    assert clock.start(T0).pause(T0 + H).due(china) is None
    assert clock.start(T0).stop(T0 + H).due(china) is None


# --- pauses ---------------------------------------------------------------------------


def test_pause_extends_a_clock_time_due(china: WorkCalendar) -> None:
    clock = SlaClock("ack", "24h").start(T0).pause(T0 + 2 * H).resume(T0 + 5 * H)
    assert clock.due(china) == T0 + 27 * H
    assert clock.consumed(china, T0 + 6 * H) == 3 * H


def test_pause_extends_a_working_hours_due_by_the_paused_working_time(
    office: WorkCalendar,
) -> None:
    clock = SlaClock("respond", "4wh").start(T0).pause(at(10, 9, 10))
    # paused from Thu 10:00 to Fri 09:00: 6.5 working hours on hold
    resumed = clock.resume(at(10, 10, 9))
    assert resumed.consumed(office, at(10, 10, 9)) == 2 * H
    assert office.working_time_between(at(10, 9, 10), at(10, 10, 9)) == 6.5 * H
    assert office.add_working_time(at(10, 9, 12), 6.5 * H) == at(10, 10, 11)
    assert resumed.due(office) == at(10, 10, 11)


def test_pause_extends_a_working_days_due(china: WorkCalendar) -> None:
    # on hold from Thu 10-09 17:00 to Sat 10-11 17:00 (a make-up working day): two
    # working days' worth of time
    clock = SlaClock("feedback", "7wd").start(T0)
    paused = clock.pause(at(10, 9, 17)).resume(at(10, 11, 17))
    assert china.working_time_between(at(10, 9, 17), at(10, 11, 17)) == 48 * H
    due = paused.due(china)
    assert due is not None
    assert due.isoformat() == "2025-10-21T00:00:00+08:00"


def test_remaining_is_frozen_while_paused(office: WorkCalendar) -> None:
    clock = SlaClock("respond", "4wh").start(T0).pause(at(10, 9, 10))
    frozen = clock.remaining(office, at(10, 9, 10))
    assert frozen == 2 * H
    for later in (at(10, 9, 11), at(10, 10, 15), at(10, 20, 9)):
        assert clock.remaining(office, later) == frozen


def test_remaining_never_increases_while_running(office: WorkCalendar) -> None:
    clock = SlaClock("respond", "4wh").start(T0)
    instants = [T0 + dt.timedelta(minutes=37 * i) for i in range(0, 600)]
    values = [clock.remaining(office, t) for t in instants]
    assert values[0] == 4 * H
    assert all(b <= a for a, b in itertools.pairwise(values))
    assert values[-1] < dt.timedelta()  # breached by then: negative
    # over the holiday nothing is used
    assert clock.remaining(office, at(10, 1, 9)) == clock.remaining(office, at(10, 8, 20)) == 3 * H


def test_consumed_excludes_paused_time(china: WorkCalendar) -> None:
    clock = (
        SlaClock("ack", "24h")
        .start(T0)
        .pause(T0 + 1 * H)
        .resume(T0 + 4 * H)
        .pause(T0 + 6 * H)
        .resume(T0 + 10 * H)
    )
    assert clock.consumed(china, T0) == dt.timedelta()
    assert clock.consumed(china, T0 - H) == dt.timedelta()  # before the start
    assert clock.consumed(china, T0 + 2 * H) == 1 * H
    assert clock.consumed(china, T0 + 5 * H) == 2 * H
    assert clock.consumed(china, T0 + 8 * H) == 3 * H
    assert clock.consumed(china, T0 + 11 * H) == 4 * H
    assert clock.remaining(china, T0 + 11 * H) == 20 * H
    assert clock.due(china) == T0 + 31 * H  # 7 hours on hold


def test_consumed_stops_at_the_stop(china: WorkCalendar) -> None:
    clock = SlaClock("ack", "24h").start(T0).stop(T0 + 30 * H)
    assert clock.consumed(china, T0 + 100 * H) == 30 * H
    assert clock.breached(china, T0 + 100 * H) is True
    early = SlaClock("ack", "24h").start(T0).stop(T0 + 3 * H)
    assert early.breached(china, T0 + 100 * H) is False
    assert early.remaining(china, T0 + 100 * H) == 21 * H


# --- marks ----------------------------------------------------------------------------


def test_warning_marks_and_breach(china: WorkCalendar) -> None:
    clock = SlaClock("ack", "24h").start(T0)
    assert clock.reached_at(china, 0.5) == T0 + 12 * H
    assert clock.reached_at(china, 0.75) == T0 + 18 * H
    assert clock.next_mark(china, (0.5, 0.75)) == ("warning:50%", T0 + 12 * H)
    assert clock.breached(china, T0 + 24 * H) is False  # exactly at the limit
    assert clock.breached(china, T0 + 24 * H + dt.timedelta(seconds=1)) is True


def test_next_mark_skips_fired_marks(china: WorkCalendar) -> None:
    clock = SlaClock("ack", "24h").start(T0)
    warn = (0.5, 0.75)
    clock = clock.fire("warning:50%")
    assert clock.next_mark(china, warn) == ("warning:75%", T0 + 18 * H)
    clock = clock.fire("warning:75%")
    assert clock.next_mark(china, warn) == ("breach", T0 + 24 * H)
    clock = clock.fire("breach")
    assert clock.next_mark(china, warn) is None


def test_marks_in_working_time(office: WorkCalendar) -> None:
    clock = SlaClock("respond", "4wh").start(T0)
    # half of four working hours: 17:00-18:00 Tue, then 09:00-10:00 on Thu 10-09
    assert clock.next_mark(office, (0.5,)) == ("warning:50%", at(10, 9, 10))
    assert clock.reached_at(office, 0.75) == at(10, 9, 11)


def test_marks_after_a_pause(china: WorkCalendar) -> None:
    clock = SlaClock("ack", "24h").start(T0).pause(T0 + 10 * H)
    assert clock.next_mark(china, (0.5,)) is None  # paused: nothing falls due
    resumed = clock.resume(T0 + 20 * H)
    assert resumed.next_mark(china, (0.5,)) == ("warning:50%", T0 + 22 * H)
    # a mark already passed falls due at the resume
    late = SlaClock("ack", "24h").start(T0).pause(T0 + 15 * H).resume(T0 + 20 * H)
    assert late.next_mark(china, (0.5,)) == ("warning:50%", T0 + 20 * H)


def test_clock_events_are_values() -> None:
    event = ClockEvent("start", T0)
    assert event == ClockEvent("start", T0)
    assert SlaClock("a", "24h", [event]).status == "running"
    assert SlaClock("a", "24h", [event]) == SlaClock("a", "24h", (event,))


# --- one rule of lateness: strictly after the due instant --------------------------------


def test_breached_on_the_weekend_after_a_friday_due(office: WorkCalendar) -> None:
    # 4 working hours from Friday 14:00 run out at Friday 18:00 (2025-10-17)
    clock = SlaClock("reply", "4wh").start(at(10, 17, 14))
    assert clock.due(office) == at(10, 17, 18)
    assert clock.breached(office, at(10, 17, 18)) is False  # exactly at the due instant
    # no working time passes over the weekend, yet acting on Saturday is late
    assert clock.consumed(office, at(10, 18, 10)) == clock.budget(office)
    assert clock.breached(office, at(10, 18, 10)) is True
    assert clock.ran_out_at(office) == at(10, 17, 18)


def test_breached_by_a_stop_strictly_after_the_due_instant(office: WorkCalendar) -> None:
    start = SlaClock("reply", "4wh").start(at(10, 17, 14))
    on_time = start.stop(at(10, 17, 18))
    assert on_time.breached(office, at(10, 20, 9)) is False
    late = start.stop(at(10, 18, 10))  # stopped on Saturday
    assert late.breached(office, at(10, 20, 9)) is True
    assert late.breached(office, at(10, 17, 18)) is False  # not yet, at the due instant


def test_paused_before_the_due_instant_is_not_late(office: WorkCalendar) -> None:
    paused = SlaClock("reply", "4wh").start(at(10, 17, 14)).pause(at(10, 17, 17))
    assert paused.ran_out_at(office) is None
    assert paused.breached(office, at(10, 25, 10)) is False
    resumed = paused.resume(at(10, 20, 9))  # one working hour left: due Monday 10:00
    assert resumed.due(office) == at(10, 20, 10)
    assert resumed.breached(office, at(10, 20, 10)) is False
    assert resumed.breached(office, at(10, 20, 10, 1)) is True
