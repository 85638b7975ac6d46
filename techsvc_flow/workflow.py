"""The workflow: the service object a CRM calls from its request handlers.

It ties a store, a calendar and a clock to the registered process definitions:
start cases, fire triggers, ask what is allowed and why not, read deadlines, run due
timers (``tick``) and deliver notifications (``dispatch``).

>>> import datetime as dt
>>> from techsvc_flow import (
...     Actor, ProcessDefinition, State, Transition, SteppedClock, Workflow, WorkCalendar,
... )
>>> p = ProcessDefinition(
...     name="ticket", version=1,
...     states=[State("open", initial=True), State("done", final=True)],
...     transitions=[Transition("close", source="open", dest="done", roles=("agent",))],
... )
>>> clock = SteppedClock(dt.datetime(2025, 9, 30, 9, 0, tzinfo=dt.timezone.utc))
>>> wf = Workflow(calendar=WorkCalendar.china(), clock=clock, processes=[p])
>>> case = wf.start("ticket", case_id="T-1")
>>> wf.available_triggers("T-1", actor=Actor("ann", {"agent"}))
['close']
>>> [r.code for r in wf.why_not("T-1", "close", actor=Actor("bob", {"client"}))]
['role_required']
>>> wf.fire("T-1", "close", actor=Actor("ann", {"agent"})).state
'done'
>>> [(e.kind, e.dest) for e in wf.history("T-1")]
[('start', 'open'), ('fire', 'done')]
>>> bool(wf.verify_history("T-1"))
True
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ._codec import jsonable
from ._machine import CompiledMachine
from .calendar import WorkCalendar
from .case import GENESIS, Actor, Case, ChainCheck, HistoryEntry, chain, verify_chain
from .clock import Clock, SystemClock
from .definition import ProcessDefinition, Transition
from .errors import (
    CaseNotFound,
    ConcurrentUpdate,
    DefinitionError,
    FlowError,
    GuardFailed,
    NaiveDatetimeError,
    PermissionDenied,
    ProcessNotFound,
    TransitionNotAllowed,
)
from .guards import GuardContext, Reason
from .notifications import Delivery, Event, Receiver, Subscription, deliver, event_id
from .sla import BREACH, SlaClock, Timer
from .store import MemoryStore, Store

__all__ = ["SlaState", "Workflow"]

_SCALARS = frozenset({str, int, float, bool, type(None)})
_IMMUTABLE = _SCALARS | {Decimal, dt.date, dt.datetime}


def _snapshot(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy the caller cannot change afterwards (deep only where a value is mutable)."""
    if not values:
        return {}
    out = dict(values)
    for value in out.values():
        if type(value) not in _IMMUTABLE:
            return copy.deepcopy(out)
    return out


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready copy: instants and dates as ISO text, Decimals as text."""
    for value in values.values():
        if type(value) not in _SCALARS:
            converted: dict[str, Any] = jsonable(dict(values))
            return converted
    return dict(values)


log = logging.getLogger("techsvc_flow")

ActorLike = Actor | str | None


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


_TYPES: Mapping[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "decimal": (Decimal, int),
    "date": (dt.date,),
    "datetime": (dt.datetime,),
    "list": (list, tuple),
    "dict": (dict,),
}


def case_timers(case: Case, definition: ProcessDefinition, calendar: WorkCalendar) -> list[Timer]:
    """The timers a case needs: the next warning or breach of each running SLA clock."""
    timers = []
    for name, clock in case.clocks.items():
        sla = definition.sla_map.get(name)
        if sla is None or clock.status != "running":
            continue
        mark = clock.next_mark(calendar, sla.warn_at)
        if mark is not None:
            timers.append(Timer(case.id, name, mark[0], mark[1]))
    return timers


class Workflow:
    """Runs cases of registered process definitions.

    Args:
        store: where cases live (default: a new :class:`MemoryStore`).
        calendar: counts deadlines (default: China, provisional past the horizon).
        clock: where "now" comes from when a call gives no ``at`` (default: system).
        processes: definitions to register.
        roles: resolves an actor id given as a string to its roles.
        dispatch: ``"after_commit"`` delivers a change's events right after it is
            stored; ``"manual"`` leaves them to :meth:`dispatch` (e.g. in a worker).
        max_attempts: delivery rounds before an event is parked as dead.
        retry_base, retry_cap: the exponential backoff between rounds.
        ids: makes new case ids (default: random UUID hex).
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        calendar: WorkCalendar | None = None,
        clock: Clock | None = None,
        processes: Iterable[ProcessDefinition] = (),
        roles: Callable[[str], Iterable[str]] | None = None,
        dispatch: str = "after_commit",
        max_attempts: int = 8,
        retry_base: dt.timedelta = dt.timedelta(seconds=30),
        retry_cap: dt.timedelta = dt.timedelta(hours=1),
        ids: Callable[[], str] | None = None,
    ) -> None:
        if dispatch not in ("after_commit", "manual"):
            raise ValueError(f"dispatch must be 'after_commit' or 'manual', not {dispatch!r}")
        self.store = store if store is not None else MemoryStore()
        self.calendar = (
            calendar if calendar is not None else WorkCalendar.china(coverage="provisional")
        )
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._roles = roles
        self.dispatch_mode = dispatch
        self._auto_dispatch = dispatch == "after_commit"
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._ids = ids or (lambda: uuid.uuid4().hex)
        self._machines: dict[tuple[str, int], CompiledMachine] = {}
        self._latest: dict[str, int] = {}
        self._subscriptions: dict[str, Subscription] = {}
        for definition in processes:
            self.register(definition)

    # --- processes --------------------------------------------------------------------

    def register(self, definition: ProcessDefinition, /) -> ProcessDefinition:
        """Make ``definition`` available; the highest version of a name starts new cases.

        Re-registering the same name and version with other content is refused: give the
        changed process a new version, so running cases keep theirs.

        Raises:
            DefinitionError: ``name`` and ``version`` are registered with other content.
        """
        key = (definition.name, definition.version)
        existing = self._machines.get(key)
        if existing is not None and existing.definition.hash != definition.hash:
            raise DefinitionError(
                "version",
                f"process {definition.name!r} version {definition.version} is already "
                "registered with other content: register the change as a new version",
            )
        if existing is None:
            self._machines[key] = CompiledMachine(definition)
        self._latest[definition.name] = max(self._latest.get(definition.name, 0), key[1])
        return definition

    def with_calendar(self, calendar: WorkCalendar, /) -> Workflow:
        """A workflow like this one counting deadlines with ``calendar`` (e.g. after a
        newly published holiday schedule was loaded; see :mod:`techsvc_flow.recompute`)."""
        other = copy.copy(self)
        other.calendar = calendar
        return other

    def with_store(self, store: Store, /) -> Workflow:
        """A workflow sharing this one's processes, calendar, clock and subscriptions,
        writing to ``store`` (e.g. a SQL store bound to the host's own transaction)."""
        other = copy.copy(self)
        other.store = store
        return other

    def process(self, name: str, version: int | None = None) -> ProcessDefinition:
        """The registered definition (latest version unless one is named).

        Raises:
            ProcessNotFound: no such process (or version) is registered.
        """
        return self._machine(name, version).definition

    def _machine(self, name: str, version: int | None = None) -> CompiledMachine:
        if version is None:
            version = self._latest.get(name)
        machine = self._machines.get((name, version)) if version is not None else None
        if machine is None:
            raise ProcessNotFound(name, version, sorted(self._machines))
        return machine

    # --- subscriptions ----------------------------------------------------------------

    def on(self, pattern: str, receiver: Receiver, *, name: str | None = None) -> Subscription:
        """Deliver events whose type matches ``pattern`` (``"sla.*"``, ``"*"``) to ``receiver``.

        ``name`` identifies the subscription across restarts (an event is delivered to
        each subscription once); by default it is derived from the receiver.
        """
        if name is None:
            qual = getattr(receiver, "__qualname__", None) or repr(receiver)
            name = f"{getattr(receiver, '__module__', '')}.{qual}:{pattern}"
        if name in self._subscriptions:
            raise ValueError(f"a subscription named {name!r} exists already")
        sub = Subscription(pattern, receiver, name)
        self._subscriptions[name] = sub
        return sub

    def off(self, name: str) -> None:
        """Remove the subscription called ``name``."""
        self._subscriptions.pop(name, None)

    # --- helpers ----------------------------------------------------------------------

    def _at(self, at: dt.datetime | None) -> dt.datetime:
        if at is None:
            return self.clock.now()
        if not isinstance(at, dt.datetime):
            raise TypeError(f"at must be an aware datetime, not {type(at).__name__}")
        if at.tzinfo is None or at.utcoffset() is None:
            raise NaiveDatetimeError(at, "at")
        return at

    def _actor(self, actor: ActorLike) -> tuple[str | None, frozenset[str]]:
        if actor is None:
            return None, frozenset()
        if isinstance(actor, Actor):
            return actor.id, actor.roles
        if isinstance(actor, str):
            roles = frozenset(self._roles(actor)) if self._roles else frozenset()
            return actor, roles
        raise TypeError(f"actor must be an Actor or a str, not {type(actor).__name__}")

    def _public(self, definition: ProcessDefinition, values: Mapping[str, Any]) -> dict[str, Any]:
        secret = definition.confidential
        if secret:
            values = {k: v for k, v in values.items() if k not in secret}
        return _plain(values)

    def _check_values(self, definition: ProcessDefinition, values: Mapping[str, Any]) -> list[str]:
        problems = []
        for name, value in values.items():
            spec = definition.fields.get(name)
            if spec is None or value is None:
                continue
            types = _TYPES.get(spec.type)
            ok = types is None or (
                isinstance(value, types)
                and not (spec.type in ("int", "float", "decimal") and isinstance(value, bool))
                and not (spec.type == "date" and isinstance(value, dt.datetime))
                and not (
                    spec.type == "datetime"
                    and isinstance(value, dt.datetime)
                    and value.utcoffset() is None
                )
            )
            if not ok:
                problems.append(f"{name}: expected {spec.type}, got {type(value).__name__}")
            elif spec.choices is not None:
                items = value if isinstance(value, list | tuple) else [value]
                bad = [v for v in items if v not in spec.choices]
                if bad:
                    # a confidential value must not reach an error, a log line or an event
                    shown = "the value" if spec.confidential else repr(bad[0])
                    problems.append(
                        f"{name}: {shown} is not one of {', '.join(map(str, spec.choices))}"
                    )
        return problems

    def _reasons(
        self,
        definition: ProcessDefinition,
        case: Case,
        t: Transition,
        actor_id: str | None,
        roles: frozenset[str],
        payload: Mapping[str, Any],
        at: dt.datetime,
        *,
        check_payload: bool = True,
        system: bool = False,
    ) -> list[Reason]:
        if not (payload or t.roles or t.requires or t.guards):
            return []  # nothing to check: the common case of a plain trigger
        reasons: list[Reason] = []
        if t.roles and not system and not roles.intersection(t.roles):
            reasons.append(
                Reason(
                    "role_required",
                    f"needs one of the roles {', '.join(t.roles)}",
                    t.roles,
                    "role",
                )
            )
        if check_payload:
            unexpected = sorted(set(payload) - set(t.requires) - set(t.accepts))
            if unexpected:
                reasons.append(
                    Reason(
                        "unexpected_field",
                        f"{t.trigger!r} does not take {', '.join(unexpected)}",
                        unexpected,
                        "field",
                    )
                )
            missing = [
                f
                for f in t.requires
                if (payload[f] if f in payload else case.data.get(f)) in (None, "", [], {})
            ]
            if missing:
                reasons.append(
                    Reason("missing_field", f"missing {', '.join(missing)}", missing, "field")
                )
            invalid = self._check_values(definition, payload)
            if invalid:
                reasons.append(Reason("invalid_field", "; ".join(invalid), invalid, "field"))
        if t.guards:
            ctx = GuardContext(
                data=case.data,
                payload=payload,
                counts=case.counts,
                now=at,
                entered_at=case.entered_at,
                actor=actor_id,
                state=case.state,
                calendar=self.calendar,
                roles=roles,
            )
            for guard in t.guards:
                reason = guard.check(ctx, definition.functions)
                if reason is not None:
                    reasons.append(reason)
        return reasons

    def _clocks(
        self,
        definition: ProcessDefinition,
        clocks: Mapping[str, SlaClock],
        dest: str,
        trigger: str | None,
        at: dt.datetime,
    ) -> tuple[Mapping[str, SlaClock], list[tuple[str, str]]]:
        """Advance the SLA clocks for entering ``dest``; returns (clocks, [(kind, sla)])."""
        if not definition.slas:
            return clocks, []
        out = dict(clocks)
        changes: list[tuple[str, str]] = []
        for sla in definition.slas:
            clock = out.get(sla.name)
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
            starts = dest in sla.start_states or (
                trigger is not None and trigger in sla.start_triggers
            )
            status = clock.status if clock is not None else "idle"
            if starts and status in ("idle", "stopped") and dest not in sla.stop_states:
                clock = SlaClock(sla.name, sla.duration).start(at)
                changes.append(("started", sla.name))
                if dest in sla.pause_states:
                    clock = clock.pause(at)
                    changes.append(("paused", sla.name))
            if clock is not None:
                out[sla.name] = clock
        return out, changes

    def _timers(self, definition: ProcessDefinition, case: Case) -> list[Timer]:
        return case_timers(case, definition, self.calendar)

    def _sla_payload(self, clock: SlaClock) -> dict[str, Any]:
        due = clock.due(self.calendar)
        return {
            "sla": clock.name,
            "duration": str(clock.duration),
            "status": clock.status,
            "due": due.isoformat() if due else None,
        }

    def _draft(
        self,
        case: Case,
        kind: str,
        at: dt.datetime,
        actor: str | None,
        definition: ProcessDefinition,
        *,
        trigger: str | None = None,
        source: str | None = None,
        dest: str | None = None,
        payload: Mapping[str, Any] | None = None,
        version: int,
    ) -> HistoryEntry:
        return HistoryEntry(
            case_id=case.id,
            seq=0,
            kind=kind,
            at=at,
            actor=actor,
            trigger=trigger,
            source=source,
            dest=dest,
            payload=dict(payload or {}),
            definition_hash=definition.hash,
            version=version,
            prev="",
        )

    def _events(
        self,
        definition: ProcessDefinition,
        case: Case,
        entries: Sequence[HistoryEntry],
        at: dt.datetime,
    ) -> list[Event]:
        events: list[Event] = []
        for entry in entries:
            items: list[tuple[str, dict[str, Any]]] = []
            base = {"actor": entry.actor, "version": entry.version}
            if entry.kind == "start":
                items.append(
                    (
                        "case.started",
                        {
                            **base,
                            "state": entry.dest,
                            "data": self._public(definition, entry.payload),
                        },
                    )
                )
                items.append(("state.entered", {**base, "state": entry.dest}))
            elif entry.kind == "fire":
                items.append(
                    (
                        "case.transition",
                        {
                            **base,
                            "trigger": entry.trigger,
                            "source": entry.source,
                            "dest": entry.dest,
                            "payload": self._public(definition, entry.payload),
                        },
                    )
                )
                if entry.source != entry.dest:
                    items.append(("state.left", {**base, "state": entry.source}))
                    items.append(("state.entered", {**base, "state": entry.dest}))
            elif entry.kind == "refused":
                items.append(
                    (
                        "case.refused",
                        {**base, "trigger": entry.trigger, **_plain(entry.payload)},
                    )
                )
            else:
                items.append((entry.kind, {**base, **_plain(entry.payload)}))
            for i, (etype, payload) in enumerate(items):
                events.append(
                    Event(event_id(entry.hash, i), etype, case.id, case.process, entry.at, payload)
                )
        return events

    def _deliver_now(self, events: Sequence[Event], at: dt.datetime) -> None:
        if not self._auto_dispatch or not self._subscriptions or not self.store.commits_itself:
            return
        for event in events:
            self._deliver(Delivery(event), at)

    def _deliver(self, delivery: Delivery, at: dt.datetime) -> Delivery:
        result = deliver(
            delivery,
            self._subscriptions,
            at,
            max_attempts=self.max_attempts,
            base=self.retry_base,
            cap=self.retry_cap,
        )
        if result.last_error:
            log.warning(
                "event %s (%s) not delivered: %s",
                result.event.id,
                result.event.type,
                result.last_error,
            )
        try:
            self.store.save_delivery(result)
        except Exception:  # the event stays pending in the outbox and is retried
            log.exception("could not record delivery of event %s", result.event.id)
        return result

    # --- cases --------------------------------------------------------------------------

    def start(
        self,
        process: str | ProcessDefinition,
        /,
        *,
        data: Mapping[str, Any] | None = None,
        actor: ActorLike = None,
        at: dt.datetime | None = None,
        case_id: str | None = None,
    ) -> Case:
        """Start a case of ``process`` in its initial state; returns the new case.

        Raises:
            GuardFailed: ``data`` lacks a required field, has a wrong type, or names a
                field the process does not declare.
            ConcurrentUpdate: a case with ``case_id`` exists already.
        """
        if isinstance(process, ProcessDefinition):
            self.register(process)
            machine = self._machine(process.name, process.version)
        else:
            machine = self._machine(process)
        definition = machine.definition
        at = self._at(at)
        actor_id, _ = self._actor(actor)
        # a copy: the caller may go on changing what it passed, the record must not change
        data = _snapshot(data)
        case_id = case_id or self._ids()
        reasons = []
        unknown = sorted(set(data) - set(definition.fields))
        if unknown:
            reasons.append(
                Reason(
                    "unexpected_field", f"undeclared fields {', '.join(unknown)}", unknown, "field"
                )
            )
        missing = [f for f in definition.requires if data.get(f) in (None, "", [], {})]
        if missing:
            reasons.append(
                Reason("missing_field", f"missing {', '.join(missing)}", missing, "field")
            )
        invalid = self._check_values(definition, data)
        if invalid:
            reasons.append(Reason("invalid_field", "; ".join(invalid), invalid, "field"))
        if reasons:
            raise GuardFailed(case_id, "start", reasons)
        initial = definition.initial
        draft = Case(
            id=case_id,
            process=definition.name,
            process_version=definition.version,
            state=initial,
            data=data,
            version=1,
            seq=0,
            head=GENESIS,
            created_at=at,
            updated_at=at,
            entered_at=at,
        )
        clocks, changes = self._clocks(definition, {}, initial, None, at)
        draft = attrs.evolve(draft, clocks=clocks)
        drafts = [
            self._draft(
                draft, "start", at, actor_id, definition, dest=initial, payload=data, version=1
            )
        ]
        drafts += [
            self._draft(
                draft,
                f"sla.{kind}",
                at,
                None,
                definition,
                payload=self._sla_payload(draft.clocks[name]),
                version=1,
            )
            for kind, name in changes
        ]
        entries, head, seq = chain(GENESIS, 0, drafts)
        case = attrs.evolve(draft, seq=seq, head=head)
        events = self._events(definition, case, entries, at)
        self.store.create(case, entries, self._timers(definition, case), events)
        self._deliver_now(events, at)
        return case

    def get(self, case_id: str, /) -> Case:
        """The case. Raises :class:`CaseNotFound`."""
        return self.store.load(case_id)

    def fire(
        self,
        case_id: str,
        trigger: str,
        /,
        *,
        actor: ActorLike = None,
        payload: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """Fire ``trigger`` on the case; returns the new case.

        A refused fire changes nothing (where the transition asks for it, the refusal
        is recorded in the history) and raises:

        Raises:
            CaseNotFound: no such case.
            TransitionNotAllowed: ``trigger`` is not defined from the current state.
            PermissionDenied: the actor has none of the roles allowed.
            GuardFailed: required fields, field types or guards are unmet (all listed).
            ConcurrentUpdate: ``expected_version`` is stale, or another fire won.
        """
        return self._fire(
            case_id,
            trigger,
            actor=actor,
            payload=payload,
            at=at,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def _fire(
        self,
        case_id: str,
        trigger: str,
        *,
        actor: ActorLike,
        payload: Mapping[str, Any] | None,
        at: dt.datetime | None,
        expected_version: int | None,
        idempotency_key: str | None,
        system: bool = False,
    ) -> Case:
        at = self._at(at)
        actor_id, roles = ("system", frozenset[str]()) if system else self._actor(actor)
        # a copy: the caller may go on changing what it passed, the record must not change
        payload = _snapshot(payload)
        case = self.store.load(case_id)
        if idempotency_key is not None:
            done = self.store.idempotent(case_id, idempotency_key)
            if done is not None:
                return done
        if expected_version is not None and case.version != expected_version:
            raise ConcurrentUpdate(case_id, expected_version, case.version)
        machine = self._machine(case.process, case.process_version)
        definition = machine.definition
        candidates = machine.resolve(case.state, trigger)
        if not candidates:
            raise TransitionNotAllowed(case_id, case.state, trigger, machine.triggers(case.state))
        refusals: list[tuple[Transition, list[Reason]]] = []
        chosen: Transition | None = None
        for t in candidates:
            reasons = self._reasons(
                definition, case, t, actor_id, roles, payload, at, system=system
            )
            if not reasons:
                chosen = t
                break
            refusals.append((t, reasons))
        if chosen is None:
            t, reasons = _closest(refusals)
            denied = any(r.kind == "role" for r in reasons)
            if t.record_refusals:
                self._record_refusal(
                    definition,
                    case_id,
                    trigger,
                    actor_id,
                    reasons,
                    at,
                    "PermissionDenied" if denied else "GuardFailed",
                )
            if denied:
                roles_allowed = dict.fromkeys(r for c in candidates for r in c.roles)
                raise PermissionDenied(case_id, trigger, actor_id, tuple(roles_allowed), reasons)
            raise GuardFailed(case_id, trigger, reasons)
        version = case.version + 1
        dest = chosen.dest
        data = {**case.data, **payload}
        counts = {**case.counts, trigger: case.counts.get(trigger, 0) + 1}
        clocks, changes = self._clocks(definition, case.clocks, dest, trigger, at)
        drafts = [
            HistoryEntry(case_id, 0, "fire", at, actor_id, trigger, case.state, dest, payload,
                         definition.hash, version, "")
        ]  # fmt: skip
        drafts += [
            HistoryEntry(case_id, 0, f"sla.{kind}", at, None, None, None, None,
                         self._sla_payload(clocks[name]), definition.hash, version, "")
            for kind, name in changes
        ]  # fmt: skip
        entries, head, seq = chain(case.head, case.seq, drafts)
        moved = Case(
            case_id, case.process, case.process_version, dest, data, version, seq, head,
            case.created_at, at, at if dest != case.state else case.entered_at, counts, clocks,
        )  # fmt: skip
        events = self._events(definition, moved, entries, at)
        timers = self._timers(definition, moved)
        try:
            self.store.commit(moved, case.seq, entries, timers, events, idempotency_key)
        except ConcurrentUpdate:
            # the same request, retried while its first attempt was being stored
            done = self.store.idempotent(case_id, idempotency_key) if idempotency_key else None
            if done is not None:
                return done
            raise
        self._deliver_now(events, at)
        return moved

    def _record_refusal(
        self,
        definition: ProcessDefinition,
        case_id: str,
        trigger: str,
        actor_id: str | None,
        reasons: Sequence[Reason],
        at: dt.datetime,
        error: str,
    ) -> None:
        details = {
            "error": error,
            "reasons": [{"code": r.code, "details": list(r.details)} for r in reasons],
        }
        for _ in range(5):
            case = self.store.load(case_id)
            draft = self._draft(
                case,
                "refused",
                at,
                actor_id,
                definition,
                trigger=trigger,
                source=case.state,
                payload=details,
                version=case.version,
            )
            entries, head, seq = chain(case.head, case.seq, [draft])
            kept = attrs.evolve(case, seq=seq, head=head)
            events = self._events(definition, kept, entries, at)
            try:
                self.store.commit(kept, case.seq, entries, self._timers(definition, kept), events)
            except ConcurrentUpdate:
                continue
            self._deliver_now(events, at)
            return

    # --- questions ----------------------------------------------------------------------

    def available_triggers(
        self, case_id: str, /, *, actor: ActorLike = None, at: dt.datetime | None = None
    ) -> list[str]:
        """The triggers ``actor`` may fire now: allowed from the state, by role and by the
        guards on the current data. Payload a trigger requires is not checked here."""
        case = self.store.load(case_id)
        at = self._at(at)
        actor_id, roles = self._actor(actor)
        machine = self._machine(case.process, case.process_version)
        out = []
        for trigger in machine.triggers(case.state):
            for t in machine.resolve(case.state, trigger):
                if not self._reasons(
                    machine.definition, case, t, actor_id, roles, {}, at, check_payload=False
                ):
                    out.append(trigger)
                    break
        return out

    def why_not(
        self,
        case_id: str,
        trigger: str,
        /,
        *,
        actor: ActorLike = None,
        payload: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> list[Reason]:
        """Every reason ``trigger`` would be refused now (empty: it would be accepted).

        Lists the state, role, field and guard reasons together, not only the first.
        """
        case = self.store.load(case_id)
        at = self._at(at)
        actor_id, roles = self._actor(actor)
        machine = self._machine(case.process, case.process_version)
        candidates = machine.resolve(case.state, trigger)
        if not candidates:
            allowed = machine.triggers(case.state)
            return [
                Reason(
                    "not_allowed_in_state",
                    f"{trigger!r} is not allowed in state {case.state!r}"
                    f" (allowed: {', '.join(allowed) or 'none'})",
                    allowed,
                    "state",
                )
            ]
        refusals = []
        for t in candidates:
            reasons = self._reasons(
                machine.definition, case, t, actor_id, roles, dict(payload or {}), at
            )
            if not reasons:
                return []
            refusals.append((t, reasons))
        return _closest(refusals)[1]

    def history(self, case_id: str, /) -> list[HistoryEntry]:
        """The case's audit trail, oldest first."""
        return self.store.history(case_id)

    def verify_history(self, case_id: str, /) -> ChainCheck:
        """Check the hash chain of the case's history (truthy when intact)."""
        case = self.store.load(case_id)
        return verify_chain(self.store.history(case_id), head=case.head)

    def deadlines(self, case_id: str, /, *, at: dt.datetime | None = None) -> list[SlaState]:
        """Where each SLA clock of the case stands at ``at`` (default: now)."""
        case = self.store.load(case_id)
        at = self._at(at)
        definition = self._machine(case.process, case.process_version).definition
        out = []
        for sla in definition.slas:
            clock = case.clocks.get(sla.name)
            if clock is None:
                out.append(
                    SlaState(
                        sla.name,
                        "idle",
                        str(sla.duration),
                        None,
                        None,
                        None,
                        False,
                        False,
                        None,
                        (),
                    )
                )
                continue
            out.append(
                SlaState(
                    name=sla.name,
                    status=clock.status,
                    duration=str(clock.duration),
                    started_at=clock.started_at,
                    due=clock.due(self.calendar),
                    remaining=clock.remaining(self.calendar, at),
                    breached=clock.breached(self.calendar, at) or BREACH in clock.fired,
                    provisional=clock.provisional(self.calendar),
                    next_mark=clock.next_mark(self.calendar, sla.warn_at),
                    fired=clock.fired,
                )
            )
        return out

    # --- timers and delivery --------------------------------------------------------------

    def tick(self, now: dt.datetime | None = None, /, *, limit: int = 100) -> list[Event]:
        """Raise the warnings and breaches due by ``now``; fire breach triggers.

        Safe to call from any number of processes at once: each mark is raised once (a
        second raiser loses the optimistic check and finds the mark already raised).
        Returns the ``sla.warning`` / ``sla.breach`` events raised by this call.
        """
        now = self._at(now)
        raised: list[Event] = []
        for timer in self.store.due_timers(now, limit):
            for _ in range(5):
                try:
                    events, breach_trigger = self._raise_marks(timer, now)
                except ConcurrentUpdate:
                    continue
                except CaseNotFound:
                    events, breach_trigger = [], None
                raised.extend(e for e in events if e.type in ("sla.warning", "sla.breach"))
                if breach_trigger is not None:
                    self._breach_fire(timer.case_id, breach_trigger, now)
                break
        return raised

    def _raise_marks(self, timer: Timer, now: dt.datetime) -> tuple[list[Event], str | None]:
        case = self.store.load(timer.case_id)
        definition = self._machine(case.process, case.process_version).definition
        clock = case.clocks.get(timer.sla)
        sla = definition.sla_map.get(timer.sla)
        if clock is None or sla is None:
            self._reschedule(definition, case)
            return [], None
        marks: list[tuple[str, dt.datetime]] = []
        while clock.status == "running":
            mark = clock.next_mark(self.calendar, sla.warn_at)
            if mark is None or mark[1] > now:
                break
            clock = clock.fire(mark[0])
            marks.append(mark)
        if not marks:
            # the timer no longer matches the clock (e.g. the calendar got a newly
            # published schedule): set the case's timers afresh, or it stays due forever
            self._reschedule(definition, case)
            return [], None
        moved = attrs.evolve(case, clocks={**case.clocks, sla.name: clock})
        due = clock.due(self.calendar)
        drafts = [
            self._draft(
                case,
                "sla.breach" if name == BREACH else "sla.warning",
                now,
                None,
                definition,
                payload={
                    "sla": sla.name,
                    "mark": name,
                    "reached_at": when.isoformat(),
                    "due": due.isoformat() if due else None,
                },
                version=case.version,
            )
            for name, when in marks
        ]
        entries, head, seq = chain(case.head, case.seq, drafts)
        moved = attrs.evolve(moved, seq=seq, head=head)
        events = self._events(definition, moved, entries, now)
        self.store.commit(moved, case.seq, entries, self._timers(definition, moved), events)
        self._deliver_now(events, now)
        breach = any(name == BREACH for name, _ in marks)
        return events, sla.breach_trigger if breach else None

    def _reschedule(self, definition: ProcessDefinition, case: Case) -> None:
        self.store.commit(case, case.seq, [], self._timers(definition, case), [])

    def _breach_fire(self, case_id: str, trigger: str, now: dt.datetime) -> None:
        for _ in range(5):
            try:
                self._fire(
                    case_id,
                    trigger,
                    actor="system",
                    payload=None,
                    at=now,
                    expected_version=None,
                    idempotency_key=None,
                    system=True,
                )
            except ConcurrentUpdate:
                continue
            except FlowError as exc:  # e.g. the case has moved on: nothing to escalate
                log.info("breach trigger %r on case %s not fired: %s", trigger, case_id, exc)
            return

    def dispatch(self, now: dt.datetime | None = None, /, *, limit: int = 100) -> int:
        """Deliver pending outbox events to the subscriptions; returns how many were
        fully delivered. A workflow without subscriptions leaves the outbox alone."""
        if not self._subscriptions:
            return 0
        now = self._at(now)
        delivered = 0
        for delivery in self.store.pending(now, limit):
            if self._deliver(delivery, now).status == "delivered":
                delivered += 1
        return delivered

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        """Events whose delivery was given up after ``max_attempts`` rounds."""
        return self.store.dead(limit)

    def replay(self, event_id: str, /, *, at: dt.datetime | None = None) -> Delivery:
        """Queue a dead (or delivered) event again and try to deliver it now."""
        at = self._at(at)
        delivery = self.store.requeue(event_id, at)
        if self._subscriptions:
            delivery = self._deliver(delivery, at)
        return delivery


def _closest(
    refusals: Sequence[tuple[Transition, list[Reason]]],
) -> tuple[Transition, list[Reason]]:
    """The refusal to report when every candidate transition was refused: the first one
    the actor holds a role for (its fields and guards are what stands in the way), else
    the first one."""
    for refusal in refusals:
        if not any(r.kind == "role" for r in refusal[1]):
            return refusal
    return refusals[0]
