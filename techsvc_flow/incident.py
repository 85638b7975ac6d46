"""Incidents: automatic work the engine owes and could not do (:class:`Incident`).

An incident is opened when a breach's automatic trigger is refused or fails (kind
``"trigger"``: kept on the case, :attr:`~techsvc_flow.case.Case.incidents`, until it is
resolved), or when a due timer's case cannot be processed at all (kind ``"timer"``:
kept on the timer row). Later ticks retry it with backoff; a person may resolve it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Incident", "incident_id"]


@attrs.frozen
class Incident:
    """One incident: automatic work that is owed and was not done.

    Attributes:
        id: identifies the incident (for :meth:`Workflow.resolve_incident`).
        case_id: the case.
        kind: ``"trigger"`` (an SLA's automatic trigger was refused or failed) or
            ``"timer"`` (a due timer's case could not be processed).
        sla: the SLA whose mark or trigger is owed.
        trigger: the automatic trigger owed (``None`` for a timer incident).
        error: the error's class and message (``"GuardFailed: ..."``).
        opened_at: when it was opened.
        attempts: how many attempts failed so far.
        next_attempt_at: when a tick tries again (``None`` once resolved).
        resolved_at, resolved_by, note: when, by whom (``"system"`` for a successful
            retry) and why it was closed (``None`` while open).
    """

    id: str
    case_id: str
    kind: str
    sla: str | None
    trigger: str | None
    error: str
    opened_at: dt.datetime
    attempts: int = 1
    next_attempt_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (instants kept as objects)."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incident:
        """Read back :meth:`to_dict`."""
        return cls(**data)


def incident_id(*parts: object) -> str:
    """A stable incident id made from what identifies the incident."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]
