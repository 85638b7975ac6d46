"""Why a start or a fire would be refused: the one reasons function of the engine.

:func:`reasons` lists everything that stands in the way, not only the first thing:
the actor's roles, fields the step does not take, required fields left empty, values of
the wrong type or outside their choices, the transition's guards, an actor who fired a
step the transition must be taken by someone else than (``not_by``), and the written
evidence of a step recorded on someone's behalf (``on_behalf_of``). ``start`` checks
the process's start fields with it, ``fire`` and the questions (``why_not``,
``available_triggers``) check a transition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..calendar import WorkCalendar
from ..case import Case, HistoryEntry
from ..definition import EVIDENCE_FIELDS, ProcessDefinition, Transition
from ..guards import GuardContext, Reason

__all__ = ["EMPTY", "actors_of", "closest", "invalid_values", "reasons", "replay_differs"]

#: who fired each trigger of a case so far, read only when a transition asks
FiredBy = Callable[[], Mapping[str, frozenset[str | None]]]

#: values that leave a required field unmet
EMPTY: tuple[Any, ...] = (None, "", [], {})

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


def reasons(
    definition: ProcessDefinition,
    calendar: WorkCalendar,
    step: Transition | None,
    case: Case | None,
    payload: Mapping[str, Any],
    at: dt.datetime,
    actor_id: str | None = None,
    roles: frozenset[str] = frozenset(),
    *,
    check_payload: bool = True,
    system: bool = False,
    fired_by: FiredBy | None = None,
) -> list[Reason]:
    """Every reason ``step`` would be refused now (empty: it would be accepted).

    Args:
        definition: the process.
        calendar: the calendar guards count working time with.
        step: the transition fired, or ``None`` for starting a case (then ``payload``
            is the start data, checked against the process's fields and ``requires``).
        case: the case as it stands (``None`` when starting one).
        payload: the values given with the step.
        at: when the step happens.
        actor_id, roles: who takes the step (``system`` skips the role check: an
            automatic trigger such as an SLA's breach trigger).
        check_payload: False leaves the payload unchecked (``available_triggers``).
        fired_by: who fired each trigger of the case (:func:`actors_of`), asked only when
            ``step.not_by`` is set; ``None``: the history is not at hand, so a person is
            refused such a step (``system`` steps are not checked).
    """
    if step is None:
        accepted: frozenset[str] | tuple[str, ...] = frozenset(definition.fields)
        required: tuple[str, ...] = tuple(definition.requires)
        data: Mapping[str, Any] = {}
        unexpected_text = "undeclared fields {}"
    else:
        if not (payload or step.roles or step.requires or step.guards or step.not_by):
            return []  # nothing to check: the common case of a plain trigger
        accepted = (*step.requires, *step.accepts)
        if step.on_behalf_of is not None:
            accepted = (*accepted, *EVIDENCE_FIELDS)
        required = step.requires
        data = case.data if case is not None else {}
        unexpected_text = f"{step.trigger!r} does not take {{}}"
    found: list[Reason] = []
    if step is not None and step.roles and not system and not roles.intersection(step.roles):
        found.append(
            Reason("role_required", f"needs one of the roles {', '.join(step.roles)}",
                   step.roles, "role")
        )  # fmt: skip
    if step is not None and not system:
        found += _actor_reasons(step, payload, actor_id, roles, fired_by, check_payload)
    if check_payload:
        unexpected = sorted(set(payload) - set(accepted))
        if unexpected:
            found.append(
                Reason("unexpected_field", unexpected_text.format(", ".join(unexpected)),
                       unexpected, "field")
            )  # fmt: skip
        missing = [f for f in required if (payload[f] if f in payload else data.get(f)) in EMPTY]
        if missing:
            found.append(Reason("missing_field", f"missing {', '.join(missing)}", missing, "field"))
        invalid = invalid_values(definition, payload)
        if invalid:
            found.append(Reason("invalid_field", "; ".join(invalid), invalid, "field"))
    if step is not None and step.guards and case is not None:
        ctx = GuardContext(
            data=case.data,
            payload=payload,
            counts=case.counts,
            now=at,
            entered_at=case.entered_at,
            actor=actor_id,
            state=case.state,
            calendar=calendar,
            roles=roles,
        )
        for guard in step.guards:
            reason = guard.check(ctx, definition.functions)
            if reason is not None:
                found.append(reason)
    return found


def _actor_reasons(
    step: Transition,
    payload: Mapping[str, Any],
    actor_id: str | None,
    roles: frozenset[str],
    fired_by: FiredBy | None,
    check_payload: bool,
) -> list[Reason]:
    """Four eyes (``not_by``) and the evidence of a step recorded on someone's behalf."""
    found = []
    if step.not_by:
        fired = fired_by() if fired_by is not None else {}
        own = [t for t in step.not_by if fired_by is None or actor_id in fired.get(t, ())]
        if own:
            found.append(
                Reason("same_actor", f"{actor_id!r} fired {', '.join(own)}: someone else must "
                       f"{step.trigger}", own)
            )  # fmt: skip
    behalf = step.on_behalf_of
    if check_payload and behalf is not None and behalf not in roles:
        missing = [f for f in EVIDENCE_FIELDS if not _text(payload.get(f))]
        if missing:
            found.append(
                Reason("evidence_missing", f"recorded on the {behalf}'s behalf without the "
                       f"written evidence: missing {', '.join(missing)}", missing, "field")
            )  # fmt: skip
    return found


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def actors_of(entries: Sequence[HistoryEntry], upto: int) -> dict[str, frozenset[str | None]]:
    """Who fired each trigger in ``entries`` up to sequence number ``upto`` (the case as
    loaded: entries written after it are not looked at)."""
    out: dict[str, set[str | None]] = {}
    for e in entries:
        if e.kind == "fire" and e.trigger is not None and e.seq <= upto:
            out.setdefault(e.trigger, set()).add(e.actor)
    return {trigger: frozenset(actors) for trigger, actors in out.items()}


def invalid_values(definition: ProcessDefinition, values: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``values`` against the declared field types and choices."""
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
                shown = "the value" if name in definition.confidential else repr(bad[0])
                problems.append(
                    f"{name}: {shown} is not one of {', '.join(map(str, spec.choices))}"
                )
    return problems


def closest(
    refusals: Sequence[tuple[Transition, list[Reason]]],
) -> tuple[Transition, list[Reason]]:
    """The refusal to report when every candidate transition was refused: the first one
    the actor holds a role for (its fields and guards are what stands in the way), else
    the first one."""
    for refusal in refusals:
        if not any(r.kind == "role" for r in refusal[1]):
            return refusal
    return refusals[0]


def replay_differs(
    entries: Sequence[HistoryEntry],
    done: Case,
    trigger: str,
    payload: Mapping[str, Any],
    actor_id: str | None,
) -> list[str]:
    """What differs between a request and the fire first stored under its idempotency
    key (``done`` is the case that fire left): ``trigger``, ``payload``, ``actor``.

    Empty: the request is the same one, retried, and gets the stored case back.
    """
    first = next((e for e in entries if e.kind == "fire" and e.version == done.version), None)
    if first is None:  # the history no longer shows it: nothing to compare against
        return []
    differs = []
    if first.trigger != trigger:
        differs.append("trigger")
    if dict(first.payload) != dict(payload):
        differs.append("payload")
    if first.actor != actor_id:
        differs.append("actor")
    return differs
