"""Service engagement — 科技服务机构服务 (the six stages of 《科技服务机构服务规范》).

The explanatory notes of 《科技服务机构服务规范》 三(二)2 name the six stages:
「服务接待与需求对接、服务方案制定、合同签订、服务实施、服务交付与验收、售后服务」, and
what each must settle (「需求对接的可行性评估、服务方案的核心内容、合同的条款要求、服务实施的
动态管控、验收的异议处理、售后服务的回访机制」). The notes give no step text, so the steps
inside each stage follow 《科技创新企业服务规范》 §6 where it fits, in the notes' order
(plan before contract); the archive is that standard's 「档案管理」.

>>> p = service_engagement()
>>> p.initial, len(p.states)
('request_received', 19)
>>> str(service_engagement(response="2wd").sla_map["response"].duration)
'2wd'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition import ProcessDefinition
from ._build import GuardDoc, Limit, assign, build, field, label, sla_limit, state
from ._engagement import (
    ACCEPT,
    ACCEPT_DELIVERY,
    AGREE_CHANGE,
    ARCHIVE,
    ARCHIVE_T,
    CHOOSE_ADJUSTMENT,
    CONFIRM_ADJUSTED_PLAN,
    CONFIRM_PLAN,
    CONTRACT,
    COORDINATE_THIRD_PARTY,
    DECLINE,
    DELIVER,
    DELIVERY_SLA,
    FIELDS,
    FORM_WORK_GROUP,
    KEEP_CURRENT_PLAN,
    MILESTONE_SLA,
    OURS,
    PROPOSE_ADJUSTMENT,
    PROVIDE_GUIDANCE,
    RAISE_OBJECTION,
    RECORD_DATA,
    RECORD_FEEDBACK,
    RECORD_MATERIALS,
    REJECT_CHANGE,
    REPORT_PROGRESS,
    REQUEST_CHANGE,
    REQUEST_PLAN_REVISION,
    SIGN_CONTRACT,
    SUBMIT_MILESTONE,
    SUBMIT_PLAN,
    SUPPORT_FIELDS,
    TERMINATE,
    WITHDRAW,
)
from ._engagement import GUARDS as COMMON_GUARDS
from .checks import FUNCTIONS
from .profile import QualityProfile
from .standards import SERVICE_FIELD_ALIASES, SERVICE_FIELD_CODES, TIE, TSO

__all__ = ["GUARDS", "LIMITS", "PROCESS", "PROFILE", "service_engagement"]

STAGES = f"{TSO} 三(二)2"
#: every state from the first contact to the archive: materials arrive and leave any time
CUSTODY_STATES = (
    "needs_matching", "feasibility_assessment", "accepted", "plan_drafting",
    "plan_confirmation", "contracting", "implementing", "adjustment_pending",
    "change_pending", "delivered", "rework", "disputed", "after_sales", "return_visited",
    "terminated",
)  # fmt: skip
#: after-sales: the guarantee period is agreed and support requested in these states
SUPPORT_STATES = ("after_sales", "return_visited")
AFTER_SALES = f"{TSO} 二(二)5「售后」, 二(一)「售后服务」; guarantee and support steps: our reading"
SUPPORT_OPEN = {"code": "support_request_open", "kind": "call", "function": "no_support_open"}
PLAN_NOT_CONFIRMED = {"code": "plan_not_confirmed", "kind": "call", "function": "plan_confirmed"}

PROCESS: Mapping[str, Any] = {
    "name": "service_engagement",
    "version": 1,
    "title": label("科技服务机构服务流程", "Technology-service engagement"),
    "description": (
        "The six stages of 《科技服务机构服务规范》 (reception and needs matching, plan, "
        "contract, implementation, delivery and acceptance, after-sales) and the archive; "
        "steps from 《科技创新企业服务规范》 §6."
    ),
    "requires": ["client_id", "client_name", "channel", "service_field"],
    "fields": [
        *FIELDS,
        *SUPPORT_FIELDS,
        field(
            "custody_log",
            "list",
            "资料样品保管记录",
            "Custody log of the client's materials and samples: item_id, description, "
            "received_on, kept_at, confidential; outcome (returned or disposed) with "
            "acknowledged_by",
        ),
        field(
            "service_field",
            "str",
            "服务领域",
            "Service field",
            choices=[*SERVICE_FIELD_CODES, *SERVICE_FIELD_ALIASES],
            description="one of the ten fields of the standards system (000 一), or an alias"
            " from 002's list (`standards.service_field` resolves it)",
        ),
        field("request_summary", "str", "需求概述", "Request summary"),
        field("dispute_summary", "str", "争议概述", "Dispute summary"),
        field("extra_rework_justification", "str", "追加整改理由", "Why one more rework round"),
        field("settlement", "str", "和解协议", "Settlement (DocRef)"),
        field(
            "settlement_outcome",
            "str",
            "和解结果",
            "Settlement outcome",
            choices=["accepted_as_is", "accepted_with_fee_reduction", "accepted_with_other_remedy"],
        ),
        field(
            "visit_outcome", "str", "回访结果", "Return visit", choices=["reached", "not_reached"]
        ),
        field("visit_notes", "str", "回访记录", "Return-visit notes"),
        field(
            "guarantee_until",
            "date",
            "售后保障期至",
            "Guarantee period ends on (inclusive)",
            description="support may be requested up to this day (the contract's or the "
            "organisation's pledge)",
        ),
        field("support_request", "str", "售后支持请求", "Support request (what and DocRef)"),
        field("support_resolution", "str", "售后支持处理结果", "How the request was resolved"),
    ],
    "states": [
        state(
            "request_received",
            "服务接待",
            "Request received",
            f"{STAGES}「服务接待与需求对接」",
            initial=True,
        ),
        state(
            "needs_matching",
            "需求对接",
            "Needs matching (communicate, collect and review materials, site visit)",
            f"{STAGES}; {TIE}6.1.1, 6.1.2",
        ),
        state(
            "feasibility_assessment",
            "可行性评估",
            "Feasibility assessment",
            f"{STAGES}「需求对接的可行性评估」; {TIE}6.1.3",
        ),
        state(
            "declined",
            "不予承接",
            "Declined, with a reason",
            f"{TIE}6.1.3; reason: {OURS}",
            final=True,
        ),
        state("withdrawn", "委托撤回", "Withdrawn before the contract", OURS, final=True),
        state(
            "accepted",
            "已承接（已告知）",
            "Accepted; scope, time limit, rights and obligations told",
            f"{TIE}6.1.3",
        ),
        state("plan_drafting", "方案制定", "Plan drafting", f"{STAGES}「服务方案制定」"),
        state(
            "plan_confirmation",
            "方案待确认",
            "Plan awaiting the client's written confirmation",
            f"{TIE}6.3.3 (at the place {TSO} gives the plan)",
        ),
        state("contracting", "合同签订", "Contracting", f"{STAGES}「合同签订」; {CONTRACT}"),
        state(
            "implementing",
            "服务实施",
            "Implementation (work group, research, progress, milestones)",
            f"{STAGES}「服务实施的动态管控」; {TIE}6.3.1–6.3.4",
        ),
        state(
            "adjustment_pending",
            "调整方案待选择",
            "Plan adjustment awaiting the client's choice",
            f"{TIE}6.3.4 f)",
        ),
        state("change_pending", "合同变更待确认", "Contract change pending", f"{CONTRACT} i)"),
        state(
            "delivered",
            "已交付待验收",
            "Delivered, awaiting acceptance",
            f"{STAGES}「服务交付与验收」; {TIE}6.4.1",
        ),
        state(
            "rework",
            "异议整改",
            "Rework after an objection",
            f"{STAGES}「验收的异议处理」; loop and bound: {OURS}",
        ),
        state("disputed", "验收争议", "Acceptance disputed (rework rounds used up)", OURS),
        state(
            "after_sales",
            "售后服务",
            "After-sales: return visit and satisfaction survey due",
            f"{STAGES}「售后服务的回访机制」; {TIE}6.4.2",
        ),
        state(
            "return_visited",
            "已回访",
            "Return visit and survey recorded (or missed)",
            f"{STAGES}「回访机制」; {TIE}6.4.2「满意度调查」",
        ),
        state("terminated", "提前终止/解除", "Terminated or rescinded", f"{CONTRACT} i)"),
        state("archived", "已归档", "Archived", ARCHIVE, final=True),
    ],
    "transitions": [
        {
            "trigger": "respond",
            "source": ["request_received"],
            "dest": "needs_matching",
            "roles": ["reception", "consultant"],
            "requires": ["response_channel"],
            "accepts": ["request_summary"],
            "label": label("响应需求", "Respond to the request"),
            "source_clause": f"{TSO} 二(二)5「明确服务响应时限」",
        },
        {**RECORD_MATERIALS, "source": ["needs_matching"], "dest": "needs_matching"},
        {
            "trigger": "review_materials",
            "source": ["needs_matching"],
            "dest": "needs_matching",
            "roles": ["consultant"],
            "requires": ["review_result"],
            "accepts": ["review_notes", "site_visit_required"],
            "guards": [{"code": "no_materials", "kind": "present", "fields": ["materials"]}],
            "label": label("审核材料", "Review the materials"),
            "source_clause": f"{TIE}6.1.2「审核服务对象提供的材料」",
        },
        {
            "trigger": "record_site_visit",
            "source": ["needs_matching"],
            "dest": "needs_matching",
            "roles": ["consultant"],
            "requires": ["site_visit_date", "site_visit_findings"],
            "accepts": ["site_visit_report"],
            "label": label("实地考察", "Record a site visit"),
            "source_clause": f"{TIE}6.1.2「必要时应进行实地考察」",
        },
        {
            "trigger": "begin_assessment",
            "source": ["needs_matching"],
            "dest": "feasibility_assessment",
            "roles": ["consultant"],
            "guards": [
                {
                    "code": "materials_not_reviewed",
                    "kind": "equals",
                    "field": "review_result",
                    "value": "complete",
                },
                {"code": "site_visit_missing", "kind": "call", "function": "site_visit_done"},
            ],
            "label": label("开始可行性评估", "Begin the feasibility assessment"),
            "source_clause": f"{TIE}6.1.2, 6.1.3",
        },
        {**DECLINE, "source": ["needs_matching", "feasibility_assessment"]},
        ACCEPT,
        {
            **WITHDRAW,
            "source": [
                "request_received",
                "needs_matching",
                "feasibility_assessment",
                "accepted",
                "plan_drafting",
                "plan_confirmation",
                "contracting",
            ],
        },
        {
            "trigger": "start_plan",
            "source": ["accepted"],
            "dest": "plan_drafting",
            "roles": ["project_manager", "consultant"],
            "label": label("开始制定方案", "Start the plan"),
            "source_clause": f"{STAGES}「服务方案制定」",
        },
        SUBMIT_PLAN,
        {**CONFIRM_PLAN, "dest": "contracting"},
        REQUEST_PLAN_REVISION,
        {
            **SIGN_CONTRACT,
            "source": ["contracting"],
            "dest": "implementing",
            "guards": [
                *SIGN_CONTRACT["guards"],
                PLAN_NOT_CONFIRMED,
                {
                    "code": "confidentiality_term_missing",
                    "kind": "call",
                    "function": "confidentiality_term_given",
                },
            ],
        },
        {**FORM_WORK_GROUP, "source": ["implementing"], "dest": "implementing"},
        *(
            {
                "trigger": "record_research",
                "source": [s],
                "dest": s,
                "roles": ["consultant", "project_manager"],
                "requires": ["research_methods", "research_summary"],
                "label": label("调研", "Record research"),
                "description": "before the plan (6.3.3 rests on it) and during implementation",
                "source_clause": f"{TIE}6.3.2; {TIE}6.3.3「根据…调研情况，制定服务方案」",
            }
            for s in ("accepted", "plan_drafting", "implementing")
        ),
        {**PROVIDE_GUIDANCE, "source": ["implementing"], "dest": "implementing"},
        {**RECORD_DATA, "source": ["implementing"], "dest": "implementing"},
        {**COORDINATE_THIRD_PARTY, "source": ["implementing"], "dest": "implementing"},
        REPORT_PROGRESS,
        SUBMIT_MILESTONE,
        PROPOSE_ADJUSTMENT,
        CHOOSE_ADJUSTMENT,
        KEEP_CURRENT_PLAN,
        CONFIRM_ADJUSTED_PLAN,
        REQUEST_CHANGE,
        AGREE_CHANGE,
        REJECT_CHANGE,
        DELIVER,
        {**ACCEPT_DELIVERY, "dest": "after_sales", "not_by": ["deliver", "redeliver"]},
        {**RAISE_OBJECTION, "dest": "rework", "not_by": ["deliver", "redeliver"]},
        {
            "trigger": "redeliver",
            "source": ["rework"],
            "dest": "delivered",
            "roles": ["project_manager"],
            "requires": ["deliverables", "objection_responses"],
            "accepts": ["delivery_note"],
            "guards": [
                {
                    "code": "contract_deliverables_missing",
                    "kind": "call",
                    "function": "contract_deliverables_delivered",
                }
            ],
            "label": label("整改后重新交付", "Redeliver after rework"),
            "source_clause": f"{STAGES}「验收的异议处理」; {OURS}",
        },
        {
            "trigger": "escalate_dispute",
            "source": ["delivered"],
            "dest": "disputed",
            "roles": ["client", "project_manager"],
            "requires": ["dispute_summary"],
            "label": label("提请争议处理", "Escalate the dispute"),
            "source_clause": OURS,
        },
        {
            "trigger": "grant_extra_rework",
            "source": ["disputed"],
            "dest": "rework",
            "roles": ["manager"],
            "requires": ["extra_rework_justification"],
            "label": label("追加整改", "Grant one more rework round"),
            "source_clause": OURS,
        },
        {
            "trigger": "settle_dispute",
            "source": ["disputed"],
            "dest": "after_sales",
            "roles": ["manager"],
            "requires": ["settlement", "settlement_outcome"],
            "accepts": ["client_consent"],
            "guards": [
                {"code": "client_consent_missing", "kind": "present", "fields": ["client_consent"]}
            ],
            "label": label("协商解决争议", "Settle the dispute"),
            "source_clause": OURS,
        },
        {
            **TERMINATE,
            "source": [
                "implementing",
                "adjustment_pending",
                "change_pending",
                "delivered",
                "rework",
                "disputed",
            ],
        },
        {
            "trigger": "record_return_visit",
            "source": ["after_sales"],
            "dest": "return_visited",
            "roles": ["reception", "quality_manager"],
            "requires": ["visit_outcome", "survey_outcome"],
            "accepts": ["survey_case", "satisfaction_index", "visit_notes"],
            "guards": [
                {"code": "return_visit_window_expired", "kind": "within", "duration": "1mo"}
            ],
            "label": label("记录回访与满意度", "Record the return visit and survey"),
            "source_clause": f"{STAGES}「售后服务的回访机制」; {TIE}6.4.2",
        },
        {
            "trigger": "return_visit_missed",
            "source": ["after_sales"],
            "dest": "return_visited",
            "roles": ["system"],
            "label": label("回访逾期", "Return visit missed"),
            "description": "fired by the return_visit SLA on breach; counts as not visited",
            "source_clause": OURS,
        },
        *(
            {**RECORD_FEEDBACK, "source": [s], "dest": s}
            for s in ("delivered", "after_sales", "return_visited")
        ),
        *(
            {
                "trigger": "record_custody",
                "source": [s],
                "dest": s,
                "roles": ["reception", "consultant", "project_manager"],
                "requires": ["custody_log"],
                "guards": [
                    {"code": "custody_log_invalid", "kind": "call", "function": "custody_log_valid"}
                ],
                "label": label("资料样品保管记录", "Record the custody of materials and samples"),
                "description": "the whole log each time: received, kept where, returned or "
                "disposed of with the client's acknowledgement",
                "source_clause": f"{CONTRACT} e)「对服务对象提供的技术资料、样品的保管」",
            }
            for s in CUSTODY_STATES
        ),
        *(
            {
                "trigger": "agree_guarantee",
                "source": [s],
                "dest": s,
                "roles": ["project_manager", "manager"],
                "requires": ["guarantee_until"],
                "label": label("确定售后保障期", "Record the guarantee period"),
                "source_clause": AFTER_SALES,
            }
            for s in SUPPORT_STATES
        ),
        *(
            {
                "trigger": "request_support",
                "source": [s],
                "dest": s,
                "roles": ["client", "reception"],
                "requires": ["support_request"],
                "guards": [
                    {"code": "guarantee_expired", "kind": "call", "function": "within_guarantee"},
                    SUPPORT_OPEN,
                ],
                "label": label("售后支持请求", "Request support under the guarantee"),
                "description": "starts the support SLA; one request is open at a time",
                "source_clause": AFTER_SALES,
            }
            for s in SUPPORT_STATES
        ),
        *(
            {
                "trigger": "resolve_support",
                "source": [s],
                "dest": s,
                "roles": ["consultant", "project_manager"],
                "requires": ["support_resolution"],
                "guards": [
                    {"code": "no_support_request", "kind": "call", "function": "support_open"}
                ],
                "label": label("售后支持处理完毕", "Resolve the support request"),
                "description": "stops the support SLA",
                "source_clause": AFTER_SALES,
            }
            for s in SUPPORT_STATES
        ),
        {
            **ARCHIVE_T,
            "source": ["return_visited", "terminated"],
            "guards": [
                *ARCHIVE_T["guards"],
                {"code": "custody_not_settled", "kind": "call", "function": "custody_settled"},
                SUPPORT_OPEN,
            ],
        },
    ],
    "slas": [
        DELIVERY_SLA,
        MILESTONE_SLA,
        {
            "name": "response",
            "duration": "1wd",
            "start_states": ["request_received"],
            "stop_states": ["needs_matching", "declined", "withdrawn"],
            "label": label("服务响应时限", "Response"),
            "source": f"{TSO} 二(二)5「明确服务响应时限」; value: our default",
        },
        {
            "name": "feasibility",
            "duration": "5wd",
            "start_states": ["needs_matching"],
            "stop_states": ["accepted", "declined", "withdrawn"],
            "warn_at": [0.75],
            "label": label("可行性评估时限", "Feasibility decision"),
            "source": "our default",
        },
        {
            "name": "plan_submission",
            "duration": "10wd",
            "start_states": ["accepted"],
            "stop_states": ["plan_confirmation", "withdrawn"],
            "label": label("方案提交时限", "Plan submission"),
            "source": "our default",
        },
        {
            "name": "client_plan_reply",
            "duration": "5wd",
            "start_states": ["plan_confirmation"],
            "stop_states": ["contracting", "plan_drafting", "withdrawn"],
            "warn_at": [0.75],
            "label": label("方案确认提醒", "Client's reply to the plan"),
            "source": "our default (a reminder; the client's time)",
        },
        {
            "name": "contract_signing",
            "duration": "10wd",
            "start_states": ["contracting"],
            "stop_states": ["implementing", "withdrawn"],
            "warn_at": [0.75],
            "label": label("合同签订时限", "Contract signing"),
            "source": "our default",
        },
        {
            "name": "client_acceptance",
            "duration": "7wd",
            "start_states": ["delivered"],
            "stop_states": ["after_sales", "rework", "disputed", "terminated"],
            "warn_at": [0.75],
            "label": label("验收期限", "Client's acceptance"),
            "source": f"our default, unless the contract's clause h) sets one ({CONTRACT} h))",
        },
        {
            "name": "rework",
            "duration": "10wd",
            "start_states": ["rework"],
            "stop_states": ["delivered", "terminated"],
            "label": label("整改时限", "Rework"),
            "source": "our default",
        },
        {
            "name": "return_visit",
            "duration": "1mo",
            "start_states": ["after_sales"],
            "stop_states": ["return_visited"],
            "warn_at": [0.75],
            "breach_trigger": "return_visit_missed",
            "label": label("回访时限", "Return visit"),
            "source": f"{STAGES}「售后服务的回访机制」; value: our default",
        },
        {
            "name": "support",
            "duration": "5wd",
            "start_triggers": ["request_support"],
            "stop_triggers": ["resolve_support"],
            "warn_at": [0.75],
            "label": label("售后支持处理时限", "Support request"),
            "source": f"{TSO} 二(二)5「售后」; value: our default",
        },
        {
            "name": "archiving",
            "duration": "1mo",
            "start_states": ["return_visited", "terminated"],
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
        sla_limit("delivery", "6mo", "deliver while the contract sets no delivery date"),
        sla_limit(
            "milestone",
            "6mo",
            "unused: the milestone clock runs only to a date the contract or a submission sets",
        ),
        sla_limit(
            "response",
            "1wd",
            "respond to a request (the 服务响应及时率 indicator counts it)",
            f"{TSO} 二(二)5 asks for a response limit; the value is our default",
        ),
        sla_limit("feasibility", "5wd", "accept or decline after responding"),
        sla_limit("plan_submission", "10wd", "submit the written plan after accepting"),
        sla_limit("client_plan_reply", "5wd", "remind the client to confirm the plan"),
        sla_limit("contract_signing", "10wd", "sign the contract after the plan is confirmed"),
        sla_limit("client_acceptance", "7wd", "remind the client to accept a delivery"),
        sla_limit("rework", "10wd", "redeliver after an objection"),
        Limit(
            "return_visit",
            "duration",
            "1mo",
            slas=["return_visit"],
            guards=["return_visit_window_expired"],
            meaning="the return-visit window after acceptance; past it the visit counts as missed",
            source=f"{STAGES}「售后服务的回访机制」; value: our default",
        ),
        sla_limit("archiving", "1mo", "archive the case after the return visit"),
        sla_limit("support", "5wd", "resolve a support request made within the guarantee"),
        Limit(
            "max_rework_rounds",
            "count",
            3,
            guards=["rework_limit_reached"],
            meaning="objections the client may raise before the dispute path",
            source="our default",
        ),
    )
}

GUARDS: Mapping[str, GuardDoc] = {
    **COMMON_GUARDS,
    "materials_not_reviewed": GuardDoc(
        "the last review of the materials found them complete", f"{TIE}6.1.2"
    ),
    "client_consent_missing": GuardDoc("a settlement carries the client's consent", OURS),
    "custody_log_invalid": GuardDoc(
        "each item in custody names what it is, when it came and where it is kept; none "
        "drops out; a return or disposal carries the client's acknowledgement",
        f"{CONTRACT} e); the log's keys: {OURS}",
    ),
    "custody_not_settled": GuardDoc(
        "no archive until every item in custody was returned or disposed of, acknowledged",
        f"{CONTRACT} e)",
    ),
    "confidentiality_term_missing": GuardDoc(
        "a contract gives a confidentiality term when confidential material was received",
        f"{CONTRACT} j)",
    ),
    "guarantee_expired": GuardDoc(
        "support is requested within the agreed guarantee period (`guarantee_until`)",
        AFTER_SALES,
    ),
    "support_request_open": GuardDoc(
        "no new request, and no archive, while a support request is open", OURS
    ),
    "no_support_request": GuardDoc("a support request is open to resolve", OURS),
    "return_visit_window_expired": GuardDoc(
        "the return visit is recorded within its window (limit return_visit)",
        f"{STAGES}「回访机制」; window: {OURS}",
    ),
}


#: Where this template records what the quality indicators read (the defaults).
PROFILE = QualityProfile(
    rework=("raise_objection", "grant_extra_rework"), disputes=("escalate_dispute",)
)


# who acts next (the worklists): the project manager named on the case (else a project
# manager claims it), the work group while implementing, the client's contact for the
# client's own steps; a manager assigns and reassigns
_PM = {"field": "project_manager", "roles": ["project_manager"], "managers": ["manager"]}
_GROUP = {"field": "project_manager", "roles": ["consultant", "project_manager"],
          "managers": ["manager", "project_manager"]}  # fmt: skip
_CLIENT = {"field": "client_user", "roles": ["client"], "managers": ["project_manager"]}
assign(
    PROCESS,
    {
        "request_received": {"roles": ["reception"], "managers": ["manager"]},
        "needs_matching": _PM,
        "feasibility_assessment": _PM,
        "accepted": _PM,
        "plan_drafting": _PM,
        "plan_confirmation": _CLIENT,
        "contracting": _PM,
        "implementing": _GROUP,
        "adjustment_pending": _CLIENT,
        "change_pending": _PM,
        "delivered": _CLIENT,
        "rework": _GROUP,
        "disputed": _PM,
        "after_sales": _PM,
        "return_visited": _PM,
    },
    [
        field("project_manager", "str", "项目负责人", "Project manager"),
        # not the (confidential) contact details: the id of the client's user who acts
        field("client_user", "str", "客户经办人", "The client's user who acts for the client"),
    ],
)


def service_engagement(**limits: str | int) -> ProcessDefinition:
    """The six-stage engagement process, with the organisation's own time limits.

    Args:
        **limits: any of :data:`LIMITS` by name, e.g. ``response="4wh"``,
            ``return_visit="20wd"``, ``max_rework_rounds=2``.
            ``version=N`` sets the definition's version instead (default 1).

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
