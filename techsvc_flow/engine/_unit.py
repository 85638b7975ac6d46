"""The one append-and-commit step: every write of the engine goes through :func:`write`.

Starting a case, firing a trigger, recording a refusal, raising SLA marks, recomputing
deadlines and re-setting a case's timers all end the same way: the drafts of the new
history entries are completed (case id, process hash, version), chained onto the case's
head, the events are derived from the chained entries, the timers from the case's
clocks, and all of it is written through the store as one transaction — ``create`` for a
new case, ``commit`` under the optimistic check of the case's ``seq`` otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import attrs

from ..calendar import WorkCalendar
from ..case import GENESIS, Case, ChainKey, HistoryEntry, seal
from ..definition import ProcessDefinition
from ..errors import OutOfOrder
from ..notifications import Event
from ..store import Store
from ._events import events_of
from ._slas import case_timers

__all__ = ["Draft", "Written", "due_instant", "write"]


class Draft(NamedTuple):
    """A history entry still to be written: what happened, without its place in the chain.

    (A named tuple, not an attrs class: a fire makes one or more, and it is the cheapest
    value Python builds.) ``assigned``: the automatic assignment the move made (see
    :attr:`HistoryEntry.assigned`).
    """

    kind: str
    actor: str | None = None
    trigger: str | None = None
    source: str | None = None
    dest: str | None = None
    payload: Mapping[str, Any] | None = None
    assigned: Mapping[str, Any] | None = None


def due_instant(case: Case, calendar: WorkCalendar) -> dt.datetime | None:
    """The earliest due instant of ``case``'s running SLA clocks (``None``: none runs)."""
    due = None
    for clock in case.clocks.values():
        if clock.status == "running":
            at = clock.due(calendar)
            if at is not None and (due is None or at < due):
                due = at
    return due


class Written(NamedTuple):
    """What one write stored: the case as stored and the events of its new entries."""

    case: Case
    events: list[Event]


def write(
    store: Store,
    calendar: WorkCalendar,
    definition: ProcessDefinition,
    before: Case | None,
    after: Case,
    drafts: Sequence[Draft],
    at: dt.datetime,
    *,
    idempotency_key: str | None = None,
    key: ChainKey | None = None,
    calendars: Mapping[str, WorkCalendar] = {},
) -> Written:
    """Append ``drafts`` to the case and store it as ``after``, in one transaction.

    Args:
        store: where the case lives.
        calendar: sets the case's timers (the next mark of each running clock).
        definition: the case's process version (its hash goes into every entry).
        before: the case as loaded (``None``: ``after`` is a new case, created).
        after: the case as it is to be stored; its ``seq`` and ``head`` are set here.
            Either ``before`` itself (a copy is made) or a case made for this write
            that nobody else holds yet (it is completed in place).
        drafts: the entries to append, in order; each gets ``after.version``.
        at: when it happened (every entry's instant).
        idempotency_key: remember the stored case under this key.
        key: seal the entries with HMAC under this key (``None``: SHA-256).

    Raises:
        ConcurrentUpdate: the case has moved on since ``before`` was loaded (or, for a
            new case, one with its id exists already).
        OutOfOrder: ``at`` is before the case's last entry (``before.updated_at``):
            a history only moves forward.
    """
    if before is not None and drafts and at < before.updated_at:
        raise OutOfOrder(before.id, at, before.updated_at)
    head, seq = (before.head, before.seq) if before is not None else (GENESIS, 0)
    entries = []
    case_id, process_hash, version = after.id, definition.hash, after.version
    key_id = None if key is None else key.id
    for d in drafts:  # numbered, linked and sealed in one pass
        seq += 1
        payload = d.payload if type(d.payload) is dict else dict(d.payload or {})
        sealed = seal(key, case_id, seq, d.kind, at, d.actor, d.trigger, d.source, d.dest,
                      payload, process_hash, version, head, d.assigned)  # fmt: skip
        entries.append(
            HistoryEntry(case_id, seq, d.kind, at, d.actor, d.trigger, d.source, d.dest,
                         payload, process_hash, version, head, sealed, key_id, d.assigned)
        )  # fmt: skip
        head = sealed
    if not entries:
        case = after
    elif after is before:
        case = attrs.evolve(after, seq=seq, head=head, updated_at=at)
    else:
        # ``after`` was made for this write and nobody holds it yet: set its place in
        # the chain in place (attrs.evolve would build the whole case a second time,
        # the largest single cost of a fire)
        object.__setattr__(after, "seq", seq)
        object.__setattr__(after, "head", head)
        object.__setattr__(after, "updated_at", at)
        case = after
    due = due_instant(case, calendar)
    if due != case.due_at:  # the worklists' and queries' due instant
        if case is before:
            case = attrs.evolve(case, due_at=due)
        else:
            object.__setattr__(case, "due_at", due)
    events = events_of(definition, case, entries)
    timers = case_timers(case, definition, calendar, calendars)
    if before is None:
        store.create(case, entries, timers, events)
    else:
        store.commit(case, before.seq, entries, timers, events, idempotency_key)
    return Written(case, events)
