"""The seven quality indicators (服务质量评价指标), computed from the recorded history.

《科技服务机构服务规范》编制说明 三(二)3 asks for 「7 项核心可量化评价指标」 and names two
with their thresholds (客户满意度 ≥ 90 %, 服务响应及时率 ≥ 95 %); the other five, their
thresholds and every formula are our reading (:data:`INDICATORS` says which is which).
Each indicator is a numerator over a denominator over a :class:`Period`; every figure
comes from the cases' histories and SLA clocks, never from a typed-in number, and each
result lists the cases behind it.

>>> Period.parse("2025-Q4", tz="Asia/Shanghai")
Period('2025-Q4', 2025-10-01T00:00:00+08:00 .. 2026-01-01T00:00:00+08:00)
>>> [i.code for i in INDICATORS]  # doctest: +NORMALIZE_WHITESPACE
['customer_satisfaction', 'response_timeliness', 'complaint_timeliness',
 'on_time_delivery_rate', 'first_pass_acceptance_rate', 'contract_performance_rate',
 'return_visit_rate']
>>> DEFAULT_CONFIG.with_thresholds(response_timeliness=97).threshold("response_timeliness")
Decimal('97')

A period counts a case when the event its denominator counts falls inside the period
(the request received, the delivery, the acceptance, …); a clock still running and not
yet due leaves the case out until it is decided.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import re
import warnings
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import attrs

from ._time import EPOCH as _EPOCH
from ._time import zone as _zone
from .durations import ClockTime, Duration, WorkingHours
from .errors import CaseNotFound, ConcurrentUpdate, FlowError, ProcessNotFound, ProvisionalWarning
from .facts import CaseFacts
from .sla import BREACH, SlaClock

if TYPE_CHECKING:
    from .calendar import WorkCalendar
    from .case import Case
    from .engine import Workflow
    from .store import Store

__all__ = [
    "DEFAULT_CONFIG",
    "ENGAGEMENTS",
    "INDICATORS",
    "EngagementProfile",
    "Indicator",
    "IndicatorResult",
    "Observation",
    "Period",
    "PeriodError",
    "QualityConfig",
    "QualityReport",
    "SlaOutcome",
    "Window",
    "check",
    "compute_indicators",
    "improvement_case_id",
    "indicator",
    "observe",
    "open_improvement",
    "report",
    "sla_outcome",
    "start_improvement",
    "windows",
]

TSO = "《科技服务机构服务规范》编制说明"
_HUNDREDTH = Decimal("0.01")


class PeriodError(FlowError, ValueError):
    """A period text that cannot be read, or an empty or naive period."""


# --- periods ------------------------------------------------------------------------------


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz)


def _month_start(year: int, month: int) -> dt.date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return dt.date(year, month, 1)


_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_HALF = re.compile(r"^(\d{4})-?[Hh]([12])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


@attrs.frozen
class Period:
    """A span of time ``[start, end)`` between two aware instants, with a label.

    Build one with :meth:`parse` (``"2025"``, ``"2025-H2"``, ``"2025-Q4"``, ``"2025-10"``,
    ``"2025-10-01..2025-12-31"``, days in the calendar's zone, both ends included) or
    :meth:`between` (two aware instants, the end excluded).
    """

    label: str
    start: dt.datetime
    end: dt.datetime

    def __attrs_post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, dt.datetime) or value.utcoffset() is None:
                raise PeriodError(f"period {name} must be an aware datetime, not {value!r}")
        if self.end <= self.start:
            raise PeriodError(f"period {self.label!r} is empty: it ends before it starts")

    @classmethod
    def parse(cls, text: str, *, tz: str | dt.tzinfo) -> Period:
        """The period ``text`` names, its days counted in the zone ``tz``.

        Raises:
            PeriodError: the text is none of the forms above.
        """
        zone = _zone(tz)
        text = text.strip()
        if m := _YEAR.match(text):
            year = int(m[1])
            first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
            label = m[1]
        elif m := _QUARTER.match(text):
            year, quarter = int(m[1]), int(m[2])
            first = dt.date(year, 3 * quarter - 2, 1)
            after = _month_start(year, 3 * quarter + 1)
            label = f"{year}-Q{quarter}"
        elif m := _HALF.match(text):
            year, half = int(m[1]), int(m[2])
            first, after = dt.date(year, 6 * half - 5, 1), _month_start(year, 6 * half + 1)
            label = f"{year}-H{half}"
        elif (m := _MONTH.match(text)) and 1 <= int(m[2]) <= 12:
            year, month = int(m[1]), int(m[2])
            first, after = dt.date(year, month, 1), _month_start(year, month + 1)
            label = f"{year}-{month:02d}"
        elif m := _RANGE.match(text):
            try:
                first = dt.date.fromisoformat(m[1])
                last = dt.date.fromisoformat(m[2])
            except ValueError as exc:
                raise PeriodError(f"period {text!r}: {exc}") from exc
            after = last + dt.timedelta(days=1)
            label = f"{first.isoformat()}..{last.isoformat()}"
        else:
            raise PeriodError(
                f"period {text!r}: expected e.g. 2025, 2025-H2, 2025-Q4, 2025-10 "
                "or 2025-10-01..2025-12-31"
            )
        return cls(label, _midnight(first, zone), _midnight(after, zone))

    @classmethod
    def between(cls, start: dt.datetime, end: dt.datetime, *, label: str | None = None) -> Period:
        """The period from ``start`` (included) to ``end`` (excluded)."""
        if label is None:
            label = f"{start.isoformat()}..{end.isoformat()}"
        return cls(label, start, end)

    def __contains__(self, instant: object) -> bool:
        return isinstance(instant, dt.datetime) and self.start <= instant < self.end

    def months(self) -> list[Period]:
        """The calendar months the period spans (cut to the period), oldest first."""
        tz = self.start.tzinfo
        assert tz is not None
        out = []
        day = self.start.date().replace(day=1)
        while _midnight(day, tz) < self.end:
            after = _month_start(day.year, day.month + 1)
            start = max(self.start, _midnight(day, tz))
            end = min(self.end, _midnight(after, tz))
            out.append(Period(f"{day.year}-{day.month:02d}", start, end))
            day = after
        return out

    def to_dict(self) -> dict[str, str]:
        """The label and the two instants as ISO text."""
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}

    def __repr__(self) -> str:
        return f"Period({self.label!r}, {self.start.isoformat()} .. {self.end.isoformat()})"


# --- the indicators ---------------------------------------------------------------------------


@attrs.frozen
class Indicator:
    """One of the seven indicators: what it counts and where its threshold comes from.

    Attributes:
        code: the identifier.
        zh, en: its name.
        threshold: the default threshold, in per cent (the value must be at least this).
        threshold_source: ``"standard text: …"`` when the seed texts give it, else
            ``"our default"``.
        named_in: where the indicator itself is named.
        numerator, denominator: what each counts.
    """

    code: str
    zh: str
    en: str
    threshold: Decimal
    threshold_source: str
    named_in: str
    numerator: str
    denominator: str

    @property
    def from_standard(self) -> bool:
        """Whether the default threshold is the standard's own text."""
        return self.threshold_source.startswith("standard text")

    def name(self, lang: str = "en") -> str:
        """The name in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "customer_satisfaction",
        "客户满意度",
        "Customer satisfaction",
        Decimal(90),
        f"standard text: {TSO} 三(二)3「客户满意度 ≥ 90%」",
        f"{TSO} 三(二)3",
        "surveys recorded satisfied",
        "surveys recorded satisfied or not satisfied (not reached: coverage only)",
    ),
    Indicator(
        "response_timeliness",
        "服务响应及时率",
        "Service response timeliness",
        Decimal(95),
        f"standard text: {TSO} 三(二)3「服务响应及时率 ≥ 95%」",
        f"{TSO} 三(二)3",
        "requests responded to within the response limit",
        "requests received whose response limit is decided (responded or breached)",
    ),
    Indicator(
        "complaint_timeliness",
        "投诉处理及时率",
        "Complaint handling timeliness",
        Decimal(95),
        "our default (the limits 24 h / 7 working days are standard text: "
        f"{TSO} 三(二)3「24 小时内受理响应、7 个工作日内处理反馈」)",
        "DESIGN.md (the limits: " + TSO + " 三(二)3)",
        "complaints acknowledged within 24 h and fed back within 7 working days",
        "complaints received whose two limits are decided",
    ),
    Indicator(
        "on_time_delivery_rate",
        "按时交付率",
        "On-time delivery",
        Decimal(95),
        "our default",
        "DESIGN.md (《科技创新企业服务规范》6.4.1「按时按质交付成果」)",
        "engagements first delivered by the end of the contract's delivery date",
        "engagements first delivered, or past their delivery date undelivered",
    ),
    Indicator(
        "first_pass_acceptance_rate",
        "一次验收通过率",
        "First-pass acceptance",
        Decimal(90),
        "our default",
        "DESIGN.md",
        "engagements accepted without an objection (no rework)",
        "engagements accepted, settled after a dispute, or terminated after a delivery",
    ),
    Indicator(
        "contract_performance_rate",
        "合同履约率",
        "Contract performance",
        Decimal(98),
        "our default",
        "DESIGN.md",
        "contracts performed (the case reached after-sales)",
        "contracts ended: performed, or terminated (not the client's fault or force majeure)",
    ),
    Indicator(
        "return_visit_rate",
        "回访率",
        "Return-visit rate",
        Decimal(90),
        "our default",
        f"DESIGN.md ({TSO} 三(二)2「售后服务的回访机制」)",
        "engagements whose return visit reached the client within its window",
        "engagements that entered after-sales, once the visit is recorded or its window over",
    ),
)

_BY_CODE: Mapping[str, Indicator] = {i.code: i for i in INDICATORS}


def indicator(code: str, /) -> Indicator:
    """The indicator called ``code``.

    Raises:
        KeyError: no such indicator (the message lists the codes).
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"no indicator {code!r}; known: {', '.join(_BY_CODE)}") from None


