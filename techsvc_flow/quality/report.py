"""The quality report: the seven indicators of a store's cases over a period.

>>> from techsvc_flow import MemoryStore, WorkCalendar
>>> r = report(MemoryStore(), Period.parse("2025-Q4", tz="Asia/Shanghai"),
...            calendar=WorkCalendar.china())
>>> [x.status for x in r][:2], len(r.months)
(['no data', 'no data'], 3)
>>> check(r)
[]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._time import EPOCH
from ..facts import CaseFacts
from .config import DEFAULT_CONFIG, QualityConfig
from .improvement import open_improvement
from .indicators import INDICATORS, Indicator, indicator
from .observe import Observation, observe
from .period import Period, PeriodError
from .tally import IndicatorResult, Tally, tag_bits, tally_result

if TYPE_CHECKING:
    from ..calendar import WorkCalendar
    from ..engine import Workflow
    from ..store import Store

__all__ = ["QualityReport", "check", "report"]


def _aggregate(
    ind: Indicator, cfg: QualityConfig, period: Period, observations: Sequence[Observation]
) -> IndicatorResult:
    tally = Tally()
    for o in observations:
        tally.add(o.hit, tag_bits(o.tags), o.satisfaction)
    found = tuple(observations)
    missed = tuple(o for o in found if o.hit is False)
    return tally_result(ind, cfg, period, tally, found, missed)


def _by_time(o: Observation) -> tuple[dt.timedelta, str]:
    # (at, case_id), the instant as a timedelta: aware instants with different tzinfo
    # objects (one per row read from a SQL store) are slow to compare, timedeltas are not
    return o.at - EPOCH, o.case_id


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
            :class:`~techsvc_flow.sql.SqlStore` (SQLite, PostgreSQL) keeps the
            observations in its database instead: the cases changed since the last
            report are observed again, and the period is counted in SQL (see
            :mod:`techsvc_flow.sql.quality_index`); the case lists are read when asked for.
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
    facts: Iterator[CaseFacts] = itertools.chain(
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
