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
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import attrs

from .._codec import check, check_key
from ..audit import case_problems, checkpoint_heads, checkpoint_problems, make_checkpoint
from ..calendar import CalendarLayer, WorkCalendar
from ..case import GENESIS, Actor, Case, ChainCheck, ChainKey, HistoryEntry, verify_chain
from ..clock import Clock, SystemClock
from ..confidentiality import LEVELS, above, highest, rank, redact
from ..definition import ProcessDefinition
from ..diagrams import CaseView, to_dot, to_mermaid, to_svg
from ..errors import (
    CaseNotFound,
    ConcurrentUpdate,
    ConfigurationError,
    DefinitionError,
    FlowError,
    GuardFailed,
    IdempotencyConflict,
    InvalidValue,
    NaiveDatetimeError,
    OutOfOrder,
    ProcessNotFound,
)
from ..guards import Reason
from ..incident import Incident
from ..notifications import Delivery, Receiver, Subscription
from ..query import CaseQuery, Page
from ..store import MemoryStore, Store
from . import timers
from ._checks import actors_of, closest, reasons, replay_differs
from ._fire import Refused, plan
from ._machine import CompiledMachine
from ._slas import SlaState, advance, sla_payload, sla_states
from ._unit import Draft, Written, write
from .assignment import Assigner, on_entry, perform, work_reasons
from .incidents import list_incidents, resolve_incident
from .outbox import Dispatched, Outbox
from .queries import WorkItem, counts, due_by, query, worklist
from .timers import Ticked

__all__ = ["ActorLike", "Workflow"]

ActorLike = Actor | str | None

_IMMUTABLE = frozenset({str, int, float, bool, type(None), Decimal, dt.date, dt.datetime})


class _Request(NamedTuple):
    """What :meth:`Workflow.fire` was asked, checked and copied."""

    trigger: str
    payload: dict[str, Any]
    actor_id: str | None
    roles: frozenset[str]
    at: dt.datetime
    explicit: bool
    expected_version: int | None
    idempotency_key: str | None


def _snapshot(values: Mapping[str, Any] | None, path: str) -> dict[str, Any]:
    """A copy the caller cannot change afterwards (deep only where a value is mutable).

    Raises:
        InvalidValue: a value the store cannot keep, named by its key path under ``path``.
    """
    if not values:
        return {}
    check(values, path)
    out = dict(values)
    for value in out.values():
        if type(value) not in _IMMUTABLE:
            return copy.deepcopy(out)
    return out


def _keys(chain_key: ChainKey | bytes | Sequence[ChainKey] | None) -> dict[str, ChainKey]:
    """The workflow's keys by id, the sealing key first."""
    if chain_key is None:
        return {}
    if isinstance(chain_key, bytes):
        chain_key = ChainKey(chain_key)
    keys = [chain_key] if isinstance(chain_key, ChainKey) else list(chain_key)
    ring: dict[str, ChainKey] = {}
    for key in keys:
        if not isinstance(key, ChainKey):
            raise ConfigurationError(
                "Workflow.chain_key", f"must be ChainKey objects or bytes, not {type(key).__name__}"
            )
        ring.setdefault(key.id, key)
    if not ring:
        raise ConfigurationError("Workflow.chain_key", "is an empty list: give a key or None")
    return ring


