"""Innovation-enterprise service — 科技创新企业服务 (《科技创新企业服务规范》 §6).

The standard's own order: 委托与受理 (6.1.1–6.1.3) → 签订合同 → 服务实施 (6.3.1 工作组 →
6.3.2 调研 → 6.3.3 编制服务方案 → 6.3.4 方案实施) → 服务交付 (6.4.1, 6.4.2) → 档案管理.
Here the plan comes *after* the contract (the engagement template follows the other
standard's order). The service kind (§5, seven kinds) is a required case attribute.

>>> p = innovation_service()
>>> p.fields["service_kind"].choices[:3]
('info_consulting', 'training', 'project_application')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition import ProcessDefinition
from ._build import GuardDoc, Limit, build, field, label, sla_limit, state
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
from .standards import SERVICE_ITEM_CODES, SERVICE_KIND_CODES, TIE

__all__ = ["GUARDS", "LIMITS", "PROCESS", "PROFILE", "innovation_service"]

IMPLEMENTING = ["implementing"]

PROCESS: Mapping[str, Any] = {
    "name": "innovation_service",
    "version": 1,
    "title": label("科技创新企业服务流程", "Innovation-enterprise service"),
    "description": (
        "《科技创新企业服务规范》 §6 通用服务流程 in its own order; the service kind is one "
        "of the seven of §5."
    ),
    "requires": ["client_id", "client_name", "service_kind", "matters"],
    "fields": [
        *FIELDS,
        field(
            "service_kind",
            "str",
            "服务类别",
            "Service kind (§5)",
            choices=SERVICE_KIND_CODES,
        ),
        field(
            "service_items",
            "list",
            "服务事项",
            "Service items (<kind>.<letter>)",
            choices=SERVICE_ITEM_CODES,
        ),
        field("matters", "str", "委托事项", "Matters commissioned"),
        field("requirements", "str", "具体要求", "Specific requirements"),
        field("site_visit_reason", "str", "考察原因", "Why a site visit is needed"),
        *SUPPORT_FIELDS,
    ],
    "states": [
        state(
            "commissioned",
            "委托已接收",
            "Commission received",
            f"{TIE}6.1 委托与受理",
            initial=True,
        ),
        state(
            "communicating",
            "委托沟通",
            "Communicating the matters and requirements; collecting materials",
            f"{TIE}6.1.1「沟通服务对象的委托事项、具体要求」",
        ),
        state(
            "materials_review",
            "材料审核",
            "Materials under review",
            f"{TIE}6.1.2「审核服务对象提供的材料」",
        ),
        state("site_visit", "实地考察", "Site visit", f"{TIE}6.1.2「必要时应进行实地考察」"),
        state(
            "feasibility_assessment",
            "可行性评估",
            "Feasibility assessment",
            f"{TIE}6.1.3「评估服务事项的可行性，判断能否提供服务」",
        ),
        state("declined", "不予受理", "Declined", f"{TIE}6.1.3", final=True),
        state("withdrawn", "委托撤回", "Withdrawn before the contract", OURS, final=True),
        state(
            "accepted",
            "已受理",
            "Accepted; content, time limit, rights and obligations told",
            f"{TIE}6.1.3",
        ),
        state(
            "work_group_forming",
            "组建工作组",
            "Forming the work group",
            f"{TIE}6.3.1「应根据服务内容、目标要求等组建工作组」",
        ),
        state(
            "researching",
            "调研",
            "Research",
            f"{TIE}6.3.2「对提供的材料进行梳理和分析，并通过访谈、问卷等方式进行调研」",
        ),
        state(
            "plan_drafting",
            "编制服务方案",
            "Drafting the service plan",
            f"{TIE}6.3.3「制定服务方案」",
        ),
        state(
            "plan_confirmation",
            "方案待确认",
            "Plan awaiting the client's written confirmation",
            f"{TIE}6.3.3「以书面形式提交至服务对象，由服务对象进行确认」",
        ),
        state(
            "implementing",
            "方案实施",
            "Implementing the confirmed plan",
            f"{TIE}6.3.4「应根据确认的服务方案，向服务对象提供相应的服务」",
        ),
        state(
            "adjustment_pending",
            "调整方案待选择",
            "Adjustment awaiting the client's choice",
            f"{TIE}6.3.4 f)",
        ),
        state("change_pending", "合同变更待确认", "Contract change pending", f"{CONTRACT} i)"),
        state(
            "delivered",
            "成果已交付",
            "Results delivered (acceptance per clause h)",
            f"{TIE}6.4.1「应按服务合同的要求，按时按质交付成果」",
        ),
        state(
            "satisfaction_survey",
            "满意度调查",
            "Satisfaction survey, complaints and suggestions",
            f"{TIE}6.4.2「应在成果交付后开展服务满意度调查，及时处理投诉和建议」",
        ),
        state(
            "evaluated",
            "已评价",
            "Survey recorded (or missed)",
            f"{TIE}6.4.2; {TIE}§6「档案管理」「服务评价」",
        ),
        state("terminated", "提前终止/解除", "Terminated or rescinded", f"{CONTRACT} i)"),
        state("archived", "已归档", "Archived", ARCHIVE, final=True),
    ],
    "transitions": [
        {
            "trigger": "respond",
            "source": ["commissioned"],
            "dest": "communicating",
            "roles": ["reception", "consultant"],
            "requires": ["response_channel"],
            "accepts": ["requirements", "service_items"],
            "label": label("响应委托", "Respond to the commission"),
            "source_clause": f"{TIE}6.1.1",
        },
        {
            **RECORD_MATERIALS,
            "source": ["communicating", "materials_review"],
            "dest": "communicating",
        },
        {
            "trigger": "begin_review",
            "source": ["communicating"],
            "dest": "materials_review",
            "roles": ["consultant"],
            "accepts": ["requirements", "service_items"],
            "guards": [
                {
                    "code": "requirements_not_communicated",
                    "kind": "present",
                    "fields": ["matters", "requirements"],
                },
                {"code": "no_materials", "kind": "present", "fields": ["materials"]},
            ],
            "label": label("审核材料", "Review the materials"),
            "source_clause": f"{TIE}6.1.1「沟通…委托事项、具体要求」, 6.1.2",
        },
        {
            "trigger": "require_site_visit",
            "source": ["materials_review"],
            "dest": "site_visit",
            "roles": ["consultant"],
            "requires": ["site_visit_reason"],
            "label": label("确定实地考察", "Require a site visit"),
            "source_clause": f"{TIE}6.1.2「必要时」",
        },
        {
            "trigger": "record_site_visit",
            "source": ["site_visit"],
            "dest": "feasibility_assessment",
            "roles": ["consultant"],
            "requires": ["site_visit_date", "site_visit_findings"],
            "accepts": ["site_visit_report"],
            "label": label("完成实地考察", "Record the site visit"),
            "source_clause": f"{TIE}6.1.2「应进行实地考察」",
        },
        {
            "trigger": "complete_review",
            "source": ["materials_review"],
            "dest": "feasibility_assessment",
            "roles": ["consultant"],
            "requires": ["review_result"],
            "accepts": ["review_notes"],
            "guards": [
                {
                    "code": "materials_incomplete",
                    "kind": "equals",
                    "field": "review_result",
                    "value": "complete",
                }
            ],
            "label": label("材料审核通过", "Complete the review"),
            "source_clause": f"{TIE}6.1.1「合法、真实、有效」, 6.1.2",
        },
        {**DECLINE, "source": ["materials_review", "site_visit", "feasibility_assessment"]},
        ACCEPT,
        {
            **WITHDRAW,
            "source": [
                "commissioned",
                "communicating",
                "materials_review",
                "site_visit",
                "feasibility_assessment",
                "accepted",
            ],
        },
        {**SIGN_CONTRACT, "source": ["accepted"], "dest": "work_group_forming"},
        {**FORM_WORK_GROUP, "source": ["work_group_forming"], "dest": "researching"},
        {
            "trigger": "complete_research",
            "source": ["researching"],
            "dest": "plan_drafting",
            "roles": ["consultant", "project_manager"],
            "requires": ["research_methods", "research_summary"],
            "guards": [
                {"code": "research_incomplete", "kind": "call", "function": "research_complete"}
            ],
            "label": label("完成调研", "Complete the research"),
            "source_clause": f"{TIE}6.3.2",
        },
        SUBMIT_PLAN,
        {**CONFIRM_PLAN, "dest": "implementing"},
        REQUEST_PLAN_REVISION,
        {**PROVIDE_GUIDANCE, "source": IMPLEMENTING, "dest": "implementing"},
        {**RECORD_DATA, "source": IMPLEMENTING, "dest": "implementing"},
        REPORT_PROGRESS,
        SUBMIT_MILESTONE,
        {**COORDINATE_THIRD_PARTY, "source": IMPLEMENTING, "dest": "implementing"},
        PROPOSE_ADJUSTMENT,
        CHOOSE_ADJUSTMENT,
        KEEP_CURRENT_PLAN,
        CONFIRM_ADJUSTED_PLAN,
        REQUEST_CHANGE,
        AGREE_CHANGE,
        REJECT_CHANGE,
        DELIVER,
        {**ACCEPT_DELIVERY, "dest": "satisfaction_survey"},
        {**RAISE_OBJECTION, "dest": "implementing"},
        {
            "trigger": "record_survey",
            "source": ["satisfaction_survey"],
            "dest": "evaluated",
            "roles": ["quality_manager", "reception"],
            "requires": ["survey_outcome"],
            "accepts": ["survey_case", "satisfaction_index"],
            "guards": [{"code": "survey_window_expired", "kind": "within", "duration": "10wd"}],
            "label": label("记录满意度调查", "Record the satisfaction survey"),
            "source_clause": f"{TIE}6.4.2「应在成果交付后开展服务满意度调查」",
        },
        {
            "trigger": "survey_missed",
            "source": ["satisfaction_survey"],
            "dest": "evaluated",
            "roles": ["system"],
            "label": label("调查逾期", "Survey missed"),
            "description": "fired by the survey SLA on breach",
            "source_clause": OURS,
        },
        *(
            {**RECORD_FEEDBACK, "source": [s], "dest": s}
            for s in ("delivered", "satisfaction_survey", "evaluated")
        ),
        {
            **TERMINATE,
            "source": [
                "work_group_forming",
                "researching",
                "plan_drafting",
                "plan_confirmation",
                "implementing",
                "adjustment_pending",
                "change_pending",
                "delivered",
            ],
        },
        {**ARCHIVE_T, "source": ["evaluated", "terminated"]},
    ],
    "slas": [
        DELIVERY_SLA,
        MILESTONE_SLA,
        {
            "name": "response",
            "duration": "1wd",
            "start_states": ["commissioned"],
            "stop_states": ["communicating", "withdrawn"],
            "label": label("服务响应时限", "Response"),
            "source": "our default (the standard sets no time limit)",
        },
        {
            "name": "feasibility",
            "duration": "5wd",
            "start_states": ["communicating"],
            "stop_states": ["accepted", "declined", "withdrawn"],
            "warn_at": [0.75],
            "label": label("受理决定时限", "Acceptance decision"),
            "source": "our default",
        },
        {
            "name": "contract_signing",
            "duration": "10wd",
            "start_states": ["accepted"],
            "stop_states": ["work_group_forming", "withdrawn"],
            "warn_at": [0.75],
            "label": label("合同签订时限", "Contract signing"),
            "source": "our default",
        },
        {
            "name": "work_group_formation",
            "duration": "5wd",
            "start_states": ["work_group_forming"],
            "stop_states": ["researching", "terminated"],
            "warn_at": [0.75],
            "label": label("组建工作组时限", "Work group formed"),
            "source": "our default",
        },
        {
            "name": "research",
            "duration": "10wd",
            "start_states": ["researching"],
            "stop_states": ["plan_drafting", "terminated"],
            "label": label("调研时限", "Research"),
            "source": "our default",
        },
        {
            "name": "plan_submission",
            "duration": "10wd",
            "start_states": ["plan_drafting"],
            "stop_states": ["plan_confirmation", "terminated"],
            "label": label("方案提交时限", "Plan submission"),
            "source": "our default",
        },
        {
            "name": "client_plan_reply",
            "duration": "5wd",
            "start_states": ["plan_confirmation"],
            "stop_states": ["implementing", "plan_drafting", "terminated"],
            "warn_at": [0.75],
            "label": label("方案确认提醒", "Client's reply to the plan"),
            "source": "our default (a reminder; the client's time)",
        },
        {
            "name": "client_acceptance",
            "duration": "7wd",
            "start_states": ["delivered"],
            "stop_states": ["satisfaction_survey", "implementing", "terminated"],
            "warn_at": [0.75],
            "label": label("验收期限", "Client's acceptance"),
            "source": f"our default, unless the contract's clause h) sets one ({CONTRACT} h))",
        },
        {
            "name": "survey",
            "duration": "10wd",
            "start_states": ["satisfaction_survey"],
            "stop_states": ["evaluated"],
            "warn_at": [0.75],
            "breach_trigger": "survey_missed",
            "label": label("满意度调查时限", "Satisfaction survey"),
            "source": f"{TIE}6.4.2「成果交付后」; value: our default",
        },
        {
            "name": "archiving",
            "duration": "1mo",
            "start_states": ["evaluated", "terminated"],
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
        sla_limit("response", "1wd", "respond to a commission"),
        sla_limit("feasibility", "5wd", "accept or decline after responding"),
        sla_limit("contract_signing", "10wd", "sign the contract after accepting"),
        sla_limit("work_group_formation", "5wd", "form the work group after signing"),
        sla_limit("research", "10wd", "complete the research"),
        sla_limit("plan_submission", "10wd", "submit the written plan"),
        sla_limit("client_plan_reply", "5wd", "remind the client to confirm the plan"),
        sla_limit("client_acceptance", "7wd", "remind the client to accept the results"),
        Limit(
            "survey",
            "duration",
            "10wd",
            slas=["survey"],
            guards=["survey_window_expired"],
            meaning="the satisfaction-survey window after acceptance",
            source=f"{TIE}6.4.2「成果交付后」; value: our default",
        ),
        sla_limit("archiving", "1mo", "archive the case"),
        Limit(
            "max_rework_rounds",
            "count",
            3,
            guards=["rework_limit_reached"],
            meaning="objections the client may raise; then terminate or complain",
            source="our default",
        ),
    )
}

GUARDS: Mapping[str, GuardDoc] = {
    **{k: v for k, v in COMMON_GUARDS.items() if k not in ("site_visit_missing",)},
    "requirements_not_communicated": GuardDoc(
        "the matters commissioned and the specific requirements are recorded",
        f"{TIE}6.1.1「沟通服务对象的委托事项、具体要求」",
    ),
    "materials_incomplete": GuardDoc(
        "only a complete review proceeds (invalid materials: decline)", f"{TIE}6.1.1, 6.1.2"
    ),
    "research_incomplete": GuardDoc(
        "the materials were analysed, and interviews, questionnaires or similar done",
        f"{TIE}6.3.2",
    ),
    "survey_window_expired": GuardDoc(
        "the survey is recorded within its window (limit survey)", f"{TIE}6.4.2; window: {OURS}"
    ),
}


#: Where this template records what the quality indicators read: the survey is the
#: return visit, and the results are accepted on entering it.
PROFILE = QualityProfile(
    accepted=("satisfaction_survey",),
    performed=("satisfaction_survey",),
    after_sales="satisfaction_survey",
    visit_sla="survey",
    visit_trigger="record_survey",
    visit_field="survey_outcome",
    visit_reached=("satisfied", "not_satisfied"),
    surveyed="evaluated",
)


def innovation_service(**limits: str | int) -> ProcessDefinition:
    """The 《科技创新企业服务规范》 §6 process, with the organisation's own time limits.

    Args:
        **limits: any of :data:`LIMITS` by name, e.g. ``survey="15wd"``.
            ``version=N`` sets the definition's version instead (default 1).

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
