"""Raising the SLA warnings and breaches that have fallen due (:meth:`Workflow.tick`).

A store keeps, per case and SLA, one timer: the next mark of the running clock, or the
next retry of an open incident on it, whichever comes first. A tick claims the due
timers and, per timer, raises the marks due on the case's clock (``sla.warning`` /
``sla.breach`` entries), retries the incidents due and fires the SLA's
``breach_trigger`` where a breach was raised: all of it planned on the marked case and
written with one call of the commit step, so a breach and its escalation commit
together or not at all. A refused or failing automatic trigger opens an incident
(:mod:`~techsvc_flow.engine.incidents`) written with the marks.

A timer whose case cannot be processed at all is pushed back with the error (a
``"timer"`` incident) and the other due timers are processed in the same call. Any
number of processes may tick at once: a second raiser loses the optimistic check and
finds the mark already raised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from ..case import Case
from ..errors import CaseNotFound, ConcurrentUpdate
from ..incident import Incident, incident_id
from ..notifications import Event
from ..sla import BREACH, Timer
from ._fire import Planned, Refused, plan
from ._machine import CompiledMachine
from ._slas import clock_calendar
from ._unit import Draft
from .incidents import backoff, error_text, incident_payload, timer_event, timer_incident, without

if TYPE_CHECKING:
    from .workflow import Workflow

__all__ = ["ATTEMPTS", "Ticked", "tick"]

#: how often a write that lost an optimistic race is tried again here
ATTEMPTS = 5

#: the events a tick returns
_RAISED = ("sla.warning", "sla.breach", "sla.escalation")

#: the actor of the engine's own actions
SYSTEM = "system"


class Ticked(list[Event]):
    """The ``sla.warning`` / ``sla.breach`` / ``sla.escalation`` events a tick raised (a
    list), and whether
    it stopped at its ``limit`` with due timers left (:attr:`more`)."""

    more: bool

    def __init__(self, events: Iterable[Event] = (), *, more: bool = False) -> None:
        super().__init__(events)
        #: True when due timers remain: call ``tick`` again
        self.more = more


def tick(wf: Workflow, now: dt.datetime, limit: int) -> Ticked:
    """Process up to ``limit`` timers due by ``now``: raise marks, fire breach triggers,
    retry incidents. Returns the ``sla.warning`` / ``sla.breach`` events raised."""
    due = wf.store.due_timers(now, limit + 1)
    raised = Ticked(more=len(due) > limit)
    unhandled: list[Exception] = []
    for timer in due[:limit]:
        try:
            raised.extend(_run(wf, timer, now))
        except Exception as exc:  # the case cannot be processed: put the timer aside
            try:
                _defer(wf, timer, now, exc)
            except NotImplementedError:  # a store that cannot: raise once the rest is done
                unhandled.append(exc)
    if unhandled:
        raise unhandled[0]
    return raised


def _run(wf: Workflow, timer: Timer, now: dt.datetime) -> list[Event]:
    for attempt in range(ATTEMPTS):
        try:
            events = _process(wf, timer, now)
        except ConcurrentUpdate:
            if attempt == ATTEMPTS - 1:
                return []  # the timer stays due: a later tick gets through
            continue
        except CaseNotFound:  # deleted with its timers
            return []
        return [e for e in events if e.type in _RAISED]
    return []  # pragma: no cover


def _process(wf: Workflow, timer: Timer, now: dt.datetime) -> list[Event]:
    """Raise the due marks of ``timer``'s clock, retry the due incidents on it and fire
    the breach trigger, as one write; returns the events written."""
    case = wf.store.load(timer.case_id)
    machine = wf._machine(case.process, case.process_version)
    definition = machine.definition
    # when it is written: ``now``, in the history's order also where this worker's clock
    # lags the case's last writer
    at = max(now, case.updated_at)
    drafts: list[Draft] = []
    if timer.error is not None:  # it was put aside; this attempt gets through
        payload = incident_payload(timer_incident(timer))
        drafts.append(Draft("incident.resolved", SYSTEM, None, case.state, payload=payload))
    clock = case.clocks.get(timer.sla)
    sla = definition.sla_map.get(timer.sla)
    marks: list[tuple[str, dt.datetime]] = []
    cal = wf.calendar if clock is None else clock_calendar(clock, wf.calendar, wf.calendars)
    while clock is not None and sla is not None and clock.status == "running":
        mark = clock.next_due(cal, sla.warn_at, sla.ladder)
        if mark is None or mark[2] > now:
            break  # not due yet (late is strictly after the due instant)
        clock = clock.fire(mark[0])
        marks.append((mark[0], mark[1]))
    moved = case
    escalations: list[str] = []
    if clock is not None and sla is not None and marks:
        due = clock.due(cal)
        levels = {lv.name: lv for lv in sla.ladder}
        for name, when in marks:
            payload = {
                "sla": sla.name,
                "mark": name,
                "reached_at": when.isoformat(),
                "due": due.isoformat() if due else None,
            }
            if name == BREACH:
                drafts.append(Draft("sla.breach", payload=payload))
                if sla.breach_trigger:
                    escalations.append(sla.breach_trigger)
            elif name.startswith("level:"):
                level_name, _, repeat = name[len("level:") :].partition("#")
                level = levels[level_name]
                payload.update(level=level.name, notify=list(level.notify), repeat=int(repeat or 0))
                drafts.append(Draft("sla.escalation", payload=payload))
                if level.trigger and not repeat:
                    escalations.append(level.trigger)
            else:
                drafts.append(Draft("sla.warning", payload=payload))
        moved = attrs.evolve(case, clocks={**case.clocks, sla.name: clock})
    for incident in case.incidents:
        retry = incident.next_attempt_at
        if incident.sla == timer.sla and retry is not None and retry <= now:
            moved = _retry(wf, machine, moved, incident, drafts, at)
    for trigger in escalations:  # in the order their marks were reached
        assert sla is not None
        moved = _escalate(wf, machine, moved, sla.name, trigger, drafts, at)
    # also when nothing was due (e.g. the calendar got a newly published schedule): the
    # write sets the case's timers afresh, or this one stays due forever
    return wf._write(definition, case, moved, drafts, at).events


def _attempt(
    wf: Workflow, machine: CompiledMachine, case: Case, trigger: str, now: dt.datetime
) -> Planned | Exception:
    try:
        planned = plan(
            machine,
            wf.calendar,
            case,
            trigger,
            {},
            now,
            SYSTEM,
            frozenset(),
            system=True,
            calendars=wf.calendars,
        )
    except Exception as exc:  # a guard or hook that raises: an incident, like a refusal
        return exc
    return planned.error if isinstance(planned, Refused) else planned


def _escalate(
    wf: Workflow,
    machine: CompiledMachine,
    case: Case,
    sla: str,
    trigger: str,
    drafts: list[Draft],
    now: dt.datetime,
) -> Case:
    """Fire ``trigger`` on the marked ``case``; if refused or failing, open an incident."""
    result = _attempt(wf, machine, case, trigger, now)
    if isinstance(result, Planned):
        drafts += result.drafts
        return result.case
    kind, message = error_text(result)
    incident = Incident(
        id=incident_id("trigger", case.id, case.seq, sla, trigger, now.timestamp()),
        case_id=case.id,
        kind="trigger",
        sla=sla,
        trigger=trigger,
        error=f"{kind}: {message}",
        opened_at=now,
        attempts=1,
        next_attempt_at=now + backoff(1),
    )
    payload = incident_payload(incident)
    drafts.append(Draft("incident", SYSTEM, trigger, case.state, payload=payload))
    return attrs.evolve(case, incidents=(*case.incidents, incident))


def _retry(
    wf: Workflow,
    machine: CompiledMachine,
    case: Case,
    incident: Incident,
    drafts: list[Draft],
    now: dt.datetime,
) -> Case:
    """Try the trigger ``incident`` owes again: fired and closed, or put off further."""
    trigger = incident.trigger or ""
    result = _attempt(wf, machine, case, trigger, now)
    attempts = incident.attempts + 1
    if isinstance(result, Planned):
        drafts += result.drafts
        payload = incident_payload(attrs.evolve(incident, attempts=attempts))
        drafts.append(Draft("incident.resolved", SYSTEM, trigger, case.state, payload=payload))
        return without(result.case, incident)
    kind, message = error_text(result)
    later = attrs.evolve(
        incident,
        attempts=attempts,
        error=f"{kind}: {message}",
        next_attempt_at=now + backoff(attempts),
    )
    return attrs.evolve(
        case, incidents=tuple(later if i is incident else i for i in case.incidents)
    )


def _defer(wf: Workflow, timer: Timer, now: dt.datetime, exc: Exception) -> None:
    """Push ``timer`` back with the error; the first time, an ``incident.opened`` event."""
    kind, message = error_text(exc)
    attempts = timer.attempts + 1
    deferred = attrs.evolve(
        timer,
        due_at=now + backoff(attempts),
        attempts=attempts,
        error=f"{kind}: {message}",
        since=timer.since or now,
    )
    events = []
    if timer.error is None:
        events.append(timer_event(deferred, timer_incident(deferred), "incident.opened", now))
    if wf.store.defer_timer(timer, deferred, events):
        wf._outbox.after_commit(wf.store, events, now)
