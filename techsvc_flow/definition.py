"""Process definitions: declarative, immutable, versioned, validated on construction.

A definition names its states, its transitions (trigger, sources, destination, the
roles allowed to fire it, the payload it requires, its guards), the data fields of a
case and the SLAs. It knows nothing of storage or of how it is run.

>>> p = ProcessDefinition(
...     name="ticket",
...     version=1,
...     states=[State("open", initial=True), State("done", final=True)],
...     transitions=[Transition("close", source="open", dest="done", roles=("agent",))],
... )
>>> p.initial, p.triggers_from("open")
('open', ('close',))
>>> ProcessDefinition.from_dict(p.to_dict()) == p
True
>>> ProcessDefinition(
...     name="ticket",
...     version=1,
...     states=[State("open", initial=True), State("closed", final=True)],
...     transitions=[Transition("close", source="open", dest="closd")],
... )
Traceback (most recent call last):
...
techsvc_flow.errors.DefinitionError: transitions[0].dest: unknown state 'closd'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any

import attrs

from ._codec import check_key
from .confidentiality import CONFIDENTIAL, LEVELS, PUBLIC, rank
from .durations import (
    CalendarDays,
    CalendarMonths,
    ClockTime,
    Duration,
    WorkingDays,
    WorkingHours,
)
from .errors import DefinitionError, DurationError, InvalidValue
from .guards import Guard

__all__ = [
    "EVIDENCE_FIELDS",
    "Assign",
    "Field",
    "Goal",
    "Level",
    "ProcessDefinition",
    "Sla",
    "State",
    "Transition",
]

FIELD_TYPES = ("str", "int", "float", "bool", "decimal", "date", "datetime", "list", "dict", "any")
#: the field types that may be ``indexed`` (compared in SQL: equal, one of)
INDEXED_TYPES = ("str", "int", "float", "bool", "decimal", "date", "datetime")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_CALENDAR = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # e.g. "7x24"

#: the longest SLA a definition may set, in days (ten years); hours and months alike
MAX_SLA_DAYS = 3660


def _labels(value: Mapping[str, str] | str | None) -> Mapping[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"en": value}
    return dict(value)


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _choices(value: Iterable[Any] | None) -> tuple[Any, ...] | None:
    if value is None or isinstance(value, str | bytes | Mapping):
        return value  # type: ignore[return-value]  # refused by the validation, with its path
    return tuple(value)


def _guards(value: Iterable[Guard]) -> tuple[Guard, ...]:
    return tuple(value)


def _states(value: Iterable[State]) -> tuple[State, ...]:
    return tuple(value)


def _transitions(value: Iterable[Transition]) -> tuple[Transition, ...]:
    return tuple(value)


def _slas(value: Iterable[Sla]) -> tuple[Sla, ...]:
    return tuple(value)


@attrs.frozen
class Assign:
    """Who should act in a state (an assignment rule; see ``docs/work.md``).

    On entering the state the case is assigned: to the person named by the case data
    field ``field`` if set, else to the person the host's function ``call`` picks
    (registered with :meth:`Workflow.assigner`), else to nobody; holders of ``roles``
    may claim it while nobody has. ``managers`` may assign and reassign it to anyone.

    Attributes:
        roles: the candidate roles.
        field: a case data field naming the assignee (e.g. ``"handler"``).
        call: the name of a registered assigner function (e.g. round robin).
        managers: roles that may assign, reassign and unclaim for others.
    """

    roles: tuple[str, ...] = attrs.field(default=(), converter=_names)
    field: str | None = None
    call: str | None = None
    managers: tuple[str, ...] = attrs.field(default=(), converter=_names)


@attrs.frozen
class State:
    """A state of a process.

    Attributes:
        name: the identifier (``snake_case``).
        initial: the state a new case starts in (exactly one per process).
        final: a case in this state is finished.
        label: display names by language, e.g. ``{"en": "Received", "zh": "已受理"}``.
        description: what happens in this state.
        source: where the state comes from (a standard's clause, or "our reading").
        assign: who should act in the state (``None``: nobody is assigned).
    """

    name: str
    initial: bool = False
    final: bool = False
    label: Mapping[str, str] = attrs.field(factory=dict, converter=_labels)
    description: str = ""
    source: str = ""
    assign: Assign | None = None

    def title(self, lang: str = "en") -> str:
        """The label in ``lang``, falling back to English, then to the name."""
        return self.label.get(lang) or self.label.get("en") or self.name


@attrs.frozen
class Field:
    """A data field of a case: its type, and its confidentiality (保密, 密级).

    Attributes:
        name: the identifier.
        type: one of ``FIELD_TYPES``.
        confidential: the value never appears in notification payloads or log lines;
            alone it means the level ``"confidential"``. True whenever ``level`` is
            ``"confidential"`` or above.
        choices: the allowed values.
        label: display names by language.
        description: what the field holds.
        level: the classification level (:data:`~techsvc_flow.confidentiality.LEVELS`:
            ``public``, ``internal``, ``confidential``, ``secret``); a reader whose
            clearance is lower gets a marker instead of the value. ``None``: the
            process's ``default_level`` (``"confidential"`` with ``confidential=True``).
        indexed: a filter of cross-case queries (``wf.query(fields={...})``, see
            ``docs/work.md``); only of a scalar type (:data:`INDEXED_TYPES`).
    """

    name: str
    type: str = "any"
    confidential: bool = False
    choices: tuple[Any, ...] | None = attrs.field(default=None, converter=_choices)
    label: Mapping[str, str] = attrs.field(factory=dict, converter=_labels)
    description: str = ""
    level: str | None = None
    indexed: bool = False

    def __attrs_post_init__(self) -> None:
        # a level from "confidential" up implies confidential (an unknown level is
        # refused with its path when the process is built)
        if self.level in LEVELS and LEVELS.index(self.level) >= LEVELS.index(CONFIDENTIAL):
            object.__setattr__(self, "confidential", True)


@attrs.frozen
class Transition:
    """A trigger that moves a case from one of ``source`` to ``dest``.

    Attributes:
        trigger: the name the caller fires.
        source: the states it may be fired from (``"*"``: any non-final state).
        dest: the state it leads to.
        roles: the roles allowed to fire it; empty means anyone.
        requires: payload fields that must be given (or already be in the case data).
        accepts: further payload fields that may be given.
        guards: conditions, each with a reason code, that must all hold.
        record_refusals: record refused attempts (role, guard) in the history.
        label: display names by language.
        source_clause: where the step comes from (a standard's clause).
        not_by: earlier triggers whose actors may not fire this one (four eyes: who
            delivered does not accept): the actor must differ from everyone who fired
            any of them in the case.
        on_behalf_of: a role whose own act this step is (e.g. ``"client"``): an actor
            holding that role fires it directly; any other allowed actor records it on
            that role's behalf and must give the written evidence
            (:data:`EVIDENCE_FIELDS`: ``evidence_document``, the document's reference,
            and ``evidence_channel``, how it was received); the history entry names who
            recorded it (its actor).
    """

    trigger: str
    source: tuple[str, ...] = attrs.field(converter=_names)
    dest: str
    roles: tuple[str, ...] = attrs.field(default=(), converter=_names)
    requires: tuple[str, ...] = attrs.field(default=(), converter=_names)
    accepts: tuple[str, ...] = attrs.field(default=(), converter=_names)
    guards: tuple[Guard, ...] = attrs.field(default=(), converter=_guards)
    record_refusals: bool = False
    label: Mapping[str, str] = attrs.field(factory=dict, converter=_labels)
    description: str = ""
    source_clause: str = ""
    not_by: tuple[str, ...] = attrs.field(default=(), converter=_names)
    on_behalf_of: str | None = None


#: payload fields of a step recorded on someone's behalf (``Transition.on_behalf_of``)
EVIDENCE_FIELDS = ("evidence_document", "evidence_channel")


def _duration(value: Duration | str) -> Duration:
    return Duration.parse(value)


def _fractions(value: Iterable[float]) -> tuple[float, ...]:
    return tuple(sorted(float(v) for v in value))


def _when(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        return value  # refused by the validation, with its path
    return {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in value.items()}


def _optional_duration(value: Duration | str | None) -> Duration | None:
    return None if value is None else Duration.parse(value)


@attrs.frozen
class Goal:
    """A limit an SLA takes when the case data match a condition.

    Attributes:
        name: the identifier, recorded in the history with the clock's start.
        duration: the limit while this goal applies.
        when: field → value (or a list of values: one of them) that must all hold.
        calendar: the name of the workflow calendar the limit is counted in
            (``Workflow(calendars=...)``); ``None``: the workflow's calendar.
    """

    name: str
    duration: Duration = attrs.field(converter=_duration)
    when: Mapping[str, Any] = attrs.field(factory=dict, converter=_when)
    calendar: str | None = None

    def matches(self, data: Mapping[str, Any]) -> bool:
        """Whether ``data`` meets every condition."""
        for key, want in self.when.items():
            value = data.get(key)
            if value != want and not (isinstance(want, tuple) and value in want):
                return False
        return True


@attrs.frozen
class Level:
    """One level of an SLA's escalation ladder: when it is reached, an
    ``sla.escalation`` event names it and the roles to notify; it may fire a trigger.

    Exactly one of ``share``, ``before`` and ``after`` sets when it is reached.

    Attributes:
        name: the identifier (the mark ``level:NAME``).
        share: a share of the limit (``0.5``; ``1.0`` is the breach; more is after it).
        before: a duration before the due instant (clock time or working hours).
        after: a duration after the due instant (the level is late strictly after it).
        notify: the roles to notify.
        trigger: a trigger fired automatically (by the system) when reached.
        every: reminders repeat every this much after the level (while the clock runs).
        repeat: how many reminders follow the level (marks ``level:NAME#1`` …).
    """

    name: str
    share: float | None = None
    before: Duration | None = attrs.field(default=None, converter=_optional_duration)
    after: Duration | None = attrs.field(default=None, converter=_optional_duration)
    notify: tuple[str, ...] = attrs.field(default=(), converter=_names)
    trigger: str | None = None
    every: Duration | None = attrs.field(default=None, converter=_optional_duration)
    repeat: int = 0


def _goals(value: Iterable[Goal]) -> tuple[Goal, ...]:
    return tuple(value)


def _ladder(value: Iterable[Level]) -> tuple[Level, ...]:
    return tuple(value)


@attrs.frozen
class Sla:
    """A service-level clock: how long, what starts, pauses and stops it.

    Attributes:
        name: the identifier.
        duration: the time limit (a :class:`Duration` or its text, e.g. ``"7wd"``).
        start_states: entering one of these states starts the clock (the initial
            state counts when a case starts).
        start_triggers: firing one of these triggers starts the clock.
        pause_states: the clock is paused while the case is in one of these.
        stop_states: entering one of these stops the clock.
        stop_triggers: firing one of these triggers stops the clock; a trigger that
            both stops and starts a clock restarts it (a recurring limit, e.g. a
            progress report due every 10 working days).
        warn_at: fractions of the limit at which a warning is raised.
        breach_trigger: a trigger fired automatically (by the system) on breach.
        label: display names by language.
        source: where the limit comes from.
        goals: limits chosen by case data, first match wins; ``duration`` is the
            default goal (``"default"``) when none matches.
        due_field: a ``date`` or ``datetime`` data field whose value is the due instant
            (a date: the end of that day in the calendar); ``duration`` applies while
            the field is not set. Such an SLA has no pause states.
        due_required: with ``due_field``, the clock runs only for a date the step set:
            a start trigger starts it only when the step sets the field to a new value
            (a recurring deadline such as the next milestone's date), and clearing the
            field stops it; ``duration`` is then never used.
        ladder: escalation levels (:class:`Level`).
    """

    name: str
    duration: Duration = attrs.field(converter=_duration)
    start_states: tuple[str, ...] = attrs.field(default=(), converter=_names)
    start_triggers: tuple[str, ...] = attrs.field(default=(), converter=_names)
    pause_states: tuple[str, ...] = attrs.field(default=(), converter=_names)
    stop_states: tuple[str, ...] = attrs.field(default=(), converter=_names)
    stop_triggers: tuple[str, ...] = attrs.field(default=(), converter=_names)
    warn_at: tuple[float, ...] = attrs.field(default=(0.5, 0.75), converter=_fractions)
    breach_trigger: str | None = None
    label: Mapping[str, str] = attrs.field(factory=dict, converter=_labels)
    source: str = ""
    goals: tuple[Goal, ...] = attrs.field(default=(), converter=_goals)
    due_field: str | None = None
    ladder: tuple[Level, ...] = attrs.field(default=(), converter=_ladder)
    due_required: bool = False

    @property
    def calendars(self) -> frozenset[str]:
        """The names of the calendars its goals count in."""
        return frozenset(g.calendar for g in self.goals if g.calendar is not None)

    @property
    def reads(self) -> frozenset[str]:
        """The data fields the limit depends on."""
        keys = {k for g in self.goals for k in g.when}
        if self.due_field is not None:
            keys.add(self.due_field)
        return frozenset(keys)


def _field_map(value: Mapping[str, Field] | Iterable[Field]) -> Mapping[str, Field]:
    out: dict[str, Field] = {}
    if isinstance(value, Mapping):
        for key, f in value.items():
            if not isinstance(f, Field):
                raise DefinitionError(f"fields.{key}", f"expected a Field, got {type(f).__name__}")
            if f.name != key:
                raise DefinitionError(f"fields.{key}.name", f"field is named {f.name!r}")
            out[key] = f
        return out
    for i, f in enumerate(value):
        if not isinstance(f, Field):
            raise DefinitionError(f"fields[{i}]", f"expected a Field, got {type(f).__name__}")
        if f.name in out:
            raise DefinitionError(f"fields[{i}].name", f"duplicate field {f.name!r}")
        out[f.name] = f
    return out


GuardFunction = Callable[..., Any]


@attrs.frozen(eq=False)
class ProcessDefinition:
    """A versioned, validated process.

    Attributes:
        name: the process name (cases refer to it with ``version``).
        version: a positive integer; a changed process gets a new version.
        states, transitions, slas: the process itself.
        fields: the data fields of a case, by name (types and confidentiality).
        requires: data fields a new case must be started with.
        title: display names by language.
        require_final: every state must be able to reach a final state (set False
            for a process that runs forever, e.g. a tracking loop).
        functions: the Python callables that ``Guard.call`` guards refer to.
        default_level: the classification level of a field that gives none (see
            :attr:`Field.level`; default ``"public"``).
    """

    name: str
    version: int
    states: tuple[State, ...] = attrs.field(converter=_states)
    transitions: tuple[Transition, ...] = attrs.field(converter=_transitions)
    fields: Mapping[str, Field] = attrs.field(factory=dict, converter=_field_map)
    slas: tuple[Sla, ...] = attrs.field(default=(), converter=_slas)
    requires: tuple[str, ...] = attrs.field(default=(), converter=_names)
    title: Mapping[str, str] = attrs.field(factory=dict, converter=_labels)
    description: str = ""
    require_final: bool = True
    functions: Mapping[str, GuardFunction] = attrs.field(factory=dict, repr=False)
    default_level: str = PUBLIC

    def __attrs_post_init__(self) -> None:
        _validate(self)

    # --- lookups ----------------------------------------------------------------------

    @cached_property
    def state_map(self) -> Mapping[str, State]:
        """States by name."""
        return {s.name: s for s in self.states}

    @property
    def initial(self) -> str:
        """The name of the initial state."""
        return next(s.name for s in self.states if s.initial)

    @cached_property
    def final_states(self) -> frozenset[str]:
        """The names of the final states."""
        return frozenset(s.name for s in self.states if s.final)

    @cached_property
    def sla_map(self) -> Mapping[str, Sla]:
        """SLAs by name."""
        return {s.name: s for s in self.slas}

    @cached_property
    def edges(self) -> tuple[tuple[str, Transition], ...]:
        """Every (source state, transition) pair, with ``"*"`` expanded."""
        out: list[tuple[str, Transition]] = []
        for t in self.transitions:
            sources = (
                [s.name for s in self.states if not s.final] if t.source == ("*",) else t.source
            )
            out.extend((src, t) for src in sources)
        return tuple(out)

    def triggers_from(self, state: str) -> tuple[str, ...]:
        """The triggers defined from ``state``, in definition order, without repeats."""
        seen = dict.fromkeys(t.trigger for src, t in self.edges if src == state)
        return tuple(seen)

    @cached_property
    def levels(self) -> Mapping[str, str]:
        """The classification level of every field, by name."""
        default = self.default_level
        return {
            n: f.level or (CONFIDENTIAL if f.confidential else default)
            for n, f in self.fields.items()
        }

    @cached_property
    def confidential(self) -> frozenset[str]:
        """The names of the fields kept out of notifications and log lines: those at
        level ``"confidential"`` or above."""
        least = LEVELS.index(CONFIDENTIAL)
        return frozenset(n for n, lv in self.levels.items() if LEVELS.index(lv) >= least)

    @cached_property
    def indexed(self) -> dict[str, str]:
        """The ``indexed`` fields: name → type."""
        return {n: f.type for n, f in self.fields.items() if f.indexed}

    @cached_property
    def hash(self) -> str:
        """A content hash (SHA-256 of the canonical dict form) identifying this version."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProcessDefinition) and self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        return f"<ProcessDefinition {self.name} v{self.version} {self.hash[:12]}>"

    # --- variations -------------------------------------------------------------------

    def with_durations(self, **durations: Duration | str) -> ProcessDefinition:
        """The same process with other SLA time limits (by SLA name).

        The version stays; the content hash changes, so history records which
        limits were in force.

        Raises:
            DefinitionError: no SLA of that name, or a malformed or negative duration.
        """
        unknown = set(durations) - set(self.sla_map)
        if unknown:
            raise DefinitionError(
                f"slas.{sorted(unknown)[0]}", f"no such SLA; known: {', '.join(self.sla_map)}"
            )
        slas = []
        for s in self.slas:
            if s.name in durations:
                try:
                    s = attrs.evolve(s, duration=durations[s.name])
                except DurationError as exc:
                    raise DefinitionError(f"slas.{s.name}", str(exc)) from exc
            slas.append(s)
        return attrs.evolve(self, slas=slas)

    # --- dict / JSON ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict; :meth:`from_dict` reads it back."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "title": dict(self.title),
            "description": self.description,
            "require_final": self.require_final,
            "requires": list(self.requires),
            "fields": [_field_dict(f) for f in self.fields.values()],
            "states": [_state_dict(s) for s in self.states],
            "transitions": [_transition_dict(t) for t in self.transitions],
            "slas": [_sla_dict(s) for s in self.slas],
        }
        if self.default_level != PUBLIC:
            out["default_level"] = self.default_level
        return out

    def to_json(self, **kwargs: Any) -> str:
        """The dict form as JSON text (Chinese kept as is)."""
        kwargs.setdefault("ensure_ascii", False)
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, functions: Mapping[str, GuardFunction] | None = None
    ) -> ProcessDefinition:
        """Build a definition from its dict form; errors name the faulty key path.

        Args:
            data: the dict form (see :meth:`to_dict`).
            functions: the callables that ``{"call": NAME}`` guards refer to.
        """
        return _from_dict(cls, data, dict(functions or {}))

    @classmethod
    def from_json(
        cls, text: str, *, functions: Mapping[str, GuardFunction] | None = None
    ) -> ProcessDefinition:
        """Build a definition from JSON text."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DefinitionError("", f"not valid JSON: {exc}") from exc
        return cls.from_dict(data, functions=functions)


# --- validation ---------------------------------------------------------------------


def _validate(p: ProcessDefinition) -> None:
    if not isinstance(p.name, str) or not _NAME.match(p.name):
        raise DefinitionError("name", f"{p.name!r} is not a valid name (letters, digits, _ . -)")
    if not isinstance(p.version, int) or isinstance(p.version, bool) or p.version < 1:
        raise DefinitionError("version", f"{p.version!r} is not a positive integer")
    if not p.states:
        raise DefinitionError("states", "a process needs at least one state")
    _bool("require_final", p.require_final)
    _level("default_level", p.default_level)
    names: set[str] = set()
    for i, s in enumerate(p.states):
        if not isinstance(s, State):
            raise DefinitionError(f"states[{i}]", f"expected a State, got {type(s).__name__}")
        _bool(f"states[{i}].initial", s.initial)
        _bool(f"states[{i}].final", s.final)
        if not _NAME.match(s.name):
            raise DefinitionError(f"states[{i}].name", f"{s.name!r} is not a valid name")
        if s.name in names:
            raise DefinitionError(f"states[{i}].name", f"duplicate state {s.name!r}")
        names.add(s.name)
        if s.assign is not None:
            _check_assign(s.assign, f"states[{i}].assign", p)
    initial = [s.name for s in p.states if s.initial]
    if len(initial) != 1:
        raise DefinitionError(
            "states", f"exactly one initial state is required, found {len(initial)}"
        )
    for name, f in p.fields.items():
        if f.type not in FIELD_TYPES:
            raise DefinitionError(
                f"fields.{name}.type",
                f"unknown type {f.type!r}; use one of {', '.join(FIELD_TYPES)}",
            )
        _bool(f"fields.{name}.confidential", f.confidential)
        if f.level is not None:
            _level(f"fields.{name}.level", f.level)
            if f.confidential and LEVELS.index(f.level) < LEVELS.index(CONFIDENTIAL):
                raise DefinitionError(
                    f"fields.{name}.level",
                    f"{f.level!r} is below 'confidential', which confidential=True means",
                )
        _bool(f"fields.{name}.indexed", f.indexed)
        if f.indexed and f.type not in INDEXED_TYPES:
            raise DefinitionError(
                f"fields.{name}.indexed",
                f"field {name!r} of type {f.type!r} cannot be indexed; only a field of "
                f"type {', '.join(INDEXED_TYPES)} can",
            )
        if f.indexed and name in p.confidential:
            raise DefinitionError(
                f"fields.{name}.indexed",
                f"field {name!r} is confidential: its values would be copied into the "
                "query index in clear",
            )
        if f.choices is not None and not isinstance(f.choices, tuple):
            raise DefinitionError(
                f"fields.{name}.choices",
                f"expected a list of values, not a {type(f.choices).__name__}",
            )
    for i, r in enumerate(p.requires):
        if r not in p.fields:
            raise DefinitionError(f"requires[{i}]", f"unknown field {r!r}")
    seen: dict[tuple[str, str, str, str], int] = {}
    triggers = {t.trigger for t in p.transitions if isinstance(t, Transition)}
    for i, t in enumerate(p.transitions):
        where = f"transitions[{i}]"
        if not isinstance(t, Transition):
            raise DefinitionError(where, f"expected a Transition, got {type(t).__name__}")
        _bool(f"{where}.record_refusals", t.record_refusals)
        _check_actors(where, t, triggers)
        for j, role in enumerate(t.roles):
            if not isinstance(role, str) or not role.strip():
                raise DefinitionError(f"{where}.roles[{j}]", f"{role!r} is not a role name")
        if not _NAME.match(t.trigger):
            raise DefinitionError(f"{where}.trigger", f"{t.trigger!r} is not a valid name")
        if t.trigger in names:
            raise DefinitionError(f"{where}.trigger", f"{t.trigger!r} is also a state name")
        if not t.source:
            raise DefinitionError(f"{where}.source", "at least one source state is required")
        if t.source != ("*",):
            for j, src in enumerate(t.source):
                if src not in names:
                    raise DefinitionError(f"{where}.source[{j}]", f"unknown state {src!r}")
                if src in p.final_states:
                    raise DefinitionError(
                        f"{where}.source[{j}]", f"{src!r} is final: nothing may leave it"
                    )
        if t.dest not in names:
            raise DefinitionError(f"{where}.dest", f"unknown state {t.dest!r}")
        for key in ("requires", "accepts"):
            for j, field in enumerate(getattr(t, key)):
                if field not in p.fields:
                    raise DefinitionError(
                        f"{where}.{key}[{j}]", f"unknown field {field!r}: declare it in fields"
                    )
        for j, g in enumerate(t.guards):
            g.validate(f"{where}.guards[{j}]", p.fields, p.functions, triggers)
        # the same trigger may lead from one state to one destination more than once
        # (say, once per role); an exact repeat could never be chosen
        sources = [s.name for s in p.states if not s.final] if t.source == ("*",) else t.source
        for src in sources:
            rule = (src, t.trigger, t.dest, _rule(t))
            if rule in seen:
                raise DefinitionError(
                    where,
                    f"duplicate transition {t.trigger!r} from {src!r} to {t.dest!r} "
                    f"(same as transitions[{seen[rule]}])",
                )
            seen[rule] = i
    sla_names: set[str] = set()
    for i, sla in enumerate(p.slas):
        where = f"slas[{i}]"
        try:
            check_key(sla.name, "name")  # SLA names are keys of the stores
        except InvalidValue as exc:
            raise DefinitionError(f"{where}.name", exc.problem) from None
        if sla.name in sla_names:
            raise DefinitionError(f"{where}.name", f"duplicate SLA {sla.name!r}")
        sla_names.add(sla.name)
        if not sla.start_states and not sla.start_triggers:
            raise DefinitionError(where, "an SLA needs start_states or start_triggers")
        if _negative(sla.duration):
            raise DefinitionError(f"{where}.duration", f"{sla.duration} is negative")
        if _days(sla.duration) > MAX_SLA_DAYS:
            raise DefinitionError(
                f"{where}.duration",
                f"{sla.duration} is longer than the longest SLA ({MAX_SLA_DAYS} days)",
            )
        for key in ("start_states", "pause_states", "stop_states"):
            for j, st in enumerate(getattr(sla, key)):
                if st not in names:
                    raise DefinitionError(f"{where}.{key}[{j}]", f"unknown state {st!r}")
        for key in ("start_triggers", "stop_triggers"):
            for j, trig in enumerate(getattr(sla, key)):
                if trig not in triggers:
                    raise DefinitionError(f"{where}.{key}[{j}]", f"unknown trigger {trig!r}")
        if sla.breach_trigger is not None and sla.breach_trigger not in triggers:
            raise DefinitionError(
                f"{where}.breach_trigger", f"unknown trigger {sla.breach_trigger!r}"
            )
        for j, frac in enumerate(sla.warn_at):
            if not 0 < frac < 1:
                raise DefinitionError(f"{where}.warn_at[{j}]", f"{frac} is not between 0 and 1")
        _check_policy(p, sla, where, triggers)
    _check_reachability(p)


def _check_limit(path: str, d: Duration) -> None:
    if _negative(d):
        raise DefinitionError(path, f"{d} is negative")
    if _days(d) > MAX_SLA_DAYS:
        raise DefinitionError(path, f"{d} is longer than the longest SLA ({MAX_SLA_DAYS} days)")


def _check_policy(p: ProcessDefinition, sla: Sla, where: str, triggers: set[str]) -> None:
    """Goals, the due date field and the escalation ladder of ``sla``."""
    names = {"default"}
    for j, g in enumerate(sla.goals):
        path = f"{where}.goals[{j}]"
        if not isinstance(g, Goal):
            raise DefinitionError(path, f"expected a Goal, got {type(g).__name__}")
        if not isinstance(g.name, str) or not _NAME.match(g.name) or g.name in names:
            raise DefinitionError(f"{path}.name", f"{g.name!r} is not a valid, unique goal name")
        names.add(g.name)
        _check_limit(f"{path}.duration", g.duration)
        if g.calendar is not None and (
            not isinstance(g.calendar, str) or not _CALENDAR.match(g.calendar)
        ):
            raise DefinitionError(f"{path}.calendar", f"{g.calendar!r} is not a calendar name")
        if not isinstance(g.when, Mapping) or not g.when:
            raise DefinitionError(
                f"{path}.when", "a goal needs a condition (the SLA's duration is the default)"
            )
        for key, want in g.when.items():
            field = p.fields.get(key)
            if field is None:
                raise DefinitionError(f"{path}.when.{key}", f"unknown field {key!r}")
            values = want if isinstance(want, tuple) else (want,)
            for v in values:
                if field.choices is not None and v not in field.choices:
                    raise DefinitionError(
                        f"{path}.when.{key}", f"{v!r} is not one of the field's choices"
                    )
    if sla.due_field is not None:
        field = p.fields.get(sla.due_field) if isinstance(sla.due_field, str) else None
        if field is None or field.type not in ("date", "datetime"):
            raise DefinitionError(
                f"{where}.due_field", f"{sla.due_field!r} is not a date or datetime field"
            )
        if sla.pause_states:
            raise DefinitionError(
                f"{where}.pause_states", "an SLA due at a date field cannot pause"
            )
    _bool(f"{where}.due_required", sla.due_required)
    if sla.due_required and sla.due_field is None:
        raise DefinitionError(f"{where}.due_required", "needs a due_field")
    levels: set[str] = set()
    for j, lv in enumerate(sla.ladder):
        path = f"{where}.ladder[{j}]"
        if not isinstance(lv, Level):
            raise DefinitionError(path, f"expected a Level, got {type(lv).__name__}")
        if not isinstance(lv.name, str) or not _NAME.match(lv.name) or lv.name in levels:
            raise DefinitionError(f"{path}.name", f"{lv.name!r} is not a valid, unique level name")
        levels.add(lv.name)
        set_by = [k for k in ("share", "before", "after") if getattr(lv, k) is not None]
        if len(set_by) != 1:
            raise DefinitionError(path, "set exactly one of share, before and after")
        if lv.share is not None and (
            isinstance(lv.share, bool)
            or not isinstance(lv.share, int | float)
            or not 0 < lv.share <= 10
        ):
            raise DefinitionError(
                f"{path}.share", f"{lv.share!r} is not a share above 0, at most 10"
            )
        if lv.before is not None and not isinstance(lv.before, ClockTime | WorkingHours):
            raise DefinitionError(
                f"{path}.before",
                f"{lv.before}: use clock time or working hours before the due instant",
            )
        for key in ("before", "after", "every"):
            d = getattr(lv, key)
            if d is not None:
                _check_limit(f"{path}.{key}", d)
        for k, role in enumerate(lv.notify):
            if not isinstance(role, str) or not role.strip():
                raise DefinitionError(f"{path}.notify[{k}]", f"{role!r} is not a role name")
        if lv.trigger is not None and lv.trigger not in triggers:
            raise DefinitionError(f"{path}.trigger", f"unknown trigger {lv.trigger!r}")
        if (
            isinstance(lv.repeat, bool)
            or not isinstance(lv.repeat, int)
            or not 0 <= lv.repeat <= 100
        ):
            raise DefinitionError(f"{path}.repeat", f"{lv.repeat!r} is not a count from 0 to 100")
        if (lv.every is None) != (lv.repeat == 0):
            raise DefinitionError(f"{path}.every", "reminders need both every and repeat")
        if lv.every is not None and not _days(lv.every) > 0:
            raise DefinitionError(f"{path}.every", f"{lv.every} is not a positive interval")


def _rule(t: Transition) -> str:
    """What decides whether ``t`` may be taken, as text (for spotting exact repeats)."""
    rule = (
        t.roles, t.requires, t.accepts, [g.to_dict() for g in t.guards], t.not_by, t.on_behalf_of
    )  # fmt: skip
    return json.dumps(rule, sort_keys=True, default=str)


def _level(path: str, value: object) -> None:
    try:
        rank(value, path)
    except InvalidValue as exc:
        raise DefinitionError(path, exc.problem) from None


def _bool(path: str, value: object) -> None:
    if not isinstance(value, bool):
        raise DefinitionError(path, f"expected true or false, not {value!r}")


def _days(d: Duration) -> float:
    """About how many days ``d`` spans (a month as 30.5), to compare with a limit."""
    if isinstance(d, ClockTime | WorkingHours):
        return d.delta / dt.timedelta(days=1)
    if isinstance(d, WorkingDays | CalendarDays):
        return d.days
    if isinstance(d, CalendarMonths):
        return d.months * 30.5
    return 0.0


def _negative(d: Duration) -> bool:
    if isinstance(d, ClockTime | WorkingHours):
        return d.delta < dt.timedelta()
    if isinstance(d, WorkingDays | CalendarDays):
        return d.days < 0
    if isinstance(d, CalendarMonths):
        return d.months < 0
    return False


def _check_actors(where: str, t: Transition, triggers: set[str]) -> None:
    """``not_by`` names known triggers; ``on_behalf_of`` is a role the step allows."""
    for j, trigger in enumerate(t.not_by):
        if trigger not in triggers:
            raise DefinitionError(f"{where}.not_by[{j}]", f"unknown trigger {trigger!r}")
    if t.on_behalf_of is None:
        return
    if not isinstance(t.on_behalf_of, str) or not t.on_behalf_of.strip():
        raise DefinitionError(f"{where}.on_behalf_of", f"{t.on_behalf_of!r} is not a role name")
    if t.roles and t.on_behalf_of not in t.roles:
        raise DefinitionError(
            f"{where}.on_behalf_of", f"{t.on_behalf_of!r} is not among the step's roles"
        )
    if len(t.roles) == 1:
        raise DefinitionError(
            f"{where}.on_behalf_of", "no other role may record the step on its behalf"
        )


def _check_reachability(p: ProcessDefinition) -> None:
    forward: dict[str, set[str]] = {s.name: set() for s in p.states}
    for src, t in p.edges:
        forward[src].add(t.dest)
    seen = {p.initial}
    todo = [p.initial]
    while todo:
        for nxt in forward[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for i, s in enumerate(p.states):
        if s.name not in seen:
            raise DefinitionError(
                f"states[{i}]", f"state {s.name!r} is unreachable from {p.initial!r}"
            )
    if not p.require_final:
        return
    if not p.final_states:
        raise DefinitionError(
            "states", "no final state (mark one final=True, or set require_final=False)"
        )
    backward: dict[str, set[str]] = {s.name: set() for s in p.states}
    for src, t in p.edges:
        backward[t.dest].add(src)
    ends = set(p.final_states)
    todo = list(ends)
    while todo:
        for prev in backward[todo.pop()]:
            if prev not in ends:
                ends.add(prev)
                todo.append(prev)
    for i, s in enumerate(p.states):
        if s.name not in ends:
            raise DefinitionError(
                f"states[{i}]",
                f"no final state is reachable from {s.name!r} (or set require_final=False)",
            )


def _check_assign(a: Assign, path: str, p: ProcessDefinition) -> None:
    if not isinstance(a, Assign):
        raise DefinitionError(path, f"expected an Assign, got {type(a).__name__}")
    for key in ("roles", "managers"):
        for j, role in enumerate(getattr(a, key)):
            if not isinstance(role, str) or not role.strip():
                raise DefinitionError(f"{path}.{key}[{j}]", f"{role!r} is not a role name")
    if a.field is not None and a.field not in p.fields:
        raise DefinitionError(f"{path}.field", f"unknown field {a.field!r}")
    if a.field is not None and a.field in p.confidential:
        raise DefinitionError(
            f"{path}.field",
            f"{a.field!r} is confidential: the assignee is recorded in the history and "
            "its events; name the person with a field that is not",
        )
    if a.call is not None and (not isinstance(a.call, str) or not _NAME.match(a.call)):
        raise DefinitionError(f"{path}.call", f"{a.call!r} is not a valid function name")
    if not (a.roles or a.field or a.call):
        raise DefinitionError(path, "names nobody: give roles, a field or a call")


# --- dict form ------------------------------------------------------------------------


def _state_dict(s: State) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name}
    if s.initial:
        out["initial"] = True
    if s.final:
        out["final"] = True
    if s.label:
        out["label"] = dict(s.label)
    if s.description:
        out["description"] = s.description
    if s.source:
        out["source"] = s.source
    if s.assign is not None:
        out["assign"] = {k: v for k, v in attrs.asdict(s.assign).items() if v}
    return out


def _field_dict(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "type": f.type}
    if f.confidential:
        out["confidential"] = True
    if f.indexed:
        out["indexed"] = True
    if f.choices is not None:
        out["choices"] = list(f.choices)
    if f.label:
        out["label"] = dict(f.label)
    if f.description:
        out["description"] = f.description
    if f.level is not None:
        out["level"] = f.level
    return out


def _transition_dict(t: Transition) -> dict[str, Any]:
    out: dict[str, Any] = {"trigger": t.trigger, "source": list(t.source), "dest": t.dest}
    for key in ("roles", "requires", "accepts"):
        if getattr(t, key):
            out[key] = list(getattr(t, key))
    if t.guards:
        out["guards"] = [g.to_dict() for g in t.guards]
    if t.record_refusals:
        out["record_refusals"] = True
    if t.label:
        out["label"] = dict(t.label)
    if t.description:
        out["description"] = t.description
    if t.source_clause:
        out["source_clause"] = t.source_clause
    if t.not_by:
        out["not_by"] = list(t.not_by)
    if t.on_behalf_of is not None:
        out["on_behalf_of"] = t.on_behalf_of
    return out


def _sla_dict(s: Sla) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name, "duration": str(s.duration)}
    for key in ("start_states", "start_triggers", "pause_states", "stop_states", "stop_triggers"):
        if getattr(s, key):
            out[key] = list(getattr(s, key))
    out["warn_at"] = list(s.warn_at)
    if s.breach_trigger:
        out["breach_trigger"] = s.breach_trigger
    if s.label:
        out["label"] = dict(s.label)
    if s.source:
        out["source"] = s.source
    if s.goals:
        out["goals"] = [
            {
                "name": g.name,
                "duration": str(g.duration),
                "when": _when_dict(g.when),
                **({} if g.calendar is None else {"calendar": g.calendar}),
            }
            for g in s.goals
        ]
    if s.due_field is not None:
        out["due_field"] = s.due_field
    if s.due_required:
        out["due_required"] = True
    if s.ladder:
        out["ladder"] = [_level_dict(lv) for lv in s.ladder]
    return out


def _when_dict(when: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in when.items()}


def _level_dict(lv: Level) -> dict[str, Any]:
    out: dict[str, Any] = {"name": lv.name}
    if lv.share is not None:
        out["share"] = lv.share
    for key in ("before", "after", "every"):
        if getattr(lv, key) is not None:
            out[key] = str(getattr(lv, key))
    if lv.notify:
        out["notify"] = list(lv.notify)
    if lv.trigger is not None:
        out["trigger"] = lv.trigger
    if lv.repeat:
        out["repeat"] = lv.repeat
    return out


def _take(data: Mapping[str, Any], path: str, allowed: set[str], required: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise DefinitionError(path, f"expected an object, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise DefinitionError(f"{path}.{key}" if path else key, "unknown key")
    for key in sorted(required):
        if key not in data:
            raise DefinitionError(f"{path}.{key}" if path else key, "missing")


def _list(data: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise DefinitionError(f"{path}{key}", f"expected a list, got {type(value).__name__}")
    return value


def _build(kind: Callable[..., Any], path: str, values: Mapping[str, Any]) -> Any:
    """``kind(**values)``, with a bad value reported at ``path``."""
    try:
        return kind(**values)
    except DefinitionError:
        raise
    except DurationError as exc:
        raise DefinitionError(f"{path}.duration", str(exc)) from exc
    except (TypeError, ValueError) as exc:
        raise DefinitionError(path, str(exc)) from exc


def _from_dict(
    cls: type[ProcessDefinition], data: Mapping[str, Any], functions: dict[str, GuardFunction]
) -> ProcessDefinition:
    top = {
        "name", "version", "title", "description", "require_final", "requires",
        "fields", "states", "transitions", "slas", "default_level",
    }  # fmt: skip
    _take(data, "", top, {"name", "version", "states", "transitions"})
    fields = []
    for i, f in enumerate(_list(data, "fields", "")):
        path = f"fields[{i}]"
        _take(
            f,
            path,
            {"name", "type", "confidential", "indexed", "choices", "label", "description",
             "level"},
            {"name"},
        )  # fmt: skip
        fields.append(_build(Field, path, f))
    states = []
    for i, s in enumerate(_list(data, "states", "")):
        path = f"states[{i}]"
        _take(
            s, path, {"name", "initial", "final", "label", "description", "source", "assign"},
            {"name"},
        )  # fmt: skip
        if "assign" in s:
            _take(s["assign"], f"{path}.assign", {"roles", "field", "call", "managers"}, set())
            s = {**s, "assign": _build(Assign, f"{path}.assign", s["assign"])}
        states.append(_build(State, path, s))
    transitions = []
    allowed_t = {
        "trigger", "source", "dest", "roles", "requires", "accepts", "guards",
        "record_refusals", "label", "description", "source_clause", "not_by", "on_behalf_of",
    }  # fmt: skip
    for i, t in enumerate(_list(data, "transitions", "")):
        path = f"transitions[{i}]"
        _take(t, path, allowed_t, {"trigger", "source", "dest"})
        guards = [
            Guard.from_dict(g, f"{path}.guards[{j}]")
            for j, g in enumerate(_list(t, "guards", f"{path}."))
        ]
        transitions.append(_build(Transition, path, {**t, "guards": guards}))
    slas = []
    allowed_s = {
        "name", "duration", "start_states", "start_triggers", "pause_states", "stop_states",
        "stop_triggers",
        "warn_at", "breach_trigger", "label", "source", "goals", "due_field", "ladder",
        "due_required",
    }  # fmt: skip
    for i, s in enumerate(_list(data, "slas", "")):
        path = f"slas[{i}]"
        _take(s, path, allowed_s, {"name", "duration"})
        goals = []
        for j, g in enumerate(_list(s, "goals", f"{path}.")):
            _take(
                g,
                f"{path}.goals[{j}]",
                {"name", "duration", "when", "calendar"},
                {"name", "duration"},
            )
            goals.append(_build(Goal, f"{path}.goals[{j}]", g))
        ladder = []
        allowed_l = {"name", "share", "before", "after", "notify", "trigger", "every", "repeat"}
        for j, lv in enumerate(_list(s, "ladder", f"{path}.")):
            _take(lv, f"{path}.ladder[{j}]", allowed_l, {"name"})
            for key in ("before", "after", "every"):
                try:
                    _optional_duration(lv.get(key))
                except DurationError as exc:
                    raise DefinitionError(f"{path}.ladder[{j}].{key}", str(exc)) from exc
            ladder.append(_build(Level, f"{path}.ladder[{j}]", lv))
        slas.append(_build(Sla, path, {**s, "goals": goals, "ladder": ladder}))
    return cls(
        name=data["name"],
        version=data["version"],
        states=states,
        transitions=transitions,
        fields=fields,
        slas=slas,
        requires=data.get("requires", ()),
        title=data.get("title"),
        description=data.get("description", ""),
        require_final=data.get("require_final", True),
        functions=functions,
        default_level=data.get("default_level", PUBLIC),
    )
