"""Tallies and results: the counts of one indicator over one period, and its result.

A :class:`Tally` adds observations up one at a time (in Python) or one group at a time
(from a database's ``GROUP BY``); :func:`tally_result` makes the
:class:`IndicatorResult` of it. :func:`tag_bits` and :func:`bits_tags` turn an
observation's tags into the bit set a database stores, and back.

>>> bits_tags(tag_bits(frozenset({"ack_late", "third_party"}))) == {"ack_late", "third_party"}
True
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from .._codec import jsonable
from .config import QualityConfig
from .indicators import Indicator
from .observe import Observation
from .period import Period

__all__ = ["IndicatorResult", "Tally", "bits_tags", "tag_bits", "tally_result"]

_HUNDREDTH = Decimal("0.01")


def _percent(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return value.quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


_ACK_LATE, _FEEDBACK_LATE, _THIRD_PARTY_BIT = 1, 2, 4
_TAG_BITS = {
    "ack_late": _ACK_LATE,
    "feedback_late": _FEEDBACK_LATE,
    "third_party": _THIRD_PARTY_BIT,
}


@functools.cache
def tag_bits(tags: frozenset[str]) -> int:
    """The tags of an observation as a bit set (how a database stores them)."""
    return sum(_TAG_BITS[t] for t in tags)


def bits_tags(bits: int) -> frozenset[str]:
    """The tags of a bit set made by :func:`tag_bits`."""
    return frozenset(t for t, bit in _TAG_BITS.items() if bits & bit)


class Tally:
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
            "value": jsonable(self.value),
            "threshold": jsonable(self.threshold),
            "threshold_source": self.indicator.threshold_source,
            "passed": self.passed,
            "status": self.status,
            "basis": self.basis,
            "measures": {k: jsonable(v) for k, v in self.measures.items()},
        }
        if cases:
            out["numerator_cases"] = list(self.numerator_cases)
            out["denominator_cases"] = list(self.denominator_cases)
            out["missed"] = [
                {"case_id": o.case_id, "process": o.process, "at": o.at.isoformat()}
                for o in self.missed
            ]
        return out


def tally_result(
    ind: Indicator,
    cfg: QualityConfig,
    period: Period,
    tally: Tally,
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
