"""Observations: what each indicator sees in one case's recorded history.

Every figure comes from the cases' histories and SLA clocks, never from a typed-in
number. A period counts a case when the event its denominator counts falls inside the
period (the request received, the delivery, the acceptance, …); a clock still running
and not yet due leaves the case out until it is decided. :func:`windows` gives each
observation with the span of judging instants it holds for (what an index keeps).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import attrs

from .._time import EPOCH
from ..durations import ClockTime, Duration, WorkingHours
from ..errors import ProvisionalWarning
from ..facts import CaseFacts
from ..processes.standards import QUESTIONNAIRE, Questionnaire
from ..sla import BREACH, SlaClock
from .config import DEFAULT_CONFIG, EngagementProfile, QualityConfig

if TYPE_CHECKING:
    from ..calendar import WorkCalendar

__all__ = [
    "Calc",
    "Observation",
    "SlaOutcome",
    "Window",
    "observe",
    "sla_outcome",
    "windows",
    "windows_of",
]


@attrs.frozen
class SlaOutcome:
    """How one SLA clock stands against its limit.

    Attributes:
        status: ``idle`` (never started), ``pending`` (running or paused, not past its
            limit), ``on_time`` (stopped within the limit) or ``late`` (stopped after it,
            or still open past it).
        due: when the limit was (or will be) reached, if known.
        at: when it was decided: the stop, or the instant the limit passed.
    """

    status: Literal["idle", "pending", "on_time", "late"]
    due: dt.datetime | None = None
    at: dt.datetime | None = None

    @property
    def decided(self) -> bool:
        """Stopped, or past its limit."""
        return self.status in ("on_time", "late")

    @property
    def within(self) -> bool | None:
        """``True`` on time, ``False`` late, ``None`` not decided."""
        return None if not self.decided else self.status == "on_time"


class Calc:
    """A calendar with the memos a report over many cases needs.

    Public for an index that observes cases page by page (one memo across the pages).

    A deadline in days, calendar days or months depends only on the start's local date,
    so it is computed once per date and duration; clock time is plain addition.
    """

    def __init__(self, calendar: WorkCalendar) -> None:
        self.cal = calendar
        self.tz = calendar.tz
        self._dues: dict[tuple[dt.date, Duration], dt.datetime] = {}
        self._ends: dict[dt.date, dt.datetime] = {}
        self._index: dict[tuple[Questionnaire, tuple[tuple[str, Any], ...]], Decimal | None] = {}

    def due(self, start: dt.datetime, duration: Duration) -> dt.datetime:
        if isinstance(duration, ClockTime):
            return start + duration.delta
        if isinstance(duration, WorkingHours):
            return self.cal.deadline(start, duration).due
        key = (start.astimezone(self.tz).date(), duration)
        due = self._dues.get(key)
        if due is None:
            due = self._dues[key] = self.cal.deadline(start, duration).due
        return due

    def end_of_day(self, day: dt.date) -> dt.datetime:
        end = self._ends.get(day)
        if end is None:
            end = self._ends[day] = self.cal.end_of_day(day)
        return end

    def satisfaction(
        self, scores: Any, questionnaire: Questionnaire = QUESTIONNAIRE
    ) -> Decimal | None:
        """The weighted index of valid survey scores (by ``questionnaire``), else ``None``."""
        if not isinstance(scores, Mapping) or not scores:
            return None
        try:
            key = (questionnaire, tuple(sorted(scores.items())))
            hash(key)
        except TypeError:
            return None
        if key not in self._index:
            q = questionnaire
            self._index[key] = None if q.problems(scores) else q.index(scores)
        return self._index[key]


def _dues(clock: SlaClock, calc: Calc) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(the first instant the budget ran out while the clock ran, the last due seen)."""
    events = clock.events
    last_due: dt.datetime | None = None
    for i, event in enumerate(events):
        if event.kind not in ("start", "resume"):
            continue
        due: dt.datetime | None
        if i == 0:
            due = calc.due(event.at, clock.duration)
        else:
            due = SlaClock(clock.name, clock.duration, events[: i + 1]).reached_at(calc.cal, 1.0)
        if due is None:
            continue
        last_due = due
        if i + 1 == len(events) or due < events[i + 1].at:
            return due, due
    return None, last_due


