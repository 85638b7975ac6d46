"""Data shared by the two engagement templates and technology transfer (private).

Fields and transitions that 《科技服务机构服务规范》 (six stages) and
《科技创新企业服务规范》 §6 have in common, in the dict form. A template takes a fragment
and sets its own ``source`` and ``dest``: ``{**DECLINE, "source": [...]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._build import GuardDoc, field, label
from .standards import CONTRACT_CLAUSE_CODES, DECLINE_REASONS, TERMINATION_KINDS, TIE, TSO, codes

OURS = "our reading"
CONTRACT = f"{TIE}§6「签订合同」(6.2, number inferred)"
ARCHIVE = f"{TIE}§6「档案管理」(6.5, number inferred)"
CHANNELS = ["phone", "email", "visit", "web", "referral", "wechat", "letter", "other"]
#: the client, or staff recording the client's act on its behalf with written evidence
CLIENT_RECORDED = ["client", "reception", "project_manager"]

FIELDS: list[dict[str, Any]] = [
    field("client_id", "str", "服务对象编号", "Client id"),
    field("client_name", "str", "服务对象名称", "Client name"),
    field("client_contact", "str", "联系方式", "Client contact", confidential=True),
    field("channel", "str", "委托渠道", "Channel", choices=CHANNELS),
    field("response_channel", "str", "响应方式", "Responded via", choices=CHANNELS),
    field(
        "materials",
        "list",
        "服务对象提供的材料",
        "Client's materials (DocRefs)",
        level="secret",
        description="technical and business secrets of the client (003 4.1.5; clause e)",
    ),
    field("authenticity_prompted", "bool", "已提示材料合法真实有效", "Authenticity prompted"),
    field(
        "review_result",
        "str",
        "材料审核结果",
        "Review result",
        choices=["complete", "incomplete", "invalid"],
    ),
    field("review_notes", "str", "审核意见", "Review notes"),
    field("site_visit_required", "bool", "需实地考察", "Site visit required"),
    field("site_visit_date", "date", "考察日期", "Site visit date"),
    field("site_visit_findings", "str", "考察发现", "Site visit findings", confidential=True),
    field("site_visit_report", "str", "考察报告", "Site visit report", confidential=True),
    field(
        "decline_reason", "str", "不予承接原因", "Reason declined", choices=codes(DECLINE_REASONS)
    ),
    field("decline_reason_text", "str", "不予承接说明", "Reason given to the client"),
    field("informed_via", "str", "告知方式", "Client informed via", choices=CHANNELS),
    field(
        "feasibility",
        "str",
        "可行性结论",
        "Feasibility",
        choices=["feasible", "feasible_with_conditions"],
    ),
    field("feasibility_report", "str", "可行性评估报告", "Feasibility report", confidential=True),
    field("offered_scope", "str", "可提供服务的内容", "Scope offered"),
    field("service_time_limit", "str", "服务时限", "Time limit told to the client"),
    field("rights_obligations", "str", "各相关方权利和义务", "Rights and obligations"),
    field("withdraw_reason", "str", "撤回原因", "Reason withdrawn"),
    field("plan_document", "str", "书面服务方案", "Written plan (DocRef)", confidential=True),
    field("plan_version", "int", "方案版本", "Plan version in force"),
    field("plan_deliverables", "list", "方案成果", "Deliverables planned"),
    field("confirmed_plan_version", "int", "已确认方案版本", "Plan version confirmed"),
    field("plan_confirmation", "str", "书面确认", "Written confirmation (DocRef)"),
    field("revision_comments", "str", "修改意见", "Client's comments"),
    field("contract_no", "str", "合同编号", "Contract number"),
    field("contract_document", "str", "合同文本", "Contract (DocRef)", confidential=True),
    field("contract_signed_on", "date", "签订日期", "Signed on"),
    field(
        "contract_clauses",
        "list",
        "合同条款",
        "Clauses the contract carries",
        description="codes of the clauses a)-j) (and any others): "
        + ", ".join(CONTRACT_CLAUSE_CODES),
    ),
    field("delivery_due", "date", "约定交付日期", "Delivery due"),
    field("acceptance_method", "str", "验收方法", "Acceptance method (clause h)"),
    field("contract_deliverables", "list", "合同约定成果", "Deliverables (ids)"),
    field("milestones", "list", "阶段性成果", "Milestones (ids)"),
    field("next_milestone_due", "date", "下一阶段成果约定日期", "Next milestone due"),
    field("contract_fee", "decimal", "服务费用", "Fee", level="secret"),
    field("confidentiality_until", "date", "保密期限", "Confidential until (clause j)"),
    field("work_group", "list", "工作组", "Work group members (user, duty, qualification)"),
    field("joint_with_client", "bool", "与服务对象共同组建", "Joint with the client"),
    field(
        "research_methods",
        "list",
        "调研方式",
        "Research methods",
        choices=["material_analysis", "interview", "questionnaire", "site_visit", "other"],
    ),
    field("research_summary", "str", "调研报告", "Research report (DocRef)", confidential=True),
    field("progress_summary", "str", "进展情况", "Progress"),
    field("percent_complete", "int", "完成比例", "Per cent complete"),
    field("milestone_id", "str", "阶段成果编号", "Milestone id"),
    field("milestone_deliverable", "str", "阶段成果", "Milestone deliverable", confidential=True),
    field(
        "adjustment_basis",
        "str",
        "调整依据",
        "Basis of the adjustment",
        choices=["policy_change", "data_analysis", "client_request", "other"],
    ),
    field("adjustment_options", "list", "调整方案", "Options (option_id, ...)", confidential=True),
    field("chosen_option", "str", "选择的方案", "Option chosen"),
    field("keep_reason", "str", "维持原方案理由", "Reason to keep the plan"),
    field("change_request", "dict", "变更内容", "Contract change requested"),
    field("change_reason", "str", "变更原因", "Reason for the change"),
    field("change_effective_on", "date", "变更生效日期", "Change effective on"),
    field("client_consent", "str", "服务对象同意书", "Client's consent (DocRef)"),
    field("change_rejection_reason", "str", "不同意变更理由", "Reason the change is refused"),
    field("deliverables", "list", "交付成果", "Deliverables (ids)", confidential=True),
    field("delivery_note", "str", "交付说明", "Delivery note"),
    field("accepted_by", "str", "验收人", "Accepted by"),
    field("acceptance_method_used", "str", "验收方式", "Acceptance method used"),
    field("acceptance_record", "str", "验收记录", "Acceptance record (DocRef)"),
    field("objections", "list", "验收异议", "Objections (item_id, description)"),
    field("objection_responses", "list", "异议处理", "Responses to the objections"),
    field(
        "termination_kind",
        "str",
        "终止方式",
        "Kind of termination",
        choices=codes(TERMINATION_KINDS),
    ),
    field("termination_basis", "str", "终止依据", "Basis (clause i) or statute)"),
    field(
        "initiated_by",
        "str",
        "提出方",
        "Initiated by",
        choices=["client", "organisation", "both"],
    ),
    field(
        "fault",
        "str",
        "责任方",
        "Fault",
        choices=["client", "organisation", "none", "force_majeure"],
    ),
    field("termination_effective_on", "date", "终止日期", "Effective on"),
    field("termination_settlement", "str", "结算处理", "Settlement"),
    field(
        "survey_outcome",
        "str",
        "满意度调查结果",
        "Survey outcome",
        choices=["satisfied", "not_satisfied", "not_reached"],
    ),
    field("survey_case", "str", "满意度调查案件", "Survey case id"),
    field("satisfaction_index", "decimal", "满意度指数", "Satisfaction index (0-100)"),
    field("archive_ref", "str", "档案号", "Archive reference"),
    field(
        "archive_record",
        "dict",
        "档案内容",
        "Archive record: service_period, content, process, results, evaluation",
    ),
]

RECORD_MATERIALS: dict[str, Any] = {
    "trigger": "record_materials",
    "roles": ["client", "reception", "consultant"],
    "requires": ["materials"],
    "accepts": ["authenticity_prompted"],
    "guards": [
        {
            "code": "authenticity_not_prompted",
            "kind": "equals",
            "field": "authenticity_prompted",
            "value": True,
        }
    ],
    "label": label("提交材料", "Record the client's materials"),
    "source_clause": f"{TIE}6.1.1「提示服务对象出具…合法、真实、有效的技术资料和证明材料」",
}

DECLINE: dict[str, Any] = {
    "trigger": "decline",
    "dest": "declined",
    "roles": ["consultant", "manager"],
    "requires": ["informed_via"],
    "accepts": ["decline_reason", "decline_reason_text"],
    "guards": [
        {
            "code": "decline_reason_missing",
            "kind": "present",
            "fields": ["decline_reason", "decline_reason_text"],
        }
    ],
    "label": label("不予承接（说明理由）", "Decline, with a reason"),
    "source_clause": f"{TIE}6.1.3「判断能否提供服务」; reason: {OURS}",
}

ACCEPT: dict[str, Any] = {
    "trigger": "accept",
    "source": ["feasibility_assessment"],
    "dest": "accepted",
    "roles": ["consultant", "manager"],
    "requires": ["feasibility", "informed_via"],
    "accepts": ["feasibility_report", "offered_scope", "service_time_limit", "rights_obligations"],
    "guards": [
        {
            "code": "client_not_informed",
            "kind": "present",
            "fields": ["offered_scope", "service_time_limit", "rights_obligations"],
        }
    ],
    "label": label("承接并告知", "Accept and inform the client"),
    "source_clause": (
        f"{TIE}6.1.3「应向服务对象说明可提供服务的内容、服务时限、各相关方权利和义务」"
    ),
}

WITHDRAW: dict[str, Any] = {
    "trigger": "withdraw",
    "dest": "withdrawn",
    "roles": ["client", "reception"],
    "requires": ["withdraw_reason"],
    "label": label("撤回委托", "Withdraw (before the contract)"),
    "source_clause": OURS,
}

SUBMIT_PLAN: dict[str, Any] = {
    "trigger": "submit_plan",
    "source": ["plan_drafting"],
    "dest": "plan_confirmation",
    "roles": ["project_manager", "consultant"],
    "requires": ["plan_version"],
    "accepts": ["plan_document", "plan_deliverables"],
    "guards": [
        {"code": "plan_not_in_writing", "kind": "call", "function": "written_plan_given"},
        {
            "code": "plan_version_not_increasing",
            "kind": "call",
            "function": "plan_version_increases",
        },
    ],
    "label": label("书面提交方案", "Submit the written plan"),
    "source_clause": f"{TIE}6.3.3「以书面形式提交至服务对象」",
}

CONFIRM_PLAN: dict[str, Any] = {
    "trigger": "confirm_plan",
    "source": ["plan_confirmation"],
    "roles": CLIENT_RECORDED,
    "requires": ["confirmed_plan_version"],
    "accepts": ["plan_confirmation"],
    "guards": [
        {
            "code": "confirmation_not_in_writing",
            "kind": "call",
            "function": "written_confirmation_given",
        },
        {"code": "plan_version_mismatch", "kind": "call", "function": "confirms_current_plan"},
    ],
    "on_behalf_of": "client",
    "not_by": ["submit_plan"],
    "label": label("服务对象书面确认方案", "Client confirms the plan in writing"),
    "source_clause": f"{TIE}6.3.3「由服务对象进行确认」",
}

REQUEST_PLAN_REVISION: dict[str, Any] = {
    "trigger": "request_plan_revision",
    "source": ["plan_confirmation"],
    "dest": "plan_drafting",
    "roles": ["client", "reception"],
    "requires": ["revision_comments"],
    "label": label("要求修改方案", "Ask for a revised plan"),
    "source_clause": OURS,
}

#: the contract's delivery date as a clock: due at the end of ``delivery_due`` (a moved
#: date moves it), warned before it passes; the on-time delivery indicator reads it
DELIVERY_SLA: dict[str, Any] = {
    "name": "delivery",
    "duration": "6mo",
    "due_field": "delivery_due",
    "start_triggers": ["sign_contract"],
    "stop_states": ["delivered", "terminated"],
    "warn_at": [0.75],
    "ladder": [{"name": "due_soon", "before": "72h", "notify": ["project_manager", "manager"]}],
    "label": label("约定交付日期", "Delivery date"),
    "source": f"{CONTRACT}「履行期限」; the duration applies only while no date is set",
}

#: the next milestone's agreed date as a clock: set when the contract is signed and with
#: each milestone submitted (no date given: no further milestone is due); it warns and
#: breaches like every other clock
MILESTONE_SLA: dict[str, Any] = {
    "name": "milestone",
    "duration": "6mo",
    "due_field": "next_milestone_due",
    "due_required": True,
    "start_triggers": ["sign_contract", "submit_milestone"],
    "stop_triggers": ["submit_milestone"],
    "stop_states": ["delivered", "terminated"],
    "warn_at": [0.75],
    "ladder": [{"name": "due_soon", "before": "72h", "notify": ["project_manager"]}],
    "label": label("阶段性成果约定日期", "Milestone date"),
    "source": f"{TIE}6.3.4 d)「按时按质提交服务阶段性成果」; the date comes from the contract",
}

SIGN_CONTRACT: dict[str, Any] = {
    "trigger": "sign_contract",
    "roles": ["project_manager", "manager"],
    "requires": ["contract_no", "contract_document", "contract_signed_on"],
    "accepts": [
        "contract_clauses",
        "delivery_due",
        "next_milestone_due",
        "acceptance_method",
        "contract_deliverables",
        "milestones",
        "contract_fee",
        "confidentiality_until",
    ],
    "guards": [
        {
            "code": "missing_contract_clause",
            "kind": "contains_all",
            "field": "contract_clauses",
            "values": list(CONTRACT_CLAUSE_CODES),
        },
        {"code": "delivery_due_missing", "kind": "present", "fields": ["delivery_due"]},
        {"code": "acceptance_method_missing", "kind": "present", "fields": ["acceptance_method"]},
    ],
    "label": label("签订合同", "Sign the contract"),
    "source_clause": f"{CONTRACT}「合同内容包括但不限于」a)–j)",
}

FORM_WORK_GROUP: dict[str, Any] = {
    "trigger": "form_work_group",
    "roles": ["project_manager"],
    "requires": ["work_group"],
    "accepts": ["joint_with_client"],
    "guards": [
        {"code": "work_group_unqualified", "kind": "call", "function": "work_group_qualified"}
    ],
    "label": label("组建工作组", "Form the work group"),
    "source_clause": f"{TIE}6.3.1「组建工作组，配备具有相应能力和经验的服务人员」",
}

REPORT_PROGRESS: dict[str, Any] = {
    "trigger": "report_progress",
    "source": ["implementing"],
    "dest": "implementing",
    "roles": ["project_manager", "consultant"],
    "requires": ["progress_summary"],
    "accepts": ["percent_complete"],
    "label": label("沟通实施进展", "Report progress"),
    "source_clause": f"{TIE}6.3.4 c)「及时沟通服务实施进展情况」",
}

SUBMIT_MILESTONE: dict[str, Any] = {
    "trigger": "submit_milestone",
    "source": ["implementing"],
    "dest": "implementing",
    "roles": ["project_manager"],
    "requires": ["milestone_id", "milestone_deliverable"],
    "accepts": ["next_milestone_due"],
    "guards": [
        {"code": "unknown_milestone", "kind": "call", "function": "known_milestone"},
        {"code": "plan_not_confirmed", "kind": "call", "function": "plan_confirmed"},
    ],
    "label": label("提交阶段性成果", "Submit a milestone deliverable"),
    "source_clause": f"{TIE}6.3.4 d)「按时按质提交服务阶段性成果」",
}

PROPOSE_ADJUSTMENT: dict[str, Any] = {
    "trigger": "propose_adjustment",
    "source": ["implementing"],
    "dest": "adjustment_pending",
    "roles": ["project_manager", "consultant"],
    "requires": ["adjustment_basis"],
    "accepts": ["adjustment_options"],
    "guards": [
        {"code": "no_adjustment_options", "kind": "call", "function": "adjustment_options_given"}
    ],
    "label": label("提出调整方案", "Propose plan adjustments"),
    "source_clause": f"{TIE}6.3.4 f)「形成调整方案，供服务对象选择」",
}

CHOOSE_ADJUSTMENT: dict[str, Any] = {
    "trigger": "choose_adjustment",
    "source": ["adjustment_pending"],
    "dest": "implementing",
    "roles": CLIENT_RECORDED,
    "requires": ["chosen_option", "plan_version"],
    "accepts": ["plan_document"],
    "guards": [
        {"code": "plan_not_in_writing", "kind": "call", "function": "written_plan_given"},
        {"code": "unknown_option", "kind": "call", "function": "known_option"},
        {
            "code": "plan_version_not_increasing",
            "kind": "call",
            "function": "plan_version_increases",
        },
    ],
    "on_behalf_of": "client",
    "not_by": ["propose_adjustment"],
    "label": label("服务对象选择调整方案", "Client chooses an adjustment"),
    "description": "the adjusted plan becomes a new version, which needs a new confirmation",
    "source_clause": f"{TIE}6.3.4 f)「供服务对象选择」",
}

KEEP_CURRENT_PLAN: dict[str, Any] = {
    "trigger": "keep_current_plan",
    "source": ["adjustment_pending"],
    "dest": "implementing",
    "roles": CLIENT_RECORDED,
    "accepts": ["keep_reason"],
    "on_behalf_of": "client",
    "not_by": ["propose_adjustment"],
    "label": label("维持原方案", "Client keeps the current plan"),
    "source_clause": f"{TIE}6.3.4 f)",
}

CONFIRM_ADJUSTED_PLAN: dict[str, Any] = {
    **CONFIRM_PLAN,
    "source": ["implementing"],
    "dest": "implementing",
    "label": label("服务对象书面确认调整后方案", "Client confirms the adjusted plan in writing"),
    "source_clause": f"{TIE}6.3.3, 6.3.4「应根据确认的服务方案」",
}

REQUEST_CHANGE: dict[str, Any] = {
    "trigger": "request_change",
    "source": ["implementing"],
    "dest": "change_pending",
    "roles": ["client", "project_manager"],
    "requires": ["change_request", "change_reason"],
    "label": label("提出合同变更", "Request a contract change"),
    "source_clause": f"{CONTRACT} i)「合同提前终止、变更和解除的条件」",
}

AGREE_CHANGE: dict[str, Any] = {
    "trigger": "agree_change",
    "source": ["change_pending"],
    "dest": "implementing",
    "roles": ["manager", "project_manager"],
    "requires": ["change_effective_on"],
    "accepts": ["client_consent", "delivery_due", "contract_fee", "contract_deliverables"],
    "guards": [
        {"code": "bilateral_consent_missing", "kind": "present", "fields": ["client_consent"]}
    ],
    "label": label("双方同意变更", "Agree the change"),
    "source_clause": f"{CONTRACT} i); PRC Civil Code art. 543 — not in the seed texts",
}

REJECT_CHANGE: dict[str, Any] = {
    "trigger": "reject_change",
    "source": ["change_pending"],
    "dest": "implementing",
    "roles": ["manager", "client"],
    "requires": ["change_rejection_reason"],
    "label": label("不同意变更", "Refuse the change"),
    "source_clause": f"{CONTRACT} i)",
}

DELIVER: dict[str, Any] = {
    "trigger": "deliver",
    "source": ["implementing"],
    "dest": "delivered",
    "roles": ["project_manager"],
    "requires": ["deliverables"],
    "accepts": ["delivery_note"],
    "guards": [
        {"code": "work_group_not_formed", "kind": "present", "fields": ["work_group"]},
        {"code": "plan_not_confirmed", "kind": "call", "function": "plan_confirmed"},
        {
            "code": "contract_deliverables_missing",
            "kind": "call",
            "function": "contract_deliverables_delivered",
        },
    ],
    "label": label("交付成果", "Deliver"),
    "source_clause": f"{TIE}6.4.1「应按服务合同的要求，按时按质交付成果」",
}

ACCEPT_DELIVERY: dict[str, Any] = {
    "trigger": "accept_delivery",
    "source": ["delivered"],
    "roles": CLIENT_RECORDED,
    "accepts": ["accepted_by", "acceptance_method_used", "acceptance_record"],
    "guards": [
        {
            "code": "acceptance_not_recorded",
            "kind": "present",
            "fields": ["accepted_by", "acceptance_method_used", "acceptance_record"],
        },
        {
            "code": "acceptance_method_mismatch",
            "kind": "call",
            "function": "acceptance_method_agreed",
        },
    ],
    "on_behalf_of": "client",
    "not_by": ["deliver"],
    "label": label("验收通过", "Accept the delivery"),
    "source_clause": f"{CONTRACT} h)「服务质量要求和验收方法」",
}

RAISE_OBJECTION: dict[str, Any] = {
    "trigger": "raise_objection",
    "source": ["delivered"],
    "roles": CLIENT_RECORDED,
    "requires": ["objections"],
    "guards": [
        {
            "code": "rework_limit_reached",
            "kind": "max_count",
            "trigger": "raise_objection",
            "limit": 3,
        }
    ],
    "on_behalf_of": "client",
    "not_by": ["deliver"],
    "label": label("提出验收异议", "Object to the delivery"),
    "source_clause": f"{TSO} 三(二)2「验收的异议处理」; bound: {OURS}",
}

TERMINATE: dict[str, Any] = {
    "trigger": "terminate",
    "dest": "terminated",
    "roles": ["manager"],
    "requires": ["termination_kind", "initiated_by", "fault", "termination_effective_on"],
    "accepts": ["termination_basis", "client_consent", "termination_settlement"],
    "guards": [
        {"code": "termination_basis_missing", "kind": "present", "fields": ["termination_basis"]},
        {"code": "bilateral_consent_missing", "kind": "call", "function": "rescission_consented"},
    ],
    "label": label("提前终止/解除合同", "Terminate or rescind"),
    "source_clause": f"{CONTRACT} i)「合同提前终止、变更和解除的条件」",
}

ARCHIVE_T: dict[str, Any] = {
    "trigger": "archive",
    "dest": "archived",
    "roles": ["quality_manager", "project_manager"],
    "requires": ["archive_ref"],
    "accepts": ["archive_record"],
    "guards": [
        {"code": "archive_record_incomplete", "kind": "call", "function": "archive_record_complete"}
    ],
    "label": label("归档", "Archive"),
    "source_clause": f"{ARCHIVE}「接受服务的时间、内容、服务过程、服务成效、服务评价」",
}

#: what implementation and after-delivery steps record (6.3.4 a, b, e; 6.4.2)
SUPPORT_FIELDS = [
    field("guidance_topic", "str", "指导内容", "Guidance given"),
    field("dataset", "str", "数据资料", "Data and materials (DocRef)", level="secret"),
    field("data_analysis", "str", "数据分析", "Analysis"),
    field("third_party", "str", "其他专业服务机构", "Other professional agency"),
    field("third_party_scope", "str", "协调事项", "What the agency does"),
    field("feedback_kind", "str", "反馈类别", "Feedback kind", choices=["complaint", "suggestion"]),
    field("feedback_text", "str", "投诉和建议", "Complaint or suggestion"),
    field("complaint_case", "str", "投诉案件", "Complaint case id"),
]

PROVIDE_GUIDANCE: dict[str, Any] = {
    "trigger": "provide_guidance",
    "roles": ["consultant"],
    "requires": ["guidance_topic"],
    "label": label("提供指导", "Give guidance"),
    "source_clause": f"{TIE}6.3.4 a)「随时为服务对象提供指导」",
}

RECORD_DATA: dict[str, Any] = {
    "trigger": "record_data",
    "roles": ["consultant"],
    "requires": ["dataset"],
    "accepts": ["data_analysis"],
    "label": label("整理分析数据资料", "Record data and analysis"),
    "source_clause": f"{TIE}6.3.4 b)「及时整理和分析服务实施过程中形成的数据和资料」",
}

COORDINATE_THIRD_PARTY: dict[str, Any] = {
    "trigger": "coordinate_third_party",
    "roles": ["project_manager"],
    "requires": ["third_party", "third_party_scope"],
    "label": label("协调其他专业服务机构", "Coordinate another agency"),
    "source_clause": f"{TIE}6.3.4 e)「组织或协调其他专业服务机构」",
}

RECORD_FEEDBACK: dict[str, Any] = {
    "trigger": "record_feedback",
    "roles": ["reception", "handler", "quality_manager"],
    "requires": ["feedback_kind", "feedback_text"],
    "accepts": ["complaint_case"],
    "guards": [{"code": "complaint_case_missing", "kind": "call", "function": "complaint_linked"}],
    "label": label("记录投诉和建议", "Record a complaint or suggestion"),
    "source_clause": f"{TIE}6.4.2「及时处理投诉和建议」; §7 (GB/T 19012)",
}

GUARDS: Mapping[str, GuardDoc] = {
    "authenticity_not_prompted": GuardDoc(
        "the client was prompted for lawful, true and valid materials", f"{TIE}6.1.1"
    ),
    "no_materials": GuardDoc("there are materials to review", f"{TIE}6.1.2"),
    "site_visit_missing": GuardDoc(
        "a site visit deemed necessary is recorded (「必要时应进行实地考察」)", f"{TIE}6.1.2"
    ),
    "decline_reason_missing": GuardDoc(
        "a decline carries a reason code and the text told to the client",
        f"{TIE}6.1.3; reason: {OURS}",
    ),
    "client_not_informed": GuardDoc(
        "the scope, time limit and rights and obligations told to the client are recorded",
        f"{TIE}6.1.3",
    ),
    "plan_not_in_writing": GuardDoc(
        "the plan (or adjusted plan) is given as a written document", f"{TIE}6.3.3"
    ),
    "plan_version_not_increasing": GuardDoc(
        "a new or adjusted plan carries a higher version", OURS
    ),
    "confirmation_not_in_writing": GuardDoc(
        "the client's confirmation is given as a written document", f"{TIE}6.3.3"
    ),
    "plan_version_mismatch": GuardDoc(
        "the client confirms exactly the plan version in force", f"{TIE}6.3.3"
    ),
    "plan_not_confirmed": GuardDoc(
        "the plan in force (after any adjustment) has the client's written confirmation",
        f"{TIE}6.3.3, 6.3.4「应根据确认的服务方案」",
    ),
    "missing_contract_clause": GuardDoc(
        "the contract carries all ten clauses a)–j) (details: the missing codes)", CONTRACT
    ),
    "delivery_due_missing": GuardDoc(
        "the contract sets a delivery date", f"{CONTRACT} b); {TIE}6.4.1「按时」"
    ),
    "acceptance_method_missing": GuardDoc(
        "the contract sets the acceptance method", f"{CONTRACT} h)"
    ),
    "work_group_unqualified": GuardDoc(
        "at least one member; each has a duty and a qualification", f"{TIE}6.3.1"
    ),
    "unknown_milestone": GuardDoc("the milestone is one the contract names", f"{TIE}6.3.4 d)"),
    "no_adjustment_options": GuardDoc(
        "an adjustment offers options for the client to choose from", f"{TIE}6.3.4 f)"
    ),
    "unknown_option": GuardDoc("the client chooses an option that was offered", f"{TIE}6.3.4 f)"),
    "bilateral_consent_missing": GuardDoc(
        "a change or a rescission by agreement carries the client's consent",
        f"{CONTRACT} i); PRC Civil Code arts. 543, 562 — not in the seed texts",
    ),
    "work_group_not_formed": GuardDoc("a work group was formed", f"{TIE}6.3.1"),
    "contract_deliverables_missing": GuardDoc(
        "the delivery lists every deliverable of the contract (details: missing ids)",
        f"{TIE}6.4.1「应按服务合同的要求」",
    ),
    "acceptance_not_recorded": GuardDoc(
        "acceptance records who accepted, the method used and the record", f"{CONTRACT} h)"
    ),
    "acceptance_method_mismatch": GuardDoc(
        "the acceptance used the contract's acceptance method", f"{CONTRACT} h)"
    ),
    "rework_limit_reached": GuardDoc(
        "objections (rework rounds) are bounded (limit max_rework_rounds)",
        f"{TSO} 三(二)2「验收的异议处理」; bound: {OURS}",
    ),
    "termination_basis_missing": GuardDoc(
        "a termination cites the contract's clause i) condition or a statutory ground",
        f"{CONTRACT} i)",
    ),
    "archive_record_incomplete": GuardDoc(
        "the archive keeps time, content, process, results and evaluation", ARCHIVE
    ),
    "complaint_case_missing": GuardDoc(
        "a complaint is linked to a complaint case", f"{TIE}6.4.2, §7"
    ),
}
