"""A store that hands every call to another one: the base of the tests' fault-injecting
stores (a subclass overrides the one method it wants to disturb)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from techsvc_flow import Case, HistoryEntry, Store
from techsvc_flow.notifications import Delivery, Event
from techsvc_flow.sla import Timer


class Delegating(Store):
    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.commits_itself = inner.commits_itself

    def create(
        self,
        case: Case,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
    ) -> None:
        self.inner.create(case, entries, timers, events)

    def commit(
        self,
        case: Case,
        expected_seq: int,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
        idempotency_key: str | None = None,
    ) -> None:
        self.inner.commit(case, expected_seq, entries, timers, events, idempotency_key)

    def load(self, case_id: str) -> Case:
        return self.inner.load(case_id)

    def history(self, case_id: str) -> list[HistoryEntry]:
        return self.inner.history(case_id)

    def due_timers(self, now: dt.datetime, limit: int) -> list[Timer]:
        return self.inner.due_timers(now, limit)

    def pending(self, now: dt.datetime, limit: int) -> list[Delivery]:
        return self.inner.pending(now, limit)

    def save_delivery(self, delivery: Delivery) -> None:
        self.inner.save_delivery(delivery)

    def dead(self, limit: int = 100) -> list[Delivery]:
        return self.inner.dead(limit)

    def requeue(self, event_id: str, now: dt.datetime) -> Delivery:
        return self.inner.requeue(event_id, now)

    def idempotent(self, case_id: str, key: str) -> Case | None:
        return self.inner.idempotent(case_id, key)

    def cases(self, process: str | None = None, state: str | None = None) -> Iterator[Case]:
        return self.inner.cases(process, state)

    def defer_timer(self, timer: Timer, deferred: Timer, events: Sequence[Event] = ()) -> bool:
        return self.inner.defer_timer(timer, deferred, events)

    def deferred_timers(self, limit: int = 100, *, case_id: str | None = None) -> list[Timer]:
        return self.inner.deferred_timers(limit, case_id=case_id)

    def incident_cases(self) -> Iterator[Case]:
        return self.inner.incident_cases()