def _outcome(clock: SlaClock | None, calc: Calc, as_of: dt.datetime | None) -> SlaOutcome:
    if clock is None or not clock.events:
        return SlaOutcome("idle")
    breach, due = _dues(clock, calc)
    if clock.status == "stopped":
        stop = clock.events[-1].at
        if breach is not None and breach < stop:
            return SlaOutcome("late", breach, stop)
        return SlaOutcome("on_time", due, stop)
    if breach is not None and (
        (as_of is not None and breach < as_of) or (as_of is None and BREACH in clock.fired)
    ):
        return SlaOutcome("late", breach, breach)
    return SlaOutcome("pending", due if clock.status == "running" else None, None)


def _status(clock: SlaClock | None, calc: Calc, as_of: dt.datetime | None) -> str:
    """:attr:`SlaOutcome.status` alone, fast for the usual clock: started, then stopped."""
    if clock is None:
        return "idle"
    events = clock.events
    if len(events) == 2 and events[0].kind == "start" and events[1].kind == "stop":
        return "late" if calc.due(events[0].at, clock.duration) < events[1].at else "on_time"
    return _outcome(clock, calc, as_of).status


def sla_outcome(
    clock: SlaClock | None, calendar: WorkCalendar, *, as_of: dt.datetime | None = None
) -> SlaOutcome:
    """How ``clock`` stands, counted in ``calendar``.

    A clock is late when it was still running after its limit (the Civil Code reading:
    acting after the period's last day is late, even on the weekend after it). An open
    clock is judged at ``as_of``; without ``as_of`` only a breach the workflow has
    already raised makes it late.
    """
    return _outcome(clock, Calc(calendar), as_of)


class Observation(NamedTuple):
    """One case counted by one indicator.

    Attributes:
        indicator: the indicator code.
        case_id, process: the case.
        at: the instant of the event the denominator counts; the period it falls in
            is the period the case counts in.
        hit: in the numerator (``True``), in the denominator only (``False``), or left
            out of both but reported (``None``: a survey that did not reach the client).
        satisfaction: the weighted satisfaction index of a survey, if scored.
        tags: what else is known (``ack_late``, ``feedback_late``, ``third_party``).
    """

    indicator: str
    case_id: str
    process: str
    at: dt.datetime
    hit: bool | None
    satisfaction: Decimal | None = None
    tags: frozenset[str] = frozenset()


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _first(f: CaseFacts, states: Iterable[str]) -> dt.datetime | None:
    times = [f.entered[s] for s in states if s in f.entered]
    return min(times) if times else None


_DECIDED = frozenset({"on_time", "late"})
_NO_TAGS: frozenset[str] = frozenset()
_TAGS = {
    (False, False): _NO_TAGS,
    (True, False): frozenset({"ack_late"}),
    (False, True): frozenset({"feedback_late"}),
    (True, True): frozenset({"ack_late", "feedback_late"}),
}
_THIRD_PARTY = frozenset({"third_party"})


def _complaint(
    f: CaseFacts, cfg: QualityConfig, calc: Calc, as_of: dt.datetime
) -> Iterator[Observation]:
    ack_name, feedback_name = cfg.complaint_slas
    ack = _status(f.clocks.get(ack_name), calc, as_of)
    feedback = _status(f.clocks.get(feedback_name), calc, as_of)
    if ack in _DECIDED and feedback in _DECIDED:
        tags = _TAGS[ack == "late", feedback == "late"]
        yield Observation(
            "complaint_timeliness", f.id, f.process, f.created_at, not tags, None, tags
        )


def _survey(f: CaseFacts, cfg: QualityConfig, calc: Calc) -> Iterator[Observation]:
    if f.state not in ("satisfied", "not_satisfied", "not_reached"):
        return
    at = f.entered[f.state]
    third_party = f.data.get("conducted_by") == "third_party"
    tags = _THIRD_PARTY if third_party else _NO_TAGS
    if f.state == "not_reached":
        yield Observation("customer_satisfaction", f.id, f.process, at, None, None, tags)
        return
    index = calc.satisfaction(f.data.get("scores"), cfg.questionnaire)
    hit = f.state == "satisfied"
    if cfg.satisfied_index is not None and index is not None:
        hit = index >= cfg.satisfied_index
    yield Observation("customer_satisfaction", f.id, f.process, at, hit, index, tags)


