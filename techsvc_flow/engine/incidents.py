"""Incidents: automatic work the engine owes, listed, retried with backoff and resolved.

A breach's automatic trigger that is refused (any :class:`~techsvc_flow.FlowError`) or
whose guard raises opens a ``"trigger"`` incident: an ``incident`` history entry (an
``incident.opened`` event) written with the breach, and the open incident kept on the
case (:attr:`~techsvc_flow.case.Case.incidents`), from which the case's timers retry it.
A due timer whose case cannot be processed at all (its process is not registered here,
its row does not decode, ...) opens a ``"timer"`` incident: the timer is pushed back
with the error (:meth:`~techsvc_flow.store.Store.defer_timer`) and an
``incident.opened`` event goes to the outbox. Retries wait :func:`backoff`. A retry
that gets through, or a person (:meth:`Workflow.resolve_incident`), closes the incident
with an ``incident.resolved`` entry and event.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import attrs

from ..case import Case, HistoryEntry
from ..errors import ConcurrentUpdate, IncidentNotFound, InvalidValue
from ..incident import Incident, incident_id
from ..notifications import Event, event_id
from ..sla import Timer
from ._unit import Draft

if TYPE_CHECKING:
    from .workflow import ActorLike, Workflow

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "backoff",
    "error_text",
    "list_incidents",
    "resolve_incident",
    "timer_incident",
]

#: the wait after an incident's first failed attempt; it doubles with each further one
BACKOFF_BASE = dt.timedelta(minutes=1)
#: the longest wait between two attempts
BACKOFF_CAP = dt.timedelta(hours=1)

#: how many times a write that lost an optimistic race is tried again here
_ATTEMPTS = 5


def backoff(attempts: int) -> dt.timedelta:
    """The wait after ``attempts`` failed attempts: 1 min, 2 min, 4 min, ... up to 1 h.

    >>> [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 7, 50)]
    [1.0, 2.0, 4.0, 60.0, 60.0]
    """
    doublings: int = 2 ** min(max(attempts, 1) - 1, 16)
    return min(BACKOFF_BASE * doublings, BACKOFF_CAP)


def error_text(exc: BaseException) -> tuple[str, str]:
    """The error's class name and message (the message shortened to 1,000 characters)."""
    return type(exc).__name__, str(exc)[:1000]


def timer_incident(timer: Timer) -> Incident:
    """The open incident of a timer pushed back with an error."""
    since = timer.since or timer.due_at
    return Incident(
        id=incident_id("timer", timer.case_id, timer.sla, since.timestamp()),
        case_id=timer.case_id,
        kind="timer",
        sla=timer.sla,
        trigger=None,
        error=timer.error or "",
        opened_at=since,
        attempts=timer.attempts,
        next_attempt_at=timer.due_at,
    )


def incident_payload(incident: Incident, **more: Any) -> dict[str, Any]:
    """What an ``incident`` / ``incident.resolved`` entry or event records: the incident's
    id, kind, SLA, trigger, error class and message, attempts and when it opened."""
    error, _, message = incident.error.partition(": ")
    return {
        "incident": incident.id,
        "kind": incident.kind,
        "sla": incident.sla,
        "trigger": incident.trigger,
        "error": error,
        "message": message,
        "opened_at": incident.opened_at.isoformat(),
        "attempts": incident.attempts,
        **more,
    }


def timer_event(timer: Timer, incident: Incident, kind: str, at: dt.datetime, **more: Any) -> Event:
    """The ``incident.opened`` / ``incident.resolved`` event of a timer incident (no
    history entry: its case could not be processed; the process is not known here)."""
    payload = {"actor": more.pop("actor", "system"), "version": None}
    payload |= incident_payload(incident, **more)
    key = incident_id(kind, incident.id, incident.attempts, at.timestamp())
    return Event(event_id(key, 0), kind, timer.case_id, "", at, payload)


def _resolved(entry: HistoryEntry) -> Incident:
    p = entry.payload
    return Incident(
        id=p["incident"],
        case_id=entry.case_id,
        kind=p.get("kind", "trigger"),
        sla=p.get("sla"),
        trigger=p.get("trigger"),
        error=f"{p.get('error', '')}: {p.get('message', '')}",
        opened_at=dt.datetime.fromisoformat(p["opened_at"]),
        attempts=p.get("attempts", 0),
        resolved_at=entry.at,
        resolved_by=entry.actor,
        note=p.get("note"),
    )


def list_incidents(
    wf: Workflow, case_id: str | None, include_resolved: bool, limit: int
) -> list[Incident]:
    """See :meth:`Workflow.incidents`."""
    store = wf.store
    cases: Any
    if case_id is not None:
        cases = [store.load(case_id)]
    else:
        cases = store.cases() if include_resolved else store.incident_cases()
    out: list[Incident] = []
    for case in cases:
        out.extend(case.incidents)
        if include_resolved:
            done = (e for e in store.history(case.id) if e.kind == "incident.resolved")
            out.extend(_resolved(e) for e in done)
    deferred = store.deferred_timers(1_000_000, case_id=case_id)
    out.extend(timer_incident(t) for t in deferred)
    out.sort(key=lambda i: (i.opened_at, i.case_id, i.id))
    return out[:limit]


def resolve_incident(
    wf: Workflow,
    incident: str,
    actor: ActorLike,
    note: str,
    at: dt.datetime,
) -> Incident:
    """See :meth:`Workflow.resolve_incident`."""
    actor_id, _ = wf._actor(actor)
    if not actor_id:
        raise InvalidValue("actor", "resolving an incident needs the person who does it")
    if not isinstance(note, str) or not note.strip():
        raise InvalidValue("note", "resolving an incident needs a note saying why")
    for case in wf.store.incident_cases():
        if any(i.id == incident for i in case.incidents):
            return _resolve_on_case(wf, case.id, incident, actor_id, note, at)
    for timer in wf.store.deferred_timers(1_000_000):
        found = timer_incident(timer)
        if found.id == incident:
            done = attrs.evolve(found, resolved_at=at, resolved_by=actor_id, note=note)
            event = timer_event(timer, found, "incident.resolved", at, actor=actor_id, note=note)
            retry = attrs.evolve(timer, due_at=at, attempts=0, error=None, since=None)
            if wf.store.defer_timer(timer, retry, [event]):
                wf._outbox.after_commit(wf.store, [event], at)
                return done
            break  # a commit of its case replaced the timer meanwhile
    raise IncidentNotFound(incident)


def _resolve_on_case(
    wf: Workflow, case_id: str, incident: str, actor_id: str, note: str, at: dt.datetime
) -> Incident:
    for attempt in range(_ATTEMPTS):
        case = wf.store.load(case_id)
        found = next((i for i in case.incidents if i.id == incident), None)
        if found is None:
            raise IncidentNotFound(incident)
        definition = wf._machine(case.process, case.process_version).definition
        moved = without(case, found)
        payload = incident_payload(found, note=note)
        draft = Draft("incident.resolved", actor_id, found.trigger, case.state, payload=payload)
        try:
            wf._write(definition, case, moved, [draft], at)
        except ConcurrentUpdate:
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return attrs.evolve(
            found, next_attempt_at=None, resolved_at=at, resolved_by=actor_id, note=note
        )
    raise AssertionError("unreachable")  # pragma: no cover


def without(case: Case, incident: Incident) -> Case:
    """``case`` without the open ``incident``."""
    return attrs.evolve(case, incidents=tuple(i for i in case.incidents if i.id != incident.id))
