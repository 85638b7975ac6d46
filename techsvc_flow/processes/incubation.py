"""Enterprise incubation — 企业孵化 (GB/T 39668-2020 style; partly **our reading**).

The seed texts name GB/T 39668-2020《科技企业孵化器服务规范》 but do not contain it. The
states follow its definitions as a third-party copy gives them (to verify against the
published text): 3.2 在孵企业 — 「经孵化器评估筛选后，满足入孵条件、签订入孵协议，在规定的
孵化期限内获得场地、共享设施和孵化服务」; 3.4 毕业企业 — 「满足毕业条件，办结毕业手续」.
Application, exit and tracking are our reading. The incubation services are those of
《科技服务业标准体系建设指南》四(2)3 (创业指导、技术咨询、市场推广、人才培训、投融资服务).

>>> p = incubation()
>>> [s.name for s in p.states if s.final]
['rejected', 'withdrawn', 'tracking_closed']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition import ProcessDefinition
from ._build import GuardDoc, Limit, build, field, label, sla_limit, state
from .checks import FUNCTIONS
from .standards import EXIT_REASONS, FIELD_CLASSES, INCUBATION_SERVICES, codes

__all__ = ["GUARDS", "LIMITS", "PROCESS", "incubation"]

OURS = "our reading"
GBT39668 = "GB/T 39668-2020"
EXT = " — not in the seed texts; verify"
MOST = "MOST《科技企业孵化器管理办法》(2018)"
GUIDE = "《科技服务业标准体系建设指南》四(2)3"

PROCESS: Mapping[str, Any] = {
    "name": "incubation",
    "version": 1,
    "title": label("企业孵化", "Enterprise incubation"),
    "description": (
        "GB/T 39668-2020 style: applied, screened, agreement signed, incubating within a "
        "term, graduated or exited, tracked."
    ),
    "requires": ["applicant_name", "field_class"],
    "fields": [
        field("applicant_name", "str", "申请企业", "Applicant"),
        field("uscc", "str", "统一社会信用代码", "Unified social credit code"),
        field("founded_on", "date", "成立日期", "Founded on"),
        field("team_size", "int", "团队人数", "Team size"),
        field("field_class", "str", "领域", "Field class", choices=codes(FIELD_CLASSES)),
        field("business_plan", "str", "商业计划书", "Business plan (DocRef)", level="secret"),
        field("ip_list", "list", "知识产权清单", "IP held", confidential=True),
        field("applicant_contact", "str", "联系人", "Contact", confidential=True),
        field("screening_panel", "list", "评审组", "Screening panel"),
        field(
            "admission_criteria",
            "dict",
            "入孵条件评估",
            "Admission criteria: criterion -> met (bool)",
        ),
        field("screening_score", "decimal", "评审得分", "Score"),
        field("rejection_reason", "str", "未通过原因", "Why rejected"),
        field("withdraw_reason", "str", "撤回原因", "Why withdrawn"),
        field("agreement_no", "str", "入孵协议编号", "Agreement number"),
        field("agreement_document", "str", "入孵协议", "Agreement (DocRef)", confidential=True),
        field(
            "incubation_term",
            "str",
            "孵化期限",
            "Term (e.g. '36mo')",
            description="at most 48 months, 60 for biomedicine, modern agriculture and "
            f"integrated circuits ({MOST}{EXT})",
        ),
        field("space", "str", "场地", "Space"),
        field("fees", "str", "费用", "Fees", level="secret"),
        field("graduation_criteria", "list", "毕业条件", "Graduation criteria"),
        field("exit_conditions", "list", "退出条件", "Exit conditions"),
        field("moved_in_on", "date", "入驻日期", "Moved in on"),
        field(
            "service_kind",
            "str",
            "孵化服务",
            "Incubation service",
            choices=codes(INCUBATION_SERVICES),
        ),
        field("service_description", "str", "服务内容", "Service given"),
        field("review_period_end", "date", "评估期末", "Period reviewed, ending"),
        field("review_metrics", "dict", "经营指标", "Metrics", confidential=True),
        field("extension_reason", "str", "延期理由", "Why extended"),
        field("graduation_evidence", "list", "毕业申请材料", "Evidence (DocRefs)"),
        field("criteria_met", "dict", "毕业条件证明", "Criterion -> evidence (DocRef)"),
        field(
            "formalities",
            "dict",
            "毕业手续",
            "Formalities: space_returned, fees_settled, handover",
        ),
        field("graduated_on", "date", "毕业日期", "Graduated on"),
        field("deferral_reason", "str", "暂缓理由", "Why deferred"),
        field("exit_reason", "str", "退出原因", "Exit reason", choices=codes(EXIT_REASONS)),
        field("exit_condition", "str", "所依据退出条件", "Exit condition invoked"),
        field("exit_on", "date", "退出日期", "Exit on"),
        field("tracking_contact", "str", "跟踪联系人", "Tracking contact", confidential=True),
        field("tracking_until", "date", "跟踪截止", "Tracking until"),
        field(
            "tracking_status",
            "str",
            "经营状态",
            "Status",
            choices=["operating", "growing", "relocated", "closed", "unknown"],
        ),
        field("tracking_metrics", "dict", "跟踪指标", "Metrics", confidential=True),
    ],
    "states": [
        state("applied", "已申请入孵", "Applied", OURS, initial=True),
        state("screening", "评估筛选", "Screening", f"{GBT39668} 3.2「经孵化器评估筛选」{EXT}"),
        state("rejected", "未通过", "Rejected", OURS, final=True),
        state("withdrawn", "撤回申请", "Withdrawn", OURS, final=True),
        state(
            "admitted",
            "通过待签约",
            "Admitted, agreement pending",
            f"{GBT39668} 3.2「满足入孵条件」{EXT}",
        ),
        state(
            "agreement_signed",
            "已签入孵协议",
            "Incubation agreement signed",
            f"{GBT39668} 3.2「签订入孵协议」{EXT}",
        ),
        state(
            "incubating",
            "在孵",
            "Incubating within the term",
            f"{GBT39668} 3.2「在规定的孵化期限内获得场地、共享设施和孵化服务」{EXT}",
        ),
        state(
            "graduation_review",
            "毕业评审",
            "Graduation review",
            f"{GBT39668} 3.4「满足毕业条件」{EXT}",
        ),
        state("graduated", "已毕业", "Graduated", f"{GBT39668} 3.4「办结毕业手续」{EXT}"),
        state("exited", "已退出", "Exited without graduating", OURS),
        state("tracking", "跟踪服务", "Post-incubation tracking", OURS),
        state("tracking_closed", "跟踪结束", "Tracking closed", OURS, final=True),
    ],
    "transitions": [
        {
            "trigger": "start_screening",
            "source": ["applied"],
            "dest": "screening",
            "roles": ["reception", "manager"],
            "requires": ["screening_panel"],
            "accepts": ["business_plan"],
            "guards": [
                {"code": "application_incomplete", "kind": "present", "fields": ["business_plan"]}
            ],
            "label": label("开始评估筛选", "Start screening"),
            "source_clause": f"{GBT39668} 3.2{EXT}",
        },
        {
            "trigger": "admit",
            "source": ["screening"],
            "dest": "admitted",
            "roles": ["manager"],
            "requires": ["admission_criteria"],
            "accepts": ["screening_score"],
            "guards": [
                {
                    "code": "admission_criteria_not_met",
                    "kind": "call",
                    "function": "admission_criteria_met",
                }
            ],
            "label": label("通过筛选", "Admit"),
            "source_clause": f"{GBT39668} 3.2「满足入孵条件」{EXT}",
        },
        {
            "trigger": "reject",
            "source": ["screening"],
            "dest": "rejected",
            "roles": ["manager"],
            "requires": ["rejection_reason"],
            "label": label("不予入孵", "Reject"),
            "source_clause": OURS,
        },
        {
            "trigger": "withdraw",
            "source": ["applied", "screening", "admitted"],
            "dest": "withdrawn",
            "roles": ["client", "reception"],
            "requires": ["withdraw_reason"],
            "label": label("撤回申请", "Withdraw"),
            "source_clause": OURS,
        },
        {
            "trigger": "sign_agreement",
            "source": ["admitted"],
            "dest": "agreement_signed",
            "roles": ["manager"],
            "requires": ["agreement_no", "agreement_document", "incubation_term"],
            "accepts": ["graduation_criteria", "exit_conditions", "space", "fees"],
            "guards": [
                {
                    "code": "agreement_terms_missing",
                    "kind": "present",
                    "fields": ["graduation_criteria", "exit_conditions"],
                },
                {"code": "term_exceeds_maximum", "kind": "call", "function": "term_within_maximum"},
            ],
            "label": label("签订入孵协议", "Sign the incubation agreement"),
            "source_clause": f"{GBT39668} 3.2「签订入孵协议」{EXT}; term: {MOST}{EXT}",
        },
        {
            "trigger": "move_in",
            "source": ["agreement_signed"],
            "dest": "incubating",
            "roles": ["manager", "reception"],
            "requires": ["moved_in_on"],
            "label": label("入驻", "Move in"),
            "source_clause": f"{GBT39668} 3.2「获得场地、共享设施」{EXT}",
        },
        {
            "trigger": "record_service",
            "source": ["incubating"],
            "dest": "incubating",
            "roles": ["consultant", "manager"],
            "requires": ["service_kind", "service_description"],
            "label": label("提供孵化服务", "Record an incubation service"),
            "source_clause": f"{GUIDE}「创业指导、技术咨询、市场推广、人才培训、投融资服务」",
        },
        {
            "trigger": "periodic_review",
            "source": ["incubating"],
            "dest": "incubating",
            "roles": ["consultant", "manager"],
            "requires": ["review_period_end", "review_metrics"],
            "label": label("定期评估", "Periodic review"),
            "source_clause": OURS,
        },
        {
            "trigger": "extend_term",
            "source": ["incubating"],
            "dest": "incubating",
            "roles": ["manager"],
            "requires": ["incubation_term", "extension_reason"],
            "guards": [
                {"code": "term_exceeds_maximum", "kind": "call", "function": "term_within_maximum"}
            ],
            "label": label("延长孵化期", "Extend the term"),
            "source_clause": f"{MOST}{EXT}",
        },
        {
            "trigger": "apply_graduation",
            "source": ["incubating"],
            "dest": "graduation_review",
            "roles": ["client", "consultant"],
            "requires": ["graduation_evidence"],
            "label": label("申请毕业", "Apply to graduate"),
            "source_clause": f"{GBT39668} 3.4{EXT}",
        },
        {
            "trigger": "graduate",
            "source": ["graduation_review"],
            "dest": "graduated",
            "roles": ["manager"],
            "requires": ["graduated_on"],
            "accepts": ["criteria_met", "formalities"],
            "guards": [
                {
                    "code": "graduation_criteria_not_met",
                    "kind": "call",
                    "function": "graduation_criteria_evidenced",
                },
                {"code": "formalities_incomplete", "kind": "call", "function": "formalities_done"},
            ],
            "label": label("毕业", "Graduate"),
            "source_clause": f"{GBT39668} 3.4「满足毕业条件，办结毕业手续」{EXT}",
        },
        {
            "trigger": "defer_graduation",
            "source": ["graduation_review"],
            "dest": "incubating",
            "roles": ["manager"],
            "requires": ["deferral_reason"],
            "label": label("暂缓毕业", "Defer graduation"),
            "source_clause": OURS,
        },
        {
            "trigger": "exit",
            "source": ["incubating", "graduation_review"],
            "dest": "exited",
            "roles": ["manager", "client"],
            "requires": ["exit_reason", "exit_on"],
            "accepts": ["exit_condition"],
            "guards": [
                {
                    "code": "exit_condition_not_agreed",
                    "kind": "call",
                    "function": "exit_condition_agreed",
                }
            ],
            "label": label("退出", "Exit"),
            "source_clause": OURS,
        },
        {
            "trigger": "start_tracking",
            "source": ["graduated", "exited"],
            "dest": "tracking",
            "roles": ["quality_manager", "consultant"],
            "requires": ["tracking_contact"],
            "accepts": ["tracking_until"],
            "label": label("开始跟踪", "Start tracking"),
            "source_clause": OURS,
        },
        {
            "trigger": "record_tracking",
            "source": ["tracking"],
            "dest": "tracking",
            "roles": ["consultant", "quality_manager"],
            "requires": ["tracking_status"],
            "accepts": ["tracking_metrics"],
            "label": label("跟踪记录", "Record tracking"),
            "source_clause": OURS,
        },
        {
            "trigger": "end_tracking",
            "source": ["tracking"],
            "dest": "tracking_closed",
            "roles": ["quality_manager", "system"],
            "guards": [
                {"code": "tracking_period_open", "kind": "call", "function": "tracking_may_end"}
            ],
            "label": label("结束跟踪", "End tracking"),
            "description": "fired by the tracking SLA when the tracking period ends",
            "source_clause": OURS,
        },
    ],
    "slas": [
        {
            "name": "screening",
            "duration": "20wd",
            "start_states": ["screening"],
            "stop_states": ["admitted", "rejected", "withdrawn"],
            "warn_at": [0.75],
            "label": label("评估筛选时限", "Screening"),
            "source": "our default",
        },
        {
            "name": "agreement_signing",
            "duration": "1mo",
            "start_states": ["admitted"],
            "stop_states": ["agreement_signed", "withdrawn"],
            "warn_at": [0.75],
            "label": label("签约时限", "Agreement signing"),
            "source": "our default",
        },
        {
            "name": "incubation_term",
            "duration": "48mo",
            "start_states": ["incubating"],
            "stop_states": ["graduated", "exited"],
            "warn_at": [0.75, 0.9],
            "label": label("孵化期限", "Incubation term"),
            "source": f"{MOST} longest term, general field{EXT}; set it to the agreed term",
        },
        {
            "name": "graduation_decision",
            "duration": "20wd",
            "start_states": ["graduation_review"],
            "stop_states": ["graduated", "incubating", "exited"],
            "warn_at": [0.75],
            "label": label("毕业评审时限", "Graduation decision"),
            "source": "our default",
        },
        {
            "name": "tracking",
            "duration": "24mo",
            "start_states": ["tracking"],
            "stop_states": ["tracking_closed"],
            "warn_at": [0.9],
            "breach_trigger": "end_tracking",
            "label": label("跟踪期", "Tracking period"),
            "source": "our default",
        },
    ],
}


LIMITS: Mapping[str, Limit] = {
    limit.name: limit
    for limit in (
        sla_limit("screening", "20wd", "decide on an application"),
        sla_limit("agreement_signing", "1mo", "sign the agreement after admission"),
        sla_limit(
            "incubation_term",
            "48mo",
            "the incubation term clock (warnings before it ends; no automatic exit)",
            f"{MOST}{EXT}",
        ),
        sla_limit("graduation_decision", "20wd", "decide on a graduation application"),
        sla_limit("tracking", "24mo", "track a graduated or exited company, then close"),
    )
}

GUARDS: Mapping[str, GuardDoc] = {
    "application_incomplete": GuardDoc("the application carries a business plan", OURS),
    "admission_criteria_not_met": GuardDoc(
        "every admission criterion assessed is met (details: the unmet)",
        f"{GBT39668} 3.2「满足入孵条件」{EXT}",
    ),
    "agreement_terms_missing": GuardDoc(
        "the agreement states graduation criteria and exit conditions",
        f"{GBT39668} 3.2, 3.4{EXT}",
    ),
    "term_exceeds_maximum": GuardDoc(
        "the term is in months and within 48 (60 for biomedicine, modern agriculture, "
        "integrated circuits)",
        f"{MOST}{EXT}",
    ),
    "graduation_criteria_not_met": GuardDoc(
        "every graduation criterion of the agreement is evidenced",
        f"{GBT39668} 3.4「满足毕业条件」{EXT}",
    ),
    "formalities_incomplete": GuardDoc(
        "space returned, fees settled, hand-over recorded", f"{GBT39668} 3.4「办结毕业手续」{EXT}"
    ),
    "exit_condition_not_agreed": GuardDoc(
        "an exit for breach cites one of the agreement's exit conditions", OURS
    ),
    "tracking_period_open": GuardDoc(
        "tracking ends when its period is over or the company has closed", OURS
    ),
}


def incubation(**limits: str | int) -> ProcessDefinition:
    """The incubation process, with the organisation's own time limits.

    Args:
        **limits: any of :data:`LIMITS` by name, e.g. ``incubation_term="36mo"``.
            ``version=N`` sets the definition's version instead (default 1).

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
