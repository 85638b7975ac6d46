"""Complaint handling — 投诉处理 (GB/T 19012-2019 = ISO 10002:2018, clause 7).

The time limits come from the explanatory notes of 《科技服务机构服务规范》 三(二)3:
「明确 24 小时内受理响应、7 个工作日内处理反馈的时限要求」; 《科技创新企业服务规范》§7
requires complaint handling to follow GB/T 19012 and a complaint ledger. The clause-7
step sequence is GB/T 19012 / ISO 10002 as we read it (that text is not in the seed
texts); escalation levels, reopening and the remedy list are our reading.

>>> p = complaint()
>>> p.sla_map["acknowledge"].duration, p.sla_map["feedback"].duration
(ClockTime(delta=datetime.timedelta(days=1)), WorkingDays(days=7))
>>> str(complaint(feedback="5wd").sla_map["feedback"].duration)
'5wd'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition import ProcessDefinition
from ..errors import DefinitionError
from ._build import GuardDoc, Limit, assign, build, field, label, state
from .checks import FUNCTIONS
from .standards import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_CHANNELS,
    PRIORITIES,
    REMEDIES,
    SEVERITIES,
    TIE,
    TSO,
    codes,
)

__all__ = ["FEEDBACK_CLOCKS", "GUARDS", "LIMITS", "PROCESS", "complaint"]

ISO = "GB/T 19012-2019 (ISO 10002:2018)"
EXT = " — not in the seed texts"
OURS = "our reading"

CHANNELS = codes(COMPLAINT_CHANNELS)
REMEDY_CODES = codes(REMEDIES)
COMPLAINANT = ["client", "handler"]  # the complainant, or a handler recording their words
OPEN = [
    "received",
    "acknowledged",
    "assessed",
    "investigating",
    "waiting_on_complainant",
    "response_decided",
    "decision_communicated",
    "decision_rejected",
    "remedy_in_progress",
    "escalated",
    "external_resolution",
]

PROCESS: Mapping[str, Any] = {
    "name": "complaint",
    "version": 1,
    "title": label("投诉处理", "Complaint handling"),
    "description": (
        "GB/T 19012-2019 (ISO 10002:2018) clause 7, with the 24-hour acknowledgement and "
        "7-working-day feedback limits of 《科技服务机构服务规范》. Start a case with "
        "case_id = the complaint number; the start instant is the receipt."
    ),
    "requires": ["channel", "description"],
    "fields": [
        field("complaint_ref", "str", "投诉编号", "Complaint number (unique)"),
        field("channel", "str", "投诉渠道", "Channel", choices=CHANNELS),
        field(
            "complainant_name",
            "str",
            "投诉人",
            "Complainant",
            confidential=True,
            description="personal information: masked in the ledger and in events",
        ),
        field("complainant_contact", "str", "投诉人联系方式", "Contact", confidential=True),
        field("client_id", "str", "服务对象编号", "Client id"),
        field("anonymous", "bool", "匿名", "Anonymous"),
        field("description", "str", "投诉内容", "What happened", confidential=True),
        field("remedy_sought", "str", "投诉诉求", "Remedy sought"),
        field("related_case", "str", "关联案件", "Related case id"),
        field("related_process", "str", "关联流程", "Process of the related case"),
        field("attachments", "list", "附件", "Attachments (DocRefs)", confidential=True),
        field("acknowledgement_via", "str", "受理告知方式", "Acknowledged via", choices=CHANNELS),
        field("acknowledgement_message", "str", "受理告知内容", "Acknowledgement text"),
        field(
            "not_accepted_reason",
            "str",
            "不予受理原因",
            "Reason not accepted",
            choices=["not_a_complaint", "duplicate", "outside_scope", "no_contact_possible"],
        ),
        field("duplicate_of", "str", "重复投诉原编号", "Original complaint"),
        field("explanation", "str", "说明", "Explanation sent"),
        field("severity", "str", "严重程度", "Severity", choices=codes(SEVERITIES)),
        field("priority", "str", "优先级", "Priority", choices=codes(PRIORITIES)),
        field("category", "str", "投诉类别", "Category", choices=codes(COMPLAINT_CATEGORIES)),
        field("complexity", "str", "复杂程度", "Complexity", choices=["simple", "complex"]),
        field("immediate_action_needed", "bool", "需立即处置", "Immediate action needed"),
        field("immediate_action", "str", "立即处置措施", "Immediate action taken"),
        field("investigator", "str", "调查人", "Investigator"),
        field("subject_staff", "str", "被投诉人员", "Staff complained about", confidential=True),
        field("info_question", "str", "补充材料要求", "Information requested"),
        field("info_received", "str", "补充材料", "Information received", confidential=True),
        field("findings", "str", "调查结论", "Findings", confidential=True),
        field(
            "upheld",
            "str",
            "投诉是否成立",
            "Upheld",
            choices=["upheld", "partly_upheld", "not_upheld"],
        ),
        field("remedies", "list", "处理措施", "Remedies decided", choices=REMEDY_CODES),
        field("remedy_details", "str", "措施说明", "Remedy details"),
        field("root_cause", "str", "原因分析", "Root cause"),
        field("corrective_action", "str", "纠正措施", "Corrective action"),
        field("decision_text", "str", "处理意见", "Decision as communicated"),
        field("communication_via", "str", "反馈方式", "Communicated via", choices=CHANNELS),
        field(
            "reply", "str", "投诉人意见", "Complainant's reply", choices=["accepted", "rejected"]
        ),
        field("reply_reasons", "str", "不接受理由", "Reasons given"),
        field("recourse_informed", "bool", "已告知救济途径", "Told of internal/external recourse"),
        field("reviewer", "str", "复核人", "Reviewer"),
        field("escalation_instructions", "str", "复核意见", "Reviewer's instructions"),
        field(
            "external_mechanism",
            "str",
            "外部解决方式",
            "External mechanism",
            choices=[
                "mediation",
                "arbitration",
                "litigation",
                "consumer_association",
                "industry_association",
                "regulator",
            ],
        ),
        field("external_body", "str", "外部机构", "External body"),
        field(
            "external_outcome",
            "str",
            "外部处理结果",
            "External outcome",
            choices=["for_complainant", "for_organisation", "settled"],
        ),
        field("external_decision", "str", "外部决定文书", "External decision (DocRef)"),
        field("remedies_done", "list", "已落实措施", "Remedies carried out", choices=REMEDY_CODES),
        field("remedy_evidence", "list", "落实证据", "Evidence (DocRefs)"),
        field("closing_statement", "str", "结案说明", "Closing statement"),
        field("withdrawal_statement", "str", "撤诉说明", "Withdrawal statement"),
        field("reopen_reason", "str", "重开原因", "Reason to reopen"),
        field("new_information", "str", "新情况", "New information", confidential=True),
    ],
    "states": [
        state(
            "received",
            "已接收",
            "Received and registered",
            f"{ISO} 7.2, 7.3{EXT}; {TIE}§7「提供投诉电话、电子邮件等投诉渠道」",
            initial=True,
        ),
        state(
            "acknowledged",
            "已受理",
            "Acknowledged to the complainant",
            f"{TSO} 三(二)3「24 小时内受理响应」; {ISO} 7.4{EXT}",
        ),
        state("assessed", "已初评", "Initially assessed (severity, priority)", f"{ISO} 7.5{EXT}"),
        state("investigating", "调查中", "Investigating", f"{ISO} 7.6{EXT}"),
        state(
            "waiting_on_complainant",
            "待投诉人补充",
            "Waiting on the complainant (feedback clock paused only with pause_feedback)",
            OURS,
        ),
        state("response_decided", "已形成处理意见", "Response decided", f"{ISO} 7.7{EXT}"),
        state(
            "decision_communicated",
            "已反馈",
            "Decision communicated",
            f"{TSO} 三(二)3「7 个工作日内处理反馈」; {ISO} 7.8{EXT}",
        ),
        state(
            "decision_rejected",
            "投诉人不接受",
            "Decision rejected by the complainant",
            f"{ISO} 7.9 (not accepted: internal and external recourse){EXT}",
        ),
        state(
            "remedy_in_progress",
            "措施落实中",
            "Remedy being carried out",
            f"{ISO} 7.9 (accepted: carried out and recorded){EXT}",
        ),
        state(
            "escalated",
            "已升级复核",
            "Escalated for internal review",
            f"{ISO} 7.9 (internal recourse){EXT}; levels: {OURS}",
        ),
        state(
            "external_resolution",
            "外部争议解决",
            "External dispute resolution",
            f"GB/T 19013 (ISO 10003){EXT}",
        ),
        state(
            "closed",
            "已关闭",
            "Closed (may be reopened within the reopening period)",
            f"{ISO} 7.9{EXT}; reopening: {OURS}",
        ),
        state("withdrawn", "已撤诉", "Withdrawn by the complainant", OURS, final=True),
    ],
    "transitions": [
        {
            "trigger": "acknowledge",
            "source": ["received"],
            "dest": "acknowledged",
            "roles": ["handler", "reception"],
            "requires": ["acknowledgement_via"],
            "accepts": ["acknowledgement_message"],
            "label": label("受理并告知", "Acknowledge"),
            "source_clause": f"{TSO} 三(二)3「24 小时内受理响应」; {ISO} 7.4{EXT}",
        },
        {
            "trigger": "close_not_accepted",
            "source": ["received", "acknowledged"],
            "dest": "closed",
            "roles": ["handler"],
            "requires": ["not_accepted_reason"],
            "accepts": ["duplicate_of", "explanation"],
            "guards": [
                {
                    "code": "duplicate_of_missing",
                    "kind": "call",
                    "function": "duplicate_has_original",
                },
                {"code": "explanation_missing", "kind": "call", "function": "explanation_given"},
            ],
            "label": label("不予受理", "Close as not accepted"),
            "source_clause": OURS,
        },
        {
            "trigger": "assess",
            "source": ["acknowledged"],
            "dest": "assessed",
            "roles": ["handler", "quality_manager"],
            "requires": ["severity", "priority", "category"],
            "accepts": ["complexity", "immediate_action_needed", "immediate_action"],
            "guards": [
                {
                    "code": "immediate_action_missing",
                    "kind": "call",
                    "function": "immediate_action_recorded",
                }
            ],
            "label": label("初步评估", "Assess"),
            "source_clause": f"{ISO} 7.5{EXT}",
        },
        {
            "trigger": "start_investigation",
            "source": ["assessed"],
            "dest": "investigating",
            "roles": ["handler", "quality_manager"],
            "requires": ["investigator"],
            "accepts": ["subject_staff"],
            "guards": [
                {
                    "code": "investigator_conflict",
                    "kind": "call",
                    "function": "investigator_independent",
                }
            ],
            "label": label("开始调查", "Start investigation"),
            "source_clause": f"{ISO} 7.6{EXT}",
        },
        {
            "trigger": "request_info",
            "source": ["investigating"],
            "dest": "waiting_on_complainant",
            "roles": ["handler"],
            "requires": ["info_question"],
            "label": label("要求补充材料", "Ask the complainant"),
            "source_clause": OURS,
        },
        {
            "trigger": "receive_info",
            "source": ["waiting_on_complainant"],
            "dest": "investigating",
            "roles": COMPLAINANT,
            "requires": ["info_received"],
            "label": label("收到补充材料", "Information received"),
            "source_clause": OURS,
        },
        {
            "trigger": "close_no_response",
            "source": ["waiting_on_complainant"],
            "dest": "closed",
            "roles": ["system"],
            "label": label("逾期未补充，关闭", "Close: no response"),
            "description": "fired by the complainant_silence SLA on breach",
            "source_clause": OURS,
        },
        {
            "trigger": "decide_response",
            "source": ["investigating"],
            "dest": "response_decided",
            "roles": ["handler", "quality_manager", "manager"],
            "requires": ["findings", "upheld", "remedies"],
            "accepts": ["remedy_details", "root_cause", "corrective_action"],
            "guards": [
                {"code": "remedy_inconsistent", "kind": "call", "function": "remedy_consistent"}
            ],
            "label": label("形成处理意见", "Decide the response"),
            "source_clause": f"{ISO} 7.7{EXT}; remedy list: {OURS}",
        },
        {
            "trigger": "communicate_decision",
            "source": ["response_decided"],
            "dest": "decision_communicated",
            "roles": ["handler"],
            "requires": ["decision_text", "communication_via"],
            "label": label("反馈处理意见", "Communicate the decision"),
            "source_clause": f"{TSO} 三(二)3「7 个工作日内处理反馈」; {ISO} 7.8{EXT}",
        },
        {
            "trigger": "record_reply",
            "source": ["decision_communicated"],
            "dest": "decision_rejected",
            "roles": COMPLAINANT,
            "on_behalf_of": "client",
            "requires": ["reply"],
            "accepts": ["reply_reasons", "recourse_informed"],
            "guards": [
                {
                    "code": "reply_not_rejected",
                    "kind": "equals",
                    "field": "reply",
                    "value": "rejected",
                },
                {
                    "code": "recourse_not_informed",
                    "kind": "equals",
                    "field": "recourse_informed",
                    "value": True,
                },
            ],
            "label": label("投诉人不接受", "Complainant rejects"),
            "source_clause": f"{ISO} 7.9 (informed of internal and external recourse){EXT}",
        },
        {
            "trigger": "record_reply",
            "source": ["decision_communicated"],
            "dest": "remedy_in_progress",
            "roles": COMPLAINANT,
            "on_behalf_of": "client",
            "requires": ["reply"],
            "accepts": ["reply_reasons", "recourse_informed"],
            "guards": [
                {
                    "code": "reply_not_accepted",
                    "kind": "equals",
                    "field": "reply",
                    "value": "accepted",
                }
            ],
            "label": label("投诉人接受", "Complainant accepts"),
            "source_clause": f"{ISO} 7.9{EXT}",
        },
        {
            "trigger": "escalate",
            "source": ["decision_rejected"],
            "dest": "escalated",
            "roles": ["client", "handler", "quality_manager"],
            "guards": [
                {
                    "code": "max_escalation_reached",
                    "kind": "max_count",
                    "trigger": "escalate",
                    "limit": 2,
                }
            ],
            "label": label("升级复核", "Escalate"),
            "source_clause": f"{ISO} 7.9 (internal recourse){EXT}; levels: {OURS}",
        },
        {
            "trigger": "review_escalation",
            "source": ["escalated"],
            "dest": "investigating",
            "roles": ["quality_manager"],
            "not_by": ["decide_response"],
            "requires": ["reviewer", "escalation_instructions"],
            "guards": [
                {
                    "code": "review_level_too_low",
                    "kind": "max_count",
                    "trigger": "escalate",
                    "limit": 2,
                }
            ],
            "label": label("L2 复核并重新调查", "Level 2 review: investigate again"),
            "description": "a quality manager reviews the first escalation (level 2)",
            "source_clause": f"{ISO} 7.9 (internal recourse){EXT}; levels: {OURS}",
        },
        {
            "trigger": "review_escalation",
            "source": ["escalated"],
            "dest": "investigating",
            "roles": ["manager"],
            "not_by": ["decide_response"],
            "requires": ["reviewer", "escalation_instructions"],
            "label": label("L3 复核并重新调查", "Level 3+ review: investigate again"),
            "description": "the head of the organisation reviews any escalation",
            "source_clause": f"{ISO} 7.9 (internal recourse){EXT}; levels: {OURS}",
        },
        {
            "trigger": "refer_external",
            "source": ["decision_rejected"],
            "dest": "external_resolution",
            "roles": ["client", "handler", "manager"],
            "requires": ["external_mechanism", "external_body"],
            "label": label("提交外部争议解决", "Refer to external resolution"),
            "source_clause": f"GB/T 19013 (ISO 10003){EXT}",
        },
        {
            "trigger": "record_external_outcome",
            "source": ["external_resolution"],
            "dest": "remedy_in_progress",
            "roles": ["handler", "manager"],
            "requires": ["external_outcome", "external_decision"],
            "accepts": ["remedies"],
            "guards": [{"code": "nothing_to_carry_out", "kind": "call", "function": "remedy_owed"}],
            "label": label("外部结果：落实措施", "External outcome: carry out"),
            "source_clause": f"GB/T 19013 (ISO 10003){EXT}",
        },
        {
            "trigger": "record_external_outcome",
            "source": ["external_resolution"],
            "dest": "closed",
            "roles": ["handler", "manager"],
            "requires": ["external_outcome", "external_decision"],
            "accepts": ["remedies"],
            "guards": [{"code": "remedies_owed", "kind": "call", "function": "no_remedy_owed"}],
            "label": label("外部结果：结案", "External outcome: close"),
            "source_clause": f"GB/T 19013 (ISO 10003){EXT}",
        },
        {
            "trigger": "close_unresolved",
            "source": ["decision_rejected"],
            "dest": "closed",
            "roles": ["manager"],
            "requires": ["closing_statement"],
            "guards": [
                {
                    "code": "recourse_not_informed",
                    "kind": "equals",
                    "field": "recourse_informed",
                    "value": True,
                }
            ],
            "label": label("未解决结案", "Close unresolved"),
            "source_clause": f"{ISO} 7.9 (options exhausted){EXT}",
        },
        {
            "trigger": "close",
            "source": ["response_decided", "decision_communicated", "remedy_in_progress"],
            "dest": "closed",
            "roles": ["handler"],
            "accepts": ["remedies_done", "remedy_evidence", "closing_statement"],
            "guards": [
                {
                    "code": "decision_not_communicated",
                    "kind": "call",
                    "function": "decision_communicated",
                },
                {"code": "complainant_reply_missing", "kind": "call", "function": "reply_recorded"},
                {"code": "remedy_not_recorded", "kind": "call", "function": "remedies_done"},
            ],
            "label": label("措施落实，结案", "Close: remedy carried out"),
            "source_clause": f"{ISO} 7.9 (carried out and recorded){EXT}",
        },
        {
            "trigger": "withdraw",
            "source": OPEN,
            "dest": "withdrawn",
            "roles": COMPLAINANT,
            "requires": ["withdrawal_statement"],
            "label": label("撤诉", "Withdraw"),
            "source_clause": OURS,
        },
        {
            "trigger": "reopen",
            "source": ["closed"],
            "dest": "investigating",
            "roles": ["handler", "quality_manager", "manager"],
            "requires": ["reopen_reason"],
            "accepts": ["new_information"],
            "guards": [
                {"code": "reopen_period_expired", "kind": "within", "duration": "30d"},
                {
                    "code": "reopen_limit_reached",
                    "kind": "max_count",
                    "trigger": "reopen",
                    "limit": 2,
                },
                {"code": "not_reopenable", "kind": "call", "function": "reopenable"},
            ],
            "label": label("重新处理", "Reopen"),
            "source_clause": OURS,
        },
        *(
            {
                "trigger": "escalate_overdue",
                "source": [s],
                "dest": s,
                "roles": ["system"],
                "label": label("超时升级", "Escalate: time limit breached"),
                "description": "fired by the acknowledge / feedback SLAs on breach",
                "source_clause": f"{TSO} 三(二)3; escalation: {OURS}",
            }
            for s in (
                "received",
                "acknowledged",
                "assessed",
                "investigating",
                "response_decided",
                "escalated",
            )
        ),
    ],
    "slas": [
        {
            "name": "acknowledge",
            "duration": "24h",
            "start_states": ["received"],
            "stop_states": ["acknowledged", "closed", "withdrawn"],
            "warn_at": [0.5, 0.75],
            "breach_trigger": "escalate_overdue",
            "label": label("受理响应时限", "Acknowledgement"),
            "source": f"{TSO} 三(二)3「24 小时内受理响应」",
        },
        {
            "name": "feedback",
            "duration": "7wd",
            "start_states": ["received"],
            "stop_states": ["decision_communicated", "closed", "withdrawn"],
            "warn_at": [0.5, 0.75],
            "breach_trigger": "escalate_overdue",
            "goals": [
                {"name": "critical", "duration": "3wd", "when": {"severity": "critical"}},
                {"name": "high", "duration": "5wd", "when": {"severity": "high"}},
            ],
            "label": label("处理反馈时限", "Feedback"),
            "source": (
                f"{TSO} 三(二)3「7 个工作日内处理反馈」 (no pause; pause_feedback: {OURS}); "
                "shorter goals by severity (set on assessment): our default"
            ),
        },
        {
            "name": "review_feedback",
            "duration": "7wd",
            "start_states": ["escalated"],
            "stop_states": ["decision_communicated", "external_resolution", "closed", "withdrawn"],
            "warn_at": [0.75],
            "breach_trigger": "escalate_overdue",
            "label": label("复核反馈时限", "Feedback after escalation"),
            "source": "our default (mirrors the 7 working days)",
        },
        {
            "name": "reopen_feedback",
            "duration": "7wd",
            "start_triggers": ["reopen"],
            "stop_states": ["decision_communicated", "closed", "withdrawn"],
            "warn_at": [0.5, 0.75],
            "breach_trigger": "escalate_overdue",
            "label": label("重开反馈时限", "Feedback after reopening"),
            "source": "our default (mirrors the 7 working days)",
        },
        {
            "name": "complainant_reply",
            "duration": "10wd",
            "start_states": ["decision_communicated"],
            "stop_states": ["remedy_in_progress", "decision_rejected", "closed", "withdrawn"],
            "warn_at": [0.75],
            "label": label("投诉人答复期限", "Complainant's reply"),
            "source": "our default (a reminder; the complainant's time)",
        },
        {
            "name": "remedy",
            "duration": "10wd",
            "start_states": ["remedy_in_progress"],
            "stop_states": ["closed", "withdrawn"],
            "warn_at": [0.5, 0.75],
            "label": label("措施落实时限", "Remedy carried out"),
            "source": "our default",
        },
        {
            "name": "complainant_silence",
            "duration": "15wd",
            "start_states": ["waiting_on_complainant"],
            "stop_states": ["investigating", "closed", "withdrawn"],
            "warn_at": [0.5],
            "breach_trigger": "close_no_response",
            "label": label("补充材料期限", "Complainant's information"),
            "source": "our default",
        },
    ],
}

LIMITS: Mapping[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit(
            "acknowledge",
            "duration",
            "24h",
            slas=["acknowledge"],
            meaning="acknowledge the complaint (clock time from receipt)",
            source=f"{TSO} 三(二)3「24 小时内受理响应」",
        ),
        Limit(
            "feedback",
            "duration",
            "7wd",
            slas=["feedback"],
            meaning="communicate the decision (working days from receipt; no pause unless "
            "pause_feedback=True)",
            source=f"{TSO} 三(二)3「7 个工作日内处理反馈」",
        ),
        Limit(
            "review_feedback",
            "duration",
            "7wd",
            slas=["review_feedback"],
            meaning="communicate a new decision after an escalation",
            source="our default",
        ),
        Limit(
            "reopen_feedback",
            "duration",
            "7wd",
            slas=["reopen_feedback"],
            meaning="communicate a new decision after reopening",
            source="our default",
        ),
        Limit(
            "complainant_reply",
            "duration",
            "10wd",
            slas=["complainant_reply"],
            meaning="remind the complainant to accept or reject the decision",
            source="our default",
        ),
        Limit(
            "remedy",
            "duration",
            "10wd",
            slas=["remedy"],
            meaning="carry out the remedy accepted",
            source="our default",
        ),
        Limit(
            "complainant_silence",
            "duration",
            "15wd",
            slas=["complainant_silence"],
            meaning="wait for information asked of the complainant, then close",
            source="our default",
        ),
        Limit(
            "reopen_within",
            "duration",
            "30d",
            guards=["reopen_period_expired"],
            meaning="a closed complaint may be reopened within this period after closing",
            source="our default",
        ),
        Limit(
            "max_reopen",
            "count",
            2,
            guards=["reopen_limit_reached"],
            meaning="how many times a complaint may be reopened",
            source="our default",
        ),
        Limit(
            "escalation_levels",
            "count",
            3,
            guards=["max_escalation_reached"],
            offset=-1,
            meaning="internal levels (L1 handler, L2 quality manager, L3 head): "
            "levels - 1 escalations",
            source="our default",
        ),
    )
}

GUARDS: Mapping[str, GuardDoc] = {
    "duplicate_of_missing": GuardDoc("a duplicate names the original complaint", OURS),
    "explanation_missing": GuardDoc(
        "the complainant is told why the complaint is not accepted (unless unreachable)", OURS
    ),
    "immediate_action_missing": GuardDoc(
        "when immediate action is needed, the action taken is recorded", f"{ISO} 7.5{EXT}"
    ),
    "investigator_conflict": GuardDoc(
        "the investigator is not the staff member complained about",
        f"{ISO} objectivity{EXT}; rule: {OURS}",
    ),
    "remedy_inconsistent": GuardDoc(
        "a complaint not upheld gets only an explanation or an apology", OURS
    ),
    "reply_not_accepted": GuardDoc("routes record_reply: the reply is 'accepted'", OURS),
    "reply_not_rejected": GuardDoc("routes record_reply: the reply is 'rejected'", OURS),
    "recourse_not_informed": GuardDoc(
        "a complainant who rejects is told of internal and external recourse", f"{ISO} 7.9{EXT}"
    ),
    "max_escalation_reached": GuardDoc("no internal level is left (limit escalation_levels)", OURS),
    "review_level_too_low": GuardDoc(
        "a quality manager reviews level 2 only; level 3 and above need the head "
        "(processes.standards.ESCALATION_LEVELS)",
        OURS,
    ),
    "nothing_to_carry_out": GuardDoc("routes record_external_outcome: remedies are owed", OURS),
    "remedies_owed": GuardDoc("routes record_external_outcome: nothing is owed", OURS),
    "decision_not_communicated": GuardDoc(
        "closing needs every decision communicated to the complainant",
        f"{TSO} 三(二)3; {ISO} 7.8, 7.9{EXT}",
    ),
    "complainant_reply_missing": GuardDoc(
        "closing needs the complainant's acceptance or rejection recorded", f"{ISO} 7.9{EXT}"
    ),
    "remedy_not_recorded": GuardDoc(
        "closing needs every decided remedy recorded as done, with evidence",
        f"{ISO} 7.9 (carried out and recorded){EXT}",
    ),
    "reopen_period_expired": GuardDoc(
        "reopening only within the reopening period (limit reopen_within)", OURS
    ),
    "reopen_limit_reached": GuardDoc("reopened too often (limit max_reopen)", OURS),
    "not_reopenable": GuardDoc("a duplicate is not reopened: reopen the original", OURS),
}


# who acts next (the worklists): the complaint's handler, named on the case or claimed by
# a handler; a quality manager or manager assigns and reassigns
_HANDLER = {"field": "handler", "roles": ["handler"], "managers": ["quality_manager", "manager"]}
assign(
    PROCESS,
    {
        name: _HANDLER
        for name in ("received", "acknowledged", "assessed", "investigating",
                     "response_decided", "decision_rejected", "remedy_in_progress")
    }
    | {"escalated": {**_HANDLER, "roles": ["quality_manager", "manager"]}},
    [field("handler", "str", "处理人", "Handler (who acts on the complaint)")],
)  # fmt: skip


#: The feedback clocks that ``pause_feedback=True`` pauses while waiting on the complainant.
FEEDBACK_CLOCKS = ("feedback", "review_feedback", "reopen_feedback")
PAUSED_IN = "waiting_on_complainant"


def _paused(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the feedback clocks paused while waiting on the complainant."""
    slas = [
        {**sla, "pause_states": [PAUSED_IN]} if sla["name"] in FEEDBACK_CLOCKS else sla
        for sla in data["slas"]
    ]
    return {**data, "slas": slas}


def complaint(*, pause_feedback: bool = False, **limits: str | int) -> ProcessDefinition:
    """The complaint-handling process, with the organisation's own time limits.

    Args:
        pause_feedback: pause the feedback clocks while waiting on the complainant.
            The standard's text (「7 个工作日内处理反馈」) has no pause, so the default is
            the strict reading; an organisation switches the pause on explicitly.
        **limits: any of :data:`LIMITS` by name, e.g. ``acknowledge="12h"``,
            ``feedback="5wd"``, ``reopen_within="15d"``, ``escalation_levels=2``.
            ``version=N`` sets the definition's version instead (default 1).

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    if not isinstance(pause_feedback, bool):
        raise DefinitionError("pause_feedback", f"expected a bool, got {pause_feedback!r}")
    data = _paused(PROCESS) if pause_feedback else PROCESS
    return build(data, LIMITS, FUNCTIONS, limits)