def _engagement(
    f: CaseFacts,
    p: EngagementProfile,
    cfg: QualityConfig,
    calc: Calc,
    as_of: dt.datetime,
) -> Iterator[Observation]:
    if p.response_sla is not None:
        clock = f.clocks.get(p.response_sla)
        response = _status(clock, calc, as_of)
        if clock is not None and clock.started_at is not None and response in _DECIDED:
            yield Observation(
                "response_timeliness", f.id, f.process, clock.started_at, response == "on_time"
            )
    terminated = f.entered.get(p.terminated)
    delivered = f.entered.get(p.delivered) if p.delivered is not None else None
    clock = f.clocks.get(p.delivery_sla) if p.delivery_sla is not None else None
    if (
        p.delivered is not None
        and p.delivery_due_field is not None
        and clock is not None
        and clock.goal == p.delivery_due_field
    ):
        # the delivery clock, due at the end of the (last agreed) delivery date; counted
        # in the period of that date, and a delivery is seen only once made (before
        # as_of): a period's figures do not change when it is re-run later
        ran_out, _ = _dues(clock, calc)
        due_day = _date(f.data.get(p.delivery_due_field))
        day = None if due_day is None else dt.datetime.combine(due_day, dt.time(), tzinfo=calc.tz)
        if delivered is not None and delivered < as_of:
            on_time = ran_out is None or not ran_out < delivered
            yield Observation("on_time_delivery_rate", f.id, f.process, day or delivered, on_time)
        elif ran_out is not None and ran_out < (
            as_of if terminated is None else min(terminated, as_of)
        ):
            yield Observation("on_time_delivery_rate", f.id, f.process, day or ran_out, False)
    elif p.delivered is not None and p.delivery_due_field is not None:
        due_day = _date(f.data.get(p.delivery_due_field))
        if due_day is not None:
            # counted in the period of the due date, and a delivery is seen only once made
            # (before as_of): a period's figures do not change when it is re-run later
            due_end = calc.end_of_day(due_day)
            day = dt.datetime.combine(due_day, dt.time(), tzinfo=calc.tz)
            if delivered is not None and delivered < as_of:
                yield Observation(
                    "on_time_delivery_rate", f.id, f.process, day, delivered <= due_end
                )
            elif due_end < (as_of if terminated is None else min(terminated, as_of)):
                yield Observation("on_time_delivery_rate", f.id, f.process, day, False)
    if p.accepted:
        accepted = _first(f, p.accepted)
        if accepted is not None:
            first_pass = p.first_pass(f.counts)
            yield Observation("first_pass_acceptance_rate", f.id, f.process, accepted, first_pass)
        elif terminated is not None and delivered is not None and delivered <= terminated:
            yield Observation("first_pass_acceptance_rate", f.id, f.process, terminated, False)
    performed = _first(f, p.performed)
    if performed is not None:
        yield Observation("contract_performance_rate", f.id, f.process, performed, True)
    elif terminated is not None and f.data.get("fault") not in cfg.excluded_faults:
        yield Observation("contract_performance_rate", f.id, f.process, terminated, False)
    if p.after_sales is not None and p.after_sales in f.entered:
        recorded = f.counts.get(p.visit_trigger, 0) > 0
        visit = _status(f.clocks.get(p.visit_sla) if p.visit_sla else None, calc, as_of)
        surveyed = f.entered.get(p.surveyed) if p.surveyed is not None else None
        if surveyed is not None or visit == "late":
            reached = recorded and f.data.get(p.visit_field) in p.visit_reached
            hit = reached and visit != "late"
            yield Observation("return_visit_rate", f.id, f.process, f.entered[p.after_sales], hit)
        if surveyed is not None and recorded and not f.data.get("survey_case"):
            outcome = f.data.get("survey_outcome")
            if outcome in ("satisfied", "not_satisfied"):
                index = _decimal(f.data.get("satisfaction_index"))
                yield Observation(
                    "customer_satisfaction",
                    f.id,
                    f.process,
                    surveyed,
                    outcome == "satisfied",
                    index,
                )
            elif outcome == "not_reached":
                yield Observation("customer_satisfaction", f.id, f.process, surveyed, None)


