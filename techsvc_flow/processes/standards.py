"""The fixed lists of the standards, in Chinese and English, with their sources.

The templates read these tables; callers may use them to render forms and reports.

Sources are cited by document and clause:

- 《科技服务机构服务规范》编制说明 — explanatory notes to the draft group standard
  (the notes only; the standard's own clause numbers are not published with them);
- 《科技创新企业服务规范》 — group standard, full text; its second-level headings are
  printed without numbers, so "6.2" (签订合同) and "6.5" (档案管理) are *inferred*;
- GB/T 19012-2019 (= ISO 10002:2018), GB/T 19013 (= ISO 10003), GB/T 19038-2009,
  GB/T 34670-2017, GB/T 39668-2020: named by the seed texts, their text is not in them;
  marked "not in the seed texts" wherever we rely on it;
- "our reading" / "our default": no published text defines it.

>>> [c.letter for c in CONTRACT_CLAUSES]
['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']
>>> clause("fees").zh
'服务费用'
>>> satisfaction_index({item.code: 4 for item in SURVEY_ITEMS})
Decimal('75.00')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import attrs

from ..errors import InvalidValue

__all__ = [
    "COMPLAINT_CATEGORIES",
    "COMPLAINT_CHANNELS",
    "CONTRACT_CLAUSES",
    "CONTRACT_CLAUSE_CODES",
    "DECLINE_REASONS",
    "ESCALATION_LEVELS",
    "EXIT_REASONS",
    "FIELD_CLASSES",
    "INCUBATION_SERVICES",
    "MAX_TERM_MONTHS",
    "MIN_ANSWERED_WEIGHT",
    "OURS",
    "PRIORITIES",
    "QUESTIONNAIRE",
    "REMEDIES",
    "ROLES",
    "SATISFIED_THRESHOLD",
    "SCALE",
    "SERVICE_FIELDS",
    "SERVICE_FIELD_ALIASES",
    "SERVICE_FIELD_CODES",
    "SERVICE_ITEM_CODES",
    "SERVICE_KINDS",
    "SERVICE_KIND_CODES",
    "SEVERITIES",
    "SURVEY_ITEMS",
    "TECH_CONTRACT_TYPES",
    "TERMINATION_KINDS",
    "TIE",
    "TRANSACTION_MODES",
    "TRANSFER_SERVICE_TYPES",
    "TSO",
    "TSO_SERVICE_FIELDS",
    "Clause",
    "EscalationLevel",
    "Questionnaire",
    "ServiceKind",
    "SurveyItem",
    "Term",
    "clause",
    "codes",
    "is_satisfied",
    "satisfaction_index",
    "service_field",
    "survey_problems",
]

TIE = "《科技创新企业服务规范》"
TSO = "《科技服务机构服务规范》编制说明"


@attrs.frozen
class Term:
    """A coded value of a fixed list: its code, Chinese and English names, and source."""

    code: str
    zh: str
    en: str
    source: str = ""


@attrs.frozen
class Clause:
    """One of the ten minimum contract clauses a)–j)."""

    letter: str
    code: str
    zh: str
    en: str


@attrs.frozen
class ServiceKind:
    """One of the seven service kinds, with the items its clause lists (item codes are
    ``<kind>.<letter>``; every list is "including but not limited to", so
    ``<kind>.other`` is accepted too)."""

    code: str
    zh: str
    en: str
    items: tuple[tuple[str, str], ...]


@attrs.frozen
class EscalationLevel:
    """An internal escalation level of the complaint process and the role reviewing it."""

    level: int
    role: str
    zh: str
    en: str


@attrs.frozen
class SurveyItem:
    """A questionnaire item with its importance weight (weights sum to 1)."""

    code: str
    zh: str
    en: str
    weight: Decimal
    source: str


def codes(terms: tuple[Term, ...]) -> list[str]:
    """The codes of a list of terms, in order."""
    return [t.code for t in terms]


# --- contract (《科技创新企业服务规范》§6「签订合同」, a)–j), verbatim) ----------------------

CONTRACT_CLAUSES: tuple[Clause, ...] = (
    Clause("a", "content", "服务内容", "Content of the service"),
    Clause("b", "method_term_place", "服务方式、期限和地点", "Method, term and place of service"),
    Clause("c", "rights_obligations", "双方权利和义务", "Rights and obligations of both parties"),
    Clause("d", "fees", "服务费用", "Service fees"),
    Clause(
        "e",
        "custody_of_materials",
        "对服务对象提供的技术资料、样品的保管",
        "Custody of the technical materials and samples the client provides",
    ),
    Clause("f", "risk_liability", "风险责任的承担", "Allocation of risk liability"),
    Clause(
        "g",
        "ownership_of_results",
        "服务产生技术成果的归属",
        "Ownership of the technical results the service produces",
    ),
    Clause(
        "h",
        "quality_acceptance",
        "服务质量要求和验收方法",
        "Quality requirements and acceptance method",
    ),
    Clause(
        "i",
        "termination_change_rescission",
        "合同提前终止、变更和解除的条件",
        "Conditions for early termination, change and rescission of the contract",
    ),
    Clause(
        "j",
        "confidentiality",
        "保密内容、保密期限和泄密责任",
        "Confidential content, confidentiality period and liability for disclosure",
    ),
)
CONTRACT_CLAUSE_CODES: tuple[str, ...] = tuple(c.code for c in CONTRACT_CLAUSES)


def clause(code_or_letter: str) -> Clause:
    """The contract clause with this code (``"fees"``) or letter (``"d"``)."""
    for c in CONTRACT_CLAUSES:
        if code_or_letter in (c.code, c.letter):
            return c
    raise KeyError(code_or_letter)


# --- the seven service kinds (《科技创新企业服务规范》§5, headings verbatim) -----------------

SERVICE_KINDS: tuple[ServiceKind, ...] = (
    ServiceKind(
        "info_consulting",
        "信息咨询服务",
        "Information consulting",
        (
            ("a", "相关产业需求对接信息"),
            ("b", "原材料、元器件、通用零部件等合格配套产品信息"),
            ("c", "产品设计、试验、检测、集中采购、仓储配送、生产加工等生产性服务机构信息"),
            ("d", "管理咨询、标准化、知识产权、资质认证等咨询服务机构信息"),
            ("e", "创新创业扶持等政策法规解读"),
            ("f", "区域产业分析、行业跟踪、市场研究"),
        ),
    ),
    ServiceKind(
        "training",
        "培训服务",
        "Training",
        (
            ("a", "产业相关政策法规"),
            ("b", "产品质量管理"),
            ("c", "研发项目管理"),
            ("d", "财务与税务管理"),
            ("e", "人力资源管理"),
            ("f", "市场营销管理"),
            ("g", "知识产权管理"),
        ),
    ),
    ServiceKind(
        "project_application",
        "项目申报服务",
        "Project application (funding, certifications)",
        (
            ("a", "省市区重大科技创新专项"),
            ("b", "省市区工业发展专项"),
            ("c", "高新技术企业认定"),
            ("d", "科技型中小企业认定"),
            ("e", "“专精特新”中小企业认定"),
            ("f", "示范企业和示范产品认定"),
        ),
    ),
    ServiceKind(
        "results_transformation",
        "科技成果转化服务",
        "Transformation of scientific and technological results",
        (
            ("a", "技术成果对接会、发布会、推介会"),
            ("b", "组织专家对技术成果进行鉴定或评价"),
            ("c", "组织专家提供科技成果转化落地方案"),
        ),
    ),
    ServiceKind(
        "ip",
        "知识产权服务",
        "Intellectual property",
        (
            ("a", "专利预警辅导"),
            ("b", "专利检索"),
            ("c", "专利分析"),
            ("d", "知识产权申请"),
            ("e", "知识产权维权"),
        ),
    ),
    ServiceKind(
        "sci_tech_finance",
        "科技金融服务",
        "Sci-tech finance",
        (
            ("a", "整合金融资源、企业融资需求，提供融资服务"),
            ("b", "风险投资、融资策划、金融担保、资产评估、会计、审计、金融信息等服务"),
            ("c", "普惠金融产品宣讲"),
            ("d", "银政企精准对接沙龙等系列活动"),
        ),
    ),
    ServiceKind(
        "promotion",
        "宣传推广服务",
        "Publicity and promotion",
        (
            ("a", "定制宣传方案"),
            ("b", "人才洽谈会、产品展示会、展览会等"),
            ("c", "行业交流会"),
        ),
    ),
)
SERVICE_KIND_CODES: tuple[str, ...] = tuple(k.code for k in SERVICE_KINDS)
SERVICE_ITEM_CODES: tuple[str, ...] = tuple(
    f"{k.code}.{letter}" for k in SERVICE_KINDS for letter, _ in (*k.items, ("other", ""))
)

# --- service fields (科技服务业标准体系建设指南 一, ten fields; 002's eight as aliases) -------

_SSG = "科技服务业标准体系建设指南 一"
#: The ten service fields of the standards system (000 一, 001 一(二)): the
#: classification of a case. The two-digit numbers follow the guide's order.
SERVICE_FIELDS: tuple[Term, ...] = (
    Term("research_development", "研究开发服务", "Research and development", f"{_SSG} (01)"),
    Term("technology_transfer", "技术转移转化服务", "Technology transfer", f"{_SSG} (02)"),
    Term("incubation", "企业孵化服务", "Enterprise incubation", f"{_SSG} (03)"),
    Term("technology_promotion", "技术推广服务", "Technology promotion", f"{_SSG} (04)"),
    Term(
        "testing_certification",
        "检验检测认证服务",
        "Testing, inspection and certification",
        f"{_SSG} (05)",
    ),
    Term("information_technology", "信息技术服务", "Information technology", f"{_SSG} (06)"),
    Term("engineering", "工程技术服务", "Engineering technology", f"{_SSG} (07)"),
    Term("sci_tech_finance", "科技金融服务", "Sci-tech finance", f"{_SSG} (08)"),
    Term("intellectual_property", "知识产权服务", "Intellectual property", f"{_SSG} (09)"),
    Term(
        "consulting_other",
        "科技咨询及其他科技服务",
        "Sci-tech consulting and other services",
        f"{_SSG} (10)",
    ),
)
SERVICE_FIELD_CODES: tuple[str, ...] = tuple(t.code for t in SERVICE_FIELDS)

#: The eight fields 002 names (二(一), ending with 等) and our ``other``: kept as aliases.
TSO_SERVICE_FIELDS: tuple[Term, ...] = (
    Term("policy_consulting", "科技政策咨询", "Science and technology policy consulting", TSO),
    Term("technology_transfer", "技术转移转化", "Technology transfer", TSO),
    Term("ip_service", "知识产权服务", "Intellectual property services", TSO),
    Term("rnd_design", "研发与设计服务", "R&D and design", TSO),
    Term("testing_certification", "检验检测认证", "Testing, inspection and certification", TSO),
    Term("incubation", "创新创业孵化", "Innovation and start-up incubation", TSO),
    Term("digital_transformation", "数字化转型", "Digital transformation", TSO),
    Term("financing", "融资促进", "Financing promotion", TSO),
    Term("other", "其他", "Other", "our reading (the list ends with 等)"),
)
#: Each of 002's codes that is not one of the ten, to the field of the ten it belongs
#: to (our reading; the three codes both lists share need no alias).
SERVICE_FIELD_ALIASES: Mapping[str, str] = {
    "policy_consulting": "consulting_other",
    "ip_service": "intellectual_property",
    "rnd_design": "research_development",
    "digital_transformation": "information_technology",
    "financing": "sci_tech_finance",
    "other": "consulting_other",
}


def service_field(code: str) -> Term:
    """The field of the ten that ``code`` (one of the ten, or an alias) classifies as.

    >>> service_field("ip_service").code, service_field("ip_service").zh
    ('intellectual_property', '知识产权服务')

    Raises:
        InvalidValue: ``code`` is neither one of the ten nor an alias.
    """
    wanted = SERVICE_FIELD_ALIASES.get(code, code) if isinstance(code, str) else code
    for term in SERVICE_FIELDS:
        if term.code == wanted:
            return term
    raise InvalidValue(
        "service_field",
        f"{code!r} is not a service field; known: {', '.join(SERVICE_FIELD_CODES)}"
        f" (aliases: {', '.join(SERVICE_FIELD_ALIASES)})",
    )


DECLINE_REASONS: tuple[Term, ...] = (
    Term("out_of_scope", "超出服务范围", "Outside the organisation's scope", f"{TIE}4.1.1"),
    Term("lacks_capability", "能力不足", "Lacks the capability", f"{TIE}4.1.1"),
    Term("lacks_conditions", "工作条件不具备", "Lacks the working conditions", f"{TIE}4.1.3"),
    Term("materials_invalid", "材料不合法、不真实或无效", "Materials invalid", f"{TIE}6.1.1"),
    Term("unlawful_request", "委托事项不合法", "Unlawful request", "our reading"),
    Term("conflict_of_interest", "利益冲突", "Conflict of interest", "our reading"),
    Term("no_capacity", "暂无承接能力", "No capacity at present", "our reading"),
    Term("other", "其他", "Other", "our reading"),
)

TERMINATION_KINDS: tuple[Term, ...] = (
    Term("early_termination", "提前终止", "Early termination", f"{TIE}§6 签订合同 i)"),
    Term("rescission_by_agreement", "协商解除", "Rescission by agreement", f"{TIE}§6 签订合同 i)"),
    Term(
        "rescission_by_contract_condition",
        "约定解除",
        "Rescission on a condition agreed in the contract",
        f"{TIE}§6 签订合同 i)",
    ),
    Term(
        "statutory_rescission",
        "法定解除",
        "Statutory rescission",
        "PRC Civil Code art. 563 (not in the seed texts)",
    ),
)

# --- complaints (GB/T 19012-2019 = ISO 10002:2018 clause 7; lists are our reading) ----------

COMPLAINT_CHANNELS: tuple[Term, ...] = (
    Term("phone", "电话", "Phone", f"{TIE}§7"),
    Term("email", "电子邮件", "E-mail", f"{TIE}§7"),
    Term("letter", "信函", "Letter", "our reading"),
    Term("in_person", "现场", "In person", "our reading"),
    Term("web", "网站", "Web form", "our reading"),
    Term("wechat", "微信", "WeChat", "our reading"),
    Term("other", "其他", "Other", "our reading"),
)

SEVERITIES: tuple[Term, ...] = (
    Term("low", "轻微", "Low", "our reading of ISO 10002 7.5"),
    Term("medium", "一般", "Medium", "our reading of ISO 10002 7.5"),
    Term("high", "严重", "High", "our reading of ISO 10002 7.5"),
    Term("critical", "重大", "Critical", "our reading of ISO 10002 7.5"),
)

PRIORITIES: tuple[Term, ...] = (
    Term("p1", "紧急", "Urgent", "our reading"),
    Term("p2", "高", "High", "our reading"),
    Term("p3", "中", "Normal", "our reading"),
    Term("p4", "低", "Low", "our reading"),
)

COMPLAINT_CATEGORIES: tuple[Term, ...] = (
    Term("service_quality", "服务质量", "Service quality", "our reading"),
    Term("timeliness", "服务时效", "Timeliness", "our reading"),
    Term("staff_conduct", "人员行为", "Staff conduct", "our reading"),
    Term("fees", "收费", "Fees", "our reading"),
    Term("confidentiality", "保密", "Confidentiality", f"{TIE}4.1.5"),
    Term("contract", "合同履行", "Contract performance", "our reading"),
    Term("other", "其他", "Other", "our reading"),
)

REMEDIES: tuple[Term, ...] = (
    Term("refund", "退款", "Refund", "our reading"),
    Term("fee_reduction", "减免费用", "Fee reduction", "our reading"),
    Term("rework", "返工/重新服务", "Rework / service again", "our reading"),
    Term("technical_support", "技术支持", "Technical support", "our reading"),
    Term("compensation", "赔偿", "Compensation", "our reading"),
    Term("apology", "致歉", "Apology", "our reading"),
    Term("explanation", "解释说明", "Explanation", "our reading"),
)

ESCALATION_LEVELS: tuple[EscalationLevel, ...] = (
    EscalationLevel(1, "handler", "投诉处理人", "Complaint handler"),
    EscalationLevel(2, "quality_manager", "质量管理人员", "Quality manager"),
    EscalationLevel(3, "manager", "机构负责人", "Head of the organisation"),
)

# --- satisfaction survey: OUR questionnaire (GB/T 19038 style; no clause defines it) ---------

#: The source of every part of our questionnaire: items, weights, threshold.
OURS = "ours (no clause defines the survey's items, weights or threshold)"


def _ours(related: str) -> str:
    return f"{OURS}; related clause: {related}"


SURVEY_ITEMS: tuple[SurveyItem, ...] = (
    SurveyItem(
        "responsiveness", "响应及时性", "Responsiveness", Decimal("0.15"), _ours(f"{TSO} 二(二)5")
    ),
    SurveyItem(
        "competence", "专业能力", "Professional competence", Decimal("0.20"), _ours(f"{TIE}4.2.3")
    ),
    SurveyItem(
        "communication", "沟通协调", "Communication", Decimal("0.15"), _ours(f"{TIE}6.3.4 c)")
    ),
    SurveyItem(
        "timeliness", "交付及时性", "On-time delivery", Decimal("0.15"), _ours(f"{TIE}6.4.1")
    ),
    SurveyItem(
        "result_quality", "服务成效", "Results of the service", Decimal("0.25"), _ours(f"{TIE}6.5")
    ),
    SurveyItem(
        "conduct_confidentiality",
        "服务态度与保密",
        "Conduct and confidentiality",
        Decimal("0.10"),
        _ours(f"{TIE}4.1.4, 4.1.5"),
    ),
)
SCALE: Mapping[int, tuple[str, str]] = {
    5: ("非常满意", "Very satisfied"),
    4: ("满意", "Satisfied"),
    3: ("一般", "Neutral"),
    2: ("不满意", "Dissatisfied"),
    1: ("非常不满意", "Very dissatisfied"),
}
#: Our threshold: satisfied at an index of 75 or more (every item "4 满意").
SATISFIED_THRESHOLD = Decimal(75)
#: Our least weight of answered items for a valid survey.
MIN_ANSWERED_WEIGHT = Decimal("0.6")
_HUNDREDTH = Decimal("0.01")


def _decimal(path: str, raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, str, Decimal)):
        raise InvalidValue(path, f"expected a decimal number (int, str or Decimal), not {raw!r}")
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise InvalidValue(path, f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise InvalidValue(path, f"{raw!r} is not a finite number")
    return value


def _item(path: str, raw: object) -> SurveyItem:
    if isinstance(raw, SurveyItem):
        return raw
    if not isinstance(raw, Mapping):
        raise InvalidValue(path, "expected a mapping with code, zh, en, weight")
    unknown = sorted(set(raw) - {"code", "zh", "en", "weight", "source"})
    if unknown:
        raise InvalidValue(
            f"{path}.{unknown[0]}", "unknown key; known: code, zh, en, weight, source"
        )
    for key in ("code", "zh", "en"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise InvalidValue(f"{path}.{key}", "expected a non-empty string")
    source = raw.get("source", "the organisation's own")
    if not isinstance(source, str):
        raise InvalidValue(f"{path}.source", "expected a string")
    weight = _decimal(f"{path}.weight", raw.get("weight"))
    return SurveyItem(raw["code"], raw["zh"], raw["en"], weight, source)


def _items(items: Iterable[SurveyItem]) -> tuple[SurveyItem, ...]:
    return tuple(items)


@attrs.frozen
class Questionnaire:
    """A satisfaction questionnaire: items with weights, the threshold of *satisfied* and
    the least answered weight, on the 5-point :data:`SCALE`.

    The default, :data:`QUESTIONNAIRE`, is ours: no clause defines its items, weights
    or threshold. An organisation supplies its own with :meth:`from_dict` (a config
    value) to the survey template (``satisfaction_survey(questionnaire=...)``) and to
    the indicators (``QualityConfig(questionnaire=...)``).

    >>> q = Questionnaire.from_dict({"items": [
    ...     {"code": "speed", "zh": "速度", "en": "Speed", "weight": "0.4"},
    ...     {"code": "result", "zh": "成效", "en": "Result", "weight": "0.6"}],
    ...     "threshold": 80})
    >>> q.index({"speed": 5, "result": 4}), q.is_satisfied({"speed": 5, "result": 4})
    (Decimal('85.00'), True)

    Raises:
        InvalidValue: no items, a repeated code, a weight not above 0, weights not summing
            to 1, a threshold outside 0–100 or a least answered weight outside (0, 1].
    """

    items: tuple[SurveyItem, ...] = attrs.field(converter=_items)
    threshold: Decimal = SATISFIED_THRESHOLD
    min_answered_weight: Decimal = MIN_ANSWERED_WEIGHT

    def __attrs_post_init__(self) -> None:
        if not self.items:
            raise InvalidValue("questionnaire.items", "expected at least one item")
        seen: set[str] = set()
        for n, item in enumerate(self.items):
            path = f"questionnaire.items[{n}]"
            if not isinstance(item, SurveyItem):
                raise InvalidValue(path, f"expected a SurveyItem, not {type(item).__name__}")
            if item.code in seen:
                raise InvalidValue(f"{path}.code", f"{item.code!r} is repeated")
            seen.add(item.code)
            if not isinstance(item.weight, Decimal) or not item.weight > 0:
                raise InvalidValue(f"{path}.weight", f"{item.weight!r} is not above 0")
        total = sum((item.weight for item in self.items), Decimal(0))
        if total != 1:
            raise InvalidValue("questionnaire.items", f"weights sum to {total}, not 1")
        if not isinstance(self.threshold, Decimal) or not 0 <= self.threshold <= 100:
            raise InvalidValue("questionnaire.threshold", "expected an index from 0 to 100")
        low = self.min_answered_weight
        if not isinstance(low, Decimal) or not 0 < low <= 1:
            raise InvalidValue("questionnaire.min_answered_weight", "expected above 0, at most 1")

    @classmethod
    def from_dict(cls, data: object) -> Questionnaire:
        """A questionnaire from a config value: ``{"items": [{"code", "zh", "en",
        "weight", "source"?}, ...], "threshold"?, "min_answered_weight"?}`` (numbers as
        int, str or Decimal; the defaults are ours).

        Raises:
            InvalidValue: as for the class, or a value of the wrong type or an unknown key.
        """
        if not isinstance(data, Mapping):
            raise InvalidValue("questionnaire", "expected a mapping with items")
        unknown = sorted(set(data) - {"items", "threshold", "min_answered_weight"})
        if unknown:
            raise InvalidValue(f"questionnaire.{unknown[0]}", "unknown key")
        raw = data.get("items")
        if not isinstance(raw, (list, tuple)):
            raise InvalidValue("questionnaire.items", "expected a list of items")
        items = [_item(f"questionnaire.items[{n}]", x) for n, x in enumerate(raw)]
        return cls(
            items,
            _decimal("questionnaire.threshold", data.get("threshold", SATISFIED_THRESHOLD)),
            _decimal(
                "questionnaire.min_answered_weight",
                data.get("min_answered_weight", MIN_ANSWERED_WEIGHT),
            ),
        )

    def describe(self) -> str:
        """One line: the items with their weights and the threshold."""
        items = ", ".join(f"{i.code} {i.weight}" for i in self.items)
        return f"{items}; satisfied at an index of {self.threshold} or more"

    def _index(self, scores: Mapping[str, int]) -> Fraction:
        weights = {item.code: Fraction(item.weight) for item in self.items}
        lo, hi = min(SCALE), max(SCALE)
        answered = [code for code in scores if code in weights]
        total = sum((weights[c] for c in answered), Fraction(0))
        if total == 0:
            raise ValueError("no survey item answered")
        points = sum(
            (weights[c] * Fraction(scores[c] - lo, hi - lo) for c in answered), Fraction(0)
        )
        return 100 * points / total

    def index(self, scores: Mapping[str, int]) -> Decimal:
        """The weighted satisfaction index, 0–100, of one respondent's scores.

        ``I = 100 × Σ wᵢ·(sᵢ − 1)/(5 − 1) ÷ Σ wᵢ`` over the answered items, on the
        5-point :data:`SCALE`; rounded to 0.01.

        Raises:
            ValueError: no known item was answered.
        """
        value = self._index(scores)
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
            _HUNDREDTH, rounding=ROUND_HALF_UP
        )

    def problems(self, scores: object) -> list[str]:
        """What is wrong with a set of scores (empty: they are valid)."""
        if not isinstance(scores, Mapping) or not scores:
            return ["scores: expected a non-empty mapping of item code to score"]
        known = {item.code: item.weight for item in self.items}
        problems = [f"unknown item {code!r}" for code in scores if code not in known]
        problems += [
            f"{code}: {value!r} is not a score {min(SCALE)}–{max(SCALE)}"
            for code, value in scores.items()
            if code in known and (isinstance(value, bool) or value not in SCALE)
        ]
        answered = sum((known[c] for c in scores if c in known), Decimal(0))
        if not problems and answered < self.min_answered_weight:
            problems.append(
                f"answered items weigh {answered}, less than {self.min_answered_weight}"
            )
        return problems

    def is_satisfied(self, scores: Mapping[str, int]) -> bool:
        """Whether valid ``scores`` reach the threshold (exact arithmetic)."""
        return self._index(scores) >= Fraction(self.threshold)


#: Our questionnaire (the default everywhere): :data:`SURVEY_ITEMS`, satisfied at 75.
QUESTIONNAIRE = Questionnaire(SURVEY_ITEMS)


def satisfaction_index(scores: Mapping[str, int]) -> Decimal:
    """:meth:`Questionnaire.index` of our :data:`QUESTIONNAIRE`.

    A respondent is *satisfied* when ``I ≥ 75`` (every item "4 满意") — our threshold.

    Raises:
        ValueError: no known item was answered.
    """
    return QUESTIONNAIRE.index(scores)


def survey_problems(scores: object) -> list[str]:
    """:meth:`Questionnaire.problems` of our :data:`QUESTIONNAIRE`."""
    return QUESTIONNAIRE.problems(scores)


def is_satisfied(scores: Mapping[str, int]) -> bool:
    """:meth:`Questionnaire.is_satisfied` of our :data:`QUESTIONNAIRE` (index ≥ 75)."""
    return QUESTIONNAIRE.is_satisfied(scores)


# --- technology transfer (GB/T 34670-2017 style; not in the seed texts — verify) -------------

_GBT34670 = "GB/T 34670 (verify)"
TRANSFER_SERVICE_TYPES: tuple[Term, ...] = (
    Term("technology_development", "技术开发服务", "Technology development", _GBT34670),
    Term("technology_transfer", "技术转让服务", "Technology transfer", _GBT34670),
    Term("technical_service", "技术服务", "Technical service", _GBT34670),
    Term("technical_consulting", "技术咨询服务", "Technical consulting", _GBT34670),
    Term("technology_evaluation", "技术评价服务", "Technology evaluation", _GBT34670),
    Term(
        "investment_financing", "技术投融资服务", "Investment and financing", "GB/T 34670 (verify)"
    ),
    Term("information_platform", "信息网络平台服务", "Information platform", _GBT34670),
)

TRANSACTION_MODES: tuple[Term, ...] = (
    Term("assignment", "转让", "Assignment", "PRC Civil Code art. 862"),
    Term("licensing", "许可", "Licensing", "PRC Civil Code art. 862"),
    Term("equity_contribution", "作价入股", "Equity contribution", "科技服务业标准体系建设指南"),
    Term("auction", "技术拍卖", "Auction", "科技服务业标准体系建设指南"),
    Term("joint_development", "合作开发", "Joint development", "our reading"),
    Term("service", "技术服务/咨询", "Technical service or consulting", "our reading"),
)

TECH_CONTRACT_TYPES: tuple[Term, ...] = (
    Term("development", "技术开发合同", "Technology development contract", "Civil Code 843"),
    Term("assignment", "技术转让合同", "Technology assignment contract", "Civil Code 862"),
    Term("licensing", "技术许可合同", "Technology licensing contract", "Civil Code 862"),
    Term("consulting", "技术咨询合同", "Technical consulting contract", "Civil Code 878"),
    Term("service", "技术服务合同", "Technical service contract", "Civil Code 878"),
)

# --- incubation (GB/T 39668-2020 style; not in the seed texts) -------------------------------

INCUBATION_SERVICES: tuple[Term, ...] = (
    Term("entrepreneurship_guidance", "创业指导", "Entrepreneurship guidance", "标准体系建设指南"),
    Term("technical_consulting", "技术咨询", "Technical consulting", "标准体系建设指南"),
    Term("market_promotion", "市场推广", "Market promotion", "标准体系建设指南"),
    Term("talent_training", "人才培训", "Talent training", "标准体系建设指南"),
    Term("investment_financing", "投融资服务", "Investment and financing", "标准体系建设指南"),
    Term("space_facilities", "场地与共享设施", "Space and shared facilities", "GB/T 39668 3.2"),
)

FIELD_CLASSES: tuple[Term, ...] = (
    Term("general", "一般领域", "General", "our reading"),
    Term("biomedicine", "生物医药", "Biomedicine", "MOST 2018 (verify)"),
    Term("modern_agriculture", "现代农业", "Modern agriculture", "MOST 2018 (verify)"),
    Term("integrated_circuits", "集成电路", "Integrated circuits", "MOST 2018 (verify)"),
)
# The longest incubation term, in months, by field class: our reading of the MOST
# 《科技企业孵化器管理办法》(2018); not in the seed texts — verify before relying on it.
MAX_TERM_MONTHS: Mapping[str, int] = {
    "general": 48,
    "biomedicine": 60,
    "modern_agriculture": 60,
    "integrated_circuits": 60,
}

EXIT_REASONS: tuple[Term, ...] = (
    Term("term_expired", "孵化期满", "Incubation term expired", "our reading"),
    Term("voluntary", "主动退出", "Voluntary exit", "our reading"),
    Term("breach_of_agreement", "违反入孵协议", "Breach of the agreement", "our reading"),
    Term("business_failure", "经营失败", "Business failure", "our reading"),
    Term("relocated", "迁出", "Relocated", "our reading"),
    Term("acquired", "被并购", "Acquired", "our reading"),
)

# --- roles --------------------------------------------------------------------------------

#: The roles are ours: the clauses name staff (管理人员, 服务人员, 工作组…), not these
#: roles; the clause each names is related, not its source.
_ROLE = "ours; related clause: "
ROLES: tuple[Term, ...] = (
    Term("client", "服务对象/投诉人/申请企业", "Client, complainant or applicant", "ours"),
    Term("reception", "接待人员", "Reception / account manager", f"{_ROLE}{TSO} 二(一) 服务接待"),
    Term("consultant", "服务人员/专家/技术经理人", "Consultant", f"{_ROLE}{TIE}4.2.3, 4.2.5"),
    Term(
        "project_manager",
        "项目负责人",
        "Project manager (leads the work group)",
        f"{_ROLE}{TIE}6.3.1",
    ),
    Term("quality_manager", "质量管理人员", "Quality manager", f"{_ROLE}{TIE}4.4.1"),
    Term("handler", "投诉处理人", "Complaint handler", "ours"),
    Term("manager", "机构负责人", "Head of the organisation", f"{_ROLE}{TIE}4.2.2"),
    Term("system", "系统", "The system (timers)", "ours"),
)