# --- configuration ----------------------------------------------------------------------------


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class EngagementProfile:
    """Where an engagement-like process records what the indicators read.

    Attributes:
        response_sla: the SLA timing the first response (服务响应及时率).
        delivered: the state entered on delivery.
        delivery_due_field: the data field with the contract's delivery date.
        accepted: states entered when the delivery is accepted (or settled).
        objection: the trigger that raises an objection (a rework round).
        performed: states entered when the contract has been performed.
        terminated: the state entered on early termination.
        after_sales: the state entered when the return visit falls due.
        visit_sla: the SLA timing the return visit.
        visit_trigger: the trigger that records the return visit / survey.
        visit_field, visit_reached: the data field telling whether the visit reached the
            client, and the values that mean it did.
        surveyed: the state entered once the visit is recorded (or missed).
    """

    response_sla: str | None = "response"
    delivered: str | None = "delivered"
    delivery_due_field: str | None = "delivery_due"
    accepted: tuple[str, ...] = attrs.field(default=("after_sales",), converter=_names)
    objection: str = "raise_objection"
    performed: tuple[str, ...] = attrs.field(default=("after_sales",), converter=_names)
    terminated: str = "terminated"
    after_sales: str | None = "after_sales"
    visit_sla: str | None = "return_visit"
    visit_trigger: str = "record_return_visit"
    visit_field: str = "visit_outcome"
    visit_reached: tuple[str, ...] = attrs.field(default=("reached",), converter=_names)
    surveyed: str | None = "return_visited"


