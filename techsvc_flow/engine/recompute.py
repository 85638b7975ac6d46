"""Recompute open deadlines after a newly published holiday schedule is loaded.

The State Council publishes the next year's holidays and 调休 make-up working days
around November; until then, deadlines reaching into that year are estimates
(``coverage="provisional"``). :func:`recompute_deadlines` takes the calendar with the new
schedule, recomputes every open SLA clock from its recorded events, and reports which
deadlines moved, by how much, and which warnings and breaches are now due or no longer
due. History is never rewritten: each affected case gets an ``sla.recomputed`` entry
appended (and its timers set afresh), under the usual optimistic check.

After it, run the workflow it returns (:attr:`RecomputeReport.workflow`, the same
workflow on the new calendar) — a workflow still on the old calendar would set the
timers back — and ``tick()`` it to raise the marks now due.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import (
    ConcurrentUpdate,
    NaiveDatetimeError,
    OutOfOrder,
    ProcessNotFound,
    ProvisionalWarning,
)
from ..sla import BREACH, SlaClock, mark_name
from ._unit import Draft, write
from .timers import ATTEMPTS

if TYPE_CHECKING:
    from ..calendar import WorkCalendar
    from ..case import Case
    from ..definition import ProcessDefinition, Sla
    from .workflow import Workflow

__all__ = ["DeadlineChange", "RecomputeReport", "recompute_deadlines"]

KIND = "sla.recomputed"


def _signed(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "—"
    if not delta:
        return "0"
    sign = "-" if delta < dt.timedelta() else "+"
    delta = abs(delta)
    days, rest = delta.days, delta.seconds
    parts = []
    if days:
        parts.append(f"{days} day" + ("s" if days != 1 else ""))
    if rest or not days:
        hours, rest = divmod(rest, 3600)
        parts.append(f"{hours}:{rest // 60:02d}")
    return sign + " ".join(parts)


@attrs.frozen
class DeadlineChange:
    """One open SLA clock under the old and the new calendar.

    Attributes:
        case_id, process, sla: the clock.
        status: ``running`` or ``paused`` (a paused clock is compared as if resumed at
            the instant of the recomputation).
        old_due, new_due: when the limit is reached under each calendar.
        old_provisional, new_provisional: whether each rests on an estimate.
        now_due: marks (``warning:50%``, ``breach``) due under the new calendar that were
            not under the old; the next ``tick()`` raises them.
        no_longer_due: marks raised (or due) under the old calendar that the new one
            puts in the future. A raised mark is not raised again.
    """

    case_id: str
    process: str
    sla: str
    status: str
    old_due: dt.datetime | None
    new_due: dt.datetime | None
    old_provisional: bool
    new_provisional: bool
    now_due: tuple[str, ...] = ()
    no_longer_due: tuple[str, ...] = ()

    @property
    def delta(self) -> dt.timedelta | None:
        """How far the deadline moved (positive: later)."""
        if self.old_due is None or self.new_due is None:
            return None
        return self.new_due - self.old_due

    @property
    def moved(self) -> bool:
        """Whether the deadline moved."""
        return bool(self.delta)

    @property
    def changed(self) -> bool:
        """Whether anything about the clock changed (deadline, marks, provisional flag)."""
        return (
            self.moved
            or bool(self.now_due or self.no_longer_due)
            or self.old_provisional != self.new_provisional
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (instants as ISO text, the delta in seconds and text)."""
        delta = self.delta
        return {
            "case_id": self.case_id,
            "process": self.process,
            "sla": self.sla,
            "status": self.status,
            "old_due": self.old_due.isoformat() if self.old_due else None,
            "new_due": self.new_due.isoformat() if self.new_due else None,
            "delta_seconds": None if delta is None else int(delta.total_seconds()),
            "delta": _signed(delta),
            "old_provisional": self.old_provisional,
            "new_provisional": self.new_provisional,
            "now_due": list(self.now_due),
            "no_longer_due": list(self.no_longer_due),
        }


@attrs.frozen
class RecomputeReport:
    """What a recomputation found and did.

    Attributes:
        at: the instant of the recomputation.
        changes: every open clock compared, changed or not.
        workflow: the workflow on the new calendar; use it from now on.
        appended: the ids of the cases that got an ``sla.recomputed`` entry.
        skipped: the ids of cases with open clocks whose process version is not
            registered on the workflow (left unchanged).
    """

    at: dt.datetime
    changes: tuple[DeadlineChange, ...]
    workflow: Workflow
    appended: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def moved(self) -> tuple[DeadlineChange, ...]:
        """The clocks whose deadline moved."""
        return tuple(c for c in self.changes if c.moved)

    @property
    def changed(self) -> tuple[DeadlineChange, ...]:
        """The clocks with any change."""
        return tuple(c for c in self.changes if c.changed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "at": self.at.isoformat(),
            "open_clocks": len(self.changes),
            "moved": len(self.moved),
            "appended": list(self.appended),
            "skipped": list(self.skipped),
            "changes": [c.to_dict() for c in self.changed],
        }

    def to_text(self, tz: dt.tzinfo | None = None) -> str:
        """A plain-text summary, one line per changed clock.

        Args:
            tz: show the instants in this zone, to the minute (default: as stored).
        """

        def show(instant: dt.datetime | None) -> str:
            if instant is None:
                return "—"
            return instant.astimezone(tz).isoformat(" ", "minutes") if tz else instant.isoformat()

        lines = [
            f"recomputed at {show(self.at)}: {len(self.changes)} open clocks, "
            f"{len(self.moved)} deadlines moved, {len(self.appended)} cases updated"
            + (f", {len(self.skipped)} skipped (process not registered)" if self.skipped else "")
        ]
        for c in self.changed:
            moved = f"{show(c.old_due)} -> {show(c.new_due)} ({_signed(c.delta)})"
            line = f"  {c.case_id} {c.sla}: {moved}"
            if c.old_provisional != c.new_provisional:
                line += " provisional" if c.new_provisional else " now official"
            if c.now_due:
                line += f"; now due: {', '.join(c.now_due)}"
            if c.no_longer_due:
                line += f"; no longer due: {', '.join(c.no_longer_due)}"
            lines.append(line)
        return "\n".join(lines) + "\n"