class Workflow:
    """Runs cases of registered process definitions.

    The facade a CRM calls: it ties a store, a calendar and a clock to the registered
    processes and hands the work to the engine's parts (the checks, the SLA clocks, the
    one commit step, the timers and the outbox).

    Args:
        store: where cases live (default: a new :class:`MemoryStore`).
        calendar: counts deadlines (default: China, provisional past the horizon).
        clock: where "now" comes from when a call gives no ``at`` (default:
            :class:`SystemClock`, aware UTC).
        processes: definitions to register.
        roles: resolves an actor id given as a string to its roles.
        dispatch: ``"after_commit"`` hands a change's events to the local receivers
            right after it is stored (remote ones, such as webhooks, always wait for
            :meth:`dispatch`); ``"manual"`` leaves all to :meth:`dispatch` (a worker).
        max_attempts: delivery rounds before an event is parked as dead (at least 1).
        retry_base, retry_cap: the exponential backoff between rounds (above zero,
            the cap not below the base).
        ids: makes new case ids (default: random UUID hex).
        chain_key: seal the history with HMAC-SHA256 under this :class:`ChainKey` (or
            ``bytes``, the secret), held outside the database; a list seals with its
            first key and verifies with all (key rotation). Default: unkeyed SHA-256.
        clearances: the classification level each role may read (role → level, see
            :mod:`techsvc_flow.confidentiality`); an actor's clearance is the highest of
            its roles' and its own ``Actor.clearance`` (``"public"`` without either).
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
        chain_key: ChainKey | bytes | Sequence[ChainKey] | None = None,
        calendars: Mapping[str, WorkCalendar] | None = None,
        clearances: Mapping[str, str] | None = None,
    ) -> None:
        # refuses an unusable dispatch mode, max_attempts or retry setting
        self._outbox = Outbox(
            dispatch=dispatch, max_attempts=max_attempts, retry_base=retry_base,
            retry_cap=retry_cap,
        )  # fmt: skip
        self.store = store if store is not None else MemoryStore()
        self.calendar = (
            calendar if calendar is not None else WorkCalendar.china(coverage="provisional")
        )
        self.clock: Clock = clock if clock is not None else SystemClock()
        #: named calendars SLA goals may count in (``Goal(calendar=NAME)``)
        self.calendars: dict[str, WorkCalendar] = dict(calendars or {})
        self._roles = roles
        #: the classification level each role may read
        self.clearances: dict[str, str] = dict(clearances or {})
        for role, level in self.clearances.items():
            try:
                rank(level, f"Workflow.clearances[{role!r}]")
            except InvalidValue as exc:
                raise ConfigurationError(exc.path, exc.problem) from None
        self._ids = ids or (lambda: uuid.uuid4().hex)
        self._machines: dict[tuple[str, int], CompiledMachine] = {}
        self._latest: dict[str, int] = {}
        self._keys = _keys(chain_key)
        self._assigners: dict[str, Assigner] = {}
        #: the key new entries are sealed with (``None``: unkeyed)
        self.chain_key: ChainKey | None = next(iter(self._keys.values()), None)
        for definition in processes:
            self.register(definition)

    @property
    def dispatch_mode(self) -> str:
        """``"after_commit"`` or ``"manual"`` (see the ``dispatch`` argument)."""
        return self._outbox.mode

    # --- processes --------------------------------------------------------------------

    def register(self, definition: ProcessDefinition, /) -> ProcessDefinition:
        """Make ``definition`` available; the highest version of a name starts new cases.

        Re-registering the same name and version with other content is refused: give the
        changed process a new version, so running cases keep theirs. This holds across
        restarts too: the store records the content hash of each version it has seen
        (:meth:`~techsvc_flow.store.Store.record_process`).

        Raises:
            DefinitionError: ``name`` and ``version`` are registered, or stored, with
                other content.
        """
        key = (definition.name, definition.version)
        for i, sla in enumerate(definition.slas):
            unknown = sorted(sla.calendars - set(self.calendars))
            if unknown:
                raise ConfigurationError(
                    "Workflow.calendars",
                    f"{definition.name} slas[{i}] ({sla.name}) counts in calendar "
                    f"{unknown[0]!r}, which the workflow does not have",
                )
        existing = self._machines.get(key)
        if existing is not None and existing.definition.hash != definition.hash:
            raise DefinitionError(
                "version",
                f"process {definition.name!r} version {definition.version} is already "
                "registered with other content: register the change as a new version",
            )
        if existing is None:
            on_record = self.store.record_process(*key, definition.hash)
            if on_record != definition.hash:
                raise DefinitionError(
                    "version",
                    f"process {definition.name!r} version {definition.version} ran on this "
                    f"store with other content (hash {on_record[:12]}…, this one "
                    f"{definition.hash[:12]}…): register the change as a new version "
                    f"(e.g. version={definition.version + 1}), so the stored cases keep "
                    "theirs",
                )
            self._machines[key] = CompiledMachine(definition)
            if definition.indexed:
                self.store.index_fields(definition.name, definition.indexed)
        self._latest[definition.name] = max(self._latest.get(definition.name, 0), key[1])
        return definition

    def with_calendar(self, calendar: WorkCalendar, /) -> Workflow:
        """A workflow like this one counting deadlines with ``calendar`` (e.g. after a
        newly published holiday schedule was loaded; see
        :func:`~techsvc_flow.engine.recompute_deadlines`)."""
        other = copy.copy(self)
        other.calendar = calendar
        return other

    def add_calendar_data(self, layer: CalendarLayer, /, *, name: str = "default") -> Workflow:
        """Load calendar data (a notice, a holiday-cn file, schedules or an overlay) onto
        this workflow's calendar and keep it in the store, so that every worker loads the
        same with :meth:`with_stored_calendar`. Returns the workflow counting with it;
        recompute open deadlines with :func:`~techsvc_flow.engine.recompute_deadlines`.

        Raises:
            ScheduleError: the data does not load (nothing is kept).
        """
        calendar = layer.apply(self.calendar)  # checked before it is kept
        self.store.add_calendar_data(name, layer.kind, layer.body)
        return self.with_calendar(calendar)

    def with_stored_calendar(self, *, name: str = "default") -> Workflow:
        """A workflow counting with this one's calendar plus the calendar data kept in
        the store under ``name`` (:meth:`add_calendar_data`), in the order it was kept:
        what a worker calls when it starts."""
        calendar = self.calendar
        for kind, body in self.store.calendar_data(name):
            calendar = CalendarLayer(kind, body).apply(calendar)
        return self.with_calendar(calendar)

    def with_store(self, store: Store, /) -> Workflow:
        """A workflow sharing this one's processes, calendar, clock and subscriptions,
        writing to ``store`` (e.g. a SQL store bound to the host's own transaction)."""
        other = copy.copy(self)
        other.store = store
        for machine in self._machines.values():
            if machine.definition.indexed:
                store.index_fields(machine.definition.name, machine.definition.indexed)
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
        each subscription once); by default it is derived from the receiver. A remote
        receiver (:func:`~techsvc_flow.notifications.is_remote`, e.g. a ``Webhook``)
        is only called by :meth:`dispatch`.

        Raises:
            ConfigurationError: ``receiver`` is not callable, or the name is taken.
        """
        return self._outbox.on(pattern, receiver, name=name)

    def off(self, name: str) -> None:
        """Remove the subscription called ``name``."""
        self._outbox.off(name)

    # --- the parts every call shares ----------------------------------------------------

    def _at(self, at: dt.datetime | None) -> dt.datetime:
        if at is None:
            now = self.clock.now()
            if now.utcoffset() is None:
                raise NaiveDatetimeError(now, f"{type(self.clock).__name__}.now()")
            return now
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

    def _write(
        self,
        definition: ProcessDefinition,
        before: Case | None,
        after: Case,
        drafts: Sequence[Draft],
        at: dt.datetime,
        *,
        idempotency_key: str | None = None,
    ) -> Written:
        """The one commit step (:func:`~techsvc_flow.engine._unit.write`), then delivery
        of its events where the outbox delivers after commit. A move into a state with
        an assignment rule assigns the case in the same write (and the same entry)."""
        after, drafts = on_entry(definition, before, after, drafts, self._assigners)
        written = write(
            self.store, self.calendar, definition, before, after, drafts, at,
            idempotency_key=idempotency_key, key=self.chain_key, calendars=self.calendars,
        )  # fmt: skip
        self._outbox.after_commit(self.store, written.events, at)
        return written

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
            InvalidValue: ``case_id`` is empty, too long or has control characters, or
                ``data`` holds a value the store cannot keep (named by its key path).
            GuardFailed: ``data`` lacks a required field, has a wrong type, or names a
                field the process does not declare.
            CaseExists: a case with ``case_id`` exists already.
        """
        if isinstance(process, ProcessDefinition):
            self.register(process)
            definition = self._machine(process.name, process.version).definition
        else:
            definition = self._machine(process).definition
        at = self._at(at)
        actor_id, _ = self._actor(actor)
        # a copy: the caller may go on changing what it passed, the record must not change
        data = _snapshot(data, "data")
        case_id = check_key(self._ids() if case_id is None else case_id, "case_id")
        refused = reasons(definition, self.calendar, None, None, data, at)
        if refused:
            raise GuardFailed(case_id, "start", refused)
        initial = definition.initial
        clocks, changes = advance(definition, {}, initial, None, at, data, self.calendar)
        case = Case(
            id=case_id, process=definition.name, process_version=definition.version,
            state=initial, data=data, version=1, seq=0, head=GENESIS, created_at=at,
            updated_at=at, entered_at=at, clocks=clocks,
        )  # fmt: skip
        drafts = [Draft("start", actor_id, dest=initial, payload=data)]
        drafts += [
            Draft(f"sla.{kind}", payload=sla_payload(clocks[name], self.calendar, self.calendars))
            for kind, name in changes
        ]
        return self._write(definition, None, case, drafts, at).case

    def get(self, case_id: str, /, *, actor: ActorLike = None) -> Case:
        """The case; given ``actor``, as the actor's :meth:`clearance` allows: a value
        classified above it (in the data, or nested in another value under the field's
        name) is replaced by a marker such as ``"[redacted: secret]"``.

        Without ``actor`` the case is returned unfiltered: the host must pass the
        reader to get the filtering. Raises :class:`CaseNotFound`.
        """
        return self._view(self.store.load(case_id), actor)

    def _view(self, case: Case, actor: ActorLike) -> Case:
        """``case`` as ``actor`` may read it (see :meth:`get`)."""
        hidden = self._hidden(case, actor)
        return attrs.evolve(case, data=redact(case.data, hidden)) if hidden else case

    def clearance(self, actor: ActorLike, /) -> str:
        """The highest classification level ``actor`` may read: the highest of its own
        ``Actor.clearance`` and of its roles' in ``clearances`` (a string actor's roles
        come from ``roles=``); ``"public"`` without either. ``None`` (the system, as
        timers act) reads everything."""
        if actor is None:
            return LEVELS[-1]
        _, roles = self._actor(actor)
        own = actor.clearance if isinstance(actor, Actor) else None
        granted = [self.clearances[r] for r in roles if r in self.clearances]
        return highest([own, *granted] if own else granted)

    def _hidden(self, case: Case, actor: ActorLike) -> dict[str, str]:
        """The fields of ``case``'s process classified above ``actor``'s clearance."""
        if actor is None:
            return {}
        definition = self.process(case.process, case.process_version)
        return above(definition.levels, self.clearance(actor))

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
            InvalidValue: ``payload`` holds a value the store cannot keep (named by its
                key path).
            TransitionNotAllowed: ``trigger`` is not defined from the current state.
            PermissionDenied: the actor has none of the roles allowed.
            GuardFailed: required fields, field types or guards are unmet (all listed).
            ConcurrentUpdate: ``expected_version`` is stale, or another fire won.
            IdempotencyConflict: ``idempotency_key`` was used for another trigger,
                payload or actor (the same request again returns the stored case).
            OutOfOrder: ``at`` is before the case's last entry. (Without ``at``, the
                workflow's clock gives the instant; where it lags the case's last entry
                — the clocks of several servers differ a little — the entry takes that
                entry's instant, so the history stays in order.)
        """
        explicit = at is not None
        at = self._at(at)
        actor_id, roles = self._actor(actor)
        # a copy: the caller may go on changing what it passed, the record must not change
        payload = _snapshot(payload, "payload")
        request = _Request(trigger, payload, actor_id, roles, at, explicit,
                           expected_version, idempotency_key)  # fmt: skip
        remembered = self.store.cached(case_id)
        if remembered is not None:
            # the case as this process last saw it (no read): trusted only when its
            # commit passes the optimistic check; anything else is decided again below,
            # on a fresh read
            try:
                return self._fire(remembered, request, remembered=True)
            except FlowError:
                pass
        return self._fire(self.store.load(case_id), request, remembered=False)

    def _fire(self, case: Case, r: _Request, *, remembered: bool) -> Case:
        """:meth:`fire` on ``case`` as loaded (``remembered``: from the store's cache,
        possibly stale: nothing is recorded for a refusal, and the idempotency key is
        left to the store's commit to check)."""
        case_id, at, key = case.id, r.at, r.idempotency_key
        if key is not None and not remembered:
            done = self.store.idempotent(case_id, key)
            if done is not None:
                return self._replayed(done, key, r.trigger, r.payload, r.actor_id)
        if r.expected_version is not None and case.version != r.expected_version:
            raise ConcurrentUpdate(case_id, r.expected_version, case.version)
        if at < case.updated_at:
            if r.explicit:
                raise OutOfOrder(case_id, at, case.updated_at)
            # this server's clock lags the case's last writer's: keep the history in order
            at = case.updated_at
        machine = self._machine(case.process, case.process_version)
        definition = machine.definition
        planned = plan(
            machine, self.calendar, case, r.trigger, r.payload, at, r.actor_id, r.roles,
            fired_by=self._fired_by(case),
            calendars=self.calendars,
        )  # fmt: skip
        if isinstance(planned, Refused):
            if planned.record is not None and not remembered:
                self._record_refusal(definition, case_id, r.trigger, r.actor_id, planned.record, at)
            raise planned.error
        moved, drafts = planned
        try:
            written = self._write(definition, case, moved, drafts, at, idempotency_key=key)
        except ConcurrentUpdate:
            # the same request, retried while its first attempt was being stored
            done = self.store.idempotent(case_id, key) if key and not remembered else None
            if done is not None and key is not None:
                return self._replayed(done, key, r.trigger, r.payload, r.actor_id)
            raise
        return written.case

    def _replayed(
        self,
        done: Case,
        key: str,
        trigger: str,
        payload: Mapping[str, Any],
        actor_id: str | None,
    ) -> Case:
        """The case stored under an idempotency key, if this is the same request again."""
        differs = replay_differs(self.store.history(done.id), done, trigger, payload, actor_id)
        if differs:
            raise IdempotencyConflict(done.id, key, differs)
        return done

    def _record_refusal(
        self,
        definition: ProcessDefinition,
        case_id: str,
        trigger: str,
        actor_id: str | None,
        details: Mapping[str, Any],
        at: dt.datetime,
    ) -> None:
        for _ in range(timers.ATTEMPTS):
            case = self.store.load(case_id)
            draft = Draft("refused", actor_id, trigger, case.state, payload=details)
            try:  # after a write that came in meanwhile, in the history's order
                self._write(definition, case, case, [draft], max(at, case.updated_at))
            except ConcurrentUpdate:
                continue
            return

    # --- questions ----------------------------------------------------------------------

    def available_triggers(
        self, case_id: str, /, *, actor: ActorLike = None, at: dt.datetime | None = None
    ) -> list[str]:
        """The triggers ``actor`` may fire now, in the definition's order: allowed from the
        state, by role and by the guards on the current data. Payload a trigger requires
        is not checked here."""
        case = self.store.load(case_id)
        at = self._at(at)
        actor_id, roles = self._actor(actor)
        machine = self._machine(case.process, case.process_version)
        out = []
        for trigger in machine.triggers(case.state):
            for t in machine.resolve(case.state, trigger):
                if not reasons(
                    machine.definition,
                    self.calendar,
                    t,
                    case,
                    {},
                    at,
                    actor_id,
                    roles,
                    check_payload=False,
                    fired_by=self._fired_by(case),
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
            refused = reasons(
                machine.definition, self.calendar, t, case, dict(payload or {}), at, actor_id,
                roles, fired_by=self._fired_by(case),
            )  # fmt: skip
            if not refused:
                return []
            refusals.append((t, refused))
        return closest(refusals)[1]

    def _fired_by(self, case: Case) -> Callable[[], dict[str, frozenset[str | None]]]:
        """Who fired each trigger of ``case``, read from its history when first asked
        (a plain closure: ``functools.cache`` would cost more than the rest of a fire's
        checks)."""
        found: list[dict[str, frozenset[str | None]]] = []

        def fired_by() -> dict[str, frozenset[str | None]]:
            if not found:
                found.append(actors_of(self.store.history(case.id), case.seq))
            return found[0]

        return fired_by

    def history(self, case_id: str, /, *, actor: ActorLike = None) -> list[HistoryEntry]:
        """The case's audit trail, oldest first; given ``actor``, with every payload
        filtered as in :meth:`get`. A filtered entry keeps its stored ``hash``: it is a
        view (its seal no longer matches it), never written back;
        :meth:`verify_history` always checks the stored entries."""
        entries = self.store.history(case_id)
        hidden = self._hidden(self.store.load(case_id), actor) if actor is not None else {}
        if not hidden:
            return entries
        return [attrs.evolve(e, payload=redact(e.payload, hidden)) for e in entries]

    def verify_history(
        self, case_id: str, /, *, checkpoint: Mapping[str, Any] | None = None
    ) -> ChainCheck:
        """Check the case's audit trail (truthy when intact); never raises on a corrupt row.

        Checks that the entries form an unbroken, unedited hash chain ending at the
        case's head, sealed with this workflow's ``chain_key`` (if any), with instants
        that never run backwards; that every stored column beside the chained entries
        agrees with them (see :meth:`Store.stored_history`); that the case (state,
        version, data, counts, SLA clocks, creation, last change, process version) is
        what its history says; and, given a ``checkpoint`` (:meth:`checkpoint`), that
        the history still holds the entry the checkpoint saw.

        Raises:
            CaseNotFound: no such case.
            InvalidValue: ``checkpoint`` is not one, was changed, or needs another key.
        """
        heads = None if checkpoint is None else checkpoint_heads(checkpoint, self._keys)
        vouched = checkpoint is not None and checkpoint.get("key_id") is not None
        return self._verify(case_id, heads, vouched)

    def _verify(
        self, case_id: str, heads: Mapping[str, tuple[int, str]] | None, vouched: bool
    ) -> ChainCheck:
        stored = self.store.stored_history(case_id)
        problems = list(stored.problems)
        case: Case | None = None
        try:
            case = self.store.load(case_id)
        except CaseNotFound:
            raise
        except Exception as exc:  # a corrupt row is a finding, not a crash
            if not any(p.startswith("case row: unreadable") for p in problems):
                problems.append(f"case row: unreadable ({type(exc).__name__}: {exc})")
        seen = None if heads is None else heads.get(case_id)
        late = [] if seen is None else checkpoint_problems(stored.entries, *seen)
        # a keyed checkpoint vouches for the (unkeyed) entries it saw
        until = seen[0] if seen is not None and vouched and not late else 0
        chain = verify_chain(
            stored.entries,
            head=None if case is None else case.head,
            keys=self._keys.values(),
            unkeyed_until=until,
        )
        problems += chain.problems
        problems += late
        if case is not None and chain.ok:
            machine = self._machines.get((case.process, case.process_version))
            known = None if machine is None else machine.definition.hash
            problems += case_problems(case, stored.entries, known)
            if machine is None:
                problems.append(
                    f"case row: process {case.process!r} version {case.process_version} is "
                    "not registered here, so the entries' definition cannot be checked"
                )
        return ChainCheck(not problems, len(stored.entries), tuple(problems))

    def checkpoint(self, *, at: dt.datetime | None = None) -> dict[str, Any]:
        """The heads of all cases (id → seq, head, last change), JSON-serialisable and
        sealed: with HMAC under ``chain_key`` when the workflow has one. Keep it outside
        the database; :meth:`verify_checkpoint` (or ``verify_history(..., checkpoint=)``)
        later finds a history cut below, or rewritten at or below, what it saw."""
        return make_checkpoint(self.store.cases(), self._at(at), self.chain_key)

    def verify_checkpoint(self, checkpoint: Mapping[str, Any], /) -> ChainCheck:
        """:meth:`verify_history` of every case in ``checkpoint``, against it; a case it
        saw that is gone is a problem too. Each problem starts with the case id.

        Raises:
            InvalidValue: ``checkpoint`` is not one, was changed, or needs another key.
        """
        heads = checkpoint_heads(checkpoint, self._keys)
        vouched = checkpoint.get("key_id") is not None
        problems: list[str] = []
        entries = 0
        for case_id in heads:
            try:
                check = self._verify(case_id, heads, vouched)
            except CaseNotFound:
                problems.append(f"case {case_id!r}: in the checkpoint, gone from the store")
                continue
            entries += check.entries
            problems += [f"case {case_id!r}: {p}" for p in check.problems]
        return ChainCheck(not problems, entries, tuple(problems))

    def deadlines(
        self, case_id: str, /, *, at: dt.datetime | None = None, running: bool = False
    ) -> list[SlaState]:
        """Where each SLA clock of the case stands at ``at`` (default: now); with
        ``running``, only the clocks that are running. ``state.left`` reads the time
        left in a human form (``"53h30 working"``, ``"overdue by 1h working"``)."""
        case = self.store.load(case_id)
        at = self._at(at)
        definition = self._machine(case.process, case.process_version).definition
        states = sla_states(case, definition, self.calendar, at, self.calendars)
        return [s for s in states if s.status == "running"] if running else states

    def diagram(
        self,
        case_id: str,
        /,
        *,
        format: str = "mermaid",
        lang: str = "en",
        at: dt.datetime | None = None,
        short: bool = False,
    ) -> str:
        """The case drawn live on its process's diagram (see :mod:`techsvc_flow.diagrams`).

        Its current state is highlighted, the states it passed shaded, the edges it took
        (from its history) bold and numbered ``step 1``, ``step 2``…, and its running
        SLA clocks listed with their due instants in the calendar's local time and the
        time left at ``at`` (default: now).

        Args:
            case_id: the case.
            format: ``"mermaid"``, ``"dot"`` or ``"svg"`` (needs Graphviz's ``dot``).
            lang: ``"en"`` or ``"zh"``.
            at: the instant the time left is read at.
            short: Mermaid only: edges labelled with their trigger only.

        Raises:
            CaseNotFound: no such case.
            InvalidValue: an unknown ``format``.
            ConfigurationError: ``"svg"`` without Graphviz installed.
        """
        if format not in ("mermaid", "dot", "svg"):
            raise InvalidValue("format", f"{format!r} is not one of mermaid, dot, svg")
        case = self.store.load(case_id)
        definition = self._machine(case.process, case.process_version).definition
        steps = [
            (e.source, e.trigger, e.dest)
            for e in self.history(case_id)
            if e.kind == "fire" and e.source and e.trigger and e.dest
        ]
        tz = self.calendar.tz
        clocks = [
            (s.name, s.due.astimezone(tz) if s.due else None, s.left)
            for s in self.deadlines(case_id, at=at, running=True)
        ]
        view = CaseView(case_id, case.state, steps, clocks)
        if format == "mermaid":
            return to_mermaid(definition, lang=lang, case=view, short=short)
        dot = to_dot(definition, lang=lang, case=view)
        return dot if format == "dot" else to_svg(dot)

    # --- work: who acts next ------------------------------------------------------------

    def assigner(self, name: str, function: Assigner, /) -> None:
        """Register the function an :class:`~techsvc_flow.definition.Assign` rule's
        ``call`` names: given the case entering the state and the candidate roles, it
        returns the person to assign (``None``: leave the case to the candidates)."""
        if not callable(function):
            raise ConfigurationError(f"Workflow.assigner({name!r})", "must be callable")
        self._assigners[name] = function

    def _work(self, case_id: str, operation: str, actor: ActorLike, at: dt.datetime | None,
              **values: str | None) -> Case:  # fmt: skip
        return perform(self, case_id, operation, actor, self._at(at), explicit=at is not None,
                       **values)  # fmt: skip

    def claim(self, case_id: str, /, *, actor: ActorLike, at: dt.datetime | None = None) -> Case:
        """``actor`` takes the unclaimed case (they hold one of its candidate roles).

        Like every work operation it is a history entry and an event
        (``work.claim``), leaves the case's ``version`` alone, and raises with every
        reason when it does not apply (:meth:`why_not_work`).

        Raises:
            PermissionDenied: ``actor`` holds none of the candidate roles.
            GuardFailed: the case is claimed already (by someone else: of two
                concurrent claims one wins), finished, or has no candidates.
        """
        return self._work(case_id, "claim", actor, at)

    def unclaim(self, case_id: str, /, *, actor: ActorLike, at: dt.datetime | None = None) -> Case:
        """The assignee (or a manager) gives the case back to its candidate roles."""
        return self._work(case_id, "unclaim", actor, at)

    def assign(
        self, case_id: str, /, to: str, *, actor: ActorLike, at: dt.datetime | None = None
    ) -> Case:
        """A manager (a role of the state's rule's ``managers``) assigns the unassigned
        case to ``to``."""
        return self._work(case_id, "assign", actor, at, to=to)

    def reassign(
        self,
        case_id: str,
        /,
        to: str,
        *,
        actor: ActorLike,
        reason: str,
        at: dt.datetime | None = None,
    ) -> Case:
        """转办: the assignee (or a manager) hands the case to ``to``, saying why; a
        delegation ends."""
        return self._work(case_id, "reassign", actor, at, to=to, reason=reason)

    def delegate(
        self,
        case_id: str,
        /,
        to: str,
        *,
        actor: ActorLike,
        reason: str | None = None,
        at: dt.datetime | None = None,
    ) -> Case:
        """委托: ``to`` acts on the assignee's behalf (the case is on their worklist);
        the assignee stays the one accountable."""
        return self._work(case_id, "delegate", actor, at, to=to, reason=reason)

    def urge(
        self, case_id: str, /, *, actor: ActorLike, text: str | None = None,
        at: dt.datetime | None = None,
    ) -> Case:  # fmt: skip
        """催办: remind the assignee (or, unclaimed, the candidate roles): a
        ``work.urge`` event whose payload's ``to`` names them."""
        return self._work(case_id, "urge", actor, at, text=text)

    def comment(
        self, case_id: str, /, text: str, *, actor: ActorLike, at: dt.datetime | None = None
    ) -> Case:
        """Add a comment to the case's history (allowed in any state)."""
        return self._work(case_id, "comment", actor, at, text=text)

    def why_not_work(
        self,
        case_id: str,
        operation: str,
        /,
        *,
        actor: ActorLike,
        to: str | None = None,
        reason: str | None = None,
        text: str | None = None,
    ) -> list[Reason]:
        """Every reason a work operation (``"claim"``, ``"reassign"``, ...) would be
        refused now (empty: it would be accepted)."""
        case = self.store.load(case_id)
        actor_id, roles = self._actor(actor)
        definition = self._machine(case.process, case.process_version).definition
        return work_reasons(definition, case, operation, actor_id, roles, to, reason, text)

    def _case_query(self, at: dt.datetime, due_within: str | None, **filters: Any) -> CaseQuery:
        if due_within is not None:
            filters["due_by"] = due_by(self, due_within, at)
        try:
            return CaseQuery(**filters)
        except TypeError as exc:
            raise InvalidValue("query", str(exc)) from exc

    def worklist(
        self,
        actor: ActorLike,
        /,
        *,
        process: str | None = None,
        due_within: str | None = None,
        limit: int = 50,
        after: str | None = None,
        at: dt.datetime | None = None,
    ) -> Page[WorkItem]:
        """What is on ``actor``'s desk: the cases assigned or delegated to them, then the
        unclaimed cases their roles may claim, each part earliest due first (cases
        without a running clock last), ``limit`` at a time (pass the page's ``next`` as
        ``after`` for the next page).

        Args:
            actor: the person (an :class:`Actor`, or an id whose roles the workflow's
                ``roles`` resolver gives).
            process: only cases of this process.
            due_within: only cases due within this period of ``at`` (e.g. ``"4wh"``),
                overdue ones included.
            limit: the page size (1 to 1,000).
            after: the cursor of the page before.
            at: "now" for the remaining time and breach status.
        """
        at = self._at(at)
        actor_id, roles = self._actor(actor)
        if not actor_id:
            raise InvalidValue("actor", "a worklist is somebody's: give the person")
        q = self._case_query(at, due_within, process=process)
        page = worklist(self, actor_id, roles, at, q, limit, after)
        # the person reads what their clearance allows
        return attrs.evolve(
            page, items=[attrs.evolve(w, case=self._view(w.case, actor)) for w in page.items]
        )

    def query(
        self,
        *,
        due_within: str | None = None,
        overdue: bool = False,
        limit: int = 50,
        after: str | None = None,
        at: dt.datetime | None = None,
        actor: ActorLike = None,
        **filters: Any,
    ) -> Page[Case]:
        """The cases matching every filter given, a page at a time.

        Takes the filters of :class:`~techsvc_flow.query.CaseQuery` (``process``,
        ``states``, ``assignee``, ``roles``, ``unclaimed``, ``paused``, ``running``,
        ``created_from`` / ``created_until``, ``updated_from`` / ``updated_until``,
        ``fields`` (indexed case data fields: ``{"client_id": "C-7"}``, a list for one
        of several values), ``order``), and: ``overdue=True`` (a running clock is late at ``at``),
        ``due_within="4wh"`` (due within that working time of ``at``, overdue
        included). Pass the page's ``next`` as ``after`` for the next page. Given
        ``actor``, each case is read as the actor's :meth:`clearance` allows (see
        :meth:`get`), and a filter on a field classified above it is refused (its
        answer would tell the value).

        Raises:
            InvalidValue: an unknown filter, a bad value or cursor; a field filter
                above ``actor``'s clearance.
        """
        at = self._at(at)
        if overdue:
            filters["overdue_at"] = at
        if actor is not None:
            self._check_field_filters(filters.get("fields") or {}, actor)
        page = query(self, self._case_query(at, due_within, **filters), limit, after)
        if actor is None:
            return page
        return attrs.evolve(page, items=[self._view(case, actor) for case in page.items])

    def _check_field_filters(self, fields: Mapping[str, Any], actor: ActorLike) -> None:
        """Refuse a filter on a field some process classifies above ``actor``'s clearance."""
        clearance = self.clearance(actor)
        for machine in self._machines.values():
            for name, level in above(machine.definition.levels, clearance).items():
                if name in fields:
                    raise InvalidValue(
                        f"fields.{name}",
                        f"the field is classified {level!r}, above the clearance "
                        f"{clearance!r} of the reader",
                    )

    def counts(
        self,
        by: str = "state",
        /,
        *,
        due_within: str | None = None,
        overdue: bool = False,
        at: dt.datetime | None = None,
        **filters: Any,
    ) -> dict[str | None, int]:
        """How many cases match (the filters of :meth:`query`), by ``"state"``,
        ``"process"``, ``"assignee"`` or ``"role"`` (unclaimed cases by candidate role:
        e.g. ``counts("role", overdue=True)``, overdue per team)."""
        at = self._at(at)
        if overdue:
            filters["overdue_at"] = at
        return counts(self, self._case_query(at, due_within, **filters), by)

    # --- timers and delivery --------------------------------------------------------------

    def tick(self, now: dt.datetime | None = None, /, *, limit: int = 100) -> Ticked:
        """Raise the warnings and breaches due by ``now``, fire breach triggers and retry
        the incidents due, on up to ``limit`` due timers.

        A breach and its ``breach_trigger`` commit together; a refused or failing
        trigger opens an incident instead (see :meth:`incidents`), and so does a timer
        whose case cannot be processed, which is put aside while the other due timers
        are processed. Safe to call from any number of processes at once: each mark is
        raised once (a second raiser loses the optimistic check and finds the mark
        already raised).

        Returns the ``sla.warning`` / ``sla.breach`` events raised by this call, as a
        list whose attribute ``more`` is True when due timers remain (``while
        wf.tick().more: pass`` works through them all).
        """
        return timers.tick(self, self._at(now), limit)

    def incidents(
        self, *, case_id: str | None = None, include_resolved: bool = False, limit: int = 100
    ) -> list[Incident]:
        """The open incidents (automatic work owed), of one case or of all, oldest first.

        ``include_resolved`` adds the resolved ones, read from the histories (of every
        case when no ``case_id`` is given: slow on a large store).

        Raises:
            CaseNotFound: ``case_id`` names no case.
        """
        return list_incidents(self, case_id, include_resolved, limit)

    def resolve_incident(
        self, incident_id: str, /, *, actor: ActorLike, note: str, at: dt.datetime | None = None
    ) -> Incident:
        """A person closes an open incident (e.g. after escalating by hand); returns it
        resolved.

        Recorded as an ``incident.resolved`` history entry and event with ``actor`` and
        ``note``. A timer incident (its case could not be processed) has its timer made
        due again at ``at`` (the next tick tries it afresh) and only the event.

        Raises:
            IncidentNotFound: no open incident has this id.
            InvalidValue: no ``actor`` or an empty ``note``.
        """
        return resolve_incident(self, incident_id, actor, note, self._at(at))

    def dispatch(self, now: dt.datetime | None = None, /, *, limit: int = 100) -> Dispatched:
        """Deliver up to ``limit`` pending outbox events to every subscription, remote
        ones included; returns how many were fully delivered, an ``int`` whose ``more``
        is true when the call stopped at ``limit`` (call again). A workflow without
        subscriptions leaves the outbox alone."""
        return self._outbox.dispatch(self.store, self._at(now), limit)

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        """Events whose delivery was given up after ``max_attempts`` rounds."""
        return self.store.dead(limit)

    def replay(self, event_id: str, /, *, at: dt.datetime | None = None) -> Delivery:
        """Queue a dead (or delivered) event again and try to deliver it now."""
        return self._outbox.replay(self.store, event_id, self._at(at))