#: The built-in engagement templates, by process name.
ENGAGEMENTS: Mapping[str, EngagementProfile] = {
    "service_engagement": EngagementProfile(),
    "innovation_service": EngagementProfile(
        accepted=("satisfaction_survey",),
        performed=("satisfaction_survey",),
        after_sales="satisfaction_survey",
        visit_sla="survey",
        visit_trigger="record_survey",
        visit_field="survey_outcome",
        visit_reached=("satisfied", "not_satisfied"),
        surveyed="evaluated",
    ),
    "technology_transfer": EngagementProfile(
        delivered=None, delivery_due_field=None, accepted=(), performed=("after_sales",)
    ),
}


def _thresholds(value: Mapping[str, Any]) -> Mapping[str, Decimal]:
    out = {i.code: i.threshold for i in INDICATORS}
    for code, raw in value.items():
        indicator(code)  # raises on an unknown code
        try:
            number = Decimal(str(raw))
        except ArithmeticError:
            raise ValueError(f"threshold {code}: {raw!r} is not a number") from None
        if not Decimal(0) <= number <= Decimal(100):
            raise ValueError(f"threshold {code}: {raw!r} is not a per cent from 0 to 100")
        out[code] = number
    return out


@attrs.frozen
class QualityConfig:
    """How the indicators are computed; every default is documented in docs/quality.md.

    Attributes:
        thresholds: per cent by indicator code (missing codes take the default).
        satisfaction_basis: ``"share"`` (the share of surveys satisfied, default) or
            ``"index"`` (the mean weighted index, 0–100) is held against the
            customer-satisfaction threshold; both are always reported.
        satisfied_index: ``None`` (default) takes each survey's recorded outcome (the
            template says *satisfied* at an index of 75); a number re-decides every
            scored survey by its index instead.
        excluded_faults: terminations with this ``fault`` do not count against the
            contract performance rate.
        engagements: the engagement-like processes and where they record things.
        complaint_processes: processes counted as complaints.
        complaint_slas: the acknowledgement and the feedback SLA of a complaint.
        survey_processes: processes counted as satisfaction surveys.
    """

    thresholds: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_thresholds)
    satisfaction_basis: Literal["share", "index"] = "share"
    satisfied_index: Decimal | None = None
    excluded_faults: tuple[str, ...] = attrs.field(
        default=("client", "force_majeure"), converter=_names
    )
    engagements: Mapping[str, EngagementProfile] = ENGAGEMENTS
    complaint_processes: tuple[str, ...] = attrs.field(default=("complaint",), converter=_names)
    complaint_slas: tuple[str, str] = ("acknowledge", "feedback")
    survey_processes: tuple[str, ...] = attrs.field(
        default=("satisfaction_survey",), converter=_names
    )

    def __attrs_post_init__(self) -> None:
        if self.satisfaction_basis not in ("share", "index"):
            raise ValueError(
                f"satisfaction_basis must be 'share' or 'index', not {self.satisfaction_basis!r}"
            )

    def threshold(self, code: str) -> Decimal:
        """The threshold of the indicator ``code``, in per cent."""
        return self.thresholds[indicator(code).code]

    def with_thresholds(self, **percent: Decimal | int | float | str) -> QualityConfig:
        """The same configuration with other thresholds (per cent, by indicator code)."""
        return attrs.evolve(self, thresholds={**self.thresholds, **percent})

    @property
    def processes(self) -> tuple[str, ...]:
        """Every process the indicators read."""
        names = [*self.engagements, *self.complaint_processes, *self.survey_processes]
        return tuple(dict.fromkeys(names))


