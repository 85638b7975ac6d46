"""The seven quality indicators (服务质量评价指标): what each counts, and its threshold.

《科技服务机构服务规范》编制说明 三(二)3 asks for 「7 项核心可量化评价指标」 and names two
with their thresholds (客户满意度 ≥ 90 %, 服务响应及时率 ≥ 95 %); the other five, their
thresholds and every formula are our reading (:data:`INDICATORS` says which is which).

>>> [i.code for i in INDICATORS]  # doctest: +NORMALIZE_WHITESPACE
['customer_satisfaction', 'response_timeliness', 'complaint_timeliness',
 'on_time_delivery_rate', 'first_pass_acceptance_rate', 'contract_performance_rate',
 'return_visit_rate']
>>> indicator("response_timeliness").from_standard
True
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

__all__ = ["INDICATORS", "TSO", "Indicator", "indicator"]

#: The explanatory notes of 《科技服务机构服务规范》, where the indicators are asked for.
TSO = "《科技服务机构服务规范》编制说明"


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
        "surveys recorded satisfied (index at or above the questionnaire's threshold; "
        "our questionnaire and its 75 unless the organisation supplies its own)",
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
        "engagements accepted at the first delivery (no objection, dispute or rework)",
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
