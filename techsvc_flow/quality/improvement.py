"""Improvement (PDCA): an indicator below its threshold opens an improvement case.

>>> from techsvc_flow.quality import INDICATORS, IndicatorResult, Period
>>> from decimal import Decimal
>>> q4 = Period.parse("2025-Q4", tz="Asia/Shanghai")
>>> r = IndicatorResult(INDICATORS[1], q4, 9, 10, Decimal(90), Decimal(95), False)
>>> improvement_case_id(r)
'IMP-response_timeliness-2025-Q4'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import CaseNotFound, ConcurrentUpdate, ProcessNotFound
from ..processes.improvement import improvement
from .tally import IndicatorResult

if TYPE_CHECKING:
    from ..case import Case
    from ..engine import Workflow

__all__ = ["improvement_case_id", "open_improvement", "start_improvement"]


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
