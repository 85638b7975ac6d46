"""Planning a fire: what firing a trigger on a case would write, or why it is refused.

:func:`plan` is pure: it reads nothing and writes nothing. :meth:`Workflow.fire` writes
what it plans through the one commit step; a tick plans a breach's automatic trigger on
the case it has just marked and writes marks and fire in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..calendar import WorkCalendar
from ..case import Case
from ..definition import Transition
from ..errors import FlowError, GuardFailed, PermissionDenied, TransitionNotAllowed
from ..guards import Reason
from ._checks import FiredBy, closest, reasons
from ._machine import CompiledMachine
from ._slas import advance, sla_payload
from ._unit import Draft

__all__ = ["Planned", "Refused", "plan"]


class Planned(NamedTuple):
    """An accepted fire: the moved case and the drafts of its entries."""

    case: Case
    drafts: list[Draft]


class Refused(NamedTuple):
    """A refused fire: the error to raise and, where the transition asks for it, the
    payload of the ``refused`` entry to record."""

    error: FlowError
    record: dict[str, Any] | None = None


def _not_allowed(
    machine: CompiledMachine, case: Case, trigger: str, roles: frozenset[str], system: bool
) -> TransitionNotAllowed:
    """The refusal of a trigger undefined from the case's state: the triggers the actor
    could fire, then the others (another role's, or only the system's)."""
    allowed: list[str] = []
    others: list[str] = []
    system_only: list[str] = []
    for name in machine.triggers(case.state):
        steps = machine.resolve(case.state, name)
        if system or any(not t.roles or roles.intersection(t.roles) for t in steps):
            allowed.append(name)
            continue
        others.append(name)
        if all(t.roles == ("system",) for t in steps):  # the role of timers.SYSTEM
            system_only.append(name)
    return TransitionNotAllowed(case.id, case.state, trigger, allowed, others, system_only)


def plan(
    machine: CompiledMachine,
    calendar: WorkCalendar,
    case: Case,
    trigger: str,
    payload: dict[str, Any],
    at: dt.datetime,
    actor_id: str | None,
    roles: frozenset[str],
    *,
    system: bool = False,
    fired_by: FiredBy | None = None,
    calendars: Mapping[str, WorkCalendar] = {},
) -> Planned | Refused:
    """What firing ``trigger`` on ``case`` by ``actor_id`` at ``at`` would write.

    ``payload`` is taken as it is (the caller's copy). A guard that raises propagates.
    ``fired_by`` tells who fired each trigger (read only for a step with ``not_by``).
    ``calendars`` are the named calendars SLA goals may count in.
    """
    definition = machine.definition
    candidates = machine.resolve(case.state, trigger)
    if not candidates:
        return Refused(_not_allowed(machine, case, trigger, roles, system))
    refusals: list[tuple[Transition, list[Reason]]] = []
    chosen: Transition | None = None
    for t in candidates:
        refused = reasons(
            definition, calendar, t, case, payload, at, actor_id, roles, system=system,
            fired_by=fired_by,
        )  # fmt: skip
        if not refused:
            chosen = t
            break
        refusals.append((t, refused))
    if chosen is None:
        t, refused = closest(refusals)
        denied = any(r.kind == "role" for r in refused)
        record = None
        if t.record_refusals:
            record = {
                "error": "PermissionDenied" if denied else "GuardFailed",
                "reasons": [{"code": r.code, "details": list(r.details)} for r in refused],
            }
        if denied:
            roles_allowed = dict.fromkeys(r for c in candidates for r in c.roles)
            error: FlowError = PermissionDenied(
                case.id, trigger, actor_id, tuple(roles_allowed), refused
            )
        else:
            error = GuardFailed(case.id, trigger, refused)
        return Refused(error, record)
    dest = chosen.dest
    data = {**case.data, **payload}
    changed = frozenset(k for k, v in payload.items() if k not in case.data or case.data[k] != v)
    clocks, changes = advance(definition, case.clocks, dest, trigger, at, data, calendar, changed)
    moved = Case(
        case.id, case.process, case.process_version, dest, data,
        case.version + 1, case.seq, case.head, case.created_at, at,
        at if dest != case.state else case.entered_at,
        {**case.counts, trigger: case.counts.get(trigger, 0) + 1}, clocks, case.incidents,
        case.assignment, case.due_at,
    )  # fmt: skip
    drafts = [Draft("fire", actor_id, trigger, case.state, dest, payload)]
    drafts += [
        Draft(f"sla.{kind}", payload=sla_payload(clocks[name], calendar, calendars))
        for kind, name in changes
    ]
    return Planned(moved, drafts)
