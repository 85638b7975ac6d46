"""SLA clocks, as a pure function of their events: start, pause, resume, stop.

The limit is a budget measured in the duration's own kind of time: clock time for
``24h``, ``10d`` and ``1mo``; working time for ``7wd`` and ``4wh``. Time spent paused
does not count. Warnings fall due when a fraction of the budget is consumed; the
breach when all of it is.

>>> import datetime as dt
>>> from zoneinfo import ZoneInfo
>>> from techsvc_flow import WorkCalendar
>>> cal = WorkCalendar.china()
>>> t0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
>>> clock = SlaClock("feedback", "7wd").start(t0)
>>> clock.due(cal).isoformat()
'2025-10-17T00:00:00+08:00'
>>> paused = clock.pause(t0 + dt.timedelta(days=9)).resume(t0 + dt.timedelta(days=11))
>>> paused.due(cal).isoformat()   # two working days on hold (Thu 9, Fri 10 Oct)
'2025-10-21T00:00:00+08:00'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

import attrs

from ._time import US
from .durations import CalendarDays, CalendarMonths, ClockTime, Duration, WorkingDays, WorkingHours

__all__ = ["ClockEvent", "SlaClock", "SlaStatus", "Timer", "level_mark"]

SlaStatus = Literal["idle", "running", "paused", "stopped"]
BREACH = "breach"


@attrs.frozen
class ClockEvent:
    """One event of a clock: ``start``, ``pause``, ``resume`` or ``stop``, at an instant."""

    kind: Literal["start", "pause", "resume", "stop"]
    at: dt.datetime


@attrs.frozen
class Timer:
    """A due warning or breach of one case's SLA clock, or the next retry of an
    incident on it (mark ``"incident"``): a row in the store.

    ``due_at`` is when a tick should look at it: the instant a warning's share is
    reached; for the breach, one microsecond after the due instant (late is strictly
    after it).

    A timer whose case could not be processed is pushed back
    (:meth:`~techsvc_flow.store.Store.defer_timer`) and carries the failure: ``error``
    (class and message), ``attempts`` failed so far and ``since`` (when it first failed).
    """

    case_id: str
    sla: str
    mark: str
    due_at: dt.datetime
    attempts: int = 0
    error: str | None = None
    since: dt.datetime | None = None


def _events(values: Iterable[ClockEvent]) -> tuple[ClockEvent, ...]:
    return tuple(values)


def _marks(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _duration(value: Duration | str) -> Duration:
    return Duration.parse(value)


def _working_measure(duration: Duration) -> bool:
    return isinstance(duration, WorkingDays | WorkingHours)


def mark_name(fraction: float) -> str:
    """The mark name of a warning fraction: ``0.5`` → ``"warning:50%"``."""
    return f"warning:{fraction * 100:g}%"


def level_mark(level: str, repeat: int = 0) -> str:
    """The mark name of an escalation level (``"level:lead"``) or of its ``repeat``-th
    reminder (``"level:director#2"``)."""
    return f"level:{level}" if not repeat else f"level:{level}#{repeat}"


def _offset(cal: Any, at: dt.datetime, duration: Duration, times: int) -> dt.datetime:
    """``times`` × ``duration`` after ``at`` (before it when ``times`` is negative),
    counted in the duration's own kind of time."""
    if isinstance(duration, ClockTime):
        return (at + duration.delta * times).astimezone(cal.tz)
    if isinstance(duration, WorkingHours):
        return cal.add_working_time(at, duration.delta * times)  # type: ignore[no-any-return]
    if isinstance(duration, WorkingDays):
        scaled: Duration = WorkingDays(duration.days * times)
    elif isinstance(duration, CalendarDays):
        scaled = CalendarDays(duration.days * times)
    else:
        assert isinstance(duration, CalendarMonths)
        scaled = CalendarMonths(duration.months * times)
    return cal.deadline(at, scaled).due  # type: ignore[no-any-return]


def _same_measure(offset: Duration | None, working: bool) -> dt.timedelta | None:
    """``offset`` as an amount of a clock's measure, if it is one (working hours on a
    working-time clock, clock time on a clock-time one)."""
    if working and isinstance(offset, WorkingHours):
        return offset.delta
    if not working and isinstance(offset, ClockTime):
        return offset.delta
    return None


def _level_target(
    level: Any, repeat: int, budget: dt.timedelta, working: bool
) -> dt.timedelta | None:
    """How much of the clock's measure has run when ``level``'s ``repeat``-th mark is
    reached, where that is a fixed amount (``None`` when it must be counted from the
    due instant in another kind of time)."""
    base: dt.timedelta
    if level.share is not None:
        base = budget * level.share
    else:
        before = _same_measure(level.before, working)
        after = _same_measure(level.after, working)
        if before is not None:
            base = budget - before
        elif after is not None:
            base = budget + after
        else:
            return None
    if repeat:
        every = _same_measure(level.every, working)
        if every is None:
            return None
        base += every * repeat
    return base


