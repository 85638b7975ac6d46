"""Improvement action — 持续改进 (a PDCA cycle: plan → do → check → act).

《科技服务机构服务规范》编制说明 三(二)3: 「建立 PDCA 闭环持续改进机制，要求基于各类评价结果识别
问题、制定改进方案、跟踪改进效果，并根据行业发展优化服务流程」; 《科技创新企业服务规范》§7:
「应根据投诉意见、满意度测评、服务完成情况等，发现运营管理、服务提供方面存在的问题并分析原因，
制定改进措施，选择改进方法，并持续改进」. A case is opened for an indicator below its
threshold (:func:`techsvc_flow.quality.check`), a complaint, a survey or an audit finding;
the four stages and their time limits are our reading.

>>> p = improvement()
>>> [s.name for s in p.states]
['plan', 'do', 'check', 'act', 'closed', 'cancelled']
>>> str(improvement(implementation="2mo").sla_map["implementation"].duration)
'2mo'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition import ProcessDefinition
from ._build import GuardDoc, Limit, build, field, label, state
from .checks import FUNCTIONS
from .standards import TIE, TSO

__all__ = ["GUARDS", "LIMITS", "PROCESS", "improvement"]

OURS = "our reading"
PDCA = f"{TSO} 三(二)3「建立 PDCA 闭环持续改进机制」"
IMPROVE = f"{TIE}§7「分析原因，制定改进措施，选择改进方法，并持续改进」"
QUALITY = ["quality_manager", "manager"]
DOERS = ["quality_manager", "project_manager", "consultant", "handler", "manager"]

PROCESS: Mapping[str, Any] = {
    "name": "improvement",
    "version": 1,
    "title": label("持续改进（PDCA）", "Improvement action (PDCA)"),
    "description": (
        "One PDCA cycle for a problem found by an indicator below its threshold, a "
        "complaint, a satisfaction survey, an internal audit or an external evaluation; "
        "an ineffective check starts the next cycle."
    ),
    "requires": ["source_kind", "problem"],
    "fields": [
        field(
            "source_kind",
            "str",
            "问题来源",
            "Where the problem was found",
            choices=[
                "indicator",
                "complaint",
                "survey",
                "internal_audit",
                "management_review",
                "staff_training",
                "supplier_evaluation",
                "expert_team",
                "external_evaluation",
                "other",
            ],
            description=f"{TSO} 三(二)3「内部评价、外部评价」; {TIE}§7「投诉意见、满意度测评」",
        ),
        field("problem", "str", "问题描述", "The problem"),
        field(
            "problem_details",
            "str",
            "问题详情",
            "Details (may carry a client's secrets)",
            confidential=True,
        ),
        field("indicator", "str", "指标", "Indicator (code)"),
        field("indicator_value", "decimal", "指标值", "Indicator value (per cent)"),
        field("threshold", "decimal", "指标要求", "Threshold (per cent)"),
        field("period", "str", "统计期间", "Period"),
        field("numerator", "int", "分子", "Numerator"),
        field("denominator", "int", "分母", "Denominator"),
        field("cases", "list", "涉及案件", "Cases behind the problem (ids)"),
        field("complaint_case", "str", "关联投诉", "Complaint case"),
        field("related_case", "str", "关联案件", "Related case"),
        field("root_cause", "str", "原因分析", "Root cause"),
        field("measures", "list", "改进措施", "Measures"),
        field("target", "str", "改进目标", "Target"),
        field("owner", "str", "责任人", "Owner"),
        field("plan_due", "date", "计划完成日期", "Planned completion"),
        field("actions_taken", "str", "实施情况", "Actions taken"),
        field("evidence", "list", "实施证据", "Evidence (DocRefs)"),
        field(
            "check_result",
            "str",
            "效果验证结论",
            "Effect checked",
            choices=["effective", "not_effective"],
        ),
        field("check_notes", "str", "验证说明", "Check notes"),
        field("standardisation", "str", "标准化措施", "What was made standard (DocRef)"),
        field("next_cycle_reason", "str", "转入下一循环原因", "Why another cycle"),
        field("cancel_reason", "str", "取消原因", "Why cancelled"),
    ],
    "states": [
        state(
            "plan",
            "策划（P）",
            "Plan: find the cause, set the measures",
            f"{PDCA}「识别问题、制定改进方案」; {IMPROVE}",
            initial=True,
        ),
        state("do", "实施（D）", "Do: carry out the measures", PDCA),
        state("check", "检查（C）", "Check: verify the effect", f"{PDCA}「跟踪改进效果」"),
        state(
            "act",
            "处置（A）",
            "Act: standardise, or start another cycle",
            f"{PDCA}「根据行业发展优化服务流程」",
        ),
        state("closed", "已关闭", "Closed: effective and standardised", PDCA, final=True),
        state("cancelled", "已取消", "Cancelled", OURS, final=True),
    ],
    "transitions": [
        {
            "trigger": "approve_plan",
            "source": ["plan"],
            "dest": "do",
            "roles": QUALITY,
            "requires": ["root_cause", "measures", "owner"],
            "accepts": ["target", "plan_due", "problem_details"],
            "label": label("批准改进方案", "Approve the plan"),
            "source_clause": f"{IMPROVE}; {PDCA}「制定改进方案」",
        },
        {
            "trigger": "report_done",
            "source": ["do"],
            "dest": "check",
            "roles": DOERS,
            "requires": ["actions_taken"],
            "accepts": ["evidence"],
            "label": label("措施已实施", "Report the measures done"),
            "source_clause": PDCA,
        },
        {
            "trigger": "record_check",
            "source": ["check"],
            "dest": "act",
            "roles": QUALITY,
            "requires": ["check_result"],
            "accepts": ["check_notes", "evidence"],
            "label": label("验证改进效果", "Record the check"),
            "source_clause": f"{PDCA}「跟踪改进效果」",
        },
        {
            "trigger": "standardise",
            "source": ["act"],
            "dest": "closed",
            "roles": QUALITY,
            "requires": ["standardisation"],
            "guards": [
                {
                    "code": "improvement_not_effective",
                    "kind": "equals",
                    "field": "check_result",
                    "value": "effective",
                }
            ],
            "label": label("标准化并关闭", "Standardise and close"),
            "source_clause": f"{PDCA}「优化服务流程」",
        },
        {
            "trigger": "new_cycle",
            "source": ["act"],
            "dest": "plan",
            "roles": QUALITY,
            "requires": ["next_cycle_reason"],
            "guards": [
                {
                    "code": "improvement_effective",
                    "kind": "equals",
                    "field": "check_result",
                    "value": "not_effective",
                }
            ],
            "label": label("转入下一循环", "Start another cycle"),
            "source_clause": f"{PDCA}; {TIE}§7「持续改进」",
        },
        {
            "trigger": "cancel",
            "source": ["plan", "do"],
            "dest": "cancelled",
            "roles": ["manager"],
            "requires": ["cancel_reason"],
            "label": label("取消", "Cancel"),
            "source_clause": OURS,
        },
    ],
    "slas": [
        {
            "name": "planning",
            "duration": "10wd",
            "start_states": ["plan"],
            "stop_states": ["do", "cancelled"],
            "warn_at": [0.75],
            "label": label("方案制定时限", "Plan"),
            "source": "our default",
        },
        {
            "name": "implementation",
            "duration": "1mo",
            "start_states": ["do"],
            "stop_states": ["check", "cancelled"],
            "warn_at": [0.75],
            "label": label("措施实施时限", "Do"),
            "source": "our default",
        },
        {
            "name": "checking",
            "duration": "10wd",
            "start_states": ["check"],
            "stop_states": ["act"],
            "warn_at": [0.75],
            "label": label("效果验证时限", "Check"),
            "source": "our default",
        },
        {
            "name": "acting",
            "duration": "5wd",
            "start_states": ["act"],
            "stop_states": ["closed", "plan"],
            "warn_at": [0.75],
            "label": label("处置时限", "Act"),
            "source": "our default",
        },
    ],
}


def _limit(name: str, default: str, meaning: str) -> Limit:
    return Limit(name, "duration", default, slas=[name], meaning=meaning, source="our default")


LIMITS: Mapping[str, Limit] = {
    limit.name: limit
    for limit in (
        _limit("planning", "10wd", "find the cause and approve the measures"),
        _limit("implementation", "1mo", "carry out the measures"),
        _limit("checking", "10wd", "verify the effect"),
        _limit("acting", "5wd", "standardise, or decide on another cycle"),
    )
}

GUARDS: Mapping[str, GuardDoc] = {
    "improvement_not_effective": GuardDoc(
        "routes act: only an effective improvement is standardised and closed", PDCA
    ),
    "improvement_effective": GuardDoc(
        "routes act: an ineffective improvement starts another cycle", PDCA
    ),
}


def improvement(**limits: str | int) -> ProcessDefinition:
    """The PDCA improvement process, with the organisation's own time limits.

    Args:
        **limits: any of :data:`LIMITS` by name, e.g. ``implementation="2mo"``.
            ``version=N`` sets the definition's version instead (default 1).

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
