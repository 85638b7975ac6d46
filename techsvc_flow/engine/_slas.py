"""SLA clocks as a case moves: start, pause, resume and stop them on entering a state,
the timers a case needs, and where each clock stands (:class:`SlaState`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ..calendar import WorkCalendar
from ..case import Case
from ..definition import ProcessDefinition, Sla
from ..durations import ClockTime, Duration, TimeLeft
from ..sla import BREACH, SlaClock, Timer

__all__ = [
    "INCIDENT",
    "SlaState",
    "advance",
    "case_timers",
    "clock_calendar",
    "limit",
    "sla_payload",
    "sla_states",
]


@attrs.frozen
class SlaState:
    """Where one SLA clock of a case stands.

    Attributes:
        name: the SLA.
        status: ``idle``, ``running``, ``paused`` or ``stopped``.
        duration: the limit (text form, e.g. ``"7wd"``).
        started_at: when the clock started.
        due: when the limit is reached if the clock keeps running (``None`` when idle,
            paused or stopped).
        remaining: budget left (working time for working-day and working-hour limits),
            negative once breached; frozen while paused.
        breached: the limit has been exceeded.
        provisional: the deadline rests on an estimate past the official horizon.
        next_mark: the next warning or breach not yet raised, and when.
        fired: the marks already raised.
        workday: the working time of one working day (for a working-day limit).
    """

    name: str
    status: str
    duration: str
    started_at: dt.datetime | None
    due: dt.datetime | None
    remaining: dt.timedelta | None
    breached: bool
    provisional: bool
    next_mark: tuple[str, dt.datetime] | None
    fired: tuple[str, ...]
    workday: dt.timedelta | None = None

    @property
    def left(self) -> TimeLeft | None:
        """:attr:`remaining` with a human form (``str(state.left)``: ``"53h30 working"``,
        ``"3 wd 2h"``, ``"overdue by 1h working"``); ``None`` while idle."""
        if self.remaining is None:
            return None
        working = self.duration.endswith(("wd", "wh", "wmin"))
        return TimeLeft(
            self.remaining, "working" if working else "clock", self.workday, late=self.breached
        )


def clock_calendar(
    clock: SlaClock, calendar: WorkCalendar, calendars: Mapping[str, WorkCalendar]
) -> WorkCalendar:
    """The calendar ``clock`` counts in: its goal's named one, else ``calendar``."""
    return calendar if clock.calendar is None else calendars.get(clock.calendar, calendar)


def limit(
    sla: Sla, data: Mapping[str, Any], start: dt.datetime, calendar: WorkCalendar
) -> tuple[str | None, Duration, str | None]:
    """The goal and the limit of ``sla`` for a clock started at ``start`` on ``data``.

    A fixed limit has no goal (``None``). With goals, the first whose condition holds,
    else ``"default"`` (the SLA's duration). With a due date field that is set, the
    field's name and the clock time from ``start`` to the due instant (a date: the end
    of that day in ``calendar``). Last, the name of the goal's calendar, if it has one.
    """
    if sla.due_field is not None:
        value = data.get(sla.due_field)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return sla.due_field, ClockTime(value - start), None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return sla.due_field, ClockTime(calendar.end_of_day(value) - start), None
        return "default", sla.duration, None
    for goal in sla.goals:
        if goal.matches(data):
            return goal.name, goal.duration, goal.calendar
    return ("default" if sla.goals else None), sla.duration, None


def advance(
    definition: ProcessDefinition,
    clocks: Mapping[str, SlaClock],
    dest: str,
    trigger: str | None,
    at: dt.datetime,
    data: Mapping[str, Any] | None = None,
    calendar: WorkCalendar | None = None,
    changed: frozenset[str] = frozenset(),
) -> tuple[Mapping[str, SlaClock], list[tuple[str, str]]]:
    """Advance the SLA clocks for entering ``dest`` (by ``trigger``, ``None`` on start).

    ``data`` is the case data after the step, ``changed`` the fields it changed: an
    open clock whose limit reads one of them takes its goal afresh (the time already
    consumed carries over; the new limit applies).

    Returns the clocks and the changes made, as ``[(kind, sla)]`` with kind one of
    ``started``, ``paused``, ``resumed``, ``stopped``, ``goal_changed``.
    """
    if not definition.slas:
        return clocks, []
    out = dict(clocks)
    changes: list[tuple[str, str]] = []
    values = data if data is not None else {}
    for sla in definition.slas:
        clock = out.get(sla.name)
        stopping = dest in sla.stop_states or (trigger is not None and trigger in sla.stop_triggers)
        if (
            clock is not None
            and not stopping  # a clock this step stops keeps the limit it ran under
            and changed
            and calendar is not None
            and clock.status in ("running", "paused")
            and not changed.isdisjoint(sla.reads)
        ):
            start = clock.started_at
            assert start is not None
            goal, duration, named = limit(sla, values, start, calendar)
            if sla.due_required and goal != sla.due_field:  # its date was cleared
                clock = clock.stop(at)
                changes.append(("stopped", sla.name))
            elif goal != clock.goal or duration != clock.duration or named != clock.calendar:
                clock = attrs.evolve(clock, goal=goal, duration=duration, calendar=named)
                changes.append(("goal_changed", sla.name))
        status = clock.status if clock is not None else "idle"
        stop_trigger = trigger is not None and trigger in sla.stop_triggers
        if clock is not None and status in ("running", "paused"):
            if dest in sla.stop_states or stop_trigger:
                clock = clock.stop(at)
                changes.append(("stopped", sla.name))
            elif status == "running" and dest in sla.pause_states:
                clock = clock.pause(at)
                changes.append(("paused", sla.name))
            elif status == "paused" and dest not in sla.pause_states:
                clock = clock.resume(at)
                changes.append(("resumed", sla.name))
        starts = dest in sla.start_states or (trigger is not None and trigger in sla.start_triggers)
        if starts and sla.due_required:  # only for a date this step set
            starts = sla.due_field in changed and values.get(sla.due_field) is not None
        status = clock.status if clock is not None else "idle"
        if starts and status in ("idle", "stopped") and dest not in sla.stop_states:
            if sla.goals or sla.due_field is not None:
                assert calendar is not None, "an SLA with goals needs the calendar"
                goal, duration, named = limit(sla, values, at, calendar)
                clock = SlaClock(sla.name, duration, goal=goal, calendar=named).start(at)
            else:
                clock = SlaClock(sla.name, sla.duration).start(at)
            changes.append(("started", sla.name))
            if dest in sla.pause_states:
                clock = clock.pause(at)
                changes.append(("paused", sla.name))
        if clock is not None:
            out[sla.name] = clock
    return out, changes