@attrs.frozen
class SlaClock:
    """One SLA clock of a case.

    Attributes:
        name: the SLA's name in the definition.
        duration: the limit.
        events: what happened to the clock, in order.
        fired: the marks (warnings, escalation levels, breach) already raised.
        goal: the goal the limit comes from, for an SLA with goals or a due date field
            (``None`` for a fixed limit).
        calendar: the name of the workflow calendar the goal counts in (``None``: the
            workflow's calendar).
    """

    name: str
    duration: Duration = attrs.field(converter=_duration)
    events: tuple[ClockEvent, ...] = attrs.field(default=(), converter=_events)
    fired: tuple[str, ...] = attrs.field(default=(), converter=_marks)
    goal: str | None = None
    calendar: str | None = None

    # --- events -----------------------------------------------------------------------

    @property
    def status(self) -> SlaStatus:
        """``idle`` before start, then ``running``, ``paused`` or ``stopped``."""
        if not self.events:
            return "idle"
        last = self.events[-1].kind
        return {"start": "running", "resume": "running", "pause": "paused"}.get(last, "stopped")  # type: ignore[return-value]

    @property
    def started_at(self) -> dt.datetime | None:
        """When the clock started."""
        return self.events[0].at if self.events else None

    def _add(self, kind: Literal["start", "pause", "resume", "stop"], at: dt.datetime) -> SlaClock:
        return attrs.evolve(self, events=(*self.events, ClockEvent(kind, at)))

    def start(self, at: dt.datetime) -> SlaClock:
        """Start an idle clock (a started clock is returned unchanged)."""
        return self._add("start", at) if self.status == "idle" else self

    def pause(self, at: dt.datetime) -> SlaClock:
        """Pause a running clock."""
        return self._add("pause", at) if self.status == "running" else self

    def resume(self, at: dt.datetime) -> SlaClock:
        """Resume a paused clock."""
        return self._add("resume", at) if self.status == "paused" else self

    def stop(self, at: dt.datetime) -> SlaClock:
        """Stop a running or paused clock for good."""
        return self._add("stop", at) if self.status in ("running", "paused") else self

    def fire(self, mark: str) -> SlaClock:
        """Record that ``mark`` was raised."""
        return attrs.evolve(self, fired=(*self.fired, mark))

    # --- measures ---------------------------------------------------------------------

    def _between(self, cal: Any, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        if _working_measure(self.duration):
            return cal.working_time_between(a, b)  # type: ignore[no-any-return]
        return b - a

    def _advance(self, cal: Any, a: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        if _working_measure(self.duration):
            return cal.add_working_time(a, amount)  # type: ignore[no-any-return]
        return (a + amount).astimezone(cal.tz)

    def budget(self, cal: Any) -> dt.timedelta:
        """The limit as an amount of the clock's measure (working or clock time)."""
        start = self.started_at
        if start is None:
            raise ValueError(f"SLA {self.name!r} has not started")
        if isinstance(self.duration, ClockTime):
            return self.duration.delta
        if isinstance(self.duration, WorkingHours):
            return self.duration.delta
        return self._between(cal, start, cal.deadline(start, self.duration).due)

    def provisional(self, cal: Any) -> bool:
        """Whether the nominal deadline rests on an estimate past the official horizon."""
        start = self.started_at
        if start is None or isinstance(self.duration, ClockTime):
            return False
        return bool(cal.deadline(start, self.duration).provisional)

    def consumed(self, cal: Any, now: dt.datetime) -> dt.timedelta:
        """How much of the budget has run by ``now`` (paused time excluded)."""
        total = dt.timedelta()
        running_since: dt.datetime | None = None
        for event in self.events:
            if event.at > now:
                break
            if event.kind in ("start", "resume"):
                running_since = event.at
            elif running_since is not None:
                total += self._between(cal, running_since, event.at)
                running_since = None
        if running_since is not None and now > running_since:
            total += self._between(cal, running_since, now)
        return total

    def _run_state(self, cal: Any) -> tuple[dt.datetime, dt.timedelta] | None:
        """(last resume or start, consumed at that instant) while running."""
        if self.status != "running":
            return None
        since = self.events[-1].at
        return since, self.consumed(cal, since)

    def reached_at(self, cal: Any, fraction: float) -> dt.datetime | None:
        """When ``fraction`` of the budget will be consumed, if the clock keeps running.

        ``None`` while idle, paused or stopped.
        """
        state = self._run_state(cal)
        if state is None:
            return None
        since, used = state
        target = self.budget(cal) * fraction
        if target <= used:
            return since
        return self._advance(cal, since, target - used)

    def due(self, cal: Any) -> dt.datetime | None:
        """The instant the limit is reached, if the clock keeps running."""
        return self.reached_at(cal, 1.0)

    def remaining(self, cal: Any, now: dt.datetime) -> dt.timedelta:
        """Budget left at ``now`` (negative once breached); frozen while paused."""
        return self.budget(cal) - self.consumed(cal, now)

    def next_mark(
        self, cal: Any, warn_at: tuple[float, ...], ladder: tuple[Any, ...] = ()
    ) -> tuple[str, dt.datetime] | None:
        """The next mark not yet raised and when it falls due, while running."""
        due = self.next_due(cal, warn_at, ladder)
        return None if due is None else (due[0], due[1])

    def next_due(
        self, cal: Any, warn_at: tuple[float, ...], ladder: tuple[Any, ...] = ()
    ) -> tuple[str, dt.datetime, dt.datetime] | None:
        """The next mark not yet raised while running: ``(mark, reached at, looked at)``.

        A mark is looked at the instant it is reached, except the breach and the levels
        at or after the limit, which are late only strictly after it (a microsecond
        later). Among warnings, the breach and the ``ladder``'s levels (objects with
        ``name``, ``share``, ``before``, ``after``, ``every`` and ``repeat``, see
        :class:`~techsvc_flow.definition.Level`), the earliest comes first; on a tie,
        warnings and the breach, then the ladder's order.
        """
        state = self._run_state(cal)
        if state is None:
            return None
        since, used = state
        budget = self.budget(cal)
        # a mark whose instant is a share of the budget is compared by that amount (the
        # instant grows with it) and only the earliest is turned into an instant
        best: tuple[dt.timedelta, bool, int, str] | None = None
        for fraction in (*warn_at, 1.0):
            mark = BREACH if fraction == 1.0 else mark_name(fraction)
            if mark not in self.fired:
                best = (budget * fraction, mark == BREACH, 0, mark)
                break
        others: list[tuple[int, str, Any, int, bool]] = []
        working = _working_measure(self.duration)
        for order, level in enumerate(ladder, 1):
            for repeat in range(level.repeat + 1):
                mark = level_mark(level.name, repeat)
                if mark in self.fired:
                    continue
                strict = level.before is None and (level.share is None or level.share >= 1)
                target = _level_target(level, repeat, budget, working)
                if target is None:
                    others.append((order, mark, level, repeat, strict))
                elif best is None or (target, strict, order) < best[:3]:
                    best = (target, strict, order, mark)
                break
        found: tuple[str, dt.datetime, dt.datetime, int] | None = None
        if best is not None:
            target, strict, order, mark = best
            at = since if target <= used else self._advance(cal, since, target - used)
            found = (mark, at, at + US if strict else at, order)
        # a level after the due instant cannot come before a mark up to the limit
        late = best is not None and best[0] <= budget
        others = [o for o in others if not (late and o[2].after is not None)]
        if others:
            due = since if budget <= used else self._advance(cal, since, budget - used)
            for order, mark, level, repeat, strict in others:
                if level.share is not None:
                    share = budget * level.share
                    at = since if share == used else self._advance(cal, since, share - used)
                elif level.after is not None:
                    at = _offset(cal, due, level.after, 1)
                else:
                    at = _offset(cal, due, level.before, -1)
                if repeat:
                    at = _offset(cal, at, level.every, repeat)
                at = max(at, since)  # reached when it starts running, at the earliest
                look = at + US if strict else at
                if found is None or (look, order) < (found[2], found[3]):
                    found = (mark, at, look, order)
        return None if found is None else found[:3]

    def ran_out_at(self, cal: Any) -> dt.datetime | None:
        """The first instant the budget ran out while the clock was running.

        ``None`` when it has not run out in a running stretch (it may still, while the
        clock runs: then :meth:`due` is that instant). The clock is *late* strictly
        after this instant, in plain time: a limit that runs out on Friday at 18:00 is
        exceeded by acting on Saturday, although no working time passed in between.
        """
        events = self.events
        for i, event in enumerate(events):
            if event.kind not in ("start", "resume"):
                continue
            due = SlaClock(self.name, self.duration, events[: i + 1]).reached_at(cal, 1.0)
            if due is not None and (i + 1 == len(events) or due < events[i + 1].at):
                return due
        return None

    def breached(self, cal: Any, now: dt.datetime) -> bool:
        """Whether the clock was still running strictly after its budget ran out, by
        ``now`` (a stopped clock: by its stop).

        The one rule of lateness everywhere (ticks, :meth:`Workflow.deadlines`, quality
        reports): *late strictly after the due instant*. Acting exactly at the due
        instant is on time.
        """
        ran_out = self.ran_out_at(cal)
        if ran_out is None or not ran_out < now:
            return False
        return self.status != "stopped" or ran_out < self.events[-1].at
