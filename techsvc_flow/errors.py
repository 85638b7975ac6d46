"""The exceptions of techsvc_flow.

Every error derives from :class:`FlowError` and also from the builtin that fits it,
so callers may catch either. Errors carry what the caller needs as attributes.

Definition-time errors (raised while a process or calendar is built) are apart from
runtime errors (raised while a case moves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BusinessHoursError",
    "CalendarCoverageError",
    "CalendarError",
    "CaseExists",
    "CaseNotFound",
    "ConcurrentUpdate",
    "ConfigurationError",
    "DefinitionError",
    "DurationError",
    "FlowError",
    "GuardFailed",
    "IdempotencyConflict",
    "IncidentNotFound",
    "InvalidValue",
    "NaiveDatetimeError",
    "OutOfOrder",
    "PermissionDenied",
    "ProcessNotFound",
    "ProvisionalWarning",
    "ScheduleError",
    "SignatureError",
    "TransitionNotAllowed",
    "UnknownCountryError",
]


class FlowError(Exception):
    """Root of every error raised by techsvc_flow."""


# --- calendar and durations -------------------------------------------------------


class CalendarError(FlowError, ValueError):
    """A calendar was built or used with bad input."""


class NaiveDatetimeError(CalendarError):
    """A datetime without a time zone was given where an aware instant is required."""

    def __init__(self, value: object, what: str = "instant") -> None:
        self.value = value
        super().__init__(
            f"{what} {value!r} is naive: pass an aware datetime "
            "(e.g. datetime(..., tzinfo=ZoneInfo('Asia/Shanghai')))"
        )


class UnknownCountryError(CalendarError, LookupError):
    """The ``holidays`` package knows no such country or subdivision."""

    def __init__(self, country: str, subdiv: str | None = None, detail: str = "") -> None:
        self.country = country
        self.subdiv = subdiv
        where = f"{country!r}" + (f" subdivision {subdiv!r}" if subdiv else "")
        super().__init__(f"unknown country {where} in the holidays package{detail}")


class BusinessHoursError(CalendarError):
    """Business hours overlap, end before they start, or are otherwise malformed."""


class ScheduleError(CalendarError):
    """A holiday schedule (from code or from a file) is malformed."""


class DurationError(FlowError, ValueError):
    """A duration string or value is malformed."""

    def __init__(self, text: object, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"bad duration {text!r}: {reason}")


class CalendarCoverageError(FlowError, LookupError):
    """A date lies past the horizon of the officially published holiday schedules.

    Attributes:
        year: the first year the calendar has no official schedule for.
        authoritative_until: the last day covered by an official schedule.
    """

    def __init__(self, year: int, authoritative_until: Any, detail: str = "") -> None:
        self.year = year
        self.authoritative_until = authoritative_until
        super().__init__(
            f"no official holiday schedule for {year} (official data ends "
            f"{authoritative_until}){detail}: load the published schedule with "
            "cal.with_schedule(...), or build the calendar with coverage='provisional' "
            "to compute a rule-based estimate marked provisional"
        )


class ProvisionalWarning(UserWarning):
    """A result was computed past the official horizon and is only an estimate."""


# --- process definitions ----------------------------------------------------------


class DefinitionError(FlowError, ValueError):
    """A process definition is invalid.

    Attributes:
        path: where in the definition the fault is, e.g. ``transitions[2].dest``.
        problem: what is wrong there.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


# --- runtime: cases -----------------------------------------------------------------


class ProcessNotFound(FlowError, LookupError):
    """No process of this name (and version) is registered with the workflow.

    Attributes:
        name: the process asked for.
        version: the version asked for (``None``: the latest).
        registered: the registered processes, as ``(name, version)`` pairs.
    """

    def __init__(
        self, name: str, version: int | None, registered: Sequence[tuple[str, int]]
    ) -> None:
        self.name = name
        self.version = version
        self.registered = tuple(registered)
        known = ", ".join(f"{n} v{v}" for n, v in self.registered) or "none"
        which = f" version {version}" if version is not None else ""
        super().__init__(
            f"process {name!r}{which} is not registered (registered: {known}); "
            "call register() first"
        )