DEFAULT_CONFIG = QualityConfig()
#: the settings applied when observations are counted, not when they are made
_WHEN_COUNTED = frozenset({"thresholds", "satisfaction_basis"})


# --- SLA outcomes -----------------------------------------------------------------------------


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


class _Calc:
    """A calendar with the memos a report over many cases needs (private).

    A deadline in days, calendar days or months depends only on the start's local date,
    so it is computed once per date and duration; clock time is plain addition.
    """

    def __init__(self, calendar: WorkCalendar) -> None:
        self.cal = calendar
        self.tz = calendar.tz
        self._dues: dict[tuple[dt.date, Duration], dt.datetime] = {}
        self._ends: dict[dt.date, dt.datetime] = {}
        self._index: dict[tuple[tuple[str, Any], ...], Decimal | None] = {}

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

    def satisfaction(self, scores: Any) -> Decimal | None:
        """The weighted index of valid survey scores, else ``None``."""
        if not isinstance(scores, Mapping) or not scores:
            return None
        try:
            key = tuple(sorted(scores.items()))
            hash(key)
        except TypeError:
            return None
        if key not in self._index:
            from .processes.standards import satisfaction_index, survey_problems

            self._index[key] = None if survey_problems(scores) else satisfaction_index(scores)
        return self._index[key]


def _dues(clock: SlaClock, calc: _Calc) -> tuple[dt.datetime | None, dt.datetime | None]:
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


def _outcome(clock: SlaClock | None, calc: _Calc, as_of: dt.datetime | None) -> SlaOutcome:
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


def _status(clock: SlaClock | None, calc: _Calc, as_of: dt.datetime | None) -> str:
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
    return _outcome(clock, _Calc(calendar), as_of)


# --- observations -----------------------------------------------------------------------------


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
    f: CaseFacts, cfg: QualityConfig, calc: _Calc, as_of: dt.datetime
) -> Iterator[Observation]:
    ack_name, feedback_name = cfg.complaint_slas
    ack = _status(f.clocks.get(ack_name), calc, as_of)
    feedback = _status(f.clocks.get(feedback_name), calc, as_of)
    if ack in _DECIDED and feedback in _DECIDED:
        tags = _TAGS[ack == "late", feedback == "late"]
        yield Observation(
            "complaint_timeliness", f.id, f.process, f.created_at, not tags, None, tags
        )


def _survey(f: CaseFacts, cfg: QualityConfig, calc: _Calc) -> Iterator[Observation]:
    if f.state not in ("satisfied", "not_satisfied", "not_reached"):
        return
    at = f.entered[f.state]
    third_party = f.data.get("conducted_by") == "third_party"
    tags = _THIRD_PARTY if third_party else _NO_TAGS
    if f.state == "not_reached":
        yield Observation("customer_satisfaction", f.id, f.process, at, None, None, tags)
        return
    index = calc.satisfaction(f.data.get("scores"))
    hit = f.state == "satisfied"
    if cfg.satisfied_index is not None and index is not None:
        hit = index >= cfg.satisfied_index
    yield Observation("customer_satisfaction", f.id, f.process, at, hit, index, tags)


