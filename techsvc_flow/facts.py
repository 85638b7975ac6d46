"""Case facts: what quality reports need to know of one case, in one small record.

A :class:`CaseFacts` is read from a case and its history: where the case is, its data,
how often each trigger fired, when it first entered each state, and its SLA clocks.
:meth:`Store.facts <techsvc_flow.Store.facts>` yields them; a store that can compute them
in its database (one grouped query instead of one history read per case) overrides it.

>>> import datetime as dt
>>> from techsvc_flow import ProcessDefinition, State, Transition, Workflow, WorkCalendar
>>> p = ProcessDefinition(
...     name="ticket", version=1,
...     states=[State("open", initial=True), State("done", final=True)],
...     transitions=[Transition("close", source="open", dest="done")],
... )
>>> t0 = dt.datetime(2025, 10, 9, 9, 0, tzinfo=dt.timezone.utc)
>>> wf = Workflow(calendar=WorkCalendar.china(), processes=[p])
>>> _ = wf.start("ticket", case_id="T-1", at=t0)
>>> _ = wf.fire("T-1", "close", at=t0 + dt.timedelta(hours=2))
>>> facts = next(wf.store.facts(["ticket"]))
>>> facts.state, facts.counts, facts.entered["done"].hour
('done', {'close': 1}, 11)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .case import Case, HistoryEntry
from .sla import SlaClock

__all__ = ["CaseFacts", "case_facts", "first_entries"]


@attrs.frozen
class CaseFacts:
    """One case as quality indicators and ledgers see it.

    Attributes:
        id, process, process_version, state, data, counts, created_at, updated_at,
            clocks: as on the :class:`~techsvc_flow.Case`.
        entered: the first instant the case entered each state it has been in (the
            initial state at ``created_at``).
    """

    id: str
    process: str
    process_version: int
    state: str
    data: Mapping[str, Any]
    counts: Mapping[str, int]
    created_at: dt.datetime
    updated_at: dt.datetime
    entered: Mapping[str, dt.datetime]
    clocks: Mapping[str, SlaClock]


def first_entries(entries: Iterable[HistoryEntry]) -> dict[str, dt.datetime]:
    """The first instant each state was entered, from history entries in order."""
    entered: dict[str, dt.datetime] = {}
    for entry in entries:
        if entry.kind in ("start", "fire") and entry.dest is not None:
            entered.setdefault(entry.dest, entry.at)
    return entered


def case_facts(case: Case, entries: Iterable[HistoryEntry]) -> CaseFacts:
    """The facts of ``case``, given its history ``entries`` (oldest first)."""
    return CaseFacts(
        id=case.id,
        process=case.process,
        process_version=case.process_version,
        state=case.state,
        data=case.data,
        counts=case.counts,
        created_at=case.created_at,
        updated_at=case.updated_at,
        entered=first_entries(entries),
        clocks=case.clocks,
    )
