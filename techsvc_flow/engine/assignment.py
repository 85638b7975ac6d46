"""Who acts next: assignment rules on entering a state, and the work operations.

Assignment is data, not state. On entering a state whose definition declares an
:class:`~techsvc_flow.definition.Assign` rule, the case is assigned (recorded in the
move's own history entry, :attr:`~techsvc_flow.case.HistoryEntry.assigned`, with a
``work.assign`` event by the system); leaving the state clears it. The
operations ``assign``, ``claim``, ``unclaim``, ``reassign`` (转办, with a reason),
``delegate`` (委托), ``urge`` (催办) and ``comment`` are ``work.<operation>`` history
entries and events of the same name, written through the one commit step. They do not
change the case's ``version`` (they are not state changes); they move ``seq``, ``head``
and ``updated_at``. A refused operation raises with every :class:`Reason` (see
:func:`work_reasons`), the same reasons :meth:`Workflow.why_not_work` lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..case import Assignment, Case
from ..definition import ProcessDefinition
from ..errors import ConcurrentUpdate, ConfigurationError, GuardFailed, PermissionDenied
from ..guards import Reason
from ._unit import Draft

if TYPE_CHECKING:
    from .workflow import ActorLike, Workflow

__all__ = [
    "OPERATIONS",
    "WORK_KINDS",
    "Assigner",
    "on_entry",
    "perform",
    "work_reasons",
]

#: the work operations, each recorded as a ``work.<operation>`` entry and event
OPERATIONS = ("assign", "claim", "unclaim", "reassign", "delegate", "urge", "comment")
#: the history entry kinds (and event types) of the work operations
WORK_KINDS = tuple(f"work.{op}" for op in OPERATIONS)

#: a host's assigner: given the case entering the state and the candidate roles, the
#: person to assign (``None``: leave it to the candidates)
Assigner = Callable[[Case, tuple[str, ...]], str | None]

_ATTEMPTS = 5


def _set(before: Case | None, after: Case, name: str, value: Any) -> Case:
    """``after`` with ``name`` set: in place when ``after`` was made for this write."""
    if after is before:
        return attrs.evolve(after, **{name: value})
    object.__setattr__(after, name, value)
    return after


def on_entry(
    definition: ProcessDefinition,
    before: Case | None,
    after: Case,
    drafts: Sequence[Draft],
    assigners: Mapping[str, Assigner],
) -> tuple[Case, Sequence[Draft]]:
    """Apply the entered state's rule when ``drafts`` move the case to another state.

    Returns the case (its assignment cleared, then set by the rule) and the drafts, the
    move among them recording what the rule chose in its ``assigned`` (nothing when it
    names nobody): one sealed entry for the move and the assignment, whose events
    include ``work.assign`` (see :attr:`~techsvc_flow.case.HistoryEntry.assigned`).

    Raises:
        ConfigurationError: the rule calls an assigner that is not registered.
    """
    move = -1
    for i, d in enumerate(drafts):
        if d.dest is not None and (d.dest != d.source or before is None):
            move = i
    if move < 0:
        return after, drafts
    rule = definition.state_map[after.state].assign
    assignment: Assignment | None = None
    if rule is not None:
        person = None
        by = "roles"
        if rule.field is not None and after.data.get(rule.field):
            person, by = str(after.data[rule.field]), "field"
        elif rule.call is not None:
            assigner = assigners.get(rule.call)
            if assigner is None:
                raise ConfigurationError(
                    f"Workflow.assigner({rule.call!r})",
                    f"is not registered; state {after.state!r} of process "
                    f"{definition.name!r} assigns with it",
                )
            person, by = assigner(after, rule.roles), "call"
        if person is not None or rule.roles:
            assignment = _assignment(person, rule.roles)
            assigned = {"assignment": {"assignee": person, "roles": list(rule.roles),
                                       "delegate": None}, "rule": by}  # fmt: skip
            drafts = list(drafts)
            drafts[move] = drafts[move]._replace(assigned=assigned)
    if after.assignment is not assignment and after.assignment != assignment:
        after = _set(before, after, "assignment", assignment)
    return after, drafts


#: the assignments the rules made, shared (they are immutable): most name the same roles
_MADE: dict[tuple[str | None, tuple[str, ...]], Assignment] = {}


def _assignment(person: str | None, roles: tuple[str, ...]) -> Assignment:
    """``Assignment(person, roles)``, the same object each time for a str or no person."""
    if person is not None and type(person) is not str:
        return Assignment(person, roles)
    made = _MADE.get((person, roles))
    if made is None:
        if len(_MADE) >= 4096:
            _MADE.clear()
        made = _MADE[person, roles] = Assignment(person, roles)
    return made


def _reason(code: str, message: str, details: Sequence[str] = (), kind: str = "state") -> Reason:
    return Reason(code, message, tuple(details), kind)


def work_reasons(
    definition: ProcessDefinition,
    case: Case,
    operation: str,
    actor_id: str | None,
    roles: frozenset[str],
    to: str | None = None,
    reason: str | None = None,
    text: str | None = None,
) -> list[Reason]:
    """Every reason ``operation`` would be refused now (empty: it would be accepted)."""
    if operation not in OPERATIONS:
        return [_reason("unknown_operation", f"{operation!r} is not one of "
                        f"{', '.join(OPERATIONS)}", OPERATIONS)]  # fmt: skip
    out: list[Reason] = []
    if not actor_id:
        out.append(_reason("actor_required", f"{operation} needs the person who does it",
                           kind="role"))  # fmt: skip
    if operation == "comment":
        if not (isinstance(text, str) and text.strip()):
            out.append(_reason("text_required", "a comment needs a text", kind="field"))
        return out
    if case.state in definition.final_states:
        out.append(_reason("case_finished", f"the case is finished (state {case.state!r})"))
        return out
    rule = definition.state_map[case.state].assign
    a = case.assignment or Assignment()
    managers = rule.managers if rule is not None else ()
    manager = bool(roles & set(managers))
    candidates = a.roles or (rule.roles if rule is not None else ())
    if operation in ("assign", "reassign", "delegate") and not (isinstance(to, str) and to):
        out.append(_reason("assignee_required", f"{operation} needs the person (to=)",
                           kind="field"))  # fmt: skip
    if operation == "claim":
        if not candidates:
            out.append(_reason("not_claimable", f"nobody may claim the case in state "
                               f"{case.state!r}: it names no candidate roles"))  # fmt: skip
        elif not roles & set(candidates):
            out.append(_reason("role_required", f"claiming needs one of the roles: "
                               f"{', '.join(candidates)}", candidates, "role"))  # fmt: skip
        if a.assignee is not None:
            whose = "you" if a.assignee == actor_id else repr(a.assignee)
            out.append(_reason("already_claimed", f"the case is already claimed by {whose}",
                               (a.assignee,)))  # fmt: skip
    elif operation == "assign":
        if a.assignee is not None:
            out.append(_reason("already_claimed", f"the case is already assigned to "
                               f"{a.assignee!r}: reassign it, with a reason",
                               (a.assignee,)))  # fmt: skip
        if not manager:
            out.append(_reason("role_required", "assigning needs one of the roles: "
                               f"{', '.join(managers) or '(none declared)'}", managers,
                               "role"))  # fmt: skip
    elif operation in ("unclaim", "reassign", "delegate"):
        if a.assignee is None:
            out.append(_reason("not_claimed", "the case is not assigned to anyone"))
        elif a.assignee != actor_id and not manager:
            out.append(_reason("role_required", f"only the assignee ({a.assignee!r}) or one "
                               f"of the roles {', '.join(managers) or '(none declared)'} may "
                               f"{operation}", managers, "role"))  # fmt: skip
        if operation != "unclaim" and to is not None and to == a.assignee:
            out.append(_reason("same_assignee", f"{to!r} is the assignee already", (to,),
                               "field"))  # fmt: skip
        if operation == "reassign" and not (isinstance(reason, str) and reason.strip()):
            out.append(_reason("reason_required", "reassigning needs a reason", kind="field"))
    elif operation == "urge" and a.assignee is None and not candidates:
        out.append(_reason("nobody_assigned", "nobody is assigned or may claim the case"))
    return out


def _changed(case: Case, operation: str, actor_id: str, to: str | None) -> Assignment | None:
    """The assignment after ``operation`` (``case.assignment`` for urge and comment)."""
    a = case.assignment or Assignment()
    if operation == "claim":
        return attrs.evolve(a, assignee=actor_id, delegate=None)
    if operation == "assign":
        return attrs.evolve(a, assignee=to, delegate=None)
    if operation == "reassign":
        return attrs.evolve(a, assignee=to, delegate=None)
    if operation == "unclaim":
        return Assignment.from_dict({"roles": a.roles})
    if operation == "delegate":
        return attrs.evolve(a, delegate=to)
    return case.assignment


def perform(
    wf: Workflow,
    case_id: str,
    operation: str,
    actor: ActorLike,
    at: dt.datetime,
    *,
    to: str | None = None,
    reason: str | None = None,
    text: str | None = None,
    explicit: bool = True,
) -> Case:
    """Do a work operation (see :meth:`Workflow.claim` and its siblings); returns the case.

    An ``explicit`` instant before the case's last entry raises ``OutOfOrder``; the
    clock's "now" lagging it takes that entry's instant. A write that lost an
    optimistic race is tried again on a fresh read, so that of two concurrent claims
    one wins and the other is refused (``already_claimed``).
    """
    actor_id, roles = wf._actor(actor)
    for attempt in range(_ATTEMPTS):
        case = wf.store.load(case_id)
        definition = wf._machine(case.process, case.process_version).definition
        refused = work_reasons(definition, case, operation, actor_id, roles, to, reason, text)
        if refused:
            if refused[0].kind == "role" and actor_id:
                raise PermissionDenied(case_id, operation, actor_id, refused[0].details, refused)
            raise GuardFailed(case_id, operation, refused)
        assert actor_id is not None  # refused above otherwise
        assignment = _changed(case, operation, actor_id, to)
        payload: dict[str, Any] = {}
        if assignment is not case.assignment:
            payload["assignment"] = (assignment or Assignment()).to_dict()
        if operation in ("reassign", "delegate"):
            payload["from"] = (case.assignment or Assignment()).assignee
        for key, value in (("reason", reason), ("text", text)):
            if value is not None:
                payload[key] = value
        if operation == "urge":
            a = case.assignment or Assignment()
            payload["to"] = [a.assignee] if a.assignee else list(a.roles)
        after = case if assignment is case.assignment else attrs.evolve(case, assignment=assignment)
        when = at if explicit else max(at, case.updated_at)
        draft = Draft(f"work.{operation}", actor_id, None, case.state, None, payload)
        try:
            return wf._write(definition, case, after, [draft], when).case
        except ConcurrentUpdate:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