def _engagement(
    f: CaseFacts,
    p: EngagementProfile,
    cfg: QualityConfig,
    calc: _Calc,
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
    if p.delivered is not None and p.delivery_due_field is not None:
        due_day = _date(f.data.get(p.delivery_due_field))
        if due_day is not None:
            due_end = calc.end_of_day(due_day)
            if delivered is not None:
                yield Observation(
                    "on_time_delivery_rate", f.id, f.process, delivered, delivered <= due_end
                )
            elif due_end < (as_of if terminated is None else min(terminated, as_of)):
                yield Observation("on_time_delivery_rate", f.id, f.process, due_end, False)
    if p.accepted:
        accepted = _first(f, p.accepted)
        if accepted is not None:
            first_pass = f.counts.get(p.objection, 0) == 0
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
    calc: _Calc, config: QualityConfig
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
    observe_one = _observer(_Calc(calendar), config)
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


def _breakpoints(f: CaseFacts, cfg: QualityConfig, calc: _Calc) -> list[dt.datetime]:
    """The instants at which the observations of ``f`` change with ``as_of``: the
    breach of each clock not stopped, the end of an undelivered delivery date."""
    points = set()
    for clock in f.clocks.values():
        if clock.events and clock.status != "stopped":
            breach, _ = _dues(clock, calc)
            if breach is not None:
                points.add(breach)
    p = cfg.engagements.get(f.process)
    if (
        p is not None
        and p.delivered is not None
        and p.delivery_due_field is not None
        and p.delivered not in f.entered
    ):
        day = _date(f.data.get(p.delivery_due_field))
        if day is not None:
            points.add(calc.end_of_day(day))
    return sorted(points)


def windows(
    facts: Iterable[CaseFacts], *, calendar: WorkCalendar, config: QualityConfig = DEFAULT_CONFIG
) -> Iterator[Window]:
    """Every observation the indicators make of ``facts`` at any ``as_of``, each with the
    span of ``as_of`` it holds for: :func:`observe` at ``as_of`` gives exactly the
    observations whose window contains it. An index computed once answers every
    ``as_of`` (see :class:`~techsvc_flow.sqlquality.ObservationIndex`).

    An observation changes with ``as_of`` only where a clock still running reaches its
    limit or an undelivered engagement passes its delivery date, so each case is observed
    once per span between those instants.
    """
    return _windows(facts, config, _Calc(calendar))


def _windows(facts: Iterable[CaseFacts], config: QualityConfig, calc: _Calc) -> Iterator[Window]:
    """:func:`windows`, with a calendar memo the caller keeps (across pages of cases)."""
    observe_one = _observer(calc, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvisionalWarning)
        for f in facts:
            points = _breakpoints(f, config, calc)
            if not points:
                for o in observe_one(f, _EPOCH):
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


# --- results ----------------------------------------------------------------------------------


def _percent(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return value.quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


_ACK_LATE, _FEEDBACK_LATE, _THIRD_PARTY_BIT = 1, 2, 4
_TAG_BITS = {
    "ack_late": _ACK_LATE,
    "feedback_late": _FEEDBACK_LATE,
    "third_party": _THIRD_PARTY_BIT,
}


@functools.cache
def _tag_bits(tags: frozenset[str]) -> int:
    """The tags of an observation as a bit set (how a database stores them)."""
    return sum(_TAG_BITS[t] for t in tags)


def _bits_tags(bits: int) -> frozenset[str]:
    """The tags of a bit set made by :func:`_tag_bits`."""
    return frozenset(t for t, bit in _TAG_BITS.items() if bits & bit)


class _Tally:
    """The counts one indicator's result is made of, added up one observation (or one
    group of equal observations) at a time: in Python, or from a database's ``GROUP BY``.
    """

    __slots__ = (
        "ack_on_time",
        "counted",
        "fed_back_on_time",
        "hits",
        "index_sum",
        "indexed",
        "third_party",
        "total",
    )

    def __init__(self) -> None:
        self.total = self.counted = self.hits = self.third_party = 0
        self.ack_on_time = self.fed_back_on_time = self.indexed = 0
        self.index_sum = Decimal(0)

    def add(self, hit: bool | None, tags: int, satisfaction: Decimal | None, n: int = 1) -> None:
        """Count ``n`` observations with this outcome, tag bits and satisfaction index."""
        self.total += n
        if hit is None:
            return
        self.counted += n
        self.hits += n if hit else 0
        self.third_party += n if tags & _THIRD_PARTY_BIT else 0
        self.ack_on_time += 0 if tags & _ACK_LATE else n
        self.fed_back_on_time += 0 if tags & _FEEDBACK_LATE else n
        if satisfaction is not None:
            self.indexed += n
            self.index_sum += satisfaction * n


@attrs.frozen
class IndicatorResult:
    """One indicator over one period.

    Attributes:
        indicator: what is measured.
        period: over which period.
        numerator, denominator: the counts.
        value: the per cent (or, with the index basis, the mean index), to 0.01;
            ``None`` with nothing to count.
        threshold: the threshold in force, per cent.
        passed: ``value ≥ threshold`` (compared exactly), ``None`` with no data.
        basis: ``"share"``, or ``"index"`` for customer satisfaction on the index basis.
        measures: further figures (customer satisfaction: ``share``, ``index``,
            ``not_reached``, ``coverage``, ``third_party``; complaint timeliness:
            ``acknowledged_on_time``, ``fed_back_on_time``).
        observations: the cases counted, with the instant and the outcome of each, in
            time order. From a SQL store it is read from the database when first used
            (its length is known at once).
        missed: the observations in the denominator but not the numerator ("which ones
            were late?"), read like ``observations``.
    """

    indicator: Indicator
    period: Period
    numerator: int
    denominator: int
    value: Decimal | None
    threshold: Decimal
    passed: bool | None
    basis: str = "share"
    measures: Mapping[str, Any] = attrs.field(factory=dict)
    observations: Sequence[Observation] = ()
    missed: Sequence[Observation] = ()

    @property
    def code(self) -> str:
        """The indicator's code."""
        return self.indicator.code

    @property
    def numerator_cases(self) -> tuple[str, ...]:
        """The cases in the numerator."""
        return tuple(o.case_id for o in self.observations if o.hit)

    @property
    def denominator_cases(self) -> tuple[str, ...]:
        """The cases in the denominator."""
        return tuple(o.case_id for o in self.observations if o.hit is not None)

    @property
    def missed_cases(self) -> tuple[str, ...]:
        """The ids of :attr:`missed`."""
        return tuple(o.case_id for o in self.missed)

    @property
    def status(self) -> str:
        """``"pass"``, ``"fail"`` or ``"no data"``."""
        return "no data" if self.passed is None else "pass" if self.passed else "fail"

    def to_dict(self, *, cases: bool = True) -> dict[str, Any]:
        """A JSON-serialisable dict (numbers as text), with the case ids unless told not."""
        out: dict[str, Any] = {
            "code": self.code,
            "zh": self.indicator.zh,
            "en": self.indicator.en,
            "period": self.period.label,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": _plain(self.value),
            "threshold": _plain(self.threshold),
            "threshold_source": self.indicator.threshold_source,
            "passed": self.passed,
            "status": self.status,
            "basis": self.basis,
            "measures": {k: _plain(v) for k, v in self.measures.items()},
        }
        if cases:
            out["numerator_cases"] = list(self.numerator_cases)
            out["denominator_cases"] = list(self.denominator_cases)
            out["missed"] = [
                {"case_id": o.case_id, "process": o.process, "at": o.at.isoformat()}
                for o in self.missed
            ]
        return out


def _tally_result(
    ind: Indicator,
    cfg: QualityConfig,
    period: Period,
    tally: _Tally,
    observations: Sequence[Observation],
    missed: Sequence[Observation],
) -> IndicatorResult:
    """The result of ``ind`` over ``period`` from its ``tally`` (and the observations
    behind it, for the case lists)."""
    numerator, denominator = tally.hits, tally.counted
    threshold = cfg.threshold(ind.code)
    value = _percent(numerator, denominator)
    passed = None if denominator == 0 else numerator * 100 >= threshold * denominator
    basis = "share"
    measures: dict[str, Any] = {}
    if ind.code == "customer_satisfaction":
        mean = (
            (tally.index_sum / tally.indexed).quantize(_HUNDREDTH, ROUND_HALF_UP)
            if tally.indexed
            else None
        )
        measures = {
            "share": value,
            "index": mean,
            "indexed": tally.indexed,
            "not_reached": tally.total - denominator,
            "coverage": _percent(denominator, tally.total),
            "third_party": tally.third_party,
        }
        if cfg.satisfaction_basis == "index":
            basis, value = "index", mean
            passed = None if mean is None else mean >= threshold
    elif ind.code == "complaint_timeliness":
        measures = {
            "acknowledged_on_time": _percent(tally.ack_on_time, denominator),
            "fed_back_on_time": _percent(tally.fed_back_on_time, denominator),
        }
    return IndicatorResult(
        ind,
        period,
        numerator,
        denominator,
        value,
        threshold,
        passed,
        basis,
        measures,
        observations,
        missed,
    )


def _aggregate(
    ind: Indicator, cfg: QualityConfig, period: Period, observations: Sequence[Observation]
) -> IndicatorResult:
    tally = _Tally()
    for o in observations:
        tally.add(o.hit, _tag_bits(o.tags), o.satisfaction)
    found = tuple(observations)
    missed = tuple(o for o in found if o.hit is False)
    return _tally_result(ind, cfg, period, tally, found, missed)


def _by_time(o: Observation) -> tuple[dt.timedelta, str]:
    # (at, case_id), the instant as a timedelta: aware instants with different tzinfo
    # objects (one per row read from a SQL store) are slow to compare, timedeltas are not
    return o.at - _EPOCH, o.case_id


class _Timeline:
    """The observations of each indicator in time order, sliced by period (private)."""

    def __init__(self, observations: Iterable[Observation]) -> None:
        self.by_code: dict[str, list[Observation]] = {i.code: [] for i in INDICATORS}
        for o in observations:
            self.by_code[o.indicator].append(o)
        self.times: dict[str, list[dt.datetime]] = {}
        for code, found in self.by_code.items():
            found.sort(key=_by_time)  # (at, case_id): the same order from every store
            self.times[code] = [o.at for o in found]

    def results(self, cfg: QualityConfig, period: Period) -> tuple[IndicatorResult, ...]:
        out = []
        for i in INDICATORS:
            times = self.times[i.code]
            lo, hi = bisect_left(times, period.start), bisect_left(times, period.end)
            out.append(_aggregate(i, cfg, period, self.by_code[i.code][lo:hi]))
        return tuple(out)


@attrs.frozen
class QualityReport:
    """The seven indicators over a period, month by month too.

    Attributes:
        period: the period reported.
        as_of: when open clocks were judged.
        results: the seven results over the whole period, in :data:`INDICATORS` order.
        months: the seven results of each month of the period.
    """

    period: Period
    as_of: dt.datetime
    results: tuple[IndicatorResult, ...]
    months: tuple[tuple[Period, tuple[IndicatorResult, ...]], ...] = ()

    def __iter__(self) -> Iterator[IndicatorResult]:
        return iter(self.results)

    def result(self, code: str) -> IndicatorResult:
        """The result of the indicator ``code``."""
        return next(r for r in self.results if r.code == indicator(code).code)

    @property
    def failing(self) -> tuple[IndicatorResult, ...]:
        """The results below their threshold."""
        return tuple(r for r in self.results if r.passed is False)

    @property
    def late(self) -> tuple[Observation, ...]:
        """Every case that missed an indicator, by indicator, then by instant."""
        return tuple(o for r in self.results for o in r.missed)

    def to_dict(self, *, cases: bool = True) -> dict[str, Any]:
        """A JSON-serialisable dict of the whole report."""
        return {
            "period": self.period.to_dict(),
            "as_of": self.as_of.isoformat(),
            "indicators": [r.to_dict(cases=cases) for r in self.results],
            "months": [
                {
                    "period": month.to_dict(),
                    "indicators": [r.to_dict(cases=False) for r in results],
                }
                for month, results in self.months
            ],
        }


def report(
    store: Store,
    period: Period,
    *,
    calendar: WorkCalendar,
    config: QualityConfig = DEFAULT_CONFIG,
    as_of: dt.datetime | None = None,
    trend: bool = True,
    index: bool = True,
) -> QualityReport:
    """The seven indicators of the cases in ``store`` over ``period``.

    Args:
        store: any store; read through :meth:`Store.facts`. A
            :class:`~techsvc_flow.sqlstore.SqlStore` (SQLite, PostgreSQL) keeps the
            observations in its database instead: the cases changed since the last
            report are observed again, and the period is counted in SQL (see
            :mod:`techsvc_flow.sqlquality`); the case lists are read when asked for.
        period: the period reported.
        calendar: counts the working-day limits (use the one the workflow runs on).
        config: thresholds and definitions (default :data:`DEFAULT_CONFIG`).
        as_of: when open clocks are judged (default: the end of the period; pass the
            current time for a period not yet over).
        trend: also compute each month of the period.
        index: False reads every case's facts even from a SQL store, writing nothing
            (for a read-only database). A SQL store whose schema predates the index
            (revision 0003) is read that way too.
    """
    as_of = period.end if as_of is None else as_of
    if as_of.utcoffset() is None:
        raise PeriodError(f"as_of must be an aware datetime, not {as_of!r}")
    kept = store.quality_index(calendar, config) if index else None
    if kept is not None:
        with _collector_paused():
            kept.refresh()
        return kept.report(period, as_of=as_of, trend=trend)
    # an engagement can be late on delivery with no activity in the period, so those
    # are read whatever their last change; complaints and surveys count by an event
    # that is itself a change
    timed = [*config.complaint_processes, *config.survey_processes]
    facts: Iterator[CaseFacts] = _chain(
        store.facts(list(config.engagements), until=period.end),
        store.facts(
            [p for p in timed if p not in config.engagements],
            since=period.start,
            until=period.end,
        ),
    )
    with _collector_paused():
        found = list(observe(facts, calendar=calendar, config=config, as_of=as_of))
        timeline = _Timeline(found)
        results = timeline.results(config, period)
        months: tuple[tuple[Period, tuple[IndicatorResult, ...]], ...] = ()
        if trend:
            months = tuple((m, timeline.results(config, m)) for m in period.months())
    return QualityReport(period, as_of, results, months)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (if it runs) while a report is computed.

    A report over a million cases keeps millions of observations alive while it makes
    tens of millions of short-lived objects; each full collection walks every live one,
    hundreds of times over (a quarter of the time at 1,000,000 cases). Nothing made here
    forms a cycle, so reference counting frees it all the same; the collector is
    restored as it was.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _chain(*parts: Iterable[CaseFacts]) -> Iterator[CaseFacts]:
    for part in parts:
        yield from part


def compute_indicators(
    store: Store,
    period: Period,
    *,
    calendar: WorkCalendar,
    config: QualityConfig = DEFAULT_CONFIG,
    as_of: dt.datetime | None = None,
) -> list[IndicatorResult]:
    """The seven :class:`IndicatorResult` over ``period`` (see :func:`report`)."""
    return list(
        report(store, period, calendar=calendar, config=config, as_of=as_of, trend=False).results
    )


# --- improvement (PDCA) -----------------------------------------------------------------------


def improvement_case_id(result: IndicatorResult, /) -> str:
    """The id of the improvement case a failing ``result`` opens (one per indicator and
    period, so a second check does not open another)."""
    return f"IMP-{result.code}-{result.period.label}"


def start_improvement(
    workflow: Workflow,
    *,
    source_kind: str,
    problem: str,
    data: Mapping[str, Any] | None = None,
    case_id: str | None = None,
    actor: str | None = None,
    at: dt.datetime | None = None,
) -> Case:
    """Open an improvement action (the ``improvement`` PDCA process) for a problem found
    by an indicator, a complaint, a survey or an audit; returns the case.

    With a ``case_id`` that exists already the existing case is returned unchanged. The
    process is registered on the workflow if it is not yet.
    """
    from .processes.improvement import improvement

    if case_id is not None:
        try:
            return workflow.get(case_id)
        except CaseNotFound:
            pass
    payload = {"source_kind": source_kind, "problem": problem, **(data or {})}
    process: Any
    try:
        process = workflow.process("improvement").name
    except ProcessNotFound:
        process = improvement()
    try:
        return workflow.start(process, data=payload, actor=actor, at=at, case_id=case_id)
    except ConcurrentUpdate:
        if case_id is None:
            raise
        return workflow.get(case_id)  # another worker opened it first


def open_improvement(
    workflow: Workflow,
    result: IndicatorResult,
    /,
    *,
    actor: str | None = None,
    at: dt.datetime | None = None,
) -> Case:
    """Open the improvement case of a failing ``result`` (idempotent per indicator and
    period). Its ``case.started`` event carries the indicator, value and threshold."""
    ind = result.indicator
    value = "no data" if result.value is None else f"{result.value}%"
    data = {
        "indicator": ind.code,
        "indicator_value": result.value,
        "threshold": result.threshold,
        "period": result.period.label,
        "numerator": result.numerator,
        "denominator": result.denominator,
        "cases": list(result.missed_cases[:100]),
    }
    problem = (
        f"{ind.zh} / {ind.en} {value} below the threshold {result.threshold}% "
        f"in {result.period.label} ({result.numerator}/{result.denominator})"
    )
    return start_improvement(
        workflow,
        source_kind="indicator",
        problem=problem,
        data=data,
        case_id=improvement_case_id(result),
        actor=actor,
        at=at,
    )


def check(
    results: Iterable[IndicatorResult],
    *,
    workflow: Workflow | None = None,
    actor: str | None = None,
    at: dt.datetime | None = None,
) -> list[IndicatorResult]:
    """The results below their threshold; with a ``workflow``, each opens an
    improvement case (once per indicator and period) whose ``case.started`` event tells
    the indicator, its value and the threshold."""
    failing = [r for r in results if r.passed is False]
    if workflow is not None:
        for result in failing:
            open_improvement(workflow, result, actor=actor, at=at)
    return failing
