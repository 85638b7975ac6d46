"""Helpers for walking the built-in templates in tests."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import (
    Actor,
    Case,
    GuardFailed,
    ProcessDefinition,
    SteppedClock,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.processes.standards import CONTRACT_CLAUSE_CODES

SHANGHAI = ZoneInfo("Asia/Shanghai")
RECEIVED = dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)  # a Tuesday, before National Day

ROLES = (
    "client",
    "reception",
    "consultant",
    "project_manager",
    "quality_manager",
    "handler",
    "manager",
)


def _actor(role: str) -> Actor:
    # mypy reads Actor's ``roles`` converter (``frozenset``) as taking Iterable[_T_co],
    # which no argument satisfies: an engine typing gap, reported to the lead
    make: Any = Actor
    actor: Actor = make(role, {role})
    return actor


ACTORS = {role: _actor(role) for role in ROLES}

CLAUSES = {code: f"clause text for {code}" for code in CONTRACT_CLAUSE_CODES}


class Walk:
    """One case of one process, walked by role name, on a stepped clock."""

    def __init__(
        self,
        process: ProcessDefinition,
        calendar: WorkCalendar,
        *,
        data: dict[str, Any],
        case_id: str = "CASE-1",
        start: dt.datetime = RECEIVED,
    ) -> None:
        self.clock = SteppedClock(start)
        self.wf = Workflow(calendar=calendar, clock=self.clock, processes=[process])
        self.id = case_id
        self.wf.start(process.name, case_id=case_id, data=data, actor=ACTORS["reception"])

    @property
    def case(self) -> Case:
        return self.wf.get(self.id)

    @property
    def state(self) -> str:
        return self.case.state

    def fire(self, trigger: str, role: str, **payload: Any) -> str:
        """Fire as ``role``; returns the new state."""
        return self.wf.fire(self.id, trigger, actor=ACTORS[role], payload=payload).state

    def why(self, trigger: str, role: str, **payload: Any) -> list[str]:
        """The reason codes that would refuse ``trigger``."""
        return [
            r.code for r in self.wf.why_not(self.id, trigger, actor=ACTORS[role], payload=payload)
        ]

    def refused(self, trigger: str, role: str, **payload: Any) -> dict[str, tuple[str, ...]]:
        """Fire, expecting a refusal; returns the reason codes with their details."""
        before = self.case.version
        with pytest.raises(GuardFailed) as info:
            self.fire(trigger, role, **payload)
        assert self.case.version == before
        return {r.code: r.details for r in info.value.reasons}

    def due(self, sla: str) -> dt.datetime | None:
        return next(s.due for s in self.wf.deadlines(self.id) if s.name == sla)

    def status(self, sla: str) -> str:
        return next(s.status for s in self.wf.deadlines(self.id) if s.name == sla)

    def fired(self) -> list[tuple[str | None, str | None]]:
        """(trigger, actor) of every fire in the history."""
        return [(e.trigger, e.actor) for e in self.wf.history(self.id) if e.kind == "fire"]

    def advance(self, **parts: float) -> dt.datetime:
        return self.clock.advance(**parts)

    def tick(self) -> list[str]:
        """Run the due timers now; returns ``type:sla`` of the events raised."""
        return [f"{e.type}:{e.payload['sla']}" for e in self.wf.tick(self.clock.now())]
