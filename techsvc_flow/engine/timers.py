"""Raising the SLA warnings and breaches that have fallen due (:meth:`Workflow.tick`).

A store keeps, per case, the next mark of each running clock as a timer. A tick claims
the due timers, raises each mark on the case's clock (an ``sla.warning`` or
``sla.breach`` entry through the one commit step) and fires the SLA's
``breach_trigger`` where a breach was raised. Any number of processes may tick at once:
a second raiser loses the optimistic check and finds the mark already raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import attrs

from ..errors import CaseNotFound, ConcurrentUpdate, FlowError
from ..notifications import Event
from ..sla import BREACH, Timer
from ._unit import Draft

if TYPE_CHECKING:
    from .workflow import Workflow

__all__ = ["ATTEMPTS", "tick"]

log = logging.getLogger("techsvc_flow")

#: how often a write that lost an optimistic race is tried again here
ATTEMPTS = 5


def tick(wf: Workflow, now: dt.datetime, limit: int) -> list[Event]:
    """Raise the marks due by ``now`` on up to ``limit`` timers; fire breach triggers.

    Returns the ``sla.warning`` / ``sla.breach`` events raised.
    """
    raised: list[Event] = []
    for timer in wf.store.due_timers(now, limit):
        for _ in range(ATTEMPTS):
            try:
                events, breach_trigger = _raise_marks(wf, timer, now)
            except ConcurrentUpdate:
                continue
            except CaseNotFound:
                events, breach_trigger = [], None
            raised.extend(e for e in events if e.type in ("sla.warning", "sla.breach"))
            if breach_trigger is not None:
                _breach_fire(wf, timer.case_id, breach_trigger, now)
            break
    return raised


def _raise_marks(wf: Workflow, timer: Timer, now: dt.datetime) -> tuple[list[Event], str | None]:
    case = wf.store.load(timer.case_id)
    definition = wf.process(case.process, case.process_version)
    clock = case.clocks.get(timer.sla)
    sla = definition.sla_map.get(timer.sla)
    marks: list[tuple[str, dt.datetime]] = []
    while clock is not None and sla is not None and clock.status == "running":
        mark = clock.next_mark(wf.calendar, sla.warn_at)
        if mark is None or mark[1] > now or (mark[0] == BREACH and mark[1] == now):
            break  # not due yet (late is strictly after the due instant)
        clock = clock.fire(mark[0])
        marks.append(mark)
    if clock is None or sla is None or not marks:
        # the timer no longer matches the clock (e.g. the calendar got a newly
        # published schedule): set the case's timers afresh, or it stays due forever
        wf._write(definition, case, case, [], now)
        return [], None
    due = clock.due(wf.calendar)
    drafts = [
        Draft(
            "sla.breach" if name == BREACH else "sla.warning",
            payload={
                "sla": sla.name,
                "mark": name,
                "reached_at": when.isoformat(),
                "due": due.isoformat() if due else None,
            },
        )
        for name, when in marks
    ]
    moved = attrs.evolve(case, clocks={**case.clocks, sla.name: clock})
    written = wf._write(definition, case, moved, drafts, now)
    breach = any(name == BREACH for name, _ in marks)
    return written.events, sla.breach_trigger if breach else None


def _breach_fire(wf: Workflow, case_id: str, trigger: str, now: dt.datetime) -> None:
    for _ in range(ATTEMPTS):
        try:
            wf._fire(case_id, trigger, at=now, system=True)
        except ConcurrentUpdate:
            continue
        except FlowError as exc:  # e.g. the case has moved on: nothing to escalate
            log.info("breach trigger %r on case %s not fired: %s", trigger, case_id, exc)
        return