def _compare(
    case: Case, sla: Sla, clock: SlaClock, old: WorkCalendar, new: WorkCalendar, at: dt.datetime
) -> DeadlineChange:
    probe = clock if clock.status == "running" else clock.resume(at)
    now_due: list[str] = []
    no_longer: list[str] = []
    for fraction in (*sla.warn_at, 1.0):
        mark = BREACH if fraction == 1.0 else mark_name(fraction)
        before = probe.reached_at(old, fraction)
        after = probe.reached_at(new, fraction)
        was_due = mark in clock.fired or (before is not None and before <= at)
        is_due = after is not None and after <= at
        if was_due and not is_due:
            no_longer.append(mark)
        elif is_due and not was_due:
            now_due.append(mark)
    return DeadlineChange(
        case.id,
        case.process,
        sla.name,
        clock.status,
        probe.due(old),
        probe.due(new),
        clock.provisional(old),
        clock.provisional(new),
        tuple(now_due),
        tuple(no_longer),
    )


def _changes(
    case: Case, definition: ProcessDefinition, old: WorkCalendar, new: WorkCalendar, at: dt.datetime
) -> list[DeadlineChange]:
    out = []
    for name, clock in case.clocks.items():
        sla = definition.sla_map.get(name)
        if sla is not None and clock.status in ("running", "paused"):
            out.append(_compare(case, sla, clock, old, new, at))
    return out


def _payload(
    change: DeadlineChange, source: str, new: WorkCalendar, start: dt.datetime | None
) -> dict[str, Any]:
    payload = {**change.to_dict(), "schedule": source}
    if change.new_due is not None:  # the digest of the calendar the new deadline is from
        payload["calendar"] = new.digest_between(start or change.new_due, change.new_due)
    return payload


def _recompute_case(
    workflow: Workflow, case_id: str, new: WorkCalendar, at: dt.datetime, source: str
) -> tuple[list[DeadlineChange], bool]:
    store = workflow.store
    for _ in range(ATTEMPTS):
        case = store.load(case_id)
        definition = workflow.process(case.process, case.process_version)
        changes = _changes(case, definition, workflow.calendar, new, at)
        affected = [c for c in changes if c.changed]
        if not affected:
            return changes, False
        drafts = [
            Draft(KIND, payload=_payload(c, source, new, case.clocks[c.sla].started_at))
            for c in affected
        ]
        try:
            # timers set with the new calendar; delivery waits for the end of the run
            write(store, new, definition, case, case, drafts, at, key=workflow.chain_key)
        except ConcurrentUpdate:
            continue  # the case moved on meanwhile: compare again from its new state
        return changes, True
    raise ConcurrentUpdate(case_id, -1, -1)


def recompute_deadlines(
    workflow: Workflow,
    calendar: WorkCalendar,
    /,
    *,
    at: dt.datetime | None = None,
    source: str | None = None,
    processes: Sequence[str] | None = None,
) -> RecomputeReport:
    """Recompute every open SLA clock of ``workflow`` under ``calendar``.

    Args:
        workflow: the workflow whose store holds the cases; its ``calendar`` is the old one.
        calendar: the calendar with the newly published schedule.
        at: the instant of the recomputation (default: the workflow's clock).
        source: what to record as the schedule's origin (default: the calendar's repr).
        processes: only cases of these processes (default: all).

    Returns:
        The report; its :attr:`~RecomputeReport.workflow` runs on the new calendar.

    Raises:
        ConcurrentUpdate: a case kept changing under five attempts in a row.
        OutOfOrder: ``at`` is before the last entry of an open case (nothing written).
    """
    if at is None:
        at = workflow.clock.now()
    if at.utcoffset() is None:
        raise NaiveDatetimeError(at, "at")
    source = source if source is not None else repr(calendar)
    names: Sequence[str | None] = [None] if processes is None else list(processes)
    changes: list[DeadlineChange] = []
    appended: list[str] = []
    skipped: list[str] = []
    open_cases = [
        c
        for name in names
        for c in workflow.store.cases(process=name)
        if any(k.status in ("running", "paused") for k in c.clocks.values())
    ]
    # refused before anything is written: a recomputation dated before a case's last
    # entry would append to its history out of order
    ahead = max(open_cases, key=lambda c: c.updated_at, default=None)
    if ahead is not None and ahead.updated_at > at:
        raise OutOfOrder(ahead.id, at, ahead.updated_at)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvisionalWarning)
        for case in open_cases:
            try:
                found, wrote = _recompute_case(workflow, case.id, calendar, at, source)
            except ProcessNotFound:
                skipped.append(case.id)
                continue
            changes.extend(found)
            if wrote:
                appended.append(case.id)
    updated = workflow.with_calendar(calendar)
    if appended and updated.dispatch_mode == "after_commit" and workflow.store.commits_itself:
        updated.dispatch(at)  # the sla.recomputed events just written, after their commit
    return RecomputeReport(at, tuple(changes), updated, tuple(appended), tuple(skipped))
