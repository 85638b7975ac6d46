"""Satisfaction survey and return visit — 满意度调查与回访 (GB/T 19038 style).

《科技创新企业服务规范》6.4.2 「应在成果交付后开展服务满意度调查」 and §7 「定期开展满意度测评，
测评方法按 GB/T 19038 的规定执行」; 《科技服务机构服务规范》编制说明 三(二)2 「售后服务的回访
机制」. GB/T 19038-2009 estimates weights from data (not in the seed texts); we take only
its style: fixed items with importance weights (:data:`~.standards.SURVEY_ITEMS`), a
5-point scale and a weighted 0–100 index; *satisfied* means an index of 75 or more.
The items, their weights and the 75 threshold are **ours** (:data:`~.standards.QUESTIONNAIRE`;
no clause defines them): an organisation supplies its own questionnaire with
``satisfaction_survey(questionnaire=Questionnaire.from_dict(...))``. A survey case
follows the case it evaluates: start it with ``subject_case`` and ``subject_process``
(an engagement, a complaint, …).

>>> p = satisfaction_survey()
>>> sorted(p.final_states)
['cancelled', 'not_reached', 'not_satisfied', 'satisfied']
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..definition import ProcessDefinition
from ..errors import InvalidValue
from ._build import GuardDoc, Limit, build, field, label, state
from .checks import FUNCTIONS, survey_checks
from .standards import QUESTIONNAIRE, TIE, TSO, Questionnaire

__all__ = ["GUARDS", "LIMITS", "PROCESS", "satisfaction_survey"]

OURS = "our reading"
GB19038 = "GB/T 19038-2009 style — not in the seed texts"
STAFF = ["reception", "quality_manager"]
SCORE_GUARDS: list[dict[str, Any]] = [
    {"code": "return_visit_window_expired", "kind": "within", "duration": "10wd"},
    {"code": "scores_invalid", "kind": "call", "function": "scores_valid"},
]

PROCESS: Mapping[str, Any] = {
    "name": "satisfaction_survey",
    "version": 1,
    "title": label("满意度调查与回访", "Satisfaction survey and return visit"),
    "description": (
        "A return visit or questionnaire after an engagement, a complaint, a technology "
        "transfer or an incubation: weighted items, a 5-point scale, satisfied at index 75 "
        "(our questionnaire)."
    ),
    "requires": ["subject_case", "subject_process", "survey_kind"],
    "fields": [
        field("subject_case", "str", "被评价案件", "Case surveyed (id)"),
        field(
            "subject_process",
            "str",
            "被评价流程",
            "Its process",
            choices=[
                "service_engagement",
                "innovation_service",
                "complaint",
                "technology_transfer",
                "incubation",
                "other",
            ],
        ),
        field(
            "survey_kind",
            "str",
            "调查方式",
            "Kind",
            choices=["return_visit", "satisfaction_survey", "both"],
        ),
        field(
            "method",
            "str",
            "调查渠道",
            "Method",
            choices=["phone", "online_questionnaire", "paper_questionnaire", "visit", "interview"],
        ),
        field(
            "conducted_by",
            "str",
            "实施方",
            "Conducted by",
            choices=["internal", "third_party"],
            description="third-party evaluation: 编制说明 三(二)3「可委托第三方评价」",
        ),
        field("questionnaire_version", "str", "问卷版本", "Questionnaire version"),
        field("client_id", "str", "服务对象编号", "Client id"),
        field("respondent_contact", "str", "受访人联系方式", "Contact", confidential=True),
        field(
            "contact_result",
            "str",
            "联系结果",
            "Contact attempt",
            choices=["reached", "no_answer", "wrong_contact", "call_back_later"],
        ),
        field("respondent", "str", "受访人", "Respondent", confidential=True),
        field(
            "scores",
            "dict",
            "评分",
            "Scores by item (1-5)",
            description=f"our questionnaire: {QUESTIONNAIRE.describe()}",
        ),
        field(
            "visit_outcome",
            "str",
            "回访结论",
            "Stated outcome of a return visit",
            choices=["satisfied", "not_satisfied"],
        ),
        field("comments", "str", "意见和建议", "Comments", confidential=True),
        field("complaint_raised", "bool", "提出投诉", "A complaint was raised"),
        field(
            "give_up_reason",
            "str",
            "未回访原因",
            "Why not reached",
            choices=["max_attempts", "refused", "wrong_contact", "other"],
        ),
        field("cancel_reason", "str", "取消原因", "Why cancelled"),
    ],
    "states": [
        state(
            "scheduled",
            "待回访",
            "Scheduled (contact attempts recorded here)",
            f"{TSO} 三(二)2「售后服务的回访机制」; {TIE}6.4.2",
            initial=True,
        ),
        state(
            "satisfied",
            "满意",
            "Satisfied",
            f"{TIE}§7 满意度测评; threshold 75: ours",
            final=True,
        ),
        state(
            "not_satisfied",
            "不满意",
            "Not satisfied (feeds improvement)",
            f"{TIE}§7「根据投诉意见、满意度测评…制定改进措施」",
            final=True,
        ),
        state("not_reached", "未回访成功", "Not reached or refused", OURS, final=True),
        state("cancelled", "已取消", "Cancelled", OURS, final=True),
    ],
    "transitions": [
        {
            "trigger": "attempt_contact",
            "source": ["scheduled"],
            "dest": "scheduled",
            "roles": STAFF,
            "requires": ["contact_result"],
            "guards": [
                {
                    "code": "attempts_exhausted",
                    "kind": "max_count",
                    "trigger": "attempt_contact",
                    "limit": 3,
                }
            ],
            "label": label("联系受访人", "Record a contact attempt"),
            "source_clause": OURS,
        },
        {
            "trigger": "record_responses",
            "source": ["scheduled"],
            "dest": "satisfied",
            "roles": [*STAFF, "client"],
            "requires": ["scores", "respondent"],
            "accepts": ["comments", "complaint_raised"],
            "guards": [
                *SCORE_GUARDS,
                {"code": "below_threshold", "kind": "call", "function": "scores_satisfied"},
            ],
            "label": label("记录问卷：满意", "Record answers: satisfied"),
            "source_clause": f"{TIE}6.4.2, §7; {GB19038}",
        },
        {
            "trigger": "record_responses",
            "source": ["scheduled"],
            "dest": "not_satisfied",
            "roles": [*STAFF, "client"],
            "requires": ["scores", "respondent"],
            "accepts": ["comments", "complaint_raised"],
            "guards": [
                *SCORE_GUARDS,
                {
                    "code": "at_or_above_threshold",
                    "kind": "call",
                    "function": "scores_not_satisfied",
                },
            ],
            "label": label("记录问卷：不满意", "Record answers: not satisfied"),
            "source_clause": f"{TIE}6.4.2, §7; {GB19038}",
        },
        {
            "trigger": "record_visit",
            "source": ["scheduled"],
            "dest": "satisfied",
            "roles": STAFF,
            "requires": ["visit_outcome", "respondent"],
            "accepts": ["comments", "complaint_raised"],
            "guards": [
                SCORE_GUARDS[0],
                {
                    "code": "outcome_not_satisfied",
                    "kind": "equals",
                    "field": "visit_outcome",
                    "value": "satisfied",
                },
            ],
            "label": label("回访：满意", "Return visit: satisfied"),
            "source_clause": f"{TSO} 三(二)2「回访机制」",
        },
        {
            "trigger": "record_visit",
            "source": ["scheduled"],
            "dest": "not_satisfied",
            "roles": STAFF,
            "requires": ["visit_outcome", "respondent"],
            "accepts": ["comments", "complaint_raised"],
            "guards": [
                SCORE_GUARDS[0],
                {
                    "code": "outcome_satisfied",
                    "kind": "equals",
                    "field": "visit_outcome",
                    "value": "not_satisfied",
                },
            ],
            "label": label("回访：不满意", "Return visit: not satisfied"),
            "source_clause": f"{TSO} 三(二)2「回访机制」",
        },
        {
            "trigger": "give_up",
            "source": ["scheduled"],
            "dest": "not_reached",
            "roles": STAFF,
            "requires": ["give_up_reason"],
            "label": label("未能回访", "Give up: not reached"),
            "source_clause": OURS,
        },
        {
            "trigger": "window_expired",
            "source": ["scheduled"],
            "dest": "not_reached",
            "roles": ["system"],
            "label": label("回访期限届满", "Window expired"),
            "description": "fired by the return_visit SLA on breach",
            "source_clause": OURS,
        },
        {
            "trigger": "cancel",
            "source": ["scheduled"],
            "dest": "cancelled",
            "roles": ["quality_manager"],
            "requires": ["cancel_reason"],
            "label": label("取消", "Cancel"),
            "source_clause": OURS,
        },
    ],
    "slas": [
        {
            "name": "return_visit",
            "duration": "10wd",
            "start_states": ["scheduled"],
            "stop_states": ["satisfied", "not_satisfied", "not_reached", "cancelled"],
            "warn_at": [0.5, 0.75],
            "breach_trigger": "window_expired",
            "label": label("回访期限", "Return-visit window"),
            "source": f"{TSO} 三(二)2「回访机制」; value: our default",
        },
    ],
}

LIMITS: Mapping[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit(
            "return_visit",
            "duration",
            "10wd",
            slas=["return_visit"],
            guards=["return_visit_window_expired"],
            meaning="the window in which answers are recorded; then the case ends not reached",
            source=f"{TSO} 三(二)2「回访机制」; value: our default",
        ),
        Limit(
            "max_attempts",
            "count",
            3,
            guards=["attempts_exhausted"],
            meaning="contact attempts before giving up",
            source="our default",
        ),
    )
}

GUARDS: Mapping[str, GuardDoc] = {
    "attempts_exhausted": GuardDoc("contact attempts are bounded (limit max_attempts)", OURS),
    "return_visit_window_expired": GuardDoc(
        "answers are recorded within the window (limit return_visit)", OURS
    ),
    "scores_invalid": GuardDoc(
        "known items, scores 1–5, answered items weigh at least 0.6 (our questionnaire)",
        f"{GB19038}; {OURS}",
    ),
    "below_threshold": GuardDoc(
        "routes to satisfied: the weighted index is at least 75 (our threshold)", OURS
    ),
    "at_or_above_threshold": GuardDoc(
        "routes to not_satisfied: the index is below 75 (our threshold)", OURS
    ),
    "outcome_not_satisfied": GuardDoc("routes record_visit: the stated outcome is satisfied", OURS),
    "outcome_satisfied": GuardDoc("routes record_visit: the stated outcome is not satisfied", OURS),
}


def satisfaction_survey(
    questionnaire: Questionnaire = QUESTIONNAIRE, **limits: str | int
) -> ProcessDefinition:
    """The survey / return-visit process, with the organisation's own window and
    questionnaire.

    >>> from techsvc_flow.processes.standards import Questionnaire
    >>> own = Questionnaire.from_dict({"items": [
    ...     {"code": "speed", "zh": "速度", "en": "Speed", "weight": 1}], "threshold": 90})
    >>> satisfaction_survey(questionnaire=own).fields["scores"].description
    "the organisation's questionnaire: speed 1; satisfied at an index of 90 or more"

    Args:
        questionnaire: the items, weights and threshold the guards apply (default: ours,
            :data:`~.standards.QUESTIONNAIRE`); the same should be given to
            :class:`~techsvc_flow.quality.QualityConfig` for the indicators.
        **limits: any of :data:`LIMITS` by name, e.g. ``return_visit="5wd"``.
            ``version=N`` sets the definition's version instead (default 1).

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
        InvalidValue: ``questionnaire`` is not a :class:`~.standards.Questionnaire`.
    """
    if not isinstance(questionnaire, Questionnaire):
        raise InvalidValue(
            "questionnaire", f"expected a Questionnaire, not {type(questionnaire).__name__}"
        )
    if questionnaire == QUESTIONNAIRE:
        return build(PROCESS, LIMITS, FUNCTIONS, limits)
    data = copy.deepcopy(dict(PROCESS))
    for f in data["fields"]:
        if f["name"] == "scores":
            f["description"] = f"the organisation's questionnaire: {questionnaire.describe()}"
    return build(data, LIMITS, {**FUNCTIONS, **survey_checks(questionnaire)}, limits)
