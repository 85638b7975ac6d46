"""The seven quality indicators (服务质量评价指标), computed from the recorded history,
and the records built on them: the complaint ledger (:mod:`techsvc_flow.quality.ledger`),
the service archive (:mod:`techsvc_flow.quality.archive`), the rendered report
(:mod:`techsvc_flow.quality.render`).

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

The modules: :mod:`~techsvc_flow.quality.period`, :mod:`~techsvc_flow.quality.indicators`,
:mod:`~techsvc_flow.quality.config`, :mod:`~techsvc_flow.quality.observe`,
:mod:`~techsvc_flow.quality.tally`, :mod:`~techsvc_flow.quality.report`,
:mod:`~techsvc_flow.quality.improvement`, :mod:`~techsvc_flow.quality.ledger`,
:mod:`~techsvc_flow.quality.archive` and :mod:`~techsvc_flow.quality.render`. Quality
knows stores only through the :class:`~techsvc_flow.store.Store` interface.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import TYPE_CHECKING, Any

from .._moved import warn_moved as _warn_moved
from . import indicators as _indicators
from .config import DEFAULT_CONFIG, ENGAGEMENTS, EngagementProfile, QualityConfig
from .improvement import improvement_case_id, open_improvement, start_improvement
from .indicators import INDICATORS, Indicator, indicator
from .observe import Observation, SlaOutcome, Window, observe, sla_outcome, windows
from .period import Period, PeriodError
from .report import QualityReport, check, report
from .tally import IndicatorResult

if TYPE_CHECKING:
    from ..calendar import WorkCalendar
    from ..store import Store

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
    "improvement_case_id",
    "indicator",
    "observe",
    "open_improvement",
    "report",
    "sla_outcome",
    "start_improvement",
    "windows",
]


# public names the module techsvc_flow.quality had that now live only in a submodule
_MOVED: dict[str, tuple[str, Any]] = {"TSO": ("indicators", _indicators.TSO)}


def _compute_indicators(
    store: Store,
    period: Period,
    *,
    calendar: WorkCalendar,
    config: QualityConfig = DEFAULT_CONFIG,
    as_of: dt.datetime | None = None,
) -> list[IndicatorResult]:
    """The seven :class:`IndicatorResult` over ``period``: ``report(..., trend=False)``'s
    results (deprecated: call :func:`report`)."""
    found = report(store, period, calendar=calendar, config=config, as_of=as_of, trend=False)
    return list(found.results)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        module, value = _MOVED[name]
        _warn_moved(f"techsvc_flow.quality.{name}", f"techsvc_flow.quality.{module}.{name}")
        return value
    if name == "compute_indicators":
        warnings.warn(
            "techsvc_flow.quality.compute_indicators has moved to "
            "techsvc_flow.quality.report(..., trend=False).results; call that (the old "
            "name goes in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return _compute_indicators
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