def sla_payload(
    clock: SlaClock, calendar: WorkCalendar, calendars: Mapping[str, WorkCalendar] = {}
) -> dict[str, Any]:
    """What an ``sla.started`` / ``paused`` / ``resumed`` / ``stopped`` entry records."""
    cal = clock_calendar(clock, calendar, calendars)
    due = clock.due(cal)
    start = clock.started_at
    out = {
        "sla": clock.name,
        "duration": str(clock.duration),
        "status": clock.status,
        "due": due.isoformat() if due else None,
        # the digest of the calendar the deadline was computed with (its years)
        "calendar": cal.digest_between(start, due) if due and start else None,
    }
    if clock.goal is not None:
        out["goal"] = clock.goal
    if clock.calendar is not None:  # a goal's named calendar
        out["calendar_name"] = clock.calendar
    return out


#: the mark of a timer that retries an open incident of the case
INCIDENT = "incident"


def case_timers(
    case: Case,
    definition: ProcessDefinition,
    calendar: WorkCalendar,
    calendars: Mapping[str, WorkCalendar] = {},
) -> list[Timer]:
    """The timers a case needs: the next warning or breach of each running SLA clock,
    or the next retry of an open incident on the SLA when that comes first (one timer
    per SLA; a tick handles both).

    A warning's timer is due at the instant its share of the budget is reached; the
    breach's one microsecond after the due instant (late is strictly after it).
    """
    timers = {}
    for name, clock in case.clocks.items():
        sla = definition.sla_map.get(name)
        if sla is None or clock.status != "running":
            continue
        cal = clock_calendar(clock, calendar, calendars)
        mark = clock.next_due(cal, sla.warn_at, sla.ladder)
        if mark is not None:
            # late strictly after the due instant: the breach is looked at one tick of
            # the clock (a microsecond) after it
            timers[name] = Timer(case.id, name, mark[0], mark[2])
    for incident in case.incidents:
        retry, owed = incident.next_attempt_at, incident.sla
        if retry is None or owed is None:
            continue
        timer = timers.get(owed)
        if timer is None or retry < timer.due_at:
            timers[owed] = Timer(case.id, owed, INCIDENT, retry)
    return list(timers.values())


def sla_states(
    case: Case,
    definition: ProcessDefinition,
    calendar: WorkCalendar,
    at: dt.datetime,
    calendars: Mapping[str, WorkCalendar] = {},
) -> list[SlaState]:
    """Where each SLA clock of ``case`` stands at ``at``, in the definition's order."""
    out = []
    for sla in definition.slas:
        clock = case.clocks.get(sla.name)
        if clock is None:
            out.append(
                SlaState(sla.name, "idle", str(sla.duration), None, None, None, False, False,
                         None, ())
            )  # fmt: skip
            continue
        cal = clock_calendar(clock, calendar, calendars)
        out.append(
            SlaState(
                name=sla.name,
                status=clock.status,
                duration=str(clock.duration),
                started_at=clock.started_at,
                due=clock.due(cal),
                remaining=clock.remaining(cal, at),
                breached=clock.breached(cal, at) or BREACH in clock.fired,
                provisional=clock.provisional(cal),
                next_mark=clock.next_mark(cal, sla.warn_at, sla.ladder),
                fired=clock.fired,
                workday=_workday(calendar) if str(clock.duration).endswith("wd") else None,
            )
        )
    return out


def _workday(calendar: WorkCalendar) -> dt.timedelta:
    """The working time of a usual working day (its default business hours, else 24 h)."""
    hours = calendar.business_hours
    if hours is None:
        return dt.timedelta(days=1)
    return dt.timedelta(minutes=sum(shift.end - shift.start for shift in hours.default))