class CaseNotFound(FlowError, KeyError):
    """No case with this id is stored."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(case_id)

    def __str__(self) -> str:
        return f"no case with id {self.case_id!r}"


class TransitionNotAllowed(FlowError, LookupError):
    """The trigger is not defined from the case's current state.

    Attributes:
        state: the case's current state.
        trigger: the trigger that was fired.
        allowed: the triggers defined from ``state`` that the actor could fire (its
            roles permit them).
        others: the other triggers defined from ``state``: another role's, or
            system-only ones (``system_only``), which the engine fires itself (e.g. on an
            SLA breach).
        system_only: those of ``others`` that only the system fires.
    """

    def __init__(
        self,
        case_id: str,
        state: str,
        trigger: str,
        allowed: Sequence[str],
        others: Sequence[str] = (),
        system_only: Sequence[str] = (),
    ) -> None:
        self.case_id = case_id
        self.state = state
        self.trigger = trigger
        self.allowed = tuple(allowed)
        self.others = tuple(others)
        self.system_only = tuple(system_only)
        marked = [f"{t} (system only)" if t in self.system_only else f"{t} (other roles)"
                  for t in self.others]  # fmt: skip
        super().__init__(
            f"case {case_id!r}: trigger {trigger!r} is not allowed in state {state!r}; "
            f"allowed: {', '.join(self.allowed) or '(none)'}"
            + (f"; not for this actor: {', '.join(marked)}" if marked else "")
        )


class GuardFailed(FlowError, ValueError):
    """One or more guards or required fields refused the trigger.

    Attributes:
        reasons: every unmet condition, as :class:`techsvc_flow.Reason` objects.
    """

    def __init__(self, case_id: str, trigger: str, reasons: Sequence[Any]) -> None:
        self.case_id = case_id
        self.trigger = trigger
        self.reasons = tuple(reasons)
        listed = "; ".join(str(r) for r in self.reasons)
        super().__init__(f"case {case_id!r}: {trigger!r} refused: {listed}")


class PermissionDenied(FlowError, PermissionError):
    """The actor has none of the roles allowed to fire the trigger.

    Attributes:
        actor: the actor's id.
        roles: the roles that may fire the trigger.
        reasons: every unmet condition, the role first (see :meth:`Workflow.why_not`).
    """

    def __init__(
        self,
        case_id: str,
        trigger: str,
        actor: str | None,
        roles: Sequence[str],
        reasons: Sequence[Any] = (),
    ) -> None:
        self.case_id = case_id
        self.trigger = trigger
        self.actor = actor
        self.roles = tuple(roles)
        self.reasons = tuple(reasons)
        super().__init__(
            f"case {case_id!r}: actor {actor!r} may not fire {trigger!r}; "
            f"needs one of the roles: {', '.join(self.roles)}"
        )


class ConcurrentUpdate(FlowError, RuntimeError):
    """The case changed since it was read: its version is not the expected one."""

    def __init__(self, case_id: str, expected: int, actual: int | None) -> None:
        self.case_id = case_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"case {case_id!r} was changed concurrently (expected {expected}, found "
            f"{actual}): reload the case and try again"
        )


class CaseExists(FlowError, LookupError):
    """A case with this id is stored already (``start`` with an id in use).

    Not a :class:`ConcurrentUpdate`: reloading and trying again cannot help; choose
    another id, or :meth:`~techsvc_flow.Workflow.get` the existing case.
    """

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(
            f"a case with id {case_id!r} exists already: choose another id, or get() it"
        )


class IdempotencyConflict(FlowError, ValueError):
    """An idempotency key was used again for a different request.

    Attributes:
        case_id: the case.
        key: the idempotency key.
        differs: what differs from the first request (``trigger``, ``payload``, ``actor``).
    """

    def __init__(self, case_id: str, key: str, differs: Sequence[str]) -> None:
        self.case_id = case_id
        self.key = key
        self.differs = tuple(differs)
        super().__init__(
            f"idempotency key {key!r} on case {case_id!r} was first used with another "
            f"{', '.join(self.differs)}: use a new key for a new request"
        )


class OutOfOrder(FlowError, ValueError):
    """An instant lies before the case's last recorded entry (time cannot run backwards).

    Attributes:
        case_id: the case.
        at: the instant given.
        last: the instant of the case's last entry.
    """

    def __init__(self, case_id: str, at: Any, last: Any) -> None:
        self.case_id = case_id
        self.at = at
        self.last = last
        super().__init__(
            f"case {case_id!r}: {at.isoformat()} is before its last entry at "
            f"{last.isoformat()}; a case's history only moves forward"
        )


class InvalidValue(FlowError, ValueError):
    """A value given to the library cannot be used (refused before anything is written).

    Attributes:
        path: where the value is, e.g. ``payload.items[3].price`` or ``case_id``.
        problem: what is wrong with it (never the value itself when it may be secret).
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class ConfigurationError(FlowError, ValueError):
    """A setting of a receiver, store or workflow is unusable.

    Attributes:
        setting: which setting, e.g. ``Webhook.secret``.
        problem: what is wrong with it and what to do.
    """

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class IncidentNotFound(FlowError, LookupError):
    """No open incident with this id."""

    def __init__(self, incident_id: str) -> None:
        self.incident_id = incident_id
        super().__init__(f"no open incident with id {incident_id!r}")


class SignatureError(FlowError, ValueError):
    """A webhook request whose signature does not prove it came from us, now.

    Attributes:
        reason: ``"missing"`` (a signature or timestamp header is absent or malformed),
            ``"mismatch"`` (the signature does not match the body and timestamp) or
            ``"stale"`` (the timestamp is outside the tolerance window: a replay).
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"webhook signature {reason}: {detail}")