def _observer(
    calc: Calc, config: QualityConfig
) -> Callable[[CaseFacts, dt.datetime], Iterator[Observation]]:
    """The observations of one case judged at an instant, counted with ``calc``."""
    engagements = config.engagements
    complaints = frozenset(config.complaint_processes)
    surveys = frozenset(config.survey_processes)

    def observe_one(f: CaseFacts, as_of: dt.datetime) -> Iterator[Observation]:
        if f.process in complaints:
            yield from _complaint(f, config, calc, as_of)
        if f.process in surveys:
            yield from _survey(f, config, calc)
        profile = engagements.get(f.process)
        if profile is not None:
            yield from _engagement(f, profile, config, calc, as_of)

    return observe_one


def observe(
    facts: Iterable[CaseFacts],
    *,
    calendar: WorkCalendar,
    config: QualityConfig = DEFAULT_CONFIG,
    as_of: dt.datetime,
) -> Iterator[Observation]:
    """Every observation the indicators make of ``facts``, judged at ``as_of``."""
    observe_one = _observer(Calc(calendar), config)
    with warnings.catch_warnings():
        # past the official horizon deadlines are estimates; the results say nothing else
        warnings.simplefilter("ignore", ProvisionalWarning)
        for f in facts:
            yield from observe_one(f, as_of)


class Window(NamedTuple):
    """An observation and the judging instants ``as_of`` it holds for:
    ``after < as_of <= until``, either bound ``None`` for none."""

    observation: Observation
    after: dt.datetime | None
    until: dt.datetime | None


_TICK = dt.timedelta(microseconds=1)


def _breakpoints(f: CaseFacts, cfg: QualityConfig, calc: Calc) -> list[dt.datetime]:
    """The instants at which the observations of ``f`` change with ``as_of``: the
    breach of each clock not stopped, the end of the delivery date and the delivery."""
    points = set()
    for clock in f.clocks.values():
        if clock.events and clock.status != "stopped":
            breach, _ = _dues(clock, calc)
            if breach is not None:
                points.add(breach)
    p = cfg.engagements.get(f.process)
    if p is not None and p.delivered is not None and p.delivery_due_field is not None:
        day = _date(f.data.get(p.delivery_due_field))
        if day is not None:
            points.add(calc.end_of_day(day))
            if p.delivered in f.entered:
                points.add(f.entered[p.delivered])
    return sorted(points)


def windows(
    facts: Iterable[CaseFacts], *, calendar: WorkCalendar, config: QualityConfig = DEFAULT_CONFIG
) -> Iterator[Window]:
    """Every observation the indicators make of ``facts`` at any ``as_of``, each with the
    span of ``as_of`` it holds for: :func:`observe` at ``as_of`` gives exactly the
    observations whose window contains it. An index computed once answers every
    ``as_of`` (see :class:`~techsvc_flow.sql.ObservationIndex`).

    An observation changes with ``as_of`` only where a clock still running reaches its
    limit or an undelivered engagement passes its delivery date, so each case is observed
    once per span between those instants.
    """
    return windows_of(facts, config, Calc(calendar))


def windows_of(facts: Iterable[CaseFacts], config: QualityConfig, calc: Calc) -> Iterator[Window]:
    """:func:`windows`, with a calendar memo the caller keeps (across pages of cases)."""
    observe_one = _observer(calc, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvisionalWarning)
        for f in facts:
            points = _breakpoints(f, config, calc)
            if not points:
                for o in observe_one(f, EPOCH):
                    yield Window(o, None, None)
                continue
            # spans (None, p0], (p0, p1], ..., (pk, None): each judged at an instant in it
            bounds: list[dt.datetime | None] = [None, *points, None]
            held: dict[Observation, list[int]] = {}
            for i in range(len(bounds) - 1):
                upper = bounds[i + 1]
                judged = upper if upper is not None else points[-1] + _TICK
                for o in observe_one(f, judged):
                    held.setdefault(o, []).append(i)
            # one window per run of consecutive spans holding the same observation
            for o, spans in held.items():
                first = spans[0]
                for span, following in zip(spans, [*spans[1:], None], strict=True):
                    if following != span + 1:
                        yield Window(o, bounds[first], bounds[span + 1])
                        if following is not None:
                            first = following
