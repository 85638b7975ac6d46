"""Where cases live: the :class:`Store` interface and the in-memory reference store.

A store keeps four things per case: the case row, its history entries, its timers
and its outbox rows. :meth:`Store.commit` writes all four as one transaction, under an
optimistic check of the case's ``seq``. A store knows nothing of process definitions
or state machines; it stores values.
"""

from __future__ import annotations

import abc
import collections
import datetime as dt
import heapq
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import attrs

from .case import GENESIS, Case, HistoryEntry
from .errors import CaseExists, CaseNotFound, ConcurrentUpdate, InvalidValue
from .facts import CaseFacts, case_facts
from .notifications import Delivery, Event
from .query import CaseQuery, check_group, matches, sort_key
from .sla import Timer

if TYPE_CHECKING:
    from .calendar import WorkCalendar
    from .quality import Period, QualityConfig, QualityReport

__all__ = [
    "MemoryStore",
    "QualityIndex",
    "Store",
    "StoredHistory",
    "broken_head",
    "continuation",
]


class QualityIndex(Protocol):
    """Quality observations a store keeps up to date itself (see
    :meth:`Store.quality_index`): :func:`~techsvc_flow.quality.report` refreshes it and
    asks it for the report instead of observing every case."""

    def refresh(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Observe the cases changed since the last refresh; returns how many."""
        ...

    def report(
        self, period: Period, *, as_of: dt.datetime | None = None, trend: bool = True
    ) -> QualityReport:
        """The quality report over ``period`` from the kept observations."""
        ...


@attrs.frozen
class StoredHistory:
    """A case's history as a store holds it, read for verification
    (:meth:`Store.stored_history`).

    Attributes:
        entries: the entries that could be read, in order.
        problems: what the store found wrong with its rows: one that could not be read
            (its seq and why), a column that disagrees with the chained entry or with
            the case's other columns (the seq and the column).
    """

    entries: tuple[HistoryEntry, ...]
    problems: tuple[str, ...] = ()


def continuation(case: Case, expected_seq: int, entries: Sequence[HistoryEntry]) -> str:
    """Check that ``entries`` continue a chain at ``expected_seq`` and end at ``case``'s
    ``seq`` and ``head``; returns the head the stored case must have (the first entry's
    ``prev``). Every store calls it in :meth:`Store.create` and :meth:`Store.commit`.

    Raises:
        InvalidValue: an entry is of another case, not numbered next, or not linked to
            the entry before it, or the case does not end where its entries do.
    """
    seq = expected_seq
    head = entries[0].prev if entries else case.head
    start = head
    for i, entry in enumerate(entries):
        if entry.case_id != case.id:
            raise InvalidValue(f"entries[{i}].case_id", f"is not the case's id {case.id!r}")
        if entry.seq != seq + 1:
            raise InvalidValue(
                f"entries[{i}].seq", f"is {entry.seq}: the chain continues at seq {seq + 1}"
            )
        if entry.prev != head:
            raise InvalidValue(f"entries[{i}].prev", "is not the hash of the entry before it")
        seq, head = entry.seq, entry.hash
    if case.seq != seq or case.head != head:
        raise InvalidValue(
            "case.seq, case.head",
            f"case {case.id!r} must end where its entries do (seq {seq}, the last hash)",
        )
    return start


def broken_head(case_id: str, expected_seq: int) -> InvalidValue:
    """The error for entries whose first ``prev`` is not the stored head."""
    return InvalidValue(
        "entries[0].prev",
        f"does not continue case {case_id!r}: it is not the stored head at seq {expected_seq}",
    )


class Store(abc.ABC):
    """The interface every store implements.

    Required methods: :meth:`create`, :meth:`commit`, :meth:`load`, :meth:`history`,
    :meth:`due_timers`, :meth:`pending`, :meth:`save_delivery`, :meth:`dead`,
    :meth:`requeue`, :meth:`idempotent`, :meth:`cases`.

    Optional: :meth:`defer_timer`, :meth:`deferred_timers` and :meth:`incident_cases`
    (timers put aside and the cases with open incidents, for ``Workflow.tick`` and
    ``Workflow.incidents``); :meth:`close` (release connections); :meth:`facts` (per-case facts for
    quality reports; the default reads :meth:`cases` and :meth:`history`, a SQL store
    may override it to compute them in the database); :meth:`quality_index` (a store
    that keeps quality observations itself; the default keeps none).

    ``Store`` is an abstract base class: a subclass that lacks a required method cannot
    be instantiated, and the error names the missing methods.

    Both writing methods are atomic: either every row is written or none is.

    Attributes:
        commits_itself: True when a write is durable as soon as the method returns.
            A store bound to the host's own transaction sets it False; the workflow
            then leaves delivery to :meth:`Workflow.dispatch` after the host commits.
    """

    commits_itself: bool = True

    @abc.abstractmethod
    def create(
        self,
        case: Case,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
    ) -> None:
        """Store a new case with its first entries, timers and events.

        All or nothing: when the id is taken nothing is written, and a store bound to a
        host's transaction leaves that transaction usable.

        Raises:
            CaseExists: a case with this id exists already (also when another writer
                created it a moment ago).
            InvalidValue: the entries do not start a chain (see :func:`continuation`).
        """
        raise NotImplementedError

    @abc.abstractmethod
    def commit(
        self,
        case: Case,
        expected_seq: int,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
        idempotency_key: str | None = None,
    ) -> None:
        """Replace the case row, append entries, replace the case's timers, add events.

        The write happens only if the stored case still has ``seq == expected_seq``.
        With an ``idempotency_key`` the new case is remembered under it.

        Raises:
            CaseNotFound: no such case.
            ConcurrentUpdate: the stored case has moved on.
            InvalidValue: the entries do not continue the stored chain (see
                :func:`continuation`; the first entry's ``prev`` must be the stored head).
        """
        raise NotImplementedError

    @abc.abstractmethod
    def load(self, case_id: str) -> Case:
        """The case. Raises :class:`CaseNotFound`."""
        raise NotImplementedError

    def cached(self, case_id: str) -> Case | None:
        """The case as this store last read or wrote it, without reading it, or None.

        It may be stale. A store that answers here refuses, with
        :class:`ConcurrentUpdate`, a commit computed from a stale case (its optimistic
        check) and a commit whose idempotency key is stored already, so that a fire
        computed from a remembered case is either right or refused. The default
        remembers nothing.
        """
        return None

    @abc.abstractmethod
    def history(self, case_id: str) -> list[HistoryEntry]:
        """The case's history entries in order. Raises :class:`CaseNotFound`."""
        raise NotImplementedError

    @abc.abstractmethod
    def due_timers(self, now: dt.datetime, limit: int) -> list[Timer]:
        """Up to ``limit`` timers due at or before ``now``, earliest first."""
        raise NotImplementedError

    @abc.abstractmethod
    def pending(self, now: dt.datetime, limit: int) -> list[Delivery]:
        """Up to ``limit`` outbox rows ready to be delivered at ``now``, oldest first."""
        raise NotImplementedError

    @abc.abstractmethod
    def save_delivery(self, delivery: Delivery) -> None:
        """Record how far the delivery of an outbox row has come."""
        raise NotImplementedError

    @abc.abstractmethod
    def dead(self, limit: int = 100) -> list[Delivery]:
        """Outbox rows whose delivery was given up (the dead letters)."""
        raise NotImplementedError

    @abc.abstractmethod
    def requeue(self, event_id: str, now: dt.datetime) -> Delivery:
        """Make a dead (or delivered) row pending again, for replay, due at ``now``.

        Attempts start again from zero and ``delivered_to`` is cleared: every matching
        subscription gets the event again, under the same event id (its idempotency key).

        Raises:
            KeyError: no outbox row with this event id.
        """
        raise NotImplementedError

    @abc.abstractmethod
    def idempotent(self, case_id: str, key: str) -> Case | None:
        """The case as it was after the fire recorded under ``key``, if any."""
        raise NotImplementedError

    @abc.abstractmethod
    def cases(self, process: str | None = None, state: str | None = None) -> Iterator[Case]:
        """The stored cases, optionally of one process and/or in one state."""
        raise NotImplementedError

    def facts(
        self,
        processes: Iterable[str] | None = None,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Iterator[CaseFacts]:
        """The :class:`~techsvc_flow.facts.CaseFacts` of the stored cases (optional).

        Args:
            processes: only cases of these processes (default: every case).
            since: only cases changed by a fire at or after ``since`` (``updated_at``).
            until: only cases created before ``until``.

        The default builds them from :meth:`cases` and :meth:`history`, one history read
        per case; a store that can do better (one grouped query) overrides it.
        """
        names: list[str | None] = [None] if processes is None else list(dict.fromkeys(processes))
        for name in names:
            for case in self.cases(process=name):
                if until is not None and case.created_at >= until:
                    continue
                if since is not None and case.updated_at < since:
                    continue
                yield case_facts(case, self.history(case.id))

    def defer_timer(self, timer: Timer, deferred: Timer, events: Sequence[Event] = ()) -> bool:
        """Push a due timer whose case could not be processed back (optional).

        Replaces the stored ``timer`` (the one :meth:`due_timers` returned: same case,
        SLA, mark and ``due_at``) with ``deferred`` (a later ``due_at``, the failure in
        ``attempts``, ``error`` and ``since``) and adds ``events`` to the outbox, in one
        transaction; returns True. Does nothing and returns False when ``timer`` is no
        longer stored (a commit of its case replaced it). A commit of the case replaces
        a deferred timer like any other.

        The default raises :class:`NotImplementedError`: ``Workflow.tick`` then processes
        the other due timers and raises the bad timer's error at the end (a store
        without this method cannot put a bad timer aside).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot defer timers")

    def deferred_timers(self, limit: int = 100, *, case_id: str | None = None) -> list[Timer]:
        """The timers :meth:`defer_timer` pushed back (carrying an ``error``), of one
        case or of all, earliest due first (optional; the default has none)."""
        return []

    def incident_cases(self) -> Iterator[Case]:
        """The cases with open incidents (optional; the default reads every case)."""
        return (case for case in self.cases() if case.incidents)

    def query(
        self, query: CaseQuery, limit: int, after: tuple[dt.datetime, str] | None = None
    ) -> list[Case]:
        """Up to ``limit`` cases matching ``query``, in its order, after the position
        ``after`` (a sort key: the due instant or last change, and the case id) (optional).

        The default reads every case (:meth:`cases`) and applies
        :func:`~techsvc_flow.query.matches` and :func:`~techsvc_flow.query.sort_key`,
        the meaning a store that asks its indexes must answer exactly.
        """
        found = []
        for case in self.cases(process=query.process):
            if matches(case, query):
                key = sort_key(case, query.order)
                if after is None or key > after:
                    found.append((key, case))
        best = heapq.nsmallest(limit, found, key=lambda kc: kc[0])
        return [case for _, case in best]

    def count(self, query: CaseQuery, by: str) -> dict[str | None, int]:
        """How many cases match ``query``, by ``state``, ``process``, ``assignee`` (``None``:
        nobody) or ``role`` (the unclaimed cases by candidate role, a case with two
        roles counting for each; ``None``: claimed or without roles) (optional; the
        default reads every case)."""
        out: dict[str | None, int] = {}
        for case in self.cases(process=query.process):
            if not matches(case, query):
                continue
            for key in _groups(case, by):
                out[key] = out.get(key, 0) + 1
        return out

    def index_fields(self, process: str, fields: Mapping[str, str]) -> None:  # noqa: B027
        """Keep the values of ``fields`` (name → type: the process's ``indexed`` fields)
        of the cases of ``process`` where :meth:`query` can find them (optional; called
        when a workflow registers the process; the default reads the case data at query
        time and keeps nothing)."""

    def stored_history(self, case_id: str) -> StoredHistory:
        """The case's history as stored, for verification (optional).

        Unlike :meth:`history` it never raises on a corrupt row: a row that cannot be
        read is left out and named in ``problems``, as is a stored column that
        disagrees with the chained entry. The default reads :meth:`history` (a store
        that keeps nothing beside the entries has no columns to disagree).

        Raises:
            CaseNotFound: no such case.
        """
        return StoredHistory(tuple(self.history(case_id)))

    def quality_index(self, calendar: WorkCalendar, config: QualityConfig) -> QualityIndex | None:
        """Quality observations this store keeps itself for ``calendar`` and ``config``
        (optional; the default, ``None``, has every report observe the cases anew)."""
        return None

    def record_process(self, name: str, version: int, definition_hash: str) -> str:
        """The content hash on record for version ``version`` of process ``name``
        (optional; :meth:`Workflow.register` calls it and refuses a mismatch).

        A version number stands for one content across restarts: the first registration
        records ``definition_hash`` — or, where cases of that version are stored from
        before the record was kept, the hash their history carries — and later ones get
        the recorded hash back to compare. The default keeps no record and returns
        ``definition_hash``.
        """
        return definition_hash

    def add_calendar_data(self, calendar: str, kind: str, body: str) -> bool:
        """Keep a piece of calendar data (a notice, a holiday-cn file, schedules, an
        overlay: a :class:`~techsvc_flow.calendar.layers.CalendarLayer`) for the calendar
        named ``calendar``, after those kept before (optional; MemoryStore and SqlStore
        keep it). The same data again is kept once; returns whether it was new.
        """
        raise NotImplementedError(f"{type(self).__name__} does not keep calendar data")

    def calendar_data(self, calendar: str) -> list[tuple[str, str]]:
        """The ``(kind, body)`` of each piece of calendar data kept for ``calendar``, in
        the order it was kept (optional; the default keeps none)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional, a store without resources has nothing to do
        """Release resources (optional)."""


@attrs.define
class _Slot:
    case: Case
    entries: list[HistoryEntry]
    # by heap row number: rows not in here are stale (None: no timers, saves memory)
    timers: dict[int, Timer] | None
    keys: dict[str, Case] | None  # idempotency keys, made on first use


class MemoryStore(Store):
    """The reference store: everything in dicts, guarded by one lock.

    Fast and exact, but gone when the process ends; use it for tests and for
    short-lived work. Every store test runs against it.

    Args:
        keep_delivered: how many delivered outbox rows are kept for replay; older
            delivered rows are dropped so that memory does not grow with every event.
            Pending and dead rows are always kept.
    """

    def __init__(self, *, keep_delivered: int = 10_000) -> None:
        self._keep_delivered = keep_delivered
        self._delivered: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        # a heap of (due_at, n, timer); a row no longer in its case's timers is stale
        self._heap: list[tuple[dt.datetime, int, Timer]] = []
        self._n = 0
        # an event is kept bare until its first delivery attempt makes it a Delivery
        self._outbox: dict[str, Delivery | Event] = {}
        self._pending: dict[str, None] = {}
        self._processes: dict[tuple[str, int], str] = {}
        self._calendars: dict[str, list[tuple[str, str]]] = {}  # calendar data, in order

    def _add_timers(self, slot: _Slot, timers: Sequence[Timer]) -> None:
        if not timers:
            slot.timers = None
            return
        rows = slot.timers = {}
        for timer in timers:
            self._n += 1
            rows[self._n] = timer
            heapq.heappush(self._heap, (timer.due_at, self._n, timer))

    def _live(self, row: tuple[dt.datetime, int, Timer]) -> bool:
        slot = self._slots.get(row[2].case_id)
        return slot is not None and slot.timers is not None and row[1] in slot.timers

    def _add_events(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.id not in self._outbox:
                self._outbox[event.id] = event
                self._pending[event.id] = None

    def create(
        self,
        case: Case,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
    ) -> None:
        with self._lock:
            if case.id in self._slots:
                raise CaseExists(case.id)
            if continuation(case, 0, entries) != GENESIS:
                raise broken_head(case.id, 0)
            slot = self._slots[case.id] = _Slot(case, list(entries), None, None)
            self._add_timers(slot, timers)
            self._add_events(events)

    def commit(
        self,
        case: Case,
        expected_seq: int,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[Event],
        idempotency_key: str | None = None,
    ) -> None:
        with self._lock:
            slot = self._slots.get(case.id)
            if slot is None:
                raise CaseNotFound(case.id)
            if slot.case.seq != expected_seq:
                raise ConcurrentUpdate(case.id, expected_seq, slot.case.seq)
            if slot.case.head != continuation(case, expected_seq, entries):
                raise broken_head(case.id, expected_seq)
            slot.case = case
            slot.entries.extend(entries)
            self._add_timers(slot, timers)
            self._add_events(events)
            if idempotency_key is not None:
                if slot.keys is None:
                    slot.keys = {}
                slot.keys[idempotency_key] = case

    def load(self, case_id: str) -> Case:
        slot = self._slots.get(case_id)
        if slot is None:
            raise CaseNotFound(case_id)
        return slot.case

    def history(self, case_id: str) -> list[HistoryEntry]:
        slot = self._slots.get(case_id)
        if slot is None:
            raise CaseNotFound(case_id)
        with self._lock:
            return list(slot.entries)

    def due_timers(self, now: dt.datetime, limit: int) -> list[Timer]:
        with self._lock:
            heap = self._heap
            out: list[Timer] = []
            keep = []
            while heap and heap[0][0] <= now and len(out) < limit:
                row = heapq.heappop(heap)
                if self._live(row):
                    out.append(row[2])
                    keep.append(row)
            for row in keep:  # still live until a commit replaces them
                heapq.heappush(heap, row)
            return out

    def defer_timer(self, timer: Timer, deferred: Timer, events: Sequence[Event] = ()) -> bool:
        with self._lock:
            slot = self._slots.get(timer.case_id)
            rows = slot.timers if slot is not None else None
            n = next((n for n, t in rows.items() if t == timer), None) if rows else None
            if rows is None or n is None:
                return False
            del rows[n]
            self._n += 1
            rows[self._n] = deferred
            heapq.heappush(self._heap, (deferred.due_at, self._n, deferred))
            self._add_events(events)
            return True

    def deferred_timers(self, limit: int = 100, *, case_id: str | None = None) -> list[Timer]:
        with self._lock:
            slots = self._slots.values() if case_id is None else [self._slots.get(case_id)]
            rows = [t for s in slots if s and s.timers for t in s.timers.values()]
        failed = sorted((t for t in rows if t.error is not None), key=lambda t: t.due_at)
        return failed[:limit]

    def pending(self, now: dt.datetime, limit: int) -> list[Delivery]:
        with self._lock:
            out = []
            for event_id in self._pending:
                delivery = _delivery(self._outbox[event_id])
                if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                    continue
                out.append(delivery)
                if len(out) >= limit:
                    break
            return out

    def save_delivery(self, delivery: Delivery) -> None:
        with self._lock:
            self._outbox[delivery.event.id] = delivery
            if delivery.status == "pending":
                self._pending[delivery.event.id] = None
            else:
                self._pending.pop(delivery.event.id, None)
            if delivery.status == "delivered":
                self._delivered.append(delivery.event.id)
                while len(self._delivered) > self._keep_delivered:
                    old = self._delivered.popleft()
                    row = self._outbox.get(old)
                    if isinstance(row, Delivery) and row.status == "delivered":
                        del self._outbox[old]

    def dead(self, limit: int = 100) -> list[Delivery]:
        with self._lock:
            dead = (d for d in self._outbox.values() if isinstance(d, Delivery))
            return [d for d in dead if d.status == "dead"][:limit]

    def requeue(self, event_id: str, now: dt.datetime) -> Delivery:
        with self._lock:
            row = self._outbox.get(event_id)
            if row is None:
                raise KeyError(f"no outbox event {event_id!r}")
            delivery = _delivery(row)
            delivery = attrs.evolve(
                delivery, status="pending", attempts=0, next_attempt_at=now, delivered_to=()
            )
            self._outbox[event_id] = delivery
            self._pending[event_id] = None
            return delivery

    def idempotent(self, case_id: str, key: str) -> Case | None:
        slot = self._slots.get(case_id)
        if slot is None:
            raise CaseNotFound(case_id)
        return None if slot.keys is None else slot.keys.get(key)

    def cases(self, process: str | None = None, state: str | None = None) -> Iterator[Case]:
        with self._lock:
            snapshot = [slot.case for slot in self._slots.values()]
        for case in snapshot:
            if (process is None or case.process == process) and (
                state is None or case.state == state
            ):
                yield case

    def record_process(self, name: str, version: int, definition_hash: str) -> str:
        with self._lock:
            key = (name, version)
            if key not in self._processes:
                self._processes[key] = definition_hash
            return self._processes[key]

    def add_calendar_data(self, calendar: str, kind: str, body: str) -> bool:
        with self._lock:
            kept = self._calendars.setdefault(calendar, [])
            if (kind, body) in kept:
                return False
            kept.append((kind, body))
            return True

    def calendar_data(self, calendar: str) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._calendars.get(calendar, ()))

    def __len__(self) -> int:
        return len(self._slots)


def _groups(case: Case, by: str) -> tuple[str | None, ...]:
    """The groups ``case`` counts in for :meth:`Store.count`."""
    a = case.assignment
    if by == "state":
        return (case.state,)
    if by == "process":
        return (case.process,)
    if by == "assignee":
        return (None if a is None else a.assignee,)
    if by == "role":
        return (None,) if a is None or a.assignee is not None or not a.roles else a.roles
    check_group(by)  # raises: not a group
    raise AssertionError(by)  # pragma: no cover


def _delivery(row: Delivery | Event) -> Delivery:
    return row if isinstance(row, Delivery) else Delivery(row)
