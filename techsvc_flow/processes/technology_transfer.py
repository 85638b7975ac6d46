"""Technology transfer — 技术转移服务 (GB/T 34670-2017 style; **our reading**).

The seed texts name GB/T 34670-2017《技术转移服务规范》 but do not contain it. The steps
here are our reading, shaped like the engagement: the reception steps of
《科技创新企业服务规范》6.1 (by analogy), the results-transformation services of its §5
(「对接会、发布会、推介会」, 「组织专家对技术成果进行鉴定或评价」), and the transaction steps of
《科技服务业标准体系建设指南》 (「技术合同登记、交易结算…科技成果挖掘、科技成果信息披露、
科技成果路演」). Every state and transition says which.

>>> p = technology_transfer()
>>> p.initial, "settlement" in p.state_map
('commissioned', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition import ProcessDefinition
from ._build import GuardDoc, Limit, build, field, label, sla_limit, state
from ._engagement import ARCHIVE, ARCHIVE_T, CONTRACT, DECLINE, FIELDS, TERMINATE, WITHDRAW
from .checks import FUNCTIONS
from .profile import QualityProfile
from .standards import (
    CONTRACT_CLAUSE_CODES,
    TECH_CONTRACT_TYPES,
    TIE,
    TRANSACTION_MODES,
    TRANSFER_SERVICE_TYPES,
    TSO,
    codes,
)

__all__ = ["GUARDS", "LIMITS", "PROCESS", "PROFILE", "technology_transfer"]

OURS = "our reading"
GBT34670 = "GB/T 34670-2017 style — not in the seed texts"
GUIDE = "《科技服务业标准体系建设指南》四(2)2"
RESULTS = f"{TIE}§5「科技成果转化服务」"

_WANTED = {
    "client_id",
    "client_name",
    "client_contact",
    "channel",
    "response_channel",
    "materials",
    "decline_reason",
    "decline_reason_text",
    "informed_via",
    "offered_scope",
    "service_time_limit",
    "rights_obligations",
    "withdraw_reason",
    "contract_clauses",
    "client_consent",
    "termination_kind",
    "termination_basis",
    "initiated_by",
    "fault",
    "termination_effective_on",
    "termination_settlement",
    "survey_outcome",
    "survey_case",
    "satisfaction_index",
    "archive_ref",
    "archive_record",
}

PROCESS: Mapping[str, Any] = {
    "name": "technology_transfer",
    "version": 1,
    "title": label("技术转移服务", "Technology transfer"),
    "description": (
        "GB/T 34670-2017 style (our reading): commission, analysis, optional evaluation, "
        "matching, negotiation, technology contract, registration, performance, settlement, "
        "after-sales and archive."
    ),
    "requires": ["client_id", "client_name", "party_role", "service_type"],
    "fields": [
        *(f for f in FIELDS if f["name"] in _WANTED),
        field(
            "party_role",
            "str",
            "委托方角色",
            "Client's side",
            choices=["supplier", "demander"],
            description="supplier 供方 (holds the technology) or demander 需方 (seeks one)",
        ),
        field(
            "service_type",
            "str",
            "服务类型",
            "Service type",
            choices=codes(TRANSFER_SERVICE_TYPES),
        ),
        field("technology_title", "str", "技术名称", "Technology"),
        field(
            "ip_status",
            "str",
            "知识产权状态",
            "IP status",
            choices=[
                "granted_patent",
                "patent_application",
                "know_how",
                "software_copyright",
                "ic_layout",
                "plant_variety",
                "other",
            ],
        ),
        field("ip_refs", "list", "知识产权编号", "IP references", confidential=True),
        field("need", "str", "技术需求", "Technology sought", confidential=True),
        field("ownership_evidence", "str", "权属证明", "Evidence of title (DocRef)"),
        field("service_contract_no", "str", "服务合同编号", "Service contract number"),
        field(
            "service_contract_document",
            "str",
            "服务合同",
            "Service contract (DocRef)",
            confidential=True,
        ),
        field(
            "evaluation_method",
            "str",
            "评价方式",
            "Evaluation method",
            choices=["expert_review", "appraisal", "valuation", "maturity_assessment"],
        ),
        field("evaluator", "str", "评价机构", "Evaluator"),
        field("evaluation_report", "str", "评价报告", "Report (DocRef)", confidential=True),
        field("evaluation_conclusion", "str", "评价结论", "Conclusion"),
        field("value_range", "dict", "价值区间", "Value range", level="secret"),
        field("public_profile", "str", "公开信息", "Public profile (DocRef)"),
        field("disclosure_consent", "str", "信息披露同意书", "Disclosure consent (DocRef)"),
        field(
            "activity_kind",
            "str",
            "对接活动",
            "Matching activity",
            choices=[
                "roadshow",
                "matchmaking_meeting",
                "launch_event",
                "online_listing",
                "direct_outreach",
            ],
        ),
        field("candidates", "list", "意向方", "Candidates"),
        field("counterparty_name", "str", "交易对方", "Counterparty"),
        field(
            "counterparty_role",
            "str",
            "对方角色",
            "Counterparty's side",
            choices=["supplier", "demander"],
        ),
        field("counterparty_contact", "str", "对方联系方式", "Contact", confidential=True),
        field("nda", "str", "保密协议", "Non-disclosure agreement (DocRef)"),
        field("failure_reason", "str", "洽谈未成原因", "Why the negotiation failed"),
        field("unmatched_reason", "str", "未成交原因", "Why no deal"),
        field("tech_contract_no", "str", "技术合同编号", "Technology contract number"),
        field(
            "tech_contract_type",
            "str",
            "技术合同类型",
            "Contract type",
            choices=codes(TECH_CONTRACT_TYPES),
        ),
        field(
            "transaction_mode",
            "str",
            "交易方式",
            "Transaction mode",
            choices=codes(TRANSACTION_MODES),
        ),
        field("tech_contract_price", "decimal", "成交金额", "Price", level="secret"),
        field("tech_contract_document", "str", "技术合同", "Contract (DocRef)", confidential=True),
        field("tech_deliverables", "list", "约定交付物", "Deliverables (ids)"),
        field("payment_schedule", "list", "付款安排", "Payments", level="secret"),
        field("registration_no", "str", "登记编号", "Registration number"),
        field("registry", "str", "登记机构", "Registry"),
        field(
            "skip_reason",
            "str",
            "未登记原因",
            "Why not registered",
            choices=["not_required", "parties_decline", "other"],
        ),
        field("deliverable_id", "str", "交付物编号", "Deliverable id"),
        field("delivery_evidence", "str", "交付证明", "Evidence (DocRef)"),
        field("delivered", "list", "已交付", "Deliverables delivered (ids)"),
        field("payment_amount", "decimal", "付款金额", "Payment", confidential=True),
        field("settlement_statement", "str", "结算单", "Settlement statement (DocRef)"),
        field("service_fee_settled", "bool", "服务费已结清", "Service fee settled"),
        field(
            "visit_outcome", "str", "回访结果", "Return visit", choices=["reached", "not_reached"]
        ),
    ],
    "states": [
        state(
            "commissioned",
            "委托已接收",
            "Commission received",
            f"{TIE}6.1 (by analogy); {GBT34670}",
            initial=True,
        ),
        state(
            "consulting",
            "委托沟通",
            "Communicating the commission",
            f"{TIE}6.1.1 (by analogy)",
        ),
        state("declined", "不予受理", "Declined", f"{TIE}6.1.3 (by analogy)", final=True),
        state("withdrawn", "委托撤回", "Withdrawn", OURS, final=True),
        state(
            "needs_analysis",
            "成果/需求梳理",
            "Technology or need analysed (成果挖掘)",
            f"{GUIDE}「科技成果挖掘」",
        ),
        state(
            "evaluation",
            "技术评价",
            "Technology evaluation (optional)",
            f"{RESULTS} b)「组织专家对技术成果进行鉴定或评价」",
        ),
        state(
            "matching",
            "供需对接",
            "Matching (disclosure, roadshow, matchmaking)",
            f"{RESULTS} a); {GUIDE}「科技成果信息披露、科技成果路演」",
        ),
        state("negotiating", "洽谈", "Negotiating with a counterparty", OURS),
        state(
            "closed_unmatched",
            "对接未成功",
            "Closed without a deal (archive next)",
            OURS,
        ),
        state(
            "contract_signed",
            "技术合同已签订",
            "Technology contract signed",
            f"{GUIDE}「技术合同登记」; PRC Civil Code art. 843 — not in the seed texts",
        ),
        state("performing", "合同履行", "Contract performance", OURS),
        state("settlement", "交易结算", "Settlement", f"{GUIDE}「交易结算」"),
        state(
            "after_sales",
            "售后回访",
            "After-sales: return visit and survey due",
            f"{TSO} 三(二)2「售后服务的回访机制」; {TIE}6.4.2",
        ),
        state("return_visited", "已回访", "Return visit recorded (or missed)", f"{TIE}6.4.2"),
        state("terminated", "终止", "Terminated", f"{CONTRACT} i) (service contract)"),
        state("archived", "已归档", "Archived", ARCHIVE, final=True),
    ],
    "transitions": [
        {
            "trigger": "respond",
            "source": ["commissioned"],
            "dest": "consulting",
            "roles": ["reception", "consultant"],
            "requires": ["response_channel"],
            "accepts": ["technology_title", "ip_status", "ip_refs", "need", "materials"],
            "label": label("响应委托", "Respond to the commission"),
            "source_clause": f"{TSO} 二(二)5「明确服务响应时限」",
        },
        {
            "trigger": "accept_commission",
            "source": ["consulting"],
            "dest": "needs_analysis",
            "roles": ["consultant", "manager"],
            "requires": ["service_contract_no", "service_contract_document", "informed_via"],
            "accepts": [
                "offered_scope",
                "service_time_limit",
                "rights_obligations",
                "contract_clauses",
                "ownership_evidence",
                "ip_refs",
                "technology_title",
                "ip_status",
                "need",
            ],
            "guards": [
                {
                    "code": "client_not_informed",
                    "kind": "present",
                    "fields": ["offered_scope", "service_time_limit", "rights_obligations"],
                },
                {
                    "code": "missing_contract_clause",
                    "kind": "contains_all",
                    "field": "contract_clauses",
                    "values": list(CONTRACT_CLAUSE_CODES),
                },
                {"code": "ip_title_unverified", "kind": "call", "function": "supplier_title_shown"},
            ],
            "label": label("受理并签订服务合同", "Accept and sign the service contract"),
            "source_clause": f"{TIE}6.1.3 and {CONTRACT} a)–j) (by analogy)",
        },
        {**DECLINE, "source": ["consulting"]},
        {
            "trigger": "request_evaluation",
            "source": ["needs_analysis"],
            "dest": "evaluation",
            "roles": ["consultant"],
            "requires": ["evaluation_method", "evaluator"],
            "label": label("委托技术评价", "Request an evaluation"),
            "source_clause": f"{RESULTS} b)",
        },
        {
            "trigger": "complete_evaluation",
            "source": ["evaluation"],
            "dest": "matching",
            "roles": ["consultant"],
            "requires": ["evaluation_conclusion", "public_profile"],
            "accepts": ["evaluation_report", "value_range", "disclosure_consent"],
            "guards": [
                {
                    "code": "evaluation_report_missing",
                    "kind": "present",
                    "fields": ["evaluation_report"],
                },
                {
                    "code": "disclosure_not_consented",
                    "kind": "present",
                    "fields": ["disclosure_consent"],
                },
            ],
            "label": label("完成评价并发布", "Complete the evaluation and publish"),
            "source_clause": f"{RESULTS} b); {GUIDE}「科技成果信息披露」; {TIE}4.1.5",
        },
        {
            "trigger": "start_matching",
            "source": ["needs_analysis"],
            "dest": "matching",
            "roles": ["consultant"],
            "requires": ["public_profile"],
            "accepts": ["disclosure_consent"],
            "guards": [
                {
                    "code": "disclosure_not_consented",
                    "kind": "present",
                    "fields": ["disclosure_consent"],
                }
            ],
            "label": label("发布信息，开始对接", "Publish and start matching"),
            "source_clause": f"{GUIDE}「科技成果信息披露」; {TIE}4.1.5「保密义务」",
        },
        {
            "trigger": "record_matching_activity",
            "source": ["matching"],
            "dest": "matching",
            "roles": ["consultant"],
            "requires": ["activity_kind"],
            "accepts": ["candidates"],
            "label": label("对接活动", "Record a matching activity"),
            "source_clause": f"{RESULTS} a)「对接会、发布会、推介会」; {GUIDE}「路演」",
        },
        {
            "trigger": "open_negotiation",
            "source": ["matching"],
            "dest": "negotiating",
            "roles": ["consultant"],
            "requires": ["counterparty_name", "counterparty_role"],
            "accepts": ["counterparty_contact", "nda"],
            "guards": [
                {"code": "nda_missing", "kind": "call", "function": "nda_when_needed"},
                {
                    "code": "counterparty_same_side",
                    "kind": "call",
                    "function": "counterparty_other_side",
                },
            ],
            "label": label("开始洽谈", "Open a negotiation"),
            "source_clause": f"{OURS}; NDA: {TIE}4.1.5「技术秘密」",
        },
        {
            "trigger": "negotiation_failed",
            "source": ["negotiating"],
            "dest": "matching",
            "roles": ["consultant"],
            "requires": ["failure_reason"],
            "label": label("洽谈未成", "Negotiation failed"),
            "source_clause": OURS,
        },
        {
            "trigger": "close_unmatched",
            "source": ["matching"],
            "dest": "closed_unmatched",
            "roles": ["consultant", "manager"],
            "requires": ["unmatched_reason"],
            "label": label("对接未成功，结束", "Close without a deal"),
            "source_clause": OURS,
        },
        {
            "trigger": "sign_tech_contract",
            "source": ["negotiating"],
            "dest": "contract_signed",
            "roles": ["consultant", "project_manager"],
            "requires": [
                "tech_contract_no",
                "tech_contract_type",
                "transaction_mode",
                "tech_contract_price",
                "tech_contract_document",
            ],
            "accepts": ["tech_deliverables", "payment_schedule"],
            "guards": [
                {"code": "mode_type_mismatch", "kind": "call", "function": "mode_fits_contract"}
            ],
            "label": label("签订技术合同", "Sign the technology contract"),
            "source_clause": (
                f"{GUIDE}「技术拍卖、技术作价入股」; PRC Civil Code — not in the seed texts"
            ),
        },
        {
            "trigger": "register_contract",
            "source": ["contract_signed"],
            "dest": "performing",
            "roles": ["consultant"],
            "requires": ["registration_no", "registry"],
            "label": label("技术合同登记", "Register the contract"),
            "source_clause": f"{GUIDE}「技术合同登记」",
        },
        {
            "trigger": "skip_registration",
            "source": ["contract_signed"],
            "dest": "performing",
            "roles": ["project_manager"],
            "requires": ["skip_reason"],
            "label": label("不登记", "Do not register"),
            "source_clause": OURS,
        },
        {
            "trigger": "record_delivery",
            "source": ["performing"],
            "dest": "performing",
            "roles": ["consultant"],
            "requires": ["deliverable_id"],
            "accepts": ["delivery_evidence"],
            "guards": [
                {"code": "unknown_deliverable", "kind": "call", "function": "deliverable_known"}
            ],
            "label": label("记录交付", "Record a delivery"),
            "source_clause": OURS,
        },
        *(
            {
                "trigger": "record_payment",
                "source": [s],
                "dest": s,
                "roles": ["project_manager"],
                "requires": ["payment_amount"],
                "label": label("记录付款", "Record a payment"),
                "source_clause": f"{GUIDE}「交易结算」",
            }
            for s in ("performing", "settlement")
        ),
        {
            "trigger": "start_settlement",
            "source": ["performing"],
            "dest": "settlement",
            "roles": ["project_manager"],
            "requires": ["delivered"],
            "guards": [
                {
                    "code": "deliverables_outstanding",
                    "kind": "call",
                    "function": "tech_deliverables_delivered",
                }
            ],
            "label": label("进入结算", "Start the settlement"),
            "source_clause": f"{GUIDE}「交易结算」",
        },
        {
            "trigger": "complete_settlement",
            "source": ["settlement"],
            "dest": "after_sales",
            "roles": ["project_manager", "manager"],
            "requires": ["settlement_statement"],
            "accepts": ["service_fee_settled"],
            "guards": [
                {
                    "code": "service_fee_unsettled",
                    "kind": "equals",
                    "field": "service_fee_settled",
                    "value": True,
                }
            ],
            "label": label("完成结算", "Complete the settlement"),
            "source_clause": f"{GUIDE}「交易结算」",
        },
        {
            "trigger": "record_return_visit",
            "source": ["after_sales"],
            "dest": "return_visited",
            "roles": ["reception", "quality_manager"],
            "requires": ["visit_outcome", "survey_outcome"],
            "accepts": ["survey_case", "satisfaction_index"],
            "guards": [
                {"code": "return_visit_window_expired", "kind": "within", "duration": "1mo"}
            ],
            "label": label("记录回访与满意度", "Record the return visit and survey"),
            "source_clause": f"{TSO} 三(二)2「回访机制」; {TIE}6.4.2",
        },
        {
            "trigger": "return_visit_missed",
            "source": ["after_sales"],
            "dest": "return_visited",
            "roles": ["system"],
            "label": label("回访逾期", "Return visit missed"),
            "description": "fired by the return_visit SLA on breach",
            "source_clause": OURS,
        },
        {
            **TERMINATE,
            "source": [
                "needs_analysis",
                "evaluation",
                "matching",
                "negotiating",
                "contract_signed",
                "performing",
                "settlement",
            ],
        },
        {
            **WITHDRAW,
            "source": ["commissioned", "consulting"],
        },
        {**ARCHIVE_T, "source": ["return_visited", "terminated", "closed_unmatched"]},
    ],
    "slas": [
        {
            "name": "response",
            "duration": "1wd",
            "start_states": ["commissioned"],
            "stop_states": ["consulting", "withdrawn"],
            "label": label("服务响应时限", "Response"),
            "source": f"{TSO} 二(二)5; value: our default",
        },
        {
            "name": "evaluation",
            "duration": "20wd",
            "start_states": ["evaluation"],
            "stop_states": ["matching", "terminated"],
            "warn_at": [0.75],
            "label": label("评价时限", "Evaluation"),
            "source": "our default",
        },
        {
            "name": "matching_window",
            "duration": "3mo",
            "start_states": ["matching"],
            "pause_states": ["negotiating"],
            "stop_states": ["contract_signed", "closed_unmatched", "terminated"],
            "label": label("对接期限", "Matching window"),
            "source": "our default",
        },
        {
            "name": "negotiation",
            "duration": "1mo",
            "start_states": ["negotiating"],
            "stop_states": ["contract_signed", "matching", "terminated"],
            "warn_at": [0.75],
            "label": label("洽谈期限", "Negotiation"),
            "source": "our default",
        },
        {
            "name": "registration",
            "duration": "30d",
            "start_states": ["contract_signed"],
            "stop_states": ["performing", "terminated"],
            "warn_at": [0.5],
            "label": label("合同登记提醒", "Contract registration"),
            "source": "our default (a reminder)",
        },
        {
            "name": "return_visit",
            "duration": "1mo",
            "start_states": ["after_sales"],
            "stop_states": ["return_visited"],
            "warn_at": [0.75],
            "breach_trigger": "return_visit_missed",
            "label": label("回访时限", "Return visit"),
            "source": f"{TSO} 三(二)2「回访机制」; value: our default",
        },
        {
            "name": "archiving",
            "duration": "1mo",
            "start_states": ["return_visited", "terminated", "closed_unmatched"],
            "stop_states": ["archived"],
            "warn_at": [0.75],
            "label": label("归档时限", "Archiving"),
            "source": "our default",
        },
    ],
}


LIMITS: Mapping[str, Limit] = {
    limit.name: limit
    for limit in (
        sla_limit("response", "1wd", "respond to a commission"),
        sla_limit("evaluation", "20wd", "complete an evaluation"),
        sla_limit("matching_window", "3mo", "find a counterparty (paused while negotiating)"),
        sla_limit("negotiation", "1mo", "conclude a negotiation"),
        sla_limit("registration", "30d", "register the technology contract (a reminder)"),
        Limit(
            "return_visit",
            "duration",
            "1mo",
            slas=["return_visit"],
            guards=["return_visit_window_expired"],
            meaning="the return-visit window after settlement",
            source="our default",
        ),
        sla_limit("archiving", "1mo", "archive the case"),
    )
}

GUARDS: Mapping[str, GuardDoc] = {
    "decline_reason_missing": GuardDoc(
        "a decline carries a reason code and the text told to the client", OURS
    ),
    "client_not_informed": GuardDoc(
        "scope, time limit, rights and obligations told to the client", f"{TIE}6.1.3 (by analogy)"
    ),
    "missing_contract_clause": GuardDoc(
        "the service contract carries the ten clauses a)–j)", f"{CONTRACT} (by analogy)"
    ),
    "ip_title_unverified": GuardDoc(
        "a technology holder shows it holds or may dispose of the rights",
        f"{OURS}; PRC Civil Code art. 862 — not in the seed texts",
    ),
    "evaluation_report_missing": GuardDoc("an evaluation leaves a report", OURS),
    "disclosure_not_consented": GuardDoc(
        "publishing a profile needs the client's consent",
        f"{TIE}4.1.5「技术秘密和经营秘密承担保密义务」; {GUIDE}",
    ),
    "nda_missing": GuardDoc("know-how is shown only under an NDA", f"{TIE}4.1.5; rule: {OURS}"),
    "counterparty_same_side": GuardDoc("the counterparty is on the other side", OURS),
    "mode_type_mismatch": GuardDoc(
        "equity contribution needs an assignment or licence; an auction an assignment", OURS
    ),
    "unknown_deliverable": GuardDoc("the deliverable is one the contract names", OURS),
    "deliverables_outstanding": GuardDoc(
        "settlement starts when every deliverable of the contract is delivered", OURS
    ),
    "service_fee_unsettled": GuardDoc("the service fee is settled", f"{GUIDE}「交易结算」"),
    "return_visit_window_expired": GuardDoc(
        "the return visit is recorded within its window (limit return_visit)", OURS
    ),
    "termination_basis_missing": GuardDoc(
        "a termination cites clause i) or a statutory ground", f"{CONTRACT} i)"
    ),
    "bilateral_consent_missing": GuardDoc(
        "a rescission by agreement carries the client's consent", f"{CONTRACT} i)"
    ),
    "archive_record_incomplete": GuardDoc(
        "the archive keeps time, content, process, results and evaluation", ARCHIVE
    ),
}


#: Where this template records what the quality indicators read: no delivery date and no
#: acceptance step (so neither on-time delivery nor first-pass acceptance is counted),
#: and no objection trigger.
PROFILE = QualityProfile(
    delivered=None,
    delivery_due_field=None,
    accepted=(),
    objection=None,
    rework=(),
    performed=("after_sales",),
)


def technology_transfer(**limits: str | int) -> ProcessDefinition:
    """The technology-transfer process (our reading), with the organisation's own limits.

    Args:
        **limits: any of :data:`LIMITS` by name, e.g. ``matching_window="6mo"``.
            ``version=N`` sets the definition's version instead (default 1).

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
